"""The data path on the local cloud: one master read per image per run, and broken streams caught.

The master's Glance is reached through a FaultProxy (tests/faultproxy.py) registered in the
master Keystone as region MadridProxy, which glancesync then uses as its master region: the
proxy counts the master's bytes and can corrupt or cut them. Nothing is mocked. The last tests
check the proxy itself against a small HTTP server of their own.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from faultproxy import FaultProxy, proxied_region
from glance_helpers import Cloud, md5, payload, sync

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
SIZE = 8 * MiB
JSON_ALLOWANCE = 64 * 1024  # listings, version documents and headers beside the image bytes
REGIONS = ["Lisbon", "Paris", "other:Berlin"]
NAME = "centos7"


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


@pytest.fixture
def master(clean_cloud) -> Iterator[tuple[FaultProxy, str]]:
    """(the proxy in front of Madrid's Glance, the name of the region that reaches it)."""
    port = clean_cloud.target("master")["regions"]["Madrid"]["port"]
    with (
        FaultProxy(port) as proxy,
        proxied_region(clean_cloud, "master", "Madrid", proxy) as region,
    ):
        yield proxy, region


def run(
    cloud: Cloud,
    master_region: str,
    regions: list[str],
    tmp_path: Path,
    *overrides: str,
    parallel: bool = False,
):
    """glancesync in-process, its cache under tmp_path/cache (which must be empty after)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    outcome = sync(
        cloud.local_cloud,
        regions,
        f"main.master_region={master_region}",
        f"main.cache_dir={cache}",
        *overrides,
        parallel=parallel,
        run_dir=tmp_path / "runs",
    )
    assert list(cache.iterdir()) == [], "the run left its cache behind"
    return outcome


def data_reads(proxy: FaultProxy) -> list[str]:
    return [line for line in proxy.requests if line.startswith("GET ") and "/file " in line]


def put_master(cloud: Cloud) -> dict:
    return cloud.put("Madrid", NAME, payload(NAME, SIZE))


def failure(outcome, region: str) -> str:
    """The region's one FAILED line."""
    [line] = [line for line in outcome.of(region) if "FAILED" in line]
    return line


@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_one_master_read_for_several_regions(cloud, master, tmp_path, parallel):
    proxy, region = master
    image = put_master(cloud)

    # streamed to Paris too: one master read for the regions' streams
    outcome = run(cloud, region, REGIONS, tmp_path, "server_side_copy=never", parallel=parallel)

    assert outcome.exit_status == 0, outcome.lines
    for name in REGIONS:
        copy = cloud.only(name.removeprefix("other:"), NAME)
        assert (copy["status"], copy["checksum"]) == ("active", image["checksum"])
        assert copy["os_hash_value"] == image["os_hash_value"]
    assert len(data_reads(proxy)) == 1
    assert SIZE <= proxy.bytes_down <= SIZE + JSON_ALLOWANCE


def test_a_region_that_receives_nothing_reads_nothing_from_the_master(cloud, master, tmp_path):
    proxy, region = master
    put_master(cloud)
    for name in ("Lisbon", "Paris"):
        cloud.put(name, NAME, payload(NAME, SIZE))

    outcome = run(cloud, region, ["Lisbon", "Paris"], tmp_path)

    assert outcome.exit_status == 0, outcome.lines
    assert data_reads(proxy) == []
    assert proxy.bytes_down < JSON_ALLOWANCE


def test_a_corrupted_stream_is_caught_and_nothing_is_published(cloud, master, tmp_path):
    proxy, region = master
    put_master(cloud)
    old = {name: cloud.put(name, NAME, payload("old", SIZE)) for name in ("Lisbon", "Paris")}
    proxy.set_fault("corrupt", after_bytes=SIZE // 2)

    replace = f"replace={md5(payload('old', SIZE))}"
    outcome = run(cloud, region, ["Lisbon", "Paris"], tmp_path, replace)

    assert outcome.exit_status == 1
    for name in ("Lisbon", "Paris"):
        assert failure(outcome, name).startswith(f"{name}: FAILED image {NAME}: upload failed: md5")
        assert cloud.records(name) == [old[name]]


def test_a_stream_cut_short_is_caught_and_nothing_is_published(cloud, master, tmp_path):
    proxy, region = master
    put_master(cloud)
    proxy.set_fault("cut", after_bytes=SIZE // 2)

    outcome = run(cloud, region, ["Lisbon", "Paris"], tmp_path)

    assert outcome.exit_status == 1
    for name in ("Lisbon", "Paris"):
        assert failure(outcome, name).startswith(f"{name}: FAILED image {NAME}: upload failed")
        assert cloud.records(name) == []


# --- the proxy itself, against a small HTTP server of its own


@pytest.fixture
def upstream() -> Iterator[tuple[int, bytes]]:
    """(port, body) of an HTTP server on 127.0.0.1 that answers every GET with `body`."""
    body = payload("upstream", 256 * 1024)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], body
    server.shutdown()
    server.server_close()
    thread.join()


def get(session: requests.Session, proxy: FaultProxy) -> bytes:
    """GET /x through the proxy (a session keeps its connection); the body."""
    return session.get(f"{proxy.url}/x", timeout=2).content


def test_the_proxy_counts_what_it_forwards(upstream):
    port, body = upstream
    with FaultProxy(port) as proxy, requests.Session() as session:
        assert [get(session, proxy), get(session, proxy)] == [body, body]  # one connection
    assert proxy.requests == ["GET /x HTTP/1.1"] * 2
    assert 2 * len(body) < proxy.bytes_down < 2 * len(body) + 1024


def test_the_proxy_corrupts_one_byte_of_each_answer(upstream):
    port, body = upstream
    with FaultProxy(port) as proxy, requests.Session() as session:
        proxy.set_fault("corrupt", after_bytes=len(body) // 2)
        for _ in range(2):
            received = get(session, proxy)
            assert sum(a != b for a, b in zip(received, body, strict=True)) == 1


@pytest.mark.parametrize(
    ("mode", "error"),
    [("cut", requests.exceptions.ChunkedEncodingError), ("stall", requests.ConnectionError)],
)
def test_the_proxy_cuts_or_stalls_an_answer_after_some_bytes(upstream, mode, error):
    port, body = upstream
    with FaultProxy(port) as proxy, requests.Session() as session:
        proxy.set_fault(mode, after_bytes=len(body) // 2)
        with pytest.raises(error):
            get(session, proxy)
        assert proxy.bytes_down == len(body) // 2
