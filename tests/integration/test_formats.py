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

import pytest
from formatimages import TestImage, bad_images, good_images
from glance_helpers import Cloud, md5, settings

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
