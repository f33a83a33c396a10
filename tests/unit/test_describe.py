"""What a run says of each action: the text line ("would" and "did") and the JSON diff (§6)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from glancesync.image import Image
from glancesync.output import Output, describe
from glancesync.planner import Action, MetadataChange, PlanItem, Status, Travel
from glancesync.report import Result, metadata_diff, outcome_of

P = Image(id="m-p", name="p", size=2048)

CHANGES = [
    pytest.param(
        MetadataChange(
            set_properties={"type": "base"}, previous={"type": "old"}, kept=("hw_qemu_guest_agent",)
        ),
        "set type: old → base; keep hw_qemu_guest_agent",
        "set type: old → base; kept hw_qemu_guest_agent",
        {
            "set": {"type": {"old": "old", "new": "base"}},
            "remove": [],
            "keep": ["hw_qemu_guest_agent"],
            "add_tags": [],
        },
        id="a property changed, a region-only one kept",
    ),
    pytest.param(
        MetadataChange(
            attributes={"visibility": "public", "min_ram": 512},
            set_properties={"nid": "2"},
            remove_properties=("stale", "old"),
            previous={"visibility": "private", "min_ram": 0},
        ),
        "set visibility: private → public; set min_ram: 0 → 512; set nid: 2; remove stale, old",
        "set visibility: private → public; set min_ram: 0 → 512; set nid: 2; removed stale, old",
        {
            "set": {
                "visibility": {"old": "private", "new": "public"},
                "min_ram": {"old": 0, "new": 512},
                "nid": {"old": None, "new": "2"},
            },
            "remove": ["stale", "old"],
            "keep": [],
            "add_tags": [],
        },
        id="attributes first; a property the region lacks has no old value",
    ),
    pytest.param(
        MetadataChange(references={"kernel_id": "kernel"}, previous={"kernel_id": "r-old"}),
        "set kernel_id: r-old → new copy of kernel",
        "set kernel_id: r-old → new copy of kernel",
        {
            "set": {"kernel_id": {"old": "r-old", "new_copy_of": "kernel"}},
            "remove": [],
            "keep": [],
            "add_tags": [],
        },
        id="a reference to an image uploaded in this run",
    ),
    pytest.param(
        MetadataChange(
            attributes={"os_hidden": True}, previous={"os_hidden": False}, add_tags=("gpu", "lts")
        ),
        "set os_hidden: False → True; add tags gpu, lts",
        "set os_hidden: False → True; added tags gpu, lts",
        {
            "set": {"os_hidden": {"old": False, "new": True}},
            "remove": [],
            "keep": [],
            "add_tags": ["gpu", "lts"],
        },
        id="hidden and tags: the master's tags the region lacks are added",
    ),
]


@pytest.mark.parametrize(("change", "would", "did", "diff"), CHANGES)
def test_a_metadata_update_names_each_key(
    change: MetadataChange, would: str, did: str, diff: dict
) -> None:
    item = PlanItem(Status.PENDING_METADATA, P, P, Action.UPDATE_METADATA, change=change)
    assert describe(item, dry_run=True) == f"would update metadata of p: {would}"
    assert describe(item, dry_run=False) == f"updated metadata of p: {did}"
    assert metadata_diff(change) == diff


def test_an_upload_names_its_size_and_how_it_travels_and_no_diff() -> None:
    item = PlanItem(Status.PENDING_UPLOAD, P, None, Action.UPLOAD, travel=Travel.STREAM)
    assert describe(item, dry_run=True) == "would upload p (2.0 KiB)"
    assert describe(item, dry_run=False) == "uploaded p (2.0 KiB)"
    copied = replace(item, travel=Travel.GLANCE_DOWNLOAD)
    assert describe(copied, dry_run=True) == "would upload p (2.0 KiB, copied by glance-download)"


@pytest.mark.parametrize(
    ("action", "change", "would", "did"),
    [
        (Action.DEACTIVATE, None, "would deactivate p", "deactivated p"),
        (Action.REACTIVATE, None, "would reactivate p", "reactivated p"),
        (
            Action.DEACTIVATE,
            MetadataChange(add_tags=("retired",)),
            "would deactivate p: add tags retired",
            "deactivated p: added tags retired",
        ),
    ],
)
def test_a_copy_following_the_master_says_it_is_deactivated_or_reactivated(
    action: Action, change: MetadataChange | None, would: str, did: str
) -> None:
    item = PlanItem(Status.PENDING_METADATA, P, P, action, change=change)
    assert describe(item, dry_run=True) == would
    assert describe(item, dry_run=False) == did


@pytest.mark.parametrize(
    ("status", "master_status", "line"),
    [
        (
            Status.WAITING,
            "queued",
            "R: waiting for p: still queued in the master, nothing done until it is active",
        ),
        (
            Status.OK_DEACTIVATED_IN_REGION,
            "active",
            "R: left p (r-p) as it is: deactivated in the region by someone else",
        ),
        (
            Status.OK_DEACTIVATED_IN_MASTER,
            "deactivated",
            "R: not copying p: deactivated in the master",
        ),
        (
            Status.WAITING,
            "active",
            "R: waiting for p: its kernel or ramdisk is still arriving in the master, nothing "
            "done until it is active",
        ),
        (Status.OK, "active", None),
    ],
)
def test_an_image_left_as_it_is_by_its_life_has_a_line(
    status: Status, master_status: str, line: str | None
) -> None:
    lines: list[str | None] = []
    master = replace(P, status=master_status)
    item = PlanItem(status, master, replace(P, id="r-p"))
    Output(lambda _record, text: lines.append(text)).unchanged(
        outcome_of("R", item, Result.NONE), item
    )
    assert lines == [line]
