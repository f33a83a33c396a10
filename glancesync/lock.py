"""The run lock (§7, exit status 3): one run that may write at a time per configuration file.

`fcntl.flock` on a lock file that holds the holder's PID. The kernel drops the lock when the
holder's last descriptor closes, so the lock of a process that died (even by SIGKILL) never
blocks the next run; its PID may still be in the file, but the file is only read to name the
holder of a lock that is really held. The file itself stays: removing it would let two runs lock
two different files of the same name. Children of --parallel inherit the descriptor, so the lock
lasts until the last of them ends.

The default lock is shared by every account of the host: it lives in the first of
SHARED_DIRECTORIES that every account may write (world-writable with the sticky bit, like
/run/lock), named after the real path of the configuration file, so two runs of one file
exclude each other whoever runs them. The file is opened without following a symbolic link
(`files.open_file`), created exclusively when missing (an existing file of another account in a
sticky folder is opened, never re-created: fs.protected_regular refuses that), and made mode
0666: what it holds is a PID, and who may share it is decided by who may write its folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from glancesync.errors import ConfigError, LockHeld
from glancesync.files import file_name, open_file

SHARED_DIRECTORIES = ("/run/lock", "/var/lock", "/tmp")
DEFAULT_LOCK_FILE = f"{SHARED_DIRECTORIES[0]}/glancesync-<file name>-<hash>.lock"  # for the manual
NO_FILE_NAME = "no-config-file"
LOCK_FILE_MODE = 0o666
_EVERYONE_MAY_WRITE = stat.S_ISVTX | stat.S_IWOTH | stat.S_IXOTH


def default_lock_file(config_file: str | None) -> str:
    """The lock of `config_file` (None: the no-file mode) that every account of the host finds:
    `glancesync-<file name>-<first 16 hex digits of the SHA-256 of its real path>.lock` in the
    shared folder."""
    if config_file is None:
        name, key = NO_FILE_NAME, NO_FILE_NAME
    else:
        key = os.path.realpath(config_file)
        name = file_name(os.path.basename(key))
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(shared_directory(), f"glancesync-{name}-{digest}.lock")


def shared_directory() -> str:
    """The first of SHARED_DIRECTORIES that is a sticky folder every account may write (the
    same answer for every account), else the last one."""
    for directory in SHARED_DIRECTORIES:
        try:
            mode = os.stat(directory).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode) and mode & _EVERYONE_MAY_WRITE == _EVERYONE_MAY_WRITE:
            return directory
    return SHARED_DIRECTORIES[-1]


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
    """The lock file: opened if it exists, else created exclusively (mode LOCK_FILE_MODE); never
    through a symbolic link."""
    try:
        while True:
            try:
                return open_file(path, os.O_RDWR)
            except FileNotFoundError:
                pass
            try:
                descriptor = open_file(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, LOCK_FILE_MODE)
            except FileExistsError:  # another run created it meanwhile: open that one
                continue
            os.fchmod(descriptor, LOCK_FILE_MODE)  # whatever the umask
            return descriptor
    except OSError as error:
        raise ConfigError(f"[main] lock_file: cannot open {path}: {error.strerror}") from None


def _holder(descriptor: int) -> str:
    """The PID written by the holder ("unknown" in the instant before it writes it)."""
    text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
