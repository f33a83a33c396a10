"""Outcomes of a run: per-region counts, the summary block, and the exit status."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum

from glancesync.errors import EXIT_FAILURE, EXIT_OK
from glancesync.escaping import json_text


class Result(str, Enum):
    """What became of an image's action in this run."""

    NONE = "none"  # nothing to do
    PLANNED = "planned"  # --show-status and --dry-run: what a sync would do
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not attempted: an earlier image of the region failed


@dataclass(frozen=True)
class Record:
    """What `--format json` prints as one object per line: the fields of a subclass."""

    def json_line(self) -> str:
        return json_text(json.dumps(asdict(self), ensure_ascii=False))


@dataclass(frozen=True)
class ShownRegion(Record):
    """A region that `--show-regions` lists."""

    region: str
    target: str


@dataclass(frozen=True)
class RegionBackup(Record):
    """The CSV that `--make-backup` wrote for a region."""

    region: str
    backup: str


@dataclass(frozen=True)
class ItemOutcome(Record):
    """One image of one region in this run: a line of `--format json`.

    `image` is None for a region that failed as a whole; `status` is None for a leftover of an
    interrupted upload. `bytes` is what the action uploads (would upload, in a dry run)."""

    region: str
    image: str | None
    status: str | None
    action: str
    bytes: int
    error: str | None
    result: Result


@dataclass
class RegionReport:
    """What happened in one region; picklable so --parallel children can send it back."""

    region: str
    statuses: Counter = field(default_factory=Counter)
    actions_done: int = 0
    bytes_uploaded: int = 0
    failure: str | None = None
    leftovers_kept: int = 0  # leftovers of interrupted uploads that could not be deleted
    seconds: float = 0.0

    @property
    def needs_operator(self) -> bool:
        return any(status.startswith("error_") for status in self.statuses)

    @property
    def succeeded(self) -> bool:
        return self.failure is None and not self.leftovers_kept and not self.needs_operator

    def summary_line(self, dry_run: bool) -> str:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(self.statuses.items()))
        done = "would do" if dry_run else "did"
        line = f"{self.region}: {counts or 'no images'}; {done} {self.actions_done} action(s)"
        if self.bytes_uploaded:
            line += f", {human_size(self.bytes_uploaded)} uploaded"
        line += f" in {self.seconds:.1f} s"
        if self.leftovers_kept:
            line += f"; {self.leftovers_kept} leftover(s) could not be deleted"
        if self.failure:
            line += f"; FAILED: {self.failure}"
        return line


@dataclass
class Report:
    """Counts the regions' outcomes and owns the exit status (§7)."""

    dry_run: bool = False
    regions: list[RegionReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, region: RegionReport) -> None:
        self.regions.append(region)

    def add_problem(self, message: str) -> None:
        """A failure outside any region's work (e.g. an unknown region argument)."""
        self.problems.append(message)

    @property
    def failed_regions(self) -> list[RegionReport]:
        return [region for region in self.regions if region.failure]

    @property
    def exit_status(self) -> int:
        if self.problems or any(not region.succeeded for region in self.regions):
            return EXIT_FAILURE
        return EXIT_OK

    def summary(self) -> list[str]:
        lines = [region.summary_line(self.dry_run) for region in self.regions]
        totals: Counter = Counter()
        for region in self.regions:
            totals.update(region.statuses)
        uploaded = sum(region.bytes_uploaded for region in self.regions)
        failed = len(self.failed_regions) + len(self.problems)
        counts = ", ".join(f"{count} {status}" for status, count in sorted(totals.items()))
        lines.append(
            f"run: {len(self.regions)} region(s), {counts or 'no images'}; "
            f"{human_size(uploaded)} uploaded; {failed} failure(s)"
        )
        return lines


def human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
