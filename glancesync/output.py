"""The output room: everything a run shows on stdout, in the format the CLI chose once.

Text lines for people (`printable`), a CSV line per image for `--show-status` (§7), or one
JSON object per outcome (`Record.json_line`, the exact values). The executor and the actions
hand outcomes over as data (`Output`'s methods); only this module turns them into lines.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING

from glancesync.escaping import printable
from glancesync.imagelife import is_arriving
from glancesync.planner import Travel

if TYPE_CHECKING:
    from glancesync.image import Image
    from glancesync.planner import MetadataChange, PlanItem
    from glancesync.report import (
        FormatCheck,
        ItemOutcome,
        Record,
        RegionReport,
        Report,
        ShownRegion,
    )

# The lines printed on stdout, logged into the log files too (the terminal has them already).
OUTPUT_LOG = logging.getLogger("glancesync.output")
# The --show-status line of a region that failed as a whole (unknown, or could not be listed):
# `failed,<region>,` with an empty image, so that `grep -v '^ok'` shows it.
FAILED_REGION = "failed"

# Receives each outcome with its line for the text output (None: JSON only); a line without a
# record (None) is text only.
Sink = Callable[["Record | None", "str | None"], None]

_VERBS = {
    "update_metadata": ("update metadata of", "updated metadata of"),
    "obsolete": ("mark obsolete", "marked obsolete"),
    "upload": ("upload", "uploaded"),
    "replace": ("replace", "replaced"),
    "rename": ("upload and keep the old copy of", "uploaded and kept the old copy of"),
    "purge": ("delete retired copy", "deleted retired copy"),
    "deactivate": ("deactivate", "deactivated"),
    "reactivate": ("reactivate", "reactivated"),
}

# The text line of an image left as it is because of its life (README, image life), by status.
_LIFE_LINES = {
    "waiting": "waiting for {name}: {arriving} in the master, nothing done until it is active",
    "ok_deactivated_in_region": "left {name} ({id}) as it is: deactivated in the region by "
    "someone else",
    "ok_deactivated_in_master": "not copying {name}: deactivated in the master",
}


class OutputFormat(str, Enum):
    TEXT = "text"  # §7: CSV for --show-status, a line per action
    JSON = "json"  # one object per line: a Record


def printer(output_format: OutputFormat, write: Callable[[str], None]) -> Sink:
    """What a run prints of each record: its text line (if it has one, `printable`), or its
    JSON object (the exact values, `Record.json_line`)."""

    def show(record: Record | None, text: str | None) -> None:
        if output_format is OutputFormat.JSON:
            if record is not None:
                write(record.json_line())
        elif text is not None:
            write(printable(text))

    return show


def logged(sink: Sink) -> Sink:
    """`sink`, and the text line into the log files (OUTPUT_LOG)."""

    def show_and_log(record: Record | None, text: str | None) -> None:
        sink(record, text)
        if text is not None:
            OUTPUT_LOG.info("%s", text)

    return show_and_log


class Output:
    """Turns outcomes into what the run shows, through one sink (printed, or collected by a
    --parallel child for its parent)."""

    def __init__(self, sink: Sink):
        self.sink = sink

    def record(self, record: Record, text: str | None = None) -> None:
        """A record with its text line, if it has one."""
        self.sink(record, text)

    def action(self, outcome: ItemOutcome, item: PlanItem, dry_run: bool) -> None:
        """An action done, or (`dry_run`) planned."""
        self.sink(outcome, f"{outcome.region}: {describe(item, dry_run)}")

    def failure(self, outcome: ItemOutcome) -> None:
        """The action that stopped its region."""
        self.sink(outcome, f"{outcome.region}: FAILED {outcome.error}")

    def unchanged(self, outcome: ItemOutcome, item: PlanItem) -> None:
        """An image with nothing to do: a line only when its life leaves it as it is."""
        line = _LIFE_LINES.get(item.status.value)
        image = item.regional or item.master
        arriving = (
            f"still {item.master.status}"
            if is_arriving(item.master)
            else "its kernel or ramdisk is still arriving"
        )
        text = line and line.format(name=item.master.name, id=image.id, arriving=arriving)
        self.sink(outcome, f"{outcome.region}: {text}" if text else None)

    def quiet(self, outcome: ItemOutcome) -> None:
        """An outcome without a text line: nothing to do, or not attempted."""
        self.sink(outcome, None)

    def leftover(self, outcome: ItemOutcome, image: Image, dry_run: bool) -> None:
        """A leftover of an interrupted upload, deleted (or to delete); no line if it failed."""
        verb = "would delete" if dry_run else "deleted"
        text = (
            f"{outcome.region}: {verb} leftover {image.name} ({image.id}, {image.status})"
            " of an interrupted upload"
        )
        self.sink(outcome, None if outcome.error else text)

    def status(self, outcome: ItemOutcome) -> None:
        """An image's `--show-status` line (§7); a region that failed as a whole (no image)
        has its FAILED_REGION line."""
        status = outcome.status or FAILED_REGION
        self.sink(outcome, status_line(status, outcome.region, outcome.image or ""))

    def regions(self, records: Sequence[ShownRegion]) -> None:
        """`--show-regions`: the regions on one line, or a JSON object each."""
        self.sink(None, " ".join(record.region for record in records))
        for record in records:
            self.sink(record, None)

    def format_check(self, record: FormatCheck) -> None:
        """A `--check-formats` CSV line: verdict,image,declared,detected,reason (§10)."""
        fields = (record.declared, record.detected or "", record.reason or "")
        self.sink(record, csv_line(record.verdict, record.image, *fields))


def status_line(status: str, region: str, image: str) -> str:
    """One `--show-status` CSV line (§7): names `printable`, then quoted where they need it."""
    return csv_line(status, region, image)


def csv_line(*fields: str) -> str:
    """One CSV line (RFC 4180, without its line end) of `printable` fields."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([printable(field) for field in fields])
    return buffer.getvalue().removesuffix("\n")


def describe_change(change: MetadataChange, dry_run: bool) -> str:
    """A metadata change in words: `set type: old → base; remove x; keep hw_qemu_guest_agent`
    ("removed" and "kept" once done)."""
    news = {
        **change.attributes,
        **change.set_properties,
        **{key: f"new copy of {name}" for key, name in change.references.items()},
    }
    clauses = [
        f"set {key}: {change.previous[key]} → {new}"
        if key in change.previous
        else f"set {key}: {new}"
        for key, new in news.items()
    ]
    remove, keep, add = ("remove", "keep", "add") if dry_run else ("removed", "kept", "added")
    if change.add_tags:
        clauses.append(f"{add} tags {', '.join(change.add_tags)}")
    if change.remove_properties:
        clauses.append(f"{remove} {', '.join(change.remove_properties)}")
    if change.kept:
        clauses.append(f"{keep} {', '.join(change.kept)}")
    add, remove = ("add", "remove") if dry_run else ("added", "removed")
    if change.add_members:
        clauses.append(f"{add} member(s) {', '.join(change.add_members)}")
    if change.remove_members:
        clauses.append(f"{remove} member(s) {', '.join(change.remove_members)}")
    return "; ".join(clauses)


def describe(item: PlanItem, dry_run: bool) -> str:
    """One line for an action, in the "would do" or the "did" form."""
    verb = _VERBS[item.action.value][0 if dry_run else 1]
    line = f"{'would ' if dry_run else ''}{verb} {item.master.name}"
    if item.action.uploads:
        copied = ", copied by glance-download" if item.travel is Travel.GLANCE_DOWNLOAD else ""
        line += f" ({human_size(item.master.size)}{copied})"
    if item.upload and item.upload.members:
        line += f", shared with {', '.join(item.upload.members)}"
    if item.old_name:
        line += f" as {item.old_name}"
    if item.change:
        line += f": {describe_change(item.change, dry_run)}"
    if item.reason:
        line += f" ({item.reason})"
    return line


def region_summary(region: RegionReport, dry_run: bool) -> str:
    """A region's line of the summary block."""
    done = "would do" if dry_run else "did"
    line = f"{region.region}: {_counts(region.statuses)}; {done} {region.actions_done} action(s)"
    if region.bytes_uploaded:
        line += f", {human_size(region.bytes_uploaded)} uploaded"
    if region.imports:
        line += f", {region.imports} copied by glance-download"
    line += f" in {region.seconds:.1f} s"
    if region.leftovers_kept:
        line += f"; {region.leftovers_kept} leftover(s) could not be deleted"
    if region.purges_failed:
        line += f"; {region.purges_failed} retired cop(ies) could not be deleted"
    if region.refused:
        line += f"; {_refused_for_format(region.refused)}"
    if region.decisions:
        line += f"; {_need_a_decision(region.decisions)}"
    if region.failure:
        line += f"; FAILED: {region.failure}"
    return line


def run_summary(report: Report) -> list[str]:
    """The summary block: a line per region, then the run's."""
    lines = [region_summary(region, report.dry_run) for region in report.regions]
    failures, decisions = report.failures, report.decisions
    outcome = [f"{failures} failure(s)"] if failures or not decisions else []
    if decisions:
        outcome.append(_need_a_decision(decisions))
    lines.append(
        f"run: {len(report.regions)} region(s), {_counts(report.totals())}; "
        f"{human_size(report.uploaded_bytes)} uploaded; {'; '.join(outcome)}"
    )
    return lines


def _counts(statuses: Mapping[str, int]) -> str:
    """Images per status, `3 ok, 1 pending_upload`, or `no images`."""
    return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "no images"


def _refused_for_format(count: int) -> str:
    images, their = ("image", "its") if count == 1 else ("images", "their")
    return f"{count} {images} refused for {their} format (error_format)"


def _need_a_decision(count: int) -> str:
    return f"{count} image needs a decision" if count == 1 else f"{count} images need a decision"


def human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
