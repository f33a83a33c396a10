"""Configuration: the INI file, --config overrides and OS_* variables, as typed settings (§2).

Precedence for a target section [T], lowest first: [DEFAULT] of the file, `DEFAULT.key=`
overrides, [T] of the file, bare `key=` overrides (every target), `T.key=` overrides; for
[master] only, OS_* variables then fill the credential, auth, domain, TLS and interface keys
still unset (those of its auth_type).
[main] reads [main] and overrides of its own keys only: [DEFAULT] does not apply to it.

Decisions where §2 is silent (the sample etc/glancesync.conf.sample says the same):

- A file must have a [master] section, possibly empty; with no file, [master] is built from
  OS_* variables and overrides. `section.key=` overrides create the section they name.
- An empty value means unset: the default applies (for [master], the OS_* fallback). So
  `key =` in a target section cancels a [DEFAULT] value.
- A value written on several lines is one value: its lines are joined with spaces, and a
  backslash ending a line (the ancestor's continuation style) is dropped.
- `credential` is exactly four comma-separated fields, `user,base64(password),auth_url,project`;
  a user, URL or project name containing a comma needs the plain keys. The plain `password`
  is the password itself, not base64.
- A target uses one credential form: `credential` together with any of user, password,
  auth_url, project or auth_type (after [DEFAULT] and overrides) is an error.
- `auth_type` is password (default), v3applicationcredential or token, with keystoneauth1's
  option names (AUTH_OPTIONS); a key of another auth_type is an error. Only the v3 API is
  spoken: an auth_url ending in /v2.0 is read as /v3 of the same Keystone, with a warning.
- [master] fallbacks: OS_USERNAME, OS_PASSWORD, OS_AUTH_URL, OS_PROJECT_NAME then
  OS_TENANT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, OS_CACERT, and OS_<KEY> for the
  other keys (OS_AUTH_TYPE, OS_PROJECT_ID, OS_APPLICATION_CREDENTIAL_SECRET, OS_INTERFACE…).
- The literal value None (the ancestor's sample writes it) is unset, told in one warning.
- A bare override of a [main] key (master_region, preferable_order, max_children) sets [main].
- `T.key=` beats a bare `key=` for target T, whatever their order on the command line (the
  specific beats the general); among overrides of the same place, the last one wins.
- In `section.key=value` the section is what comes before the last dot of the name.
- Section names are case-sensitive (they are target names); keys are not. A target name
  cannot contain ':' (it would be ambiguous in `T:R`).
- Checksums in dontupdate, rename and replace (and `any`) are kept lower-case; `master:R`
  in preferable_order means `R`.
- Ancestor keys that mean nothing here (use_keystone_v3, images_dir) are ignored with a warning.
- `cloud = NAME` takes the target's keys from cloud NAME as openstack.config (the openstack
  CLI's loader) resolves it: clouds.yaml/.yml/.json, secure.yaml, profiles, OS_CLIENT_* of the
  process environment; domain keys written for the target win. It excludes the other
  credential forms. For [master] with none of them, $OS_CLOUD names the cloud (before the OS_*
  credential variables); its region_name is the master region when neither [main] nor
  OS_REGION_NAME names one. openstack.config is imported only then (0.1-0.2 s, 12 MiB).
- The loader reads the file, the environment and the clouds files, nothing else: no file it
  names (cacert, cert, key) is opened.
- Comments go on lines of their own: a blank followed by # or ; in a value is an error (a
  silently wrong value otherwise), except in password, the secrets and metadata_condition.
- No message and no repr shows a password, plain or base64, a secret (SECRET_KEYS), nor a line
  of the file.
- Warnings, not errors: a file that holds a password or a secret (password, credential,
  application_credential_secret or token in any section) and that group or others may read;
  every target with insecure = true.
"""

from __future__ import annotations

import base64
import configparser
import difflib
import logging
import math
import os
import re
import stat
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, TypeVar

import yaml

from glancesync.condition import Condition, compile_condition
from glancesync.errors import ConfigError

LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

ANY = "any"  # in dontupdate, rename or replace: every checksum

DEFAULT_CONFIG_FILE = "/etc/glancesync.conf"
CONFIG_FILE_VARIABLE = "GLANCESYNC_CONFIG"
NO_CONFIG_FILE = "(no configuration file)"
MASTER = "master"
MAIN = "main"
DEFAULTS = "DEFAULT"
OVERRIDE = "--config override"
ENVIRONMENT = "environment"
CLOUD = "cloud"
CLOUD_VARIABLE = "OS_CLOUD"
PASSWORD = "password"
APPLICATION_CREDENTIAL = "v3applicationcredential"
TOKEN = "token"
INTERFACES = ("public", "internal", "admin")
# keystoneauth1's option names, per auth_type, that a target may write besides the plain keys;
# a value no output may show is in SECRET_KEYS.
# (Domain and system scopes are left out: images live in a project.)
AUTH_OPTIONS = {
    PASSWORD: ("user_id", "project_id", "user_domain_id", "project_domain_id"),
    APPLICATION_CREDENTIAL: ("application_credential_id", "application_credential_name",
                             "application_credential_secret", "user_id", "user_domain_id"),
    TOKEN: ("token", "project_id", "project_domain_id"),
}  # fmt: skip
SECRET_KEYS = ("application_credential_secret", "token")
# Plain keys each auth_type reads (the others are refused with it).
_PLAIN_AUTH_KEYS = {
    PASSWORD: ("user", "password", "auth_url", "project", "user_domain_name",
               "project_domain_name"),
    APPLICATION_CREDENTIAL: ("user", "auth_url", "user_domain_name"),
    TOKEN: ("auth_url", "project", "project_domain_name"),
}  # fmt: skip


class ServerSideCopy(str, Enum):
    """Whether a region of the master's Keystone copies images by itself (§11)."""

    AUTO = "auto"  # with glance-download, where the region's Glance offers it
    NEVER = "never"  # always stream through the sync host


class OnConflict(Enum):
    """What to do with a regional image whose content differs from the master's (§5)."""

    DONTUPDATE = "dontupdate"  # leave it: ok_stalled_checksum
    RENAME = "rename"  # upload a new copy, keep the old one as `<name>.old`
    REPLACE = "replace"  # upload a new copy, delete the old one


@dataclass(frozen=True)
class SyncRules:
    """What a target synchronises and how (§3-§5, §8): all the planner needs of it."""

    forcesyncs: frozenset[str] = frozenset()
    metadata_condition: Condition | None = None
    metadata_set: frozenset[str] = frozenset()
    prune_properties: bool = False
    only_tenant_images: bool = True
    dontupdate: frozenset[str] = frozenset()
    rename: frozenset[str] = frozenset()
    replace: frozenset[str] = frozenset()
    copy_uninspectable: bool = False  # copy images whose format cannot be inspected (§10)
    server_side_copy: ServerSideCopy = ServerSideCopy.AUTO  # glance-download where offered (§11)
    support_obsolete_images: bool = True
    obsolete_syncprops: frozenset[str] = frozenset()
    purge_after: int | None = None  # seconds a retired copy is kept; None: forever (§12)
    max_purge: int = 10  # retired copies deleted per region per run; 0: reported only
    purge_unmarked: bool = False  # also retired copies without glancesync's retirement mark
    sync_members: str = "add"  # SYNC_MEMBERS: keep region-only members, or remove them

    def on_conflict(self, checksum: str | None) -> OnConflict | None:
        """The rule for a regional image of this checksum whose content differs, if any: a
        rule naming the checksum before one saying `any`; dontupdate, rename, then replace."""
        rules = (
            (OnConflict.DONTUPDATE, self.dontupdate),
            (OnConflict.RENAME, self.rename),
            (OnConflict.REPLACE, self.replace),
        )
        for wanted in (checksum, ANY):
            for rule, checksums in rules:
                if wanted in checksums:
                    return rule
        return None


SYNC_RULES = tuple(rule.name for rule in fields(SyncRules))


@dataclass(frozen=True, kw_only=True)
class TargetSettings(SyncRules):
    """One target, as the loader builds it: a Keystone with its credentials and session options
    (for the facade), and the sync rules of its regions (`rules`, for the planner)."""

    name: str
    user: str
    password: str = field(repr=False)
    auth_url: str
    project: str
    auth_type: str = PASSWORD
    # keystoneauth1's other options of auth_type (application_credential_secret, project_id…)
    auth_options: Mapping[str, str] = field(default_factory=dict, repr=False)
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    ignore_regions: tuple[str, ...] = ()
    api_timeout: float = 30.0
    api_retries: int = 3
    api_retry_delay: float = 1.0
    api_retry_budget: int = 30
    import_timeout: float = 1800.0  # seconds a glance-download import may take (§11)
    cacert: str | None = None
    insecure: bool = False
    cert: str | None = None
    key: str | None = None
    interface: str = "public"
    image_endpoint_override: str | None = None  # Glance's URL instead of the catalog's
    region_name: str | None = None  # its cloud's region: [master]'s is the default master_region

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values no output may show: the password and the secret auth options."""
        hidden = [self.auth_options.get(key, "") for key in SECRET_KEYS]
        return tuple(value for value in (self.password, *hidden) if value)

    @property
    def who(self) -> str:
        """Whose credentials these are, for messages."""
        if self.auth_type == APPLICATION_CREDENTIAL:
            name = self.auth_options.get("application_credential_name")
            ident = name or self.auth_options.get("application_credential_id", "")
            return f"application credential {ident!r}"
        if self.auth_type == TOKEN:
            return "token"
        return f"user {self.user or self.auth_options.get('user_id', '')!r}"

    @property
    def rules(self) -> SyncRules:
        """The target's sync rules alone, without credentials: what the planner is given."""
        return SyncRules(**{name: getattr(self, name) for name in SYNC_RULES})


@dataclass(frozen=True)
class MainSettings:
    master_region: str
    preferable_order: tuple[str, ...] = ()
    max_children: int = 1
    lock_file: str | None = None  # None: glancesync.lock.default_lock_file()
    cache_dir: str | None = None  # None: $TMPDIR, else /var/tmp (glancesync.cache.run_cache)
    cache_max_size: int | None = None  # bytes; None: as much as the free space allows; 0: off


@dataclass(frozen=True)
class Settings:
    main: MainSettings
    targets: Mapping[str, TargetSettings]
    source: str = NO_CONFIG_FILE

    @property
    def master(self) -> TargetSettings:
        return self.targets["master"]


# --- value parsers: text -> typed value, or ValueError with a message that never quotes a secret


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _names(text: str) -> frozenset[str]:
    return frozenset(_items(text))


def _checksums(text: str) -> frozenset[str]:
    return frozenset(item.lower() for item in _items(text))


def _regions(text: str) -> tuple[str, ...]:
    return tuple(_items(text))


def _preferable_order(text: str) -> tuple[str, ...]:
    return tuple(item.removeprefix(f"{MASTER}:") for item in _items(text))


def _boolean(text: str) -> bool:
    try:
        return configparser.ConfigParser.BOOLEAN_STATES[text.lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a boolean (use true or false)") from None


# Bounds: a value beyond them is a typo, or a number no call could take; refused at load.
LARGEST_FILE = 1024**2  # bytes of a configuration file or clouds.yaml
LONGEST_SECONDS = 86400.0  # api_timeout, api_retry_delay: a day
MOST_CHILDREN = 256
LARGEST_COUNT = 10_000  # api_retries, api_retry_budget
LARGEST_SIZE = 1024**6  # cache_max_size: 1 EiB
_LONGEST_NUMBER = 40  # characters: a longer number is refused before it is converted


def _shown(text: str) -> str:
    """`text` quoted for a message, cut if it is long (a 5,000-digit number is one line)."""
    return repr(text if len(text) <= _LONGEST_NUMBER else text[: _LONGEST_NUMBER - 3] + "...")


def _seconds(text: str) -> float:
    try:
        seconds = float(text) if len(text) <= _LONGEST_NUMBER else math.inf
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a number of seconds") from None
    if not (math.isfinite(seconds) and 0 < seconds <= LONGEST_SECONDS):
        raise ValueError(
            f"{_shown(text)} must be a number of seconds greater than 0 and at most "
            f"{LONGEST_SECONDS:g}"
        )
    return seconds


def _integer(text: str, minimum: int, maximum: int) -> int:
    try:
        count = int(text) if len(text) <= _LONGEST_NUMBER else maximum + 1
    except ValueError:
        raise ValueError(f"{_shown(text)} is not an integer") from None
    if not minimum <= count <= maximum:
        raise ValueError(
            f"{_shown(text)} must be an integer of at least {minimum} and at most {maximum}"
        )
    return count


def _children(text: str) -> int:
    return _integer(text, 1, MOST_CHILDREN)


_CREDENTIAL_KEYS = ("user", "password", "auth_url", "project")


def _count(text: str) -> int:
    return _integer(text, 0, LARGEST_COUNT)


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST_DURATION = 100 * 365 * 86400  # purge_after: a century


def _duration(text: str) -> int:
    """Seconds, written as a whole number and a unit: 30d, 12h, 90m, 0s, 2w."""
    match = re.fullmatch(r"(\d{1,12})\s*([smhdw])", text.strip().lower())
    if not match:
        raise ValueError(f"{_shown(text)} is not a duration (a whole number and s, m, h, d or w)")
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds > LONGEST_DURATION:
        raise ValueError(f"{_shown(text)} is longer than a century")
    return seconds


SYNC_MEMBERS = ("add", "mirror")


def _sync_members(text: str) -> str:
    if text not in SYNC_MEMBERS:
        raise ValueError(f"{text!r} is not one of {', '.join(SYNC_MEMBERS)}")
    return text


def _path(text: str) -> str:
    return os.path.expanduser(text)


_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def _size(text: str) -> int:
    """Bytes, written as a number with an optional binary unit: 500M, 20G, 1.5T, 0."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", text.strip().lower())
    if not match:
        raise ValueError(f"{_shown(text)} is not a size (a number of bytes, or with K, M, G or T)")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not size <= LARGEST_SIZE:  # inf included
        raise ValueError(f"{_shown(text)} is larger than the largest size, 1 EiB")
    return int(size)


def _url(text: str) -> str:
    """An http or https URL with a host (and a port from 1 to 65535, if any); the message never
    quotes it (it may hold a password)."""
    try:
        url = urllib.parse.urlsplit(text)
        port = url.port
    except ValueError as error:
        raise ValueError(f"is not a valid URL ({error})") from None
    if url.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {url.scheme!r}" if url.scheme else "no scheme"
        raise ValueError(f"has {scheme}: use an http:// or https:// URL")
    if not url.hostname:
        raise ValueError("has no host")
    if port == 0:
        raise ValueError("has port 0 (use a port from 1 to 65535)")
    return text


def _credential(text: str) -> dict[str, str]:
    """`user,base64(password),auth_url,project` as the four plain keys."""
    fields = [part.strip() for part in text.split(",")]
    if len(fields) != len(_CREDENTIAL_KEYS):
        raise ValueError(
            f"has {len(fields)} comma-separated fields instead of 4: "
            "user,base64(password),auth_url,project"
        )
    values = dict(zip(_CREDENTIAL_KEYS, fields, strict=True))
    empty = [key for key, value in values.items() if not value]
    if empty:
        raise ValueError(f"empty field: {', '.join(empty)}")
    values["password"] = _decode_password(values["password"])
    try:
        _url(values["auth_url"])
    except ValueError as error:
        raise ValueError(f"the auth_url field {error}") from None
    return values


def _decode_password(text: str) -> str:
    """The password of a non-empty base64 field (which never decodes to nothing)."""
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError included
        raise ValueError("the password field is not the base64 of a UTF-8 password") from None


def _auth_type(text: str) -> str:
    if text not in AUTH_OPTIONS:
        raise ValueError(f"{text!r} is not one of {', '.join(AUTH_OPTIONS)}")
    return text


def _interface(text: str) -> str:
    if text not in INTERFACES:
        raise ValueError(f"{text!r} is not one of {', '.join(INTERFACES)}")
    return text


def _server_side_copy(text: str) -> ServerSideCopy:
    try:
        return ServerSideCopy(text.lower())
    except ValueError:
        choices = ", ".join(choice.value for choice in ServerSideCopy)
        raise ValueError(f"{_shown(text)} is not one of {choices}") from None


def _v3_url(text: str) -> str:
    """An auth_url, a legacy `/v2.0` one read as the `/v3` endpoint of the same Keystone."""
    url = _url(text)
    base = url.rstrip("/")
    if base.endswith("/v2.0"):
        return base.removesuffix("/v2.0") + "/v3"
    return url


_TARGET_OPTIONS: dict[str, Callable[[str], object]] = {
    "auth_type": _auth_type,
    "user_domain_name": str,
    "project_domain_name": str,
    "forcesyncs": _names,
    "metadata_condition": compile_condition,
    "metadata_set": _names,
    "prune_properties": _boolean,
    "only_tenant_images": _boolean,
    "dontupdate": _checksums,
    "rename": _checksums,
    "replace": _checksums,
    "copy_uninspectable": _boolean,
    "server_side_copy": _server_side_copy,
    "import_timeout": _seconds,
    "ignore_regions": _regions,
    "support_obsolete_images": _boolean,
    "obsolete_syncprops": _names,
    "purge_after": _duration,
    "max_purge": _count,
    "purge_unmarked": _boolean,
    "sync_members": _sync_members,
    "api_timeout": _seconds,
    "api_retries": _count,
    "api_retry_delay": _seconds,
    "api_retry_budget": _count,
    "cacert": _path,
    "insecure": _boolean,
    "cert": _path,
    "key": _path,
    "interface": _interface,
    "image_endpoint_override": _url,
    "region_name": str,
}
_MAIN_OPTIONS: dict[str, Callable[[str], object]] = {
    "master_region": str,
    "preferable_order": _preferable_order,
    "max_children": _children,
    "lock_file": _path,
    "cache_dir": _path,
    "cache_max_size": _size,
}
_AUTH_KEYS = frozenset(key for keys in AUTH_OPTIONS.values() for key in keys)
_FROM_CLOUD_ONLY = frozenset({"region_name"})
_TARGET_KEYS = frozenset(
    {"credential", CLOUD, *_CREDENTIAL_KEYS, *_TARGET_OPTIONS, *_AUTH_KEYS} - _FROM_CLOUD_ONLY
)
_MAIN_KEYS = frozenset(_MAIN_OPTIONS)
_ALIASES = {
    "tenant": "project",
    "keystone_url": "auth_url",
    "list_images_timeout": "api_timeout",
    "username": "user",  # keystoneauth1's spellings, as in clouds.yaml
    "project_name": "project",
}
_RETIRED = {
    "use_keystone_v3": "Keystone v3 is always used (an auth_url ending in /v2.0 is read as /v3)",
    "images_dir": "image data is read through the master region's Glance API",
}
# [master] keys that OS_* variables supply when the configuration leaves them unset.
_MASTER_ENVIRONMENT = {
    "user": ("OS_USERNAME",),
    "password": ("OS_PASSWORD",),
    "auth_url": ("OS_AUTH_URL",),
    "project": ("OS_PROJECT_NAME", "OS_TENANT_NAME"),
    "user_domain_name": ("OS_USER_DOMAIN_NAME",),
    "project_domain_name": ("OS_PROJECT_DOMAIN_NAME",),
    "cacert": ("OS_CACERT",),
    "cert": ("OS_CERT",),
    "key": ("OS_KEY",),
    "insecure": ("OS_INSECURE",),
    "interface": ("OS_INTERFACE",),
    "auth_type": ("OS_AUTH_TYPE",),
    **{key: (f"OS_{key.upper()}",) for key in sorted(_AUTH_KEYS)},
}


def known_keys() -> dict[str, frozenset[str]]:
    """The keys the loader knows, for the documentation and the tests that keep it true:
    "main" (valid in [main]), "target" (valid in [DEFAULT] and every target section), "alias"
    (ancestor spellings read as a target key) and "retired" (ancestor keys ignored with a
    warning)."""
    return {
        "main": _MAIN_KEYS,
        "target": _TARGET_KEYS,
        "alias": frozenset(_ALIASES),
        "retired": frozenset(_RETIRED),
    }


# --- raw values, with where they were written


@dataclass(frozen=True)
class _Raw:
    """One value as written, and where: for error messages that name file, section and key."""

    text: str = field(repr=False)  # it may be a password
    origin: str  # the file, OVERRIDE or ENVIRONMENT
    section: str | None  # None for a bare override or an environment variable
    key: str  # as the operator spelled it

    def where(self) -> str:
        place = self.key if self.section is None else f"[{self.section}] {self.key}"
        return f"{self.origin}: {place}"


_Section = dict[str, _Raw]  # canonical key -> value

# configparser keeps "value  # comment" whole: refuse that rather than use a wrong value, except
# where a blank before # or ; is legitimate (a condition ignores a comment itself).
_INLINE_COMMENT = re.compile(r"\s[#;]")
_MAY_HOLD_COMMENT_SIGNS = frozenset({"password", "metadata_condition", *SECRET_KEYS})


def _valid_keys(section: str | None) -> frozenset[str]:
    """The keys a section accepts; None is a bare override."""
    if section is None:
        return _MAIN_KEYS | _TARGET_KEYS
    return _MAIN_KEYS if section == MAIN else _TARGET_KEYS


def _canonical(raw: _Raw) -> str | None:
    """The canonical name of raw's key, None for a retired key; ConfigError if unknown."""
    valid = _valid_keys(raw.section)
    key = _ALIASES.get(raw.key, raw.key)
    if key in valid:
        return key
    if raw.key in _RETIRED:
        LOG.warning("%s: ignored: %s", raw.where(), _RETIRED[raw.key])
        return None
    raise ConfigError(f"{raw.where()}: {_unknown_key(raw.key, valid)}")


# OpenStack names (of clouds.yaml, openrc files, the openstack CLI) that have no key of the
# same name here, and what to write instead.
_OPENSTACK_HINTS = {
    "region_name": "the master region is [main] master_region; the other regions come from "
    "the Keystone catalog",
    "tenant_name": "write 'project'",
    "domain_name": "write 'user_domain_name' and 'project_domain_name'",
    "tenant_id": "the ancestor's tenant id is a project id: write 'project_id'",
}
_OPENRC_PREFIX = "os_"
# Keys that delete, hide or freeze regional images: a typo is pointed at one of them only when
# it is very close, never for a merely similar word (username is not rename).
_DESTRUCTIVE_KEYS = frozenset({"rename", "replace", "dontupdate"})
_CLOSE, _VERY_CLOSE = 0.6, 0.8


def _unknown_key(key: str, valid: frozenset[str]) -> str:
    """Why `key` is refused: the section it belongs in, what OpenStack's spelling is here, or
    the closest valid spelling."""
    if key in _MAIN_KEYS:
        return "not valid here: it is a [main] key"
    if key in _TARGET_KEYS or key in _ALIASES:
        return "not valid in [main]: it is a target key (put it in [DEFAULT] or a target section)"
    hint = _openstack_hint(key)
    if hint is None:
        aliases = {alias for alias, canonical in _ALIASES.items() if canonical in valid}
        close = _closest_key(key, valid | aliases)
        hint = f"did you mean {close!r}?" if close else None
    return "unknown key" + (f" ({hint})" if hint else "")


def _openstack_hint(key: str) -> str | None:
    """What to write for an OpenStack spelling: an openrc variable's name (os_username,
    OS_AUTH_URL: keys are read lower-case) or a name of _OPENSTACK_HINTS; None for others."""
    name = key.removeprefix(_OPENRC_PREFIX)
    if name in _OPENSTACK_HINTS:
        return _OPENSTACK_HINTS[name]
    canonical = _ALIASES.get(name, name)
    if name != key and canonical in _MAIN_KEYS | _TARGET_KEYS:
        return f"{key.upper()} of an openrc file is {canonical!r} here"
    return None


def _closest_key(key: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `key`, if close enough; a destructive key must be very close."""
    scored = [
        (difflib.SequenceMatcher(None, key, name).ratio(), name) for name in sorted(candidates)
    ]
    eligible = [
        (score, name)
        for score, name in scored
        if score >= (_VERY_CLOSE if name in _DESTRUCTIVE_KEYS else _CLOSE)
    ]
    return max(eligible, key=lambda scored_name: scored_name[0])[1] if eligible else None


def _section(values: Iterable[_Raw]) -> _Section:
    """Values of one section of the file by canonical key; two spellings of a key are an error."""
    section: _Section = {}
    for raw in values:
        key = _canonical(raw)
        if key is None:
            continue
        if key in section:
            raise ConfigError(f"{raw.where()}: same key as {section[key].key}; keep one of them")
        if key not in _MAY_HOLD_COMMENT_SIGNS and _INLINE_COMMENT.search(raw.text):
            raise ConfigError(f"{raw.where()}: a comment must be on a line of its own")
        section[key] = raw
    return section


def _one_line(text: str) -> str:
    """A value written on several lines, joined (a backslash ending a line is dropped)."""
    lines = text.split("\n")
    return " ".join([line.removesuffix("\\") for line in lines[:-1]] + lines[-1:]).strip()


# --- sources: the file, the overrides, the environment

# configparser's own [DEFAULT] handling is turned off, by giving it a name no file can use, so
# that [DEFAULT] does not leak into [main] and each section shows only its own keys.
_NO_SUCH_SECTION = "\0"


def _read_file(path: str) -> dict[str, _Section]:
    """The sections of the file; [DEFAULT] is read as a section of its own."""
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_SUCH_SECTION)
    try:
        parser.read_string(_read_text(path), source=path)
    except configparser.DuplicateSectionError as error:
        raise ConfigError(
            f"{path}: line {error.lineno}: [{error.section}]: duplicate section"
        ) from None
    except configparser.DuplicateOptionError as error:
        raise ConfigError(
            f"{path}: line {error.lineno}: [{error.section}] {error.option}: duplicate key"
        ) from None
    except configparser.MissingSectionHeaderError as error:
        raise ConfigError(
            f"{path}: line {error.lineno}: a key outside any section (start with a [section] line)"
        ) from None
    except configparser.ParsingError as error:
        lines = ", ".join(str(lineno) for lineno, _ in error.errors)
        raise ConfigError(
            f"{path}: line {lines}: cannot be parsed (expected key = value, [section] or # comment)"
        ) from None
    sections = {
        name: _section(_Raw(_one_line(text), path, name, key) for key, text in parser.items(name))
        for name in parser.sections()
    }
    return _none_unset(path, sections)


def _none_unset(path: str, sections: dict[str, _Section]) -> dict[str, _Section]:
    """The sections with the literal value None (the ancestor's sample writes it) as unset,
    told in one warning."""
    nones = [raw for section in sections.values() for raw in section.values() if raw.text == "None"]
    if not nones:
        return sections
    LOG.warning(
        "%s: the value None is read as unset (write nothing after '=' instead): %s",
        path,
        ", ".join(f"[{raw.section}] {raw.key}" for raw in nones),
    )
    unset = {id(raw) for raw in nones}
    return {
        name: {k: replace(raw, text="") if id(raw) in unset else raw for k, raw in items.items()}
        for name, items in sections.items()
    }


def _read_text(path: str) -> str:
    """The UTF-8 text of a regular file of at most LARGEST_FILE bytes; ConfigError otherwise
    (a FIFO or a device is refused without waiting for it or reading it)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigError(f"{path}: is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(LARGEST_FILE + 1)
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    if len(data) > LARGEST_FILE:
        raise ConfigError(f"{path}: is larger than {LARGEST_FILE // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None


def _parse_overrides(overrides: Sequence[str]) -> tuple[dict[str, _Section], _Section]:
    """`--config` overrides: those of a section (bare [main] keys included), and the bare ones."""
    sections: dict[str, _Section] = {}
    every_target: _Section = {}
    for override in overrides:
        name, equals, value = override.partition("=")
        section, dot, key = name.strip().rpartition(".")
        if not equals:
            raise ConfigError(f"{OVERRIDE} {override!r}: expected KEY=VALUE or SECTION.KEY=VALUE")
        if not key.strip() or (dot and not section.strip()):
            empty = "key" if not key.strip() else "section"
            raise ConfigError(f"{OVERRIDE} '{name}=...': empty {empty}")
        raw = _Raw(value.strip(), OVERRIDE, section.strip() if dot else None, key.strip().lower())
        canonical = _canonical(raw)
        if canonical is None:
            continue
        if raw.section is not None:
            sections.setdefault(raw.section, {})[canonical] = raw
        elif canonical in _MAIN_KEYS:
            sections.setdefault(MAIN, {})[canonical] = raw
        else:
            every_target[canonical] = raw
    return sections, every_target


def _merged(*layers: Mapping[str, _Raw]) -> _Section:
    """The layers' values, later layers winning; an empty value stays unset."""
    merged: _Section = {}
    for layer in layers:
        merged.update(layer)
    return {key: raw for key, raw in merged.items() if raw.text}


def _from_environment(environ: Mapping[str, str], keys: Iterable[str]) -> _Section:
    """[master] keys from their OS_* variables (the first one set, empty meaning unset)."""
    found: _Section = {}
    for key in keys:
        variable = next((name for name in _MASTER_ENVIRONMENT[key] if environ.get(name)), None)
        if variable:
            found[key] = _Raw(environ[variable], ENVIRONMENT, None, variable)
    return found


# --- typed settings


def _parse(raw: _Raw, parser: Callable[[str], _T]) -> _T:
    try:
        return parser(raw.text)
    except ValueError as error:  # ConditionError included
        raise ConfigError(f"{raw.where()}: {error}") from None


def _spelled_from(value: _Raw, near: _Raw) -> str:
    """`value`'s key, with where it comes from when that is not where `near` is."""
    if value.origin != near.origin:
        return f"{value.key} from {value.origin}"
    return value.key if value.section == near.section else f"{value.key} from [{value.section}]"


# What each auth_type needs: every group must have one of its keys.
_REQUIRED = {
    PASSWORD: (("user", "user_id"), ("password",), ("auth_url",), ("project", "project_id")),
    APPLICATION_CREDENTIAL: (
        ("auth_url",),
        ("application_credential_secret",),
        ("application_credential_id", "application_credential_name"),
    ),
    TOKEN: (("token",), ("auth_url",), ("project", "project_id")),
}


def _auth_type_of(raw: _Section) -> str:
    return _parse(raw["auth_type"], _auth_type) if "auth_type" in raw else PASSWORD


def _credentials(name: str, raw: _Section, origin: str) -> dict[str, Any]:
    """How target `name` authenticates: auth_type, the plain keys and keystoneauth1's options,
    from either credential form."""
    auth_type = _auth_type_of(raw)
    _refuse_foreign_auth_keys(raw, auth_type)
    plain = [raw[key] for key in _CREDENTIAL_KEYS if key in raw]
    if "credential" in raw:
        credential = raw["credential"]
        typed = [raw["auth_type"]] if auth_type != PASSWORD else []
        _refuse_others(
            credential, [*plain, *typed], "credential or user, password, auth_url and project"
        )
        values = _parse(credential, _credential)
        values["auth_url"] = _legacy_checked(values["auth_url"], credential)
        return {**values, "auth_type": PASSWORD}
    missing = [group[0] for group in _REQUIRED[auth_type] if not any(k in raw for k in group)]
    if missing:
        raise ConfigError(
            f"{origin}: [{name}]: missing {', '.join(missing)} "
            f"({_missing_hint(name, auth_type, missing)})"
        )
    if auth_type == APPLICATION_CREDENTIAL and "application_credential_id" not in raw:
        if not any(key in raw for key in ("user", "user_id")):
            raise ConfigError(
                f"{origin}: [{name}]: missing user (application_credential_name needs it, or "
                "write application_credential_id)"
            )
    values = {key: raw[key].text if key in raw else "" for key in _CREDENTIAL_KEYS}
    values["auth_url"] = _legacy_checked(_parse(raw["auth_url"], _url), raw["auth_url"])
    options = {key: raw[key].text for key in AUTH_OPTIONS[auth_type] if key in raw}
    return {**values, "auth_type": auth_type, "auth_options": options}


def _missing_hint(name: str, auth_type: str, missing: Sequence[str]) -> str:
    if auth_type == APPLICATION_CREDENTIAL:
        return "or application_credential_name with user instead of application_credential_id"
    if auth_type == TOKEN:
        return "or project_id instead of project"
    if name == MASTER:
        variables = ", ".join(_MASTER_ENVIRONMENT[key][0] for key in missing)
        return f"write credential or the missing keys in [master], or set {variables}"
    return "write credential, or user, password, auth_url and project"


def _refuse_foreign_auth_keys(raw: _Section, auth_type: str) -> None:
    """A key of another auth_type is an error (a silently unused credential otherwise)."""
    used = {*_PLAIN_AUTH_KEYS[auth_type], *AUTH_OPTIONS[auth_type]}
    for key in (*_CREDENTIAL_KEYS, *sorted(_AUTH_KEYS)):
        if key in raw and key not in used:
            raise ConfigError(f"{raw[key].where()}: not used with auth_type = {auth_type}")


def _legacy_checked(url: str, raw: _Raw) -> str:
    """`url`, a legacy /v2.0 one as /v3 of the same Keystone, with a warning."""
    v3 = _v3_url(url)
    if v3 != url:
        LOG.warning(
            "%s: the auth_url ends in /v2.0, which Keystone no longer serves: the v3 API of the "
            "same Keystone (.../v3) is used; write /v3 to silence this warning",
            raw.where(),
        )
    return v3


def _environment_keys(raw: _Section, environ: Mapping[str, str]) -> list[str]:
    """[master] keys still unset that OS_* variables may supply, for its auth_type."""
    typed = raw
    if "auth_type" not in raw and environ.get("OS_AUTH_TYPE"):
        typed = {
            **raw,
            "auth_type": _Raw(environ["OS_AUTH_TYPE"], ENVIRONMENT, None, "OS_AUTH_TYPE"),
        }
    auth_type = _auth_type_of(typed)
    foreign = {*_CREDENTIAL_KEYS, *_AUTH_KEYS} - {
        *_PLAIN_AUTH_KEYS[auth_type],
        *AUTH_OPTIONS[auth_type],
    }
    if "credential" in raw:
        foreign |= {*_CREDENTIAL_KEYS, *_AUTH_KEYS, "auth_type"}
    return [key for key in _MASTER_ENVIRONMENT if key not in raw and key not in foreign]


def _target(name: str, raw: _Section, environ: Mapping[str, str], origin: str) -> TargetSettings:
    """Target `name`, written in `origin`, from its merged values (and OS_* for [master])."""
    if ":" in name:
        raise ConfigError(f"{origin}: [{name}]: a target name cannot contain ':'")
    cloud = _cloud_of(name, raw, environ)
    if cloud is not None:
        _refuse_with_cloud(cloud, raw)
        raw = {**_from_cloud(cloud), **raw}
    if name == MASTER:
        raw = {**_from_environment(environ, _environment_keys(raw, environ)), **raw}
    options = {
        key: _parse(value, _TARGET_OPTIONS[key])
        for key, value in raw.items()
        if key in _TARGET_OPTIONS and key != "auth_type"
    }
    return TargetSettings(name=name, **_credentials(name, raw, origin), **options)


# --- clouds.yaml (the OpenStack client convention)

# A clouds.yaml `auth` key -> the target key it sets (the others keep their name).
_CLOUD_AUTH = {"username": "user", "project_name": "project"}
# keystoneauth1's v3-only names for the generic plugins here (the v3 API is the only one used).
_AUTH_TYPES = {"v3password": PASSWORD, "v3token": TOKEN}
_CLOUD_WRITTEN = ("credential", "auth_type", *_CREDENTIAL_KEYS, *sorted(_AUTH_KEYS))


def _cloud_of(name: str, raw: _Section, environ: Mapping[str, str]) -> _Raw | None:
    """The cloud of target `name`: its `cloud` key, or $OS_CLOUD for a [master] that has no
    credentials of its own."""
    if CLOUD in raw:
        return raw[CLOUD]
    written = any(key in raw for key in _CLOUD_WRITTEN)
    if name == MASTER and not written and environ.get(CLOUD_VARIABLE):
        return _Raw(environ[CLOUD_VARIABLE], ENVIRONMENT, None, CLOUD_VARIABLE)
    return None


def _refuse_with_cloud(cloud: _Raw, raw: _Section) -> None:
    """`cloud` excludes the other credential forms."""
    others = [raw[key] for key in _CLOUD_WRITTEN if key in raw]
    _refuse_others(cloud, others, "cloud, credential, or user, password, auth_url and project")


def _refuse_others(form: _Raw, others: Sequence[_Raw], forms: str) -> None:
    """A target uses one credential form: ConfigError if `form` comes with any of `others`,
    saying to use either of `forms`."""
    if others:
        spelled = ", ".join(_spelled_from(value, form) for value in others)
        raise ConfigError(f"{form.where()}: cannot be combined with {spelled}; use either {forms}")


def _cloud_config(cloud: _Raw) -> dict[str, Any]:
    """The resolved configuration of a cloud, read by openstack.config as the openstack CLI
    reads it (clouds.yaml/.yml/.json, secure.yaml, profiles, OS_CLIENT_* of the process
    environment). Imported here: it costs most of a second and 15 MiB."""
    from keystoneauth1 import exceptions as ksa_exceptions  # noqa: PLC0415
    from openstack import exceptions as sdk_exceptions  # noqa: PLC0415
    from openstack.config import loader  # noqa: PLC0415

    try:  # get_one also checks the auth options with keystoneauth1's loader
        region = loader.OpenStackConfig().get_one(cloud=cloud.text)
    except (
        sdk_exceptions.ConfigException,
        ksa_exceptions.ClientException,
        OSError,
        yaml.YAMLError,
    ) as error:
        raise ConfigError(f"{cloud.where()}: {_short_error(error)}") from None
    return region.config


def _short_error(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _from_cloud(cloud: _Raw) -> _Section:
    """The target keys of the cloud named by `cloud`: auth_type, its auth options, TLS files,
    interface and image endpoint override."""
    config = _cloud_config(cloud)
    origin = f"clouds.yaml cloud {cloud.text!r}"
    auth_type = str(config.get("auth_type") or PASSWORD)
    found: _Section = {"auth_type": _Raw(_AUTH_TYPES.get(auth_type, auth_type), origin, None,
                                         "auth_type")}  # fmt: skip
    auth = config.get("auth") or {}
    for name, value in auth.items():
        if value in (None, ""):
            continue
        key = _CLOUD_AUTH.get(name, name)
        if key not in _TARGET_KEYS:
            raise ConfigError(f"{cloud.where()}: {origin}: auth.{name}: not supported here")
        found[key] = _Raw(str(value), origin, None, f"auth.{name}")
    for key in ("cacert", "cert", "key", "interface", "image_endpoint_override", "region_name"):
        if config.get(key):
            found[key] = _Raw(str(config[key]), origin, None, key)
    if config.get("verify") is False:
        found["insecure"] = _Raw("true", origin, None, "verify")
    return found


def _main(
    raw: _Section, environ: Mapping[str, str], home: str, master: TargetSettings
) -> MainSettings:
    """[main] from its merged values, master_region falling back to OS_REGION_NAME, then to
    the region_name of [master]'s cloud."""
    if "master_region" not in raw:
        raw = {**raw, **_region_from_environment(environ, home, master)}
    return MainSettings(**{key: _parse(value, _MAIN_OPTIONS[key]) for key, value in raw.items()})


def _region_from_environment(
    environ: Mapping[str, str], home: str, master: TargetSettings
) -> _Section:
    if environ.get("OS_REGION_NAME"):
        return {
            "master_region": _Raw(environ["OS_REGION_NAME"], ENVIRONMENT, None, "OS_REGION_NAME")
        }
    if master.region_name:
        return {"master_region": _Raw(master.region_name, "clouds.yaml", None, "region_name")}
    raise ConfigError(
        f"{home}: [main] master_region: not set (set it in [main] or in OS_REGION_NAME, or as "
        "region_name of [master]'s cloud)"
    )


def _require_master(sections: Sequence[str], path: str) -> None:
    """A configuration file must have a [master] section (§2)."""
    if MASTER in sections:
        return
    close = difflib.get_close_matches(MASTER, sections, n=1)
    if close:
        hint = f"did you mean [{close[0]}]? Section names are case-sensitive"
    else:
        hint = "it may be empty when OS_* variables hold the credentials"
    raise ConfigError(f"{path}: [master]: missing section ({hint})")


def _warn_if_exposed(path: str, written: Mapping[str, _Section]) -> None:
    """Warn when the file holds a password and group or others may read it."""
    secret_keys = ("password", "credential", *SECRET_KEYS)
    if not any(key in raw for raw in written.values() for key in secret_keys):
        return
    mode = os.stat(path).st_mode
    readers = " and ".join(who for who, bit in (("group", 0o040), ("others", 0o004)) if mode & bit)
    if readers:
        LOG.warning(
            "%s: holds a password and is readable by %s (mode %04o): chmod 600 it",
            path,
            readers,
            mode & 0o7777,
        )


def _warn_if_insecure(targets: Mapping[str, TargetSettings]) -> None:
    for target in targets.values():
        if target.insecure:
            LOG.warning(
                "[%s] insecure = true: TLS certificates of its Keystone and Glance servers are "
                "not verified",
                target.name,
            )


def find_config_file(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    """The file to read (§2): --config-file, $GLANCESYNC_CONFIG, DEFAULT_CONFIG_FILE if it
    exists; None (no-file mode) otherwise."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_FILE_VARIABLE):
        return environ[CONFIG_FILE_VARIABLE]
    if os.path.exists(DEFAULT_CONFIG_FILE):
        return DEFAULT_CONFIG_FILE
    return None


def load_settings(
    config_file: str | None, overrides: Sequence[str] = (), environ: Mapping[str, str] = os.environ
) -> Settings:
    """Settings from the file (None: no-file mode), `--config` overrides and OS_* variables.

    Raises ConfigError, with one message naming the source, section and key, for anything wrong.
    """
    written = _read_file(config_file) if config_file is not None else {}
    overridden, every_target = _parse_overrides(overrides)
    home = config_file if config_file is not None else ENVIRONMENT
    sections = list(dict.fromkeys([*written, *overridden]))
    if config_file is not None:
        _require_master(sections, config_file)
    main_raw = _merged(written.get(MAIN, {}), overridden.get(MAIN, {}))
    defaults = [written.get(DEFAULTS, {}), overridden.get(DEFAULTS, {})]

    def target(name: str) -> TargetSettings:
        raw = _merged(*defaults, written.get(name, {}), every_target, overridden.get(name, {}))
        origin = home if name in written or name not in overridden else OVERRIDE
        return _target(name, raw, environ, origin)

    targets = {MASTER: target(MASTER)}
    main = _main(main_raw, environ, home, targets[MASTER])
    for name in sections:
        if name not in (MASTER, MAIN, DEFAULTS):
            targets[name] = target(name)
    if config_file is not None:
        _warn_if_exposed(config_file, written)
    _warn_if_insecure(targets)
    return Settings(main, targets, config_file if config_file is not None else NO_CONFIG_FILE)
