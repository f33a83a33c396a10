"""The local cloud: started if needed, described by its cloud.json, reached as its accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glanceclient import Client
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

REPO = Path(__file__).resolve().parents[2]
LOCALCLOUD = REPO / "tools" / "localcloud"
MASTER = "master"


def localcloud(*args: str) -> subprocess.CompletedProcess:
    """Run `python3 tools/localcloud ARGS` (same $GLANCESYNC_LOCALCLOUD_* environment)."""
    return subprocess.run(
        [sys.executable, str(LOCALCLOUD), *args], capture_output=True, text=True, check=False
    )


def localcloud_checked(*args: str) -> str:
    """Run a localcloud command that must succeed; its stdout."""
    result = localcloud(*args)
    if result.returncode:
        raise RuntimeError(f"localcloud {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class Account:
    """A Keystone user in a project, within one target."""

    target: str
    user: str
    password: str
    project: str


class LocalCloud:
    """The running cloud as cloud.json describes it. Regions go by full name (`other:Berlin`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.domain: str = data["domain"]
        self.master_region: str = data["master_region"]
        self.conf = Path(data["glancesync_conf"])
        self._sessions: dict[str, ksa_session.Session] = {}
        self._clients: dict[tuple[str, str], Client] = {}

    @classmethod
    def started(cls) -> tuple[LocalCloud, bool]:
        """The cloud, started here if it was not running; and whether this call started it."""
        was_running = localcloud("status").returncode == 0
        localcloud_checked("start")
        return cls(json.loads(localcloud_checked("info"))), not was_running

    @property
    def regions(self) -> list[str]:
        """Every region's full name: the master target's first, in catalog order."""
        return [
            self.full_name(target, region)
            for target, description in self.data["targets"].items()
            for region in description["regions"]
        ]

    @staticmethod
    def full_name(target: str, region: str) -> str:
        return region if target == MASTER else f"{target}:{region}"

    def split(self, full_name: str) -> tuple[str, str]:
        """(target, region) of a full region name; unknown names fail loudly."""
        target, _, region = full_name.rpartition(":")
        target = target or MASTER
        if region not in self.data["targets"].get(target, {}).get("regions", {}):
            raise KeyError(f"no region {full_name!r} in the local cloud ({' '.join(self.regions)})")
        return target, region

    def admin_of(self, full_name: str) -> str:
        """The name of the admin account of the region's target."""
        return self.data["targets"][self.split(full_name)[0]]["admin"]["name"]

    def account(self, name: str) -> Account:
        for target, description in self.data["targets"].items():
            if name in description["accounts"]:
                entry = description["accounts"][name]
                return Account(target, entry["user"], entry["password"], entry["project"])
        raise KeyError(f"no account {name!r} in the local cloud")

    def session(self, account: str) -> ksa_session.Session:
        """A keystoneauth1 session authenticated as the account (one per account)."""
        if account not in self._sessions:
            self._sessions[account] = self._new_session(self.account(account))
        return self._sessions[account]

    def _new_session(self, entry: Account) -> ksa_session.Session:
        auth = v3.Password(
            auth_url=self.data["targets"][entry.target]["auth_url"],
            username=entry.user,
            password=entry.password,
            project_name=entry.project,
            user_domain_name=self.domain,
            project_domain_name=self.domain,
        )
        return ksa_session.Session(auth=auth)

    def project_id(self, account: str) -> str:
        return self.session(account).get_project_id()

    def glance(self, full_name: str, account: str | None = None) -> Client:
        """A Glance v2 client of a region, as `account` (default: the target's admin)."""
        target, region = self.split(full_name)
        name = account or self.admin_of(full_name)
        if self.account(name).target != target:
            raise ValueError(f"account {name} does not belong to the target of {full_name}")
        if (full_name, name) not in self._clients:
            self._clients[full_name, name] = Client(
                "2", session=self.session(name), region_name=region, interface="public"
            )
        return self._clients[full_name, name]

    def cli_environment(self, openrc: str | None = None) -> dict[str, str]:
        """os.environ without OS_* and GLANCESYNC_CONFIG: only the scenario's files count;
        with `openrc`, plus the OS_* variables of that account (as its openrc file sets them)."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("OS_") and key != "GLANCESYNC_CONFIG"
        }
        if openrc is not None:
            entry = self.account(openrc)
            target = self.data["targets"][entry.target]
            environment.update(
                OS_AUTH_URL=target["auth_url"],
                OS_USERNAME=entry.user,
                OS_PASSWORD=entry.password,
                OS_PROJECT_NAME=entry.project,
                OS_USER_DOMAIN_NAME=self.domain,
                OS_PROJECT_DOMAIN_NAME=self.domain,
                OS_REGION_NAME=next(iter(target["regions"])),
                OS_IDENTITY_API_VERSION="3",
            )
        return environment
