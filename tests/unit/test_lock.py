"""The run lock (glancesync.lock) and which modes take it, with real processes holding it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from faultproxy import closed_port
from planted import NOBODY, plant_link, shared_folder

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG, EXIT_FAILURE, EXIT_LOCKED, ConfigError, LockHeld
from glancesync.lock import SHARED_DIRECTORIES, default_lock_file, run_lock, shared_directory

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
two_accounts = pytest.mark.skipif(
    os.geteuid() != 0 or NOBODY is None or not os.access(SYSTEM_PYTHON, os.X_OK),
    reason="needs root, the user nobody and /usr/bin/python3",
)

HOLD = """
import sys, time
from glancesync.lock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


@contextmanager
def holder(path: Path) -> Iterator[subprocess.Popen]:
    """Another process that holds the lock of `path` until it is killed (at the latest here)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "locked\n"
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def test_the_holder_writes_its_pid_and_clears_it_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with run_lock(str(path)):
        assert path.read_text() == f"{os.getpid()}\n"
    assert path.read_text() == ""
    assert path.stat().st_mode & 0o777 == 0o666  # every account that shares it may take it


def test_a_second_run_is_refused_naming_the_holders_pid(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with holder(path) as process:
        with pytest.raises(LockHeld) as raised:
            with run_lock(str(path)):
                pytest.fail("the lock was taken twice")
    assert raised.value.exit_status == EXIT_LOCKED
    assert f"pid {process.pid}" in str(raised.value) and str(path) in str(raised.value)


def test_the_lock_of_a_killed_process_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with holder(path) as process:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert path.read_text() == f"{process.pid}\n"  # stale content, no lock
        with run_lock(str(path)):
            assert path.read_text() == f"{os.getpid()}\n"


def test_a_lock_file_that_cannot_be_opened_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[main\] lock_file: cannot open .*/missing/lock"):
        with run_lock(str(tmp_path / "missing" / "lock")):
            pytest.fail("locked a file in a missing directory")


def test_the_default_lock_is_named_after_the_real_path_of_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "glancesync.conf"
    config.write_text("")
    (tmp_path / "link.conf").symlink_to(config)
    monkeypatch.chdir(tmp_path)
    lock = default_lock_file(str(config))
    assert default_lock_file("glancesync.conf") == default_lock_file("link.conf") == lock
    assert default_lock_file(str(tmp_path / "other.conf")) != lock
    assert os.path.dirname(lock) == shared_directory()
    assert os.path.basename(lock).startswith("glancesync-glancesync.conf-")
    assert default_lock_file(None).endswith(".lock") and default_lock_file(None) != lock


def test_the_shared_folder_is_one_every_account_may_write() -> None:
    mode = os.stat(shared_directory()).st_mode
    assert mode & 0o1777 == 0o1777 or shared_directory() == SHARED_DIRECTORIES[-1]


# --- a lock file in a shared folder: links planted by another account are refused


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_planted_link_as_lock_file_is_refused_and_its_target_untouched(
    tmp_path: Path, dangling: bool
) -> None:
    target = tmp_path / "precious"
    if not dangling:
        target.write_text("keep me\n")
    with shared_folder() as shared:
        plant_link(shared / "lock", target)
        with pytest.raises(ConfigError, match="lock_file: cannot open .*/lock: a symbolic link"):
            with run_lock(str(shared / "lock")):
                pytest.fail("locked through a symbolic link")
    assert (target.read_text() == "keep me\n") if not dangling else not target.exists()


def test_a_hard_link_as_lock_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    os.link(target, tmp_path / "lock")
    with pytest.raises(ConfigError, match="a file with other hard links: refused"):
        with run_lock(str(tmp_path / "lock")):
            pytest.fail("locked a file with other links")
    assert target.read_text() == "keep me\n"


def test_a_fifo_as_lock_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "lock")
    with pytest.raises(ConfigError, match="not a regular file: refused"):
        with run_lock(str(tmp_path / "lock")):
            pytest.fail("locked a FIFO")


# --- two accounts (root and nobody) running the same configuration file


def as_nobody(script: str, *arguments: str) -> subprocess.Popen:
    """`script` run by the system's Python as user nobody, with this checkout's glancesync."""
    return subprocess.Popen(
        [SYSTEM_PYTHON, "-c", script, *arguments],
        user="nobody",
        group=NOBODY.pw_gid,
        extra_groups=[],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def held_by_nobody(path: str) -> Iterator[subprocess.Popen]:
    process = as_nobody(HOLD, path)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "locked\n", process.stderr.read()
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


TRY_LOCK = """
import sys
from glancesync.errors import LockHeld
from glancesync.lock import run_lock
try:
    with run_lock(sys.argv[1]):
        print("locked")
except LockHeld as held:
    print(held)
"""


@two_accounts
def test_a_run_of_another_account_holding_the_default_lock_excludes_this_one(
    shared_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with held_by_nobody(default_lock_file(str(shared_config))) as process:
        status = main(["--config-file", str(shared_config)])
    assert status == EXIT_LOCKED
    assert f"pid {process.pid}" in capsys.readouterr().err


@two_accounts
def test_this_accounts_lock_excludes_a_run_of_another_account(shared_config: Path) -> None:
    path = default_lock_file(str(shared_config))
    with run_lock(path):
        process = as_nobody(TRY_LOCK, path)
        out, err = process.communicate(timeout=30)
    assert out.startswith(f"another glancesync run (pid {os.getpid()}) holds the lock"), err


@two_accounts
def test_a_lock_created_by_one_account_is_taken_by_the_other_afterwards(
    shared_config: Path,
) -> None:
    path = default_lock_file(str(shared_config))
    with held_by_nobody(path):
        pass
    with run_lock(path):
        assert Path(path).read_text() == f"{os.getpid()}\n"
    os.unlink(path)
    with run_lock(path):
        pass
    out, err = as_nobody(TRY_LOCK, path).communicate(timeout=30)
    assert out == "locked\n", err


# --- the command line: which modes take the lock


@pytest.fixture
def config(tmp_path: Path, no_openstack_environment: None) -> Path:
    """A configuration whose Keystone is a closed port: contacting it gives exit status 1."""
    path = tmp_path / "glancesync.conf"
    path.write_text(
        "[main]\nmaster_region = Madrid\n"
        f"lock_file = {tmp_path / 'lock'}\n"
        "[master]\nuser = u\npassword = p\n"
        f"auth_url = http://127.0.0.1:{closed_port()}/v3\nproject = p\n"
        "api_retries = 0\n"
    )
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("mode", [[], ["--make-backup"], ["--parallel"]])
def test_writing_modes_exit_3_at_once_when_the_lock_is_held(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: list[str]
) -> None:
    with holder(tmp_path / "lock") as process:
        status = main(["--config-file", str(config), "--backup-dir", str(tmp_path), *mode])
    err = capsys.readouterr().err
    assert status == EXIT_LOCKED
    assert err.startswith("ERROR: another glancesync run") and f"pid {process.pid}" in err
    assert "cannot connect" not in err  # refused before anything was contacted


@pytest.mark.parametrize("mode", ["--dry-run", "--show-status", "--show-regions"])
def test_read_only_modes_run_while_the_lock_is_held(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    with holder(tmp_path / "lock"):
        status = main(["--config-file", str(config), mode])
    assert status == EXIT_FAILURE
    assert "cannot connect" in capsys.readouterr().err  # it went on to contact Keystone


def test_a_run_releases_the_lock_when_it_fails(config: Path, tmp_path: Path) -> None:
    assert main(["--config-file", str(config)]) == EXIT_FAILURE
    with run_lock(str(tmp_path / "lock")):
        pass


def test_an_unusable_lock_file_stops_the_run_with_status_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--config-file", str(config), "--config", f"lock_file={tmp_path}/no/lock"]
    assert main(arguments) == EXIT_CONFIG
    assert "[main] lock_file: cannot open" in capsys.readouterr().err


@pytest.fixture
def shared_config(tmp_path: Path, no_openstack_environment: None) -> Iterator[Path]:
    """A configuration file whose Keystone is a closed port, and its default lock (in the shared
    folder) removed at the end."""
    path = tmp_path / "shared.conf"
    path.write_text(
        "[main]\nmaster_region = Madrid\n[master]\nuser = u\npassword = p\n"
        f"auth_url = http://127.0.0.1:{closed_port()}/v3\nproject = p\napi_retries = 0\n"
    )
    path.chmod(0o600)
    yield path
    Path(default_lock_file(str(path))).unlink(missing_ok=True)
