"""§2 Configuration: the file, [DEFAULT], --config overrides, OS_* fallbacks and their errors."""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from glancesync import settings
from glancesync.condition import Condition
from glancesync.errors import EXIT_CONFIG, ConfigError
from glancesync.settings import (
    OVERRIDE,
    ServerSideCopy,
    find_config_file,
    known_keys,
    load_settings,
)

SAMPLE = Path(__file__).resolve().parents[2] / "etc" / "glancesync.conf.sample"

PASSWORD = "Pa%ss,w0rd=x"  # %, comma and = on purpose: none of them is special
PASSWORD_B64 = base64.b64encode(PASSWORD.encode()).decode()
ENV_PASSWORD = "env-Pa55word"
BAD_B64 = "not*base64!"
SECRETS = (PASSWORD, PASSWORD_B64, ENV_PASSWORD, BAD_B64)

KEYSTONE = "https://keystone.example:5000/v3"
CREDENTIAL = f"admin,{PASSWORD_B64},{KEYSTONE},admin"
ENV = {
    "OS_USERNAME": "env-user",
    "OS_PASSWORD": ENV_PASSWORD,
    "OS_AUTH_URL": "https://env.example:5000/v3",
    "OS_PROJECT_NAME": "env-project",
    "OS_REGION_NAME": "Burgos",
}

MAIN = "[main]\nmaster_region = Burgos\n"
MASTER = f"[master]\ncredential = {CREDENTIAL}\n"
MINIMAL = MAIN + MASTER
OTHER = f"[other]\ncredential = {CREDENTIAL}\n"


def write(tmp_path: Path, text: str, name: str = "glancesync.conf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load(tmp_path: Path, text: str, overrides=(), environ=None) -> settings.Settings:
    return load_settings(write(tmp_path, text), overrides, {} if environ is None else environ)


# --- keys, defaults and values


def test_every_target_key_has_its_default(tmp_path):
    master = load(tmp_path, MINIMAL).master
    assert (master.user_domain_name, master.project_domain_name) == ("Default", "Default")
    assert master.forcesyncs == frozenset()
    assert master.metadata_condition is None
    assert master.metadata_set == frozenset()
    assert master.prune_properties is False
    assert master.only_tenant_images is True
    assert (master.dontupdate, master.rename, master.replace) == (frozenset(),) * 3
    assert master.ignore_regions == ()
    assert master.support_obsolete_images is True
    assert master.obsolete_syncprops == frozenset()
    assert master.api_timeout == 30.0
    assert master.cacert is None
    assert master.insecure is False


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("user_domain_name", "Users", "Users"),
        ("project_domain_name", "Projects", "Projects"),
        ("forcesyncs", "6e240dd4-e3, 0b1c2d3e-f4", frozenset({"6e240dd4-e3", "0b1c2d3e-f4"})),
        ("metadata_set", "nid , type,, sdc_aware,", frozenset({"nid", "type", "sdc_aware"})),
        ("prune_properties", "true", True),
        ("only_tenant_images", "false", False),
        ("dontupdate", "9046FD22, any", frozenset({"9046fd22", "any"})),
        ("rename", "any", frozenset({"any"})),
        ("replace", "9046fd22,ab12", frozenset({"9046fd22", "ab12"})),
        ("ignore_regions", "Spain, Trento", ("Spain", "Trento")),
        ("support_obsolete_images", "off", False),
        ("obsolete_syncprops", "sdc_aware, nid", frozenset({"sdc_aware", "nid"})),
        ("api_timeout", "12.5", 12.5),
        ("cacert", "/etc/ssl/private-ca.pem", "/etc/ssl/private-ca.pem"),
        ("insecure", "yes", True),
    ],
)
def test_every_target_key_takes_a_set_value(tmp_path, key, text, expected):
    master = load(tmp_path, MINIMAL + f"{key} = {text}\n").master
    assert getattr(master, key) == expected


def test_metadata_condition_is_compiled_at_load(tmp_path):
    text = "image.is_public and 'nid' in image.user_properties"
    condition = load(tmp_path, MINIMAL + f"metadata_condition = {text}\n").master.metadata_condition
    assert isinstance(condition, Condition)
    assert condition.text == text


def test_a_condition_on_several_lines_with_the_ancestors_backslashes_is_one_expression(tmp_path):
    config = MINIMAL + (
        "metadata_condition = image.is_public and\\\n  ('nid' in image.user_properties)\n"
    )
    condition = load(tmp_path, config).master.metadata_condition
    assert condition.text == "image.is_public and ('nid' in image.user_properties)"


@pytest.mark.parametrize(
    "word, value",
    [
        ("true", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("TRUE", True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("0", False),
        ("No", False),
    ],
)
def test_booleans_are_configparsers_words(tmp_path, word, value):
    assert load(tmp_path, MINIMAL + f"insecure = {word}\n").master.insecure is value


@pytest.mark.parametrize(
    "line, choice",
    [("", ServerSideCopy.AUTO), ("server_side_copy = never\n", ServerSideCopy.NEVER),
     ("server_side_copy = Auto\n", ServerSideCopy.AUTO)],
)  # fmt: skip
def test_server_side_copy_is_auto_unless_a_target_says_never(tmp_path, line, choice):
    assert load(tmp_path, MINIMAL + line).master.server_side_copy is choice


def test_main_keys_have_their_defaults(tmp_path):
    main = load(tmp_path, MINIMAL).main
    assert (main.master_region, main.preferable_order, main.max_children) == ("Burgos", (), 1)


def test_main_keys_take_set_values(tmp_path):
    config = MINIMAL.replace(
        "[main]\n",
        "[main]\nmax_children = 4\npreferable_order = Trento, , Lannion,other:RegionOne\n",
    )
    main = load(tmp_path, config).main
    assert main.preferable_order == ("Trento", "Lannion", "other:RegionOne")
    assert main.max_children == 4


def test_master_prefix_in_preferable_order_names_the_plain_region(tmp_path):
    config = MINIMAL.replace("[main]\n", "[main]\npreferable_order = master:Trento, Lannion\n")
    assert load(tmp_path, config).main.preferable_order == ("Trento", "Lannion")


def test_a_password_or_a_condition_may_hold_a_blank_before_a_comment_sign(tmp_path):
    config = MAIN + f"[master]\nuser = a\npassword = pass #1 ;2\nauth_url = {KEYSTONE}\n"
    config += "project = a\nmetadata_condition = image.is_public  # public only\n"
    assert load(tmp_path, config).master.password == "pass #1 ;2"


def test_keys_are_case_insensitive(tmp_path):
    master = load(tmp_path, MINIMAL + "Only_Tenant_Images = False\n").master
    assert master.only_tenant_images is False


def test_percent_signs_are_literal(tmp_path):
    config = MAIN + f"[master]\nuser = admin\npassword = {PASSWORD}\nauth_url = {KEYSTONE}\n"
    config += "project = 100%\n"
    master = load(tmp_path, config).master
    assert (master.password, master.project) == (PASSWORD, "100%")


@pytest.mark.parametrize(
    "alias, key, text, expected",
    [
        ("tenant", "project", "admin-project", "admin-project"),
        ("keystone_url", "auth_url", "https://other.example/v3", "https://other.example/v3"),
        ("list_images_timeout", "api_timeout", "45", 45.0),
        ("username", "user", "syncer", "syncer"),
        ("project_name", "project", "images", "images"),
    ],
)
def test_ancestor_spellings_are_aliases(tmp_path, alias, key, text, expected):
    plain = {"user": "admin", "password": "pw", "auth_url": KEYSTONE, "project": "admin"}
    plain[alias] = text
    plain.pop(key, None)
    body = "".join(f"{name} = {value}\n" for name, value in plain.items())
    assert getattr(load(tmp_path, MAIN + "[master]\n" + body).master, key) == expected


def unknown_key_message(tmp_path, section: str, line: str) -> str:
    config = MINIMAL.replace(f"[{section}]\n", f"[{section}]\n{line}\n")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, config, environ=ENV)
    return str(raised.value)


@pytest.mark.parametrize(
    "section, line, hint",
    [
        ("master", "os_username = a", "(OS_USERNAME of an openrc file is 'user' here)"),
        ("master", "OS_PASSWORD = a", "(OS_PASSWORD of an openrc file is 'password' here)"),
        ("master", "os_auth_url = a", "(OS_AUTH_URL of an openrc file is 'auth_url' here)"),
        ("master", "os_project_name = a", "(OS_PROJECT_NAME of an openrc file is 'project' here)"),
        ("master", "os_tenant_name = a", "(write 'project')"),
        ("master", "tenant_name = a", "(write 'project')"),
        ("master", "os_cacert = a", "(OS_CACERT of an openrc file is 'cacert' here)"),
        ("master", "domain_name = a", "(write 'user_domain_name' and 'project_domain_name')"),
        ("master", "region_name = a", "(the master region is [main] master_region;"),
        ("main", "os_region_name = a", "(the master region is [main] master_region;"),
    ],
)
def test_openstack_spellings_name_the_key_to_write(tmp_path, section, line, hint):
    key = line.split(" =")[0].lower()
    assert f"[{section}] {key}: unknown key {hint}" in unknown_key_message(tmp_path, section, line)


@pytest.mark.parametrize("line", ["usernam = a", "user_name = a", "projet_name = a"])
def test_a_typo_of_an_openstack_spelling_is_pointed_at_a_safe_key(tmp_path, line):
    message = unknown_key_message(tmp_path, "master", line)
    assert "did you mean" in message
    assert not any(f"'{key}'" in message for key in ("rename", "replace", "dontupdate"))
    assert "project_domain_name" not in message


@pytest.mark.parametrize(
    "line, hint",
    [("renam = any", "rename"), ("replce = any", "replace"), ("dontupdat = x", "dontupdate")],
)
def test_a_very_close_typo_of_a_destructive_key_still_gets_its_hint(tmp_path, line, hint):
    assert f"(did you mean '{hint}'?)" in unknown_key_message(tmp_path, "master", line)


@pytest.mark.parametrize("line", ["surname = a", "filename = a", "update = a"])
def test_a_merely_similar_word_is_never_pointed_at_a_destructive_key(tmp_path, line):
    message = unknown_key_message(tmp_path, "master", line)
    assert not any(f"'{key}'" in message for key in ("rename", "replace", "dontupdate"))


def test_retired_ancestor_keys_are_ignored_with_a_warning(tmp_path, caplog):
    config = MINIMAL.replace("[main]\n", "[main]\nimages_dir = /var/lib/glance/images\n")
    with caplog.at_level(logging.WARNING, logger="glancesync.settings"):
        load(tmp_path, config + "use_keystone_v3 = True\n")
    assert "[master] use_keystone_v3: ignored" in caplog.text
    assert "[main] images_dir: ignored" in caplog.text


# --- credentials


def test_credential_gives_user_decoded_password_auth_url_and_project(tmp_path):
    master = load(tmp_path, MINIMAL).master
    assert (master.user, master.password, master.auth_url, master.project) == (
        "admin",
        PASSWORD,
        KEYSTONE,
        "admin",
    )


def test_credential_fields_are_stripped_and_may_span_lines(tmp_path):
    config = MAIN + f"[master]\ncredential = admin,\\\n  {PASSWORD_B64},\\\n  {KEYSTONE}, admin\n"
    master = load(tmp_path, config).master
    assert (master.user, master.password, master.auth_url, master.project) == (
        "admin",
        PASSWORD,
        KEYSTONE,
        "admin",
    )


def test_plain_keys_give_the_password_as_written(tmp_path):
    config = MAIN + f"[master]\nuser = admin\npassword = {PASSWORD_B64}\nauth_url = {KEYSTONE}\n"
    master = load(tmp_path, config + "project = admin\n").master
    assert master.password == PASSWORD_B64


def test_credential_ignores_the_os_credential_variables(tmp_path):
    master = load(tmp_path, MINIMAL, environ=ENV).master
    assert (master.user, master.password, master.project) == ("admin", PASSWORD, "admin")


@pytest.mark.parametrize(
    "missing, variable",
    [
        ("user", "OS_USERNAME"),
        ("password", "OS_PASSWORD"),
        ("auth_url", "OS_AUTH_URL"),
        ("project", "OS_PROJECT_NAME"),
    ],
)
def test_each_missing_master_credential_key_falls_back_to_its_os_variable(
    tmp_path, missing, variable
):
    plain = {"user": "admin", "password": PASSWORD, "auth_url": KEYSTONE, "project": "admin"}
    del plain[missing]
    body = "".join(f"{name} = {value}\n" for name, value in plain.items())
    master = load(tmp_path, MAIN + "[master]\n" + body, environ=ENV).master
    assert getattr(master, missing) == ENV[variable]
    for name, value in plain.items():
        assert getattr(master, name) == value


def test_an_empty_master_key_falls_back_to_its_os_variable(tmp_path):
    config = MAIN + f"[master]\nuser =\npassword = {PASSWORD}\nauth_url = {KEYSTONE}\n"
    assert load(tmp_path, config, environ=ENV).master.user == "env-user"


def test_master_project_falls_back_to_os_tenant_name(tmp_path):
    environ = {**ENV, "OS_TENANT_NAME": "env-tenant"}
    del environ["OS_PROJECT_NAME"]
    assert load(tmp_path, MAIN + "[master]\n", environ=environ).master.project == "env-tenant"


def test_os_project_name_beats_os_tenant_name(tmp_path):
    environ = {**ENV, "OS_TENANT_NAME": "env-tenant"}
    assert load(tmp_path, MAIN + "[master]\n", environ=environ).master.project == "env-project"


def test_master_domains_and_cacert_fall_back_to_os_variables(tmp_path):
    environ = {
        **ENV,
        "OS_USER_DOMAIN_NAME": "users",
        "OS_PROJECT_DOMAIN_NAME": "projects",
        "OS_CACERT": "/etc/ssl/ca.pem",
    }
    master = load(tmp_path, MINIMAL, environ=environ).master
    assert (master.user_domain_name, master.project_domain_name) == ("users", "projects")
    assert master.cacert == "/etc/ssl/ca.pem"


def test_file_domains_beat_os_variables(tmp_path):
    environ = {**ENV, "OS_USER_DOMAIN_NAME": "users"}
    master = load(tmp_path, MINIMAL + "user_domain_name = file-users\n", environ=environ).master
    assert master.user_domain_name == "file-users"


def test_other_targets_take_nothing_from_the_environment(tmp_path):
    environ = {**ENV, "OS_USER_DOMAIN_NAME": "users", "OS_CACERT": "/etc/ssl/ca.pem"}
    other = load(tmp_path, MINIMAL + OTHER, environ=environ)
    assert (other.targets["other"].user_domain_name, other.targets["other"].cacert) == (
        "Default",
        None,
    )


# --- sections


def test_default_section_gives_defaults_to_every_target(tmp_path):
    config = MINIMAL + f"[other]\ncredential = {CREDENTIAL}\n[DEFAULT]\nmetadata_set = nid\n"
    loaded = load(tmp_path, config)
    assert {target.metadata_set for target in loaded.targets.values()} == {frozenset({"nid"})}


def test_a_target_value_beats_the_default_section(tmp_path):
    config = "[DEFAULT]\nonly_tenant_images = false\n" + MINIMAL + "only_tenant_images = true\n"
    assert load(tmp_path, config).master.only_tenant_images is True


def test_an_empty_value_cancels_the_default_sections_value(tmp_path):
    config = "[DEFAULT]\nmetadata_set = nid\n" + MINIMAL + "metadata_set =\n"
    assert load(tmp_path, config).master.metadata_set == frozenset()


def test_every_other_section_is_a_target_after_master(tmp_path):
    config = MAIN + OTHER.replace("other", "zeta") + MASTER + OTHER.replace("other", "alpha")
    assert list(load(tmp_path, config).targets) == ["master", "zeta", "alpha"]


def test_settings_record_their_source(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert load_settings(path, [], {}).source == path


def test_no_password_appears_in_the_repr_of_the_settings(tmp_path):
    config = MINIMAL + f"[other]\nuser = u\npassword = {PASSWORD}\nauth_url = {KEYSTONE}\n"
    config += "tenant = t\n"
    text = repr(load(tmp_path, config, environ=ENV))
    assert not [secret for secret in SECRETS if secret in text]


# --- no-file mode and file lookup


def test_no_file_mode_builds_master_from_os_variables_only():
    loaded = load_settings(None, [], ENV)
    assert loaded.main.master_region == "Burgos"
    assert (
        loaded.master.user,
        loaded.master.password,
        loaded.master.auth_url,
        loaded.master.project,
    ) == ("env-user", ENV_PASSWORD, ENV["OS_AUTH_URL"], "env-project")
    assert list(loaded.targets) == ["master"]
    assert loaded.source == settings.NO_CONFIG_FILE


def test_no_file_mode_takes_overrides():
    loaded = load_settings(None, ["max_children=3", "metadata_set=nid"], ENV)
    assert (loaded.main.max_children, loaded.master.metadata_set) == (3, frozenset({"nid"}))


def test_lookup_takes_the_explicit_file_first(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DEFAULT_CONFIG_FILE", write(tmp_path, MINIMAL, "default.conf"))
    environ = {"GLANCESYNC_CONFIG": write(tmp_path, MINIMAL, "env.conf")}
    assert find_config_file("/explicit.conf", environ) == "/explicit.conf"


def test_lookup_takes_glancesync_config_before_the_default_file(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DEFAULT_CONFIG_FILE", write(tmp_path, MINIMAL, "default.conf"))
    environ = {"GLANCESYNC_CONFIG": str(tmp_path / "env.conf")}
    assert find_config_file(None, environ) == str(tmp_path / "env.conf")


def test_lookup_takes_the_default_file_when_it_exists(tmp_path, monkeypatch):
    default = write(tmp_path, MINIMAL, "default.conf")
    monkeypatch.setattr(settings, "DEFAULT_CONFIG_FILE", default)
    assert find_config_file(None, {"GLANCESYNC_CONFIG": ""}) == default


def test_lookup_finds_no_file_when_the_default_file_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DEFAULT_CONFIG_FILE", str(tmp_path / "absent.conf"))
    assert find_config_file(None, {}) is None


# --- --config overrides


def test_section_override_sets_the_key_in_that_section(tmp_path):
    assert load(tmp_path, MINIMAL, ["master.api_timeout=5"]).master.api_timeout == 5.0


def test_section_override_creates_the_section(tmp_path):
    loaded = load(tmp_path, MINIMAL, [f"other.credential={CREDENTIAL}", "other.insecure=yes"])
    assert loaded.targets["other"].insecure is True


def test_section_override_can_create_the_master_section(tmp_path):
    loaded = load(tmp_path, MAIN, ["master.metadata_set=nid"], environ=ENV)
    assert loaded.master.metadata_set == frozenset({"nid"})


def test_bare_override_beats_a_targets_own_value(tmp_path):
    config = MINIMAL + "only_tenant_images = true\n" + OTHER
    loaded = load(tmp_path, config, ["only_tenant_images=false"])
    assert [target.only_tenant_images for target in loaded.targets.values()] == [False, False]


def test_section_override_beats_a_bare_override_in_any_order(tmp_path):
    overrides = ["master.insecure=true", "insecure=false"]
    assert load(tmp_path, MINIMAL, overrides).master.insecure is True


def test_bare_override_of_a_main_key_sets_main(tmp_path):
    loaded = load(tmp_path, MINIMAL, ["master_region=Trento", "max_children=2"])
    assert (loaded.main.master_region, loaded.main.max_children) == ("Trento", 2)


def test_default_override_is_only_a_default(tmp_path):
    config = MINIMAL + "metadata_set = type\n" + OTHER
    loaded = load(tmp_path, config, ["DEFAULT.metadata_set=nid"])
    assert (loaded.master.metadata_set, loaded.targets["other"].metadata_set) == (
        frozenset({"type"}),
        frozenset({"nid"}),
    )


def test_override_values_may_contain_equals_signs(tmp_path):
    condition = "image.user_properties.get('type') == 'base'"
    loaded = load(tmp_path, MINIMAL, [f"master.metadata_condition={condition}"])
    assert loaded.master.metadata_condition.text == condition


def test_override_may_give_a_password_containing_equals_signs(tmp_path):
    config = MAIN + f"[master]\nuser = admin\nauth_url = {KEYSTONE}\nproject = admin\n"
    assert load(tmp_path, config, [f"master.password={PASSWORD}"]).master.password == PASSWORD


def test_the_last_of_two_overrides_of_a_key_wins(tmp_path):
    assert load(tmp_path, MINIMAL, ["max_children=2", "main.max_children=5"]).main.max_children == 5


def test_an_empty_override_unsets_the_key(tmp_path):
    config = MINIMAL + "api_timeout = 5\n"
    assert load(tmp_path, config, ["master.api_timeout="]).master.api_timeout == 30.0


# --- malformed configurations: one clear message, naming where, never a password


@dataclass(frozen=True)
class Bad:
    """A malformed configuration and what its message must say."""

    config: str | bytes | None  # None: no-file mode; NO_SUCH_FILE: a path that does not exist
    fragments: tuple[str, ...]
    overrides: tuple[str, ...] = ()
    environ: tuple[tuple[str, str], ...] = tuple(ENV.items())
    origin: str = "file"  # the message starts with the file, OVERRIDE or "environment"


NO_SUCH_FILE = "\0no such file"
WITHOUT_REGION = tuple((key, value) for key, value in ENV.items() if key != "OS_REGION_NAME")

MALFORMED = {
    "inline comment": Bad(
        MINIMAL.replace("[main]\n", "[main]\npreferable_order = Trento  # first\n"),
        ("[main] preferable_order: a comment must be on a line of its own",),
    ),
    "unknown key with a suggestion": Bad(
        MINIMAL + "metadata_sett = nid\n",
        ("[master] metadata_sett: unknown key (did you mean 'metadata_set'?)",),
    ),
    "unknown key without a close match": Bad(
        MINIMAL + "colour = blue\n", ("[master] colour: unknown key",)
    ),
    "typo in [DEFAULT]": Bad(
        "[DEFAULT]\nonly_tenant_image = no\n" + MINIMAL,
        ("[DEFAULT] only_tenant_image: unknown key (did you mean 'only_tenant_images'?)",),
    ),
    "unknown [main] key": Bad(
        MINIMAL.replace("[main]\n", "[main]\nmax_childern = 2\n"),
        ("[main] max_childern: unknown key (did you mean 'max_children'?)",),
    ),
    "target key in [main]": Bad(
        MINIMAL.replace("[main]\n", "[main]\nmetadata_set = nid\n"),
        ("[main] metadata_set: not valid in [main]: it is a target key",),
    ),
    "[main] key in [DEFAULT]": Bad(
        "[DEFAULT]\nmax_children = 2\n" + MINIMAL,
        ("[DEFAULT] max_children: not valid here: it is a [main] key",),
    ),
    "bad boolean": Bad(
        MINIMAL + "only_tenant_images = maybe\n",
        ("[master] only_tenant_images: 'maybe' is not a boolean (use true or false)",),
    ),
    "bad server_side_copy": Bad(
        MINIMAL + "server_side_copy = always\n",
        ("[master] server_side_copy: 'always' is not one of auto, never",),
    ),
    "bad integer": Bad(
        MINIMAL.replace("[main]\n", "[main]\nmax_children = two\n"),
        ("[main] max_children: 'two' is not an integer",),
    ),
    "negative max_children": Bad(
        MINIMAL.replace("[main]\n", "[main]\nmax_children = -1\n"),
        ("[main] max_children: '-1' must be an integer of at least 1",),
    ),
    "api_timeout 0": Bad(
        MINIMAL + "api_timeout = 0\n",
        ("[master] api_timeout: '0' must be a number of seconds greater than 0",),
    ),
    "api_timeout nan": Bad(
        MINIMAL + "api_timeout = nan\n", ("[master] api_timeout: 'nan' must be a number",)
    ),
    "bad number through an alias": Bad(
        "[DEFAULT]\nlist_images_timeout = soon\n" + MINIMAL,
        ("[DEFAULT] list_images_timeout: 'soon' is not a number of seconds",),
    ),
    "bad base64": Bad(
        MAIN + f"[master]\ncredential = admin,{BAD_B64},{KEYSTONE},admin\n",
        ("[master] credential: the password field is not the base64 of a UTF-8 password",),
    ),
    "short credential": Bad(
        MAIN + f"[master]\ncredential = admin,{PASSWORD_B64},{KEYSTONE}\n",
        ("[master] credential: has 3 comma-separated fields instead of 4",),
    ),
    "credential with a trailing comma": Bad(
        MAIN + f"[master]\ncredential = {CREDENTIAL},\n",
        ("[master] credential: has 5 comma-separated fields instead of 4",),
    ),
    "empty credential field": Bad(
        MAIN + f"[master]\ncredential = ,{PASSWORD_B64},{KEYSTONE},\n",
        ("[master] credential: empty field: user, project",),
    ),
    "both credential forms": Bad(
        MINIMAL + f"user = admin\npassword = {PASSWORD}\n",
        ("[master] credential: cannot be combined with user, password",),
    ),
    "credential with plain keys of [DEFAULT]": Bad(
        "[DEFAULT]\nuser = admin\n" + MINIMAL,
        ("[master] credential: cannot be combined with user from [DEFAULT];",),
    ),
    "two spellings of one key": Bad(
        MAIN + "[master]\ntenant = a\nproject = b\n",
        ("[master] project: same key as tenant; keep one of them",),
    ),
    "missing [master]": Bad(MAIN + OTHER, (": [master]: missing section",)),
    "[master] in the wrong case": Bad(
        MAIN + MASTER.replace("[master]", "[Master]"),
        ("[master]: missing section (did you mean [Master]? Section names are case-sensitive)",),
    ),
    "missing master_region": Bad(
        MASTER,
        ("master_region: not set (set it in [main] or in OS_REGION_NAME, or as region_name",),
        environ=WITHOUT_REGION,
    ),
    "master credentials in neither the file nor OS_*": Bad(
        MAIN + "[master]\n",
        (
            "[master]: missing user, password, auth_url, project (write credential or the missing "
            "keys in [master], or set OS_USERNAME, OS_PASSWORD, OS_AUTH_URL, OS_PROJECT_NAME)",
        ),
        environ=(),
    ),
    "partial master credentials": Bad(
        MAIN + f"[master]\nuser = admin\nauth_url = {KEYSTONE}\n",
        ("[master]: missing password (", "or set OS_PASSWORD)"),
        environ=(("OS_PROJECT_NAME", "p"),),
    ),
    "empty credential values": Bad(
        MAIN + f"[master]\nuser =\npassword =\nauth_url = {KEYSTONE}\nproject = admin\n",
        ("[master]: missing user, password",),
        environ=(),
    ),
    "other target without complete credentials": Bad(
        MINIMAL + f"[other]\nuser = admin\npassword = {PASSWORD}\n",
        (
            "[other]: missing auth_url, project (write credential, or user, password, auth_url "
            "and project)",
        ),
    ),
    "target name with a colon": Bad(
        MINIMAL + OTHER.replace("[other]", "[other:x]"),
        ("[other:x]: a target name cannot contain ':'",),
    ),
    "duplicate section": Bad(
        MINIMAL + "[main]\nmax_children = 2\n", ("line 5: [main]: duplicate section",)
    ),
    "duplicate key": Bad(
        MINIMAL + f"credential = {CREDENTIAL}\n", ("line 5: [master] credential: duplicate key",)
    ),
    "unparsable line": Bad(MINIMAL + f"{PASSWORD_B64}\n", ("line 5: cannot be parsed",)),
    "key before any section": Bad(
        f"password = {PASSWORD}\n" + MINIMAL, ("line 1: a key outside any section",)
    ),
    "nonexistent file": Bad(NO_SUCH_FILE, ("cannot be read: No such file or directory",)),
    "file not in UTF-8": Bad(
        MINIMAL.encode() + b"metadata_set = caf\xe9\n", ("is not UTF-8 text",)
    ),
    "condition syntax error": Bad(
        "[DEFAULT]\nmetadata_condition = image.is_public and (\n" + MINIMAL,
        ("[DEFAULT] metadata_condition: invalid syntax",),
    ),
    "condition injection": Bad(
        MINIMAL + "metadata_condition = __import__('os')\n",
        ("[master] metadata_condition: ", "__import__"),
    ),
    "override without =": Bad(
        MINIMAL,
        ("--config override 'only_tenant_images': expected KEY=VALUE",),
        overrides=("only_tenant_images",),
        origin=OVERRIDE,
    ),
    "override with an empty key": Bad(
        MINIMAL,
        ("--config override '=...': empty key",),
        overrides=(f"={PASSWORD}",),
        origin=OVERRIDE,
    ),
    "override with an empty section": Bad(
        MINIMAL,
        ("--config override '.password=...': empty section",),
        overrides=(f".password={PASSWORD}",),
        origin=OVERRIDE,
    ),
    "override of an unknown key": Bad(
        MINIMAL,
        ("--config override: [master] metadat_set: unknown key (did you mean 'metadata_set'?)",),
        overrides=("master.metadat_set=nid",),
        origin=OVERRIDE,
    ),
    "override with a bad value": Bad(
        MINIMAL,
        ("--config override: only_tenant_images: 'perhaps' is not a boolean",),
        overrides=("only_tenant_images=perhaps",),
        origin=OVERRIDE,
    ),
    "override creating a target without credentials": Bad(
        MINIMAL,
        ("--config override: [other]: missing user, password, auth_url, project",),
        overrides=("other.ignore_regions=RegionOne",),
        origin=OVERRIDE,
    ),
    "override of both credential forms": Bad(
        MINIMAL,
        ("[master] credential: cannot be combined with password from --config override;",),
        overrides=(f"password={PASSWORD}",),
    ),
    "no file and no OS_PASSWORD": Bad(
        None,
        ("environment: [master]: missing password",),
        environ=tuple((key, value) for key, value in ENV.items() if key != "OS_PASSWORD"),
        origin="environment",
    ),
}


def config_path(tmp_path: Path, config: str | bytes | None) -> str | None:
    if config is None:
        return None
    if config == NO_SUCH_FILE:
        return str(tmp_path / "absent.conf")
    path = tmp_path / "glancesync.conf"
    if isinstance(config, bytes):
        path.write_bytes(config)
    else:
        path.write_text(config)
    return str(path)


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_configuration_gives_one_clear_message_without_passwords(tmp_path, bad):
    path = config_path(tmp_path, bad.config)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, list(bad.overrides), dict(bad.environ))
    message = str(raised.value)
    assert raised.value.exit_status == EXIT_CONFIG
    for fragment in bad.fragments:
        assert fragment in message
    assert message.startswith(f"{path}: " if bad.origin == "file" else f"{bad.origin}")
    assert "\n" not in message
    assert not [secret for secret in SECRETS if secret in message]
    assert raised.value.__cause__ is None  # no chained error to leak a line of the file
    assert raised.value.__context__ is None or raised.value.__suppress_context__


# --- the sample configuration: a minimal configuration, then a commented-out reference

OPTION_LINE = re.compile(r"^#(\[\w+\]|\w+ =.*)$", re.MULTILINE)
REFERENCE_MARK = "# Reference\n"


def sample_reference() -> str:
    """The sample's reference part, every option and section line uncommented."""
    text = SAMPLE.read_text()
    return OPTION_LINE.sub(r"\1", text[text.index(REFERENCE_MARK) :])


def test_the_sample_loads_as_it_is_as_the_minimal_configuration():
    loaded = load_settings(str(SAMPLE), [], ENV)
    assert list(loaded.targets) == ["master"]
    assert (loaded.main.master_region, loaded.master.user) == ("RegionOne", "glancesync")
    assert loaded.master == load_settings(str(SAMPLE), [], {}).master  # the file's, not OS_*


def test_the_sample_minimal_part_sets_only_the_region_and_the_credentials():
    text = SAMPLE.read_text()
    minimal = text[: text.index(REFERENCE_MARK)]
    keys = re.findall(r"^(\w+) =", minimal, re.MULTILINE)
    assert keys == ["master_region", "user", "password", "auth_url", "project"]


def test_the_sample_reference_documents_the_true_defaults(tmp_path):
    defaults = load(tmp_path, "[master]\n", environ=ENV)
    uncommented = load(tmp_path, sample_reference(), environ=ENV)
    assert (uncommented.main, uncommented.master) == (defaults.main, defaults.master)


def test_the_sample_example_target_loads_once_uncommented(tmp_path):
    other = load(tmp_path, sample_reference(), environ=ENV).targets["other"]
    assert (other.user, other.password, other.ignore_regions) == ("admin", "secret", ("RegionTwo",))
    assert other.only_tenant_images  # no unsafe value in an example meant to be copied


def test_the_sample_shows_every_key():
    keys = set(re.findall(r"^#(\w+) =", SAMPLE.read_text(), re.MULTILINE))
    assert keys == known_keys()["main"] | known_keys()["target"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("0s", 0),
        ("90m", 5400),
        ("2w", 14 * 86400),
        (" 1D ", 86400),
    ],
)
def test_purge_after_is_a_whole_number_and_a_unit(tmp_path, text, seconds):
    loaded = load(tmp_path, MINIMAL, [f"purge_after={text}"])
    assert loaded.master.purge_after == seconds


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("purge_after", "30", "'30' is not a duration"),
        ("purge_after", "1.5d", "is not a duration"),
        ("purge_after", "-1d", "is not a duration"),
        ("purge_after", "999999999999w", "is longer than a century"),
        ("max_purge", "-1", "must be an integer of at least 0"),
        ("purge_unmarked", "perhaps", "is not a boolean"),
        ("sync_members", "replace", "'replace' is not one of add, mirror"),
    ],
)
def test_a_bad_retention_or_sharing_value_is_refused_by_name(tmp_path, key, value, message):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, MINIMAL, [f"{key}={value}"])
    assert f"{key}: " in str(raised.value) and message in str(raised.value)
