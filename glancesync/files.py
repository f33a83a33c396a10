"""Files in shared folders (§9): names made from server-controlled text, and opening files so
that a planted symbolic link (or hard link, FIFO, device) is refused, never followed.

- `file_name(text)`: the one escaping of a region name or image id into a file name.
- `open_file(path, flags)`: `os.open` of a regular file, never through a symbolic link at the
  path's last component; a file it writes into must have no other hard link.
- `replacing(path)`: a text file written under a fresh temporary name beside `path` and renamed
  over it once complete, so that a reader (or a run killed meanwhile) never sees half of it.

The folders given by the operator (--backup-dir, --run-dir, cache_dir, the lock's) are taken as
given; the folders the tool makes in them are new (mkdir never follows a link), and the files
it makes there are created exclusively.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TextIO

from glancesync.errors import GlanceSyncError

# Characters a file name keeps as they are; every other one is written %XX per UTF-8 byte.
_KEPT = re.compile(r"[A-Za-z0-9_.-]")
LONGEST_NAME = 200  # characters of an escaped name before it is shortened (NAME_MAX is 255)
_SHORTENED_TO = LONGEST_NAME - 17  # room for "~" and 16 hex digits of a hash


def file_name(text: str) -> str:
    """A file name for `text` that stays in its folder and never collides with another's.

    ASCII letters, digits, `_`, `-` and `.` are kept; every other character (`/`, `:`, `%`,
    blanks, control characters, non-ASCII) is written `%XX` for each byte of its UTF-8 form, as
    is a leading `.` (so never `.`, `..` or a hidden file). `other:Berlin` is `other%3ABerlin`.
    A name longer than LONGEST_NAME is cut and ends in `~` and a hash of the whole text (`~` is
    escaped everywhere else). Empty text is `%`, which no other text gives."""
    if not text:
        return "%"
    escaped = "".join(
        char if _KEPT.fullmatch(char) and not (index == 0 and char == ".") else _percent(char)
        for index, char in enumerate(text)
    )
    if len(escaped) <= LONGEST_NAME:
        return escaped
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{escaped[:_SHORTENED_TO]}~{digest}"


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def open_file(path: str, flags: int, mode: int = 0o666) -> int:
    """`os.open(path, flags, mode)`, refusing with OSError (a clear strerror) a symbolic link at
    the last component, anything but a regular file (a FIFO never blocks the open), and, when
    it opens for writing, a file with other hard links. The descriptor is close-on-exec."""
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as error:
        if error.errno == errno.ELOOP or os.path.islink(path):  # some kernels say EACCES
            raise _refused(path, "a symbolic link") from None
        if error.errno == errno.ENXIO:  # a FIFO without a reader, a socket
            raise _refused(path, "not a regular file") from None
        raise
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise _refused(path, "not a regular file")
        if flags & (os.O_WRONLY | os.O_RDWR) and status.st_nlink > 1:
            raise _refused(path, "a file with other hard links")
        blocking = fcntl.fcntl(descriptor, fcntl.F_GETFL) & ~os.O_NONBLOCK
        fcntl.fcntl(descriptor, fcntl.F_SETFL, blocking)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _refused(path: str, reason: str) -> OSError:
    return OSError(errno.EPERM, f"{reason}: refused", path)


@contextmanager
def replacing(path: str, mode: int = 0o644) -> Iterator[TextIO]:
    """A text stream whose content replaces `path` (with `mode`) when the block ends normally;
    written to a new hidden file beside it, `.<name>.<random>.partial` (created exclusively,
    never through a link), removed if the block fails or a signal interrupts it, however early.
    A symbolic link at `path` is replaced, not followed."""
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.partial")
    try:
        descriptor = open_file(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):  # not made yet, or renamed already
            os.unlink(temporary)
        raise


def new_directory(parent: str, prefix: str) -> str:
    """A fresh directory `prefix-<timestamp>[-N]` under `parent`, never an existing one (mkdir
    follows no link). Raises GlanceSyncError."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    with file_errors("cannot create a new directory under", parent):
        os.makedirs(parent, exist_ok=True)
        for attempt in range(1000):
            path = os.path.join(parent, f"{prefix}-{stamp}" + (f"-{attempt}" if attempt else ""))
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    raise GlanceSyncError(f"cannot create a new directory under {parent}")


@contextmanager
def file_errors(doing: str, path: str) -> Iterator[None]:
    """An OSError of the block as one GlanceSyncError line: `<doing> <path>: <why>` (exit 1:
    work began)."""
    try:
        yield
    except OSError as error:
        raise GlanceSyncError(f"{doing} {path}: {error.strerror or error}") from None
