"""Carrying out a region's plan through a facade (`ImageService`, §6), or only saying what it
would do: one write gate, `dry_run`.

The plan is the schedule: its steps come in the order of §6 with everything they need (a
rename its `.old` name); the executor only resolves the UUIDs of images uploaded in this run
(kernel_id/ramdisk_id). Leftovers of interrupted uploads are deleted first; a new image counts
only once verified; the first failure stops the region's remaining steps; a failed or
unverified upload is deleted. Outcomes go to the output room as data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any, Protocol

from glancesync.cache import HandOffLost, MasterCache, master_stream
from glancesync.errors import GlanceSyncError, ImageError, ImportFailed, cause_text
from glancesync.formats import Verdict, VerdictMemory, inspect_head
from glancesync.image import Image, NewImage
from glancesync.output import Output
from glancesync.planner import (
    Action,
    MetadataChange,
    PlanItem,
    RegionPlan,
    Status,
    Travel,
    UploadSpec,
)
from glancesync.progress import Progress
from glancesync.report import ItemOutcome, RegionReport, Result, outcome_of
from glancesync.retention import (
    BY_OBSOLETE,
    BY_RENAME,
    retirement_mark,
    unchanged_since_listed,
)
from glancesync.transfer import FormatRefused, IntegrityError, TransferError

LOG = logging.getLogger(__name__)

LEFTOVER_ACTION = "delete_leftover"
HEAD_LIMIT = 64 * 1024**2  # bytes of a master image read to check the format of an import
GLANCE_RESERVED = "os_glance_"  # properties Glance keeps for itself


class ImageService(Protocol):
    """What the executor needs of a region's Glance (`glance.RegionGlance` is the real one)."""

    full_name: str

    def get_image(self, image_id: str) -> Image: ...
    def create_image(self, new: NewImage) -> Image: ...
    def upload(self, image_id: str, data: IO[bytes], size: int | None) -> None: ...
    def download(self, image_id: str) -> Iterator[bytes]: ...
    def download_part(
        self, image_id: str, start: int, length: int
    ) -> Generator[bytes, None, None]: ...
    def update_image(
        self,
        current: Image,
        attributes: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: Sequence[str] = (),
    ) -> Image: ...
    def delete_image(self, image_id: str) -> None: ...
    def add_tag(self, image: Image, tag: str) -> None: ...
    def deactivate(self, image: Image) -> None: ...
    def reactivate(self, image: Image) -> None: ...
    def finish_upload(
        self, uploaded: Image, protected: bool, attributes: Mapping[str, Any] | None = None
    ) -> Image: ...
    def add_member(self, image_id: str, project_id: str) -> None: ...
    def remove_member(self, image_id: str, project_id: str) -> None: ...
    def import_methods(self) -> frozenset[str]: ...
    def start_import(self, image_id: str, source_id: str, source_region: str) -> None: ...
    def await_import(self, image_id: str) -> Image: ...


@dataclass(frozen=True)
class Copied:
    """How an item's bytes travelled, and how many passed through the sync host."""

    travel: Travel | None = None  # None: no bytes (a metadata update)
    streamed: int = 0


class StreamInstead(Exception):
    """An image planned for glance-download is streamed: its format check needs more of it
    than a head read."""


class FormatError(ImageError):
    """The master's bytes were refused for their format (§10): that image fails, its region
    goes on."""

    def __init__(self, verdict: Verdict, region: str, image: str):
        super().__init__(f"format refused: {verdict.describe()}", region=region, image=image)


class PurgeError(ImageError):
    """A retired copy could not be deleted (§12): that copy fails, its region goes on."""


class Executor:
    """Applies one region's plan; `dry_run` only reports, it writes nothing. The master's bytes
    come through the run's `cache` when there is one."""

    def __init__(
        self,
        master: ImageService,
        destination: ImageService,
        dry_run: bool,
        output: Output,
        cache: MasterCache | None = None,
        progress: Progress | None = None,
        memory: VerdictMemory | None = None,
    ):
        self.master = master
        self.destination = destination
        self.dry_run = dry_run
        self.output = output
        self.cache = cache
        self.progress = progress or Progress()
        self.memory = memory
        self.imports_failed = False  # after one failed import, the region's images stream

    def apply(self, plan: RegionPlan) -> RegionReport:
        """Carry out the plan (or say what it would do), handing each image's outcome to the
        output; an interruption shows the image in flight as failed and the rest as skipped."""
        report = RegionReport(region=plan.region)
        started = time.monotonic()
        steps = plan.steps
        report.leftovers_kept = self._remove_leftovers(plan.region, plan.leftovers)
        self._apply_in_order(report, steps)
        for item in plan.items:
            if item.action is Action.NONE:
                self.output.unchanged(self._counted(report, item, Result.NONE), item)
        report.seconds = time.monotonic() - started
        return report

    def _apply_in_order(self, report: RegionReport, order: list[PlanItem]) -> None:
        """The actions one after the other; the first failure skips the rest of the region, but
        an image refused for its format (`error_format`) or a retired copy that could not be
        deleted fails alone."""
        uploaded_ids: dict[str, str] = {}
        with self.progress.counter(report.region, len(order), "action") as advance:
            for index, item in enumerate(order):
                try:
                    copied = self._perform(item, uploaded_ids)
                except (FormatError, PurgeError) as failure:
                    self._fails_alone(report, item, failure)
                    advance(1)
                    continue
                except GlanceSyncError as error:
                    report.failure = error.shown_in(report.region)
                    self._give_up(report, order[index:], report.failure)
                    return
                except (KeyboardInterrupt, SystemExit):  # a signal: the run stops
                    self._give_up(report, order[index:], "interrupted: abandoned", shown=False)
                    raise
                if not self.dry_run:
                    report.bytes_uploaded += copied.streamed
                report.imports += copied.travel is Travel.GLANCE_DOWNLOAD
                report.actions_done += 1
                result = Result.PLANNED if self.dry_run else Result.DONE
                done = replace(item, travel=copied.travel)
                outcome = self._counted(report, done, result, copied.streamed)
                self.output.action(outcome, done, self.dry_run)
                advance(1)

    def _fails_alone(
        self, report: RegionReport, item: PlanItem, failure: FormatError | PurgeError
    ) -> None:
        """An image that fails without stopping its region."""
        if isinstance(failure, FormatError):
            item = replace(item, status=Status.ERROR_FORMAT)
        else:
            report.purges_failed += 1
        self.output.failure(
            self._counted(report, item, Result.FAILED, error=failure.shown_in(report.region))
        )

    def _give_up(
        self, report: RegionReport, rest: list[PlanItem], error: str, shown: bool = True
    ) -> None:
        """The item that failed (the first of `rest`), then the others as not attempted."""
        failed = self._counted(report, rest[0], Result.FAILED, error=error)
        if shown:
            self.output.failure(failed)
        else:
            self.output.quiet(failed)
        skipped = f"not attempted after the failure of {rest[0].master.name}"
        for later in rest[1:]:
            self.output.quiet(self._counted(report, later, Result.SKIPPED, error=skipped))

    def _perform(self, item: PlanItem, uploaded_ids: dict[str, str]) -> Copied:
        """How the item's bytes travelled (in a dry run, would travel)."""
        if self.dry_run:
            streamed = item.upload_size if item.travel is Travel.STREAM else 0
            return Copied(item.travel, streamed)
        return self._apply_item(item, uploaded_ids)

    @staticmethod
    def _counted(
        report: RegionReport,
        item: PlanItem,
        result: Result,
        uploaded: int = 0,
        error: str | None = None,
    ) -> ItemOutcome:
        """An image's outcome, counted in the region's report."""
        outcome = outcome_of(report.region, item, result, uploaded, error)
        report.count(outcome)
        return outcome

    def _remove_leftovers(self, region: str, leftovers: Iterable[Image]) -> int:
        """Delete what interrupted uploads of ours left (they bear the upload marker); returns
        how many could not be deleted (the next run tries again)."""
        kept = 0
        for image in leftovers:
            error = None
            if not self.dry_run:
                try:
                    self.destination.delete_image(image.id)
                except GlanceSyncError as failure:
                    LOG.error("%s: could not delete leftover %s: %s", region, image.id, failure)
                    error = str(failure)
                    kept += 1
            result = Result.FAILED if error else Result.PLANNED if self.dry_run else Result.DONE
            outcome = ItemOutcome(region, image.name, None, LEFTOVER_ACTION, 0, error, result)
            self.output.leftover(outcome, image, self.dry_run)
        return kept

    def _apply_item(self, item: PlanItem, uploaded_ids: dict[str, str]) -> Copied:
        """Carry out one item; returns how its bytes travelled. A copy retired by a rename or
        an obsolete rename gets the retirement mark (§12)."""
        if item.action is Action.PURGE:
            self._purge(item.regional)
            return Copied()
        if item.action.patches:
            self._patch(item, uploaded_ids)
            return Copied()
        new, copied = self._copy(item, uploaded_ids)
        uploaded_ids[item.master.name] = new.id
        self._share(new.id, item.upload.members)
        try:
            if item.action is Action.REPLACE:
                self.destination.delete_image(item.regional.id)
            elif item.action is Action.RENAME:
                self.destination.update_image(
                    item.regional,
                    {"name": item.old_name, "visibility": "private"},
                    _retirement_mark(BY_RENAME, item.regional.id),
                )
        except GlanceSyncError as error:  # named by UUID only: name the image, say what is left
            undone = "deleted" if item.action is Action.REPLACE else "renamed"
            raise ImageError(
                f"the new copy {new.id} is in place, but the old one {item.regional.id} "
                f"could not be {undone}: {cause_text(error, self.destination.full_name)}",
                region=self.destination.full_name,
                image=item.master.name,
            ) from error
        return copied

    def _patch(self, item: PlanItem, uploaded_ids: Mapping[str, str]) -> None:
        """A metadata update, within the reactivation or before the deactivation of a copy
        that follows the master's state."""
        if item.action is Action.REACTIVATE:
            self.destination.reactivate(item.regional)
        if item.change is not None:
            retires = item.action is Action.OBSOLETE and "name" in item.change.attributes
            mark = _retirement_mark(BY_OBSOLETE, item.regional.id) if retires else {}
            self._update_metadata(item.regional, item.change, uploaded_ids, mark)
        if item.action is Action.DEACTIVATE:
            self.destination.deactivate(item.regional)

    def _purge(self, copy: Image) -> None:
        """Delete a retired copy, read again first: one changed since the listing is kept."""
        region = self.destination.full_name
        try:
            if unchanged_since_listed(copy, self.destination.get_image(copy.id)):
                self.destination.delete_image(copy.id)
                return
        except GlanceSyncError as error:
            raise PurgeError(
                f"retired copy {copy.id} not deleted: {cause_text(error, region)}",
                region=region,
                image=copy.name,
            ) from error
        raise PurgeError(
            f"retired copy {copy.id} not deleted: it changed since this run listed it "
            "(name, owner, status, protection or mark); the next run decides again",
            region=region,
            image=copy.name,
        )

    def _update_metadata(
        self,
        regional: Image,
        change: MetadataChange,
        uploaded_ids: Mapping[str, str],
        mark: Mapping[str, str],
    ) -> None:
        """One patch of the keys that differ, then one call per tag added."""
        properties = {
            **mark,
            **change.set_properties,
            **_resolve(change.references, uploaded_ids, regional.name),
        }
        self.destination.update_image(
            regional, change.attributes, properties, change.remove_properties
        )
        for tag in change.add_tags:
            self.destination.add_tag(regional, tag)
        self._share(regional.id, change.add_members, change.remove_members)

    def _share(self, image_id: str, added: Sequence[str], removed: Sequence[str] = ()) -> None:
        """Members added and removed (§12); their own accept/reject status is never set."""
        for project_id in added:
            self.destination.add_member(image_id, project_id)
        for project_id in removed:
            self.destination.remove_member(image_id, project_id)

    def _copy(self, item: PlanItem, uploaded_ids: Mapping[str, str]) -> tuple[Image, Copied]:
        """The verified regional copy of the item's master image, and how it travelled: by
        glance-download where the plan says so and no import failed in this region, else (or
        when the import fails: once, said in the log) streamed."""
        master, spec = item.master, item.upload
        if item.travel is Travel.GLANCE_DOWNLOAD and not self.imports_failed:
            try:
                return self._imported(master, spec, uploaded_ids), Copied(item.travel)
            except (ImportFailed, IntegrityError, StreamInstead) as failure:
                region = self.destination.full_name
                self.imports_failed = not isinstance(failure, StreamInstead)
                LOG.warning(
                    "%s: %s: %s; streamed instead%s",
                    region,
                    master.name,
                    cause_text(failure, region),
                    " (no further imports in this region in this run)"
                    if self.imports_failed
                    else "",
                )
        new = self._upload(master, spec, uploaded_ids)
        return new, Copied(Travel.STREAM, new.size or 0)

    def _imported(self, master: Image, spec: UploadSpec, uploaded_ids: Mapping[str, str]) -> Image:
        """The regional copy of `master` made by the region's Glance itself (§11): its format
        checked on the master's head first; created private and hidden, imported, verified,
        its metadata made what a streamed upload gives, then visibility and os_hidden set."""
        self._check_head(master)
        wanted = _new_image(spec, uploaded_ids)
        new = self.destination.create_image(replace(wanted, visibility="private", os_hidden=True))
        try:
            self.destination.start_import(new.id, master.id, self.master.full_name)
            self.destination.await_import(new.id)
            verified = self._verified(new.id, master)
            reconciled = self._reconciled(verified, new, wanted)
            published = {"visibility": wanted.visibility, "os_hidden": wanted.os_hidden}
            return self.destination.finish_upload(reconciled, spec.protected, published)
        except (GlanceSyncError, IntegrityError) as failure:
            self._discard(new)
            if isinstance(failure, ImportFailed | IntegrityError):
                raise
            region = self.destination.full_name
            raise ImportFailed(cause_text(failure, region), region=region) from failure
        except BaseException:
            self._discard(new)
            raise

    def _check_head(self, master: Image) -> None:
        """The format check of an image Glance copies (§10): its head read from the master
        until the inspector decides; a refusal is remembered and raised (FormatError), an
        image whose verdict needs more than HEAD_LIMIT bytes, or whose head cannot be read, is
        streamed (StreamInstead). (Refusals known before are `error_format` in the plan.)"""
        read_part = partial(self.master.download_part, master.id)
        try:
            verdict = inspect_head(master, read_part, limit=HEAD_LIMIT).verdict
        except (GlanceSyncError, EOFError) as error:
            cause = cause_text(error, self.master.full_name)
            raise StreamInstead(f"its head could not be read: {cause}") from error
        if verdict is None:
            raise StreamInstead(f"its format is decided only after more than {HEAD_LIMIT} bytes")
        if verdict.refused:
            if self.memory is not None:
                self.memory.remember(master, verdict)
            raise FormatError(verdict, self.destination.full_name, master.name)

    def _reconciled(self, imported: Image, created: Image, wanted: NewImage) -> Image:
        """The imported image with the user properties a streamed upload would have: those
        Glance added by itself (glance-download copies hw_*, os_distro… of the master)
        removed unless wanted, and wanted ones it changed set back. Glance's reserved
        os_glance_* properties are its own."""
        added = {
            key
            for key in imported.properties
            if key not in created.properties and not key.startswith(GLANCE_RESERVED)
        }
        restore = {
            key: value
            for key, value in wanted.properties.items()
            if imported.properties.get(key) != value
        }
        remove = sorted(added - set(wanted.properties))
        return self.destination.update_image(imported, None, restore, remove)

    def _upload(self, master: Image, spec: UploadSpec, uploaded_ids: Mapping[str, str]) -> Image:
        """Create, stream the master's bytes into, and verify the regional copy of `master`.
        An upload that followed another process's master read, which then gave up before
        verifying, is discarded and made once more (`cache.HandOffLost`)."""
        new_image = _new_image(spec, uploaded_ids)
        try:
            return self._upload_once(master, new_image, spec.protected)
        except HandOffLost as lost:
            LOG.warning(
                "%s: %s: %s; uploading again", self.destination.full_name, master.name, lost
            )
        return self._upload_once(master, new_image, spec.protected, retry=False)

    def _upload_once(
        self, master: Image, new_image: NewImage, protected: bool, retry: bool = True
    ) -> Image:
        """One upload; a HandOffLost is raised as it is when `retry` (the image discarded)."""
        new = self.destination.create_image(new_image)
        fetch = partial(self.master.download, master.id)
        try:
            label = f"{self.destination.full_name}: {master.name}"
            with (
                master_stream(self.cache, master, fetch) as stream,
                self.progress.track(stream, label, master.size) as counted,
            ):
                self.destination.upload(new.id, counted, master.size)
            verified = self._verified(new.id, master)
            # Only now: a protected image could not be discarded, a marked one is a leftover.
            return self.destination.finish_upload(verified, protected)
        except FormatRefused as refusal:
            self._discard(new)
            if self.memory is not None:
                self.memory.remember(master, refusal.verdict)
            raise FormatError(refusal.verdict, self.destination.full_name, master.name) from None
        except (GlanceSyncError, TransferError) as error:
            self._discard(new)
            if retry and isinstance(error, HandOffLost):
                raise
            region = self.destination.full_name
            raise ImageError(
                f"upload failed: {cause_text(error, region)}", region=region, image=master.name
            ) from error
        except BaseException:
            self._discard(new)
            raise

    def _verified(self, image_id: str, master: Image) -> Image:
        """The uploaded image as Glance reports it, if it is active with the master's content."""
        uploaded = self.destination.get_image(image_id)
        if uploaded.status != "active":
            raise IntegrityError(f"Glance reports status {uploaded.status!r} after upload")
        if uploaded.size != master.size or not uploaded.same_content(master):
            raise IntegrityError(
                f"Glance reports size {uploaded.size} checksum {uploaded.checksum}, "
                f"the master has size {master.size} checksum {master.checksum}"
            )
        return uploaded

    def _discard(self, new: Image) -> None:
        """Delete a failed upload. Glance may still be busy with the broken-off upload request;
        the facade retries the delete then. A last failure is logged: the upload's own failure
        is what counts, and the marked leftover is deleted by the next run."""
        try:
            self.destination.delete_image(new.id)
        except GlanceSyncError as error:
            LOG.error(
                "%s: could not delete the failed upload %s: %s",
                self.destination.full_name,
                new.id,
                error,
            )


def _retirement_mark(by: str, image_id: str) -> dict[str, str]:
    """The mark of a copy retired now."""
    return retirement_mark(datetime.now(UTC), by, image_id)


def _resolve(
    references: Mapping[str, str], uploaded_ids: Mapping[str, str], image: str
) -> dict[str, str]:
    """kernel_id/ramdisk_id that point at images uploaded in this run, as their new UUIDs; an
    image whose kernel or ramdisk was not uploaded is not created or patched without it."""
    missing = sorted(name for name in references.values() if name not in uploaded_ids)
    if missing:
        raise ImageError(f"needs {', '.join(missing)}, which this run did not upload", image=image)
    return {prop: uploaded_ids[name] for prop, name in references.items()}


def _new_image(spec: UploadSpec, uploaded_ids: Mapping[str, str]) -> UploadSpec:
    """The spec with this run's uploads resolved, created unprotected until verified."""
    properties = {**spec.properties, **_resolve(spec.references, uploaded_ids, spec.name)}
    return replace(spec, properties=properties, protected=False)
