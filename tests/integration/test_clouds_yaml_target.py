"""A configuration whose targets take their credentials from clouds.yaml (`cloud = NAME`)."""

import io

import pytest

from glancesync.cli import main

pytestmark = pytest.mark.integration


def test_sync_with_targets_from_clouds_yaml(clean_cloud, tmp_path, monkeypatch):
    conf = tmp_path / "glancesync.conf"
    conf.write_text(
        "[main]\nmaster_region = Madrid\n[master]\ncloud = master\n[other]\ncloud = other\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", clean_cloud["clouds_yaml"])
    data = b"c" * 2048
    madrid = clean_cloud.glance("Madrid")
    image = madrid.images.create(
        name="clouds-yaml-image", disk_format="raw", container_format="bare", visibility="public"
    )
    madrid.images.upload(image["id"], io.BytesIO(data), image_size=len(data))

    status = main(
        [
            "--config-file",
            str(conf),
            "Lisbon",
            "other:Berlin",
            "--config",
            f"lock_file={tmp_path / 'lock'}",
        ]  # fmt: skip
    )

    assert status == 0
    for region in ("Lisbon", "Berlin"):
        copies = list(clean_cloud.glance(region).images.list(filters={"name": "clouds-yaml-image"}))
        assert [(copy["status"], copy["size"]) for copy in copies] == [("active", len(data))]
