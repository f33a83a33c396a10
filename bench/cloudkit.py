"""What the benchmarks need of the local cloud: sessions, images, runs of glancesync, measures.

The cloud is arranged and inspected through Keystone and Glance directly (keystoneauth1
sessions, plain HTTP), never through glancesync, which is what `glancesync` runs and measures.
Image bytes are random and streamed: no image is ever held in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keystoneauth1 import session as ksa_session

REPO = Path(__file__).resolve().parents[1]
# tests/ holds what the benchmarks share with the tests: the local cloud's client, the proxy.
sys.path.insert(0, str(REPO / "tests"))
from localcloud_client import LocalCloud, localcloud_checked  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
WRITE_METHODS = ("POST ", "PUT ", "PATCH ", "DELETE ")


def random_chunks(size: int, chunk: int = MiB) -> Iterator[bytes]:
    for start in range(0, size, chunk):
        yield os.urandom(min(chunk, size - start))


class Cloud(LocalCloud):
    """The running local cloud (cloud.json), as its admins see it, by plain HTTP."""

    def __init__(self, info: dict[str, Any] | None = None) -> None:
        """The cloud described by `info` (cloud.json), or else the local cloud, started."""
        if info is None:
            localcloud_checked("start")
            info = json.loads(localcloud_checked("info"))
        super().__init__(info)

    def url(self, region: str) -> str:
        return self.region_info(region)["url"]

    def admin(self, region: str) -> ksa_session.Session:
        """The session of the admin of the region's target."""
        return self.session(self.admin_of(region))

    def token(self, region: str) -> str:
        return self.admin(region).get_token()

    # --- images, by plain HTTP

    def request(self, region: str, method: str, path: str, **kwargs: Any):
        return self.admin(region).request(self.url(region) + path, method, **kwargs)

    def create(self, region: str, name: str, **fields: Any) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare", **fields}
        return self.request(region, "POST", "/v2/images", json=body).json()["id"]

    def upload(self, region: str, image_id: str, chunks: Iterator[bytes], size: int) -> None:
        headers = {"Content-Type": "application/octet-stream", "x-openstack-image-size": str(size)}
        self.request(region, "PUT", f"/v2/images/{image_id}/file", data=chunks, headers=headers)

    def put_random(self, region: str, name: str, size: int) -> dict[str, Any]:
        """A public image of `size` random bytes; its record."""
        image_id = self.create(region, name, visibility="public")
        self.upload(region, image_id, random_chunks(size), size)
        return self.record(region, image_id)

    def record(self, region: str, image_id: str) -> dict[str, Any]:
        return self.request(region, "GET", f"/v2/images/{image_id}").json()

    def images(self, region: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        path: str | None = "/v2/images?limit=1000"
        while path:
            page = self.request(region, "GET", path).json()
            found += page["images"]
            path = page.get("next")
        return found

    def delete_named(self, region: str, *names: str) -> None:
        for image in self.images(region):
            if image["name"] in names:
                self.request(region, "DELETE", f"/v2/images/{image['id']}")


@dataclass
class Run:
    """A finished command: wall seconds, exit status, peak RSS of its process tree, output."""

    seconds: float
    status: int
    peak_rss: int
    output: str


def run_measured(args: Sequence[str]) -> Run:
    """Run a command, polling the RSS of its process tree (every 20 ms) until it ends."""
    started = time.monotonic()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    poller = threading.Thread(target=_poll_rss, args=(process, peak), daemon=True)
    poller.start()
    output, _ = process.communicate()
    seconds = time.monotonic() - started
    poller.join()
    return Run(seconds, process.returncode, peak[0], output)


def _poll_rss(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], tree_rss(process.pid))
        time.sleep(0.02)


def tree_pids(pid: int) -> Iterator[int]:
    """A process and its descendants, as /proc lists them now (Linux)."""
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        yield current
        pending += [int(child) for child in children]


def tree_rss(pid: int) -> int:
    """Bytes resident in a process and its descendants (Linux /proc), 0 once it is gone."""
    total = 0
    for current in tree_pids(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next(
            (
                int(line.split()[1]) * 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            ),
            0,
        )
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants (Linux /proc)."""
    ticks = 0
    for current in tree_pids(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def glancesync(
    cloud: Cloud,
    regions: Sequence[str],
    *overrides: str,
    parallel: bool = False,
    mode: str | None = None,
    workdir: Path,
    program: Sequence[str] = (str(REPO / ".venv" / "bin" / "glancesync"),),
) -> Run:
    """The glancesync CLI of this repository (or `program`) on the local cloud, measured."""
    args = [*program, "--config-file", cloud.conf]
    args += ["--run-dir", str(workdir / "runs"), "--config", f"main.lock_file={workdir / 'lock'}"]
    args += ["--config", f"main.cache_dir={workdir}", *(f"--config={o}" for o in overrides)]
    if parallel:
        args.append("--parallel")
    if mode:
        args.append(mode)
    return run_measured([*args, "--", *regions])
