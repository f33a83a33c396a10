"""The run lock (§7, exit status 3): one run that may write at a time per lock file.

`fcntl.flock` on a lock file that holds the holder's PID. The kernel drops the lock when the
holder's last descriptor closes, so the lock of a process that died (even by SIGKILL) never
blocks the next run; its PID may still be in the file, but the file is only read to name the
holder of a lock that is really held. The file itself stays: removing it would let two runs lock
two different files of the same name. Children of --parallel inherit the descriptor, so the lock
lasts until the last of them ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from glancesync.errors import ConfigError, LockHeld

DEFAULT_LOCK_FILE = "~/.cache/glancesync.lock"


def default_lock_file() -> str:
    """The per-user default, the same for cron and interactive runs of the same user."""
    return os.path.expanduser(DEFAULT_LOCK_FILE)


@contextmanager
def run_lock(path: str) -> Iterator[None]:
    """Hold the lock of `path` (creating the file) for the block; LockHeld if another has it."""
    descriptor = _open(path)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(
                f"another glancesync run (pid {_holder(descriptor)}) holds the lock {path}; "
                "nothing was done"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)


def _open(path: str) -> int:
    """The lock file, created 0600 (its directory too, for the default path)."""
    if path == default_lock_file():
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise ConfigError(f"[main] lock_file: cannot open {path}: {error.strerror}") from None


def _holder(descriptor: int) -> str:
    """The PID written by the holder ("unknown" in the instant before it writes it)."""
    text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
