"""Fixtures of the integration tests: the local cloud of tools/localcloud.

`local_cloud` (session) starts the cloud, or reuses the one already running, and returns its
description (cloud.json) as a `LocalCloud`. `clean_cloud` (per test) empties every Glance
region first. A cloud started by this session is stopped when the session ends, unless
$GLANCESYNC_LOCALCLOUD_KEEP is set (set it when a runner script manages the cloud, or under
pytest-xdist, where every worker has its own session). $GLANCESYNC_LOCALCLOUD_DIR and
$GLANCESYNC_LOCALCLOUD_PORT choose the state directory and the ports, as for the tool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCALCLOUD = REPO / "tools" / "localcloud"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the local cloud (tools/localcloud)")


def localcloud(*args: str, env: dict[str, str] | None = None, check: bool = True):
    """Run `python3 tools/localcloud ARGS`; fail the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, str(LOCALCLOUD), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if check and result.returncode:
        pytest.fail(f"localcloud {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


class LocalCloud:
    """The description of the running cloud (cloud.json), with client helpers."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def conf(self) -> Path:
        """The ready glancesync.conf for this cloud."""
        return Path(self.data["glancesync_conf"])

    def target(self, name: str) -> dict[str, Any]:
        return self.data["targets"][name]

    def account(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(target, account) for an account name: `master`, `other` or `tenant2`."""
        for target in self.data["targets"].values():
            if name in target["accounts"]:
                return target, target["accounts"][name]
        raise KeyError(name)

    def env(self, account: str = "master", region: str | None = None) -> dict[str, str]:
        """os.environ plus the OS_* variables of an account (as its openrc file sets them)."""
        target, user = self.account(account)
        return dict(
            os.environ,
            OS_AUTH_URL=target["auth_url"],
            OS_USERNAME=user["user"],
            OS_PASSWORD=user["password"],
            OS_PROJECT_NAME=user["project"],
            OS_USER_DOMAIN_NAME=self.data["domain"],
            OS_PROJECT_DOMAIN_NAME=self.data["domain"],
            OS_REGION_NAME=region or next(iter(target["regions"])),
            OS_IDENTITY_API_VERSION="3",
        )

    def session(self, account: str = "master"):
        """A keystoneauth1 session authenticated as the account."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        target, user = self.account(account)
        auth = v3.Password(
            auth_url=target["auth_url"],
            username=user["user"],
            password=user["password"],
            project_name=user["project"],
            user_domain_name=self.data["domain"],
            project_domain_name=self.data["domain"],
        )
        return session.Session(auth=auth)

    def glance(self, region: str, account: str | None = None):
        """A glanceclient v2 client for a region, as the target's admin by default."""
        from glanceclient import Client

        owner = next(t for t in self.data["targets"].values() if region in t["regions"])
        return Client(
            "2",
            session=self.session(account or owner["admin"]["name"]),
            region_name=region,
            interface="public",
        )


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[LocalCloud]:
    """The running local cloud, started here if needed."""
    was_running = localcloud("status", check=False).returncode == 0
    localcloud("start")
    yield LocalCloud(json.loads(localcloud("info").stdout))
    if not was_running and not os.environ.get("GLANCESYNC_LOCALCLOUD_KEEP"):
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
