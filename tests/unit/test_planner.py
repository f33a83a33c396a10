"""The planner (§3, §4, §5, §8): pure, so every case is images and options in, a plan out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from glancesync.condition import compile_condition
from glancesync.formats import Judgement, Verdict
from glancesync.image import UPLOAD_MARKER, Image
from glancesync.planner import (
    Action,
    MetadataChange,
    PlanItem,
    RegionPlan,
    UploadSpec,
    by_glance_download,
    is_synchronised,
    plan_region,
    select_master_images,
)
from glancesync.settings import SyncRules

PROJECT = "project-1"
OTHER = "project-2"


def master(name: str, **fields) -> Image:
    """A public raw master image of the project; its checksum is `sum-<name>`."""
    defaults = {
        "id": f"m-{name}",
        "name": name,
        "owner": PROJECT,
        "checksum": f"sum-{name}",
        "size": 100,
        "visibility": "public",
        "disk_format": "raw",
        "container_format": "bare",
        "region": "Burgos",
    }
    return Image(**{**defaults, **fields})


def regional(name: str, **fields) -> Image:
    """A regional image of the project with the defaults of `master(name)`: same content."""
    return master(name, **{"id": f"r-{name}", "region": "Madrid", **fields})


def rules(**options) -> SyncRules:
    return SyncRules(**options)


@dataclass(frozen=True)
class Condition:
    """Stand-in for a compiled metadata_condition."""

    test: Callable[[Image, frozenset[str]], bool]

    def evaluate(self, image: Image, metadata_set: frozenset[str]) -> bool:
        return self.test(image, metadata_set)


def plan(masters, regionals=(), refusals=None, **options) -> RegionPlan:
    return plan_region(masters, regionals, rules(**options), "Madrid", PROJECT, refusals)


def outcomes(region_plan: RegionPlan) -> dict[str, tuple[str, str]]:
    return {item.master.name: (item.status, item.action) for item in region_plan.items}


def item(region_plan: RegionPlan, name: str) -> PlanItem:
    return next(item for item in region_plan.items if item.master.name == name)


# Kernel, ramdisk and an AMI image that needs them.
KERNEL = master("kernel", size=10)
RAMDISK = master("ramdisk", size=20)
AMI = master("ami", size=100, properties={"kernel_id": "m-kernel", "ramdisk_id": "m-ramdisk"})
REGIONAL_AMI = regional(
    "ami", size=100, properties={"kernel_id": "r-kernel", "ramdisk_id": "r-ramdisk"}
)


# --- §3: which master images are synchronised -------------------------------------------------

SYNCHRONISED_CASES = [
    pytest.param(master("a"), {}, True, id="public image, no options: synchronised"),
    pytest.param(
        master("a", visibility="private"), {}, False, id="private image: not synchronised"
    ),
    pytest.param(
        master("a", visibility="private"),
        {"forcesyncs": frozenset({"m-a"})},
        True,
        id="forcesyncs: synchronised even if private",
    ),
    pytest.param(
        master("a_obsolete"),
        {"forcesyncs": frozenset({"m-a_obsolete"})},
        False,
        id="_obsolete name: never synchronised, even in forcesyncs",
    ),
    pytest.param(
        master("a", visibility="private"),
        {"metadata_condition": Condition(lambda image, _: image.name == "a")},
        True,
        id="condition true: synchronised even if private",
    ),
    pytest.param(
        master("a"),
        {"metadata_condition": Condition(lambda image, _: False)},
        False,
        id="condition false: public image not synchronised",
    ),
    pytest.param(
        master("a", properties={"nid": "1"}),
        {
            "forcesyncs": frozenset({"m-a"}),
            "metadata_condition": Condition(lambda image, _: False),
        },
        True,
        id="forcesyncs beats a false condition",
    ),
    pytest.param(
        master("a"),
        {
            "metadata_condition": Condition(lambda _, metadata_set: "nid" in metadata_set),
            "metadata_set": frozenset({"nid"}),
        },
        True,
        id="condition sees metadata_set and replaces the metadata_set rule",
    ),
    pytest.param(
        master("a", properties={"nid": "1", "local": "x"}),
        {"metadata_set": frozenset({"nid", "type"})},
        True,
        id="metadata_set: public image with one of its properties synchronised",
    ),
    pytest.param(
        master("a", properties={"local": "x"}),
        {"metadata_set": frozenset({"nid", "type"})},
        False,
        id="metadata_set: public image with none of its properties not synchronised",
    ),
    pytest.param(
        master("a", visibility="private", properties={"nid": "1"}),
        {"metadata_set": frozenset({"nid"})},
        False,
        id="metadata_set: private image not synchronised",
    ),
]


@pytest.mark.parametrize(("image", "options", "expected"), SYNCHRONISED_CASES)
def test_is_synchronised(image: Image, options: dict, expected: bool) -> None:
    assert is_synchronised(image, rules(**options)) is expected


def test_is_synchronised_with_a_compiled_metadata_condition() -> None:
    condition = compile_condition("'nid' in image.user_properties")
    options = {"metadata_condition": condition}
    assert is_synchronised(
        master("a", visibility="private", properties={"nid": "1"}), rules(**options)
    )
    assert not is_synchronised(master("a"), rules(**options))


def test_master_selection_keeps_active_named_images_of_the_master_project_or_unowned() -> None:
    images = [
        master("own"),
        master("unowned", owner=None),
        master("foreign", owner=OTHER),
        master("killed", status="killed"),
        master("", id="m-unnamed"),
    ]
    selected, warnings = select_master_images(images, PROJECT)
    assert [image.name for image in selected] == ["own", "unowned"]
    assert warnings == ()


def test_master_duplicated_names_are_all_left_out_with_one_warning() -> None:
    images = [
        master("a", id="m-a1"),
        master("b", id="m-b1"),
        master("c"),
        master("a", id="m-a2"),
        master("b", id="m-b2"),
    ]
    selected, warnings = select_master_images(images, PROJECT)
    assert [image.name for image in selected] == ["c"]
    assert len(warnings) == 1
    assert "a, b" in warnings[0]


def test_master_duplicate_that_is_not_considered_does_not_count() -> None:
    selected, warnings = select_master_images([master("a"), master("a", status="killed")], PROJECT)
    assert [image.id for image in selected] == ["m-a"]
    assert warnings == ()


# --- §4, §5: matching and per-image status -----------------------------------------------------

STATUS_CASES = [
    pytest.param(
        [master("a")],
        [],
        {},
        {"a": ("pending_upload", "upload")},
        id="no regional image: pending_upload",
    ),
    pytest.param(
        [master("a")],
        [regional("a")],
        {},
        {"a": ("ok", "none")},
        id="same content and metadata: ok",
    ),
    pytest.param(
        [master("a")],
        [regional("a", visibility="private")],
        {},
        {"a": ("pending_metadata", "update_metadata")},
        id="same content, other metadata: pending_metadata",
    ),
    pytest.param(
        [master("a", properties={"type": "base"})],
        [regional("a", properties={"type": "base", "local": "ours"})],
        {},
        {"a": ("ok", "none")},
        id="only region-only properties differ: ok, they are kept",
    ),
    pytest.param(
        [master("a", properties={"type": "base"})],
        [regional("a", properties={"type": "base", "local": "ours"})],
        {"prune_properties": True},
        {"a": ("pending_metadata", "update_metadata")},
        id="only region-only properties differ, prune_properties: pending_metadata",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {},
        {"a": ("error_checksum", "none")},
        id="other content, no rule: error_checksum",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"dontupdate": frozenset({"other"}), "rename": frozenset({"other"})},
        {"a": ("error_checksum", "none")},
        id="rules for other checksums do not apply: error_checksum",
    ),
    pytest.param(
        [master("a", os_hash_algo="sha512", os_hash_value="new")],
        [regional("a", os_hash_algo="sha512", os_hash_value="old")],
        {},
        {"a": ("error_checksum", "none")},
        id="same md5, other os_hash_value: content differs",
    ),
    pytest.param(
        [master("a", os_hash_algo="sha512", os_hash_value="x")],
        [regional("a", os_hash_algo="sha256", os_hash_value="y")],
        {},
        {"a": ("ok", "none")},
        id="os_hash of different algorithms: md5 decides",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old", visibility="private")],
        {"dontupdate": frozenset({"old"})},
        {"a": ("ok_stalled_checksum", "none")},
        id="checksum in dontupdate: ok_stalled_checksum, metadata left alone",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"rename": frozenset({"old"})},
        {"a": ("pending_rename", "rename")},
        id="checksum in rename: pending_rename",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"replace": frozenset({"old"})},
        {"a": ("pending_replace", "replace")},
        id="checksum in replace: pending_replace",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {
            "dontupdate": frozenset({"old"}),
            "rename": frozenset({"old"}),
            "replace": frozenset({"old"}),
        },
        {"a": ("ok_stalled_checksum", "none")},
        id="checksum in dontupdate, rename and replace: dontupdate wins",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"rename": frozenset({"old"}), "replace": frozenset({"old"})},
        {"a": ("pending_rename", "rename")},
        id="checksum in rename and replace: rename wins",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {
            "dontupdate": frozenset({"any"}),
            "rename": frozenset({"any"}),
            "replace": frozenset({"any"}),
        },
        {"a": ("ok_stalled_checksum", "none")},
        id="any in dontupdate, rename and replace: dontupdate wins",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"rename": frozenset({"any"}), "replace": frozenset({"any"})},
        {"a": ("pending_rename", "rename")},
        id="any in rename and replace: rename wins",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"replace": frozenset({"any"})},
        {"a": ("pending_replace", "replace")},
        id="any in replace: pending_replace",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"dontupdate": frozenset({"any"}), "replace": frozenset({"old"})},
        {"a": ("pending_replace", "replace")},
        id="specific checksum in replace beats any in dontupdate",
    ),
    pytest.param(
        [master("a")],
        [regional("a", checksum="old")],
        {"rename": frozenset({"any"}), "dontupdate": frozenset({"old"})},
        {"a": ("ok_stalled_checksum", "none")},
        id="specific checksum in dontupdate beats any in rename",
    ),
    pytest.param(
        [master("a")],
        [regional("a", owner=OTHER)],
        {},
        {"a": ("pending_upload", "upload")},
        id="only_tenant_images: other project's image ignored",
    ),
    pytest.param(
        [master("a")],
        [regional("a", owner=OTHER)],
        {"only_tenant_images": False},
        {"a": ("ok", "none")},
        id="without only_tenant_images: other project's image is a match",
    ),
    pytest.param(
        [master("a")],
        [regional("a", owner=OTHER, checksum="theirs")],
        {"only_tenant_images": False},
        {"a": ("error_checksum", "none")},
        id="without only_tenant_images: other project's other content is a conflict",
    ),
    pytest.param(
        [master("a")],
        [regional("a", owner=None)],
        {},
        {"a": ("ok", "none")},
        id="only_tenant_images: unowned regional image is a match",
    ),
    pytest.param(
        [master("a")],
        [regional("a", status="saving")],
        {},
        {"a": ("pending_upload", "upload")},
        id="regional image neither active nor deactivated ignored: pending_upload",
    ),
    pytest.param(
        [master("a")],
        [regional("a.old"), regional("a_obsolete")],
        {},
        {"a": ("pending_upload", "upload")},
        id="a.old and a_obsolete are no match for a",
    ),
    pytest.param(
        [master("a")],
        [regional("a", id="r-a1", checksum="old"), regional("a", id="r-a2")],
        {},
        {"a": ("ok", "none")},
        id="regional duplicates: the one with the master's content is used",
    ),
    pytest.param(
        [master("a")],
        [regional("a", id="r-a1", checksum="first"), regional("a", id="r-a2", checksum="second")],
        {"dontupdate": frozenset({"first"})},
        {"a": ("ok_stalled_checksum", "none")},
        id="regional duplicates without the master's content: the first is used",
    ),
    pytest.param(
        [master("a", visibility="private")],
        [],
        {},
        {},
        id="unsynchronised master image: no item",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [regional("kernel", size=10), regional("ramdisk", size=20), REGIONAL_AMI],
        {},
        {"kernel": ("ok", "none"), "ramdisk": ("ok", "none"), "ami": ("ok", "none")},
        id="AMI: translated kernel and ramdisk equal: ok",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [
            regional("kernel", size=10),
            regional("ramdisk", size=20),
            regional("ami", properties={"kernel_id": "r-elsewhere", "ramdisk_id": "r-ramdisk"}),
        ],
        {},
        {
            "kernel": ("ok", "none"),
            "ramdisk": ("ok", "none"),
            "ami": ("pending_metadata", "update_metadata"),
        },
        id="AMI: regional kernel_id points elsewhere: pending_metadata",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [regional("ramdisk", size=20)],
        {},
        {
            "kernel": ("pending_upload", "upload"),
            "ramdisk": ("ok", "none"),
            "ami": ("pending_ami", "upload"),
        },
        id="AMI: kernel pending upload: pending_ami, uploaded",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [regional("kernel", size=10, checksum="old"), regional("ramdisk", size=20), REGIONAL_AMI],
        {"replace": frozenset({"old"})},
        {
            "kernel": ("pending_replace", "replace"),
            "ramdisk": ("ok", "none"),
            "ami": ("pending_ami", "update_metadata"),
        },
        id="AMI: kernel pending replace, AMI content in line: pending_ami, metadata updated",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [regional("kernel", size=10), regional("ramdisk", size=20, checksum="old"), REGIONAL_AMI],
        {"rename": frozenset({"old"}), "replace": frozenset({"any"})},
        {
            "kernel": ("ok", "none"),
            "ramdisk": ("pending_rename", "rename"),
            "ami": ("pending_ami", "update_metadata"),
        },
        id="AMI: ramdisk pending rename: pending_ami",
    ),
    pytest.param(
        [master("kernel", size=500), master("ami", properties={"kernel_id": "m-kernel"})],
        [regional("ami", properties={"kernel_id": "r-kernel"})],
        {},
        {"kernel": ("pending_upload", "upload"), "ami": ("pending_ami", "update_metadata")},
        id="AMI: kernel larger than the AMI image, pending: still pending_ami",
    ),
    pytest.param(
        [master("kernel", size=10, visibility="private"), RAMDISK, AMI],
        [regional("ramdisk", size=20), REGIONAL_AMI],
        {},
        {"ramdisk": ("ok", "none"), "ami": ("error_ami", "none")},
        id="AMI: kernel not synchronised to this target: error_ami",
    ),
    pytest.param(
        [RAMDISK, AMI],
        [regional("ramdisk", size=20)],
        {},
        {"ramdisk": ("ok", "none"), "ami": ("error_ami", "none")},
        id="AMI: kernel not among the master images: error_ami",
    ),
    pytest.param(
        [RAMDISK, AMI],
        [regional("ramdisk", size=20), regional("ami", checksum="old")],
        {},
        {"ramdisk": ("ok", "none"), "ami": ("error_checksum", "none")},
        id="AMI: content conflict is reported before a missing kernel",
    ),
]


@pytest.mark.parametrize(("masters", "regionals", "options", "expected"), STATUS_CASES)
def test_status(
    masters: list[Image], regionals: list[Image], options: dict, expected: dict
) -> None:
    assert outcomes(plan(masters, regionals, **options)) == expected


def test_items_in_ascending_size_ties_by_name_unknown_size_first() -> None:
    masters = [
        master("c", size=30),
        master("b", size=10),
        master("a", size=10),
        master("d", size=None),
    ]
    assert [item.master.name for item in plan(masters).items] == ["d", "a", "b", "c"]


def test_regional_duplicates_warning_lists_the_uuids() -> None:
    region_plan = plan(
        [master("a")], [regional("a", id="r-a1", checksum="old"), regional("a", id="r-a2")]
    )
    assert item(region_plan, "a").regional.id == "r-a2"
    assert len(region_plan.warnings) == 1
    assert "r-a1, r-a2" in region_plan.warnings[0]


def test_other_projects_image_with_a_synchronised_name_is_reported() -> None:
    region_plan = plan(
        [master("a")], [regional("a", id="r-theirs", owner=OTHER), regional("b", owner=OTHER)]
    )
    assert len(region_plan.warnings) == 1
    assert "r-theirs" in region_plan.warnings[0]


def test_non_active_regional_image_is_reported() -> None:
    region_plan = plan([master("a")], [regional("a", id="r-queued", status="queued")])
    assert len(region_plan.warnings) == 1
    assert "r-queued" in region_plan.warnings[0]


def test_error_ami_is_reported_with_the_missing_reference() -> None:
    region_plan = plan([AMI], [])
    assert len(region_plan.warnings) == 1
    assert "kernel_id m-kernel" in region_plan.warnings[0]
    assert "ramdisk_id m-ramdisk" in region_plan.warnings[0]


# --- §6: what a metadata update changes ----------------------------------------------------------

CHANGE_CASES = [
    pytest.param(
        [master("a", min_ram=512, protected=True)],
        [regional("a")],
        {},
        MetadataChange(
            attributes={"min_ram": 512, "protected": True},
            previous={"min_ram": 0, "protected": False},
        ),
        id="only the differing attributes",
    ),
    pytest.param(
        [master("a", visibility="public", min_disk=10)],
        [regional("a", visibility="private", min_disk=10)],
        {},
        MetadataChange(attributes={"visibility": "public"}, previous={"visibility": "private"}),
        id="visibility",
    ),
    pytest.param(
        [master("a", properties={"nid": "1", "type": "base", "local": "master's"})],
        [regional("a", properties={"nid": "2", "type": "base", "local": "ours", "extra": "ours"})],
        {"metadata_set": frozenset({"nid", "type"})},
        MetadataChange(set_properties={"nid": "1"}, previous={"nid": "2"}, kept=("extra", "local")),
        id="metadata_set: only differing listed properties; local ones never set or removed",
    ),
    pytest.param(
        [master("a", properties={"nid": "1"})],
        [regional("a", properties={"nid": "1", "type": "stale", "local": "ours"})],
        {"metadata_set": frozenset({"nid", "type"})},
        MetadataChange(remove_properties=("type",), kept=("local",)),
        id="metadata_set: a listed property the master lacks is removed",
    ),
    pytest.param(
        [master("p", properties={"type": "base"})],
        [regional("p", properties={"type": "old", "hw_qemu_guest_agent": "yes"})],
        {},
        MetadataChange(
            set_properties={"type": "base"},
            previous={"type": "old"},
            kept=("hw_qemu_guest_agent",),
        ),
        id="empty metadata_set: the master's properties set, region-only ones kept",
    ),
    pytest.param(
        [master("a", properties={"nid": "1", "new": "x"})],
        [regional("a", properties={"nid": "2", "stale": "y"})],
        {"prune_properties": True},
        MetadataChange(
            set_properties={"new": "x", "nid": "1"},
            remove_properties=("stale",),
            previous={"nid": "2"},
        ),
        id="prune_properties: an exact mirror, region-only properties removed",
    ),
    pytest.param(
        [master("a", properties={"nid": "1"})],
        [regional("a", properties={"nid": "2", "type": "stale", "local": "ours"})],
        {"metadata_set": frozenset({"nid", "type"}), "prune_properties": True},
        MetadataChange(
            set_properties={"nid": "1"},
            remove_properties=("type",),
            previous={"nid": "2"},
            kept=("local",),
        ),
        id="prune_properties with a metadata_set: only metadata_set mirrors",
    ),
    pytest.param(
        [master("a", properties={"nid": "1", UPLOAD_MARKER: "theirs"})],
        [regional("a", properties={"nid": "2"})],
        {"prune_properties": True},
        MetadataChange(set_properties={"nid": "1"}, previous={"nid": "2"}),
        id="the upload marker is never compared or copied",
    ),
    pytest.param(
        [
            master("kernel", properties={"nid": "1"}),
            master("ami", properties={"nid": "2", "kernel_id": "m-kernel"}),
        ],
        [
            regional("kernel", properties={"nid": "1"}),
            regional("ami", properties={"nid": "2", "kernel_id": "r-elsewhere"}),
        ],
        {"metadata_set": frozenset({"nid"})},
        MetadataChange(
            set_properties={"kernel_id": "r-kernel"}, previous={"kernel_id": "r-elsewhere"}
        ),
        id="kernel_id translated to the regional UUID, whatever metadata_set",
    ),
    pytest.param(
        [master("ami", properties={"nid": "2"})],
        [regional("ami", properties={"nid": "2", "kernel_id": "r-kernel"})],
        {"metadata_set": frozenset({"nid"})},
        MetadataChange(remove_properties=("kernel_id",)),
        id="kernel_id the master lacks is removed",
    ),
    pytest.param(
        [KERNEL, RAMDISK, AMI],
        [regional("kernel", size=10, checksum="old"), regional("ramdisk", size=20), REGIONAL_AMI],
        {"replace": frozenset({"old"})},
        MetadataChange(references={"kernel_id": "kernel"}, previous={"kernel_id": "r-kernel"}),
        id="kernel pending: referred to by name, not removed",
    ),
]


@pytest.mark.parametrize(("masters", "regionals", "options", "expected"), CHANGE_CASES)
def test_metadata_change(
    masters: list[Image], regionals: list[Image], options: dict, expected: MetadataChange
) -> None:
    name = masters[-1].name
    assert item(plan(masters, regionals, **options), name).change == expected


def test_upload_carries_the_master_attributes_and_synchronised_properties() -> None:
    image = master(
        "ami",
        visibility="public",
        disk_format="ami",
        container_format="ami",
        min_ram=512,
        min_disk=5,
        protected=True,
        tags=("base",),
        properties={"nid": "7", "local": "x", "kernel_id": "m-kernel", "ramdisk_id": "m-ramdisk"},
    )
    kernel = master("kernel", size=10, properties={"nid": "1"})
    ramdisk = master("ramdisk", size=20, properties={"nid": "2"})
    region_plan = plan(
        [kernel, ramdisk, image], [regional("kernel", size=10)], metadata_set=frozenset({"nid"})
    )
    assert item(region_plan, "ami").upload == UploadSpec(
        name="ami",
        visibility="public",
        disk_format="ami",
        container_format="ami",
        min_ram=512,
        min_disk=5,
        protected=True,
        tags=("base",),
        properties={"nid": "7", "kernel_id": "r-kernel"},
        references={"ramdisk_id": "ramdisk"},
    )


def test_upload_never_sends_the_master_uuid_of_a_kernel_uploaded_in_this_run() -> None:
    upload = item(plan([KERNEL, RAMDISK, AMI], [regional("ramdisk", size=20)]), "ami").upload
    assert upload.properties == {"ramdisk_id": "r-ramdisk"}
    assert upload.references == {"kernel_id": "kernel"}


def test_only_writes_carry_a_change_or_an_upload() -> None:
    region_plan = plan(
        [master("a", size=1), master("b", size=2), master("c", size=3)],
        [regional("a"), regional("b", checksum="old")],
        replace=frozenset({"old"}),
    )
    a, b, c = region_plan.items
    assert (a.change, a.upload) == (None, None)
    assert b.change is None and b.upload.name == "b"
    assert c.change is None and c.upload.name == "c"


# --- §8: obsolete images -------------------------------------------------------------------------

OBSOLETE = master("X_obsolete", checksum="sum-X", visibility="private", properties={"eol": "2024"})

OBSOLETE_CASES = [
    pytest.param(
        [OBSOLETE],
        [regional("X")],
        {},
        [("r-X", "pending_metadata", "obsolete")],
        id="project's X with the same checksum: renamed X_obsolete",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X", owner=OTHER)],
        {"only_tenant_images": False},
        [],
        id="other project's X: left alone",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X", checksum="other")],
        {},
        [],
        id="X with another checksum: left alone",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X")],
        {"support_obsolete_images": False},
        [],
        id="support_obsolete_images false: nothing",
    ),
    pytest.param(
        [OBSOLETE],
        [],
        {},
        [],
        id="X_obsolete is never uploaded",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X_obsolete", checksum="sum-X", visibility="private")],
        {"obsolete_syncprops": frozenset({"eol"})},
        [("r-X_obsolete", "pending_metadata", "obsolete")],
        id="X_obsolete already there with other obsolete_syncprops: pending_metadata",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X_obsolete", checksum="sum-X", visibility="private", properties={"nid": "1"})],
        {},
        [("r-X_obsolete", "ok", "none")],
        id="X_obsolete already in line: ok",
    ),
    pytest.param(
        [OBSOLETE],
        [regional("X"), regional("X_obsolete", checksum="sum-X", visibility="private")],
        {},
        [("r-X_obsolete", "ok", "none")],
        id="X_obsolete already there: X is not renamed onto it",
    ),
    pytest.param(
        [OBSOLETE, master("X", visibility="private")],
        [regional("X")],
        {},
        [("r-X", "pending_metadata", "obsolete")],
        id="master's X not synchronised here: X is still retired",
    ),
    pytest.param(
        [OBSOLETE, master("X", checksum="sum-X2")],
        [regional("X")],
        {},
        [],
        id="master also synchronises X: X_obsolete ignored",
    ),
]


@pytest.mark.parametrize(("masters", "regionals", "options", "expected"), OBSOLETE_CASES)
def test_obsolete(
    masters: list[Image], regionals: list[Image], options: dict, expected: list
) -> None:
    region_plan = plan(masters, regionals, **options)
    obsolete = [
        (item.regional.id, item.status, item.action)
        for item in region_plan.items
        if item.master.name == "X_obsolete"
    ]
    assert obsolete == expected


def test_obsolete_rename_brings_visibility_and_obsolete_syncprops_in_line_only() -> None:
    region_plan = plan(
        [OBSOLETE],
        [regional("X", visibility="public", properties={"nid": "1", "eol": "never", "local": "x"})],
        obsolete_syncprops=frozenset({"eol"}),
    )
    assert region_plan.items[0].change == MetadataChange(
        attributes={"name": "X_obsolete", "visibility": "private"},
        set_properties={"eol": "2024"},
        previous={"name": "X", "visibility": "public", "eol": "never"},
    )


def test_obsolete_ignored_when_the_master_synchronises_x_is_reported() -> None:
    region_plan = plan([OBSOLETE, master("X", checksum="sum-X2")], [])
    assert len(region_plan.warnings) == 1
    assert "X_obsolete" in region_plan.warnings[0]


def test_error_checksum_is_reported_with_both_checksums_and_the_rules_that_resolve_it() -> None:
    region_plan = plan([master("a")], [regional("a", id="r-a", checksum="old")])
    [warning] = region_plan.warnings
    assert "r-a (checksum old)" in warning
    assert f"(checksum {master('a').checksum})" in warning
    assert "dontupdate, rename or replace" in warning
    assert item(region_plan, "a").problem == warning


def test_an_unfinished_upload_of_ours_is_a_leftover_and_not_a_match() -> None:
    unfinished = regional("a", id="r-unfinished", status="saving",
                          properties={UPLOAD_MARKER: "started by glancesync"})  # fmt: skip
    region_plan = plan([master("a")], [unfinished])
    assert region_plan.leftovers == (unfinished,)
    assert outcomes(region_plan) == {"a": ("pending_upload", "upload")}


def test_an_unfinished_upload_of_another_project_is_left_alone() -> None:
    theirs = regional("b", owner=OTHER, properties={UPLOAD_MARKER: "started by glancesync"})
    assert plan([master("a")], [theirs]).leftovers == ()


# --- formats (§10)

REFUSED = Verdict(
    Judgement.REFUSED,
    "qcow2/ovf",
    "qcow2",
    ("backing_file",),
    "qcow2 safety check backing_file failed",
)


@pytest.mark.parametrize(
    "regionals",
    [(), (regional("disk"),), (regional("disk", checksum="other"),)],
    ids=["missing", "same content", "other content"],
)
def test_a_refused_image_is_error_format_whatever_the_region_holds(regionals):
    region_plan = plan([master("disk")], regionals, {"m-disk": REFUSED}, replace=frozenset({"any"}))
    (refused,) = region_plan.items
    assert (refused.status, refused.action) == ("error_format", "none")
    assert refused.problem == f"disk: format refused: {REFUSED.describe()}"
    assert refused.problem in region_plan.warnings


def test_an_image_whose_kernel_is_refused_and_not_in_the_region_is_error_ami():
    region_plan = plan([KERNEL, RAMDISK, AMI], (), {KERNEL.id: REFUSED})
    assert item(region_plan, AMI.name).status == "error_ami"
    assert item(region_plan, RAMDISK.name).status == "pending_upload"


@pytest.mark.parametrize("container_format", ["ova", "docker", "compressed"])
def test_an_image_that_cannot_be_inspected_is_error_format(container_format):
    archive = master("archive", disk_format="raw", container_format=container_format)
    (barred,) = plan([archive]).items
    assert barred.status == "error_format"
    assert f"container_format {container_format} is not inspected" in barred.problem
    assert "copy_uninspectable = true" in barred.problem


def test_a_target_may_copy_the_images_that_cannot_be_inspected():
    archive = master("archive", disk_format="vmdk", container_format="ova")
    (copied,) = plan([archive], copy_uninspectable=True).items
    assert (copied.status, copied.action) == ("pending_upload", "upload")


def test_steps_follow_section_6_metadata_then_uploads_by_size_then_pending_ami() -> None:
    images = [
        master("big", size=300),
        master("small", size=50, min_ram=1),
        KERNEL,
        master("ami", size=20, properties={"kernel_id": KERNEL.id}),
        master("swap", size=200),
    ]
    regionals = [regional("small"), regional("swap", checksum="other")]
    steps = plan(images, regionals, replace=frozenset({"any"})).steps
    assert [(step.master.name, step.action) for step in steps] == [
        ("small", Action.UPDATE_METADATA),
        ("kernel", Action.UPLOAD),
        ("swap", Action.REPLACE),
        ("big", Action.UPLOAD),
        ("ami", Action.UPLOAD),
    ]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ((), "app.old"),
        (("app.old",), "app.old.2"),
        (("app.old", "app.old.2"), "app.old.3"),
        (("app.old.2",), "app.old"),
    ],
)
def test_a_rename_carries_the_first_free_old_name(names, expected) -> None:
    regionals = [regional("app", checksum="other"), *(regional(n, id=f"r-{n}") for n in names)]
    step = item(plan([master("app")], regionals, rename=frozenset({"any"})), "app")
    assert (step.action, step.old_name) == (Action.RENAME, expected)


@pytest.mark.parametrize(
    ("region_has", "travel"),
    [
        ((), "glance-download"),  # upload
        ((regional("app", checksum="sum-old"),), "glance-download"),  # replace
        ((regional("app"),), None),  # ok: nothing travels
    ],
)
def test_a_region_that_copies_by_itself_has_its_uploads_travel_by_glance_download(
    region_has, travel
):
    streamed = plan([master("app")], region_has, replace=frozenset({"any"}))
    assert {item.travel for item in streamed.items} == {"stream" if travel else None}
    copied = by_glance_download(streamed)
    assert [item.travel for item in copied.items] == [travel]
    assert [item.status for item in copied.items] == [item.status for item in streamed.items]
