"""`--check-formats`: the master images synchronised to the chosen regions, each judged once by
its bytes (§10), as few of them as the inspector needs (HTTP Range requests); nothing is
written to any Glance. An image that fails is a failure of the run (exit 1)."""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial

from glancesync.actions.base import ModeAction, RunStart
from glancesync.errors import GlanceSyncError
from glancesync.formats import HeadVerdict, Judgement, inspect_head
from glancesync.image import Image
from glancesync.imagelife import has_readable_bytes
from glancesync.output import human_size
from glancesync.planner import is_synchronised
from glancesync.report import FormatCheck

LOG = logging.getLogger(__name__)


class CheckFormats(ModeAction):
    visits_regions = False

    def begin(self, start: RunStart) -> None:
        targets = [start.settings.targets[name] for name in {ref.target for ref in start.regions}]
        images = [
            image
            for image in start.selected
            if has_readable_bytes(image) and any(is_synchronised(image, t) for t in targets)
        ]
        verdicts: Counter = Counter()
        read = 0
        for image in images:
            try:
                head = inspect_head(image, partial(start.master.download_part, image.id))
            except (GlanceSyncError, EOFError) as error:
                LOG.error("%s: cannot be checked: %s", image.name, error)
                start.report.add_problem(f"{image.name}: cannot be checked: {error}")
                continue
            verdict = head.verdict
            verdicts[verdict.judgement.value] += 1
            read += head.bytes_read
            if verdict.judgement is not Judgement.ACCEPTED:
                start.report.add_problem(f"{image.name}: {verdict.describe()}")
                start.memory.remember(image, verdict)
            start.output.format_check(format_check(image, head))
        counts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
        LOG.info(
            "checked %d image(s): %s; %s read from the master",
            len(images),
            counts or "none",
            human_size(read),
        )


def format_check(image: Image, head: HeadVerdict) -> FormatCheck:
    verdict = head.verdict
    return FormatCheck(
        image=image.name,
        id=image.id,
        declared=verdict.declared,
        detected=verdict.detected,
        verdict=verdict.judgement.value,
        reason=verdict.reason,
        failed_checks=list(verdict.failed_checks),
        bytes_read=head.bytes_read,
    )
