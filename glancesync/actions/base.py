"""What every mode's action is given, and what it answers about itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from glancesync.cache import MasterCache
from glancesync.executor import ImageService
from glancesync.formats import VerdictMemory
from glancesync.image import Image
from glancesync.output import Output
from glancesync.planner import RegionPlan
from glancesync.progress import Progress
from glancesync.regions import RegionRef
from glancesync.report import ItemOutcome, RegionReport, Report
from glancesync.settings import Settings


@dataclass(frozen=True)
class RunStart:
    """What an action may use before the regions: the run's settings, the catalogs read, the
    --backup-dir (the parent of a backup's new folder), the output, the run's report; and for a
    mode that reads the master, the master region's facade, its whole listing, the selected
    master images, the regions chosen and the refusals of formats remembered (§10)."""

    settings: Settings
    catalogs: Mapping[str, Sequence[str]]
    backup_dir: str
    output: Output
    report: Report
    master: ImageService | None = None
    master_listing: Sequence[Image] = ()
    selected: Sequence[Image] = ()
    regions: Sequence[RegionRef] = ()
    memory: VerdictMemory | None = None


@dataclass(frozen=True)
class RegionVisit:
    """One region as the runner hands it to the action: its plan, its listing, both facades,
    where outcomes go, and the run's shared things (cache of master bytes, own folder)."""

    plan: RegionPlan
    listing: Sequence[Image]
    master: ImageService
    region: ImageService
    output: Output
    progress: Progress
    cache: MasterCache | None = None
    folder: str | None = None
    memory: VerdictMemory | None = None


class ModeAction:
    """A mode (§7): run-wide work in `begin`, then `visit` in each region. The class
    attributes answer what the runner and the CLI must know of it."""

    writes = False  # writes to Glance: a real sync (progress bars, the cache of master bytes)
    locks = False  # takes the run lock: it writes, or saves a state a sync may be changing
    summarises = False  # logs the summary block at the end
    reads_master = True  # lists the master region before `begin`; else only the catalogs
    visits_regions = True  # else `begin` is the whole run
    all_targets = False  # reads the catalog of every target, not only the named ones
    uses_backup_dir = False  # makes its folder under --backup-dir
    copies = False  # copies images (or says how): asks a region whether it copies them itself

    def begin(self, start: RunStart) -> str | None:
        """Work before the regions; returns the run's own folder (handed to each visit)."""
        return None

    def visit(self, visit: RegionVisit) -> RegionReport:
        raise NotImplementedError

    def failed(self, output: Output, outcome: ItemOutcome) -> None:
        """Show a region that failed as a whole."""
        output.quiet(outcome)
