"""--show-status for monitoring: a region that failed as a whole has a line of its own."""

from __future__ import annotations

import pytest
from faultproxy import FaultProxy, closed_port, proxied_region
from glance_helpers import Cloud, KiB, cli, payload

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_a_region_that_cannot_be_listed_shows_as_failed(clean_cloud, tmp_path, capsys, parallel):
    """`failed,<region>,` (no image): `grep -v '^ok'` shows it; the error goes to stderr."""
    cloud = Cloud(clean_cloud)
    cloud.put("Madrid", "base", payload("base", 4 * KiB))
    options = ["--parallel", "--run-dir", str(tmp_path / "runs")] if parallel else []
    proxy = FaultProxy(closed_port())
    with proxy, proxied_region(clean_cloud, "master", "Paris", proxy) as broken:
        status, out, err = cli(
            clean_cloud, tmp_path, capsys, "--show-status", *options, "Lisbon", broken, "Atlantis",
            "api_retries=1", "api_retry_delay=0.05",
        )  # fmt: skip

    assert status == 1
    assert out == ["failed,Atlantis,", "pending_upload,Lisbon,base", f"failed,{broken},"]
    assert any(broken in line and "list images failed" in line for line in err)
