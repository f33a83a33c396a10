"""One master read per image per run: the master's bytes cached for the run's processes.

A sync run that visits several regions makes a cache directory (`run_cache`), removed when
the run ends, however it ends; a run killed (SIGKILL) leaves it behind, and a later run removes
it: every run holds a `flock` on its directory, so one that no process holds is abandoned. The
run's processes (the run itself, or the --parallel children, which get the directory with their
job) find an image there by its master UUID, made a file name by `files.file_name` (an id is the
master's to choose: it never names a file outside the directory):

- `<id>.lock`: the reservation (the image's size, as text) and the writer's lock: the process
  reading the master holds an exclusive `flock` on it while it does;
- `<id>.data`: the bytes of the current master read, as far as they have come;
- `<id>.done`: written once the writer's own upload stream verified every byte: published.

The first consumer of an image takes the lock and becomes its writer: it reads the master,
writes each chunk into the data file and passes it on to its own upload, so the master is read
once, at the pace of that upload. Consumers that come meanwhile follow the growing file: they
read what is there and poll at its end while the writer holds the lock; later consumers read
the published file. Only the writer's stream hashes the bytes (`VerifyingStream`); the others
check the size and the format of what they pass on, and hold back its end until the writer
published: hashing, the costliest step of a copy, is done once per image and run, not once per
region (bench/README.md, fan-out).

A writer that ends without publishing (its upload failed, the master's stream broke off or did
not verify) empties the data file before it lets go of the lock. Its followers then fail with
`HandOffLost`, without an end: the bytes they passed on were never verified, and their
uploads are started again (`executor`), reading the master anew or following a newer writer.
Only such failures cost a second master read.

An image that does not fit (in `max_size` minus what the run has cached already, and in the
free space of the directory minus FREE_SPACE_KEPT) is not cached: every consumer streams it
from the master. No process holds more than a chunk of an image in memory.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass

from glancesync.errors import ConfigError
from glancesync.files import file_name, open_file
from glancesync.image import Image
from glancesync.output import human_size
from glancesync.transfer import CHUNK_SIZE, TransferError, VerifyingStream

LOG = logging.getLogger(__name__)

Fetch = Callable[[], Iterable[bytes]]  # starts a master download: the image's bytes, chunked

DIRECTORY_PREFIX = "glancesync-cache-"
RESERVATIONS_LOCK = ".reservations.lock"  # a leading "." is no file_name of an image
FREE_SPACE_KEPT = 1024**3  # bytes of the cache's file system never filled by the cache
ABANDONED_AFTER = 60.0  # seconds: an unlocked cache directory younger may be one being made
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05  # seconds between two looks at a growing file


@dataclass(frozen=True)
class MasterCache:
    """The cache directory of one run; it holds no open file, so it pickles into jobs."""

    directory: str
    max_size: int | None = None  # bytes; None: bounded by the free space only
    stall_timeout: float = 120.0  # seconds a follower waits for a writer that makes no progress

    @contextmanager
    def stream(self, image: Image, fetch: Fetch) -> Iterator[VerifyingStream]:
        """The master's bytes of `image` as a verifying stream: through the cache if it fits,
        else straight from `fetch`."""
        if not self._reserve(image):
            with _streaming(_lazily(fetch), image) as stream:
                yield stream
            return
        with _disk_errors(self.directory):
            consumer = _Consumer(self, image)
        if consumer.writing:
            checks = {"on_verified": consumer.verified}
        else:
            checks = {"vouched": consumer.vouched}
        with consumer, _streaming(consumer.chunks(fetch), image, **checks) as stream:
            yield stream

    def _reserve(self, image: Image) -> bool:
        """Whether the image has, or now gets, a place in the cache."""
        if image.size is None:
            return False
        paths = _Paths(self.directory, image.id)
        with _disk_errors(self.directory), _locked(os.path.join(self.directory, RESERVATIONS_LOCK)):
            if os.path.exists(paths.lock):
                return True
            room = self._room()
            if image.size > room:
                LOG.info(
                    "%s (%s) is not cached (room left: %s): read from the master per region",
                    image.name,
                    human_size(image.size),
                    human_size(max(room, 0)),
                )
                return False
            with open(paths.data, "xb"), open(paths.lock, "x") as lock:
                lock.write(str(image.size))
        return True

    def _room(self) -> int:
        """Bytes that one more image may take: within max_size and the free space kept."""
        reserved = written = 0
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name.endswith(".lock") and name != RESERVATIONS_LOCK:
                with open(path) as lock:
                    reserved += int(lock.read())
            elif name.endswith(".data"):
                written += os.path.getsize(path)
        free = shutil.disk_usage(self.directory).free - FREE_SPACE_KEPT
        room = free - max(reserved - written, 0)
        return room if self.max_size is None else min(room, self.max_size - reserved)


@contextmanager
def run_cache(
    parent: str | None, max_size: int | None, stall_timeout: float
) -> Iterator[MasterCache | None]:
    """A new cache directory under `parent` (None: $TMPDIR, else /var/tmp) for one run, removed
    when the run ends; None when max_size is 0 (no cache)."""
    if max_size == 0:
        yield None
        return
    parent = cache_folder(parent)
    try:
        directory = tempfile.mkdtemp(prefix=DIRECTORY_PREFIX, dir=parent)
        held = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise ConfigError(
            f"[main] cache_dir: cannot make a directory in {parent}: {error.strerror}"
        ) from None
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # shared with the --parallel children, which fork
        _remove_abandoned(parent)
        yield MasterCache(directory, max_size, stall_timeout)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        os.close(held)


def cache_folder(cache_dir: str | None) -> str:
    """The folder `[main] cache_dir` names: itself, else $TMPDIR, else /var/tmp."""
    return cache_dir or os.environ.get("TMPDIR") or "/var/tmp"


def _remove_abandoned(parent: str) -> None:
    """Remove the cache directories under `parent` of runs that were killed: no process holds
    their lock, and they are older than ABANDONED_AFTER."""
    for entry in os.scandir(parent):
        if not entry.name.startswith(DIRECTORY_PREFIX):
            continue
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < ABANDONED_AFTER:
                continue
            held = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:  # gone, or another user's
            continue
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            LOG.info("removing %s, the cache of a run that was killed", entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)
        except BlockingIOError:  # a run is using it
            pass
        finally:
            os.close(held)


def master_stream(
    cache: MasterCache | None, image: Image, fetch: Fetch
) -> AbstractContextManager[VerifyingStream]:
    """`cache.stream(image, fetch)`, or without a cache a verifying stream from the master."""
    return cache.stream(image, fetch) if cache else _streaming(_lazily(fetch), image)


class _Paths:
    """The files of one image in the cache directory."""

    def __init__(self, directory: str, image_id: str):
        base = os.path.join(directory, file_name(image_id))
        self.lock, self.data, self.done = f"{base}.lock", f"{base}.data", f"{base}.done"


class _Writer(enum.Enum):
    """Where the writer of an image is, as its followers see it."""

    WRITING = "writing"
    PUBLISHED = "published"
    GAVE_UP = "gave up"


class HandOffLost(TransferError):
    """The process reading the master for this image ended without verifying its bytes: what
    this stream passed on is unverified; its upload is to be started again."""


class _Consumer:
    """One consumer of one cached image: it writes the data file (the first that comes, or the
    first after a writer that gave up), or follows it."""

    def __init__(self, cache: MasterCache, image: Image):
        self._cache = cache
        self._size = image.size or 0
        self._paths = _Paths(cache.directory, image.id)
        self._lock = open_file(self._paths.lock, os.O_RDONLY)
        try:
            # The writer holds the lock (until it publishes or gives up) and reads the master;
            # the data file is opened after: no other process replaces it while the lock is held.
            self.writing = self._take_lock()
            if self.writing and os.path.exists(self._paths.done):  # published: a reader only
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self.writing = False
            elif self.writing:
                self._leave_killed_writers_bytes()
            self._data = open_file(self._paths.data, os.O_RDWR)
        except OSError:
            os.close(self._lock)
            raise
        self._verified = False  # as the writer, its stream verified every byte

    def __enter__(self) -> _Consumer:
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the files; a writer whose stream did not verify first empties the data file
        and puts a new one in its place (its followers see theirs unlinked: `_writer`)."""
        try:
            if self.writing and not self._verified:
                os.ftruncate(self._data, 0)
                _replace_with_empty(self._paths.data)
        finally:
            os.close(self._data)
            os.close(self._lock)  # lets go of the flock

    def chunks(self, fetch: Fetch) -> Iterator[bytes]:
        """The image's bytes: the writer's from the master; a follower's from the data file as
        it grows, up to the size the master announced (what the master may send beyond is the
        writer's to judge). HandOffLost when the writer gave up."""
        if self.writing:
            yield from self._write(fetch)
            return
        position = 0
        wait = _Wait(self._cache.stall_timeout)
        while position < self._size:
            writer = self._writer()  # before the read: published means all is there
            with _disk_errors(self._paths.data):
                chunk = os.pread(self._data, min(CHUNK_SIZE, self._size - position), position)
            if chunk:
                position += len(chunk)
                wait.reset()
                yield chunk
            elif writer is _Writer.PUBLISHED:  # yet shorter: cannot be, but let the stream judge
                return
            elif writer is _Writer.GAVE_UP:
                raise self._lost(position)
            else:
                wait.pause(position)

    def vouched(self) -> None:
        """A follower at its end: return once the writer published (its stream verified every
        byte of the file this follower read); HandOffLost if it gave up."""
        wait = _Wait(self._cache.stall_timeout)
        while (writer := self._writer()) is not _Writer.PUBLISHED:
            if writer is _Writer.GAVE_UP:
                raise self._lost(self._size)
            wait.pause(self._size)

    def verified(self) -> None:
        """Called when the writer's stream verified every byte: it publishes the data file."""
        self._verified = True
        with _disk_errors(self._paths.done):
            open(self._paths.done, "x").close()

    def _leave_killed_writers_bytes(self) -> None:
        """As a new writer: bytes left by a writer killed unawares (SIGKILL: no `__exit__`)
        are never continued; a new file takes their place, and their followers see theirs
        unlinked (`_writer`) instead of going on with this writer's bytes."""
        with suppress(FileNotFoundError):
            if os.lstat(self._paths.data).st_size:
                _replace_with_empty(self._paths.data)

    def _take_lock(self) -> bool:
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _writer(self) -> _Writer:
        """Where the writer of the file this follower reads is. A `done` published by a later
        writer, after this one gave up, is not this file's: the file was unlinked before
        (checked after `done`, so that no publication can slip in between)."""
        with _disk_errors(self._paths.data):
            published = os.path.exists(self._paths.done)
            if not published and self._take_lock():  # no writer: it gave up, or just published
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                published = os.path.exists(self._paths.done)
                if not published:
                    return _Writer.GAVE_UP
            if os.fstat(self._data).st_nlink == 0:
                return _Writer.GAVE_UP
        return _Writer.PUBLISHED if published else _Writer.WRITING

    def _lost(self, position: int) -> HandOffLost:
        return HandOffLost(
            f"the process reading the master for this image stopped unverified "
            f"(after {position} bytes passed on)"
        )

    def _write(self, fetch: Fetch) -> Iterator[bytes]:
        """As the writer: the master's bytes into the data file and on to the caller."""
        with _disk_errors(self._paths.data):
            os.ftruncate(self._data, 0)
        offset = 0
        for chunk in fetch():
            with _disk_errors(self._paths.data):
                _write_all(self._data, chunk, offset)
            offset += len(chunk)
            yield chunk


class _Wait:
    """Pauses of a follower at the end of the data file: short at first, longer while nothing
    comes; TransferError when the writer made no progress for `timeout` seconds."""

    def __init__(self, timeout: float):
        self._timeout = timeout
        self.reset()

    def reset(self) -> None:
        self._pause = _FIRST_PAUSE
        self._since = time.monotonic()

    def pause(self, position: int) -> None:
        if time.monotonic() - self._since > self._timeout:
            raise TransferError(
                f"the process reading the master made no progress for {self._timeout:g} s "
                f"(after {position} bytes)"
            )
        time.sleep(self._pause)
        self._pause = min(self._pause * 2, _LONGEST_PAUSE)


@contextmanager
def _disk_errors(path: str) -> Iterator[None]:
    """OSError of the cache's own files as TransferError: an OSError raised while the upload
    request reads the stream would pass for a failure of the connection to Glance."""
    try:
        yield
    except OSError as error:
        raise TransferError(f"the cache {path}: {error.strerror or error}") from None


@contextmanager
def _locked(path: str) -> Iterator[None]:
    """An exclusive flock on `path` (created if needed) for the block."""
    fd = open_file(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _streaming(
    chunks: Iterator[bytes], image: Image, **checks: Callable[[], None]
) -> Iterator[VerifyingStream]:
    """A verifying stream over `chunks` (`checks`: its `on_verified` or `vouched`), closed (and
    with them the download) at the end."""
    try:
        yield VerifyingStream(chunks, image, **checks)
    finally:
        chunks.close()


def _lazily(fetch: Fetch) -> Iterator[bytes]:
    """The chunks of `fetch()`, which starts at the first one; closing it closes the download."""
    yield from fetch()


def _replace_with_empty(path: str) -> None:
    """Put a new empty file in the place of `path`, at once (who holds the old one keeps it)."""
    fd, new = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".replacing-")
    os.close(fd)
    os.replace(new, path)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
