"""`cloud = NAME` and $OS_CLOUD: a target as openstack.config (the openstack CLI's loader) reads
its cloud from clouds.yaml/.yml/.json, secure.yaml and profiles."""

from pathlib import Path

import pytest

from glancesync.errors import ConfigError
from glancesync.settings import load_settings

SECRET = "s3cr3t-pass"
CLOUDS = """
clouds:
  prod:
    auth:
      auth_url: https://keystone.prod:5000/v3
      username: syncer
      project_name: images
      user_domain_name: Users
      project_domain_name: Projects
    region_name: Madrid
  nodomain:
    auth:
      auth_url: https://keystone.other:5000/v3
      username: other
      password: PASSWORD
      project_name: admin
  nopass:
    auth:
      auth_url: https://keystone.other:5000/v3
      username: other
      project_name: admin
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.prod:5000/v3
      application_credential_id: 0123abcd
    interface: internal
    cacert: /etc/ca.pem
    cert: /etc/client.pem
    key: /etc/client.key
  ids:
    auth:
      auth_url: https://keystone.prod:5000/v2.0
      username: syncer
      password: PASSWORD
      project_id: 42ab
      domain_name: Mine
    verify: false
    image_endpoint_override: https://glance.prod:9292
""".replace("PASSWORD", SECRET)
SECURE = f"""
clouds:
  prod:
    auth:
      password: {SECRET}
  appcred:
    auth:
      application_credential_secret: {SECRET}
"""


@pytest.fixture
def clouds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """clouds.yaml and secure.yaml in tmp_path, named by OS_CLIENT_CONFIG_FILE and
    OS_CLIENT_SECURE_FILE of the process environment (where openstack.config reads them)."""
    path = tmp_path / "clouds.yaml"
    path.write_text(CLOUDS)
    (tmp_path / "secure.yaml").write_text(SECURE)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    monkeypatch.setenv("OS_CLIENT_SECURE_FILE", str(tmp_path / "secure.yaml"))
    monkeypatch.chdir(tmp_path)
    return path


def write_conf(tmp_path: Path, text: str) -> str:
    path = tmp_path / "glancesync.conf"
    path.write_text("[main]\nmaster_region = Madrid\n" + text)
    path.chmod(0o600)
    return str(path)


def load_error(conf: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        load_settings(conf, environ=environ or {})
    message = str(error.value)
    assert SECRET not in message
    return message


def test_cloud_key_gives_the_target_credentials_and_domains(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n[other]\ncloud = nodomain\n")
    settings = load_settings(conf, environ={})
    master, other = settings.master, settings.targets["other"]
    assert (master.user, master.password, master.project) == ("syncer", SECRET, "images")
    assert master.auth_url == "https://keystone.prod:5000/v3"
    assert (master.user_domain_name, master.project_domain_name) == ("Users", "Projects")
    assert (other.user, other.user_domain_name) == ("other", "Default")
    assert SECRET not in repr(settings)


def test_an_application_credential_with_its_secret_in_secure_yaml(tmp_path, clouds):
    master = load_settings(write_conf(tmp_path, "[master]\ncloud = appcred\n"), environ={}).master
    assert master.auth_type == "v3applicationcredential"
    assert master.auth_options == {
        "application_credential_id": "0123abcd",
        "application_credential_secret": SECRET,
    }
    assert (master.interface, master.cacert, master.cert, master.key) == (
        "internal", "/etc/ca.pem", "/etc/client.pem", "/etc/client.key",
    )  # fmt: skip
    assert SECRET in master.secrets and SECRET not in repr(master)


def test_ids_domain_name_verify_and_endpoint_override(tmp_path, clouds):
    master = load_settings(write_conf(tmp_path, "[master]\ncloud = ids\n"), environ={}).master
    assert master.auth_options["project_id"] == "42ab"
    assert (master.user_domain_name, master.project_domain_name) == ("Mine", "Mine")
    assert master.insecure is True
    assert master.image_endpoint_override == "https://glance.prod:9292"
    assert master.auth_url == "https://keystone.prod:5000/v3"


def test_written_domain_keys_win_over_the_cloud(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\nuser_domain_name = Mine\n")
    master = load_settings(conf, environ={}).master
    assert (master.user_domain_name, master.project_domain_name) == ("Mine", "Projects")


def test_cloud_from_an_override(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    master = load_settings(conf, ["master.cloud=prod"], environ={}).master
    assert master.user == "syncer"


def test_os_cloud_gives_master_credentials_before_os_variables(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    environ = {"OS_CLOUD": "prod", "OS_USERNAME": "ignored", "OS_CACERT": "/ca.pem"}
    master = load_settings(conf, environ=environ).master
    assert (master.user, master.user_domain_name, master.cacert) == ("syncer", "Users", "/ca.pem")


def test_os_cloud_does_not_apply_when_the_file_has_credentials(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncredential = u,cA==,https://k/v3,p\n")
    master = load_settings(conf, environ={"OS_CLOUD": "prod"}).master
    assert master.user == "u"


def test_os_cloud_does_not_apply_to_other_targets(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n[other]\n")
    message = load_error(conf, {"OS_CLOUD": "nodomain"})
    assert "[other]: missing user, password, auth_url, project" in message


def test_os_cloud_without_a_file(clouds):
    environ = {"OS_CLOUD": "prod", "OS_REGION_NAME": "Madrid"}
    assert load_settings(None, environ=environ).master.user == "syncer"


@pytest.mark.parametrize("written", ["credential = u,cA==,https://k/v3,p", "user = admin"])
def test_cloud_with_another_credential_form_is_an_error(tmp_path, clouds, written):
    conf = write_conf(tmp_path, f"[other]\ncloud = prod\n{written}\n[master]\ncloud = prod\n")
    message = load_error(conf)
    assert message.startswith(f"{conf}: [other] cloud: cannot be combined with ")
    assert written.split(" =")[0] in message


def test_cloud_with_a_default_password_is_an_error(tmp_path, clouds):
    conf = write_conf(tmp_path, f"[DEFAULT]\npassword = {SECRET}\n[master]\ncloud = prod\n")
    assert "[master] cloud: cannot be combined with password from [DEFAULT]" in load_error(conf)


def test_unknown_cloud_names_the_file_section_and_key(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = nope\n")
    assert load_error(conf).startswith(f"{conf}: [master] cloud: Cloud nope was not found")


def test_unknown_os_cloud_names_the_variable(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    assert load_error(conf, {"OS_CLOUD": "nope"}).startswith("environment: OS_CLOUD: ")


def test_a_missing_password_is_named(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = nopass\n")
    assert load_error(conf).startswith(f"{conf}: [master]: missing password")


def test_the_master_clouds_region_name_is_the_default_master_region(tmp_path, clouds):
    conf = tmp_path / "glancesync.conf"
    conf.write_text("[master]\ncloud = prod\n")
    conf.chmod(0o600)
    assert load_settings(str(conf), environ={}).main.master_region == "Madrid"


def test_os_region_name_beats_the_clouds_region_name(tmp_path, clouds):
    conf = tmp_path / "glancesync.conf"
    conf.write_text("[master]\ncloud = prod\n")
    conf.chmod(0o600)
    settings = load_settings(str(conf), environ={"OS_REGION_NAME": "Lisbon"})
    assert settings.main.master_region == "Lisbon"
