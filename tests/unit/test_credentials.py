"""Target credentials beyond the password: auth_type and keystoneauth1's options, interface,
client certificates, legacy /v2.0 URLs, the ancestor's None values; and the patches that
set them."""

import logging
from pathlib import Path

import pytest

from glancesync.errors import ConfigError
from glancesync.glance import auth_plugin, json_pointer, patch_operations
from glancesync.image import Image
from glancesync.settings import load_settings

SECRET = "appcred-s3cret"
BASE = "[main]\nmaster_region = Madrid\n[master]\nauth_url = https://k.example/v3\n"


def load(tmp_path: Path, master: str, environ: dict[str, str] | None = None, mode: int = 0o600):
    path = tmp_path / "glancesync.conf"
    path.write_text(BASE + master)
    path.chmod(mode)
    return load_settings(str(path), environ=environ or {})


def error(tmp_path: Path, master: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, master, environ)
    assert SECRET not in str(raised.value)
    return str(raised.value)


BY_NAME = ("application_credential_id = 42", "application_credential_name = g")
APP_CREDENTIAL = (
    "auth_type = v3applicationcredential\n"
    "application_credential_id = 42\n"
    f"application_credential_secret = {SECRET}\n"
)


def test_an_application_credential_target(tmp_path):
    master = load(tmp_path, APP_CREDENTIAL).master
    assert master.auth_type == "v3applicationcredential"
    assert master.auth_options == {
        "application_credential_id": "42",
        "application_credential_secret": SECRET,
    }
    assert SECRET not in repr(master) and SECRET in master.secrets
    assert type(auth_plugin(master)).__name__ == "ApplicationCredential"


def test_an_application_credential_by_name_needs_a_user(tmp_path):
    text = APP_CREDENTIAL.replace(
        "application_credential_id = 42", "application_credential_name = g"
    )
    assert load(tmp_path, text + "user = sync\n").master.user == "sync"


def test_an_application_credential_by_name_without_a_user_is_refused(tmp_path):
    text = APP_CREDENTIAL.replace(*BY_NAME)
    assert "[master]: missing user (application_credential_name needs it" in error(tmp_path, text)


def test_a_secret_is_missing(tmp_path):
    text = "auth_type = v3applicationcredential\napplication_credential_id = 42\n"
    assert "missing application_credential_secret" in error(tmp_path, text)


def test_a_key_of_another_auth_type_is_refused(tmp_path):
    message = error(tmp_path, APP_CREDENTIAL + "password = x\n")
    assert message.endswith("[master] password: not used with auth_type = v3applicationcredential")


def test_an_unknown_auth_type_is_refused(tmp_path):
    assert "'v2password' is not one of password" in error(tmp_path, "auth_type = v2password\n")


def test_ids_instead_of_names(tmp_path):
    text = "user_id = u1\npassword = p\nproject_id = p1\nuser_domain_id = d1\n"
    master = load(tmp_path, text).master
    assert master.auth_options == {"user_id": "u1", "project_id": "p1", "user_domain_id": "d1"}
    plugin = auth_plugin(master)
    (method,) = plugin.auth_methods
    assert (method.user_id, method.user_domain_id, plugin.project_id) == ("u1", "d1", "p1")


def test_a_token_target(tmp_path):
    master = load(tmp_path, f"auth_type = token\ntoken = {SECRET}\nproject = p\n").master
    assert type(auth_plugin(master)).__name__ == "Token"
    assert SECRET in master.secrets


def test_interface_and_client_certificate(tmp_path):
    text = (
        "user = u\npassword = p\nproject = p\ninterface = internal\ncert = /c.pem\nkey = /k.pem\n"
    )
    master = load(tmp_path, text).master
    assert (master.interface, master.cert, master.key) == ("internal", "/c.pem", "/k.pem")


def test_an_unknown_interface_is_refused(tmp_path):
    assert "'private' is not one of public, internal, admin" in error(
        tmp_path, "user = u\npassword = p\nproject = p\ninterface = private\n"
    )


def test_os_variables_of_the_application_credential_fill_master(tmp_path):
    environ = {
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_APPLICATION_CREDENTIAL_ID": "42",
        "OS_APPLICATION_CREDENTIAL_SECRET": SECRET,
        "OS_PASSWORD": "not used with an application credential",
        "OS_INTERFACE": "internal",
        "OS_CERT": "/c.pem",
        "OS_INSECURE": "true",
    }
    master = load(tmp_path, "", environ).master
    assert master.auth_options["application_credential_secret"] == SECRET
    assert (master.interface, master.cert, master.insecure) == ("internal", "/c.pem", True)
    assert master.password == ""


def test_os_project_id_fills_master(tmp_path):
    environ = {"OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_PROJECT_ID": "p1"}
    assert load(tmp_path, "", environ).master.auth_options == {"project_id": "p1"}


def test_a_file_with_a_secret_readable_by_others_is_warned_about(tmp_path, caplog):
    load(tmp_path, APP_CREDENTIAL, mode=0o644)
    assert "is readable by group and others (mode 0644): chmod 600 it" in caplog.text


@pytest.mark.parametrize("url", ["https://k.example:5000/v2.0", "https://k.example:5000/v2.0/"])
def test_a_legacy_v2_url_is_read_as_v3_with_one_warning(tmp_path, caplog, url):
    path = tmp_path / "glancesync.conf"
    path.write_text(f"[main]\nmaster_region = M\n[master]\ncredential = u,cA==,{url},p\n")
    with caplog.at_level(logging.WARNING):
        master = load_settings(str(path), environ={}).master
    assert master.auth_url == "https://k.example:5000/v3"
    assert [r.getMessage() for r in caplog.records if "/v2.0" in r.getMessage()] == [
        f"{path}: [master] credential: the auth_url ends in /v2.0, which "
        "Keystone no longer serves: the v3 API of the same Keystone (.../v3) is used; write /v3 "
        "to silence this warning"
    ]


def test_none_values_of_the_ancestors_sample_are_unset_with_one_warning(tmp_path, caplog):
    path = tmp_path / "glancesync.conf"
    path.write_text(
        "[main]\nmaster_region = Madrid\npreferable_order = None\n"
        "[master]\nuser = u\npassword = p\nproject = p\nauth_url = https://k/v3\n"
        "metadata_condition = None\nmetadata_set = None\n"
    )
    with caplog.at_level(logging.WARNING):
        settings = load_settings(str(path), environ={})
    assert settings.main.preferable_order == ()
    assert settings.master.metadata_condition is None and settings.master.metadata_set == set()
    (warning,) = [r.getMessage() for r in caplog.records if "None" in r.getMessage()]
    assert "[main] preferable_order, [master] metadata_condition, [master] metadata_set" in warning


def test_tenant_id_is_pointed_at_project_id(tmp_path):
    assert "write 'project_id'" in error(tmp_path, "tenant_id = 1\n")


def test_json_pointers_escape_tilde_and_slash():
    assert [json_pointer(key) for key in ("a/b", "x~y", "~/")] == ["/a~1b", "/x~0y", "/~0~1"]


def test_properties_are_set_with_add_whatever_the_listing_said():
    current = Image(id="1", name="n", region="R", properties={"a/b": "old"})
    operations = patch_operations({}, {"a/b": "new", "x~y": "1"}, ["gone"], current)
    assert operations == [
        {"op": "add", "path": "/a~1b", "value": "new"},
        {"op": "add", "path": "/x~0y", "value": "1"},
    ]
