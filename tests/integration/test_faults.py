"""Faults injected for real on the local cloud: killed, stopped and restarted servers (by the
pids of cloud.json, whole process groups), a closed port, the TCP FaultProxy of tests/ that
stalls or cuts answers, and a small HTTP server that answers 503/429/500 like an overloaded
Glance. glancesync runs as a command (in-process, or as a child process to be interrupted),
and is judged by its exit status, its messages, and what Glance then holds.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from faultproxy import FaultProxy, closed_port, proxied_region
from glance_helpers import Cloud, KiB, cli, cli_arguments, md5, payload, settings

from glancesync.errors import BadRequest, RegionError
from glancesync.glance import Target
from glancesync.image import UPLOAD_MARKER, NewImage
from glancesync.planner import unfinished_uploads

pytestmark = pytest.mark.integration

MiB = 1024 * KiB
NAME = "base_image"
BIG = 128 * MiB
FAST_RETRIES = ("api_retries=1", "api_retry_delay=0.05")


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


# --- helpers: servers, runs


def server_pid(run_localcloud, name: str) -> int:
    """The current pid of a server of the local cloud (its process group leader)."""
    info = json.loads(run_localcloud("info").stdout)
    [pid] = [server["pid"] for server in info["servers"] if server["name"] == name]
    assert pid, f"{name} is not running"
    return pid


@contextmanager
def signalled(run_localcloud, name: str, signum: int) -> Iterator[None]:
    """The server's process group gets `signum` for the block; then it runs again (SIGCONT
    after SIGSTOP, a restart by `localcloud start` after anything else)."""
    pid = server_pid(run_localcloud, name)
    os.killpg(pid, signum)
    try:
        yield
    finally:
        if signum == signal.SIGSTOP:
            os.killpg(pid, signal.SIGCONT)
        else:
            wait_for(lambda: not _alive(pid), "the server to exit")
            run_localcloud("start")


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 60, poll: float = 0.05
) -> Any:
    """Poll `condition` until it is true (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    pytest.fail(f"timed out waiting for {what}")


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("ERROR")]


def snapshot(cloud: Cloud) -> dict[str, list[dict]]:
    return {region: cloud.records(region) for region in cloud.regions}


def put_master(cloud: Cloud, name: str = NAME, size: int = 64 * KiB, **fields) -> dict:
    return cloud.put("Madrid", name, payload(name, size), **fields)


# --- a region down, stalled, or failing for a while


def test_a_region_whose_glance_is_killed_fails_alone(cloud, run_localcloud, tmp_path, capsys):
    image = put_master(cloud)
    with signalled(run_localcloud, "glance-paris", signal.SIGKILL):
        status, out, err = cli(
            cloud.local_cloud, tmp_path, capsys, "Lisbon", "Paris", "other:Berlin", *FAST_RETRIES
        )
    assert status == 1
    assert errors(err) == [
        f"ERROR: region Paris: list images failed: connection refused "
        f"({cloud.region_info('Paris')['url']})"
    ]
    assert any("region Paris: list images: connection refused" in line and "retry 1 of 1" in line
               for line in err)  # fmt: skip
    for region in ("Lisbon", "Berlin"):
        assert cloud.only(region, NAME)["checksum"] == image["checksum"]
    assert cloud.records("Paris") == []


def test_a_region_whose_endpoint_closes_connections_fails_alone(cloud, tmp_path, capsys):
    put_master(cloud)
    proxy = FaultProxy(closed_port())  # nothing behind it: every connection is closed at once
    with proxy, proxied_region(cloud.local_cloud, "master", "Paris", proxy) as broken:
        status, _, err = cli(cloud.local_cloud, tmp_path, capsys, broken, "Lisbon", *FAST_RETRIES)
    assert status == 1
    [error] = errors(err)
    assert error.startswith(f"ERROR: region {broken}: list images failed: connection closed")
    assert cloud.only("Lisbon", NAME)["status"] == "active"


def test_a_stalled_glance_hits_api_timeout(cloud, run_localcloud, tmp_path, capsys):
    put_master(cloud)
    started = time.monotonic()
    with signalled(run_localcloud, "glance-paris", signal.SIGSTOP):
        status, _, err = cli(
            cloud.local_cloud, tmp_path, capsys, "Paris", "Lisbon", "api_timeout=1", *FAST_RETRIES
        )
    assert time.monotonic() - started < 15
    assert status == 1
    assert errors(err) == [
        "ERROR: region Paris: list images failed: no answer within api_timeout (1 s) "
        f"({cloud.region_info('Paris')['url']})"
    ]
    assert cloud.only("Lisbon", NAME)["status"] == "active"


def test_a_stalled_master_download_hits_api_timeout_and_publishes_nothing(cloud, tmp_path, capsys):
    put_master(cloud, size=4 * MiB)
    port = cloud.region_info("Madrid")["port"]
    with (
        FaultProxy(port) as proxy,
        proxied_region(cloud.local_cloud, "master", "Madrid", proxy) as master,
    ):
        proxy.set_fault("stall", after_bytes=MiB)
        overrides = (f"main.master_region={master}", "api_timeout=2", *FAST_RETRIES)
        status, out, err = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon", *overrides)
    assert status == 1
    assert out[-1] == (
        f"Lisbon: FAILED image {NAME}: upload failed: region {master}: "
        "download image failed: no answer within api_timeout (2 s)"
    )
    assert cloud.records("Lisbon") == []


def test_idempotent_calls_are_retried_until_the_server_answers(
    cloud, run_localcloud, tmp_path, capsys
):
    put_master(cloud)
    pid = server_pid(run_localcloud, "glance-lisbon")
    os.killpg(pid, signal.SIGSTOP)
    timer = threading.Timer(2.5, os.killpg, (pid, signal.SIGCONT))
    timer.start()
    try:
        status, _, err = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon", "api_timeout=1",
                             "api_retries=4", "api_retry_delay=0.5")  # fmt: skip
    finally:
        timer.join()
        os.killpg(pid, signal.SIGCONT)
    assert status == 0, err
    assert any("region Lisbon: list images: no answer within api_timeout" in line for line in err)
    assert cloud.only("Lisbon", NAME)["status"] == "active"


def test_retries_are_bounded_per_call_and_by_the_runs_budget(cloud, tmp_path, capsys):
    proxy = FaultProxy(cloud.region_info("Lisbon")["port"])
    proxy.set_fault("cut")  # every answer cut before its first byte
    with proxy, proxied_region(cloud.local_cloud, "master", "Lisbon", proxy) as region:
        status, _, err = cli(cloud.local_cloud, tmp_path, capsys, region, "api_retries=3",
                             "api_retry_delay=0.05", "api_retry_budget=2")  # fmt: skip
        listings = [line for line in proxy.requests if line.startswith("GET /v2/images?")]
    assert status == 1
    assert len(listings) == 3  # the call and the 2 retries the budget allowed, not 3
    assert "WARNING: target master: retry budget spent: no more retries" in err
    [error] = errors(err)
    assert "list images failed: connection closed before the answer" in error


# --- an overloaded Glance: 503, 429, 500 (a small HTTP server registered as a region)


class Overloaded(http.server.ThreadingHTTPServer):
    """Answers the first `failures` requests with `status` (and Retry-After), then an empty
    image list to GET and 201 to POST; notes every request line."""

    def __init__(self, status: int, failures: int, retry_after: str | None = None):
        self.status, self.failures, self.retry_after = status, failures, retry_after
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _OverloadedHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> Overloaded:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)


class _OverloadedHandler(http.server.BaseHTTPRequestHandler):
    server: Overloaded

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(self.requestline)
        if len(self.server.requests) <= self.server.failures:
            status, body = self.server.status, {"error": {"message": "busy, try later"}}
        else:
            status, body = (200, {"images": []}) if self.command == "GET" else (201, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        if self.server.retry_after and status != 200:
            self.send_header("Retry-After", self.server.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's naming)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, "1"), (502, None)])
def test_overload_answers_of_listings_are_retried(local_cloud, status, retry_after) -> None:
    region = Target(settings(local_cloud, *FAST_RETRIES, "api_retries=2").targets["master"])
    with (
        Overloaded(status, 2, retry_after) as server,
        proxied_region(local_cloud, "master", "Overloaded", server) as name,
    ):
        started = time.monotonic()
        assert region.region(name).list_images() == []
    assert len(server.requests) == 4  # the listing, its 2 retries, then the hidden listing
    if retry_after:
        assert time.monotonic() - started >= 2  # Retry-After: 1 obeyed twice


def test_a_lasting_server_error_fails_the_call_after_the_retries(local_cloud) -> None:
    region = Target(settings(local_cloud, *FAST_RETRIES).targets["master"])
    with (
        Overloaded(500, 99) as server,
        proxied_region(local_cloud, "master", "Overloaded", server) as name,
    ):
        with pytest.raises(RegionError, match=r"list images failed: HTTP 500 .*busy, try later"):
            region.region(name).list_images()
    assert len(server.requests) == 2


def test_create_is_never_retried(local_cloud) -> None:
    region = Target(
        settings(local_cloud, "api_retries=3", "api_retry_delay=0.05").targets["master"]
    )
    new = NewImage(NAME, "private", "raw", "bare", 0, 0, False, (), {})
    with (
        Overloaded(503, 99) as server,
        proxied_region(local_cloud, "master", "Overloaded", server) as name,
    ):
        with pytest.raises(RegionError, match="create image failed: HTTP 503"):
            region.region(name).create_image(new)
    assert [line.split()[0] for line in server.requests] == ["POST"]


# --- the master target down


def test_master_glance_down_is_one_error_and_changes_nothing(
    cloud, run_localcloud, tmp_path, capsys
):
    put_master(cloud)
    with signalled(run_localcloud, "glance-madrid", signal.SIGKILL):
        before = {r: cloud.records(r) for r in ("Lisbon", "Paris", "Berlin")}
        status, out, err = cli(cloud.local_cloud, tmp_path, capsys, *FAST_RETRIES)
        after = {r: cloud.records(r) for r in ("Lisbon", "Paris", "Berlin")}
    assert status == 1 and out == []
    assert errors(err) == [
        "ERROR: region Madrid: list images failed: connection refused "
        f"({cloud.region_info('Madrid')['url']})"
    ]
    assert before == after


def test_master_keystone_down_is_one_error_and_changes_nothing(
    cloud, run_localcloud, tmp_path, capsys
):
    put_master(cloud)
    before = snapshot(cloud)
    with signalled(run_localcloud, "keystone-master", signal.SIGKILL):
        status, out, err = cli(cloud.local_cloud, tmp_path, capsys, *FAST_RETRIES)
    assert status == 1 and out == []
    auth_url = cloud.local_cloud.target("master")["auth_url"]
    assert errors(err) == [
        f"ERROR: target master (Keystone {auth_url}): cannot connect: connection refused "
        f"({auth_url.removesuffix('/v3')})"
    ]
    assert snapshot(cloud) == before


def test_an_unreachable_auth_url_exits_1_naming_the_target(cloud, tmp_path, capsys):
    url = f"http://127.0.0.1:{closed_port()}/v3"
    status, _, err = cli(cloud.local_cloud, tmp_path, capsys, "other:", f"other.auth_url={url}",
                         *FAST_RETRIES)  # fmt: skip
    assert status == 1
    assert errors(err) == [
        f"ERROR: target other (Keystone {url}): cannot connect: connection refused "
        f"({url.removesuffix('/v3')})"
    ]
    assert not any("Traceback" in line for line in err)


# --- an upload broken off: Glance killed, glancesync interrupted


@pytest.fixture
def stalled_master(cloud) -> Iterator[tuple[str, dict]]:
    """(master region name, master image) where the image's bytes stall after 1 MiB: an upload
    of it stays in flight until something breaks it."""
    image = put_master(cloud, size=8 * MiB)
    proxy = FaultProxy(cloud.region_info("Madrid")["port"])
    with proxy, proxied_region(cloud.local_cloud, "master", "Madrid", proxy) as name:
        proxy.set_fault("stall", after_bytes=MiB)
        yield name, image


def start_cli(local_cloud, tmp_path: Path, *arguments: str) -> subprocess.Popen:
    """glancesync as a child process (its own output files under tmp_path)."""
    return subprocess.Popen(
        [sys.executable, "-m", "glancesync.cli", *cli_arguments(local_cloud, tmp_path, *arguments)],
        stdout=(tmp_path / "out").open("w"),
        stderr=(tmp_path / "err").open("w"),
        env=local_cloud.cli_environment(),
        cwd=tmp_path,
    )


def saving(cloud: Cloud, region: str) -> dict | None:
    """The image being uploaded in the region, once Glance is receiving its bytes."""
    return next((r for r in cloud.named(region, NAME) if r["status"] == "saving"), None)


def test_glance_killed_during_an_upload_leaves_only_a_recognisable_leftover(
    cloud, run_localcloud, tmp_path
):
    put_master(cloud, size=BIG)  # big enough to be still flowing when Lisbon is killed
    run = start_cli(cloud.local_cloud, tmp_path, "Lisbon", *FAST_RETRIES)
    try:
        wait_for(lambda: saving(cloud, "Lisbon"), "the upload to begin", poll=0.01)
        with signalled(run_localcloud, "glance-lisbon", signal.SIGKILL):
            assert run.wait(timeout=60) == 1
    finally:
        run.kill()
    err = (tmp_path / "err").read_text()
    out = (tmp_path / "out").read_text()
    assert f"Lisbon: FAILED image {NAME}: upload failed: upload image failed: " in out
    assert "could not delete the failed upload" in err  # Glance was down: it is left
    [leftover] = cloud.named("Lisbon", NAME)
    assert leftover["status"] in ("queued", "saving")  # never active with part of the bytes
    assert f"pid {run.pid}" in leftover[UPLOAD_MARKER]
    master = Target(settings(cloud.local_cloud).targets["master"])
    regional_images = master.region("Lisbon").list_images()
    assert [i.id for i in unfinished_uploads(regional_images, master.project_id)] == [
        leftover["id"]
    ]


def test_a_run_killed_during_an_upload_leaves_only_a_recognisable_leftover(
    cloud, stalled_master, tmp_path
):
    master, _ = stalled_master
    run = start_cli(cloud.local_cloud, tmp_path, "Lisbon", f"main.master_region={master}")
    try:
        wait_for(lambda: saving(cloud, "Lisbon"), "the upload to begin")
        run.kill()  # SIGKILL: no cleanup of any kind
        assert run.wait(timeout=30) == -signal.SIGKILL
    finally:
        run.kill()
    [leftover] = wait_for(
        lambda: [r for r in cloud.named("Lisbon", NAME) if r["status"] != "saving"] or None,
        "Glance to notice the broken upload",
    )
    assert leftover["status"] == "queued"  # Glance dropped the partial bytes
    assert f"pid {run.pid}" in leftover[UPLOAD_MARKER]


def test_the_next_run_cleans_up_the_leftover_and_converges(cloud, tmp_path, capsys):
    image = put_master(cloud, size=64 * KiB)
    region = Target(settings(cloud.local_cloud).targets["master"]).region("Lisbon")
    leftover = region.create_image(_new_image_like(image))  # as a run killed after create
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon")
    assert status == 0
    [copy] = cloud.named("Lisbon", NAME)
    assert copy["id"] != leftover.id and copy["checksum"] == image["checksum"]
    assert UPLOAD_MARKER not in copy


def _new_image_like(record: dict) -> NewImage:
    return NewImage(record["name"], "public", "raw", "bare", 0, 0, False, (), {})


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_an_interrupted_run_abandons_and_deletes_the_uploads_in_flight(
    cloud, stalled_master, tmp_path, signum, status, parallel
):
    master, _ = stalled_master
    regions = ["Lisbon", "Paris"] if parallel else ["Lisbon"]
    more = ["--parallel", "--run-dir", str(tmp_path / "runs")] if parallel else []
    run = start_cli(
        cloud.local_cloud,
        tmp_path,
        *regions,
        *more,
        f"main.master_region={master}",
        "server_side_copy=never",  # streamed to Paris too: uploads in flight
    )
    try:
        for region in regions:
            wait_for(lambda r=region: saving(cloud, r), f"the upload to {region} to begin")
        children = _children(run.pid)
        run.send_signal(signum)
        assert run.wait(timeout=60) == status
    finally:
        run.kill()
    err = (tmp_path / "err").read_text()
    assert f"ERROR: interrupted by {signal.Signals(signum).name}" in err
    assert "Traceback" not in err
    for region in regions:
        assert cloud.named(region, NAME) == []  # nothing half-done left
    wait_for(lambda: not any(_alive(child) for child in children), "the children to end", 30)


def test_an_interrupted_upload_is_a_failed_json_record(cloud, stalled_master, tmp_path):
    master, _ = stalled_master
    put_master(cloud, "smaller", 4 * MiB)  # uploaded first: it stalls too, and is interrupted
    run = start_cli(cloud.local_cloud, tmp_path, "--format", "json", "Lisbon",
                    f"main.master_region={master}")  # fmt: skip
    try:
        wait_for(lambda: cloud.named("Lisbon", "smaller"), "the upload to begin")
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 130
    finally:
        run.kill()
    records = [json.loads(line) for line in (tmp_path / "out").read_text().splitlines()]
    assert [(r["image"], r["result"], r["error"]) for r in records] == [
        ("smaller", "failed", "interrupted: abandoned"),
        (NAME, "skipped", "not attempted after the failure of smaller"),
    ]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


# --- Glance data that surprises


def test_images_without_data_checksum_or_size_are_handled(cloud, tmp_path, capsys):
    put_master(cloud)
    cloud.put("Madrid", "never_uploaded", None)  # queued: no checksum, size null
    empty = cloud.put("Madrid", "empty", b"")  # active, size 0
    queued = cloud.put("Lisbon", NAME, None)  # a regional copy without data

    status, out, err = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon")

    assert status == 0, err
    assert any(queued["id"] in line and "queued" in line for line in err if "WARNING" in line)
    assert cloud.only("Lisbon", "empty")["checksum"] == empty["checksum"] == md5(b"")
    active = [r for r in cloud.named("Lisbon", NAME) if r["status"] == "active"]
    assert len(active) == 1
    assert "never_uploaded" not in cloud.names("Lisbon")


def test_a_null_property_value_is_like_no_property(cloud, tmp_path, capsys):
    put_master(cloud, kernel_id=None)
    assert cloud.only("Madrid", NAME)["kernel_id"] is None  # Glance keeps the null

    status, _, err = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon")
    assert status == 0, err
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "--show-status", "Lisbon")
    assert (status, out) == (0, [f"ok,Lisbon,{NAME}"])


def test_glance_refuses_non_string_property_values(cloud) -> None:
    """So the facade never reads one (every user property is a string, or null); the refusal
    comes back as one plain line."""
    region = Target(settings(cloud.local_cloud).targets["master"]).region("Madrid")
    for value in (5, True, ["a"]):
        new = NewImage("typed", "private", "raw", "bare", 0, 0, False, (), {"n": value})
        with pytest.raises(BadRequest) as raised:
            region.create_image(new)
        assert raised.value.status == 400
        message = str(raised.value)
        assert message.startswith("region Madrid, image typed: create image failed: HTTP 400")
        assert f"{value!r} is not of type 'string'" in message and "&#x27;" not in message
    assert cloud.records("Madrid") == []


def show_status_rows(cloud: Cloud, tmp_path: Path, capsys) -> list[list[str]]:
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "--show-status", "Lisbon")
    assert status == 0
    return list(csv.reader(io.StringIO("".join(line + "\n" for line in out))))


def test_names_with_commas_and_quotes_are_quoted_in_show_status(cloud, tmp_path, capsys):
    names = ["a,b", 'say "hi"', "semi;colon", " spaced ", "'single'"]
    for number, name in enumerate(names):
        put_master(cloud, name, size=(number + 1) * KiB)
    rows = show_status_rows(cloud, tmp_path, capsys)
    assert rows == [["pending_upload", "Lisbon", name] for name in names]


def test_a_name_with_a_newline_is_escaped_in_show_status(cloud, tmp_path, capsys):
    put_master(cloud, "two\nlines")
    rows = show_status_rows(cloud, tmp_path, capsys)
    assert rows == [["pending_upload", "Lisbon", "two\\x0alines"]]
