"""Moving image bytes: a file-like stream that verifies size and hashes while they flow.

The verifying stream withholds its end: when the last byte has been read and the size or a
hash differs from what the master announced, `read` raises instead of returning the final
empty chunk, so the upload request breaks off and Glance never activates the image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from glancesync.image import Image


class IntegrityError(Exception):
    """The bytes that flowed are not the master's: size or hash differ."""


class VerifyingStream:
    """A readable file-like object over an iterable of chunks, checked against `expected`."""

    def __init__(self, chunks: Iterable[bytes], expected: Image):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._expected = expected
        self._buffer = b""
        self._finished = False
        self.bytes_read = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash = _new_hash(expected.os_hash_algo) if expected.os_hash_value else None

    def read(self, size: int = -1) -> bytes:
        while not self._finished and (size < 0 or len(self._buffer) < size):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._finished = True
                self.verify()
            elif chunk:
                self._take(chunk)
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def verify(self) -> None:
        """Raise IntegrityError unless the bytes read match the expected size and hashes."""
        expected = self._expected
        problems = []
        if expected.size is not None and self.bytes_read != expected.size:
            problems.append(f"size {self.bytes_read} instead of {expected.size}")
        if expected.checksum and self._md5.hexdigest() != expected.checksum:
            problems.append(f"md5 {self._md5.hexdigest()} instead of {expected.checksum}")
        if self._hash is not None and self._hash.hexdigest() != expected.os_hash_value:
            problems.append(f"{expected.os_hash_algo} differs from the master's")
        if problems:
            raise IntegrityError("; ".join(problems))

    def _take(self, chunk: bytes) -> None:
        self.bytes_read += len(chunk)
        self._md5.update(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        self._buffer += chunk


def _new_hash(algorithm: str | None):
    """A hashlib object for Glance's os_hash_algo, or None when this Python lacks it."""
    try:
        return hashlib.new(algorithm or "sha512")
    except ValueError:
        return None
