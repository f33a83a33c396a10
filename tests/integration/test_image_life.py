"""Glance v2's image life on the local cloud (README "Image life"): hidden images, deactivation
following the master, tags, master images still arriving. Judged by what the regions hold and,
for the calls a run makes, by a counting proxy in front of a region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultproxy import FaultProxy, proxied_region
from glance_helpers import Cloud, KiB, cli, payload, sync

from glancesync.actions import Mode

pytestmark = pytest.mark.integration

REGIONS = ["Lisbon", "Paris", "other:Berlin"]
COPIES = ["Lisbon", "Paris", "Berlin"]
MARK = "glancesync_deactivated"
WRITES = ("PUT ", "PATCH ", "POST ", "DELETE ")


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def put(cloud: Cloud, region: str, name: str, content: str | None = None, **fields) -> dict:
    """An image of 1 KiB whose bytes are those of `content` (default: `name`)."""
    return cloud.put(region, name, payload(content or name, KiB), **fields)


def synced(cloud: Cloud, regions: list[str] = REGIONS, *overrides: str, mode=Mode.SYNC):
    return sync(cloud.local_cloud, regions, *overrides, mode=mode)


def writes(proxy: FaultProxy) -> list[str]:
    return [line for line in proxy.requests if line.startswith(WRITES)]


# --- hidden images


def test_a_hidden_master_image_reaches_the_regions_hidden(cloud: Cloud) -> None:
    put(cloud, "Madrid", "rescue", os_hidden=True)
    assert synced(cloud).exit_status == 0
    for region in COPIES:
        assert cloud.only(region, "rescue")["os_hidden"] is True
    again = synced(cloud, REGIONS, mode=Mode.SHOW_STATUS)
    assert again.lines == ["ok,Lisbon,rescue", "ok,Paris,rescue", "ok,other:Berlin,rescue"]


def test_a_hidden_regional_copy_with_the_masters_content_is_ok_and_not_duplicated(
    cloud: Cloud,
) -> None:
    put(cloud, "Madrid", "rescue")
    copy = put(cloud, "Lisbon", "rescue", os_hidden=True)
    assert synced(cloud, ["Lisbon"], mode=Mode.SHOW_STATUS).lines == [
        "pending_metadata,Lisbon,rescue"
    ]
    outcome = synced(cloud, ["Lisbon"])
    assert outcome.lines[0] == "Lisbon: updated metadata of rescue: set os_hidden: True → False"
    assert [record["id"] for record in cloud.named("Lisbon", "rescue")] == [copy["id"]]
    assert cloud.only("Lisbon", "rescue")["os_hidden"] is False


def test_a_hidden_master_and_its_hidden_copy_are_ok_with_no_upload(cloud: Cloud) -> None:
    put(cloud, "Madrid", "rescue", os_hidden=True)
    copy = put(cloud, "Lisbon", "rescue", os_hidden=True)
    outcome = synced(cloud, ["Lisbon"])
    assert outcome.exit_status == 0
    assert not outcome.of("Lisbon")[:-1]  # no action line, only the summary
    assert [record["id"] for record in cloud.named("Lisbon", "rescue")] == [copy["id"]]


def test_a_hidden_regional_copy_with_other_content_follows_the_conflict_rules(
    cloud: Cloud,
) -> None:
    put(cloud, "Madrid", "rescue", os_hidden=True)
    old = put(cloud, "Lisbon", "rescue", "older bytes", os_hidden=True)
    assert synced(cloud, ["Lisbon"]).exit_status == 4  # error_checksum: a decision
    assert [record["id"] for record in cloud.named("Lisbon", "rescue")] == [old["id"]]
    assert synced(cloud, ["Lisbon"], "replace=any").exit_status == 0
    [new] = cloud.named("Lisbon", "rescue")
    assert new["id"] != old["id"]
    assert new["os_hidden"] is True
    assert new["checksum"] == cloud.only("Madrid", "rescue")["checksum"]


# --- deactivation


def test_a_master_deactivation_deactivates_every_copy_and_a_reactivation_undoes_it(
    cloud: Cloud,
) -> None:
    image = put(cloud, "Madrid", "compromised")
    assert synced(cloud).exit_status == 0
    cloud.client("Madrid").images.deactivate(image["id"])

    copies = copies_after_a_run_saying(cloud, "would deactivate", Mode.DRY_RUN)
    assert [copy["status"] for copy in copies] == ["active"] * len(COPIES)

    copies = copies_after_a_run_saying(cloud, "deactivated")
    assert [copy["status"] for copy in copies] == ["deactivated"] * len(COPIES)
    assert all("by glancesync" in copy[MARK] for copy in copies)

    cloud.client("Madrid").images.reactivate(image["id"])
    copies = copies_after_a_run_saying(cloud, "reactivated")
    assert [copy["status"] for copy in copies] == ["active"] * len(COPIES)
    assert not any(MARK in copy for copy in copies)


def copies_after_a_run_saying(cloud: Cloud, verb: str, mode: Mode = Mode.SYNC) -> list[dict]:
    """Run on REGIONS; it must succeed and say `REGION: VERB compromised` for each region (and
    nothing else of it); the copies then."""
    outcome = synced(cloud, REGIONS, mode=mode)
    assert outcome.exit_status == 0
    assert [line for line in outcome.lines if "compromised" in line] == [
        f"{region}: {verb} compromised" for region in REGIONS
    ]
    return [cloud.only(region, "compromised") for region in COPIES]


def test_a_copy_deactivated_by_the_regions_admin_is_left_alone_and_never_duplicated(
    cloud: Cloud, tmp_path: Path, capsys
) -> None:
    image = put(cloud, "Madrid", "base")
    copy = put(cloud, "Lisbon", "base", visibility="private")
    cloud.client("Lisbon").images.deactivate(copy["id"])

    status, lines, _ = cli(cloud.local_cloud, tmp_path, capsys, "--show-status", "Lisbon")
    assert (status, lines) == (0, ["ok_deactivated_in_region,Lisbon,base"])
    status, lines, _ = cli(cloud.local_cloud, tmp_path, capsys, "Lisbon")
    assert status == 0
    assert (
        lines[0]
        == f"Lisbon: left base ({copy['id']}) as it is: deactivated in the region by someone else"
    )

    # the master deactivated and reactivated: the admin's decision still stands
    cloud.client("Madrid").images.deactivate(image["id"])
    assert synced(cloud, ["Lisbon"]).exit_status == 0
    cloud.client("Madrid").images.reactivate(image["id"])
    assert synced(cloud, ["Lisbon"]).exit_status == 0
    assert cloud.named("Lisbon", "base") == [cloud.record("Lisbon", copy["id"])]
    kept = cloud.record("Lisbon", copy["id"])
    assert (kept["status"], kept["visibility"]) == ("deactivated", "private")
    assert MARK not in kept


# --- tags


def test_a_master_tag_reaches_the_regions_once_and_a_region_only_tag_stays(
    cloud: Cloud,
) -> None:
    image = put(cloud, "Madrid", "tagged", tags=["lts"])
    assert synced(cloud).exit_status == 0
    tags = cloud.client("Madrid").image_tags
    tags.update(image["id"], "gpu")
    tags.update(image["id"], "cuda")
    local = cloud.only("Lisbon", "tagged")["id"]
    cloud.client("Lisbon").image_tags.update(local, "local-only")

    proxy = FaultProxy(cloud.region_info("Lisbon")["port"])
    with proxy, proxied_region(cloud.local_cloud, "master", "Lisbon", proxy) as lisbon:
        outcome = synced(cloud, [lisbon, "Paris", "other:Berlin"])
        assert outcome.exit_status == 0
        assert (
            outcome.of(lisbon)[0] == f"{lisbon}: updated metadata of tagged: added tags cuda, gpu"
        )
        assert writes(proxy) == [
            f"PUT /v2/images/{local}/tags/cuda HTTP/1.1",
            f"PUT /v2/images/{local}/tags/gpu HTTP/1.1",
        ]
        proxy.reset_counts()
        second = synced(cloud, [lisbon, "Paris", "other:Berlin"])
        assert second.exit_status == 0
        assert writes(proxy) == []
    assert sorted(cloud.only("Lisbon", "tagged")["tags"]) == ["cuda", "gpu", "local-only", "lts"]
    for region in ("Paris", "Berlin"):
        assert sorted(cloud.only(region, "tagged")["tags"]) == ["cuda", "gpu", "lts"]


# --- images still arriving


def test_a_master_image_left_queued_is_waiting_everywhere_and_the_run_succeeds(
    cloud: Cloud, tmp_path: Path, capsys
) -> None:
    cloud.put("Madrid", "arriving", None)
    put(cloud, "Madrid", "ready")
    run = (cloud.local_cloud, tmp_path, capsys)

    status, lines, _ = cli(*run, "--show-status", "Lisbon", "other:Berlin")
    assert status == 0
    assert "waiting,Lisbon,arriving" in lines
    assert "waiting,other:Berlin,arriving" in lines

    status, lines, _ = cli(*run, "--show-status", "--format", "json", "Lisbon")
    records = [json.loads(line) for line in lines]
    assert status == 0
    [arriving] = [record for record in records if record.get("image") == "arriving"]
    expected = {"region": "Lisbon", "status": "waiting", "action": "none", "bytes": 0,
                "error": None, "result": "none", "metadata": None}  # fmt: skip
    assert {key: arriving[key] for key in expected} == expected

    status, lines, err = cli(*run, "Lisbon", "other:Berlin")
    assert status == 0
    assert (
        "Lisbon: waiting for arriving: still queued in the master, nothing done until it is active"
        in lines
    )
    assert any(line.startswith("Lisbon: ") and "1 waiting" in line for line in lines + err)
    for region in ("Lisbon", "Berlin"):
        assert cloud.names(region) == ["ready"]
