"""Moving image bytes: a file-like stream that verifies size and hashes while they flow.

The verifying stream withholds its end: when the last byte has been read and the size or a
hash differs from what the master announced, `read` raises instead of returning the final
empty chunk, so the upload request breaks off and Glance never activates the image. It also
inspects the bytes' format (`formats.Inspection`): a refusal raises at once, before the chunk
that decided it is passed on, or at the end in place of the final empty chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator

from glancesync.formats import Inspection, Verdict
from glancesync.image import Image

# Bytes per chunk, downloaded, read from the cache and uploaded (a read of the stream returns
# at most one chunk). Measured with bench/chunks.py (bench/README.md): downloads run at
# 1.5-2.5 GiB/s at every size from 64 KiB to 4 MiB; uploads to a Glance served by gunicorn,
# which copies the rest of a chunk on each of its 64 KiB reads, at ~170 MiB/s up to 512 KiB
# and 120-140 MiB/s from 1 MiB; the verified pipe was fastest at 256-512 KiB.
CHUNK_SIZE = 256 * 1024


class TransferError(Exception):
    """Moving the master's bytes failed (their source, not Glance's API)."""


class IntegrityError(TransferError):
    """The bytes that flowed are not the master's: size or hash differ."""


class FormatRefused(TransferError):
    """The bytes that flowed are not what the image declares, or are not safe (§10)."""

    def __init__(self, verdict: Verdict):
        super().__init__(f"format refused: {verdict.describe()}")
        self.verdict = verdict


class VerifyingStream:
    """A readable file-like object over an iterable of chunks, checked against `expected`:
    its size and hashes, and its format.

    `on_verified` is called once, when the last byte has been read and everything matched,
    before the final empty read is returned. Every byte is copied at most once: a chunk that
    fits the read is returned as it is.

    `vouched`, when given, stands for the hashes: the stream computes none (hashing, the
    costliest step of a copy, is done once per image and run) and checks the size and format
    only; at the end it calls `vouched`, which returns once another stream verified these very
    bytes, or raises TransferError.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        expected: Image,
        on_verified: Callable[[], None] | None = None,
        vouched: Callable[[], None] | None = None,
    ):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._expected = expected
        self._on_verified = on_verified
        self._vouched = vouched
        self.inspection = Inspection(expected)
        self._chunk = b""
        self._offset = 0  # bytes of _chunk already returned
        self._finished = False
        self._failure: TransferError | None = None
        self.bytes_read = 0
        hashed = vouched is None
        self._md5 = hashlib.md5(usedforsecurity=False) if hashed else None
        self._hash = _new_hash(expected.os_hash_algo) if hashed and expected.os_hash_value else None

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))
        if self._failure is not None:  # never an end after a refusal, however often asked
            raise self._failure
        while self._offset >= len(self._chunk) and not self._finished:
            self._next_chunk()
        if self._offset == 0 and size >= len(self._chunk):
            data, self._chunk = self._chunk, b""
            return data
        data = self._chunk[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def verify(self) -> None:
        """Raise IntegrityError unless the bytes read match the expected size and hashes (the
        size only, when another stream vouches for the hashes)."""
        expected = self._expected
        problems = []
        if expected.size is not None and self.bytes_read != expected.size:
            problems.append(f"size {self.bytes_read} instead of {expected.size}")
        md5 = self._md5
        if expected.checksum and md5 is not None and md5.hexdigest() != expected.checksum:
            problems.append(f"md5 {md5.hexdigest()} instead of {expected.checksum}")
        if self._hash is not None and self._hash.hexdigest() != expected.os_hash_value:
            problems.append(f"{expected.os_hash_algo} differs from the master's")
        if problems:
            raise IntegrityError("; ".join(problems))

    def _next_chunk(self) -> None:
        """Take the next chunk into the hashes and the inspection; at the end, verify and
        judge the format. Raises, and keeps raising, on a mismatch or a refused format."""
        chunk = next(self._chunks, None)
        self._chunk, self._offset = chunk or b"", 0  # never returned after a raise: _failure
        try:
            if chunk is None:
                self._finished = True
                self.verify()
                self._judge(self.inspection.finish())
                if self._vouched is not None:
                    self._vouched()
                if self._on_verified is not None:
                    self._on_verified()
                return
            self.bytes_read += len(chunk)
            if self._md5 is not None:
                self._md5.update(chunk)
            if self._hash is not None:
                self._hash.update(chunk)
            self._judge(self.inspection.feed(chunk))
        except TransferError as failure:
            self._failure = failure
            raise

    @staticmethod
    def _judge(verdict: Verdict | None) -> None:
        if verdict is not None and verdict.refused:
            raise FormatRefused(verdict)


def _new_hash(algorithm: str | None):
    """A hashlib object for Glance's os_hash_algo, or None when this Python lacks it."""
    try:
        return hashlib.new(algorithm or "sha512")
    except ValueError:
        return None
