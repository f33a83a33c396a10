"""Formats are known, not guessed (§10): each test image's verdict, where the inspection
decides, how the verifying stream breaks off at a refusal, and the verdicts remembered."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from formatimages import TestImage, bad_images, good_images, raw_disk
from planted import plant_link, shared_folder

from glancesync.cache import MasterCache
from glancesync.formats import (
    FIRST_PART,
    INSPECTED_DISK_FORMATS,
    Inspection,
    Judgement,
    Verdict,
    VerdictMemory,
    inspect_head,
    inspector_module,
    verdict_of,
)
from glancesync.image import Image
from glancesync.transfer import CHUNK_SIZE, FormatRefused, IntegrityError, VerifyingStream

CASES = [*good_images(), *bad_images()]


def declared(test_image: TestImage, container_format: str = "bare", **changes) -> Image:
    data = test_image.data
    image = Image(
        id=f"id-{test_image.name}",
        name=test_image.name,
        size=len(data),
        checksum=hashlib.md5(data).hexdigest(),
        os_hash_algo="sha512",
        os_hash_value=hashlib.sha512(data).hexdigest(),
        disk_format=test_image.disk_format,
        container_format=container_format,
    )
    return replace(image, **changes)


def inspected(test_image: TestImage, chunk_size: int = CHUNK_SIZE) -> Verdict:
    inspection = Inspection(declared(test_image))
    data = test_image.data
    for offset in range(0, len(data), chunk_size):
        inspection.feed(data[offset : offset + chunk_size])
    return inspection.finish()


def read_all(stream: VerifyingStream) -> bytes:
    parts = []
    while part := stream.read(65536):
        parts.append(part)
    return b"".join(parts)


@pytest.mark.parametrize("test_image", CASES, ids=lambda case: case.name)
def test_each_image_is_judged_by_what_its_bytes_are(test_image: TestImage):
    verdict = inspected(test_image)
    assert verdict.detected == test_image.detected
    assert verdict.declared == f"{test_image.disk_format}/bare"
    if test_image.refused_because is None:
        assert verdict.judgement is Judgement.ACCEPTED
        assert verdict.reason is None
    else:
        assert verdict.judgement is Judgement.REFUSED
        assert test_image.refused_because in verdict.reason
        assert verdict.failed_checks == (
            (test_image.failed_check,) if test_image.failed_check else ()
        )


@pytest.mark.parametrize("test_image", CASES, ids=lambda case: case.name)
def test_the_verdict_does_not_depend_on_how_the_bytes_are_cut(test_image: TestImage):
    assert inspected(test_image, 4096) == inspected(test_image, 3 * CHUNK_SIZE)


def test_a_mismatch_names_the_failed_safety_check_too():
    backing = next(case for case in bad_images() if case.name == "qcow2-backing-file")
    verdict = inspected(TestImage("backing-declared-raw", backing.data, "raw", "qcow2"))
    assert verdict.failed_checks == ("backing_file",)
    assert "the content is not raw" in verdict.reason
    assert verdict.describe().startswith("declared raw/bare, detected qcow2: ")


def test_iso_content_declared_raw_is_refused():
    iso_image = next(case for case in good_images() if case.name == "good-iso")
    verdict = inspected(TestImage("iso-declared-raw", iso_image.data, "raw", "iso"))
    assert verdict.refused


@pytest.mark.parametrize("disk_format", ["ami", "aki", "ari"])
def test_amazon_formats_accept_raw_content(disk_format: str):
    verdict = inspected(TestImage("kernel", raw_disk(), disk_format, "raw"))
    assert verdict.judgement is Judgement.ACCEPTED


def test_a_large_image_is_decided_from_its_head():
    large = TestImage("large", raw_disk() * 8, "raw", "raw")
    inspection = Inspection(declared(large))
    for offset in range(0, len(large.data), CHUNK_SIZE):
        if inspection.feed(large.data[offset : offset + CHUNK_SIZE]):
            break
    assert inspection.verdict.judgement is Judgement.ACCEPTED
    assert inspection.bytes_inspected == CHUNK_SIZE


@pytest.mark.parametrize(
    ("container_format", "disk_format"),
    [("ova", "vmdk"), ("docker", "raw"), ("compressed", "qcow2"), (None, "raw"), ("bare", "ploop")],
)
def test_archives_and_unknown_formats_are_not_inspectable(container_format, disk_format):
    image = declared(TestImage("x", b"", disk_format, ""), container_format)
    verdict = verdict_of(image)
    assert verdict.judgement is Judgement.NOT_INSPECTABLE
    assert "is not inspected" in verdict.reason
    assert Inspection(image).finish() == verdict


def test_every_inspected_disk_format_has_an_inspector():
    known = set(inspector_module().ALL_FORMATS)
    assert {"ami", "aki", "ari"} | known >= INSPECTED_DISK_FORMATS


def test_a_run_that_inspects_no_byte_does_not_import_the_inspector():
    code = "import sys, glancesync.cli; print('oslo_utils' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
        == "False\n"
    )


@pytest.mark.parametrize("container_format", ["bare", "ovf", "ami"])
def test_bare_ovf_and_amazon_containers_are_inspected(container_format: str):
    assert verdict_of(declared(good_images()[0], container_format)) is None


# --- the head of an image, read in parts


class Parts:
    """A master that answers Range requests on `data`, 4 KiB per chunk, and counts them."""

    def __init__(self, data: bytes):
        self.data = data
        self.requests: list[tuple[int, int]] = []

    def __call__(self, start: int, length: int):
        self.requests.append((start, length))
        part = self.data[start : start + length]
        for offset in range(0, len(part), 4096):
            yield part[offset : offset + 4096]


@pytest.mark.parametrize("test_image", CASES, ids=lambda case: case.name)
def test_the_head_gives_the_verdict_of_the_whole(test_image: TestImage):
    checked = inspect_head(declared(test_image), Parts(test_image.data))
    assert checked.verdict == inspected(test_image)


def test_a_large_image_is_judged_from_one_part_of_its_head():
    large = TestImage("large", raw_disk() * 64, "raw", "raw")
    parts = Parts(large.data)
    checked = inspect_head(declared(large), parts)
    assert checked.verdict.judgement is Judgement.ACCEPTED
    assert parts.requests == [(0, FIRST_PART)]
    assert checked.bytes_read == FIRST_PART


def test_an_image_judged_at_its_end_is_read_whole_in_parts_twice_the_last():
    vmdk = next(case for case in good_images() if case.name == "stream-optimized-vmdk")
    parts = Parts(vmdk.data)
    checked = inspect_head(declared(vmdk), parts)
    assert checked.bytes_read == len(vmdk.data) > 4 * FIRST_PART
    lengths = [length for _, length in parts.requests]
    assert lengths == [FIRST_PART * 2**index for index in range(len(lengths))]


def test_an_image_undecided_at_the_limit_has_no_verdict():
    vmdk = next(case for case in good_images() if case.name == "stream-optimized-vmdk")
    parts = Parts(vmdk.data)
    checked = inspect_head(declared(vmdk), parts, limit=FIRST_PART)
    assert (checked.verdict, checked.bytes_read) == (None, FIRST_PART)
    assert parts.requests == [(0, FIRST_PART)]


def test_a_master_that_stops_sending_before_the_size_is_an_error():
    head = TestImage("head", raw_disk()[:100_000], "raw", "raw")
    image = replace(declared(head), size=10 * len(head.data))
    with pytest.raises(EOFError):
        inspect_head(image, Parts(head.data))


# --- the verifying stream


@pytest.mark.parametrize("test_image", good_images(), ids=lambda case: case.name)
def test_a_good_image_flows_through_the_stream_whole(test_image: TestImage):
    stream = VerifyingStream([test_image.data], declared(test_image))
    assert read_all(stream) == test_image.data
    assert stream.inspection.verdict.judgement is Judgement.ACCEPTED


@pytest.mark.parametrize("test_image", bad_images(), ids=lambda case: case.name)
def test_a_bad_image_never_ends_its_stream(test_image: TestImage):
    chunks = [test_image.data[i : i + 4096] for i in range(0, len(test_image.data), 4096)]
    stream = VerifyingStream(chunks, declared(test_image))
    with pytest.raises(FormatRefused) as refusal:
        read_all(stream)
    assert refusal.value.verdict == inspected(test_image)
    with pytest.raises(FormatRefused):  # however often asked
        stream.read(65536)


def test_a_refusal_decided_from_the_head_passes_nothing_on():
    unsafe = next(case for case in bad_images() if case.name == "qcow2-data-file")
    padded = TestImage("padded", unsafe.data.ljust(4 * CHUNK_SIZE, b"\0"), "qcow2", "qcow2")
    stream = VerifyingStream([padded.data[:CHUNK_SIZE], padded.data[CHUNK_SIZE:]], declared(padded))
    with pytest.raises(FormatRefused, match="data_file"):
        stream.read(65536)


def test_bytes_that_are_not_the_masters_are_an_integrity_error_not_a_verdict():
    good = good_images()[0]
    stream = VerifyingStream([good.data[:-1] + b"X"], declared(good))
    with pytest.raises(IntegrityError):
        read_all(stream)


# --- the shared master cache


def test_a_refused_image_is_never_published_in_the_cache(tmp_path):
    bad = next(case for case in bad_images() if case.name == "qcow2-backing-file")
    cache = MasterCache(str(tmp_path), stall_timeout=5)
    chunks = [bad.data[i : i + 4096] for i in range(0, len(bad.data), 4096)]
    with pytest.raises(FormatRefused), cache.stream(declared(bad), lambda: iter(chunks)) as writer:
        read_all(writer)
    assert not (tmp_path / "id-qcow2-backing-file.done").exists()
    assert (tmp_path / "id-qcow2-backing-file.data").stat().st_size == 0


@pytest.mark.parametrize("test_image", bad_images(), ids=lambda case: case.name)
def test_bad_bytes_read_from_the_cache_are_refused_too(tmp_path, test_image: TestImage):
    """Bytes in the cache, published as if a run had verified them, are inspected again."""
    image = declared(test_image)
    (tmp_path / f"{image.id}.lock").write_text(str(image.size))
    (tmp_path / f"{image.id}.data").write_bytes(test_image.data)
    (tmp_path / f"{image.id}.done").touch()
    cache = MasterCache(str(tmp_path), stall_timeout=5)
    with cache.stream(image, lambda: pytest.fail("the master is not read")) as stream:
        with pytest.raises(FormatRefused):
            read_all(stream)


# --- verdicts remembered


@pytest.fixture
def memory(tmp_path) -> VerdictMemory:
    return VerdictMemory(str(tmp_path))


BAD = bad_images()[0]


def test_a_refusal_is_recalled_for_the_same_image_and_content(memory):
    memory.remember(declared(BAD), inspected(BAD))
    assert memory.recall(declared(BAD)) == inspected(BAD)


def test_the_refusals_of_many_images_are_read_from_one_listing_of_the_memory(memory):
    good = declared(good_images()[0])
    memory.remember(declared(BAD), inspected(BAD))
    images = [declared(BAD), good, *(replace(good, id=f"other-{n}") for n in range(100))]
    assert memory.refusals(images) == {declared(BAD).id: inspected(BAD)}
    assert VerdictMemory(memory.parent + "/none").refusals(images) == {}


def test_an_accepted_verdict_is_not_kept_and_makes_no_folder(memory, tmp_path):
    good = good_images()[0]
    memory.remember(declared(good), inspected(good))
    assert memory.recall(declared(good)) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "changes",
    [{"checksum": "0" * 32}, {"os_hash_value": "0" * 128}, {"disk_format": "raw"}, {"id": "other"}],
    ids=["checksum", "os_hash_value", "disk_format", "id"],
)
def test_a_refusal_speaks_only_for_the_same_content_and_formats(memory, changes):
    memory.remember(declared(BAD), inspected(BAD))
    assert memory.recall(replace(declared(BAD), **changes)) is None


def test_an_image_id_names_no_file_outside_the_memory(memory, tmp_path):
    image = declared(BAD, id="../../escape")
    memory.remember(image, inspected(BAD))
    assert memory.recall(image) == inspected(BAD)
    assert sorted(os.listdir(tmp_path)) == ["glancesync-verdicts"]


def test_the_memory_folder_is_this_accounts_alone(memory):
    memory.remember(declared(BAD), inspected(BAD))
    assert os.stat(memory.directory).st_mode & 0o777 == 0o700


def test_a_memory_folder_others_may_write_is_not_used(memory, tmp_path):
    memory.remember(declared(BAD), inspected(BAD))
    os.chmod(memory.directory, 0o777)
    assert memory.recall(declared(BAD)) is None


def test_a_planted_link_in_place_of_the_memory_folder_is_not_followed():
    with shared_folder() as shared:
        (shared / "elsewhere").mkdir(mode=0o700)
        plant_link(shared / "glancesync-verdicts", shared / "elsewhere")
        memory = VerdictMemory(str(shared))
        memory.remember(declared(BAD), inspected(BAD))
        assert list((shared / "elsewhere").iterdir()) == []
        assert memory.recall(declared(BAD)) is None


def test_a_planted_link_in_place_of_a_verdict_is_not_followed(memory, tmp_path):
    image = declared(BAD)
    memory.remember(image, inspected(BAD))
    (path,) = (os.path.join(memory.directory, name) for name in os.listdir(memory.directory))
    target = tmp_path / "target.json"
    os.rename(path, target)
    os.symlink(target, path)
    assert memory.recall(image) is None


def test_a_damaged_verdict_file_is_ignored(memory):
    image = declared(BAD)
    memory.remember(image, inspected(BAD))
    (name,) = os.listdir(memory.directory)
    with open(os.path.join(memory.directory, name), "w") as handle:
        handle.write('{"image": ')
    assert memory.recall(image) is None
