"""A TCP proxy on 127.0.0.1 that counts and breaks what a server sends: for tests and benchmarks.

`FaultProxy(upstream_port)` forwards every connection to 127.0.0.1:upstream_port, in background
threads. It counts the bytes sent back to the clients (`bytes_down`: with the proxy in front of
the master's Glance, the master bytes read), notes the request lines it sees (`requests`, best
effort) and, after `set_fault`, damages the server's answers. A fault applies to every answer
(or, with `only`, to the answers of the requests whose request line matches that regular
expression; with `times`, to that many of them, then they pass), its bytes counted from its
first one (status line and headers included; an answer begins when its request line is seen,
as HTTP clients do not pipeline, and its fault is chosen then):

- `pass`: forward everything;
- `corrupt`: flip byte number `after_bytes` (one byte per answer);
- `stall`: forward `after_bytes` bytes, then nothing more, keeping both sockets open;
- `cut`: forward `after_bytes` bytes, then close both sockets;
- `drop`: do not forward the request: close both sockets when its request line is seen (the
  server never sees it, the client gets no answer).

`proxied_region(cloud, target, region, proxy)` registers, in the Keystone of `target`, a region
`<region>Proxy` whose image endpoints (public, internal, admin) are the proxy's URL: a tool run
against that region name goes through the proxy, seeing nothing but a catalog.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

MODES = ("pass", "corrupt", "stall", "cut", "drop")
PASS = ("pass", 0)
_BUFFER = 256 * 1024
_REQUEST_LINE = re.compile(
    rb"(?:^|(?<=\r\n))((?:GET|HEAD|POST|PUT|PATCH|DELETE) \S+ HTTP/1\.[01])\r\n"
)
_CARRY = 4096  # bytes of a line kept to find a request line split between two reads
_REQUEST_START = re.compile(rb"(?:GET|HEAD|POST|PUT|PATCH|DELETE) ")


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FaultProxy:
    """A counting, fault-injecting TCP proxy in front of 127.0.0.1:upstream_port."""

    def __init__(self, upstream_port: int, port: int = 0):
        """A proxy on `port` (0: any free port)."""
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.bytes_down = 0
        self.requests: list[str] = []
        self._mode, self._after = PASS
        self._only: re.Pattern[str] = re.compile("")
        self._times: int | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    def set_fault(
        self, mode: str = "pass", after_bytes: int = 0, only: str = "", times: int | None = None
    ) -> None:
        """Damage the answers begun from now on (see the module's text): those of the requests
        whose request line matches `only`, at most `times` of them (None: no limit)."""
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}: one of {', '.join(MODES)}")
        with self._lock:
            self._mode, self._after = mode, after_bytes
            self._only, self._times = re.compile(only), times

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_down = 0
            self.requests.clear()

    def start(self) -> FaultProxy:
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        """Close the listener and every connection; wait (briefly) for the threads."""
        self._stopped.set()
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _spawn(self, target, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            faults: list[tuple[str, int]] = []  # of the requests seen on this connection
            self._spawn(self._pump_up, client, upstream, faults)
            self._spawn(self._pump_down, upstream, client, faults)

    def _pump_up(
        self, client: socket.socket, upstream: socket.socket, faults: list[tuple[str, int]]
    ) -> None:
        """Client to server, as it is (up to a dropped request); request lines noted, and the
        fault of each one's answer chosen."""
        carry = b""
        try:
            while data := client.recv(_BUFFER):
                carry, lines = self._note_requests(carry, data)
                chosen = [self._fault_for(line) for line in lines]
                if any(mode == "drop" for mode, _ in chosen):
                    break
                faults.extend(chosen)
                upstream.sendall(data)
        except OSError:
            pass
        self._end(client, upstream)

    def _fault_for(self, request_line: str) -> tuple[str, int]:
        """(mode, after_bytes) of the answer to `request_line`: the fault in force if it
        applies to that request (one of its `times` used), else `pass`."""
        with self._lock:
            if self._mode == "pass" or self._times == 0 or not self._only.search(request_line):
                return PASS
            if self._times is not None:
                self._times -= 1
            return self._mode, self._after

    def _pump_down(
        self, upstream: socket.socket, client: socket.socket, faults: list[tuple[str, int]]
    ) -> None:
        """Server to client, counted, with each answer's fault applied to it."""
        answer = sent = 0
        flipped = False
        mode, after = PASS
        try:
            while data := upstream.recv(_BUFFER):
                if len(faults) != answer:  # a new answer: its bytes are counted afresh
                    answer, sent, flipped = len(faults), 0, False
                    mode, after = faults[-1]
                if mode in ("stall", "cut"):
                    data = data[: max(after - sent, 0)]
                elif mode == "corrupt" and not flipped and sent <= after < sent + len(data):
                    index = after - sent
                    data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
                    flipped = True
                if data:
                    client.sendall(data)
                    sent += len(data)
                    with self._lock:
                        self.bytes_down += len(data)
                if mode == "cut" and sent >= after:
                    break
                if mode == "stall" and sent >= after:
                    _hold(client, self._stopped)
                    break
        except OSError:
            pass
        self._end(upstream, client)

    def _note_requests(self, carry: bytes, data: bytes) -> tuple[bytes, list[str]]:
        """Note the complete request lines in `carry + data` (a read that begins with a request
        line ends what came before: the body of the previous request); return what may begin
        the next one, and those lines."""
        data = data if _REQUEST_START.match(data) else carry + data
        lines = [match.group(1).decode("latin-1") for match in _REQUEST_LINE.finditer(data)]
        if lines:
            with self._lock:
                self.requests.extend(lines)
        end = data.rfind(b"\r\n")
        return (data if end < 0 else data[end + 2 :])[-_CARRY:], lines

    def _end(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.difference_update(sockets)
        for sock in sockets:
            _close(sock)


def _hold(sock: socket.socket, stopped: threading.Event) -> None:
    """Wait while `sock` is open (the client gives up) and the proxy runs."""
    while sock.fileno() != -1 and not stopped.wait(0.1):
        pass


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def proxied_region(
    cloud: Any, target: str, region: str, proxy: FaultProxy, name: str | None = None
) -> Iterator[str]:
    """Region `name` (default `<region>Proxy`) in the Keystone of `target`, its image endpoints
    at `proxy.url`, registered as the target's admin for the block (and any leftover of an
    earlier one removed first). `cloud` is the `local_cloud` fixture
    (tests/integration/conftest.py)."""
    from keystoneclient.v3 import client as keystone_client

    session = cloud.session(cloud.target(target)["admin"]["name"])
    keystone = keystone_client.Client(session=session)
    name = name or f"{region}Proxy"
    _unregister(keystone, name)
    service = keystone.services.list(type="image")[0]
    keystone.regions.create(id=name)
    try:
        for interface in ("public", "internal", "admin"):
            keystone.endpoints.create(service, proxy.url, interface=interface, region=name)
        yield name
    finally:
        _unregister(keystone, name)


def _unregister(keystone: Any, region: str) -> None:
    """Remove the region and its endpoints, if they exist."""
    for endpoint in keystone.endpoints.list(region=region):
        keystone.endpoints.delete(endpoint)
    if any(known.id == region for known in keystone.regions.list()):
        keystone.regions.delete(region)
