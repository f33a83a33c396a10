"""Fixtures of the integration and hostile tests: the local cloud of tools/localcloud.

`local_cloud` (session) starts the cloud, or reuses the one already running, and returns its
description (cloud.json) as a `LocalCloud`. `clean_cloud` (per test) empties every Glance
region first. A cloud started by this session is stopped when the session ends, unless
$GLANCESYNC_LOCALCLOUD_KEEP is set (set it when a runner script manages the cloud, or under
pytest-xdist, where every worker has its own session). $GLANCESYNC_LOCALCLOUD_DIR and
$GLANCESYNC_LOCALCLOUD_PORT choose the state directory and the ports, as for the tool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from localcloud_client import LocalCloud
from localcloud_client import localcloud as run_localcloud_command


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the local cloud (tools/localcloud)")


def localcloud(*args: str, env: dict[str, str] | None = None, check: bool = True):
    """Run `python3 tools/localcloud ARGS`; fail the test with its output if it fails."""
    result = run_localcloud_command(*args, env=env)
    if check and result.returncode:
        pytest.fail(f"localcloud {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[LocalCloud]:
    """The running local cloud, started here if needed."""
    cloud, started = LocalCloud.started()
    yield cloud
    if started and not os.environ.get("GLANCESYNC_LOCALCLOUD_KEEP"):
        localcloud("stop")


@pytest.fixture(scope="session")
def run_localcloud():
    """The `localcloud(*args, env=None, check=True)` runner, for tests of the tool itself."""
    return localcloud


@pytest.fixture
def clean_cloud(local_cloud: LocalCloud) -> LocalCloud:
    """The local cloud with every Glance region emptied."""
    localcloud("reset")
    return local_cloud
