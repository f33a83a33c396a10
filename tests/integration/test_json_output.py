"""`--format json` in every mode, parsed line by line after real runs on the local cloud."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from faultproxy import FaultProxy, closed_port, proxied_region
from glance_helpers import Cloud, KiB, cli, md5, payload

from glancesync.image import UPLOAD_MARKER

pytestmark = pytest.mark.integration

IMAGE_KEYS = ["region", "image", "status", "action", "bytes", "error", "result", "metadata",
              "travel", "reason"]  # fmt: skip
SUMMARY_KEYS = [
    "regions", "statuses", "uploaded_bytes", "failures", "decisions", "failed_regions",
    "exit_status",
]  # fmt: skip


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def put_master(cloud: Cloud, name: str, size: int = 4 * KiB) -> dict:
    return cloud.put("Madrid", name, payload(name, size))


def json_run(cloud: Cloud, tmp_path: Path, capsys, *arguments: str) -> tuple[int, list[dict]]:
    """glancesync --format json ARGUMENTS: its exit status and stdout, every line one object;
    the summary that ends every mode but --show-regions is checked and left out."""
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "--format", "json", *arguments)
    records = [json.loads(line) for line in out]
    if "--show-regions" not in arguments:
        summary = records.pop()
        assert list(summary) == SUMMARY_KEYS
        assert summary["exit_status"] == status
    return status, records


def by_image(records: list[dict]) -> dict[tuple[str, str], dict]:
    assert all(list(record) == IMAGE_KEYS for record in records)
    return {(record["region"], record["image"]): record for record in records}


def arrange_new_and_synced(cloud: Cloud) -> None:
    """`new` is pending_upload in Lisbon; `same` is there already (ok)."""
    put_master(cloud, "new", 8 * KiB)
    put_master(cloud, "same")
    cloud.put("Lisbon", "same", payload("same", 4 * KiB))


def test_show_status_gives_status_planned_action_and_bytes_per_image(cloud, tmp_path, capsys):
    arrange_new_and_synced(cloud)

    status, records = json_run(cloud, tmp_path, capsys, "--show-status", "Lisbon")

    assert status == 0
    assert by_image(records) == {
        ("Lisbon", "new"): {"region": "Lisbon", "image": "new", "status": "pending_upload",
                            "action": "upload", "bytes": 8 * KiB, "error": None,
                            "result": "planned", "metadata": None, "travel": "stream",
                            "reason": None},
        ("Lisbon", "same"): {"region": "Lisbon", "image": "same", "status": "ok",
                             "action": "none", "bytes": 0, "error": None, "result": "none",
                             "metadata": None, "travel": None, "reason": None},
    }  # fmt: skip


def test_dry_run_says_what_would_be_uploaded_and_writes_nothing(cloud, tmp_path, capsys):
    arrange_new_and_synced(cloud)
    before = cloud.records("Lisbon")

    status, records = json_run(cloud, tmp_path, capsys, "--dry-run", "Lisbon")

    assert status == 0
    images = by_image(records)
    assert (images["Lisbon", "new"]["result"], images["Lisbon", "new"]["bytes"]) == (
        "planned",
        8 * KiB,
    )
    assert images["Lisbon", "same"]["result"] == "none"
    assert cloud.records("Lisbon") == before


@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_sync_reports_what_it_did_per_region_in_region_order(cloud, tmp_path, capsys, parallel):
    arrange_new_and_synced(cloud)
    options = ["--parallel", "--run-dir", str(tmp_path / "runs")] if parallel else []

    status, records = json_run(cloud, tmp_path, capsys, *options, "Lisbon", "Paris")

    assert status == 0
    assert [record["region"] for record in records] == ["Lisbon"] * 2 + ["Paris"] * 2
    images = by_image(records)
    for region, name in (("Lisbon", "new"), ("Paris", "new"), ("Paris", "same")):
        assert images[region, name]["result"] == "done"
    # Lisbon streams; Paris's Glance copies by itself: no byte through the sync host
    assert (images["Lisbon", "new"]["travel"], images["Lisbon", "new"]["bytes"]) == (
        "stream",
        cloud.only("Lisbon", "new")["size"],
    )
    for name in ("new", "same"):
        assert (images["Paris", name]["travel"], images["Paris", name]["bytes"]) == (
            "glance-download",
            0,
        )
    assert images["Lisbon", "same"]["result"] == "none"


@pytest.mark.parametrize("mode", [["--dry-run"], ["--show-status"], []], ids=str)
def test_a_metadata_update_names_each_key_set_removed_and_kept(cloud, tmp_path, capsys, mode):
    cloud.put("Madrid", "p", payload("p", 4 * KiB), type="base")
    cloud.put("Lisbon", "p", payload("p", 4 * KiB), type="old", hw_qemu_guest_agent="yes")

    status, [record] = json_run(cloud, tmp_path, capsys, *mode, "Lisbon")

    assert status == 0
    assert (record["status"], record["action"]) == ("pending_metadata", "update_metadata")
    assert record["result"] == ("done" if not mode else "planned")
    assert record["metadata"] == {
        "set": {"type": {"old": "old", "new": "base"}},
        "remove": [],
        "keep": ["hw_qemu_guest_agent"],
        "add_tags": [],
    }


def test_the_last_object_sums_up_the_run_as_it_ends(cloud, tmp_path, capsys):
    arrange_new_and_synced(cloud)
    put_master(cloud, "diverged")
    cloud.put("Lisbon", "diverged", payload("changed here", 4 * KiB))

    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "--format", "json", "Lisbon")

    assert status == 4
    assert json.loads(out[-1]) == {
        "regions": 1, "statuses": {"error_checksum": 1, "ok": 2}, "uploaded_bytes": 8 * KiB,
        "failures": 0, "decisions": 1, "failed_regions": [], "exit_status": 4,
    }  # fmt: skip


def test_a_second_sync_reports_nothing_to_do(cloud, tmp_path, capsys):
    arrange_new_and_synced(cloud)
    json_run(cloud, tmp_path, capsys, "Lisbon")

    status, records = json_run(cloud, tmp_path, capsys, "Lisbon")

    assert status == 0
    assert {(r["status"], r["action"], r["result"]) for r in records} == {("ok", "none", "none")}


def test_a_failed_image_is_reported_and_the_rest_of_its_region_skipped(cloud, tmp_path, capsys):
    protected_data = payload("protected first", 1 * KiB)
    put_master(cloud, "first", 1 * KiB)
    put_master(cloud, "second", 4 * KiB)
    cloud.put("Lisbon", "first", protected_data, protected=True)  # cannot be replaced

    status, records = json_run(cloud, tmp_path, capsys, "Lisbon", f"replace={md5(protected_data)}")

    assert status == 1
    images = by_image(records)
    first, second = images["Lisbon", "first"], images["Lisbon", "second"]
    assert (first["status"], first["action"], first["result"]) == (
        "pending_replace",
        "replace",
        "failed",
    )
    assert "could not be deleted" in first["error"]
    assert (second["result"], second["error"]) == (
        "skipped",
        "not attempted after the failure of first",
    )


def test_a_region_that_fails_as_a_whole_is_one_object_without_image(cloud, tmp_path, capsys):
    put_master(cloud, "new")
    proxy = FaultProxy(closed_port())
    with proxy, proxied_region(cloud.local_cloud, "master", "Paris", proxy) as broken:
        status, records = json_run(
            cloud, tmp_path, capsys, broken, "Lisbon", "api_retries=1", "api_retry_delay=0.05"
        )

    assert status == 1
    [failed] = [record for record in records if record["region"] == broken]
    assert (failed["image"], failed["status"], failed["result"]) == (None, None, "failed")
    assert "list images failed" in failed["error"]
    assert by_image(records)["Lisbon", "new"]["result"] == "done"


def test_an_unknown_region_is_one_failed_object(cloud, tmp_path, capsys):
    put_master(cloud, "new")

    status, records = json_run(cloud, tmp_path, capsys, "--dry-run", "Lisbon", "Atlantis")

    assert status == 1
    assert records[0] == {
        "region": "Atlantis", "image": None, "status": None, "action": "none", "bytes": 0,
        "error": "unknown region 'Atlantis': not in the catalog of its target",
        "result": "failed", "metadata": None, "travel": None, "reason": None,
    }  # fmt: skip
    assert [record["region"] for record in records[1:]] == ["Lisbon"]


def test_a_leftover_that_cannot_be_deleted_fails_its_region(cloud, tmp_path, capsys):
    put_master(cloud, "new")
    leftover = cloud.put("Lisbon", "new", None, protected=True,
                         **{UPLOAD_MARKER: "started by glancesync on a host"})  # fmt: skip

    status, records = json_run(cloud, tmp_path, capsys, "Lisbon")

    assert status == 1
    [kept] = [record for record in records if record["action"] == "delete_leftover"]
    assert (kept["image"], kept["result"]) == ("new", "failed")
    assert "delete image failed" in kept["error"]
    assert by_image([r for r in records if r is not kept])["Lisbon", "new"]["result"] == "done"
    assert cloud.record("Lisbon", leftover["id"])["protected"] is True
    cloud.client("Lisbon").images.update(leftover["id"], protected=False)


def test_show_regions_gives_each_region_with_its_target(cloud, tmp_path, capsys):
    status, records = json_run(cloud, tmp_path, capsys, "--show-regions")

    assert status == 0
    assert records == [
        {"region": "Lisbon", "target": "master"},
        {"region": "Paris", "target": "master"},
        {"region": "other:Berlin", "target": "other"},
        {"region": "other:Rome", "target": "other"},
    ]


def test_make_backup_names_the_csv_of_every_region(cloud, tmp_path, capsys):
    arrange_new_and_synced(cloud)

    status, records = json_run(
        cloud, tmp_path, capsys, "--make-backup", "--backup-dir", str(tmp_path), "Lisbon"
    )

    assert status == 0
    assert [record["region"] for record in records] == ["Madrid", "Lisbon"]
    names = {
        record["region"]: [row["name"] for row in csv.DictReader(open(record["backup"]))]
        for record in records
    }
    assert names == {"Madrid": ["new", "same"], "Lisbon": ["same"]}


def test_an_image_that_needs_the_operator_carries_what_to_decide(cloud, tmp_path, capsys):
    put_master(cloud, "diverged")
    regional = cloud.put("Lisbon", "diverged", payload("changed here", 4 * KiB))

    status, [record] = json_run(cloud, tmp_path, capsys, "--show-status", "Lisbon")

    assert status == 4
    assert (record["status"], record["result"]) == ("error_checksum", "none")
    assert f"{regional['id']} (checksum {regional['checksum']})" in record["error"]
