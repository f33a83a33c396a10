"""Server-side copy (§11) on the local cloud: Paris's Glance offers glance-download, Lisbon's
does not (tools/localcloud/README.md).

Which bytes passed through the sync host is read in the master Glance's access log
(`LocalCloud.image_bytes_served`): every answer with its size and the client's user agent;
Glance's importer reads with `Python-urllib/3.x`, glancesync with its own agent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultproxy import FaultProxy, proxied_region
from glance_helpers import Cloud, KiB, cli, md5, settings

from glancesync.errors import ImportFailed
from glancesync.formats import FIRST_PART
from glancesync.glance import GLANCE_DOWNLOAD, Target
from glancesync.image import UPLOAD_MARKER, NewImage

pytestmark = pytest.mark.integration

MASTER = "Madrid"
MiB = 1024 * KiB
SIZE = 8 * MiB
# Properties glance-download copies from the master by itself ([glance_download_properties]).
COPIED_BY_GLANCE = {"hw_disk_bus": "virtio", "os_distro": "debian"}
# What may differ between two copies of one image in two regions.
REGIONAL_FIELDS = {"id", "created_at", "updated_at", "file", "self", "stores",
                   "os_glance_failed_import", "os_glance_importing_to_stores"}  # fmt: skip


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def image_bytes(name: str, size: int = SIZE) -> bytes:
    """Random-looking bytes (a raw disk to the format inspector), the same for the same name."""
    seed = md5(name.encode()).encode()
    return (seed * (size // len(seed) + 1))[:size]


def put_master(cloud: Cloud, name: str, size: int = SIZE, **properties: str) -> dict:
    return cloud.put(MASTER, name, image_bytes(name, size), type="app", **properties)


def json_run(
    cloud: Cloud, tmp_path: Path, capsys, *arguments: str
) -> tuple[int, list[dict], list[str]]:
    """glancesync --format json ARGUMENTS: exit status, the image objects, the log lines."""
    status, out, err = cli(cloud.local_cloud, tmp_path, capsys, "--format", "json", *arguments)
    records = [json.loads(line) for line in out]
    assert records.pop()["exit_status"] == status
    return status, records, err


def comparable(record: dict) -> dict:
    """An image record without what is the region's own."""
    return {key: value for key, value in record.items() if key not in REGIONAL_FIELDS}


def test_a_copy_by_glance_download_equals_a_streamed_one_and_no_byte_passed_the_host(
    cloud, tmp_path, capsys
):
    master = put_master(cloud, "web", **COPIED_BY_GLANCE)
    since = cloud.local_cloud.log_position(MASTER)
    # metadata_set names `type` only: hw_disk_bus and os_distro are not synchronised, and those
    # glance-download copies by itself must go again.
    status, [copied], _ = json_run(cloud, tmp_path, capsys, "Paris", "metadata_set=type")
    assert status == 0
    assert (copied["travel"], copied["bytes"], copied["result"]) == ("glance-download", 0, "done")
    read = cloud.local_cloud.image_bytes_served(MASTER, master["id"], since)
    assert read["glance"] == SIZE  # Glance copied it from the master
    assert read["host"] <= FIRST_PART  # the sync host read only the head, for the format check
    status, [streamed], _ = json_run(cloud, tmp_path, capsys, "Lisbon", "metadata_set=type")
    assert (status, streamed["travel"], streamed["bytes"]) == (0, "stream", SIZE)
    paris, lisbon = cloud.only("Paris", "web"), cloud.only("Lisbon", "web")
    assert comparable(paris) == comparable(lisbon)
    assert paris["checksum"] == master["checksum"]
    assert paris["os_hash_value"] == master["os_hash_value"]
    assert (paris["visibility"], paris["os_hidden"], paris["type"]) == ("public", False, "app")
    assert not {*COPIED_BY_GLANCE, UPLOAD_MARKER} & set(paris)
    assert cloud.data("Paris", paris["id"]) == image_bytes("web")


def test_wanted_properties_that_glance_also_copies_stay(cloud, tmp_path, capsys):
    put_master(cloud, "web", **COPIED_BY_GLANCE)
    status, [copied], _ = json_run(cloud, tmp_path, capsys, "Paris")
    assert (status, copied["travel"]) == (0, "glance-download")
    paris = cloud.only("Paris", "web")
    assert {key: paris.get(key) for key in COPIED_BY_GLANCE} == COPIED_BY_GLANCE


def test_a_region_without_glance_download_and_server_side_copy_never_stream(
    cloud, tmp_path, capsys
):
    put_master(cloud, "web")
    status, records, _ = json_run(
        cloud, tmp_path, capsys, "Lisbon", "Paris", "master.server_side_copy=never"
    )
    assert status == 0
    assert [(r["region"], r["travel"], r["bytes"]) for r in records] == [
        ("Lisbon", "stream", SIZE),
        ("Paris", "stream", SIZE),
    ]


def test_dry_run_says_which_way_each_image_would_travel(cloud, tmp_path, capsys):
    put_master(cloud, "web")
    status, out, _ = cli(cloud.local_cloud, tmp_path, capsys, "--dry-run", "Lisbon", "Paris")
    assert status == 0
    assert out == [
        "Lisbon: would upload web (8.0 MiB)",
        "Paris: would upload web (8.0 MiB, copied by glance-download)",
    ]
    assert cloud.names("Paris") == cloud.names("Lisbon") == []


def test_a_failed_import_is_deleted_and_streamed_and_the_region_imports_no_more(
    cloud, tmp_path, capsys
):
    first, second = put_master(cloud, "first", SIZE), put_master(cloud, "second", SIZE + 1)
    # The master through a proxy on a port Paris's import filter refuses: its import task fails.
    with (
        FaultProxy(cloud.region_info(MASTER)["port"]) as proxy,
        proxied_region(cloud.local_cloud, "master", MASTER, proxy) as master,
    ):
        status, records, err = json_run(
            cloud, tmp_path, capsys, "Paris", f"main.master_region={master}"
        )
    assert status == 0, "\n".join(err)
    assert [(r["image"], r["travel"], r["result"]) for r in records] == [
        ("first", "stream", "done"),
        ("second", "stream", "done"),
    ]
    [warning] = [line for line in err if "streamed instead" in line]
    assert "first: glance-download: the import task failed: " in warning
    assert "no further imports" in warning
    assert cloud.names("Paris") == ["first", "second"]  # the failed import is gone
    for image in (first, second):
        copy = cloud.only("Paris", image["name"])
        assert (copy["checksum"], copy["os_hidden"]) == (image["checksum"], False)


def test_an_import_whose_content_differs_from_the_master_is_deleted(cloud, tmp_path, capsys):
    master = put_master(cloud, "web")
    store = cloud.store_file(MASTER, master["id"])  # the master's bytes, changed behind Glance
    damaged = bytearray(store.read_bytes())
    damaged[-1] ^= 0xFF
    store.write_bytes(bytes(damaged))
    status, [outcome], err = json_run(cloud, tmp_path, capsys, "Paris")
    [warning] = [line for line in err if "streamed instead" in line]
    assert f"the master has size {SIZE} checksum {master['checksum']}" in warning
    # streamed instead, the same bytes are refused by the verifying stream
    assert (status, outcome["result"]) == (1, "failed")
    assert cloud.names("Paris") == []


def test_the_facade_gives_up_an_import_at_import_timeout(cloud, local_cloud):
    image = put_master(cloud, "web")
    paris = Target(settings(local_cloud, "import_timeout=0.01").master).region("Paris")
    new = paris.create_image(NewImage("web", "private", "raw", "bare", 0, 0, False, (), {}))
    paris.start_import(new.id, image["id"], MASTER)
    with pytest.raises(ImportFailed, match=r"not active after import_timeout \(0.01 s\)"):
        paris.await_import(new.id)
    Target(settings(local_cloud).master).region("Paris").await_import(new.id)  # let it end


def test_the_facade_reads_why_an_import_failed_from_the_image_tasks(cloud, local_cloud):
    target = Target(settings(local_cloud).master)
    paris = target.region("Paris")
    assert GLANCE_DOWNLOAD in paris.import_methods()
    assert GLANCE_DOWNLOAD not in target.region("Lisbon").import_methods()
    assert [cloud.region_info(name)["glance_download"] for name in ("Paris", "Lisbon")] == [
        True,
        False,
    ]  # as cloud.json says
    new = paris.create_image(NewImage("orphan", "private", "raw", "bare", 0, 0, False, (), {}))
    paris.start_import(new.id, "00000000-0000-0000-0000-000000000000", MASTER)  # no such image
    with pytest.raises(ImportFailed, match="glance-download: the import task failed: "):
        paris.await_import(new.id)
    assert cloud.record("Paris", new.id)["status"] == "queued"  # put back; the caller deletes it
