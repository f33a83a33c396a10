"""Formats are known, not guessed (§10): a master image's bytes judged against its declared
`disk_format` with oslo.utils' format inspector, the code Glance and Nova use.

- `Inspection(image)` is fed the image's bytes chunk by chunk as they stream; it decides as
  soon as the inspectors can (after the first 256 KiB for most images, at the end for a small
  one or a VMDK whose grain directory is at its end) and then looks at no further byte;
  `transfer.VerifyingStream` feeds one and breaks off at a refusal (`FormatRefused`).
- `verdict_of(image)`: the verdict known without reading a byte: the image is not inspectable.
- `inspect_head(image, read_part, limit)`: the verdict from as few bytes as the inspectors
  need, read in pieces from the start (HTTP Range requests), each twice the size of the last;
  none past `limit` (an image Glance copies by itself is then streamed instead, §11).
- `VerdictMemory`: the refusals of earlier reads, per master image id and checksum, in the
  cache folder, so that a refused image is not read again and --show-status can name it.

Decisions:

- Accepted pairs (declared ← detected): `raw` ← raw or gpt (a raw disk with a partition
  table); `iso` ← iso or iso+gpt (a hybrid ISO); `ami`, `aki`, `ari` ← raw; any other format
  the inspector knows ← itself. Everything else is refused: a `raw` label on qcow2, vmdk, vhd,
  vhdx, qed, vdi or luks content, and also on iso content (declare it `iso`).
- The safety checks run on whatever was detected, so a mismatch names a failed check too.
- Inspected `container_format`: `bare`, `ovf` (the disk itself, its descriptor is not in
  Glance) and `ami`/`aki`/`ari` (the disk, kernel or ramdisk itself). `ova`, `docker`,
  `compressed` and unknown ones hold an archive the inspector cannot see into; such images,
  and a `disk_format` the inspector does not know (`ploop`, none), are not inspectable.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
from collections.abc import Callable, Generator, Iterable
from contextlib import closing
from dataclasses import asdict, dataclass
from enum import Enum
from types import ModuleType

from glancesync.files import file_name, open_file, replacing
from glancesync.image import Image

LOG = logging.getLogger(__name__)

INSPECTED_CONTAINERS = frozenset({"bare", "ovf", "ami", "aki", "ari"})
# Declared disk_format -> the detected formats accepted for it (names in oslo's order); a
# format the inspector knows and that is not here accepts only itself.
_ACCEPTED = {
    "raw": {"raw", "gpt"},
    "iso": {"iso", "iso+gpt"},
    "ami": {"raw"},
    "aki": {"raw"},
    "ari": {"raw"},
}
# Glance's disk formats that have an inspector (ploop has none).
INSPECTED_DISK_FORMATS = frozenset(
    {*_ACCEPTED, "qcow2", "vhd", "vhdx", "vmdk", "vdi", "qed", "luks"}
)
FIRST_PART = 256 * 1024  # bytes: what decides most images (the VHDX inspector waits that long)
LARGEST_PART = 64 * 1024**2  # bytes read by one request of inspect_head
MEMORY_FOLDER = "glancesync-verdicts"
_LONGEST_MEMORY_FILE = 16 * 1024  # bytes: a verdict file is a few hundred


class Judgement(str, Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    NOT_INSPECTABLE = "not_inspectable"


@dataclass(frozen=True)
class Verdict:
    """What an image's bytes are, against what it declares."""

    judgement: Judgement
    declared: str  # disk_format/container_format, e.g. "qcow2/bare"
    detected: str | None = None  # e.g. "qcow2", "iso+gpt"; None when not inspected
    failed_checks: tuple[str, ...] = ()  # oslo's names: backing_file, data_file, descriptor…
    reason: str | None = None  # why refused or not inspectable

    @property
    def refused(self) -> bool:
        return self.judgement is Judgement.REFUSED

    def describe(self) -> str:
        """One line: `declared raw/bare, detected qcow2: …`."""
        line = f"declared {self.declared}"
        if self.detected:
            line += f", detected {self.detected}"
        return f"{line}: {self.reason}" if self.reason else line


def declared(image: Image) -> str:
    return f"{image.disk_format or 'none'}/{image.container_format or 'none'}"


def verdict_of(image: Image) -> Verdict | None:
    """The verdict on an image that cannot be inspected (no byte needed); None for the others."""
    if image.container_format not in INSPECTED_CONTAINERS:
        reason = f"container_format {image.container_format or 'none'} is not inspected"
    elif image.disk_format not in INSPECTED_DISK_FORMATS:
        reason = f"disk_format {image.disk_format or 'none'} is not inspected"
    else:
        return None
    return Verdict(Judgement.NOT_INSPECTABLE, declared(image), reason=reason)


@functools.cache
def inspector_module() -> ModuleType:
    """oslo.utils' format_inspector, imported when the first bytes are inspected (it adds 8 MiB
    to a process: a run that inspects nothing does without). Its warning of each failed safety
    check is silenced: the verdict names the check, once, where it is reported."""
    from oslo_utils.imageutils import format_inspector

    logging.getLogger(format_inspector.__name__).setLevel(logging.CRITICAL)
    return format_inspector


class _Pending:
    """The one chunk InspectWrapper reads next."""

    chunk = b""

    def read(self, _size: int) -> bytes:
        chunk, self.chunk = self.chunk, b""
        return chunk


class Inspection:
    """oslo's inspectors fed one image's bytes in order; `verdict` once they decided."""

    def __init__(self, image: Image):
        self._image = image
        self.verdict: Verdict | None = verdict_of(image)
        self.bytes_inspected = 0
        self._pending = _Pending()
        self._wrapper = None if self.verdict else inspector_module().InspectWrapper(self._pending)

    def feed(self, chunk: bytes) -> Verdict | None:
        """Inspect the next chunk (none once decided); the verdict, once there is one."""
        if self.verdict is None and chunk:
            self._pending.chunk = chunk
            self._wrapper.read(len(chunk))
            self.bytes_inspected += len(chunk)
            self.verdict = self._decide()
        return self.verdict

    def finish(self) -> Verdict:
        """The verdict at the end of the bytes (the inspectors still waiting match nothing)."""
        if self.verdict is None:
            self._wrapper.close()
            self.verdict = self._decide()
        assert self.verdict is not None  # at the end, oslo always decides
        return self.verdict

    def _decide(self) -> Verdict | None:
        format_inspector = inspector_module()
        try:
            matches = self._wrapper.formats
        except format_inspector.ImageFormatError as error:
            return self._refused(None, str(error))
        if matches is None:
            return None
        order = list(format_inspector.ALL_FORMATS)  # raw, qcow2, …, iso, gpt, luks
        matches = sorted(matches, key=lambda inspector: order.index(inspector.NAME))
        detected = "+".join(inspector.NAME for inspector in matches)
        problems, failed = [], []
        disk_format = self._image.disk_format or ""
        if detected not in _ACCEPTED.get(disk_format, {disk_format}):
            problems.append(f"the content is not {disk_format}")
        for inspector in matches:
            try:
                inspector.safety_check()
            except format_inspector.SafetyCheckFailed as failure:
                failed += failure.failures
                problems += (
                    f"{inspector.NAME} safety check {name} failed: {violation}"
                    for name, violation in failure.failures.items()
                )
            except format_inspector.ImageFormatError as error:
                problems.append(f"{inspector.NAME} cannot be checked: {error}")
        if problems:
            return self._refused(detected, "; ".join(problems), tuple(failed))
        return Verdict(Judgement.ACCEPTED, declared(self._image), detected)

    def _refused(self, detected: str | None, reason: str, failed: tuple[str, ...] = ()) -> Verdict:
        return Verdict(Judgement.REFUSED, declared(self._image), detected, failed, reason)


# (start, length) -> at most `length` of the image's bytes from `start` on, as chunks
ReadPart = Callable[[int, int], Generator[bytes, None, None]]


@dataclass(frozen=True)
class HeadVerdict:
    verdict: Verdict | None  # None: undecided after `limit` bytes
    bytes_read: int


def inspect_head(image: Image, read_part: ReadPart, limit: int | None = None) -> HeadVerdict:
    """The verdict on `image` from its bytes read in parts from the start (FIRST_PART, then
    each twice the last, at most LARGEST_PART) until the inspection decides or the image ends
    (at its size, or at a short part when its size is unknown); with a `limit`, no verdict
    (None) when the inspection is still undecided after that many bytes short of the end. A
    part that brings nothing before the size is reached raises EOFError."""
    inspection = Inspection(image)
    start, length = 0, FIRST_PART
    while inspection.verdict is None and (image.size is None or start < image.size):
        if limit is not None and start >= limit:
            return HeadVerdict(None, start)
        received = 0
        with closing(read_part(start, length)) as chunks:
            for chunk in chunks:
                received += len(chunk)
                if inspection.feed(chunk):
                    break
        if received == 0 and image.size is not None:
            raise EOFError(f"no bytes from offset {start} on, of {image.size}")
        start += received
        if received < length and image.size is None:
            break
        length = min(2 * length, LARGEST_PART)
    return HeadVerdict(inspection.finish(), start)


@dataclass(frozen=True)
class VerdictMemory:
    """Refusals of master images (§10), one file each in MEMORY_FOLDER under the cache folder
    `parent`, named by the image's id and checksum; a file speaks only for the same id, hashes
    and formats. The folder is made (mode 0700) by the first refusal; one that is not this
    account's alone (a link, another owner, writable by others) is not used, with a warning.
    Holds no open file: it pickles into --parallel jobs."""

    parent: str

    @property
    def directory(self) -> str:
        return os.path.join(self.parent, MEMORY_FOLDER)

    def recall(self, image: Image) -> Verdict | None:
        """The remembered refusal of `image`'s current content, if any."""
        if not self._usable(make=False):
            return None
        try:
            descriptor = open_file(self._path(image), os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as error:
            LOG.warning("%s: %s", self._path(image), error.strerror)
            return None
        with os.fdopen(descriptor, "rb") as handle:
            text = handle.read(_LONGEST_MEMORY_FILE)
        try:
            record = json.loads(text)
            if record.pop("image") != _identity(image):
                return None
            record["judgement"] = Judgement(record["judgement"])
            record["failed_checks"] = tuple(record["failed_checks"])
            verdict = Verdict(**record)
        except (ValueError, KeyError, TypeError, AttributeError):
            LOG.warning("%s: not a verdict: ignored", self._path(image))
            return None
        return verdict if verdict.refused else None

    def refusals(self, images: Iterable[Image]) -> dict[str, Verdict]:
        """The remembered refusals of `images`, by id: the folder listed once, and only the
        images with a file there read (not a look-up per image and region)."""
        if not self._usable(make=False):
            return {}
        try:
            names = set(os.listdir(self.directory))
        except OSError as error:
            LOG.warning("%s: %s", self.directory, error.strerror)
            return {}
        remembered = (image for image in images if os.path.basename(self._path(image)) in names)
        return {image.id: verdict for image in remembered if (verdict := self.recall(image))}

    def remember(self, image: Image, verdict: Verdict) -> None:
        """Keep a refusal of `image` (other verdicts are not kept; a failure is only logged)."""
        if not verdict.refused or not self._usable(make=True):
            return
        record = {"image": _identity(image), **asdict(verdict)}
        try:
            with replacing(self._path(image), 0o600) as handle:
                json.dump(record, handle)
        except OSError as error:
            LOG.warning("%s: %s", self._path(image), error.strerror)

    def _usable(self, make: bool) -> bool:
        """Whether the folder exists (made if `make`) and is this account's alone."""
        directory = self.directory
        try:
            if make and not os.path.lexists(directory):
                os.mkdir(directory, 0o700)
            status = os.lstat(directory)
        except FileNotFoundError:
            return False
        except OSError as error:
            _warn_once(f"{directory}: {error.strerror}")
            return False
        if (
            stat.S_ISDIR(status.st_mode)
            and status.st_uid == os.getuid()
            and not status.st_mode & 0o022
        ):
            return True
        _warn_once(f"{directory} is not a folder of this account's alone")
        return False

    def _path(self, image: Image) -> str:
        return os.path.join(self.directory, f"{file_name(f'{image.id} {image.checksum}')}.json")


@functools.cache
def _warn_once(problem: str) -> None:
    LOG.warning("refusals of image formats are not remembered: %s", problem)


def _identity(image: Image) -> dict[str, str | None]:
    """What a verdict is about: the image, its content and its declared formats."""
    return {
        "id": image.id,
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
    }
