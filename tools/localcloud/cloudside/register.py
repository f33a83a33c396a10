"""Register Glance, its regions, its service user and the test accounts in one Keystone.

Runs with the cloud venv's python (it needs python-keystoneclient) on a freshly bootstrapped
Keystone. Reads its instructions as JSON on stdin; see `register` in state.py.
"""

from __future__ import annotations

import json
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

INTERFACES = ("public", "internal", "admin")


def connect(plan: dict) -> client.Client:
    admin = plan["admin"]
    auth = v3.Password(
        auth_url=plan["auth_url"],
        username=admin["user"],
        password=admin["password"],
        project_name=admin["project"],
        user_domain_name=plan["domain"],
        project_domain_name=plan["domain"],
    )
    return client.Client(session=session.Session(auth=auth))


def role(keystone: client.Client, name: str):
    """The role with this name, created if Keystone's bootstrap did not make it."""
    found = keystone.roles.list(name=name)
    return found[0] if found else keystone.roles.create(name=name)


def add_user(keystone: client.Client, domain, account: dict, roles: list[str]) -> None:
    """Create the user, its project if needed, and grant it the roles there."""
    projects = keystone.projects.list(name=account["project"], domain=domain)
    project = projects[0] if projects else keystone.projects.create(account["project"], domain)
    user = keystone.users.create(
        account["user"], domain=domain, password=account["password"], default_project=project
    )
    for name in roles:
        keystone.roles.grant(role(keystone, name), user=user, project=project)


def add_image_service(
    keystone: client.Client, regions: dict[str, str], internal: dict[str, str]
) -> None:
    """The `image` service in every region: public and admin endpoints at Glance, the internal
    one at its own URL."""
    service = keystone.services.create("glance", "image", description="Image service")
    known = {region.id for region in keystone.regions.list()}
    for name, url in regions.items():
        if name not in known:
            keystone.regions.create(id=name)
        for interface in INTERFACES:
            where = internal[name] if interface == "internal" else url
            keystone.endpoints.create(service, where, interface=interface, region=name)


def main() -> None:
    plan = json.load(sys.stdin)
    keystone = connect(plan)
    domain = keystone.domains.list(name=plan["domain"])[0]
    add_user(keystone, domain, plan["service_user"], ["admin", "service"])
    for account in plan["members"]:
        add_user(keystone, domain, account, [account["role"]])
    add_image_service(keystone, plan["regions"], plan["internal"])
    credential = plan["app_credential"]
    keystone.application_credentials.create(credential["name"], secret=credential["secret"])


if __name__ == "__main__":
    main()
