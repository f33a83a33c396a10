"""One action per mode (§7), chosen once by the CLI; the runner visits the regions and hands
each region's plan to it. A new mode is a module here, a `Mode` and its flag in the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from glancesync.actions.base import ModeAction, RegionVisit, RunStart
from glancesync.actions.make_backup import MakeBackup
from glancesync.actions.show_regions import ShowRegions
from glancesync.actions.show_status import ShowStatus
from glancesync.actions.sync import Sync
from glancesync.output import OutputFormat

__all__ = ["ACTIONS", "Mode", "ModeAction", "RegionVisit", "RunOptions", "RunStart"]


class Mode(Enum):
    SYNC = "sync"
    DRY_RUN = "dry-run"
    SHOW_STATUS = "show-status"
    SHOW_REGIONS = "show-regions"
    MAKE_BACKUP = "make-backup"


ACTIONS: dict[Mode, ModeAction] = {
    Mode.SYNC: Sync(dry_run=False),
    Mode.DRY_RUN: Sync(dry_run=True),
    Mode.SHOW_STATUS: ShowStatus(),
    Mode.SHOW_REGIONS: ShowRegions(),
    Mode.MAKE_BACKUP: MakeBackup(),
}


@dataclass(frozen=True)
class RunOptions:
    """How the command line asked to run: the mode, and what it derives from it."""

    mode: Mode = Mode.SYNC
    parallel: bool = False
    backup_dir: str = "."  # the parent folder of --make-backup's new folder
    run_dir: str = "runs"  # the parent folder of --parallel's new folder of region logs
    output_format: OutputFormat = OutputFormat.TEXT

    @property
    def action(self) -> ModeAction:
        return ACTIONS[self.mode]

    @property
    def writes(self) -> bool:
        return self.action.writes

    @property
    def locks(self) -> bool:
        return self.action.locks

    @property
    def summarises(self) -> bool:
        return self.action.summarises
