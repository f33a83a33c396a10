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
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any, Protocol

from glancesync.cache import MasterCache, master_stream
from glancesync.errors import GlanceSyncError, ImageError, cause_text
from glancesync.formats import Verdict, VerdictMemory
from glancesync.image import Image, NewImage
from glancesync.output import Output
from glancesync.planner import Action, MetadataChange, PlanItem, RegionPlan, Status, UploadSpec
from glancesync.progress import Progress
from glancesync.report import ItemOutcome, RegionReport, Result, outcome_of
from glancesync.retention import BY_OBSOLETE, BY_RENAME, retirement_mark
from glancesync.transfer import FormatRefused, IntegrityError, TransferError

LOG = logging.getLogger(__name__)

LEFTOVER_ACTION = "delete_leftover"


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
    def finish_upload(self, uploaded: Image, protected: bool) -> Image: ...
    def add_member(self, image_id: str, project_id: str) -> None: ...
    def remove_member(self, image_id: str, project_id: str) -> None: ...


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
                self.output.quiet(self._counted(report, item, Result.NONE))
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
                    uploaded = self._perform(item, uploaded_ids)
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
                    report.bytes_uploaded += uploaded
                report.actions_done += 1
                result = Result.PLANNED if self.dry_run else Result.DONE
                self.output.action(
                    self._counted(report, item, result, uploaded), item, self.dry_run
                )
                advance(1)

    def _fails_alone(
        self, report: RegionReport, item: PlanItem, failure: FormatError | PurgeError
    ) -> None:
        """An image that fails without stopping its region."""
        if isinstance(failure, FormatError):
            item = replace(item, status=Status.ERROR_FORMAT)
        else:
            report.purges_failed += 1
        self.output.failure(self._counted(report, item, Result.FAILED, error=str(failure)))

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

    def _perform(self, item: PlanItem, uploaded_ids: dict[str, str]) -> int:
        """Bytes the item uploads: in a dry run, what it would upload."""
        if self.dry_run:
            return item.upload_size
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

    def _apply_item(self, item: PlanItem, uploaded_ids: dict[str, str]) -> int:
        """Carry out one item; returns the bytes uploaded. A copy retired by a rename or an
        obsolete rename gets the retirement mark (§12)."""
        if item.action is Action.PURGE:
            self._purge(item.regional)
            return 0
        if item.action.patches:
            retires = item.action is Action.OBSOLETE and "name" in item.change.attributes
            mark = _retirement_mark(BY_OBSOLETE) if retires else {}
            self._update_metadata(item.regional, item.change, uploaded_ids, mark)
            return 0
        new = self._upload(item.master, item.upload, uploaded_ids)
        uploaded_ids[item.master.name] = new.id
        self._share(new.id, item.upload.members)
        try:
            if item.action is Action.REPLACE:
                self.destination.delete_image(item.regional.id)
            elif item.action is Action.RENAME:
                self.destination.update_image(
                    item.regional,
                    {"name": item.old_name, "visibility": "private"},
                    _retirement_mark(BY_RENAME),
                )
        except GlanceSyncError as error:  # named by UUID only: name the image, say what is left
            undone = "deleted" if item.action is Action.REPLACE else "renamed"
            raise ImageError(
                f"the new copy {new.id} is in place, but the old one {item.regional.id} "
                f"could not be {undone}: {cause_text(error, self.destination.full_name)}",
                region=self.destination.full_name,
                image=item.master.name,
            ) from error
        return new.size or 0

    def _purge(self, copy: Image) -> None:
        try:
            self.destination.delete_image(copy.id)
        except GlanceSyncError as error:
            region = self.destination.full_name
            raise PurgeError(
                f"retired copy {copy.id} not deleted: {cause_text(error, region)}",
                region=region,
                image=copy.name,
            ) from error

    def _update_metadata(
        self,
        regional: Image,
        change: MetadataChange,
        uploaded_ids: Mapping[str, str],
        mark: Mapping[str, str],
    ) -> None:
        properties = {
            **mark,
            **change.set_properties,
            **_resolve(change.references, uploaded_ids, regional.name),
        }
        self.destination.update_image(
            regional, change.attributes, properties, change.remove_properties
        )
        self._share(regional.id, change.add_members, change.remove_members)

    def _share(self, image_id: str, added: Sequence[str], removed: Sequence[str] = ()) -> None:
        """Members added and removed (§12); their own accept/reject status is never set."""
        for project_id in added:
            self.destination.add_member(image_id, project_id)
        for project_id in removed:
            self.destination.remove_member(image_id, project_id)

    def _upload(self, master: Image, spec: UploadSpec, uploaded_ids: Mapping[str, str]) -> Image:
        """Create, stream the master's bytes into, and verify the regional copy of `master`."""
        new = self.destination.create_image(_new_image(spec, uploaded_ids))
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
            return self.destination.finish_upload(verified, spec.protected)
        except FormatRefused as refusal:
            self._discard(new)
            if self.memory is not None:
                self.memory.remember(master, refusal.verdict)
            raise FormatError(refusal.verdict, self.destination.full_name, master.name) from None
        except (GlanceSyncError, TransferError) as error:
            self._discard(new)
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


def _retirement_mark(by: str) -> dict[str, str]:
    """The mark of a copy retired now."""
    return retirement_mark(datetime.now(UTC), by)


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
