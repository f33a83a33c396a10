"""api_timeout is a deadline for a whole API call, body included; image bytes have a stall
timeout instead (§9): a transfer slower than api_timeout in all, but never silent for as long,
is not cut. The facade against the hostile cloud, in-process.
"""

from __future__ import annotations

import io
import time

import pytest

from glancesync.errors import RegionError
from glancesync.glance import Target
from glancesync.image import NewImage
from glancesync.settings import TargetSettings
from hostile.server import Glance, image_record

DEADLINE = 1.0


def target_of(cloud) -> Target:
    return Target(
        TargetSettings(
            name="evil",
            user=cloud.user,
            password=cloud.password,
            auth_url=cloud.auth_url,
            project=cloud.project,
            api_timeout=DEADLINE,
            api_retries=0,
        )
    )


class SlowReader(io.RawIOBase):
    """`chunks` chunks of bytes, each after a pause shorter than the deadline."""

    def __init__(self, chunks: int, pause: float) -> None:
        self.left, self.pause = chunks, pause

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.left:
            return b""
        time.sleep(self.pause)
        self.left -= 1
        return b"x" * 1024


def test_an_upload_slower_than_api_timeout_in_all_is_not_cut(hostile):
    cloud = hostile()
    cloud.add_region("Slow")
    region = target_of(cloud).region("Slow")
    created = region.create_image(NewImage("slow", "private", "raw", "bare", 0, 0, False, (), {}))
    started = time.monotonic()
    region.upload(created.id, SlowReader(5, DEADLINE * 0.4), 5 * 1024)
    assert time.monotonic() - started > 2 * DEADLINE
    assert cloud.region("Slow").files[created.id] == b"x" * 5 * 1024


def test_the_answer_to_an_upload_is_cut_at_the_deadline(hostile):
    """Only the bytes sent have a stall timeout: a Glance that takes them, then drips its
    answer, held the run as long as it liked (60 s and more with api_timeout 5)."""
    cloud = hostile(drip_interval=DEADLINE * 0.3)
    cloud.add_region("Slow", Glance.DRIP)
    region = target_of(cloud).region("Slow")
    created = region.create_image(NewImage("slow", "private", "raw", "bare", 0, 0, False, (), {}))
    started = time.monotonic()
    with pytest.raises(RegionError, match=r"upload image failed: no answer within api_timeout"):
        region.upload(created.id, SlowReader(3, DEADLINE * 0.4), 3 * 1024)
    assert time.monotonic() - started < 3 * DEADLINE * 0.4 + DEADLINE + 0.5


def test_a_download_slower_than_api_timeout_in_all_is_not_cut(hostile):
    cloud = hostile(drip_interval=DEADLINE * 0.3)
    record = image_record("slow", b"12345678")
    cloud.add_region("Slow", Glance.DRIP, images=[record], files={record["id"]: b"12345678"})
    started = time.monotonic()
    data = b"".join(target_of(cloud).region("Slow").download(record["id"]))
    assert time.monotonic() - started > 2 * DEADLINE
    assert data == b"12345678"


def test_a_listing_slower_than_api_timeout_in_all_is_cut_at_the_deadline(hostile):
    cloud = hostile(drip_interval=DEADLINE * 0.3)
    cloud.add_region("Slow", Glance.DRIP, images=[image_record("x")])
    region = target_of(cloud).region("Slow")
    started = time.monotonic()
    with pytest.raises(RegionError, match=r"list images failed: no answer within api_timeout"):
        region.list_images()
    assert time.monotonic() - started < DEADLINE + 0.5
