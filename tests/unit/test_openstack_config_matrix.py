"""The same credentials, written as clouds.yaml entries or OS_* variables, resolve to what
openstack.config (the openstack CLI's loader) resolves: the same keystoneauth1 options, TLS
files and interface."""

from pathlib import Path

import pytest
import yaml
from openstack.config import loader

from glancesync.glance import auth_options
from glancesync.settings import TargetSettings, load_settings

URL = "https://keystone.example:5000/v3"
FORMS = {
    "password by names": {
        "OS_AUTH_URL": URL,
        "OS_USERNAME": "syncer",
        "OS_PASSWORD": "pw",
        "OS_PROJECT_NAME": "images",
        "OS_USER_DOMAIN_NAME": "Users",
        "OS_PROJECT_DOMAIN_NAME": "Projects",
    },
    "password by ids": {
        "OS_AUTH_URL": URL,
        "OS_USER_ID": "u1",
        "OS_PASSWORD": "pw",
        "OS_PROJECT_ID": "p1",
        "OS_INTERFACE": "internal",
    },
    "password, domain ids, TLS": {
        "OS_AUTH_URL": URL,
        "OS_USERNAME": "syncer",
        "OS_PASSWORD": "pw",
        "OS_PROJECT_NAME": "images",
        "OS_USER_DOMAIN_ID": "d1",
        "OS_PROJECT_DOMAIN_ID": "d2",
        "OS_CACERT": "/etc/ca.pem",
        "OS_CERT": "/etc/client.pem",
        "OS_KEY": "/etc/client.key",
    },
    "application credential by id": {
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_AUTH_URL": URL,
        "OS_APPLICATION_CREDENTIAL_ID": "ac1",
        "OS_APPLICATION_CREDENTIAL_SECRET": "s",
        "OS_INTERFACE": "admin",
    },
    "application credential by name": {
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_AUTH_URL": URL,
        "OS_APPLICATION_CREDENTIAL_NAME": "sync",
        "OS_APPLICATION_CREDENTIAL_SECRET": "s",
        "OS_USERNAME": "syncer",
        "OS_USER_DOMAIN_NAME": "Users",
    },
    "token": {
        "OS_AUTH_TYPE": "token",
        "OS_AUTH_URL": URL,
        "OS_TOKEN": "t",
        "OS_PROJECT_ID": "p1",
    },
}
# The OS_* variable of each clouds.yaml key outside `auth`.
_TOP_LEVEL = {
    "OS_AUTH_TYPE": "auth_type",
    "OS_CACERT": "cacert",
    "OS_CERT": "cert",
    "OS_KEY": "key",
    "OS_INTERFACE": "interface",
}


def clouds_entry(variables: dict[str, str]) -> dict:
    """The clouds.yaml entry that says what `variables` say."""
    entry: dict = {"auth": {}}
    for variable, value in variables.items():
        if variable in _TOP_LEVEL:
            entry[_TOP_LEVEL[variable]] = value
        else:
            entry["auth"][variable.removeprefix("OS_").lower()] = value
    return entry


def resolved(settings: TargetSettings) -> dict:
    return {
        "auth": auth_options(settings),
        "cacert": settings.cacert,
        "cert": settings.cert,
        "key": settings.key,
        "verify": not settings.insecure,
        "interface": settings.interface,
    }


def openstack_config_resolved() -> dict:
    """What openstack.config makes of the process environment's cloud (OS_CLOUD or OS_*)."""
    config = loader.OpenStackConfig().get_one().config
    auth = {key: value for key, value in config["auth"].items() if value}
    # glancesync's default domain (§2) of a user or project name without one
    if "username" in auth and "user_domain_id" not in auth:
        auth.setdefault("user_domain_name", "Default")
    if "project_name" in auth and "project_domain_id" not in auth:
        auth.setdefault("project_domain_name", "Default")
    return {
        "auth": auth,
        "cacert": config.get("cacert"),
        "cert": config.get("cert"),
        "key": config.get("key"),
        "verify": config["verify"],
        "interface": config["interface"],
    }


@pytest.fixture
def no_clouds_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("OS_CLOUD", "OS_CLIENT_SECURE_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    return tmp_path / "clouds.yaml"


@pytest.mark.parametrize("form", FORMS)
def test_os_variables_resolve_as_openstack_config_resolves_them(no_clouds_file, monkeypatch, form):
    for variable, value in FORMS[form].items():
        monkeypatch.setenv(variable, value)

    master = load_settings(None, ["master_region=M"], environ=FORMS[form]).master

    assert resolved(master) == openstack_config_resolved()


@pytest.mark.parametrize("form", FORMS)
def test_a_clouds_yaml_entry_resolves_as_openstack_config_resolves_it(
    no_clouds_file, monkeypatch, form
):
    no_clouds_file.write_text(yaml.safe_dump({"clouds": {"c": clouds_entry(FORMS[form])}}))
    monkeypatch.setenv("OS_CLOUD", "c")

    master = load_settings(None, ["master_region=M", "master.cloud=c"], environ={}).master

    assert resolved(master) == openstack_config_resolved()
