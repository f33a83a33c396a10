"""What a run says of each action: the text line ("would" and "did") and the JSON diff (§6)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from glancesync.image import Image
from glancesync.output import describe
from glancesync.planner import Action, MetadataChange, PlanItem, Status, Travel
from glancesync.report import metadata_diff

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
        },
        id="attributes first; a property the region lacks has no old value",
    ),
    pytest.param(
        MetadataChange(references={"kernel_id": "kernel"}, previous={"kernel_id": "r-old"}),
        "set kernel_id: r-old → new copy of kernel",
        "set kernel_id: r-old → new copy of kernel",
        {"set": {"kernel_id": {"old": "r-old", "new_copy_of": "kernel"}}, "remove": [], "keep": []},
        id="a reference to an image uploaded in this run",
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
