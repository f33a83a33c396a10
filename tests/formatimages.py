"""Test images of §10, made by the tests: with qemu-img (Debian's qemu-utils, installed by
tools/bootstrap) or as byte-exact headers written here. Each `TestImage` has its bytes, the
disk_format it is declared with, and what the inspection says of it.

Good: raw, qcow2, vmdk (monolithicSparse; streamOptimized, judged at its end), iso, a raw disk
with an MBR (detected gpt), a hybrid ISO (iso+gpt).
Bad: a qcow2 with a backing file, a qcow2 with an external data file, a VMDK whose extent is a
host file, a qcow2 declared raw, a vmdk declared qcow2, random bytes declared qcow2.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SECTOR = 512
VIRTUAL_SIZE = 1024 * 1024  # bytes of each disk
GD_OFFSET = 56  # where a VMDK sparse header has the grain directory's offset


@dataclass(frozen=True)
class TestImage:
    name: str
    data: bytes
    disk_format: str
    detected: str  # what the inspector finds
    refused_because: str | None = None  # a part of the reason of a refusal; None: accepted
    failed_check: str | None = None  # oslo's name of the safety check that fails
    # How it is planted in the master: Glance >= 30 refuses unsafe content (a backing file, a
    # data file, a host extent) uploaded with container_format bare, and only warns of a
    # mismatch; it inspects no other container format, so the unsafe ones come as ovf, as they
    # exist in federations whose Glance is older.
    container_format: str = "bare"

    __test__ = False  # not a test class, whatever its name


def raw_disk() -> bytes:
    """A raw disk without partition table: a pattern no inspector recognises."""
    return bytes(range(1, 256)) * (VIRTUAL_SIZE // 255) + b"\x01" * (VIRTUAL_SIZE % 255)


def with_mbr(data: bytes, partition_type: int, first: int, sectors: int) -> bytes:
    """`data` with a one-partition MBR in its first sector (bootable partition 1)."""
    entry = struct.pack("<B3BB3BII", 0x80, 0, 2, 0, partition_type, 0, 0, 0, first, sectors)
    mbr = data[:446] + entry + bytes(48) + b"\x55\xaa"
    return mbr + data[SECTOR:]


def iso(blocks: int = 32) -> bytes:
    """An ISO 9660 image: 16 empty system blocks, a primary volume descriptor, a terminator."""
    block = 2048
    pvd = bytearray(block)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)
    pvd[128:132] = struct.pack("<H", block) + struct.pack(">H", block)
    terminator = b"\xffCD001\x01".ljust(block, b"\x00")
    return bytes(16 * block) + bytes(pvd) + terminator + bytes((blocks - 18) * block)


def random_bytes() -> bytes:
    return random.Random(14).randbytes(VIRTUAL_SIZE)


def qemu_img(*arguments: str) -> None:
    if shutil.which("qemu-img") is None:
        pytest.fail("qemu-img is missing: run tools/bootstrap as root (installs qemu-utils)")
    subprocess.run(["qemu-img", *arguments], check=True, capture_output=True)


def converted(disk_format: str, *options: str, disk: bytes | None = None) -> bytes:
    """The raw disk (or `disk`) converted by qemu-img to `disk_format`."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "disk.raw"), Path(folder, "disk.out")
        source.write_bytes(raw_disk() if disk is None else disk)
        qemu_img("convert", "-f", "raw", "-O", disk_format, *options, str(source), str(target))
        return target.read_bytes()


def created(*options: str) -> bytes:
    """A new qcow2 of VIRTUAL_SIZE made by `qemu-img create` with `options`."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder, "disk.qcow2")
        qemu_img("create", "-f", "qcow2", *options, str(target), str(VIRTUAL_SIZE))
        return target.read_bytes()


def vmdk_with_host_extent() -> bytes:
    """A monolithicSparse VMDK whose embedded descriptor names /etc/hostname as a flat extent
    (the descriptor is rewritten in place, same length)."""
    data = converted("vmdk")
    start = data.index(b'RW 2048 SPARSE "')
    end = data.index(b"\n", start)
    extent = b'RW 2048 FLAT "/etc/hostname" 0'
    return data[:start] + extent.ljust(end - start, b" ") + data[end:]


def stream_optimized_vmdk() -> bytes:
    """A streamOptimized VMDK of incompressible content whose grain directory is found in the
    footer at its end, as VMware writes them (qemu-img's, rewritten: its header says
    "at the end", and a footer marker, the footer and the end-of-stream marker follow)."""
    data = converted("vmdk", "-o", "subformat=streamOptimized", disk=random_bytes() * 2)
    header = data[:SECTOR]
    at_end = header[:GD_OFFSET] + b"\xff" * 8 + header[GD_OFFSET + 8 :]
    footer_marker = struct.pack("<QII", 1, 0, 3).ljust(SECTOR, b"\0")
    return at_end + data[SECTOR:] + footer_marker + header + bytes(SECTOR)


@cache
def good_images() -> tuple[TestImage, ...]:
    return (
        TestImage("good-raw", raw_disk(), "raw", "raw"),
        TestImage("good-qcow2", converted("qcow2"), "qcow2", "qcow2"),
        TestImage("good-vmdk", converted("vmdk"), "vmdk", "vmdk"),
        TestImage("stream-optimized-vmdk", stream_optimized_vmdk(), "vmdk", "vmdk"),
        TestImage("good-iso", iso(), "iso", "iso"),
        TestImage("mbr-raw", with_mbr(raw_disk(), 0x83, 1, 2047), "raw", "gpt"),
        TestImage("hybrid-iso", with_mbr(iso(), 0x17, 0, 64), "iso", "iso+gpt"),
    )


@cache
def bad_images() -> tuple[TestImage, ...]:
    with tempfile.TemporaryDirectory() as folder:
        data_file = created("-o", f"data_file={folder}/host-data.raw")
    return (
        TestImage(
            "qcow2-backing-file",
            created("-b", "/etc/hostname", "-F", "raw"),
            "qcow2",
            "qcow2",
            "safety check backing_file failed",
            "backing_file",
            "ovf",
        ),
        TestImage(
            "qcow2-data-file",
            data_file,
            "qcow2",
            "qcow2",
            "safety check data_file failed",
            "data_file",
            "ovf",
        ),
        TestImage(
            "vmdk-host-extent",
            vmdk_with_host_extent(),
            "vmdk",
            "vmdk",
            "safety check descriptor failed",
            "descriptor",
            "ovf",
        ),
        TestImage("qcow2-declared-raw", converted("qcow2"), "raw", "qcow2", "is not raw"),
        TestImage("vmdk-declared-qcow2", converted("vmdk"), "qcow2", "vmdk", "is not qcow2"),
        TestImage("random-declared-qcow2", random_bytes(), "qcow2", "raw", "is not qcow2"),
    )
