"""Retention of retired copies (§12): which copies are due, in which order, and what a run of
the executor does with them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from glancesync.executor import Executor
from glancesync.output import Output
from glancesync.planner import Action, Status, plan_region
from glancesync.report import ItemOutcome, Result
from glancesync.retention import (
    RETIRED_AT,
    RETIRED_BY,
    RETIRED_ID,
    duration_text,
    is_retired_name,
    plan_retention,
    retirement_mark,
)
from glancesync.settings import SyncRules
from tests.unit.memory_cloud import PROJECT, MemoryGlance, content_image

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = 86400


def retired(name: str, days_ago: float | None, **fields) -> object:
    """A copy of PROJECT named `name`, marked retired `days_ago` days before NOW (None: no
    mark)."""
    properties = dict(fields.pop("properties", {}))
    if days_ago is not None:
        properties.update(retirement_mark(NOW - timedelta(days=days_ago), "glancesync rename"))
    return content_image(name, name.encode(), properties=properties, **fields)


def rules(**values) -> SyncRules:
    return SyncRules(**{"purge_after": 30 * DAY, **values})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.old", True),
        ("app.old.2", True),
        ("app_obsolete", True),
        ("app", False),
        (".old", False),
        ("app.old.x", False),
        ("app.older", False),
        ("app_obsolete.bak", False),
    ],
)
def test_a_retired_name_is_a_rename_or_an_obsolete_one(name, expected):
    assert is_retired_name(name) is expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (3600, "1h"),
        (12 * 3600 + 60, "12h 1m"),
        (31 * DAY + 7200, "31d 2h"),
        (50 * DAY + 1, "50d"),
    ],
)
def test_a_duration_is_written_in_its_two_largest_units(seconds, text):
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("copy", "policy", "deleted"),
    [
        (retired("a.old", 31), rules(), True),
        (retired("a_obsolete", 31), rules(), True),
        (retired("a.old.3", 31), rules(), True),
        (retired("a.old", 29), rules(), False),  # fresh
        (retired("a.old", 31), rules(purge_after=None), False),  # retention off
        (retired("a.old", 0), rules(purge_after=0), True),
        (retired("a.old", None), rules(), False),  # not retired by glancesync
        (retired("a.old", 31, owner="other-project"), rules(), False),
        (retired("a.old", 31, owner=None), rules(), False),
        (retired("a.old", 31, protected=True), rules(), False),
        (retired("a.old", 31, status="queued"), rules(), False),
        (retired("a.old", 31, status="deactivated"), rules(), True),
        (retired("a.backup", 31), rules(), False),  # not a retired name
        (retired("a.old", -1), rules(purge_after=0), False),  # a mark in the future
    ],
    ids=lambda value: getattr(value, "name", None) or str(value)[:40],
)
def test_only_glancesync_retired_copies_of_the_project_past_purge_after_are_deleted(
    copy, policy, deleted
):
    retention = plan_retention([copy], policy, PROJECT, NOW)
    assert bool(retention.purged) is deleted
    assert not retention.to_mark


def test_the_copy_of_a_synchronised_master_image_is_never_deleted():
    copy = retired("a.old", 31)
    assert not plan_retention([copy], rules(), PROJECT, NOW, {"a.old"}).purged


def test_an_unreadable_mark_is_warned_about_and_the_copy_kept():
    copy = retired("a.old", None, properties={RETIRED_AT: "last year"})
    retention = plan_retention([copy], rules(purge_unmarked=True), PROJECT, NOW)
    assert (retention.purged, retention.to_mark) == ((), ())
    assert "is not a UTC time" in retention.warnings[0]


def test_unmarked_copies_are_marked_by_the_first_run_only_with_purge_unmarked():
    copy = retired("a.old", None)
    assert not plan_retention([copy], rules(purge_after=0), PROJECT, NOW).to_mark
    retention = plan_retention([copy], rules(purge_after=0, purge_unmarked=True), PROJECT, NOW)
    assert (retention.purged, retention.to_mark) == ((), (copy,))


@pytest.mark.parametrize(
    ("max_purge", "purged", "waiting"),
    [
        (10, ["c.old", "a.old", "b.old"], []),
        (2, ["c.old", "a.old"], ["b.old"]),
        (0, [], ["c.old", "a.old", "b.old"]),
    ],
)
def test_due_copies_go_oldest_first_up_to_max_purge(max_purge, purged, waiting):
    copies = [retired("a.old", 40), retired("b.old", 35), retired("c.old", 50)]
    retention = plan_retention(copies, rules(max_purge=max_purge), PROJECT, NOW)
    assert [due.image.name for due in retention.purged] == purged
    assert [due.image.name for due in retention.waiting] == waiting
    assert bool(retention.warnings) is bool(waiting)


def test_the_reason_names_the_age_who_retired_it_and_the_rule():
    (due,) = plan_retention([retired("a.old", 31)], rules(), PROJECT, NOW).purged
    assert due.reason == "retired 31d ago by glancesync rename; purge_after = 30d"


def plan(images, **values):
    return plan_region([], images, rules(**values), "Lisbon", PROJECT, now=NOW)


def test_the_plan_deletes_due_copies_last_and_reports_those_left():
    copies = [retired("a.old", 40), retired("b.old", 35), retired("c.old", 50)]
    region_plan = plan(copies, max_purge=2)
    shown = [(i.master.name, i.status, i.action) for i in region_plan.items]
    assert shown == [
        ("c.old", Status.PENDING_PURGE, Action.PURGE),
        ("a.old", Status.PENDING_PURGE, Action.PURGE),
        ("b.old", Status.PENDING_PURGE, Action.NONE),
    ]
    assert [i.master.name for i in region_plan.steps] == ["c.old", "a.old"]
    assert region_plan.items[2].reason.endswith("left for the next run (max_purge = 2)")
    assert "1 retired copy due for deletion left for the next run" in region_plan.warnings[0]


def test_the_plan_marks_an_unmarked_copy_as_a_metadata_update():
    (item,) = plan([retired("a_obsolete", None)], purge_unmarked=True).items
    assert (item.status, item.action) == (Status.PENDING_METADATA, Action.UPDATE_METADATA)
    assert item.change.set_properties == {
        RETIRED_AT: "2026-11-30T12:00:00Z",
        RETIRED_BY: "glancesync purge_unmarked",
        RETIRED_ID: item.regional.id,
    }


@pytest.mark.parametrize(("purge_unmarked", "marked"), [(False, 0), (True, 1)])
def test_a_mark_copied_from_another_image_is_no_mark(purge_unmarked, marked):
    """A Nova snapshot of a server booted from a retired copy inherits the copy's properties:
    named web.old, it is still not a copy glancesync retired."""
    inherited = retirement_mark(NOW - timedelta(days=90), "glancesync rename", "retired-copy")
    snapshot = content_image("web.old", b"snapshot", properties=inherited)
    retention = plan_retention([snapshot], rules(purge_unmarked=purge_unmarked), PROJECT, NOW)
    assert (retention.purged, len(retention.to_mark)) == ((), marked)


def test_without_the_time_a_plan_has_no_retention():
    assert plan_region([], [retired("a.old", 99)], rules(), "Lisbon", PROJECT).items == ()


def test_marks_are_never_compared_or_copied():
    master = content_image("app", b"app", properties={RETIRED_AT: "x", "type": "a"})
    regional = content_image("app", b"app", properties={RETIRED_BY: "y", "type": "a"})
    region_plan = plan_region([master], [regional], SyncRules(prune_properties=True), "L", PROJECT)
    assert region_plan.items[0].status is Status.OK


def run(region: MemoryGlance, dry_run: bool = False, **values):
    shown: list[ItemOutcome] = []
    output = Output(lambda record, text: shown.append(record))
    region_plan = plan(list(region.images.values()), **values)
    report = Executor(MemoryGlance("Madrid"), region, dry_run, output).apply(region_plan)
    return report, shown


def test_a_refused_deletion_fails_that_copy_only():
    region = MemoryGlance("Lisbon")
    region.put(retired("a.old", 40))
    kept = region.put(retired("b.old", 41))
    region.fail_on("delete", "b.old")
    report, shown = run(region)
    assert set(region.images) == {kept.id}
    assert [(o.image, o.result) for o in shown] == [
        ("b.old", Result.FAILED),
        ("a.old", Result.DONE),
    ]
    assert report.purges_failed == 1 and not report.succeeded
    assert dict(report.statuses) == {"pending_purge": 1}


def test_a_copy_changed_since_the_listing_is_kept_and_fails():
    """Someone protected it while the run's uploads went on."""
    region = MemoryGlance("Lisbon")
    copy = region.put(retired("a.old", 40))
    region_plan = plan(list(region.images.values()))
    region.images[copy.id] = replace(copy, protected=True)
    shown: list[ItemOutcome] = []
    output = Output(lambda record, text: shown.append(record))
    report = Executor(MemoryGlance("Madrid"), region, False, output).apply(region_plan)
    assert copy.id in region.images and report.purges_failed == 1
    assert [(o.result, "changed since this run listed it" in o.error) for o in shown] == [
        (Result.FAILED, True)
    ]


@pytest.mark.parametrize("values", [{"max_purge": 0}, {}], ids=["max_purge=0", "dry-run"])
def test_max_purge_0_and_a_dry_run_delete_nothing(values):
    region = MemoryGlance("Lisbon")
    region.put(retired("a.old", 40))
    report, _ = run(region, dry_run=not values, **values)
    assert len(region.images) == 1 and report.succeeded
    assert [call for call in region.calls if call[0] == "delete"] == []


def test_a_copy_named_after_a_master_image_not_synchronised_is_never_deleted():
    """The master's private `tools.old` is considered but not synchronised (public only)."""
    master = content_image("tools.old", b"tools", visibility="private")
    copy = retired("tools.old", 40)
    region_plan = plan_region([master], [copy], rules(), "Lisbon", PROJECT, now=NOW)
    assert region_plan.items == ()


def test_an_obsolete_copy_due_has_one_item_the_purge():
    master = content_image("gone_obsolete", b"gone_obsolete", visibility="private")
    copy = retired("gone_obsolete", 40, visibility="public")  # same bytes, other visibility
    region_plan = plan_region([master], [copy], rules(), "Lisbon", PROJECT, now=NOW)
    assert [(i.status, i.action) for i in region_plan.items] == [
        (Status.PENDING_PURGE, Action.PURGE)
    ]
