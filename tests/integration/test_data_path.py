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

from glancesync.image import UPLOAD_MARKER

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
    cache.mkdir(parents=True, exist_ok=True)
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


# --- under --parallel: the process reading the master gives up, its followers upload again

MASTER_READ = r"^GET \S+/file "  # the request line of a master download
HANDOFF_TIMEOUT = 5  # api_timeout (s): the reader's stalled master read gives up after it


def stall_master_reads(proxy: FaultProxy, times: int | None) -> None:
    """The first `times` master downloads (None: every one) stall halfway: their readers give
    up on api_timeout, after the followers (--parallel) have started on the cache file."""
    proxy.set_fault("stall", after_bytes=SIZE // 2, only=MASTER_READ, times=times)


def run_in_parallel(cloud: Cloud, master_region: str, tmp_path: Path):
    """A --parallel run of REGIONS (streamed: every region follows one master read)."""
    timeout = f"api_timeout={HANDOFF_TIMEOUT}"
    return run(cloud, master_region, REGIONS, tmp_path, "server_side_copy=never", timeout,
               parallel=True)  # fmt: skip


def region_logs(tmp_path: Path) -> list[str]:
    """The texts of the per-region logs (--parallel) of the runs under tmp_path."""
    return [log.read_text() for log in sorted((tmp_path / "runs").glob("*/*.log"))]


def assert_no_traceback(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """No log record of the run (the parent's, or the children's in their logs) carries a
    traceback, and none escaped (the run returned)."""
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
    assert not [text for text in region_logs(tmp_path) if "Traceback" in text]


def copies(cloud: Cloud) -> dict[str, list[dict]]:
    """Every image of each of REGIONS."""
    return {name: cloud.records(name.removeprefix("other:")) for name in REGIONS}


def is_verified_copy(record: dict, image: dict) -> bool:
    """An active copy with the master's content, its upload finished (UPLOAD_MARKER gone)."""
    content = ("status", "checksum", "os_hash_value", "size")
    return UPLOAD_MARKER not in record and all(record[key] == image[key] for key in content)


def test_followers_of_a_master_read_that_gave_up_upload_again_and_the_next_run_catches_up(
    cloud, master, tmp_path, caplog
):
    proxy, region = master
    image = put_master(cloud)
    stall_master_reads(proxy, times=1)

    outcome = run_in_parallel(cloud, region, tmp_path)

    # the reader's region fails, in one line; its followers upload again from a new reader
    assert outcome.exit_status == 1
    [reader] = [name for name in REGIONS if any("FAILED" in line for line in outcome.of(name))]
    assert failure(outcome, reader) == (
        f"{reader}: FAILED image {NAME}: upload failed: region {region}: "
        f"download image failed: no answer within api_timeout ({HANDOFF_TIMEOUT} s)"
    )
    followed = [text for text in region_logs(tmp_path) if "; uploading again" in text]
    assert len(followed) == len(REGIONS) - 1
    assert all("stopped unverified (after " in text for text in followed)
    assert len(data_reads(proxy)) == 2  # the read that gave up, and the new reader's
    # no usable-looking partial copy anywhere: a verified copy, or nothing
    held = copies(cloud)
    assert held.pop(reader) == []
    for records in held.values():
        assert [is_verified_copy(record, image) for record in records] == [True]
    assert_no_traceback(caplog, tmp_path)

    proxy.set_fault()
    proxy.reset_counts()
    again = run_in_parallel(cloud, region, tmp_path / "next")

    assert again.exit_status == 0, again.lines
    assert len(data_reads(proxy)) == 1  # for the reader's region only
    for records in copies(cloud).values():
        assert [is_verified_copy(record, image) for record in records] == [True]


def test_a_second_master_read_that_gives_up_fails_every_region_cleanly(
    cloud, master, tmp_path, caplog
):
    proxy, region = master
    put_master(cloud)
    stall_master_reads(proxy, times=None)

    outcome = run_in_parallel(cloud, region, tmp_path)

    # both readers on api_timeout; the region that followed both, on its second lost hand-off
    assert outcome.exit_status == 1
    causes = [failure(outcome, name).split(": upload failed: ")[1] for name in REGIONS]
    timeout = f"download image failed: no answer within api_timeout ({HANDOFF_TIMEOUT} s)"
    assert sorted(cause.split(" (after ")[0] for cause in causes) == [
        f"region {region}: {timeout}",
        f"region {region}: {timeout}",
        "the process reading the master for this image stopped unverified",
    ]
    assert copies(cloud) == {name: [] for name in REGIONS}
    assert len(data_reads(proxy)) == 2  # the first reader, and the one its followers followed
    assert_no_traceback(caplog, tmp_path)


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


def test_the_proxy_damages_only_the_answers_to_the_requests_it_is_told_to(upstream):
    port, body = upstream
    with FaultProxy(port) as proxy, requests.Session() as session:
        proxy.set_fault("cut", after_bytes=len(body) // 2, only=r"^GET /x ", times=1)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            get(session, proxy)
        assert session.get(f"{proxy.url}/y", timeout=2).content == body  # not told to
        assert get(session, proxy) == body  # its one time used


def test_the_proxy_drops_a_request_it_is_told_to_and_forwards_the_others(upstream):
    port, body = upstream
    with FaultProxy(port) as proxy, requests.Session() as session:
        proxy.set_fault("drop", only=r"^GET /x ")
        assert session.get(f"{proxy.url}/y", timeout=2).content == body
        with pytest.raises(requests.ConnectionError):
            get(session, proxy)
        assert session.get(f"{proxy.url}/y", timeout=2).content == body
