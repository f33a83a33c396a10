"""A hostile region fails alone (§9): whatever its Glance answers — malformed, too big, too deep,
too slow, endless, or elsewhere — the run names the region and what was wrong in one line, goes
on with the good region (Lisbon, of the local cloud), and ends with exit status 1, within its
time and memory bounds, with no credential sent anywhere but the configured address.
"""

from __future__ import annotations

import pytest

from hostile.conftest import NAME
from hostile.server import Glance, image_record

pytestmark = pytest.mark.integration

BAD = "evil:Bad"
FAILED = f"region {BAD}: list images failed: "
QUICK = ("api_retries=1", "api_retry_delay=0.1")


def test_a_next_link_to_the_same_page_is_refused(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.ENDLESS_NEXT, images=[image_record("x")])
    run = glancesync("Lisbon", BAD, hostile=cloud)
    run.failed_alone(FAILED + "the next link repeats a page already read", synced=True)
    run.check(cloud)


def test_endless_pages_of_new_images_end_at_the_page_cap(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.ENDLESS_NEW, page_size=1)
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(FAILED + "more than 1000 pages")
    run.check(cloud)


def test_a_page_larger_than_asked_for_is_refused(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", images=[image_record(f"x{n}") for n in range(1001)], page_size=1001)
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(FAILED + "a page of 1001 images, more than the 1000 asked for")
    run.check(cloud)


def test_a_redirect_elsewhere_is_refused_and_gets_no_token(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.REDIRECT)
    run = glancesync("Lisbon", BAD, hostile=cloud)
    run.failed_alone(
        f"{FAILED}refused a redirect from {cloud.url} to {cloud.listener.url}: credentials are "
        "sent only to the configured address",
        synced=True,
    )
    assert cloud.listener.requests == []
    run.check(cloud)


def test_an_absolute_next_link_elsewhere_is_refused(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.NEXT_ELSEWHERE, images=[image_record("x")])
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(
        f"{FAILED}the next link '{cloud.listener.url}/v2/images?marker_index=1' is not a "
        "/v2/images link of the region's endpoint"
    )
    assert cloud.listener.requests == []
    run.check(cloud)


def test_a_450_mb_listing_page_is_refused_at_32_mib(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.HUGE)
    run = glancesync("--dry-run", "Lisbon", BAD, *QUICK, hostile=cloud)
    run.failed_alone(FAILED + "the answer is larger than 32 MiB")
    run.check(cloud)


def test_a_page_of_ten_million_small_values_is_refused_before_parsing(
    hostile, master_image, glancesync
):
    cloud = hostile()
    cloud.add_region("Bad", Glance.SWARM)
    run = glancesync("--dry-run", "Lisbon", BAD, *QUICK, hostile=cloud)
    run.failed_alone(FAILED + "the answer holds more than 500000 JSON values")
    run.check(cloud)


def test_a_dripping_listing_meets_the_deadline(hostile, master_image, glancesync):
    cloud = hostile(drip_interval=0.3)
    cloud.add_region("Bad", Glance.DRIP, images=[image_record("x")])
    run = glancesync("--dry-run", "Lisbon", BAD, "api_timeout=2", *QUICK, hostile=cloud)
    run.failed_alone(f"{FAILED}no answer within api_timeout (2 s) ({cloud.url}")
    run.check(cloud, seconds=8)  # two attempts of 2 s


def test_deep_json_is_refused(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.DEEP)
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(FAILED + "the answer is JSON nested deeper than 32 levels")
    run.check(cloud)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"name": "no id"}, "an image record has null as its id"),
        ("just a string", "an image record is a string ('just a string'), not an object"),
        ({"id": "i1", "name": ["a", "list"]}, "name is a list, not a string"),
        ({"id": "i1", "size": "12"}, "size is a string ('12'), not an integer"),
        ({"id": "i1", "size": 10**4000}, "size is a number of more than 64 bits, not an integer"),
        ({"id": "i1", "min_ram": -1}, "min_ram is a number (-1), not an integer from 0"),
        ({"id": "i1", "protected": "yes"}, "protected is a string ('yes'), not true or false"),
        ({"id": "i1", "tags": "a,b"}, "tags are not a list of strings"),
        ({"id": "i1", "kernel": ["x"]}, "property 'kernel' is a list, not a string"),
    ],
    ids=[
        "no-id",
        "string",
        "list-name",
        "string-size",
        "huge-size",
        "negative-ram",
        "string-protected",
        "string-tags",
        "list-property",
    ],  # fmt: skip
)
def test_a_malformed_record_fails_its_region_naming_it(
    hostile, master_image, glancesync, record, problem
):
    cloud = hostile()
    cloud.add_region("Bad", images=[image_record("fine"), record])
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(f"{FAILED}malformed answer: ")
    assert problem in run.err
    run.check(cloud)


def test_an_error_echoing_the_token_is_printed_redacted_and_escaped(
    hostile, master_image, glancesync
):
    cloud = hostile()
    cloud.add_region("Bad", Glance.ECHO)
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(f"{FAILED}HTTP 400 Bad Request: token *** refused\\x1b[2J forged line")
    assert cloud.tokens_seen and cloud.tokens_seen[0] in cloud.tokens
    run.check(cloud)


@pytest.mark.parametrize(
    ("behaviour", "cause"),
    [
        (Glance.ENDLESS_NEXT, "the next link repeats a page already read"),
        (Glance.HUGE, "the answer is larger than 32 MiB"),
        (Glance.DEEP, "the answer is JSON nested deeper than 32 levels"),
    ],
    ids=["endless", "huge", "deep"],
)
def test_a_hostile_region_fails_alone_under_parallel(
    hostile, master_image, glancesync, behaviour, cause
):
    cloud = hostile()
    cloud.add_region("Bad", behaviour, images=[image_record("x")])
    run = glancesync("--parallel", "Lisbon", BAD, *QUICK, hostile=cloud)
    run.failed_alone(f"FAILED: list images failed: {cause}", synced=True)
    run.check(cloud, rss_mib=200)


def test_a_malformed_record_fails_alone_under_parallel(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", images=[{"id": "i1", "size": "12"}])
    run = glancesync("--parallel", "--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone("FAILED: list images failed: malformed answer: image i1: size is a string")
    run.check(cloud, rss_mib=200)


def test_a_region_failing_under_parallel_is_named_on_stderr_with_q(
    hostile, master_image, glancesync
):
    """The children log into files only; -q keeps WARNING and ERROR lines on standard error,
    which is all the README's cron wrapper mails: the failure must be there (it was empty)."""
    cloud = hostile()
    cloud.add_region("Bad", Glance.ENDLESS_NEXT, images=[image_record("x")])
    run = glancesync("-q", "--parallel", "Lisbon", BAD, *QUICK, hostile=cloud)
    run.failed_alone(
        "FAILED: list images failed: the next link repeats a page already read", synced=True
    )
    [error] = run.errors
    assert error.startswith(f"ERROR: {BAD}: ") and "FAILED: " in error
    run.check(cloud, rss_mib=200)


def test_good_regions_of_the_hostile_target_are_still_visited(hostile, master_image, glancesync):
    cloud = hostile()
    cloud.add_region("Bad", Glance.DEEP)
    cloud.add_region("Fine")
    run = glancesync("evil:", "Lisbon", hostile=cloud)
    run.failed_alone(FAILED + "the answer is JSON nested deeper", synced=True)
    assert f"evil:Fine: uploaded {NAME}" in run.out
    assert [image["name"] for image in cloud.region("Fine").images] == [NAME]
    run.check(cloud)
