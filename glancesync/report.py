"""Outcomes of a run as data: each image's, each region's counts, the run's summary record and
its exit status (`output` turns them into lines)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum

from glancesync.errors import EXIT_DECISION, EXIT_FAILURE, EXIT_OK
from glancesync.escaping import json_text
from glancesync.planner import Action, MetadataChange, PlanItem, Status


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
class FormatCheck(Record):
    """A master image that `--check-formats` judged (§10): its declared and detected formats
    (detected null when not inspected), the verdict (`formats.Judgement`), why it is refused
    or not inspectable, the safety checks it failed, and the bytes read of it."""

    image: str
    id: str
    declared: str
    detected: str | None
    verdict: str
    reason: str | None
    failed_checks: list[str]
    bytes_read: int


@dataclass(frozen=True)
class ItemOutcome(Record):
    """One image of one region in this run: a line of `--format json`.

    `image` is None for a region that failed as a whole; `status` is None for a leftover of an
    interrupted upload. `bytes` is what the action streams through the sync host (would
    stream, in a dry run): 0 for an image a region's Glance copies by itself. `metadata` is
    the change of a metadata update (`metadata_diff`), else None. `travel` says how an
    uploaded image's bytes travelled (would travel): `stream` or `glance-download` (§11);
    `reason` why a retired copy is deleted, kept or marked (§12)."""

    region: str
    image: str | None
    status: str | None
    action: str
    bytes: int
    error: str | None
    result: Result
    metadata: dict[str, object] | None = None
    travel: str | None = None
    reason: str | None = None


def outcome_of(
    region: str, item: PlanItem, result: Result, uploaded: int = 0, error: str | None = None
) -> ItemOutcome:
    """An image's outcome; an `error_*` item's error is what the operator has to resolve."""
    status, action, error = item.status.value, item.action.value, error or item.problem
    metadata = metadata_diff(item.change) if item.change else None
    travel = item.travel.value if item.travel else None
    return ItemOutcome(
        region,
        item.master.name,
        status,
        action,
        uploaded,
        error,
        result,
        metadata,
        travel,
        item.reason,
    )


def metadata_diff(change: MetadataChange) -> dict[str, object]:
    """A metadata change as `--format json` shows it: {"set": {key: {"old": …, "new": …}},
    "remove": [key…], "keep": [key…], "add_tags": [tag…]}; "old" is null where the region has
    no value, and a reference to an image uploaded in this run is {"old": …, "new_copy_of":
    name}."""
    changed: dict[str, object] = {**change.attributes, **change.set_properties}
    entries: dict[str, dict[str, object]] = {
        key: {"old": change.previous.get(key), "new": value} for key, value in changed.items()
    }
    entries.update(
        (key, {"old": change.previous.get(key), "new_copy_of": name})
        for key, name in change.references.items()
    )
    diff: dict[str, object] = {
        "set": entries,
        "remove": list(change.remove_properties),
        "keep": list(change.kept),
        "add_tags": list(change.add_tags),
    }
    if change.add_members or change.remove_members:
        diff["members"] = {"add": list(change.add_members), "remove": list(change.remove_members)}
    return diff


@dataclass
class RegionReport:
    """What happened in one region; picklable so --parallel children can send it back."""

    region: str
    statuses: Counter = field(default_factory=Counter)
    actions_done: int = 0
    bytes_uploaded: int = 0  # through the sync host
    imports: int = 0  # images the region's Glance copied by itself (would copy, dry run)
    failure: str | None = None
    leftovers_kept: int = 0  # leftovers of interrupted uploads that could not be deleted
    purges_failed: int = 0  # retired copies that could not be deleted (§12)
    seconds: float = 0.0

    def count(self, outcome: ItemOutcome) -> None:
        """Count an image by its status when the run ends: an action done leaves it `ok`."""
        if outcome.status is not None:
            done = outcome.result is Result.DONE
            if done and outcome.action == Action.PURGE.value:
                return  # deleted: no longer an image of the region
            self.statuses[Status.OK.value if done else outcome.status] += 1

    @property
    def decisions(self) -> int:
        """Images whose `error_*` status waits for the operator's decision."""
        return sum(
            count
            for status, count in self.statuses.items()
            if status.startswith("error_") and status != Status.ERROR_FORMAT.value
        )

    @property
    def refused(self) -> int:
        """Images refused for their format (§10): a failure, not a decision."""
        return self.statuses[Status.ERROR_FORMAT.value]

    @property
    def succeeded(self) -> bool:
        return (
            self.failure is None
            and not self.leftovers_kept
            and not self.refused
            and not self.purges_failed
        )


@dataclass(frozen=True)
class RunSummary(Record):
    """The last object of `--format json` (the only one with `exit_status`): the counts of
    the run's summary. `statuses` are the images per status when the run ends, all regions
    together; `failed_regions` those that failed, kept a leftover or refused an image."""

    regions: int
    statuses: dict[str, int]
    uploaded_bytes: int
    failures: int
    decisions: int
    failed_regions: list[str]
    exit_status: int


@dataclass
class Report:
    """Counts the regions' outcomes and owns the exit status (§7)."""

    dry_run: bool = False
    regions: list[RegionReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stopped_with: int | None = None
    """The exit status of an error that stopped the run (configuration, lock, interruption)."""

    def add(self, region: RegionReport) -> None:
        self.regions.append(region)

    def add_problem(self, message: str) -> None:
        """A failure outside any region's work (e.g. an unknown region argument)."""
        self.problems.append(message)

    def stop(self, status: int, reason: str) -> None:
        """The run was stopped by an error (`reason`) whose exit status is `status`; what
        finished before it stays counted."""
        self.stopped_with = status
        self.add_problem(reason)

    @property
    def failures(self) -> int:
        """Regions that did not succeed, and failures outside any region."""
        return sum(not region.succeeded for region in self.regions) + len(self.problems)

    @property
    def decisions(self) -> int:
        return sum(region.decisions for region in self.regions)

    @property
    def exit_status(self) -> int:
        """1 for a failure, else 4 while an image waits for a decision, else 0 (§7)."""
        if self.stopped_with is not None:
            return self.stopped_with
        if self.failures:
            return EXIT_FAILURE
        return EXIT_DECISION if self.decisions else EXIT_OK

    @property
    def uploaded_bytes(self) -> int:
        return sum(region.bytes_uploaded for region in self.regions)

    def totals(self) -> Counter:
        """Images per status when the run ends, all regions together."""
        totals: Counter = Counter()
        for region in self.regions:
            totals.update(region.statuses)
        return totals

    def summary_record(self) -> RunSummary:
        return RunSummary(
            regions=len(self.regions),
            statuses=dict(sorted(self.totals().items())),
            uploaded_bytes=self.uploaded_bytes,
            failures=self.failures,
            decisions=self.decisions,
            failed_regions=[region.region for region in self.regions if not region.succeeded],
            exit_status=self.exit_status,
        )
