"""The facade: the only module that talks to Keystone and Glance.

One keystoneauth1 session per target, regions from its catalog, and per region a keystoneauth1
adapter for the Images API v2 that speaks in the tool's `Image` records. It decides nothing:
listing, reading, creating, uploading, patching and deleting, with Keystone and Glance failures
turned into the tool's typed errors.

Idempotent calls (list, get, download's request, patch, delete, and Keystone's token and
catalog) are tried again after a transient failure — no connection, no answer within
`api_timeout`, a cut connection, HTTP 429, 500, 502, 503 or 504 — with exponential backoff and
jitter, at most `api_retries` times per call and `api_retry_budget` times in all per target and
process. Create and upload are never repeated: a second create would make a second image.
keystoneauth1's own retries do not fit: no jitter, no budget, and `Retry-After` obeyed unbounded.
The adapter is keystoneauth1's own, not python-glanceclient's HTTP client, which turns 429 and
504 answers into exceptions without their status code and drops their headers.

Server-side copy (§11): `import_methods` reads what a region's Glance offers, `start_import`
asks it to copy an image from another region of the same Keystone (`glance-download`, never
repeated), and `await_import` follows the image until it is active, its task failed (whose
message is the cause) or `import_timeout` has passed: `ImportFailed`.

An image is created with the property `UPLOAD_MARKER`, removed once its bytes are verified
(`finish_upload`): an image that still has it is the leftover of an interrupted or unverified
upload of ours (`leftovers`).
"""

from __future__ import annotations

import html
import json
import logging
import os
import random
import re
import socket
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import IO, Any, NoReturn, TypeVar
from urllib.parse import quote, urlencode

import requests
from keystoneauth1 import adapter as ksa_adapter
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import loading as ksa_loading
from keystoneauth1 import plugin as ksa_plugin
from keystoneauth1 import session as ksa_session
from urllib3.exceptions import InsecureRequestWarning

from glancesync import __version__
from glancesync.edge import (
    MAX_IDENTITY_RECORDS,
    MAX_REDIRECTS,
    Refused,
    catalog_problem,
    failed_task_message,
    guarded_session,
    hold_tokens,
    identity_record,
    import_methods_problem,
    mask_userinfo,
    members_problem,
    record_problem,
    server_text,
)
from glancesync.errors import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    AuthError,
    Conflict,
    ImportFailed,
    NotFound,
    RegionError,
    api_error_type,
)
from glancesync.escaping import printable
from glancesync.image import (
    DEACTIVATION_MARK,
    GLANCE_CORE_FIELDS,
    UPLOAD_MARKER,
    Image,
    NewImage,
)
from glancesync.settings import PASSWORD, TOKEN, TargetSettings
from glancesync.transfer import CHUNK_SIZE

LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

IMAGE_SERVICE = "image"
LIST_PAGE_SIZE = 1000  # Glance's default api_limit_max: fewest pages
MAX_PAGES = 1000  # a listing of more pages is refused (a million images at full pages)
MAX_IMAGES = 100_000  # a listing of more images is refused: bounded memory
NEXT_LINK = re.compile(r"/v2/images\?[^\s#]*")  # Glance's own form of `next`: on the endpoint
JSON_PATCH = "application/openstack-images-v2.1-json-patch"
RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# What a call may raise on an untrusted answer: keystoneauth1's errors, the edge's refusals,
# and the errors of keystoneauth1 reading a malformed token's fields as it trusts them.
UNTRUSTED_FAILURES = (ksa_exc.ClientException, Refused, LookupError, TypeError, AttributeError,
                      ValueError)  # fmt: skip
REQUEST_ID_HEADER = "x-openstack-request-id"
REQUEST_ID_LENGTH = 80  # characters kept of a request id (req-<uuid> has 40)
MAX_PAUSE = 30.0  # seconds: the longest pause between two attempts, Retry-After included
GLANCE_DOWNLOAD = "glance-download"  # the import method that copies from another region (§11)
FIRST_IMPORT_POLL = 0.1  # seconds before the first look at an image being imported, doubled
IMPORT_POLL = 1.0  # ... up to this many seconds between two looks
IMPORTING = frozenset({"queued", "saving", "importing", "uploading"})  # statuses on the way


def image_from_record(record: Any, region: str, what: str = "read image") -> Image:
    """Turn a Glance v2 image record into the tool's `Image`, once its fields are checked
    (RegionError naming what is wrong otherwise).

    A property whose value is null (Glance allows it for schema properties such as kernel_id)
    counts as absent: Glance's patch `add` sets such a key as well as a missing one."""
    problem = record_problem(record)
    if problem is not None:
        raise RegionError(f"{what} failed: malformed answer: {problem}", region=region)
    properties = {k: v for k, v in record.items() if k not in GLANCE_CORE_FIELDS and v is not None}
    return Image(
        id=record["id"],
        name=record.get("name") or "",
        owner=record.get("owner"),
        status=record.get("status", ""),
        size=record.get("size"),
        checksum=record.get("checksum"),
        os_hash_algo=record.get("os_hash_algo"),
        os_hash_value=record.get("os_hash_value"),
        visibility=record.get("visibility", "private"),
        os_hidden=bool(record.get("os_hidden")),
        disk_format=record.get("disk_format"),
        container_format=record.get("container_format"),
        min_ram=record.get("min_ram") or 0,
        min_disk=record.get("min_disk") or 0,
        protected=bool(record.get("protected")),
        tags=tuple(record.get("tags") or ()),
        properties=properties,
        region=region,
    )


def image_path(image_id: str, tail: str = "") -> str:
    """The API path of an image: its id (a server's word) quoted, never a path of its own."""
    return f"/v2/images/{quote(image_id, safe='')}{tail}"


def page_problem(
    records: Any, next_url: Any, followed: set[str], page_size: int, listed: int
) -> str | None:
    """What is wrong with a listing page, or None. A page holds a list of at most `page_size`
    records, and at most MAX_IMAGES with the `listed` ones; its `next` link is Glance's own
    relative form (so it stays on the region's endpoint), never one already `followed`, after
    a page with images, within MAX_PAGES."""
    if not isinstance(records, list):
        return "no image list in the answer"
    if len(records) > page_size:
        return f"a page of {len(records)} images, more than the {page_size} asked for"
    if listed + len(records) > MAX_IMAGES:
        return f"more than {MAX_IMAGES} images"
    if next_url is None:
        return None
    if not isinstance(next_url, str) or not NEXT_LINK.fullmatch(next_url):
        shown = printable(repr(next_url)[:120])
        return f"the next link {shown} is not a /v2/images link of the region's endpoint"
    if next_url in followed:
        return "the next link repeats a page already read"
    if not records:
        return "a page without images has a next link"
    if len(followed) >= MAX_PAGES:
        return f"more than {MAX_PAGES} pages"
    return None


def patch_operations(
    attributes: Mapping[str, Any],
    set_properties: Mapping[str, str],
    remove_properties: Sequence[str],
    current: Image,
) -> list[dict[str, Any]]:
    """A JSON patch of exactly the given keys: set what is given (`add`, which Glance's v2.1
    patch takes as "set" whether the property exists or not, so a stale `current` cannot make
    it fail), remove what is named and `current` has."""
    operations: list[dict[str, Any]] = []
    for key, value in attributes.items():
        operations.append({"op": "replace", "path": json_pointer(key), "value": value})
    for key, value in set_properties.items():
        operations.append({"op": "add", "path": json_pointer(key), "value": value})
    for key in remove_properties:
        if key in current.properties:
            operations.append({"op": "remove", "path": json_pointer(key)})
    return operations


def json_pointer(key: str) -> str:
    """The JSON pointer of a top-level key, escaped per RFC 6901 (`~` as ~0, `/` as ~1)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def glancesync_mark(event: str) -> str:
    """The value of one of glancesync's marks: what it did, when, where and by which process."""
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{event} {when} by glancesync on {socket.gethostname()} pid {os.getpid()}"


# --- failures and retries


@dataclass(frozen=True)
class Failure:
    """Why one attempt failed, for the operator (never a secret), and whether to try again."""

    cause: str
    transient: bool = False
    retry_after: float | None = None
    status: int | None = None  # of an HTTP answer
    request_id: str | None = None  # its x-openstack-request-id, fit to print

    @property
    def refused(self) -> bool:
        """The server said no for good (4xx): credentials or request wrong, not the network."""
        return self.status is not None and 400 <= self.status < 500 and not self.transient


class CallFailed(Exception):
    """An attempt failed; the caller turns it into the tool's error."""

    def __init__(self, failure: Failure):
        super().__init__(failure.cause)
        self.failure = failure


def response_failure(response: requests.Response) -> Failure:
    """An HTTP error answer as a Failure: status, reason and the server's message."""
    status = response.status_code
    request_id = _request_id(response.headers.get(REQUEST_ID_HEADER))
    return Failure(
        f"HTTP {status} {response.reason or ''}".rstrip()
        + _detail(response)
        + _quoted_request_id(request_id),
        transient=status in RETRIABLE_STATUS,
        retry_after=_retry_after(response.headers.get("Retry-After")),
        status=status,
        request_id=request_id,
    )


def _request_id(value: str | None) -> str | None:
    """A server's request id, short and printable (it is the server's word)."""
    return printable(value[:REQUEST_ID_LENGTH]) if value else None


def _quoted_request_id(request_id: str | None) -> str:
    """The request id as the end of a failure's text: what a cloud's support asks for."""
    return f" [request id {request_id}]" if request_id else ""


def exception_failure(error: ksa_exc.ClientException, timeout: float) -> Failure:
    """A keystoneauth exception (no answer, TLS, Keystone's refusal) as a Failure."""
    if isinstance(error, ksa_exc.HttpError):  # from Keystone, while authenticating
        status = error.http_status or 0
        request_id = _request_id(error.request_id)
        return Failure(
            f"Keystone answered HTTP {status} {_short(error.message, 200)}"
            + _quoted_request_id(request_id),
            transient=status in RETRIABLE_STATUS,
            retry_after=float(error.retry_after) if error.retry_after else None,
            status=status,
            request_id=request_id,
        )
    if isinstance(error, ksa_exc.SSLError):
        return Failure(f"TLS failure ({_tls_cause(str(error))})")
    if isinstance(error, ksa_exc.ConnectionError):
        return Failure(_connection_cause(str(error), timeout), transient=True)
    if isinstance(error, ksa_exc.EndpointNotFound):
        return Failure("no image endpoint of this interface for this region in the catalog")
    return Failure(f"{type(error).__name__}: {_short(str(error))}")


_CONNECTION_CAUSES = (
    ("refused", "connection refused"),
    ("timed out", "no answer within api_timeout ({timeout:g} s)"),
    ("name or service not known", "host name not found"),
    ("no route to host", "no route to host"),
    ("reset by peer", "connection reset"),
    ("aborted", "connection closed before the answer"),
    ("remotedisconnected", "connection closed before the answer"),
)


def _connection_cause(text: str, timeout: float) -> str:
    """A short cause for a connection failure, with the server's scheme, host and port."""
    lowered = text.lower()
    cause = next(
        (words for needle, words in _CONNECTION_CAUSES if needle in lowered), "connection failed"
    )
    server = re.search(r"\b(https?://)(?:[^/\s@]*@)?([^/\s:]+(?::\d+)?)", text)
    return cause.format(timeout=timeout) + (f" ({server[1]}{server[2]})" if server else "")


def _tls_cause(text: str) -> str:
    if "certificate verify failed" in text.lower():
        return "certificate verify failed: set cacert, or insecure = true for a test cloud"
    return _short(text, 200)


def _detail(response: requests.Response) -> str:
    """The server's message in an error answer (JSON or HTML), short and plain."""
    try:
        body = response.json()
        messages = [value.get("message") for value in body.values() if isinstance(value, dict)]
        text = " ".join(str(m) for m in messages if m) or json.dumps(body)
    except ValueError:
        text = re.sub(r"<[^>]*>", " ", response.text or "")
    text = _short(html.unescape(text), 200)
    return f": {text}" if text else ""


def _retry_after(value: str | None) -> float | None:
    """Seconds of a Retry-After header in its seconds form (an HTTP date is not honoured)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class Retrier:
    """Repeats idempotent attempts after transient failures: exponential backoff with jitter,
    at most `api_retries` per call and `api_retry_budget` in all (for one target and process)."""

    def __init__(self, settings: TargetSettings):
        self.retries = settings.api_retries
        self.delay = settings.api_retry_delay
        self.left = settings.api_retry_budget
        self.target = settings.name
        self.told_spent = False

    def call(self, what: str, attempt: Callable[[], _T], idempotent: bool = True) -> _T:
        """attempt() until it returns; raises the last CallFailed when retrying is over. Each
        retry is logged at INFO (one that succeeds is no news), running out of them once as a
        WARNING."""
        count = 0
        while True:
            try:
                return attempt()
            except CallFailed as failed:
                count += 1
                pause = self._pause(failed.failure, count) if idempotent else None
                if pause is None:
                    if idempotent and failed.failure.transient and count > self.retries:
                        LOG.warning(
                            "%s: %s; no retry left after %d", what, failed.failure.cause, count - 1
                        )
                    raise
                LOG.info(
                    "%s: %s; retry %d of %d in %.1f s",
                    what,
                    failed.failure.cause,
                    count,
                    self.retries,
                    pause,
                )
                time.sleep(pause)

    def _pause(self, failure: Failure, count: int) -> float | None:
        """Seconds to wait before retry number `count`, or None: give up."""
        if not failure.transient or count > self.retries:
            return None
        if self.left == 0:
            if not self.told_spent:
                LOG.warning("target %s: retry budget spent: no more retries", self.target)
                self.told_spent = True
            return None
        self.left -= 1
        backoff = min(MAX_PAUSE, self.delay * 2 ** (count - 1))
        pause = backoff / 2 + random.uniform(0, backoff / 2)
        if failure.retry_after is not None:
            pause = max(pause, min(failure.retry_after, MAX_PAUSE))
        return pause


# --- targets and regions


class Target:
    """A Keystone with its credentials: one session, the catalog's image regions. `auth_state`:
    the token and catalog another process got (`Target.auth_state`), used until it expires."""

    def __init__(self, settings: TargetSettings, auth_state: str | None = None):
        self.settings = settings
        if settings.insecure:  # warned about once when the settings were read
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        verify: bool | str = False if settings.insecure else (settings.cacert or True)
        cert = (settings.cert, settings.key) if settings.cert and settings.key else settings.cert
        # The session is ours, on the edge's guarded requests session: keystoneauth1 (and
        # openstack.config's get_session) retries would resend consumed upload streams.
        self.session = ksa_session.Session(
            auth=auth_plugin(settings),
            session=guarded_session(),
            verify=verify,
            cert=cert,
            timeout=settings.api_timeout,
            redirect=MAX_REDIRECTS,
            app_name="glancesync",
            app_version=__version__,
        )
        self.retrier = Retrier(settings)
        self._identities: dict[str, tuple[str, str] | None] = {}
        self._projects_named: dict[tuple[str, str], str | None] = {}
        hold_tokens(self)
        if auth_state is not None:
            self.session.auth.set_auth_state(auth_state)

    @property
    def auth_state(self) -> str | None:
        """The token and catalog this target got, if any and if its auth plugin can hand them
        over (keystoneauth1's identity plugins): a secret, for a --parallel child only."""
        get_state = getattr(self.session.auth, "get_auth_state", None)
        return get_state() if get_state is not None else None

    @property
    def name(self) -> str:
        return self.settings.name

    @cached_property
    def project_id(self) -> str:
        project_id = self._keystone("authenticate", lambda: self.session.get_project_id())
        if not isinstance(project_id, str) or not project_id:
            raise AuthError(f"{self.where}: authentication failed: the token has no project id")
        return project_id

    @cached_property
    def regions(self) -> tuple[str, ...]:
        """Regions with a public image endpoint in this target's catalog, in catalog order."""
        access = self._keystone(
            "read the catalog", lambda: self.session.auth.get_access(self.session)
        )
        problem = catalog_problem(access.service_catalog.catalog)
        if problem is not None:
            raise AuthError(f"{self.where}: read the catalog failed: {problem}")
        endpoints = access.service_catalog.get_endpoints_data(
            service_type=IMAGE_SERVICE, interface=self.settings.interface
        )
        names: list[str] = []
        for endpoint in endpoints.get(IMAGE_SERVICE, []):
            if endpoint.region_name and endpoint.region_name not in names:
                names.append(endpoint.region_name)
        return tuple(names)

    def region(self, name: str, full_name: str | None = None) -> RegionGlance:
        return RegionGlance(self, name, full_name or name)

    @property
    def where(self) -> str:
        return f"target {self.name} (Keystone {mask_userinfo(self.settings.auth_url)})"

    def failure_of(self, error: Exception) -> Failure:
        """A failed attempt (one of UNTRUSTED_FAILURES) as a Failure fit to print."""
        if isinstance(error, Refused):
            failure = Failure(error.cause, transient=error.transient)
        elif isinstance(error, ksa_exc.ClientException):
            failure = exception_failure(error, self.settings.api_timeout)
        else:
            failure = Failure(f"malformed answer ({type(error).__name__}: {_short(str(error))})")
        return self.vetted(failure)

    def vetted(self, failure: Failure) -> Failure:
        """The failure with a text fit to print: what a server echoed of this target's password
        or token replaced, URLs without userinfo, no control character."""
        return replace(
            failure, cause=server_text(failure.cause, [*self.settings.secrets, *self.tokens()])
        )

    def tokens(self) -> list[str]:
        """Its current token, if it has one: never to be printed (`edge.hold_tokens`)."""
        auth_ref = getattr(self.session.auth, "auth_ref", None)
        token = auth_ref.auth_token if auth_ref else None
        return [token] if token else []

    def project_identity(self, project_id: str) -> tuple[str, str] | None:
        """The name of a project of this Keystone and the name of its domain; None when it
        is not there or the account may not read it (§12). Read once per run."""
        if project_id not in self._identities:
            project = self._identity_record(f"/projects/{quote(project_id, safe='')}", "project")
            domain = (
                self._identity_record(f"/domains/{quote(project['domain_id'], safe='')}", "domain")
                if project and "domain_id" in project
                else None
            )
            self._identities[project_id] = (project["name"], domain["name"]) if domain else None
        return self._identities[project_id]

    def project_named(self, name: str, domain: str) -> str | None:
        """The id of the project `name` of the domain named `domain` in this Keystone; None
        when there is none or the account may not list them (§12). Looked up once per run;
        only records that are what was asked for count (a Keystone that ignored the filter
        would otherwise have a member guessed)."""
        if (name, domain) not in self._projects_named:
            query = urlencode({"name": domain})
            listed = self._identity_list(f"/domains?{query}", "domains")
            domains = [record for record in listed if record["name"] == domain]
            found = None
            if len(domains) == 1:
                query = urlencode({"name": name, "domain_id": domains[0]["id"]})
                listed = self._identity_list(f"/projects?{query}", "projects")
                projects = [
                    record
                    for record in listed
                    if record["name"] == name and record.get("domain_id") == domains[0]["id"]
                ]
                found = projects[0]["id"] if len(projects) == 1 else None
            self._projects_named[name, domain] = found
        return self._projects_named[name, domain]

    def _identity_record(self, path: str, kind: str) -> dict[str, str] | None:
        body = self._identity(path)
        return identity_record(body.get(kind)) if body else None

    def _identity_list(self, path: str, kind: str) -> list[dict[str, str]]:
        body = self._identity(path)
        records = body.get(kind) if body else None
        if not isinstance(records, list) or len(records) > MAX_IDENTITY_RECORDS:
            return []
        return [record for item in records if (record := identity_record(item))]

    def _identity(self, path: str) -> dict[str, Any] | None:
        """GET of Keystone's v3 API: the JSON object, None if refused (403) or absent (404)."""
        url = self.settings.auth_url.rstrip("/").removesuffix("/v3") + "/v3" + path

        def call() -> dict[str, Any] | None:
            try:
                body = self.session.get(url).json()
            except (ksa_exc.Forbidden, ksa_exc.NotFound):
                return None
            return body if isinstance(body, dict) else None

        return self._keystone("look up projects", call)

    def _keystone(self, what: str, call: Callable[[], _T]) -> _T:
        """A Keystone call, retried; failures as AuthError naming the target (never a secret):
        exit status 2 when Keystone refuses, 1 when it cannot be reached or fails."""
        where = self.where

        def attempt() -> _T:
            try:
                return call()
            except UNTRUSTED_FAILURES as error:
                raise CallFailed(self.failure_of(error)) from None

        try:
            return self.retrier.call(f"{where}: {what}", attempt)
        except CallFailed as failed:
            failure = failed.failure
            if failure.status == 401:
                refused = f"the credentials of {self.settings.who} were refused"
                message = refused + _quoted_request_id(failure.request_id)
            elif failure.transient:
                message = f"cannot connect: {failure.cause}"
            else:
                message = f"authentication failed: {failure.cause}"
            status = EXIT_CONFIG if failure.refused else EXIT_FAILURE
            raise AuthError(f"{where}: {message}", exit_status=status) from failed


# keystoneauth1's v3-only plugins for the generic names: no version discovery round trip.
_V3_PLUGINS = {PASSWORD: "v3password", TOKEN: "v3token"}


def auth_plugin(settings: TargetSettings) -> ksa_plugin.BaseAuthPlugin:
    """The target's keystoneauth1 auth plugin, made by keystoneauth1's loader for its auth_type
    from the options that loader offers."""
    loader = ksa_loading.get_plugin_loader(_V3_PLUGINS.get(settings.auth_type, settings.auth_type))
    known = {option.dest for option in loader.get_options()}
    given = auth_options(settings)
    return loader.load_from_options(**{k: v for k, v in given.items() if k in known})


def auth_options(settings: TargetSettings) -> dict[str, str]:
    """The target's keystoneauth1 options, with keystoneauth1's names: a domain name goes with
    the user or project name it qualifies, unless its domain id is given."""
    options = settings.auth_options
    plain = {
        "auth_url": settings.auth_url,
        "username": settings.user,
        "password": settings.password,
        "project_name": settings.project,
    }
    given = {key: value for key, value in plain.items() if value}
    if settings.user and "user_domain_id" not in options:
        given["user_domain_name"] = settings.user_domain_name
    if settings.project and "project_domain_id" not in options:
        given["project_domain_name"] = settings.project_domain_name
    return {**given, **options}


class Targets:
    """One `Target` (one Keystone session) per target name, made on first use; `auth_states`:
    the tokens and catalogs of targets that another process reached (`handover`)."""

    def __init__(
        self, settings: Mapping[str, TargetSettings], auth_states: Mapping[str, str] | None = None
    ):
        self._settings = settings
        self._auth_states = auth_states or {}
        self._made: dict[str, Target] = {}

    def __getitem__(self, name: str) -> Target:
        if name not in self._made:
            self._made[name] = Target(self._settings[name], self._auth_states.get(name))
        return self._made[name]

    def handover(self) -> Callable[[Mapping[str, TargetSettings]], Targets]:
        """How a --parallel child reaches these targets: with the tokens and catalogs got here,
        so that it does not authenticate again (a secret: it goes to the child by pipe)."""
        states = {name: target.auth_state for name, target in self._made.items()}
        return partial(Targets, auth_states={n: s for n, s in states.items() if s is not None})


class RegionGlance:
    """Glance v2 of one region of a target, speaking in `Image` records."""

    def __init__(self, target: Target, region: str, full_name: str):
        self.target = target
        self.region = region
        self.full_name = full_name
        self.adapter = ksa_adapter.Adapter(
            target.session,
            service_type=IMAGE_SERVICE,
            interface=target.settings.interface,
            region_name=region,
            endpoint_override=target.settings.image_endpoint_override,
        )

    def list_images(self, page_size: int = LIST_PAGE_SIZE) -> list[Image]:
        """Every image the target's project can see, hidden ones included: Glance lists those
        only when asked for them alone (`os_hidden=true`), so two listings, each following
        pagination (each bounded, see `page_problem`; MAX_IMAGES for both). An image in both
        (from a server that ignores the filter) counts once."""
        images: dict[str, Image] = {}
        for hidden_filter in ("", "&os_hidden=true"):
            followed: set[str] = set()
            url: str | None = f"/v2/images?limit={page_size}{hidden_filter}"
            while url is not None:
                followed.add(url)
                body = self._json("list images", "GET", url)
                records, url = body.get("images"), body.get("next")
                problem = page_problem(records, url, followed, page_size, len(images))
                if problem is not None:
                    raise RegionError(f"list images failed: {problem}", region=self.full_name)
                for record in records:
                    image = image_from_record(record, self.full_name, "list images")
                    images.setdefault(image.id, image)
        return list(images.values())

    def get_image(self, image_id: str) -> Image:
        body = self._json("get image", "GET", image_path(image_id), image=image_id)
        return image_from_record(body, self.full_name, "get image")

    def create_image(self, new: NewImage) -> Image:
        """Create the record, marked with UPLOAD_MARKER until `upload` completes. Not retried."""
        body = {**new.body(), UPLOAD_MARKER: glancesync_mark("started")}
        record = self._json(
            "create image", "POST", "/v2/images", image=new.name, json=body, idempotent=False
        )
        return image_from_record(record, self.full_name, "create image")

    def upload(self, image_id: str, data: IO[bytes], size: int | None) -> None:
        """Stream `data` (read in chunks, sent chunked) as the image's bytes, telling Glance the
        size; the image keeps UPLOAD_MARKER until `finish_upload`. Not retried. An exception
        raised by `data.read` breaks the request off before its end: Glance never activates
        the image."""
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["x-openstack-image-size"] = str(size)
        self._request(
            "upload image",
            "PUT",
            image_path(image_id, "/file"),
            image=image_id,
            headers=headers,
            data=_chunks_of(data),
            idempotent=False,
        )

    def download(self, image_id: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The image's bytes as a stream of chunks; a broken stream raises RegionError."""
        response = self._request(
            "download image", "GET", image_path(image_id, "/file"), image=image_id, stream=True
        )
        return self._stream(response, image_id, chunk_size)

    def download_part(self, image_id: str, start: int, length: int) -> Generator[bytes, None, None]:
        """At most `length` of the image's bytes from `start` on, as chunks: an HTTP Range
        request (Glance answers 206); from a Glance that ignores it (200, the whole image) the
        bytes before `start` are read and dropped, and the answer is closed after `length`."""
        response = self._request(
            "download part of image",
            "GET",
            image_path(image_id, "/file"),
            image=image_id,
            stream=True,
            headers={"Range": f"bytes={start}-{start + length - 1}"},
        )
        skip = 0 if response.status_code == 206 else start
        return _cut(self._stream(response, image_id, CHUNK_SIZE), skip, length)

    def update_image(
        self,
        current: Image,
        attributes: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: Sequence[str] = (),
    ) -> Image:
        """Patch exactly the given keys of `current`; every other property stays as it is."""
        operations = patch_operations(
            attributes or {}, set_properties or {}, remove_properties, current
        )
        if not operations:
            return current
        record = self._patch("update image", current.id, operations, image=current.name)
        return image_from_record(record, self.full_name, "update image")

    def add_tag(self, image: Image, tag: str) -> None:
        """Add one tag to the image (Glance's call per tag); its other tags stay."""
        path = image_path(image.id, f"/tags/{quote(tag, safe='')}")
        self._request("add tag", "PUT", path, image=image.name)

    def deactivate(self, image: Image) -> None:
        """Mark the image as deactivated by glancesync (DEACTIVATION_MARK), then deactivate it;
        both calls may be repeated (Glance deactivates a deactivated image as a no-op)."""
        self.update_image(image, set_properties={DEACTIVATION_MARK: glancesync_mark("deactivated")})
        self._image_action(image, "deactivate")

    def reactivate(self, image: Image) -> None:
        """Reactivate the image (a no-op on an active one), then remove DEACTIVATION_MARK."""
        self._image_action(image, "reactivate")
        self.update_image(image, remove_properties=(DEACTIVATION_MARK,))

    def _image_action(self, image: Image, action: str) -> None:
        """One of Glance's image actions (`deactivate`, `reactivate`), which may be repeated."""
        path = image_path(image.id, f"/actions/{action}")
        self._request(f"{action} image", "POST", path, image=image.name)

    def delete_image(self, image_id: str) -> None:
        self._request("delete image", "DELETE", image_path(image_id), image=image_id)

    def list_members(self, image_id: str) -> dict[str, str]:
        """The image's members: project id -> status (pending, accepted, rejected)."""
        body = self._json("list members", "GET", image_path(image_id, "/members"), image=image_id)
        members = body.get("members")
        problem = members_problem(members)
        if problem is not None:
            raise RegionError(f"list members failed: {problem}", region=self.full_name)
        return {member["member_id"]: member["status"] for member in members}

    def add_member(self, image_id: str, project_id: str) -> None:
        """Make the project a member (pending: accepting is the member's decision). Repeated
        after a lost answer, Glance says it is a member already (409): done."""
        try:
            self._request(
                "add member",
                "POST",
                image_path(image_id, "/members"),
                image=image_id,
                json={"member": project_id},
            )
        except Conflict:
            pass

    def remove_member(self, image_id: str, project_id: str) -> None:
        path = image_path(image_id, f"/members/{quote(project_id, safe='')}")
        try:
            self._request("remove member", "DELETE", path, image=image_id)
        except NotFound:  # gone already (a repeated call after a lost answer)
            pass

    def import_methods(self) -> frozenset[str]:
        """The import methods the region's Glance offers (`GET /v2/info/import`)."""
        body = self._json("read import methods", "GET", "/v2/info/import")
        problem = import_methods_problem(body)
        if problem is not None:
            raise RegionError(
                f"read import methods failed: malformed answer: {problem}", region=self.full_name
            )
        return frozenset(body["import-methods"]["value"])

    def start_import(self, image_id: str, source_id: str, source_region: str) -> None:
        """Ask Glance to copy image `source_id` of region `source_region` (same Keystone, the
        target's interface) into the queued image `image_id`. Not retried."""
        method = {
            "name": GLANCE_DOWNLOAD,
            "glance_image_id": source_id,
            "glance_region": source_region,
            "glance_service_interface": self.target.settings.interface,
        }
        self._request(
            "start import",
            "POST",
            image_path(image_id, "/import"),
            image=image_id,
            json={"method": method},
            idempotent=False,
        )

    def await_import(self, image_id: str) -> Image:
        """The image once Glance reports it active; ImportFailed when its import task failed
        (its message is the cause), it left the statuses of an import, or `import_timeout`
        passed (the image is left as it is: the caller deletes it)."""
        timeout = self.target.settings.import_timeout
        deadline = time.monotonic() + timeout
        pause = FIRST_IMPORT_POLL
        while True:
            image = self.get_image(image_id)
            if image.status == "active":
                return image
            if image.status not in IMPORTING:
                self._import_failed(image_id, f"Glance reports status {image.status!r}")
            if image.status == "queued":  # not started yet, or failed and put back
                message = self._failed_task(image_id)
                if message is not None:
                    self._import_failed(image_id, f"the import task failed: {message}")
            left = deadline - time.monotonic()
            if left <= 0:
                self._import_failed(image_id, f"not active after import_timeout ({timeout:g} s)")
            time.sleep(min(pause, left))
            pause = min(2 * pause, IMPORT_POLL)

    def _failed_task(self, image_id: str) -> str | None:
        """The message of the image's failed import task (server text made fit to print), or
        None while no task failed."""
        body = self._json("read import tasks", "GET", image_path(image_id, "/tasks"))
        try:
            message = failed_task_message(body)
        except ValueError as problem:
            self._import_failed(image_id, f"read import tasks: malformed answer: {problem}")
        if message is None:
            return None
        return self.target.vetted(Failure(_short(message, 200) or "no message given")).cause

    def _import_failed(self, image_id: str, cause: str) -> NoReturn:
        raise ImportFailed(f"glance-download: {cause}", region=self.full_name, image=image_id)

    def finish_upload(
        self, uploaded: Image, protected: bool, attributes: Mapping[str, Any] | None = None
    ) -> Image:
        """After verification: remove UPLOAD_MARKER (and set `protected` and the given
        `attributes`) in one patch. A retried patch whose first answer was lost fails (the
        marker is gone): what counts is that it is gone."""
        attributes = {**(attributes or {}), **({"protected": True} if protected else {})}
        try:
            return self.update_image(uploaded, attributes, None, (UPLOAD_MARKER,))
        except Conflict:  # Glance: the property to remove is not there (any more)
            current = self.get_image(uploaded.id)
            if UPLOAD_MARKER in current.properties or current.protected != protected:
                raise
            return current

    def _patch(
        self, what: str, image_id: str, operations: list[dict[str, Any]], image: str | None = None
    ) -> dict[str, Any]:
        """A JSON patch; repeating one after a lost answer sets the same values again."""
        return self._json(
            what,
            "PATCH",
            image_path(image_id),
            image=image or image_id,
            headers={"Content-Type": JSON_PATCH},
            data=json.dumps(operations),
        )

    def _json(
        self, what: str, method: str, url: str, *, image: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A call whose answer is a JSON object."""
        response = self._request(what, method, url, image=image, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RegionError(
                f"{what} failed: the answer is not a JSON object",
                region=self.full_name,
                image=image,
            )
        return body

    def _request(
        self,
        what: str,
        method: str,
        url: str,
        *,
        image: str | None = None,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """One HTTP call (retried if idempotent); failures as RegionError with their cause."""

        def attempt() -> requests.Response:
            try:
                response = self.adapter.request(url, method, raise_exc=False, **kwargs)
            except UNTRUSTED_FAILURES as error:
                raise CallFailed(self.target.failure_of(error)) from None
            if response.status_code >= 400:
                failure = self.target.vetted(response_failure(response))
                response.close()
                raise CallFailed(failure)
            return response

        try:
            return self.target.retrier.call(f"region {self.full_name}: {what}", attempt, idempotent)
        except CallFailed as failed:
            failure = failed.failure
            raise api_error_type(failure.status)(
                f"{what} failed: {failure.cause}",
                status=failure.status,
                request_id=failure.request_id,
                region=self.full_name,
                image=image,
            ) from failed

    def _stream(
        self, response: requests.Response, image_id: str, chunk_size: int
    ) -> Iterator[bytes]:
        try:
            yield from response.iter_content(chunk_size=chunk_size)
        except requests.RequestException as error:
            cause = _connection_cause(str(error), self.target.settings.api_timeout)
            raise RegionError(
                f"download image failed: {cause}", region=self.full_name, image=image_id
            ) from error
        finally:
            response.close()


def _cut(chunks: Iterator[bytes], skip: int, length: int) -> Generator[bytes, None, None]:
    """The `length` bytes of `chunks` after the first `skip` ones; closes `chunks` at the end."""
    with closing(chunks):
        for chunk in chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            chunk, skip = chunk[skip : skip + length], 0
            length -= len(chunk)
            yield chunk
            if length <= 0:
                return


def _chunks_of(data: IO[bytes]) -> Iterator[bytes]:
    """A readable object as a generator of chunks: requests sends it chunked, as it is read."""
    while chunk := data.read(CHUNK_SIZE):
        yield chunk


def _short(text: str | None, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
