"""`cloud = NAME` and $OS_CLOUD: target credentials from clouds.yaml."""

from pathlib import Path

import pytest

from glancesync.errors import ConfigError
from glancesync.settings import load_settings

SECRET = "s3cr3t-pass"
CLOUDS = f"""
clouds:
  prod:
    auth:
      auth_url: https://keystone.prod:5000/v3
      username: syncer
      password: {SECRET}
      project_name: images
      user_domain_name: Users
      project_domain_name: Projects
    region_name: Madrid
  nodomain:
    auth:
      auth_url: https://keystone.other:5000/v3
      username: other
      password: {SECRET}
      project_name: admin
  nopass:
    auth:
      auth_url: https://keystone.other:5000/v3
      username: other
      project_name: admin
"""


@pytest.fixture
def clouds(tmp_path: Path) -> Path:
    path = tmp_path / "clouds.yaml"
    path.write_text(CLOUDS)
    return path


def write_conf(tmp_path: Path, text: str) -> str:
    path = tmp_path / "glancesync.conf"
    path.write_text("[main]\nmaster_region = Madrid\n" + text)
    path.chmod(0o600)
    return str(path)


def env(clouds: Path, **variables: str) -> dict[str, str]:
    return {"OS_CLIENT_CONFIG_FILE": str(clouds), "HOME": str(clouds.parent), **variables}


def load_error(conf: str, environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as error:
        load_settings(conf, environ=environ)
    message = str(error.value)
    assert SECRET not in message
    return message


def test_cloud_key_gives_the_target_credentials_and_domains(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n[other]\ncloud = nodomain\n")
    settings = load_settings(conf, environ=env(clouds))
    master, other = settings.master, settings.targets["other"]
    assert (master.user, master.password, master.project) == ("syncer", SECRET, "images")
    assert master.auth_url == "https://keystone.prod:5000/v3"
    assert (master.user_domain_name, master.project_domain_name) == ("Users", "Projects")
    assert (other.user, other.user_domain_name) == ("other", "Default")
    assert SECRET not in repr(settings)


def test_written_domain_keys_win_over_the_cloud(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\nuser_domain_name = Mine\n")
    master = load_settings(conf, environ=env(clouds)).master
    assert (master.user_domain_name, master.project_domain_name) == ("Mine", "Projects")


def test_cloud_from_an_override(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    master = load_settings(conf, ["master.cloud=prod"], environ=env(clouds)).master
    assert master.user == "syncer"


def test_os_cloud_gives_master_credentials_before_os_variables(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    environ = env(clouds, OS_CLOUD="prod", OS_USERNAME="ignored", OS_CACERT="/ca.pem")
    master = load_settings(conf, environ=environ).master
    assert (master.user, master.user_domain_name, master.cacert) == ("syncer", "Users", "/ca.pem")


def test_os_cloud_does_not_apply_when_the_file_has_credentials(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncredential = u,cA==,https://k/v3,p\n")
    master = load_settings(conf, environ=env(clouds, OS_CLOUD="prod")).master
    assert master.user == "u"


def test_os_cloud_does_not_apply_to_other_targets(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n[other]\n")
    message = load_error(conf, env(clouds, OS_CLOUD="nodomain"))
    assert "[other]: missing user, password, auth_url, project" in message


def test_os_cloud_without_a_file(clouds):
    environ = env(clouds, OS_CLOUD="prod", OS_REGION_NAME="Madrid")
    assert load_settings(None, environ=environ).master.user == "syncer"


@pytest.mark.parametrize("written", ["credential = u,cA==,https://k/v3,p", "user = admin"])
def test_cloud_with_another_credential_form_is_an_error(tmp_path, clouds, written):
    conf = write_conf(tmp_path, f"[other]\ncloud = prod\n{written}\n[master]\ncloud = prod\n")
    message = load_error(conf, env(clouds))
    assert message.startswith(f"{conf}: [other] cloud: cannot be combined with ")
    assert written.split(" =")[0] in message


def test_cloud_with_a_default_password_is_an_error(tmp_path, clouds):
    conf = write_conf(tmp_path, f"[DEFAULT]\npassword = {SECRET}\n[master]\ncloud = prod\n")
    assert "[master] cloud: cannot be combined with password from [DEFAULT]" in load_error(
        conf, env(clouds)
    )


def test_unknown_cloud_names_the_file_section_and_key(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = nope\n")
    message = load_error(conf, env(clouds))
    known = "nodomain, nopass, prod"
    assert message == f"{conf}: [master] cloud: no cloud 'nope' in {clouds} (clouds there: {known})"


def test_unknown_os_cloud_names_the_variable(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\n")
    assert load_error(conf, env(clouds, OS_CLOUD="nope")).startswith("environment: OS_CLOUD: ")


def test_missing_fields_are_named(tmp_path, clouds):
    conf = write_conf(tmp_path, "[master]\ncloud = nopass\n")
    message = load_error(conf, env(clouds))
    assert message == f"{conf}: [master] cloud: {clouds}: missing clouds.nopass.auth.password"


def test_no_clouds_yaml_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n")
    message = load_error(conf, {"HOME": str(tmp_path)})
    assert message.startswith(f"{conf}: [master] cloud: no clouds.yaml found (tried clouds.yaml")


def test_lookup_falls_back_to_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home" / ".config" / "openstack"
    home.mkdir(parents=True)
    (home / "clouds.yaml").write_text(CLOUDS)
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n")
    environ = {"HOME": str(tmp_path / "home"), "OS_CLIENT_CONFIG_FILE": str(tmp_path / "none")}
    assert load_settings(conf, environ=environ).master.user == "syncer"


def test_invalid_yaml_does_not_quote_the_file(tmp_path, clouds):
    clouds.write_text(f"clouds:\n  prod:\n    auth: {{password: {SECRET}\n")
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n")
    assert "is not valid YAML" in load_error(conf, env(clouds))


def test_a_non_string_password_is_refused(tmp_path, clouds):
    clouds.write_text(CLOUDS.replace(f"password: {SECRET}", "password: 0123", 1))
    conf = write_conf(tmp_path, "[master]\ncloud = prod\n")
    message = load_error(conf, env(clouds))
    assert message.endswith("clouds.prod.auth.password: not a string (quote it)")
    assert "0123" not in message and "83" not in message
