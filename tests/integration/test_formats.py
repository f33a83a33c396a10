"""Formats are known, not guessed (§10), on the local cloud: each bad image of
tests/formatimages.py is refused in every region, good ones travel, and --check-formats reports
each with its reason.

How the bad images are planted in the master (`plant`): Glance >= 30 (the local cloud's)
refuses unsafe content uploaded with container_format bare and only warns of a mismatch, so
the mismatched ones are uploaded as they are, bare, and the unsafe ones (a backing file, a data
file, a host extent) with container_format ovf, which Glance does not inspect: the way they
exist in federations whose Glance is older.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from faultproxy import FaultProxy, proxied_region
from formatimages import TestImage, bad_images, good_images
from glance_helpers import Cloud, cli, md5, settings

from glancesync.formats import FIRST_PART
from glancesync.glance import Target

pytestmark = pytest.mark.integration

MASTER = "Madrid"


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def plant(cloud: Cloud, test_image: TestImage, name: str | None = None) -> dict:
    """The image in the master, public, with its disk_format and planted container_format."""
    return cloud.put(
        MASTER,
        name or test_image.name,
        test_image.data,
        disk_format=test_image.disk_format,
        container_format=test_image.container_format,
    )


def test_glance_answers_a_part_of_an_image(cloud, local_cloud):
    vmdk = next(case for case in good_images() if case.name == "stream-optimized-vmdk")
    record = plant(cloud, vmdk)
    master = Target(settings(local_cloud).master).region(MASTER)
    part = b"".join(master.download_part(record["id"], FIRST_PART, 1000))
    assert part == vmdk.data[FIRST_PART : FIRST_PART + 1000]
    assert md5(b"".join(master.download(record["id"]))) == record["checksum"]


def test_every_test_image_can_be_planted(cloud):
    for test_image in (*good_images(), *bad_images()):
        assert plant(cloud, test_image)["status"] == "active"


# --- runs of glancesync

REGIONS = ("Lisbon", "Paris", "other:Berlin")


def json_run(cloud: Cloud, tmp_path: Path, capsys, *arguments: str) -> tuple[int, list[dict]]:
    """glancesync --format json ARGUMENTS, its cache folder tmp_path/cache: its exit status and
    every object it printed but the summary (whose exit status is checked)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    status, out, _ = cli(
        cloud.local_cloud, tmp_path, capsys, "--format", "json", f"main.cache_dir={cache}",
        "--run-dir", str(tmp_path / "runs"), *arguments,
    )  # fmt: skip
    records = [json.loads(line) for line in out]
    assert records.pop()["exit_status"] == status
    return status, records


def outcomes(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {(record["region"], record["image"]): record for record in records}


def plain(region: str) -> str:
    return region.removeprefix("other:")


@pytest.mark.parametrize("parallel", [False, True], ids=["in turn", "--parallel"])
def test_each_bad_image_is_refused_in_every_region_and_nothing_is_published(
    cloud, tmp_path, capsys, parallel
):
    for bad in bad_images():
        plant(cloud, bad)
    options = ["--parallel"] if parallel else []

    status, records = json_run(cloud, tmp_path, capsys, *options, *REGIONS)

    assert status == 1
    found = outcomes(records)
    for region in REGIONS:
        for bad in bad_images():
            outcome = found[(region, bad.name)]
            assert outcome["status"] == "error_format", outcome
            assert bad.refused_because in outcome["error"]
        assert cloud.names(plain(region)) == [], "nothing published, nothing left behind"


def test_a_refused_image_is_not_read_again(cloud, tmp_path, capsys):
    bad = next(case for case in bad_images() if case.name == "qcow2-backing-file")
    plant(cloud, bad)
    json_run(cloud, tmp_path, capsys, "Lisbon")
    port = cloud.local_cloud.target("master")["regions"][MASTER]["port"]
    with (
        FaultProxy(port) as proxy,
        proxied_region(cloud.local_cloud, "master", MASTER, proxy) as name,
    ):
        status, records = json_run(cloud, tmp_path, capsys, f"main.master_region={name}", *REGIONS)
    assert status == 1
    assert {record["status"] for record in records} == {"error_format"}
    assert not [line for line in proxy.requests if "/file " in line], "no byte read"


def test_an_older_regional_copy_survives(cloud, tmp_path, capsys):
    bad = next(case for case in bad_images() if case.name == "qcow2-declared-raw")
    plant(cloud, bad)
    older = cloud.put("Lisbon", bad.name, good_images()[0].data)

    status, records = json_run(cloud, tmp_path, capsys, "replace=any", "Lisbon")

    assert status == 1
    assert outcomes(records)[("Lisbon", bad.name)]["status"] == "error_format"
    [kept] = cloud.named("Lisbon", bad.name)
    assert (kept["id"], kept["checksum"], kept["status"]) == (
        older["id"],
        older["checksum"],
        "active",
    )


def test_good_images_travel(cloud, tmp_path, capsys):
    for good in good_images():
        plant(cloud, good)
    plant(cloud, good_images()[0], "good-raw-ovf")  # ovf is inspected too

    status, records = json_run(cloud, tmp_path, capsys, "Lisbon")

    assert status == 0, records
    for good in good_images():
        assert cloud.only("Lisbon", good.name)["checksum"] == md5(good.data)


def test_the_refusal_holds_for_bytes_from_the_shared_cache(cloud, tmp_path, capsys):
    """With the refusals not remembered (their folder is not glancesync's alone), every region
    reads the image, through the run's cache of master bytes, and refuses it."""
    for bad in bad_images():
        plant(cloud, bad)
    (tmp_path / "cache" / "glancesync-verdicts").mkdir(mode=0o777, parents=True)
    os.chmod(tmp_path / "cache" / "glancesync-verdicts", 0o777)

    status, records = json_run(cloud, tmp_path, capsys, *REGIONS)

    assert status == 1
    for record in records:
        assert (record["status"], record["result"]) == ("error_format", "failed"), record


def test_show_status_names_a_remembered_refusal_without_reading(cloud, tmp_path, capsys):
    bad = next(case for case in bad_images() if case.name == "vmdk-host-extent")
    plant(cloud, bad)
    status, records = json_run(cloud, tmp_path, capsys, "--show-status", "Lisbon")
    assert (status, records[0]["status"]) == (0, "pending_upload")  # not known yet: no byte read

    json_run(cloud, tmp_path, capsys, "Lisbon")
    status, records = json_run(cloud, tmp_path, capsys, "--show-status", "Lisbon")
    assert (status, records[0]["status"]) == (1, "error_format")
    assert "descriptor" in records[0]["error"]


# --- --check-formats


def test_check_formats_reports_each_image_with_its_reason(cloud, tmp_path, capsys):
    for test_image in (*good_images(), *bad_images()):
        plant(cloud, test_image)

    status, records = json_run(cloud, tmp_path, capsys, "--check-formats")

    assert status == 1
    found = {record["image"]: record for record in records}
    assert set(found) == {case.name for case in (*good_images(), *bad_images())}
    for test_image in (*good_images(), *bad_images()):
        record = found[test_image.name]
        assert record["declared"] == f"{test_image.disk_format}/{test_image.container_format}"
        assert record["detected"] == test_image.detected
        if test_image.refused_because:
            assert record["verdict"] == "refused"
            assert test_image.refused_because in record["reason"]
        else:
            assert (record["verdict"], record["reason"]) == ("accepted", None)
    assert all(cloud.names(plain(region)) == [] for region in REGIONS), "nothing written"


def test_check_formats_of_good_images_exits_0_and_reads_their_heads(cloud, tmp_path, capsys):
    large = TestImage("large", good_images()[0].data * 8, "raw", "raw")
    plant(cloud, large)

    status, records = json_run(cloud, tmp_path, capsys, "--check-formats", "Lisbon")

    assert status == 0
    [record] = records
    assert (record["verdict"], record["bytes_read"]) == ("accepted", FIRST_PART)


def test_check_formats_in_text_is_a_csv_line_per_image(cloud, tmp_path, capsys):
    bad = next(case for case in bad_images() if case.name == "random-declared-qcow2")
    plant(cloud, bad)
    status, out, _ = cli(
        cloud.local_cloud, tmp_path, capsys, f"main.cache_dir={tmp_path}", "--check-formats"
    )
    assert status == 1
    [row] = list(csv.reader(out))
    assert row[:4] == ["refused", bad.name, "qcow2/bare", "raw"]
    assert "the content is not qcow2" in row[4]


def test_an_image_that_cannot_be_inspected_travels_only_where_the_target_says_so(
    cloud, tmp_path, capsys
):
    archive = cloud.put(MASTER, "appliance", good_images()[0].data, container_format="ova")

    status, records = json_run(cloud, tmp_path, capsys, "Lisbon")
    assert (status, records[0]["status"]) == (1, "error_format")
    assert "container_format ova is not inspected" in records[0]["error"]
    assert cloud.names("Lisbon") == []

    status, records = json_run(cloud, tmp_path, capsys, "copy_uninspectable=true", "Lisbon")
    assert status == 0
    assert cloud.only("Lisbon", "appliance")["checksum"] == archive["checksum"]

    status, records = json_run(cloud, tmp_path, capsys, "--check-formats", "Lisbon")
    assert (status, records[0]["verdict"], records[0]["bytes_read"]) == (1, "not_inspectable", 0)
