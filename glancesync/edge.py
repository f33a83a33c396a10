"""The trust edge (§9): every answer of a Keystone or a Glance is untrusted input.

`guarded_session()` is the requests session under the facade's keystoneauth1 sessions. Its
transport adapter bounds every HTTP call:

- a deadline for the whole call, body included: the call's `timeout` (the target's
  api_timeout). urllib3's timeouts are per read, so a server dripping a byte at a time never
  trips them: our own watchdog shuts the call's connection down when the deadline passes. A
  streamed answer (image bytes) is watched until its headers arrive; its body, like a request
  that sends image bytes, has the per-read timeout only (a stall timeout), so a multi-GiB
  transfer is not cut; the answer to such a request is watched from its last byte sent;
- at most MAX_ANSWER bytes in an answer that is not streamed (a listing page, a token and its
  catalog, an error), and JSON at most MAX_DEPTH levels deep holding at most MAX_VALUES values;
- no redirect to another origin (scheme, host and port): every call of ours carries a
  password or a token. Redirects within the origin are followed (keystoneauth1 follows them,
  at most MAX_REDIRECTS).

A refused answer raises `Refused` (kept out of requests' exception tree, so keystoneauth1
passes it through untouched). Glance records are checked by `record_problem` before they
become `Image`s; server text is made printable and stripped of secrets by `server_text`.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import weakref
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from keystoneauth1.session import TCPKeepAliveAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from glancesync.escaping import printable
from glancesync.image import GLANCE_CORE_FIELDS

MiB = 1024 * 1024
MAX_ANSWER = 32 * MiB  # a listing page of 1000 images is a few MiB; a large catalog, one
MAX_DEPTH = 32  # a listing page nests 4 levels deep, a Keystone token 6
MAX_VALUES = 500_000  # 1000 images of 150 fields; a value parses into 50 to 100 bytes
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 305, 307, 308})
_READ_SIZE = 64 * 1024


class Refused(Exception):
    """An answer refused at the edge; `transient` like a timeout (worth another attempt)."""

    def __init__(self, cause: str, transient: bool = False):
        super().__init__(cause)
        self.cause = cause
        self.transient = transient


def guarded_session() -> requests.Session:
    """A requests session whose every call is bounded as the module's text says."""
    session = requests.Session()
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the deadline's watchdog


_CALL = threading.local()  # .watchdog: the watchdog of the call this thread is making


class _Watchdog:
    """Shuts down the connections of one call when its deadline passes."""

    def __init__(self, seconds: float, after_body: bool = False):
        self.expired = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._done = False
        self._after_body = after_body  # the deadline starts once the request's body is sent
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _CALL.watchdog = self
        if not self._after_body:
            self._timer.start()
        return self

    def body_sent(self) -> None:
        """The request is sent: a deadline that waited for its body (image bytes) starts."""
        with self._lock:
            if self._after_body and not self._done and not self._timer.is_alive():
                self._timer.start()

    def __exit__(self, *_exc: object) -> None:
        self.disarm()

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            if not self._done:
                self._connections.append(connection)

    def disarm(self) -> None:
        """The call is over (or its headers are in, for a streamed answer)."""
        with self._lock:
            self._done = True
            self._connections.clear()
        self._timer.cancel()
        _CALL.watchdog = None

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for connection in self._connections:
                if connection.sock is not None:
                    _shut(connection.sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the read blocked on it, in the calling thread
    except OSError:
        pass


class _Watched:
    """A urllib3 connection that tells the call's watchdog it carries a request."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watchdog = getattr(_CALL, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]
        if watchdog is not None:
            watchdog.body_sent()


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# --- the transport adapter


class GuardedAdapter(TCPKeepAliveAdapter):
    """keystoneauth1's adapter (TCP keep-alive), with the deadline, the caps and the redirect
    rule of the module's text."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:  # fmt: skip
        """Send with the deadline `timeout` (the api_timeout keystoneauth1 passes, seconds); a
        request that sends image bytes (a body read as it goes) has the stall timeout only
        while it sends them, and the deadline for its answer once they are sent (a server that
        drips the answer to an upload holds the run no longer than any other call)."""
        if timeout is None:
            return self._send(request, stream, timeout, **kwargs)
        streamed_body = not isinstance(request.body, (bytes, str, type(None)))
        with _Watchdog(timeout, after_body=streamed_body) as watchdog:
            try:
                response = self._send(request, stream, timeout, watchdog=watchdog, **kwargs)
            except (requests.RequestException, Refused):
                if watchdog.expired:
                    raise _late(timeout, request.url) from None
                raise
            if watchdog.expired:  # an answer without a length ends quietly when cut
                response.close()
                raise _late(timeout, request.url)
        return response

    def _send(
        self,
        request: requests.PreparedRequest,
        stream: bool,
        timeout: Any,
        watchdog: _Watchdog | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        response = super().send(request, stream=True, timeout=timeout, **kwargs)
        _refuse_redirect_elsewhere(request.url or "", response)
        if stream and response.status_code < 300:
            if watchdog is not None:
                watchdog.disarm()  # the bytes that follow have the stall timeout only
        else:
            _read_bounded(response)  # a whole answer; an error answer is never image bytes
        return response


def _late(timeout: float, url: str | None) -> Refused:
    return Refused(f"no answer within api_timeout ({timeout:g} s) ({origin(url or '')})", True)


def _refuse_redirect_elsewhere(url: str, response: requests.Response) -> None:
    """Refuse a redirect to another origin: the request carried a password or a token."""
    location = response.headers.get("Location")
    if response.status_code not in REDIRECTS or location is None:
        return
    there = urljoin(url, location)
    if origin(there) != origin(url):
        response.close()
        raise Refused(
            f"refused a redirect from {origin(url)} to {origin(there)}: credentials are sent "
            "only to the configured address"
        )


def _read_bounded(response: requests.Response) -> None:
    """Read a whole answer: at most MAX_ANSWER bytes, MAX_DEPTH levels and MAX_VALUES values
    of JSON."""
    limit = f"larger than {MAX_ANSWER // MiB} MiB"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER:
        response.close()
        raise Refused(f"the answer is {limit}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_READ_SIZE):
        size += len(chunk)
        if size > MAX_ANSWER:
            response.close()
            raise Refused(f"the answer is {limit}")
        chunks.append(chunk)
    body = b"".join(chunks)
    problem = json_problem(body)
    if problem is not None:
        raise Refused(problem)
    response._content = body  # requests' own slot: Session.send then reads no further


_JSON_CONTAINER = re.compile(rb"\s*[\[{]")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_problem(body: bytes) -> str | None:
    """Why a JSON text (an array or object) is refused before it is parsed, or None: 32 MiB of
    small values parse into a GiB, and the C scanner of `json` recurses (a deep enough text is
    a RecursionError). Commas and brackets are counted as values, those of strings too."""
    if not _JSON_CONTAINER.match(body):
        return None
    if body.count(b",") + body.count(b"[") + body.count(b"{") > MAX_VALUES:
        return f"the answer holds more than {MAX_VALUES} JSON values"
    if json_depth(body) > MAX_DEPTH:
        return f"the answer is JSON nested deeper than {MAX_DEPTH} levels"
    return None


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests, brackets in strings left out; memory: one copy of it."""
    depth = deepest = start = 0
    for string in _JSON_STRING.finditer(body):
        depth, deepest = _nesting(body[start : string.start()], depth, deepest)
        start = string.end()
    return _nesting(body[start:], depth, deepest)[1]


def _nesting(text: bytes, depth: int, deepest: int) -> tuple[int, int]:
    """The depth after `text` (outside strings) entered at `depth`, and the deepest so far."""
    brackets = text.translate(None, _NOT_BRACKETS)
    if not brackets:
        return depth, deepest
    steps = _STEP.__getitem__
    highest = max(accumulate(map(steps, brackets), initial=depth))  # streamed: no list
    return depth + sum(map(steps, brackets)), max(deepest, highest)


# --- Glance records

MAX_SIZE = 2**63 - 1  # Glance's BigInteger columns
MAX_INT = 2**31 - 1  # min_ram, min_disk
MAX_TEXT = 255  # Glance's limit for ids, names and the other short strings
VISIBILITIES = frozenset({"public", "private", "shared", "community"})
_TEXTS = ("name", "owner", "status", "checksum", "os_hash_algo", "os_hash_value",
          "disk_format", "container_format")  # fmt: skip


def record_problem(record: Any) -> str | None:
    """What is wrong with a Glance v2 image record, or None: types and ranges of the fields the
    tool reads; a field that is not Glance's own is a user property (a string, or null)."""
    if not isinstance(record, dict):
        return f"an image record is {_kind(record)}, not an object"
    image_id = record.get("id")
    if not isinstance(image_id, str) or not 0 < len(image_id) <= MAX_TEXT:
        return f"an image record has {_kind(image_id)} as its id"
    problem = _field_problem(record)
    if problem is None:
        problem = next(
            (f"property {printable(repr(key))} is {_kind(value)}, not a string"
             for key, value in record.items()
             if key not in GLANCE_CORE_FIELDS and value is not None and not isinstance(value, str)),
            None,
        )  # fmt: skip
    return f"image {printable(image_id)}: {problem}" if problem else None


def _field_problem(record: Mapping[str, Any]) -> str | None:
    for key in _TEXTS:
        value = record.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
            return f"{key} is {_kind(value)}, not a string of at most {MAX_TEXT} characters"
    for key, top in (("size", MAX_SIZE), ("virtual_size", MAX_SIZE), ("min_ram", MAX_INT),
                     ("min_disk", MAX_INT)):  # fmt: skip
        value = record.get(key)
        if value is not None and not (_is_int(value) and 0 <= value <= top):
            return f"{key} is {_kind(value)}, not an integer from 0 to {top}"
    if record.get("visibility", "private") not in VISIBILITIES:
        return f"visibility is {_kind(record['visibility'])}, not one of {sorted(VISIBILITIES)}"
    for key in ("protected", "os_hidden"):
        if not isinstance(record.get(key, False), bool):
            return f"{key} is {_kind(record[key])}, not true or false"
    tags = record.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return "tags are not a list of strings"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """A short, printable description of a value: its JSON type, and the value if short."""
    if value is None:
        return "null"
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip
    if isinstance(value, (list, dict)):
        return kind
    if _is_int(value) and value.bit_length() > 64:
        return "a number of more than 64 bits"
    text = repr(value)
    return f"{kind} ({printable(text)})" if len(text) <= 40 else kind


MAX_IMPORT_METHODS = 64


def import_methods_problem(body: Any) -> str | None:
    """What is wrong with Glance's `GET /v2/info/import` answer, or None: `import-methods`
    holds a `value` that is a list of at most MAX_IMPORT_METHODS short strings."""
    methods = body.get("import-methods") if isinstance(body, dict) else None
    value = methods.get("value") if isinstance(methods, dict) else None
    if not isinstance(value, list) or len(value) > MAX_IMPORT_METHODS:
        return f"import-methods is not a list of at most {MAX_IMPORT_METHODS} methods"
    if not all(isinstance(name, str) and len(name) <= MAX_TEXT for name in value):
        return f"an import method is not a string of at most {MAX_TEXT} characters"
    return None


def failed_task_message(body: Any) -> str | None:
    """The message of the first failed task in Glance's `GET /v2/images/{id}/tasks` answer
    (server text: print it through `server_text`), "" for a failed task without one, None when
    no task failed; ValueError when the answer is not a list of task objects."""
    tasks = body.get("tasks") if isinstance(body, dict) else None
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        raise ValueError("the answer is not a list of tasks")
    for task in tasks:
        if task.get("status") == "failure":
            message = task.get("message")
            return message[:MAX_TEXT] if isinstance(message, str) else ""
    return None


def catalog_problem(catalog: Any) -> str | None:
    """What is wrong with a Keystone v3 catalog, or None: a list of services (objects), each
    with a list of endpoints (objects) whose url and interface are strings, and region a string
    or null."""
    if not isinstance(catalog, list) or not all(isinstance(s, dict) for s in catalog):
        return "the catalog is not a list of services"
    for service in catalog:
        endpoints = service.get("endpoints")
        if not isinstance(service.get("type"), str) or not isinstance(endpoints, list):
            return "a service of the catalog has no type or no list of endpoints"
        for endpoint in endpoints:
            if not (
                isinstance(endpoint, dict)
                and all(isinstance(endpoint.get(key), str) for key in ("url", "interface"))
                and all(isinstance(endpoint.get(key), (str, type(None)))
                        for key in ("region", "region_id"))
            ):  # fmt: skip
                return "an endpoint of the catalog lacks a url, an interface or a region string"
    return None


# --- text from servers, and URLs


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")


def mask_userinfo(text: str) -> str:
    """`scheme://user:password@host` as `scheme://***@host`, wherever it occurs in `text`."""
    return _USERINFO.sub(r"\1***@", text)


def server_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text that came from a server (or quotes its URLs), fit to print: `secrets` it echoes
    replaced by ***, userinfo in URLs masked, control characters escaped."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return printable(mask_userinfo(text))


class TokenHolder(Protocol):
    def tokens(self) -> list[str]: ...


# The targets of this process, each asked for its current token when a log record is written
# (weakly held: a target that is gone has nothing more to log). Passwords never reach a log
# line (keystoneauth1 does not log its authentication calls, and error texts are `server_text`),
# and redacting them everywhere would turn a short one into *** all over every line.
_TOKEN_HOLDERS: weakref.WeakSet[TokenHolder] = weakref.WeakSet()


def hold_tokens(holder: TokenHolder) -> None:
    """Let MaskedUserinfo replace what `holder.tokens()` returns in every log record."""
    _TOKEN_HOLDERS.add(holder)


class MaskedUserinfo(logging.Filter):
    """A log handler's filter: userinfo of URLs masked in every record (keystoneauth1's debug
    lines quote the auth_url as it is written), and the tokens of the targets (`hold_tokens`)
    replaced by *** (keystoneauth1's -vv lines print the bodies of Glance's answers as they
    are, and a server may echo the token it was sent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_userinfo(message)
        for holder in list(_TOKEN_HOLDERS):
            for token in holder.tokens():
                masked = masked.replace(token, "***")
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def origin(url: str) -> str:
    """`scheme://host:port` of a URL (default port made explicit), printable; never userinfo."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        return printable(f"an invalid address ({url[:80]})")
    return printable(f"{parts.scheme}://{parts.hostname or ''}:{port}")


MAX_MEMBERS = 10_000  # members of one image: more is refused
MAX_IDENTITY_RECORDS = 1_000  # projects or domains of one name lookup: more is ignored
_LONGEST_IDENTITY = 255  # characters of a Keystone or member id or name
_MEMBER_STATUSES = frozenset({"pending", "accepted", "rejected"})


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _LONGEST_IDENTITY


def members_problem(members: Any) -> str | None:
    """What is wrong with Glance's list of an image's members, if anything."""
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        return f"members is not a list of at most {MAX_MEMBERS}"
    for member in members:
        if not isinstance(member, dict) or not _short_text(member.get("member_id")):
            return "a member without a valid member_id"
        if member.get("status") not in _MEMBER_STATUSES:
            return "a member without a valid status"
    return None


def identity_record(record: Any) -> dict[str, str] | None:
    """A Keystone project or domain record as its id, name and domain_id (where it has one),
    or None if it has no valid id and name."""
    if not isinstance(record, dict) or not all(_short_text(record.get(k)) for k in ("id", "name")):
        return None
    return {key: record[key] for key in ("id", "name", "domain_id") if _short_text(record.get(key))}
