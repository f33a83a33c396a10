"""Text of every file the local cloud writes: server configurations and client settings."""

from __future__ import annotations

import json
import shlex

from .topology import (
    DOMAIN,
    SERVICE_PASSWORD,
    SERVICE_PROJECT,
    SERVICE_USER,
    Account,
    Cloud,
    Region,
    Server,
    Target,
)

TOKEN_LIFETIME = 12 * 3600


def keystone_conf(server: Server) -> str:
    """Keystone on SQLite with fernet tokens; cheap password hashing (test cloud only)."""
    return f"""\
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///{server.db}

[fernet_tokens]
key_repository = {server.home / "fernet-keys"}

[fernet_receipts]
key_repository = {server.home / "fernet-keys"}

[credential]
key_repository = {server.home / "credential-keys"}

[identity]
password_hash_rounds = 4

[token]
expiration = {TOKEN_LIFETIME}
"""


def glance_conf(region: Region, target: Target) -> str:
    """Glance of one region of `target`: SQLite, file store, Keystone auth, no image format
    checks; with glance-download if the region offers it."""
    server, keystone = region.glance, target.keystone
    return f"""\
[DEFAULT]
use_stderr = true
node_staging_uri = file://{server.home / "staging"}
{_glance_download(target) if region.glance_download else ""}
[database]
connection = sqlite:///{server.db}

[paste_deploy]
flavor = keystone
config_file = {server.home / "glance-api-paste.ini"}

[keystone_authtoken]
www_authenticate_uri = {keystone.url}/v3
auth_url = {keystone.url}/v3
auth_type = password
username = {SERVICE_USER}
password = {SERVICE_PASSWORD}
project_name = {SERVICE_PROJECT}
user_domain_name = {DOMAIN}
project_domain_name = {DOMAIN}

[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = {server.home / "images"}

[image_format]
# Tests upload random bytes declared as qcow2, ami, aki...: do not inspect them.
require_image_format_match = false

[oslo_concurrency]
lock_path = {server.home / "locks"}
"""


def _glance_download(target: Target) -> str:
    """The import methods (list options need their brackets), and the import URL filter:
    loopback addresses are refused unless allow-listed, and the ports allowed are those of the
    target's Glance endpoints (public and internal): a test's proxy on another port is refused,
    which makes an import fail. The staging store is node_staging_uri."""
    ports = [region.glance.port for region in target.regions]
    ports += [region.internal_port for region in target.regions]
    return f"""\
enabled_import_methods = [glance-direct,web-download,glance-download]

[import_filtering_opts]
allowed_hosts = [127.0.0.1]
allowed_ports = [{",".join(map(str, ports))}]
"""


def glancesync_conf(cloud: Cloud) -> str:
    """A ready configuration of the tool for this cloud (SPEC §2)."""
    parts = [f"[main]\nmaster_region = {cloud.master_region}\nmax_children = 3\n"]
    for target in cloud.targets:
        admin = target.admin
        parts.append(
            f"[{target.name}]\nuser = {admin.user}\npassword = {admin.password}\n"
            f"auth_url = {target.auth_url}\nproject = {admin.project}\n"
        )
    return "\n".join(parts)


def openrc(target: Target, account: Account, region: str) -> str:
    """Shell variables for the OpenStack clients, one account in one region."""
    variables = {
        "OS_AUTH_URL": target.auth_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": account.user,
        "OS_PASSWORD": account.password,
        "OS_PROJECT_NAME": account.project,
        "OS_USER_DOMAIN_NAME": DOMAIN,
        "OS_PROJECT_DOMAIN_NAME": DOMAIN,
        "OS_REGION_NAME": region,
        "OS_INTERFACE": "public",
    }
    lines = [f"export {key}={shlex.quote(value)}" for key, value in variables.items()]
    return "\n".join(lines) + "\n"


def clouds_yaml(cloud: Cloud) -> str:
    """clouds.yaml with one cloud per account (`master`, `other`, `tenant2`)."""
    lines = ["clouds:"]
    for target in cloud.targets:
        for account in target.accounts:
            auth = {
                "auth_url": target.auth_url,
                "username": account.user,
                "password": account.password,
                "project_name": account.project,
                "user_domain_name": DOMAIN,
                "project_domain_name": DOMAIN,
            }
            lines.append(f"  {account.name}:")
            lines.append("    auth:")
            lines.extend(f"      {key}: {json.dumps(value)}" for key, value in auth.items())
            lines.append(f"    region_name: {json.dumps(target.regions[0].name)}")
            lines.append('    identity_api_version: "3"')
            lines.append("    interface: public")
    return "\n".join(lines) + "\n"
