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

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG, EXIT_FAILURE, EXIT_LOCKED, ConfigError, LockHeld
from glancesync.lock import default_lock_file, run_lock

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
    assert path.stat().st_mode & 0o777 == 0o600


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


def test_the_default_lock_file_is_per_user_and_created_with_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_lock_file() == str(tmp_path / ".cache" / "glancesync.lock")
    with run_lock(default_lock_file()):
        assert (tmp_path / ".cache" / "glancesync.lock").exists()


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
