"""A hostile Keystone v3 + Glance v2 on 127.0.0.1: a real HTTP server that misbehaves on demand.

One `HostileCloud` is one target's Keystone (at `auth_url`, `.../v3`) and the Glance of each of
its regions (at `glance_url(region)`, on the same port), in background threads. A second
server, its `listener`, stands for "another address": it answers nothing useful and records
every request, so a test can prove that no credential ever reached it (`listener.leaks()`).

    with HostileCloud(keystone=Keystone.NORMAL) as cloud:
        cloud.add_region("Good")                                  # a well-behaved Glance
        cloud.add_region("Bad", Glance.ENDLESS_NEXT, images=[...])
        # or a region of the local cloud's own Keystone, served here (tests/faultproxy.py):
        with proxied_region(local_cloud, "master", "Hostile", cloud.region("Bad")) as name: …
        overrides = cloud.overrides("evil")   # --config evil.user=… evil.password=… …
        # glancesync Lisbon evil:Bad --config *overrides

The Keystone accepts the one account `user`/`password` of project `project`, issues a fresh
token each time (`tokens`), serves a catalog whose image endpoints are its regions (catalog
order, any names: `../../../x/escaped` is fine) and plays `keystone` (a `Keystone` value):

- NORMAL: as Keystone does;
- REDIRECT: 307 to the listener (a client that follows re-POSTs the password there);
- HUGE: a token answer of `huge_size` bytes (200 MB, say), streamed with its length;
- ENDLESS: a chunked token answer that never ends (a blank chunk every `drip_interval` s);
- DRIP: a token answer sent one byte every `drip_interval` seconds;
- DEEP: a token answer nested `deep_levels` deep;
- BAD_CATALOG: a token whose catalog is not a list of services;
- ECHO: 400 whose message echoes the password received, with a raw ESC.

Each region (`add_region(name, behaviour, images=…, files=…)`) plays a `Glance` value:

- NORMAL: lists `images` (any JSON values: malformed records are served as given) in pages of
  `page_size` with Glance's relative `next` links, serves `files[id]` as the image's bytes,
  and takes create, upload, patch and delete as Glance does (in memory);
- ENDLESS_NEXT: every listing page has a `next` link to itself;
- ENDLESS_NEW: every listing page holds `page_size` new images and a `next` to more;
- REDIRECT: 302 to the same path on the listener, for every request;
- NEXT_ELSEWHERE: the first page's `next` is an absolute link to the listener;
- HUGE: a listing page of `huge_size` bytes (450 MB), streamed in chunks (no length told);
- SWARM: a listing page of SWARM_SIZE bytes (under any size cap) of ten million empty arrays;
- DRIP: a listing page (and an image's bytes, and the answer to an upload, once it has the
  bytes) sent one byte every `drip_interval` seconds;
- DEEP: a listing page nested `deep_levels` deep;
- ECHO: 400 whose message echoes the token received, with a raw ESC and a carriage return.

`image_record(name, data=b"", **fields)` makes a well-formed active record (a new id, the
checksums of `data`) to put in `images` (with `files={record["id"]: data}`), any field
overridden: `image_record("\x1b[2Jx", id="../../x/cachepwn")`. A `Region`'s `url` is its
image endpoint.

What it saw: `passwords` (received by its Keystone), `tokens_seen` (X-Auth-Token received by
its Glance), `requests` (request lines). Stop it with `stop()` (or leave the `with` block):
every connection is closed, dripping and endless answers included.
"""

from __future__ import annotations

import enum
import hashlib
import http.server
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

MB = 1000 * 1000
SWARM_SIZE = 30 * MB
ESC = "\x1b"


class Keystone(enum.Enum):
    NORMAL = "normal"
    REDIRECT = "redirect"
    HUGE = "huge"
    ENDLESS = "endless"
    DRIP = "drip"
    DEEP = "deep"
    BAD_CATALOG = "bad-catalog"
    ECHO = "echo"


class Glance(enum.Enum):
    NORMAL = "normal"
    ENDLESS_NEXT = "endless-next"
    ENDLESS_NEW = "endless-new"
    REDIRECT = "redirect"
    NEXT_ELSEWHERE = "next-elsewhere"
    HUGE = "huge"
    SWARM = "swarm"
    DRIP = "drip"
    DEEP = "deep"
    ECHO = "echo"


def image_record(name: str, data: bytes = b"", **fields: Any) -> dict[str, Any]:
    """A well-formed active Glance v2 record (new id) for `data`; `fields` override."""
    record = {
        "id": str(uuid.uuid4()),
        "name": name,
        "status": "active",
        "visibility": "public",
        "owner": None,
        "size": len(data),
        "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
        "disk_format": "raw",
        "container_format": "bare",
        "min_ram": 0,
        "min_disk": 0,
        "protected": False,
        "tags": [],
    }
    return {**record, **fields}


@dataclass
class Region:
    """One region's Glance: what it serves and how it behaves."""

    name: str
    behaviour: Glance = Glance.NORMAL
    images: list[Any] = field(default_factory=list)  # any JSON values, served as given
    files: dict[str, bytes] = field(default_factory=dict)
    page_size: int = 1000
    index: int = 0
    url: str = ""  # its image endpoint


class Listener:
    """Another address: answers 404 to everything and records each request's credentials."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []  # method, path, token, body
        listener = self

        class Handler(_Quiet):
            def _record(self) -> None:
                body = self._body().decode("utf-8", "replace")
                listener.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "token": self.headers.get("X-Auth-Token") or "",
                        "authorization": self.headers.get("Authorization") or "",
                        "body": body,
                    }
                )
                self._send(404, {"error": {"message": "nothing here"}})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record  # noqa: N815

        self._server = _Server(Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def leaks(self, *secrets: str) -> list[str]:
        """Requests that carried a token, an Authorization header, or one of `secrets`."""
        return [
            f"{r['method']} {r['path']}"
            for r in self.requests
            if r["token"] or r["authorization"] or any(s and s in r["body"] for s in secrets)
        ]

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


class HostileCloud:
    """A Keystone and the Glance of its regions on one port, plus a `listener` elsewhere."""

    user = "evil-user"
    password = "evil-password-Z9"
    project = "evil-project"
    project_id = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"

    def __init__(
        self,
        keystone: Keystone = Keystone.NORMAL,
        *,
        huge_size: int = 450 * MB,
        drip_interval: float = 3.0,
        deep_levels: int = 100_000,
    ) -> None:
        self.keystone = keystone
        self.huge_size = huge_size
        self.drip_interval = drip_interval
        self.deep_levels = deep_levels
        self.regions: list[Region] = []
        self.tokens: list[str] = []
        self.passwords: list[str] = []
        self.tokens_seen: list[str] = []
        self.requests: list[str] = []
        self.listener = Listener()
        self._server = _Server(_handler_for(self))
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = f"{self.url}/v3"

    # --- arranging

    def add_region(
        self,
        name: str,
        behaviour: Glance = Glance.NORMAL,
        *,
        images: list[Any] | None = None,
        files: dict[str, bytes] | None = None,
        page_size: int = 1000,
    ) -> Region:
        region = Region(name, behaviour, list(images or []), dict(files or {}), page_size)
        region.index = len(self.regions)
        region.url = f"{self.url}/glance/{region.index}"
        self.regions.append(region)
        return region

    def glance_url(self, region: str | Region) -> str:
        """The image endpoint of a region (as its catalog has it)."""
        return (region if isinstance(region, Region) else self.region(region)).url

    def region(self, name: str) -> Region:
        return next(region for region in self.regions if region.name == name)

    def overrides(self, target: str) -> list[str]:
        """--config overrides that make `target` this cloud's Keystone and account."""
        return [
            f"{target}.auth_url={self.auth_url}",
            f"{target}.user={self.user}",
            f"{target}.password={self.password}",
            f"{target}.project={self.project}",
        ]

    def secrets(self) -> list[str]:
        """Its password and every token it issued."""
        return [self.password, *self.tokens]

    # --- life

    def start(self) -> HostileCloud:
        self.listener.start()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.listener.stop()

    def __enter__(self) -> HostileCloud:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def stopped(self) -> threading.Event:
        return self._server.stopped

    # --- Keystone answers

    def token_body(self) -> dict[str, Any]:
        catalog: Any = [
            {
                "type": "image",
                "name": "glance",
                "id": "1mage",
                "endpoints": [
                    {
                        "id": f"endpoint-{region.index}-{interface}",
                        "interface": interface,
                        "region": region.name,
                        "region_id": region.name,
                        "url": self.glance_url(region),
                    }
                    for region in self.regions
                    for interface in ("public", "internal", "admin")
                ],
            }
        ]
        if self.keystone is Keystone.BAD_CATALOG:
            catalog = {"image": "not a list of services"}
        return {
            "token": {
                "methods": ["password"],
                "expires_at": "2099-01-01T00:00:00.000000Z",
                "issued_at": "2026-01-01T00:00:00.000000Z",
                "user": {"id": "u1", "name": self.user, "domain": {"id": "default"}},
                "project": {
                    "id": self.project_id,
                    "name": self.project,
                    "domain": {"id": "default", "name": "Default"},
                },
                "roles": [{"id": "r1", "name": "admin"}],
                "catalog": catalog,
            }
        }


class _Server(http.server.ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 whose stop() also ends the answers in flight."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.stopped = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
        self._thread.join(timeout=10)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        """The request's body, sent with a Content-Length or chunked."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _handler_for(cloud: HostileCloud) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(_Quiet):
        def _dispatch(self) -> None:
            cloud.requests.append(self.requestline)
            body = self._body()
            path = urlsplit(self.path).path
            try:
                if path.startswith("/v3"):
                    self._keystone(path, body)
                elif path.startswith("/glance/"):
                    index, _, rest = path.removeprefix("/glance/").partition("/")
                    self._glance(cloud.regions[int(index)], "/" + rest, body)
                else:
                    self._send(404, {"error": {"message": "not found"}})
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815

        # --- Keystone

        def _keystone(self, path: str, body: bytes) -> None:
            if path.rstrip("/") != "/v3/auth/tokens" or self.command != "POST":
                self._send(404, {"error": {"message": "not found"}})
                return
            password = _password_in(body)
            cloud.passwords.append(password)
            behaviour = cloud.keystone
            if behaviour is Keystone.REDIRECT:
                self._redirect(307, f"{cloud.listener.url}/v3/auth/tokens")
            elif behaviour is Keystone.ECHO:
                message = f"wrong password {password!r} {ESC}[31m for {cloud.user}"
                self._send(400, {"error": {"code": 400, "message": message}})
            elif password != cloud.password:
                self._send(401, {"error": {"code": 401, "message": "The request you have made "
                                           "requires authentication."}})  # fmt: skip
            elif behaviour is Keystone.HUGE:
                self._stream_padded(cloud.token_body(), cloud.huge_size, 201, self._token())
            elif behaviour is Keystone.ENDLESS:
                self._endless(201, self._token())
            elif behaviour is Keystone.DRIP:
                self._drip(json.dumps(cloud.token_body()).encode(), 201, self._token())
            elif behaviour is Keystone.DEEP:
                self._send(201, _deep(cloud.deep_levels), self._token())
            else:
                self._send(201, cloud.token_body(), self._token())

        def _token(self) -> dict[str, str]:
            token = f"hostile-token-{uuid.uuid4().hex}"
            cloud.tokens.append(token)
            return {"X-Subject-Token": token}

        # --- Glance

        def _glance(self, region: Region, path: str, body: bytes) -> None:
            token = self.headers.get("X-Auth-Token") or ""
            cloud.tokens_seen.append(token)
            behaviour = region.behaviour
            if behaviour is Glance.REDIRECT:
                self._redirect(302, f"{cloud.listener.url}{self.path}")
            elif behaviour is Glance.ECHO:
                message = f"token {token} refused{ESC}[2J\rforged line"
                self._send(400, {"badRequest": {"code": 400, "message": message}})
            elif path == "/v2/images" and self.command == "GET":
                self._list(region)
            elif path == "/v2/images" and self.command == "POST":
                record = {**image_record(""), **json.loads(body or b"{}")}
                record.update(status="queued", size=None, checksum=None, os_hash_value=None)
                region.images.append(record)
                self._send(201, record)
            else:
                self._image(region, path, body)

        def _list(self, region: Region) -> None:
            behaviour = region.behaviour
            query = parse_qs(urlsplit(self.path).query)
            if behaviour is Glance.HUGE:
                self._stream_padded({"images": []}, cloud.huge_size, 200, {}, chunked=True)
                return
            if behaviour is Glance.DRIP:
                self._drip(json.dumps({"images": region.images}).encode(), 200, {})
                return
            if behaviour is Glance.SWARM:
                self._swarm()
                return
            if behaviour is Glance.DEEP:
                self._send(200, _deep(cloud.deep_levels, {"images": []}))
                return
            if behaviour is Glance.ENDLESS_NEW:
                images = [image_record(f"spawn-{uuid.uuid4().hex[:8]}")
                          for _ in range(region.page_size)]  # fmt: skip
                self._send(200, {"images": images, "next": f"/v2/images?marker={images[-1]['id']}"})
                return
            start = int(query.get("marker_index", ["0"])[0])
            page = region.images[start : start + region.page_size]
            answer: dict[str, Any] = {"images": page}
            if behaviour is Glance.ENDLESS_NEXT:
                answer["next"] = self.path.removeprefix(f"/glance/{region.index}")
            elif behaviour is Glance.NEXT_ELSEWHERE:
                answer["next"] = f"{cloud.listener.url}/v2/images?marker_index=1"
            elif start + region.page_size < len(region.images):
                answer["next"] = f"/v2/images?marker_index={start + region.page_size}"
            self._send(200, answer)

        def _image(self, region: Region, path: str, body: bytes) -> None:
            behaviour = region.behaviour
            parts = [unquote(part) for part in path.strip("/").split("/")]
            if len(parts) < 3 or parts[:2] != ["v2", "images"]:
                self._send(404, {"error": {"message": "not found"}})
                return
            image_id = parts[2]
            record = next((r for r in region.images
                           if isinstance(r, dict) and r.get("id") == image_id), None)  # fmt: skip
            if record is None:
                self._send(404, {"error": {"message": f"no image {quote(image_id)}"}})
            elif parts[3:] == ["file"] and self.command == "GET" and behaviour is Glance.DRIP:
                self._drip(region.files.get(image_id, b""), 200, {})
            elif parts[3:] == ["file"] and self.command == "GET":
                data = region.files.get(image_id, b"")
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif parts[3:] == ["file"] and self.command == "PUT":
                region.files[image_id] = body
                record.update(
                    {
                        key: value
                        for key, value in image_record("", body).items()
                        if key in ("size", "checksum", "os_hash_value")
                    },  # fmt: skip
                    status="active",
                )
                if behaviour is Glance.DRIP:
                    self._drip(b'{"message": "stored, slowly"}', 200, {})
                    return
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.command == "PATCH":
                for operation in json.loads(body or b"[]"):
                    key = operation["path"].lstrip("/")
                    if operation["op"] == "remove":
                        record.pop(key, None)
                    else:
                        record[key] = operation["value"]
                self._send(200, record)
            elif self.command == "DELETE":
                region.images.remove(record)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(200, record)

        # --- misbehaviours shared by both

        def _redirect(self, status: int, location: str) -> None:
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _stream_padded(
            self,
            body: dict[str, Any],
            size: int,
            status: int,
            headers: dict[str, str],
            chunked: bool = False,
        ) -> None:
            """`body` then blanks, `size` bytes in all, in 1 MiB writes (never built whole):
            with its Content-Length, or `chunked` (the client learns the size by reading)."""
            head = json.dumps(body).encode()[:-1] + b', "pad": "'
            tail = b'"}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            write = _chunk_writer(self.wfile) if chunked else self.wfile.write
            write(head)
            left = size - len(head) - len(tail)
            block = b" " * (1 << 20)
            while left > 0 and not cloud.stopped.is_set():
                write(block[: min(left, len(block))])
                left -= len(block)
            write(tail)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        def _swarm(self) -> None:
            """A listing page of SWARM_SIZE bytes, mostly empty arrays, in 1 MiB writes."""
            head, tail, item = b'{"images": [], "swarm": [', b"[]]}", b"[],"
            count = (SWARM_SIZE - len(head) - len(tail)) // len(item)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(head) + count * len(item) + len(tail)))
            self.end_headers()
            self.wfile.write(head)
            per_write = (1 << 20) // len(item)
            while count > 0 and not cloud.stopped.is_set():
                self.wfile.write(item * min(count, per_write))
                count -= per_write
            self.wfile.write(tail)

        def _drip(self, data: bytes, status: int, headers: dict[str, str]) -> None:
            """`data` after its headers, one byte every drip_interval seconds."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for byte in _bytes(data):
                if cloud.stopped.wait(cloud.drip_interval):
                    return
                self.wfile.write(byte)
                self.wfile.flush()

        def _endless(self, status: int, headers: dict[str, str]) -> None:
            """A chunked answer whose chunks never stop coming."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"1\r\n{\r\n")
            while not cloud.stopped.wait(cloud.drip_interval):
                self.wfile.write(b"400\r\n" + b" " * 0x400 + b"\r\n")
                self.wfile.flush()

    return Handler


def _chunk_writer(wfile: Any) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    return write


def _password_in(body: bytes) -> str:
    try:
        return json.loads(body)["auth"]["identity"]["password"]["user"]["password"]
    except (ValueError, KeyError, TypeError):
        return ""


def _deep(levels: int, around: dict[str, Any] | None = None) -> bytes:
    """`around` (or an object) whose first key holds an array nested `levels` deep."""
    nested = b"[" * levels + b"]" * levels
    if around is None:
        return b'{"token": ' + nested + b"}"
    return json.dumps(around).encode()[:-1] + b', "deep": ' + nested + b"}"


def _bytes(data: bytes) -> Iterator[bytes]:
    for index in range(len(data)):
        yield data[index : index + 1]
