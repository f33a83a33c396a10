"""A sync (§6), or with `--dry-run` what it would do: the executor carries out the plan."""

from __future__ import annotations

from glancesync.actions.base import ModeAction, RegionVisit
from glancesync.executor import Executor
from glancesync.report import RegionReport


class Sync(ModeAction):
    summarises = True
    copies = True

    def __init__(self, dry_run: bool):
        self.dry_run = dry_run
        self.writes = self.locks = not dry_run

    def visit(self, visit: RegionVisit) -> RegionReport:
        executor = Executor(
            visit.master,
            visit.region,
            dry_run=self.dry_run,
            output=visit.output,
            cache=visit.cache,
            progress=visit.progress,
            memory=visit.memory,
        )
        return executor.apply(visit.plan)
