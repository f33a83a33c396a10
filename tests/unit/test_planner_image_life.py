"""The planner and Glance v2's image life (README "Image life"): hidden images, deactivation
following the master, tags, images still arriving. Pure: images and options in, a plan out."""

from __future__ import annotations

import pytest
from unit.test_planner import PROJECT, item, master, outcomes, plan, regional

from glancesync.image import DEACTIVATION_MARK, Image
from glancesync.planner import Action, MetadataChange, select_master_images

MARKED = {DEACTIVATION_MARK: "deactivated by glancesync"}

SELECTION_CASES = [
    pytest.param("active", True, id="active"),
    pytest.param("deactivated", True, id="deactivated: its copies follow it"),
    pytest.param("queued", True, id="queued: reported as waiting"),
    pytest.param("saving", True, id="saving: reported as waiting"),
    pytest.param("uploading", True, id="uploading: reported as waiting"),
    pytest.param("importing", True, id="importing: reported as waiting"),
    pytest.param("killed", False, id="killed"),
    pytest.param("pending_delete", False, id="pending_delete"),
]


@pytest.mark.parametrize(("status", "selected"), SELECTION_CASES)
def test_master_selection_by_status(status: str, selected: bool) -> None:
    chosen, _ = select_master_images([master("a", status=status)], PROJECT)
    assert bool(chosen) is selected


def test_a_hidden_master_image_is_selected_like_any_other() -> None:
    chosen, _ = select_master_images([master("a", os_hidden=True)], PROJECT)
    assert [image.name for image in chosen] == ["a"]


LIFE_CASES = [
    # hidden
    pytest.param(
        [master("a", os_hidden=True)],
        [],
        {},
        {"a": ("pending_upload", "upload")},
        id="hidden master image, no copy: uploaded",
    ),
    pytest.param(
        [master("a")],
        [regional("a", os_hidden=True)],
        {},
        {"a": ("pending_metadata", "update_metadata")},
        id="hidden copy of a visible master image: matched, made visible",
    ),
    pytest.param(
        [master("a", os_hidden=True)],
        [regional("a", os_hidden=True)],
        {},
        {"a": ("ok", "none")},
        id="hidden copy with the master's content: ok",
    ),
    pytest.param(
        [master("a", os_hidden=True)],
        [regional("a", os_hidden=True, checksum="other")],
        {},
        {"a": ("error_checksum", "none")},
        id="hidden copy with other content: conflict rules, no rule",
    ),
    pytest.param(
        [master("a", os_hidden=True)],
        [regional("a", os_hidden=True, checksum="other")],
        {"replace": frozenset({"any"})},
        {"a": ("pending_replace", "replace")},
        id="hidden copy with other content: conflict rules, replace",
    ),
    # deactivation follows the master
    pytest.param(
        [master("a", status="deactivated")],
        [regional("a")],
        {},
        {"a": ("pending_metadata", "deactivate")},
        id="master deactivated, active copy: deactivated",
    ),
    pytest.param(
        [master("a", status="deactivated")],
        [regional("a", status="deactivated", properties=MARKED)],
        {},
        {"a": ("ok", "none")},
        id="master deactivated, copy deactivated by glancesync: ok",
    ),
    pytest.param(
        [master("a")],
        [regional("a", status="deactivated", properties=MARKED)],
        {},
        {"a": ("pending_metadata", "reactivate")},
        id="master reactivated, copy deactivated by glancesync: reactivated",
    ),
    pytest.param(
        [master("a")],
        [regional("a", properties=MARKED)],
        {},
        {"a": ("pending_metadata", "reactivate")},
        id="master active, active copy with a stale mark: unmarked",
    ),
    pytest.param(
        [master("a", status="deactivated")],
        [regional("a", status="deactivated", properties=MARKED, visibility="private")],
        {},
        {"a": ("pending_metadata", "update_metadata")},
        id="master deactivated, copy deactivated by glancesync, other metadata: updated",
    ),
    pytest.param(
        [master("a", status="deactivated")],
        [],
        {},
        {"a": ("ok_deactivated_in_master", "none")},
        id="master deactivated, no copy: never uploaded",
    ),
    pytest.param(
        [master("a", status="deactivated")],
        [regional("a", checksum="other")],
        {"replace": frozenset({"any"})},
        {"a": ("ok_deactivated_in_master", "none")},
        id="master deactivated, other content: left alone whatever the conflict rules",
    ),
    # a copy deactivated by someone else
    pytest.param(
        [master("a")],
        [regional("a", status="deactivated", visibility="private")],
        {},
        {"a": ("ok_deactivated_in_region", "none")},
        id="copy deactivated by the region's admin: left alone, never duplicated",
    ),
    pytest.param(
        [master("a", status="deactivated")],
        [regional("a", status="deactivated")],
        {},
        {"a": ("ok_deactivated_in_region", "none")},
        id="both deactivated, the copy by the region's admin: never reactivated later",
    ),
    pytest.param(
        [master("a")],
        [regional("a", status="deactivated", checksum="other")],
        {"replace": frozenset({"any"})},
        {"a": ("ok_deactivated_in_region", "none")},
        id="copy deactivated by the region's admin, other content: never replaced",
    ),
    # images still arriving
    pytest.param(
        [master("a", status="queued", checksum=None, size=None)],
        [],
        {},
        {"a": ("waiting", "none")},
        id="master queued, no copy: waiting, nothing uploaded",
    ),
    pytest.param(
        [master("a", status="importing")],
        [regional("a", checksum="other")],
        {"replace": frozenset({"any"})},
        {"a": ("waiting", "none")},
        id="master importing, a copy: waiting, nothing replaced",
    ),
    pytest.param(
        [master("a", status="saving", container_format="ova")],
        [],
        {},
        {"a": ("waiting", "none")},
        id="master saving: waiting before any format verdict",
    ),
    pytest.param(
        [
            master("kernel", status="saving", size=10),
            master("ami", properties={"kernel_id": "m-kernel"}),
        ],
        [regional("kernel", size=10)],
        {},
        {"kernel": ("waiting", "none"), "ami": ("waiting", "none")},
        id="an AMI image whose kernel is still arriving: waiting, not error_ami",
    ),
    # tags
    pytest.param(
        [master("a", tags=("gpu", "lts"))],
        [regional("a", tags=("lts",))],
        {},
        {"a": ("pending_metadata", "update_metadata")},
        id="a master tag missing in the region: pending_metadata",
    ),
    pytest.param(
        [master("a", tags=("lts",))],
        [regional("a", tags=("lts", "local"))],
        {},
        {"a": ("ok", "none")},
        id="a region-only tag: ok, it stays",
    ),
]


@pytest.mark.parametrize(("masters", "regionals", "options", "expected"), LIFE_CASES)
def test_image_life_status(
    masters: list[Image], regionals: list[Image], options: dict, expected: dict
) -> None:
    assert outcomes(plan(masters, regionals, **options)) == expected


CHANGE_CASES = [
    pytest.param(
        master("a", os_hidden=True),
        regional("a"),
        MetadataChange(attributes={"os_hidden": True}, previous={"os_hidden": False}),
        id="os_hidden is compared and copied like visibility",
    ),
    pytest.param(
        master("a", tags=("b", "a", "c")),
        regional("a", tags=("c", "local")),
        MetadataChange(add_tags=("a", "b")),
        id="the master's missing tags are added, sorted; the region's own stay",
    ),
    pytest.param(
        master("a", status="deactivated"),
        regional("a"),
        None,
        id="a deactivation alone has no metadata change",
    ),
    pytest.param(
        master("a", status="deactivated", tags=("retired",)),
        regional("a"),
        MetadataChange(add_tags=("retired",)),
        id="a deactivation carries the metadata change",
    ),
    pytest.param(
        master("a"),
        regional("a", status="deactivated", properties=MARKED),
        None,
        id="the deactivation mark is never compared, copied or pruned",
    ),
]


@pytest.mark.parametrize(("master_image", "regional_image", "expected"), CHANGE_CASES)
def test_image_life_change(
    master_image: Image, regional_image: Image, expected: MetadataChange | None
) -> None:
    region_plan = plan([master_image], [regional_image], prune_properties=True)
    assert item(region_plan, "a").change == expected


def test_an_upload_copies_os_hidden() -> None:
    upload = item(plan([master("a", os_hidden=True)]), "a").upload
    assert upload.os_hidden is True
    assert upload.body()["os_hidden"] is True


def test_a_copy_deactivated_by_the_regions_admin_is_matched_not_warned_about() -> None:
    region_plan = plan([master("a")], [regional("a", status="deactivated")])
    assert region_plan.warnings == ()
    assert item(region_plan, "a").regional.id == "r-a"


def test_deactivations_and_reactivations_are_steps_with_the_metadata_updates() -> None:
    region_plan = plan(
        [master("a", status="deactivated", size=5), master("b", size=1), master("c", size=3)],
        [regional("a", size=5), regional("b", size=1, status="deactivated", properties=MARKED)],
    )
    steps = [(step.master.name, step.action) for step in region_plan.steps]
    assert steps == [("b", Action.REACTIVATE), ("a", Action.DEACTIVATE), ("c", Action.UPLOAD)]


def test_an_arriving_obsolete_master_image_renames_nothing() -> None:
    region_plan = plan(
        [master("a_obsolete", status="queued", checksum=None)],
        [regional("a", status="queued", checksum=None)],
    )
    assert region_plan.items == ()


def test_a_copy_deactivated_by_the_regions_admin_is_never_marked_obsolete() -> None:
    region_plan = plan(
        [master("a_obsolete", checksum="sum-a")], [regional("a", status="deactivated")]
    )
    assert region_plan.items == ()


@pytest.mark.parametrize(
    ("images", "selected", "warned"),
    [
        pytest.param(
            [master("a"), master("a", id="m-a2", status="queued")],
            ["m-a"],
            "still arriving under a name in use, left out: a (m-a2)",
            id="a new version arriving: the ready image goes on",
        ),
        pytest.param(
            [master("a", id="m-a1", status="saving"), master("a", id="m-a2", status="queued")],
            [],
            "duplicated names left out: a",
            id="two arriving under one name: duplicates",
        ),
        pytest.param(
            [master("a", status="deactivated"), master("a", id="m-a2", status="importing")],
            ["m-a"],
            "still arriving under a name in use, left out: a (m-a2)",
            id="a deactivated image is ready too",
        ),
    ],
)
def test_an_image_arriving_under_a_ready_images_name_waits_its_turn(
    images: list[Image], selected: list[str], warned: str
) -> None:
    chosen, warnings = select_master_images(images, PROJECT)
    assert [image.id for image in chosen] == selected
    assert len(warnings) == 1 and warned in warnings[0]
