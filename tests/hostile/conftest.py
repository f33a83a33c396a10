"""Fixtures of the hostile tests: a `HostileCloud` (tests/hostile/server.py) beside the local
cloud, and glancesync run as a child process whose time, peak memory and output are judged.

- `hostile(keystone=Keystone.NORMAL, **options)`: a started HostileCloud (stopped after the
  test), target `evil` of the runs (`hostile.overrides("evil")`);
- `master_image`: one small image in the local cloud's master region (`NAME`), so that a good
  region of a run has something to do;
- `glancesync(*arguments, hostile=…, limit=…)`: glancesync as a child process with the local
  cloud's configuration file, a lock of its own, the hostile cloud as target `evil` and the
  arguments (those with `=` are --config overrides), in a working directory of its own
  (`Run.workdir`: --run-dir runs, --backup-dir …); returns a `Run`;
- `Run.failed_alone(failure, synced=…)`: exit 1, the bad region's or target's error, and the
  good region (Lisbon) synced or planned;
- `Run.check(hostile, seconds=…, rss_mib=…)`: the rules every hostile run keeps: it ended within
  its time, its peak RSS (the process and its children) stayed within its bound, no password
  or token reached the listener (nor a local password or a foreign token the hostile cloud),
  no traceback, no raw control character in stdout or stderr.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localcloud_client import LocalCloud

from hostile.server import HostileCloud, Keystone

NAME = "base_image"
TARGET = "evil"
GOOD = "Lisbon"  # the local cloud's region that every run also visits
# Bytes no output may hold raw: C0 controls except tab and line feed, and DEL.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Run:
    """A finished glancesync child: exit status, output, wall time, peak RSS."""

    status: int
    out: str
    err: str
    seconds: float
    rss_mib: float
    local_passwords: tuple[str, ...]
    workdir: Path  # its working directory (--run-dir runs, --log-file…)

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("ERROR")]

    def failed_alone(self, failure: str, good: str = GOOD, synced: bool = False) -> None:
        """Exit 1 with `failure` (the bad region's or target's error) in stderr, at most one
        error line, and the good region's image uploaded (`synced`), or planned."""
        assert self.status == 1, self.err
        assert failure in self.err, self.err
        assert len(self.errors) <= 1, self.err
        verb = "uploaded" if synced else "would upload"
        assert any(line.startswith(f"{good}: {verb} {NAME}") for line in self.out_lines), self.out

    def check(
        self,
        hostile: HostileCloud,
        seconds: float = 5,
        rss_mib: float = 100,
        registered: bool = False,
    ) -> None:
        """The rules of every hostile run (see the module's text). A hostile Glance
        `registered` in the local cloud's catalog is sent that Keystone's tokens."""
        assert self.seconds < seconds, f"took {self.seconds:.1f} s\n{self.err}"
        assert self.rss_mib < rss_mib, f"peak RSS {self.rss_mib:.0f} MiB\n{self.err}"
        assert hostile.listener.leaks(*hostile.secrets(), *self.local_passwords) == []
        assert set(hostile.passwords) <= {hostile.password, ""}
        if not registered:
            assert set(hostile.tokens_seen) <= {*hostile.tokens, ""}
        for stream in (self.out, self.err):
            assert "Traceback" not in stream, stream
            assert not RAW_CONTROL.search(stream), repr(stream)
        for secret in (*hostile.secrets(), *self.local_passwords):
            assert secret not in self.out + self.err


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileCloud]]:
    """hostile(keystone=Keystone.NORMAL, **options): a started HostileCloud."""
    started: list[HostileCloud] = []

    def start(keystone: Keystone = Keystone.NORMAL, **options: object) -> HostileCloud:
        cloud = HostileCloud(keystone, **options).start()  # type: ignore[arg-type]
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


def put_master_image(cloud: LocalCloud, name: str, data: bytes) -> str:
    """A small public raw image `name` in the local cloud's master region; its name."""
    glance = cloud.glance(cloud.master_region)
    image = glance.images.create(
        name=name, disk_format="raw", container_format="bare", visibility="public"
    )
    glance.images.upload(image.id, io.BytesIO(data))
    return name


@pytest.fixture
def master_image(clean_cloud: LocalCloud) -> str:
    """One small public image in the master region; its name."""
    return put_master_image(clean_cloud, NAME, b"hostile tests " * 64)


@pytest.fixture
def glancesync(local_cloud: LocalCloud, tmp_path: Path) -> Callable[..., Run]:
    """glancesync(*arguments, hostile=None, limit=60): run it as a child process (killed,
    with its children, after `limit` seconds)."""
    passwords = tuple(
        entry["password"]
        for target in local_cloud["targets"].values()
        for entry in target["accounts"].values()
    )

    def run(*arguments: str, hostile: HostileCloud | None = None, limit: float = 60) -> Run:
        flags = [a for a in arguments if "=" not in a]
        overrides = [a for a in arguments if "=" in a]
        if hostile is not None:
            overrides = [*hostile.overrides(TARGET), *overrides]
        argv = [sys.executable, "-m", "glancesync.cli", "--config-file", str(local_cloud.conf),
                *flags, "--config", f"lock_file={tmp_path / 'lock'}", *overrides]  # fmt: skip
        out, err = tmp_path / "out", tmp_path / "err"
        started = time.monotonic()
        with out.open("w") as stdout, err.open("w") as stderr:
            child = subprocess.Popen(
                argv,
                stdout=stdout,
                stderr=stderr,
                cwd=tmp_path,
                env=local_cloud.cli_environment(),
                start_new_session=True,
            )
        with PeakRss(child.pid) as peak:
            try:
                status = child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                status = -signal.SIGKILL
            finally:
                _kill_group(child.pid)  # it, if it is late, and any child left behind
                child.wait()
        return Run(
            status,
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
            time.monotonic() - started,
            peak.mib,
            passwords,
            tmp_path,
        )

    return run


class PeakRss(threading.Thread):
    """The peak RSS of a process and its descendants: the largest sum of their VmHWM seen,
    sampled every 20 ms. (ru_maxrss will not do: a forked child's counts the parent's pages
    it had before its exec.)"""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.mib = 0.0
        self._done = threading.Event()

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self.join()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.mib = max(self.mib, sum(map(_peak_kib, _family(self.pid))) / 1024)


def _family(pid: int) -> list[int]:
    """The process and its descendants (those alive)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(member for child in children for member in _family(int(child)))]


def _peak_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) if found else 0


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
