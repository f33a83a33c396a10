"""A hostile master region fails the whole run (§7): one clear error line naming the region and
what was wrong, exit status 1, no traceback, and nothing written anywhere.
"""

from __future__ import annotations

import pytest
from faultproxy import proxied_region

from hostile.server import Glance, image_record

pytestmark = pytest.mark.integration

QUICK = ("api_retries=1", "api_retry_delay=0.1")


@pytest.mark.parametrize(
    ("behaviour", "images", "cause"),
    [
        (Glance.NORMAL, [{"id": "i1", "size": "12"}], "malformed answer: image i1: size is a"),
        (Glance.ENDLESS_NEXT, [image_record("x")], "the next link repeats a page already read"),
        (Glance.DEEP, [], "the answer is JSON nested deeper than 32 levels"),
        (Glance.HUGE, [], "the answer is larger than 32 MiB"),
        (Glance.DRIP, [image_record("x")], "no answer within api_timeout (2 s)"),
    ],
    ids=["malformed", "endless", "deep", "huge", "drip"],
)
def test_a_hostile_master_fails_the_run_in_one_line(
    hostile, local_cloud, clean_cloud, glancesync, behaviour, images, cause
):
    cloud = hostile(drip_interval=0.3)
    region = cloud.add_region("Master", behaviour, images=images)
    with proxied_region(local_cloud, "master", "Hostile", region) as master:
        run = glancesync(
            "Lisbon", f"main.master_region={master}", "api_timeout=2", *QUICK, hostile=cloud
        )
    assert run.status == 1 and run.out == ""
    assert [line.split(": list images failed: ")[0] for line in run.errors] == [
        f"ERROR: region {master}"
    ]
    assert cause in run.errors[0]
    assert list(local_cloud.glance("Lisbon").images.list()) == []
    run.check(cloud, seconds=8, registered=True)
