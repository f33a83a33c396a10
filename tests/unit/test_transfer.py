"""The verifying stream: bytes flow through, and a mismatch withholds the end of the stream."""

import hashlib

import pytest

from glancesync.image import Image
from glancesync.transfer import IntegrityError, VerifyingStream

DATA = bytes(range(256)) * 4096  # 1 MiB


def master(data=DATA, **changes):
    fields = dict(
        id="m",
        name="img",
        size=len(data),
        checksum=hashlib.md5(data).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(data).hexdigest(),
    )
    fields.update(changes)
    return Image(**fields)


def chunks(data, size=100_000):
    return [data[i : i + size] for i in range(0, len(data), size)]


def read_all(stream, size=65536):
    parts = []
    while part := stream.read(size):
        parts.append(part)
    return b"".join(parts)


def test_matching_bytes_flow_through_unchanged():
    stream = VerifyingStream(chunks(DATA), master())
    assert read_all(stream) == DATA
    assert stream.bytes_read == len(DATA)


def test_read_without_size_returns_everything():
    assert VerifyingStream(chunks(DATA), master()).read() == DATA


def test_corrupted_byte_is_caught_before_the_stream_ends():
    corrupted = DATA[:1000] + b"X" + DATA[1001:]
    stream = VerifyingStream(chunks(corrupted), master())
    with pytest.raises(IntegrityError, match="md5"):
        read_all(stream)


def test_short_stream_is_a_size_mismatch():
    with pytest.raises(IntegrityError, match="size"):
        read_all(VerifyingStream(chunks(DATA[:-1]), master()))


def test_other_hash_mismatch_is_caught_even_when_md5_matches():
    wrong = master(os_hash_value="0" * 128)
    with pytest.raises(IntegrityError, match="sha512"):
        read_all(VerifyingStream(chunks(DATA), wrong))


def test_image_without_hashes_is_checked_by_size_only():
    loose = master(checksum=None, os_hash_value=None)
    assert read_all(VerifyingStream(chunks(DATA), loose)) == DATA
