"""What the benchmarks need of the local cloud: sessions, images, runs of glancesync, measures.

The cloud is arranged and inspected through Keystone and Glance directly (keystoneauth1
sessions, plain HTTP), never through glancesync, which is what `glancesync` runs and measures.
Image bytes are random and streamed: no image is ever held in memory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
GiB = 1024 * MiB
WRITE_METHODS = ("POST ", "PUT ", "PATCH ", "DELETE ")


def localcloud(*args: str) -> str:
    """`python3 tools/localcloud ARGS` (GLANCESYNC_LOCALCLOUD_* honoured); its output."""
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "localcloud"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"localcloud {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def random_chunks(size: int, chunk: int = MiB) -> Iterator[bytes]:
    for start in range(0, size, chunk):
        yield os.urandom(min(chunk, size - start))


class Cloud:
    """The running local cloud (cloud.json), as its admins see it."""

    def __init__(self, info: dict[str, Any] | None = None) -> None:
        """The cloud described by `info` (cloud.json), or else the local cloud, started."""
        if info is None:
            localcloud("start")
            info = json.loads(localcloud("info"))
        self.info = info
        self._sessions: dict[str, ksa_session.Session] = {}

    # --- catalog and accounts

    @property
    def conf(self) -> str:
        return self.info["glancesync_conf"]

    def target_of(self, region: str) -> str:
        return next(n for n, t in self.info["targets"].items() if region in t["regions"])

    def region_info(self, region: str) -> dict[str, Any]:
        return self.info["targets"][self.target_of(region)]["regions"][region]

    def url(self, region: str) -> str:
        return self.region_info(region)["url"]

    def session(self, account: str) -> ksa_session.Session:
        """An account's session (`master`, `other`, `tenant2`), as tests/faultproxy.py wants."""
        if account not in self._sessions:
            target, user = next(
                (t, t["accounts"][account])
                for t in self.info["targets"].values()
                if account in t["accounts"]
            )
            auth = v3.Password(
                auth_url=target["auth_url"],
                username=user["user"],
                password=user["password"],
                project_name=user["project"],
                user_domain_name=self.info["domain"],
                project_domain_name=self.info["domain"],
            )
            self._sessions[account] = ksa_session.Session(auth=auth)
        return self._sessions[account]

    def target(self, name: str) -> dict[str, Any]:
        return self.info["targets"][name]

    def admin(self, region: str) -> ksa_session.Session:
        """The session of the admin of the region's target."""
        return self.session(self.target(self.target_of(region))["admin"]["name"])

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

    def clone_rows(self, region: str, image_id: str, count: int) -> None:
        """`count` copies (names `<name>-<n>`) of an image's row, written straight into the
        region's Glance database: Glance creates only ~30 images/s through its API here. The
        copies have no bytes: enough for listings and statuses."""
        with closing(sqlite3.connect(self.region_info(region)["db"], timeout=30)) as db, db:
            cursor = db.execute("SELECT * FROM images WHERE id = ?", (image_id,))
            columns = [column[0] for column in cursor.description]
            template = dict(zip(columns, cursor.fetchone()))
            rows = [
                tuple(
                    {**template, "id": str(uuid.uuid4()), "name": f"{template['name']}-{n}"}[c]
                    for c in columns
                )
                for n in range(count)
            ]
            marks = ", ".join("?" * len(columns))
            db.executemany(f"INSERT INTO images ({', '.join(columns)}) VALUES ({marks})", rows)


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


def tree_rss(pid: int) -> int:
    """Bytes resident in a process and its descendants (Linux /proc), 0 once it is gone."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
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
        pending += [int(child) for child in children]
    return total


def glancesync(
    cloud: Cloud,
    regions: Sequence[str],
    *overrides: str,
    parallel: bool = False,
    mode: str | None = None,
    workdir: Path,
) -> Run:
    """The glancesync CLI of this repository on the local cloud, measured."""
    args = [str(REPO / ".venv" / "bin" / "glancesync"), "--config-file", cloud.conf]
    args += ["--run-dir", str(workdir / "runs"), "--config", f"main.lock_file={workdir / 'lock'}"]
    args += ["--config", f"main.cache_dir={workdir}", *(f"--config={o}" for o in overrides)]
    if parallel:
        args.append("--parallel")
    if mode:
        args.append(mode)
    return run_measured([*args, "--", *regions])
