"""Retention of retired copies (§12) in whole runs against the real Glance of the local cloud:
what is deleted, in which order, and what never is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from faultproxy import FaultProxy, proxied_region
from glance_helpers import Cloud, KiB, cli, payload, sync

from glancesync.actions import Mode
from glancesync.retention import RETIRED_AT, RETIRED_BY, RETIRED_ID, retirement_mark

pytestmark = pytest.mark.integration

REGION = "Lisbon"
RETENTION = ("purge_after=30d", "max_purge=2")


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def mark(days_ago: float) -> dict[str, str]:
    return retirement_mark(datetime.now(UTC) - timedelta(days=days_ago), "glancesync rename")


def put_retired(cloud: Cloud, name: str, days_ago: float | None, account=None, **fields) -> dict:
    """A private copy in REGION, marked retired `days_ago` days ago (None: no mark)."""
    properties = {**(mark(days_ago) if days_ago is not None else {}), **fields}
    if account:
        glance = cloud.local_cloud.glance(REGION, account)
        image = glance.images.create(
            name=name, disk_format="raw", container_format="bare", **properties
        )
        return cloud.record(REGION, image.id)
    return cloud.put(REGION, name, payload(name, KiB), visibility="private", **properties)


@pytest.fixture
def retired(cloud: Cloud) -> dict[str, dict]:
    """Three copies due (oldest first: c_obsolete, a.old, b.old) and five never due."""
    copies = {
        "a.old": put_retired(cloud, "a.old", 40),
        "b.old": put_retired(cloud, "b.old", 35),
        "c_obsolete": put_retired(cloud, "c_obsolete", 50),
        "handmade.old": put_retired(cloud, "handmade.old", None),
        "fresh.old": put_retired(cloud, "fresh.old", 1),
        "locked.old": put_retired(cloud, "locked.old", 90, protected=True),
        "theirs.old": put_retired(cloud, "theirs.old", 90, account="tenant2"),
    }
    yield copies
    cloud.client(REGION).images.update(copies["locked.old"]["id"], protected=False)


NEVER_DELETED = ["fresh.old", "handmade.old", "locked.old", "theirs.old"]


def test_due_copies_are_deleted_oldest_first_up_to_max_purge_the_rest_by_the_next_run(
    cloud, retired
):
    first = sync(cloud.local_cloud, [REGION], *RETENTION)
    assert first.exit_status == 0
    assert cloud.names(REGION) == sorted(["b.old", *NEVER_DELETED])
    deleted = [line for line in first.of(REGION) if "deleted retired copy" in line]
    assert [line.split()[4] for line in deleted] == ["c_obsolete", "a.old"]
    assert "retired 50d ago by glancesync rename; purge_after = 30d" in deleted[0]

    second = sync(cloud.local_cloud, [REGION], *RETENTION)
    assert second.exit_status == 0
    assert cloud.names(REGION) == NEVER_DELETED


def test_the_copies_left_for_the_next_run_are_reported(cloud, retired, caplog):
    status = sync(cloud.local_cloud, [REGION], *RETENTION, mode=Mode.SHOW_STATUS)
    assert status.lines[:3] == [
        "pending_purge,Lisbon,c_obsolete",
        "pending_purge,Lisbon,a.old",
        "pending_purge,Lisbon,b.old",
    ]
    assert "1 retired copy due for deletion left for the next run (max_purge = 2)" in caplog.text


@pytest.mark.parametrize(
    ("mode", "overrides"),
    [(Mode.DRY_RUN, RETENTION), (Mode.SYNC, ("purge_after=30d", "max_purge=0"))],
    ids=["dry-run", "max_purge=0"],
)
def test_a_dry_run_and_max_purge_0_delete_nothing(cloud, retired, mode, overrides):
    outcome = sync(cloud.local_cloud, [REGION], *overrides, mode=mode)
    assert cloud.names(REGION) == sorted(retired)
    if mode is Mode.DRY_RUN:
        assert "Lisbon: would delete retired copy c_obsolete (retired 50d ago" in outcome.lines[0]


def test_without_purge_after_nothing_is_deleted(cloud, retired):
    sync(cloud.local_cloud, [REGION])
    assert cloud.names(REGION) == sorted(retired)


def test_an_unmarked_copy_is_marked_by_the_first_run_and_deleted_by_a_later_one(cloud, retired):
    overrides = ("purge_after=0s", "purge_unmarked=true")
    sync(cloud.local_cloud, [REGION], *overrides)
    handmade = cloud.only(REGION, "handmade.old")
    assert handmade[RETIRED_BY] == "glancesync purge_unmarked"
    sync(cloud.local_cloud, [REGION], *overrides)
    assert cloud.names(REGION) == ["locked.old", "theirs.old"]


def test_a_rename_and_an_obsolete_rename_mark_the_copies_they_retire(cloud):
    cloud.put("Madrid", "app", payload("app new", KiB))
    cloud.put("Madrid", "gone_obsolete", payload("gone", KiB))
    cloud.put(REGION, "app", payload("app old", KiB))
    cloud.put(REGION, "gone", payload("gone", KiB))
    sync(cloud.local_cloud, [REGION], "rename=any")
    renamed, obsolete = cloud.only(REGION, "app.old"), cloud.only(REGION, "gone_obsolete")
    assert (renamed[RETIRED_BY], obsolete[RETIRED_BY]) == (
        "glancesync rename",
        "glancesync obsolete",
    )
    assert (renamed[RETIRED_ID], obsolete[RETIRED_ID]) == (renamed["id"], obsolete["id"])
    retired_at = datetime.fromisoformat(renamed[RETIRED_AT])
    assert abs(datetime.now(UTC) - retired_at) < timedelta(minutes=5)
    outcome = sync(cloud.local_cloud, [REGION], "purge_after=0s")
    assert outcome.exit_status == 0
    assert cloud.names(REGION) == ["app"]


def test_json_and_metrics_show_the_copies_due_and_why(cloud, retired, tmp_path, capsys):
    metrics = tmp_path / "glancesync.prom"
    arguments = ("--dry-run", "--format", "json", "--metrics-file", str(metrics), REGION)
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, *arguments, *RETENTION)
    assert status == 0
    records = [json.loads(line) for line in out]
    due = {r["image"]: r for r in records if r.get("status") == "pending_purge"}
    assert (due["c_obsolete"]["action"], due["b.old"]["action"]) == ("purge", "none")
    assert due["c_obsolete"]["reason"].startswith("retired 50d ago by glancesync rename")
    assert due["b.old"]["reason"].endswith("left for the next run (max_purge = 2)")
    assert 'glancesync_images{region="Lisbon",status="pending_purge"} 3' in metrics.read_text()


def test_a_copy_whose_deletion_fails_fails_alone_and_the_region_goes_on(
    cloud, retired, tmp_path, capsys
):
    """Lisbon reached through a FaultProxy that drops the DELETE of the oldest due copy: Glance
    never sees it; the other due copies are deleted, the master's new image uploaded."""
    cloud.put("Madrid", "app", payload("app", KiB))
    stuck = retired["c_obsolete"]["id"]
    proxy = FaultProxy(cloud.region_info(REGION)["port"])
    proxy.set_fault("drop", only=f"^DELETE /v2/images/{stuck} ")
    overrides = ("purge_after=30d", "max_purge=3", "api_retries=1", "api_retry_delay=0.05")
    with proxy, proxied_region(cloud.local_cloud, "master", REGION, proxy) as region:
        status, out, err = cli(cloud.local_cloud, tmp_path, capsys, region, *overrides)
        deletes = [line for line in proxy.requests if line.startswith("DELETE ")]

    assert status == 1
    assert [line for line in out if "FAILED" in line] == [
        f"{region}: FAILED image c_obsolete: retired copy {stuck} not deleted: "
        f"delete image failed: connection closed before the answer ({proxy.url})"
    ]
    # the oldest due copy first (the call and its retry), then the two others all the same
    assert deletes[:2] == [f"DELETE /v2/images/{stuck} HTTP/1.1"] * 2
    assert len(deletes) == 4
    assert cloud.names(REGION) == sorted(["app", "c_obsolete", *NEVER_DELETED])
    assert err[-2].endswith("; 1 retired cop(ies) could not be deleted")  # the region's summary
    assert not [line for line in err if "Traceback" in line]

    again = sync(cloud.local_cloud, [REGION], *overrides)
    assert again.exit_status == 0, again.lines
    assert cloud.names(REGION) == sorted(["app", *NEVER_DELETED])
