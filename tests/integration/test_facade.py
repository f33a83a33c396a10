"""The Glance facade (glancesync.glance) against the real Keystone and Glance of the local cloud."""

from __future__ import annotations

import hashlib
import io

import pytest
from faultproxy import closed_port
from glance_helpers import Cloud, KiB, md5, payload, settings

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG, EXIT_FAILURE, AuthError, NotFound
from glancesync.glance import GLANCE_CORE_FIELDS, Target, image_from_record
from glancesync.image import DEACTIVATION_MARK, UPLOAD_MARKER, NewImage

pytestmark = pytest.mark.integration

CATALOGS = {"master": ("Madrid", "Lisbon", "Paris"), "other": ("Berlin", "Rome")}


def target(local_cloud, name: str = "master", *overrides: str) -> Target:
    return Target(settings(local_cloud, *overrides).targets[name])


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_regions_come_from_the_targets_catalog(local_cloud, name: str) -> None:
    assert sorted(target(local_cloud, name).regions) == sorted(CATALOGS[name])


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_project_id_is_the_accounts_project(local_cloud, name: str) -> None:
    assert target(local_cloud, name).project_id == Cloud(local_cloud).project_id(name)


def test_listing_follows_pagination(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    created = {cloud.put("Lisbon", f"page-{n}")["id"] for n in range(7)}
    listed = target(clean_cloud).region("Lisbon").list_images(page_size=3)
    assert sorted(image.id for image in listed) == sorted(created)


def test_listing_includes_hidden_images_once_each_across_pages(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    visible = {cloud.put("Lisbon", f"shown-{n}")["id"] for n in range(4)}
    hidden = {cloud.put("Lisbon", f"hidden-{n}", os_hidden=True)["id"] for n in range(4)}
    listed = target(clean_cloud).region("Lisbon").list_images(page_size=3)
    assert sorted(image.id for image in listed) == sorted(visible | hidden)
    assert {image.id for image in listed if image.os_hidden} == hidden


def test_tags_deactivation_and_reactivation_through_the_facade(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    created = cloud.put("Lisbon", "life", payload("life", KiB), tags=["own"])
    region = target(clean_cloud).region("Lisbon")
    image = region.get_image(created["id"])

    region.add_tag(image, "added tag")
    region.deactivate(image)
    deactivated = region.get_image(image.id)
    assert deactivated.status == "deactivated"
    assert sorted(deactivated.tags) == ["added tag", "own"]
    assert DEACTIVATION_MARK in deactivated.properties
    region.deactivate(deactivated)  # again, as after a lost answer: no error

    region.reactivate(deactivated)
    reactivated = region.get_image(image.id)
    assert reactivated.status == "active"
    assert DEACTIVATION_MARK not in reactivated.properties


def test_region_with_2000_images_comes_back_whole(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    first = cloud.put("Paris", "many")["id"]
    created = {first, *cloud.local_cloud.clone_rows("Paris", first, 1999)}
    listed = target(clean_cloud).region("Paris").list_images()
    assert len(listed) == 2000
    assert {image.id for image in listed} == created


def test_image_from_record_keeps_user_properties_apart_from_core_fields(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    data = payload("record", 3 * KiB)
    created = cloud.put(
        "Madrid",
        "record",
        data,
        visibility="private",
        type="baseimage",
        nid="42",
        min_ram=256,
        tags=["a", "b"],
    )
    record = cloud.record("Madrid", created["id"])
    image = image_from_record(record, "Madrid")

    assert image.properties == {"type": "baseimage", "nid": "42"}
    assert GLANCE_CORE_FIELDS.isdisjoint(image.properties)
    assert (image.id, image.name, image.region) == (created["id"], "record", "Madrid")
    assert (image.status, image.visibility, image.min_ram) == ("active", "private", 256)
    assert sorted(image.tags) == ["a", "b"]
    assert image.owner == cloud.project_id()
    assert (image.size, image.checksum) == (len(data), md5(data))
    assert image.os_hash_algo == "sha512"
    assert image.os_hash_value == hashlib.sha512(data).hexdigest()


def test_image_round_trip_through_the_facade(clean_cloud) -> None:
    cloud = Cloud(clean_cloud)
    region = target(clean_cloud).region("Lisbon")
    data = payload("round-trip", 70 * KiB)
    new = NewImage(
        name="round-trip",
        visibility="private",
        disk_format="qcow2",
        container_format="bare",
        min_ram=0,
        min_disk=1,
        protected=False,
        tags=("t1",),
        properties={"keep": "1", "old": "a", "gone": "x"},
    )

    created = region.create_image(new)
    assert created.status == "queued"
    region.upload(created.id, io.BytesIO(data), len(data))
    uploaded = region.get_image(created.id)
    assert (uploaded.status, uploaded.size, uploaded.checksum) == ("active", len(data), md5(data))
    assert b"".join(region.download(created.id, chunk_size=16 * KiB)) == data
    assert UPLOAD_MARKER in uploaded.properties  # until the bytes are verified
    marked = uploaded
    uploaded = region.finish_upload(marked, protected=False)
    assert UPLOAD_MARKER not in uploaded.properties
    # The same patch again, as after a lost answer: Glance's 409 (no such property) is a
    # success once the marker is seen gone.
    assert UPLOAD_MARKER not in region.finish_upload(marked, protected=False).properties

    updated = region.update_image(uploaded, {"min_ram": 512}, {"old": "b", "new": "c"}, ["gone"])
    assert updated.properties == {"keep": "1", "old": "b", "new": "c"}
    assert cloud.record("Lisbon", created.id)["min_ram"] == 512
    assert region.update_image(updated) is updated  # nothing to change: no call

    region.delete_image(created.id)
    assert cloud.records("Lisbon") == []
    with pytest.raises(NotFound) as raised:
        region.get_image(created.id)
    gone = raised.value
    assert (gone.status, gone.region, gone.image) == (404, "Lisbon", created.id)
    assert gone.request_id.startswith("req-")


def test_refused_password_is_an_auth_error_naming_the_target(local_cloud) -> None:
    wrong = "not-the-Password-9f3"
    with pytest.raises(AuthError) as raised:
        _ = target(local_cloud, "other", f"other.password={wrong}").regions
    message = str(raised.value)
    assert raised.value.exit_status == EXIT_CONFIG
    assert "target other" in message and "otheradmin" in message
    assert wrong not in message
    assert local_cloud.target("other")["admin"]["password"] not in message


def test_cli_exits_2_without_printing_a_refused_password(local_cloud, capsys) -> None:
    wrong = "not-the-Password-9f3"
    arguments = ["--config-file", str(local_cloud.conf), "--config", f"master.password={wrong}"]
    assert main([*arguments, "--show-regions"]) == EXIT_CONFIG
    printed = capsys.readouterr()
    assert "credentials of user 'admin' were refused" in printed.err
    assert wrong not in printed.out + printed.err


def test_unreachable_keystone_is_an_auth_error_with_status_1(local_cloud) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v3"
    with pytest.raises(AuthError, match="cannot connect") as raised:
        _ = target(local_cloud, "master", f"master.auth_url={url}").project_id
    assert raised.value.exit_status == EXIT_FAILURE
    assert "target master" in str(raised.value)
