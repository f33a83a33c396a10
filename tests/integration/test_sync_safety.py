"""The executor's safety rules (§6) in whole runs against the real Glance of the local cloud.

Each test arranges master and regional images with glanceclient, runs glancesync in-process
(glancesync.runner.run, as the CLI does) and judges the outcome by what Glance then holds.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from glance_helpers import Cloud, KiB, md5, payload, sync

from glancesync.actions import Mode

pytestmark = pytest.mark.integration

MASTER = "Madrid"


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def put_master(cloud: Cloud, name: str, size: int, **fields) -> dict:
    """A public master image whose bytes are `payload(name, size)`."""
    return cloud.put(MASTER, name, payload(name, size), **fields)


def damage(cloud: Cloud, image: dict, how: str) -> None:
    """Spoil the bytes of a master image in the master's file store, behind Glance's back."""
    path = cloud.store_file(MASTER, image["id"])
    if how == "missing":
        path.unlink()  # Glance then answers the download with 204 and no bytes
    else:
        path.write_bytes(payload("corrupted", image["size"]))


def failure_line(lines: list[str]) -> str:
    [line] = [line for line in lines if "FAILED" in line]
    return line


def without(record: dict, *keys: str) -> dict:
    return {key: value for key, value in record.items() if key not in keys}


# --- dry run


def put_ami_trio(cloud: Cloud, **machine_properties: str) -> None:
    """A kernel (1 KiB), a ramdisk (2 KiB) and the AMI image "machine" (3 KiB) using them."""
    kernel = put_master(cloud, "kernel", 1 * KiB, disk_format="aki")
    ramdisk = put_master(cloud, "ramdisk", 2 * KiB, disk_format="ari")
    put_master(
        cloud,
        "machine",
        3 * KiB,
        disk_format="ami",
        kernel_id=kernel["id"],
        ramdisk_id=ramdisk["id"],
        **machine_properties,
    )


def arrange_every_pending_status(cloud: Cloud) -> tuple[str, ...]:
    """Master images whose copies in Lisbon and Paris are in every pending state; returns the
    `--config` overrides (replace, rename) the scenario needs."""
    put_ami_trio(cloud)
    put_master(cloud, "fresh", 4 * KiB)
    put_master(cloud, "meta", 5 * KiB, type="new")
    put_master(cloud, "swap", 6 * KiB)
    put_master(cloud, "keep", 7 * KiB)
    put_master(cloud, "retired_obsolete", 8 * KiB)
    for region in ("Lisbon", "Paris"):
        cloud.put(region, "meta", payload("meta", 5 * KiB), type="old")
        cloud.put(region, "swap", payload("regional swap", 6 * KiB))
        cloud.put(region, "keep", payload("regional keep", 7 * KiB))
        cloud.put(region, "retired", payload("retired_obsolete", 8 * KiB))
    return (
        f"replace={md5(payload('regional swap', 6 * KiB))}",
        f"rename={md5(payload('regional keep', 7 * KiB))}",
    )


def snapshot(cloud: Cloud) -> dict[str, tuple]:
    """Every region's full image records as the API shows them, and every database row."""
    return {
        region: (cloud.records(region), cloud.database_rows(region)) for region in cloud.regions
    }


@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_dry_run_writes_nothing(cloud: Cloud, parallel: bool, tmp_path: Path) -> None:
    overrides = arrange_every_pending_status(cloud)
    regions = ["Lisbon", "Paris", "other:"]
    status = sync(cloud.local_cloud, regions, *overrides, mode=Mode.SHOW_STATUS)
    for region in ("Lisbon", "Paris"):
        assert {line.split(",")[0] for line in status.lines if f",{region}," in line} == {
            "pending_upload",
            "pending_ami",
            "pending_metadata",
            "pending_replace",
            "pending_rename",
        }
    before = snapshot(cloud)

    outcome = sync(
        cloud.local_cloud,
        regions,
        *overrides,
        mode=Mode.DRY_RUN,
        parallel=parallel,
        run_dir=tmp_path,
    )

    assert snapshot(cloud) == before
    assert outcome.exit_status == 0
    for region in ("Lisbon", "Paris"):
        assert [line.split(" (")[0].split(": ")[1] for line in outcome.of(region)] == [
            f"would {action}"
            for action in (
                "update metadata of meta",
                "mark obsolete retired_obsolete",
                "upload kernel",
                "upload ramdisk",
                "upload fresh",
                "replace swap",
                "upload and keep the old copy of keep",
                "upload machine",
            )
        ]
    assert len(outcome.of("other:Berlin")) == len(outcome.of("other:Rome")) == 7
    assert all(line.split(": ", 1)[1].startswith("would ") for line in outcome.lines)


# --- local properties


def test_metadata_update_changes_only_the_synced_keys(cloud: Cloud) -> None:
    put_master(cloud, "base", 2 * KiB, type="new", nid="7")
    local = {"site": "lisbon", "contact": "ops@lisbon"}
    regional = cloud.put("Lisbon", "base", payload("base", 2 * KiB), type="old", gone="x", **local)

    outcome = sync(cloud.local_cloud, ["Lisbon"], "metadata_set=type,nid,gone")

    assert outcome.exit_status == 0
    after = cloud.only("Lisbon", "base")
    assert after["id"] == regional["id"]
    assert (after["type"], after["nid"], "gone" in after) == ("new", "7", False)
    assert {key: after.get(key) for key in local} == local


def test_obsolete_rename_keeps_local_properties(cloud: Cloud) -> None:
    put_master(cloud, "retired_obsolete", 2 * KiB, type="base")
    regional = cloud.put(
        "Lisbon",
        "retired",
        payload("retired_obsolete", 2 * KiB),
        visibility="private",
        type="base",
        site="lisbon",
    )

    outcome = sync(cloud.local_cloud, ["Lisbon"], "metadata_set=type")

    assert outcome.exit_status == 0
    after = cloud.record("Lisbon", regional["id"])
    assert (after["name"], after["visibility"]) == ("retired_obsolete", "public")
    assert (after["type"], after["site"]) == ("base", "lisbon")


def test_rename_keeps_every_property_of_the_old_image(cloud: Cloud) -> None:
    master = put_master(cloud, "app", 3 * KiB, type="new")
    old_data = payload("old app", 3 * KiB)
    old = cloud.put(
        "Lisbon", "app", old_data, type="old", site="lisbon", min_ram=128, tags=["local"]
    )

    outcome = sync(cloud.local_cloud, ["Lisbon"], "metadata_set=type", f"rename={md5(old_data)}")

    assert outcome.exit_status == 0
    kept = cloud.record("Lisbon", old["id"])
    assert (kept["name"], kept["visibility"]) == ("app.old", "private")
    marks = ("glancesync_retired_at", "glancesync_retired_by", "glancesync_retired_id")  # §12
    assert without(kept, "name", "visibility", "updated_at", *marks) == without(
        old, "name", "visibility", "updated_at"
    )
    assert (kept["glancesync_retired_by"], kept["glancesync_retired_id"]) == (
        "glancesync rename",
        old["id"],
    )
    new = cloud.only("Lisbon", "app")
    assert (new["checksum"], new["type"], "site" in new) == (master["checksum"], "new", False)


@pytest.mark.parametrize(
    ("overrides", "site"), [((), "lisbon"), (("prune_properties=true",), None)]
)
def test_empty_metadata_set_brings_every_master_property_in_line(
    cloud: Cloud, overrides: tuple[str, ...], site: str | None
) -> None:
    """Region-only properties are kept, unless prune_properties asks for an exact mirror."""
    put_ami_trio(cloud, type="new", extra="m")
    regional_kernel = cloud.put("Lisbon", "kernel", payload("kernel", 1 * KiB), disk_format="aki")
    regional_ramdisk = cloud.put(
        "Lisbon", "ramdisk", payload("ramdisk", 2 * KiB), disk_format="ari"
    )
    machine = cloud.put(
        "Lisbon",
        "machine",
        payload("machine", 3 * KiB),
        disk_format="ami",
        kernel_id=str(uuid.uuid4()),
        type="old",
        site="lisbon",
    )

    outcome = sync(cloud.local_cloud, ["Lisbon"], *overrides)

    assert outcome.exit_status == 0
    after = cloud.record("Lisbon", machine["id"])
    assert (after["type"], after["extra"], after.get("site")) == ("new", "m", site)
    assert (after["kernel_id"], after["ramdisk_id"]) == (
        regional_kernel["id"],
        regional_ramdisk["id"],
    )


# --- failed uploads, replace and rename


@pytest.mark.parametrize("how", ["missing", "corrupted"])
def test_failed_upload_leaves_no_image_behind(cloud: Cloud, how: str) -> None:
    put_master(cloud, "small", 1 * KiB)
    damage(cloud, put_master(cloud, "broken", 64 * KiB), how)
    put_master(cloud, "large", 128 * KiB)

    outcome = sync(cloud.local_cloud, ["Lisbon"])

    assert outcome.exit_status == 1
    line = failure_line(outcome.lines)
    assert line.startswith("Lisbon: FAILED image broken: ")
    assert cloud.names("Lisbon") == ["small"]


@pytest.mark.parametrize("rule", ["replace", "rename"])
def test_old_image_is_untouched_when_the_new_upload_fails(cloud: Cloud, rule: str) -> None:
    damage(cloud, put_master(cloud, "app", 32 * KiB), "corrupted")
    old_data = payload("old app", 32 * KiB)
    cloud.put("Lisbon", "app", old_data, site="lisbon")
    before = cloud.records("Lisbon")

    outcome = sync(cloud.local_cloud, ["Lisbon"], f"{rule}={md5(old_data)}")

    assert outcome.exit_status == 1
    assert "image app" in failure_line(outcome.lines)
    assert cloud.records("Lisbon") == before


def test_replace_deletes_the_old_image_once_the_new_one_is_verified(cloud: Cloud) -> None:
    master = put_master(cloud, "app", 32 * KiB)
    old_data = payload("old app", 32 * KiB)
    cloud.put("Lisbon", "app", old_data)

    outcome = sync(cloud.local_cloud, ["Lisbon"], f"replace={md5(old_data)}")

    assert outcome.exit_status == 0
    new = cloud.only("Lisbon", "app")
    assert (new["status"], new["checksum"]) == ("active", master["checksum"])
    assert cloud.data("Lisbon", new["id"]) == payload("app", 32 * KiB)
    assert cloud.names("Lisbon") == ["app"]


def test_rename_never_clobbers_an_existing_old_copy(cloud: Cloud) -> None:
    master = put_master(cloud, "app", 3 * KiB)
    taken = cloud.put("Lisbon", "app.old", payload("older app", 1 * KiB))
    old_data = payload("old app", 3 * KiB)
    old = cloud.put("Lisbon", "app", old_data)

    outcome = sync(cloud.local_cloud, ["Lisbon"], f"rename={md5(old_data)}")

    assert outcome.exit_status == 0
    assert cloud.record("Lisbon", taken["id"]) == taken
    renamed = cloud.record("Lisbon", old["id"])
    assert (renamed["name"], renamed["visibility"]) == ("app.old.2", "private")
    assert cloud.only("Lisbon", "app")["checksum"] == master["checksum"]


def test_a_failing_image_stops_its_region_and_the_next_region_runs(cloud: Cloud) -> None:
    masters = [put_master(cloud, "first", 1 * KiB), put_master(cloud, "second", 4 * KiB)]
    protected_data = payload("protected first", 1 * KiB)
    cloud.put("Lisbon", "first", protected_data, protected=True)  # cannot be deleted

    outcome = sync(cloud.local_cloud, ["Lisbon", "Paris"], f"replace={md5(protected_data)}")

    assert outcome.exit_status == 1
    line = failure_line(outcome.lines)
    assert line.startswith("Lisbon: FAILED image first: ")
    assert "second" not in cloud.names("Lisbon")
    assert {(record["name"], record["checksum"]) for record in cloud.records("Paris")} == {
        (master["name"], master["checksum"]) for master in masters
    }
