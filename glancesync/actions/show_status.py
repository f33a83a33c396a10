"""`--show-status`: a status,region,image CSV line per image (§7); nothing is written."""

from __future__ import annotations

from glancesync.actions.base import ModeAction, RegionVisit
from glancesync.output import Output
from glancesync.planner import Action
from glancesync.report import ItemOutcome, RegionReport, Result, outcome_of


class ShowStatus(ModeAction):
    def visit(self, visit: RegionVisit) -> RegionReport:
        plan = visit.plan
        report = RegionReport(region=plan.region)
        for item in plan.items:
            result = Result.NONE if item.action is Action.NONE else Result.PLANNED
            outcome = outcome_of(plan.region, item, result, item.upload_size)
            report.count(outcome)
            visit.output.status(outcome)
        return report

    def failed(self, output: Output, outcome: ItemOutcome) -> None:
        output.status(outcome)
