"""File names from server-controlled names stay in their folder (§9, issue 11 item 4).

The hostile cloud is the master target here, so that its catalog's region names are plain
region names (no `T:` prefix): `../../../x/escaped` and `/abs/path` name regions, and a master
image's id is `../../x/cachepwn`. Each run must write only inside the folder meant for it
(--backup-dir, --run-dir, cache_dir), leave the bait folder `x` of the test empty, create no
`/abs`, and keep the rules of every hostile run (time, memory, no leak, no traceback, no raw
control character). A backup killed while it writes (SIGTERM, SIGKILL) leaves no truncated
file under a region's name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glancesync.files import file_name
from hostile.server import HostileCloud, image_record

pytestmark = pytest.mark.integration

MASTER = "Master"
PATH_NAMES = ("../../../x/escaped", "/abs/path", "..", "a\x1b[2Jb")
CACHEPWN = "../../x/cachepwn"
DATA = b"ground " * 128
HARNESS_FILES = {"out", "err", "lock"}  # the fixture's own files in the run's folder
# Rows enough, and long enough, for the backup's writing to be caught midway even on a busy
# machine (the listing cap allows at most 100,000 images).
BACKUP_IMAGES = 60_000
BACKUP_ROW_PADDING = "x" * 600
BACKUP_ATTEMPTS = 3


def as_master(cloud: HostileCloud) -> list[str]:
    """--config overrides that make the hostile cloud the master target."""
    return [*cloud.overrides("master"), f"main.master_region={MASTER}"]


def master_cloud(
    hostile, *, images: list | None = None, regions: tuple[str, ...] = PATH_NAMES
) -> HostileCloud:
    """A hostile master: region Master with one image (or `images`), and `regions`."""
    cloud = hostile()
    record = image_record("ground_image", DATA)
    records = images if images is not None else [record]
    cloud.add_region(MASTER, images=records, files={r["id"]: DATA for r in records})
    for name in regions:
        cloud.add_region(name)
    return cloud


def files_under(root: Path) -> set[str]:
    """Every file and folder under `root`, relative to it."""
    return {
        os.path.relpath(os.path.join(top, name), root)
        for top, folders, files in os.walk(root)
        for name in [*folders, *files]
    }


def written_outside(root: Path, *allowed: str) -> set[str]:
    """What the run made under `root` (its cwd) outside the `allowed` folders and the bait."""
    return {
        path
        for path in files_under(root) - HARNESS_FILES - {"x"}
        if not any(path == folder or path.startswith(folder + os.sep) for folder in allowed)
    }


def wait_for(find, child: subprocess.Popen, seconds: float = 60) -> Path:
    """What `find()` returns once it is not None (polled), while `child` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        found = find()
        if found is not None:
            return found
        time.sleep(0.002)
    pytest.fail(f"never found (the run ended with {child.poll()})")


@pytest.fixture
def bait(tmp_path: Path) -> Path:
    """The folder `x` that `../../../x/escaped` and `../../x/cachepwn` would reach."""
    (tmp_path / "x").mkdir()
    return tmp_path / "x"


def no_escape(tmp_path: Path, bait: Path, *allowed: str) -> None:
    assert list(bait.iterdir()) == []
    assert written_outside(tmp_path, *allowed) == set()
    assert not os.path.exists("/abs")


def test_backups_of_regions_named_like_paths_stay_in_the_backup_folder(
    hostile, glancesync, tmp_path, bait
):
    cloud = master_cloud(hostile)

    run = glancesync("--make-backup", "--backup-dir", "a/b", *as_master(cloud))

    assert run.status == 0, run.err
    run.check(cloud, seconds=10)
    no_escape(tmp_path, bait, "a")
    [backup] = (tmp_path / "a" / "b").iterdir()
    expected = {f"{file_name(name)}.csv" for name in (MASTER, *PATH_NAMES)}
    assert {path.name for path in backup.iterdir()} == expected
    assert "ground_image" in (backup / f"{MASTER}.csv").read_text()


def test_dry_run_logs_of_regions_named_like_paths_stay_in_the_run_folder(
    hostile, glancesync, tmp_path, bait
):
    cloud = master_cloud(hostile)

    run = glancesync("--parallel", "--dry-run", "--run-dir", "r/s", *as_master(cloud))

    assert run.status == 0, run.err
    run.check(cloud, seconds=15, rss_mib=250)
    no_escape(tmp_path, bait, "r")
    [run_dir] = (tmp_path / "r" / "s").iterdir()
    logs = {path.name for path in run_dir.iterdir()}
    assert logs == {f"{file_name(name)}.log" for name in PATH_NAMES}
    for name in PATH_NAMES:
        assert "would upload ground_image" in (run_dir / f"{file_name(name)}.log").read_text()


def test_a_parallel_sync_to_regions_named_like_paths_logs_in_the_run_folder(
    hostile, glancesync, tmp_path, bait
):
    cloud = master_cloud(hostile)

    run = glancesync("--parallel", "--run-dir", "r", *as_master(cloud), "main.max_children=2")

    assert run.status == 0, run.err
    run.check(cloud, seconds=15, rss_mib=250)
    no_escape(tmp_path, bait, "r")
    for name in PATH_NAMES:
        assert [image["name"] for image in cloud.region(name).images] == ["ground_image"]


def test_a_master_image_id_like_a_path_makes_no_file_outside_the_cache(
    hostile, glancesync, tmp_path, bait
):
    record = image_record("pwn_image", DATA, id=CACHEPWN)
    cloud = master_cloud(hostile, images=[record], regions=("A", "B"))
    (tmp_path / "c").mkdir()

    run = glancesync(*as_master(cloud), "main.cache_dir=c")  # c/<cache>/../../x: the bait

    run.check(cloud, seconds=15)
    no_escape(tmp_path, bait, "c")
    assert files_under(tmp_path / "c") == set()  # the run's cache folder is gone too


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_backup_killed_while_it_writes_leaves_no_truncated_file_under_a_regions_name(
    hostile, local_cloud, tmp_path, signum
):
    images = [
        image_record(f"image-{n:05}", description=BACKUP_ROW_PADDING) for n in range(BACKUP_IMAGES)
    ]
    cloud = master_cloud(hostile, images=images, regions=())
    for attempt in range(BACKUP_ATTEMPTS):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        status, partial = kill_backup_midway(local_cloud, cloud, folder, signum)
        if not (partial.parent / f"{MASTER}.csv").exists():
            break  # caught midway (a busy machine may let the writer finish first: try again)
    else:
        pytest.fail(f"the backup was never caught midway in {BACKUP_ATTEMPTS} attempts")
    assert status == -signum if signum == signal.SIGKILL else status == 128 + signum
    assert partial.exists() == (signum == signal.SIGKILL)  # a hidden leftover, never complete
    assert "Traceback" not in (folder / "err").read_text()


def kill_backup_midway(
    local_cloud, cloud: HostileCloud, folder: Path, signum: int
) -> tuple[int, Path]:
    """Start a --make-backup of `cloud` in `folder`, send `signum` once its hidden partial file
    appears: the run's exit status and the partial file's path."""
    argv = [sys.executable, "-m", "glancesync.cli", "--config-file", str(local_cloud.conf),
            "--make-backup", "--backup-dir", "b", "--config", f"lock_file={folder / 'lock'}",
            *as_master(cloud)]  # fmt: skip
    with (folder / "err").open("w") as stderr:
        child = subprocess.Popen(
            argv,
            cwd=folder,
            env=local_cloud.cli_environment(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        partial = wait_for(lambda: next((folder / "b").glob("*/.*.partial"), None), child)
        os.killpg(child.pid, signum)
        return child.wait(timeout=30), partial
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
