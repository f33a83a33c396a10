"""The run's cache of master bytes, without servers: `fetch` stands for a master download."""

from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import shutil
import time
from contextlib import ExitStack, contextmanager

import pytest

from glancesync.cache import (
    DIRECTORY_PREFIX,
    RESERVATIONS_LOCK,
    HandOffLost,
    MasterCache,
    _Consumer,
    master_stream,
    run_cache,
)
from glancesync.errors import ConfigError
from glancesync.image import Image
from glancesync.transfer import CHUNK_SIZE, IntegrityError, TransferError, VerifyingStream

DATA = os.urandom(3 * CHUNK_SIZE + 12345)


class Boom(Exception):
    """The upload of a consumer fails."""


def image_of(data: bytes = DATA, image_id: str = "m1") -> Image:
    return Image(
        id=image_id,
        name=f"image-{image_id}",
        size=len(data),
        checksum=hashlib.md5(data).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(data).hexdigest(),
    )


class Master:
    """A fetch that serves `data` in chunks and counts the downloads it started."""

    def __init__(self, data: bytes = DATA):
        self.data = data
        self.downloads = 0

    def __call__(self):
        self.downloads += 1
        return (self.data[i : i + CHUNK_SIZE] for i in range(0, len(self.data), CHUNK_SIZE))


def read_all(stream: VerifyingStream) -> bytes:
    return b"".join(iter(lambda: stream.read(CHUNK_SIZE), b""))


def files(cache: MasterCache) -> set[str]:
    return set(os.listdir(cache.directory)) - {RESERVATIONS_LOCK}


@pytest.fixture
def cache(tmp_path) -> MasterCache:
    return MasterCache(str(tmp_path), stall_timeout=5)


def test_the_first_consumer_reads_the_master_and_later_ones_the_cache(cache):
    master = Master()
    for _ in range(3):
        with cache.stream(image_of(), master) as stream:
            assert read_all(stream) == DATA
    assert master.downloads == 1
    assert files(cache) == {"m1.lock", "m1.data", "m1.done"}


def test_a_follower_reads_the_growing_file_while_the_writer_works(cache):
    master = Master()
    with cache.stream(image_of(), master) as writer, cache.stream(image_of(), master) as follower:
        for offset in range(0, len(DATA), CHUNK_SIZE):  # the follower keeps up, chunk by chunk
            chunk = writer.read(CHUNK_SIZE)
            assert follower.read(CHUNK_SIZE) == chunk == DATA[offset : offset + CHUNK_SIZE]
        assert writer.read(CHUNK_SIZE) == b""  # verified: published
        assert follower.read(CHUNK_SIZE) == b""
    assert master.downloads == 1


def test_only_the_writer_hashes_and_a_follower_ends_once_the_writer_published(cache):
    master = Master()
    with cache.stream(image_of(), master) as writer, cache.stream(image_of(), master) as follower:
        assert (writer._md5 is None, follower._md5 is None) == (False, True)
        assert read_all(writer) == DATA
        assert read_all(follower) == DATA
    assert master.downloads == 1


@contextmanager
def follower_of_a_writer_that_gave_up(cache: MasterCache, master: Master, chunks: int):
    """A follower that passed on `chunks` chunks of a writer which then gave up (its upload
    failed)."""
    with ExitStack() as writing:
        writer = writing.enter_context(cache.stream(image_of(), master))
        with cache.stream(image_of(), master) as follower:
            for offset in range(0, chunks * CHUNK_SIZE, CHUNK_SIZE):
                writer.read(CHUNK_SIZE)
                assert follower.read(CHUNK_SIZE) == DATA[offset : offset + CHUNK_SIZE]
            writing.close()
            yield follower


def test_a_follower_whose_writer_stops_fails_without_an_end_and_a_new_consumer_writes(cache):
    master = Master()
    with follower_of_a_writer_that_gave_up(cache, master, 2) as follower:
        with pytest.raises(HandOffLost):
            read_all(follower)
    with cache.stream(image_of(), master) as again:  # the retried upload: the new writer
        assert read_all(again) == DATA
    assert master.downloads == 2
    assert files(cache) == {"m1.lock", "m1.data", "m1.done"}


def test_a_follower_never_takes_a_later_writers_publication_for_its_own(cache):
    master = Master()
    with follower_of_a_writer_that_gave_up(cache, master, 1) as follower:
        with cache.stream(image_of(), master) as second_writer:
            assert read_all(second_writer) == DATA  # published
        with pytest.raises(HandOffLost):
            follower.read(CHUNK_SIZE)


def test_a_follower_of_a_killed_writer_never_goes_on_with_a_new_writers_bytes(cache):
    """A writer killed unawares (SIGKILL) leaves its bytes and lets go of its lock without
    replacing its file: the next writer puts a new file in its place."""
    master = Master()
    assert cache._reserve(image_of())
    killed = _Consumer(cache, image_of())
    written = killed.chunks(master)
    next(written), next(written)
    follower = _Consumer(cache, image_of()).chunks(master)
    assert next(follower) == DATA[:CHUNK_SIZE]
    os.close(killed._data), os.close(killed._lock)  # killed: no __exit__
    new_writer = _Consumer(cache, image_of())
    assert new_writer.writing
    assert next(follower) == DATA[CHUNK_SIZE : 2 * CHUNK_SIZE]  # the killed writer's, in its file
    with pytest.raises(HandOffLost):
        next(follower)
    new_writer.__exit__(None, None, None)


def test_bytes_that_do_not_verify_are_not_published_and_fail_the_followers(cache):
    corrupt = Master(DATA[:100] + b"X" + DATA[101:])
    with ExitStack() as writing:
        writer = writing.enter_context(cache.stream(image_of(), corrupt))
        with cache.stream(image_of(), corrupt) as follower:
            for _ in range(0, len(DATA), CHUNK_SIZE):
                assert writer.read(CHUNK_SIZE) == follower.read(CHUNK_SIZE)
            with pytest.raises(IntegrityError, match="md5"):
                writer.read(CHUNK_SIZE)
            writing.close()
            with pytest.raises(HandOffLost):
                follower.read(CHUNK_SIZE)
    assert corrupt.downloads == 1
    assert "m1.done" not in files(cache)
    assert os.path.getsize(os.path.join(cache.directory, "m1.data")) == 0

    master = Master()
    with cache.stream(image_of(), master) as later:  # a later consumer reads the master again
        assert read_all(later) == DATA
    assert master.downloads == 1


def test_a_follower_gives_up_on_a_writer_that_makes_no_progress(tmp_path):
    cache = MasterCache(str(tmp_path), stall_timeout=0.2)
    with cache.stream(image_of(), Master()) as writer, cache.stream(image_of(), Master()) as stuck:
        writer.read(CHUNK_SIZE)
        stuck.read(CHUNK_SIZE)
        with pytest.raises(TransferError, match="no progress for 0.2 s"):
            stuck.read(CHUNK_SIZE)


def test_an_image_that_does_not_fit_is_read_from_the_master_by_every_consumer(tmp_path):
    cache = MasterCache(str(tmp_path), max_size=len(DATA))
    small, large = Master(DATA[:CHUNK_SIZE]), Master()
    for _ in range(2):
        for master, image in ((small, image_of(small.data, "s")), (large, image_of(DATA, "l"))):
            with cache.stream(image, master) as stream:
                assert read_all(stream) == master.data
    assert (small.downloads, large.downloads) == (1, 2)
    assert files(cache) == {"s.lock", "s.data", "s.done"}


def test_without_a_cache_every_stream_reads_the_master():
    master = Master()
    for _ in range(2):
        with master_stream(None, image_of(), master) as stream:
            assert read_all(stream) == DATA
    assert master.downloads == 2


_downloads = None  # a child's counter of master downloads, shared by the processes


def _count_downloads_in(counter) -> None:
    global _downloads
    _downloads = counter


def _consume(cache: MasterCache) -> bool:
    """A --parallel child: one consumer of the image, counting master downloads."""

    def fetch():
        with _downloads.get_lock():
            _downloads.value += 1
        for chunk in Master()():
            time.sleep(0.05)  # a master slow enough for the others to follow
            yield chunk

    with cache.stream(image_of(), fetch) as stream:
        return read_all(stream) == DATA


def test_processes_that_need_an_image_at_once_read_the_master_once(cache):
    downloads = multiprocessing.Value("i", 0)
    context = multiprocessing.get_context("fork")
    with context.Pool(3, initializer=_count_downloads_in, initargs=(downloads,)) as pool:
        results = pool.map(_consume, [cache] * 6)
    assert results == [True] * 6
    assert downloads.value == 1


def test_the_run_cache_is_removed_when_the_run_ends_even_by_an_error(tmp_path):
    with pytest.raises(Boom), run_cache(str(tmp_path), None, 5) as cache:
        with cache.stream(image_of(), Master()) as stream:
            read_all(stream)
        assert files(cache)
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_a_run_removes_the_cache_directories_of_killed_runs(tmp_path):
    abandoned = tmp_path / f"{DIRECTORY_PREFIX}killed"
    abandoned.mkdir()
    (abandoned / "m1.data").write_bytes(DATA)
    os.utime(abandoned, (0, 0))
    with run_cache(str(tmp_path), None, 5):
        assert not abandoned.exists()


def test_a_run_keeps_the_cache_directories_of_running_or_starting_runs(tmp_path):
    running, starting = tmp_path / f"{DIRECTORY_PREFIX}running", tmp_path / f"{DIRECTORY_PREFIX}new"
    running.mkdir()
    starting.mkdir()
    os.utime(running, (0, 0))
    held = os.open(running, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        with run_cache(str(tmp_path), None, 5):
            assert running.exists() and starting.exists()
    finally:
        os.close(held)


def test_a_cache_directory_that_cannot_be_made_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="cache_dir: cannot make a directory"):
        with run_cache(str(tmp_path / "missing"), None, 5):
            pass


def test_a_failing_cache_file_fails_the_stream_as_a_transfer_error(cache):
    shutil.rmtree(cache.directory)  # e.g. a cleaner of temporary files came by
    with pytest.raises(TransferError, match=f"the cache {cache.directory}"):
        with cache.stream(image_of(), Master()):
            pass


def test_a_run_cache_of_size_0_is_no_cache(tmp_path):
    with run_cache(str(tmp_path), 0, 5) as cache:
        assert cache is None
    assert list(tmp_path.iterdir()) == []


# --- the verifying stream's hooks the cache relies on


def test_the_stream_calls_on_verified_once_when_every_byte_matched():
    calls = []
    stream = VerifyingStream([DATA], image_of(), on_verified=lambda: calls.append(1))
    assert read_all(stream) == DATA
    assert stream.read(CHUNK_SIZE) == b""
    assert calls == [1]


def test_the_stream_never_ends_after_a_mismatch():
    calls = []
    stream = VerifyingStream([DATA[:-1]], image_of(), on_verified=lambda: calls.append(1))
    stream.read(len(DATA))
    for _ in range(2):
        with pytest.raises(IntegrityError, match="size"):
            stream.read(CHUNK_SIZE)
    assert calls == []
