"""What each mode answers about itself (§7): the runner and the CLI ask, never branch on it."""

from __future__ import annotations

import pytest

from glancesync.actions import ACTIONS, Mode, RunOptions


@pytest.mark.parametrize(
    ("mode", "writes", "locks", "summarises", "visits_regions"),
    [
        (Mode.SYNC, True, True, True, True),
        (Mode.DRY_RUN, False, False, True, True),
        (Mode.SHOW_STATUS, False, False, False, True),
        (Mode.MAKE_BACKUP, False, True, False, True),
        (Mode.SHOW_REGIONS, False, False, False, False),
    ],
)
def test_a_mode_says_what_it_does(mode, writes, locks, summarises, visits_regions) -> None:
    options = RunOptions(mode=mode)
    assert (options.writes, options.locks, options.summarises) == (writes, locks, summarises)
    assert options.action.visits_regions is visits_regions


def test_every_mode_has_its_action() -> None:
    assert set(ACTIONS) == set(Mode)
