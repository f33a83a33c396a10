"""A hostile or unreachable Keystone fails its own target's regions only (§7, §9): the run names
the target and what was wrong in one line, syncs the good region (Lisbon, of the local cloud's
master target), ends with exit status 1, and sends the password nowhere but its auth_url.
"""

from __future__ import annotations

import pytest
from faultproxy import closed_port

from hostile.server import MB, Keystone

pytestmark = pytest.mark.integration

BAD = "evil:Bad"
QUICK = ("api_retries=1", "api_retry_delay=0.1")


def failure(cloud, cause: str) -> str:
    return f"target evil (Keystone {cloud.auth_url}): {cause}"


def test_a_keystone_redirect_elsewhere_is_refused_and_gets_no_password(
    hostile, master_image, glancesync
):
    cloud = hostile(Keystone.REDIRECT)
    cloud.add_region("Bad")
    run = glancesync("Lisbon", BAD, hostile=cloud)
    run.failed_alone(
        failure(
            cloud,
            f"authentication failed: refused a redirect from {cloud.url} to {cloud.listener.url}",
        ),
        synced=True,
    )
    assert cloud.listener.requests == []
    run.check(cloud)


def test_a_200_mb_keystone_answer_is_refused_at_32_mib(hostile, master_image, glancesync):
    cloud = hostile(Keystone.HUGE, huge_size=200 * MB)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(failure(cloud, "authentication failed: the answer is larger than 32 MiB"))
    run.check(cloud)


def test_an_endless_chunked_keystone_answer_meets_the_deadline(hostile, master_image, glancesync):
    cloud = hostile(Keystone.ENDLESS, drip_interval=0.05)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, "api_timeout=2", *QUICK, hostile=cloud)
    run.failed_alone(failure(cloud, "cannot connect: no answer within api_timeout (2 s)"))
    run.check(cloud, seconds=8)  # two attempts of 2 s


def test_a_dripping_keystone_answer_meets_the_deadline(hostile, master_image, glancesync):
    cloud = hostile(Keystone.DRIP, drip_interval=0.3)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, "api_timeout=2", *QUICK, hostile=cloud)
    run.failed_alone(failure(cloud, "cannot connect: no answer within api_timeout (2 s)"))
    run.check(cloud, seconds=8)  # two attempts of 2 s


def test_a_deep_keystone_answer_is_refused(hostile, master_image, glancesync):
    cloud = hostile(Keystone.DEEP)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(
        failure(cloud, "authentication failed: the answer is JSON nested deeper than 32 levels")
    )
    run.check(cloud)


def test_a_malformed_catalog_is_refused(hostile, master_image, glancesync):
    cloud = hostile(Keystone.BAD_CATALOG)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(failure(cloud, "read the catalog failed: the catalog is not a list"))
    run.check(cloud)


def test_a_refusal_echoing_the_password_prints_no_password(hostile, master_image, glancesync):
    cloud = hostile(Keystone.ECHO)
    cloud.add_region("Bad")
    run = glancesync("--dry-run", "Lisbon", BAD, hostile=cloud)
    run.failed_alone(
        failure(
            cloud,
            "authentication failed: Keystone answered HTTP 400 wrong password '***' \\x1b[31m for "
            "evil-user",
        )
    )
    run.check(cloud)


def test_an_unreachable_keystone_fails_its_regions_only(hostile, master_image, glancesync):
    cloud = hostile()
    url = f"http://127.0.0.1:{closed_port()}/v3"
    run = glancesync("Lisbon", "evil:", BAD, f"evil.auth_url={url}", *QUICK, hostile=cloud)
    run.failed_alone(
        f"target evil (Keystone {url}): cannot connect: connection refused", synced=True
    )
    run.check(cloud)


@pytest.mark.parametrize("verbosity", [(), ("-vv",)], ids=["plain", "http-debugging"])
def test_userinfo_in_an_auth_url_is_masked(hostile, master_image, glancesync, verbosity):
    cloud = hostile()
    url = f"http://evil-user:url-secret-7@127.0.0.1:{closed_port()}/v3"
    run = glancesync(
        "--dry-run", *verbosity, "Lisbon", BAD, f"evil.auth_url={url}", *QUICK, hostile=cloud
    )
    run.failed_alone("target evil (Keystone http://***@127.0.0.1:")
    assert "url-secret-7" not in run.err + run.out
    assert "WARNING: target evil (Keystone http://***@127.0.0.1:" in run.err  # out of retries
    run.check(cloud)


def test_userinfo_is_masked_and_parallel_children_use_the_runs_token(
    hostile, master_image, glancesync
):
    cloud = hostile()
    cloud.add_region("Good")
    url = cloud.auth_url.replace("http://", "http://evil-user:url-secret-7@")
    run = glancesync("--parallel", "-vv", "Lisbon", "evil:Good", f"evil.auth_url={url}",
                     hostile=cloud)  # fmt: skip
    assert run.status == 0, run.err
    logs = "".join(path.read_text() for path in run.workdir.glob("runs/*/*.log"))
    assert "http://***@127.0.0.1" in run.err and "/v3/auth/tokens" in run.err  # the parent's
    assert "GET http://127.0.0.1" in logs and "/v3/auth/tokens" not in logs  # none in children
    assert "url-secret-7" not in run.err + logs
    run.check(cloud, rss_mib=200)


@pytest.mark.parametrize(
    ("keystone", "cause"),
    [
        (Keystone.ENDLESS, "cannot connect: no answer within api_timeout (2 s)"),
        (Keystone.HUGE, "authentication failed: the answer is larger than 32 MiB"),
    ],
    ids=["endless", "huge"],
)
def test_a_hostile_keystone_fails_its_regions_only_under_parallel(
    hostile, master_image, glancesync, keystone, cause
):
    cloud = hostile(keystone, drip_interval=0.05, huge_size=200 * MB)
    cloud.add_region("Bad")
    run = glancesync("--parallel", "Lisbon", BAD, "api_timeout=2", *QUICK, hostile=cloud)
    run.failed_alone(failure(cloud, cause), synced=True)
    run.check(cloud, seconds=8, rss_mib=200)


def test_show_regions_lists_the_targets_that_answer(hostile, local_cloud, glancesync):
    cloud = hostile(Keystone.DEEP)
    cloud.add_region("Bad")
    run = glancesync("--show-regions", hostile=cloud)
    assert run.status == 1
    assert run.out == "Lisbon Paris other:Berlin other:Rome\n"
    assert run.errors == [
        "ERROR: "
        + failure(cloud, "authentication failed: the answer is JSON nested deeper than 32 levels")
    ]
    run.check(cloud)
