"""`--show-regions`: the regions a run without region arguments visits, then those of the
other targets (§7), from the catalogs alone."""

from __future__ import annotations

from glancesync.actions.base import ModeAction, RunStart
from glancesync.regions import shown_regions
from glancesync.report import ShownRegion


class ShowRegions(ModeAction):
    reads_master = False
    visits_regions = False
    all_targets = True

    def begin(self, start: RunStart) -> None:
        refs = shown_regions(start.settings, start.catalogs)
        start.output.regions([ShownRegion(ref.full_name, ref.target) for ref in refs])
