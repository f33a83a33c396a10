"""The running local cloud of tools/localcloud as its cloud.json describes it, for the
integration tests, the behave features and the benchmarks alike.

It runs the `tools/localcloud` command and reaches Keystone and Glance directly, as the
cloud's accounts (keystoneauth1 sessions, glanceclient clients), never through glancesync.
A region is named by its full name (`Lisbon`, `other:Berlin`) or, as its catalog has it, by
its bare name (`Berlin`): region names are unique in the local cloud.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glanceclient import Client
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

REPO = Path(__file__).resolve().parents[1]
LOCALCLOUD = REPO / "tools" / "localcloud"
MASTER = "master"
IMPORTER_AGENT = "Python-urllib/"  # the user agent of Glance's importer (glance-download)
# An answer with image bytes in a Glance's access log (gunicorn's): image id, size, user agent.
_IMAGE_BYTES = re.compile(
    r'"GET /v2/images/([^/ ]+)/file HTTP/1\.[01]" 20[06] (\d+) "[^"]*" "([^"]*)"'
)


def localcloud(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python3 tools/localcloud ARGS` (same $GLANCESYNC_LOCALCLOUD_* environment)."""
    return subprocess.run(
        [sys.executable, str(LOCALCLOUD), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
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
    """cloud.json, with one session per account and one Glance client per region and account."""

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

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    # --- targets and regions

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

    def split(self, name: str) -> tuple[str, str]:
        """(target, region) of a full or bare region name; unknown names fail loudly."""
        target, _, region = name.rpartition(":")
        targets = self.data["targets"]
        if not target:
            target = next((t for t, d in targets.items() if region in d["regions"]), MASTER)
        if region not in targets.get(target, {}).get("regions", {}):
            raise KeyError(f"no region {name!r} in the local cloud ({' '.join(self.regions)})")
        return target, region

    def target(self, name: str) -> dict[str, Any]:
        return self.data["targets"][name]

    def target_of(self, region: str) -> str:
        return self.split(region)[0]

    def region_info(self, region: str) -> dict[str, Any]:
        """The region's entry of cloud.json (url, port, db, store)."""
        target, bare = self.split(region)
        return self.target(target)["regions"][bare]

    def admin_of(self, region: str) -> str:
        """The name of the admin account of the region's target."""
        return self.target(self.target_of(region))["admin"]["name"]

    # --- accounts

    def account(self, name: str) -> Account:
        for target, description in self.data["targets"].items():
            if name in description["accounts"]:
                entry = description["accounts"][name]
                return Account(target, entry["user"], entry["password"], entry["project"])
        raise KeyError(f"no account {name!r} in the local cloud")

    def session(self, account: str) -> ksa_session.Session:
        """A keystoneauth1 session authenticated as the account (one per account)."""
        if account not in self._sessions:
            entry = self.account(account)
            auth = v3.Password(
                auth_url=self.target(entry.target)["auth_url"],
                username=entry.user,
                password=entry.password,
                project_name=entry.project,
                user_domain_name=self.domain,
                project_domain_name=self.domain,
            )
            self._sessions[account] = ksa_session.Session(auth=auth)
        return self._sessions[account]

    def project_id(self, account: str) -> str:
        return self.session(account).get_project_id()

    def glance(self, region: str, account: str | None = None) -> Client:
        """A Glance v2 client of a region, as `account` (default: the target's admin)."""
        target, bare = self.split(region)
        name = account or self.admin_of(region)
        if self.account(name).target != target:
            raise ValueError(f"account {name} does not belong to the target of {region}")
        if (region, name) not in self._clients:
            self._clients[region, name] = Client(
                "2", session=self.session(name), region_name=bare, interface="public"
            )
        return self._clients[region, name]

    def cli_environment(self, openrc: str | None = None, region: str | None = None) -> dict:
        """os.environ without OS_* and GLANCESYNC_CONFIG, for a run of glancesync that only its
        files configure; with `openrc`, plus the OS_* variables of that account as its openrc
        file sets them (OS_REGION_NAME: `region`, else the first of its target)."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("OS_") and key != "GLANCESYNC_CONFIG"
        }
        if openrc is not None:
            entry = self.account(openrc)
            target = self.target(entry.target)
            environment.update(
                OS_AUTH_URL=target["auth_url"],
                OS_USERNAME=entry.user,
                OS_PASSWORD=entry.password,
                OS_PROJECT_NAME=entry.project,
                OS_USER_DOMAIN_NAME=self.domain,
                OS_PROJECT_DOMAIN_NAME=self.domain,
                OS_REGION_NAME=region or next(iter(target["regions"])),
                OS_IDENTITY_API_VERSION="3",
            )
        return environment

    # --- what a Glance served

    def log_position(self, region: str) -> int:
        """Where the region's server log ends now: `image_bytes_served` counts from there."""
        return Path(self.region_info(region)["log"]).stat().st_size

    def image_bytes_served(self, region: str, image_id: str, since: int) -> dict[str, int]:
        """The bytes of an image the region's Glance answered since log position `since`, by
        reader: {"glance": another Glance's importer, "host": everyone else (the sync host)},
        read in its access log."""
        with Path(self.region_info(region)["log"]).open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        served = {"glance": 0, "host": 0}
        for image, size, agent in _IMAGE_BYTES.findall(text):
            if image == image_id:
                served["glance" if agent.startswith(IMPORTER_AGENT) else "host"] += int(size)
        return served

    # --- behind Glance's back

    def clone_rows(self, region: str, image_id: str, count: int) -> list[str]:
        """`count` copies (new ids, names `<name>-<n>`) of an image's row, written straight into
        the region's Glance database: Glance creates only ~30 images/s through its API here.
        The copies have no bytes: enough for listings and statuses. Their ids."""
        with closing(sqlite3.connect(self.region_info(region)["db"], timeout=30)) as db, db:
            cursor = db.execute("SELECT * FROM images WHERE id = ?", (image_id,))
            columns = [column[0] for column in cursor.description]
            template = dict(zip(columns, cursor.fetchone()))
            ids = [str(uuid.uuid4()) for _ in range(count)]
            rows = [
                tuple(
                    {**template, "id": new, "name": f"{template['name']}-{number}"}[column]
                    for column in columns
                )
                for number, new in enumerate(ids)
            ]
            marks = ", ".join("?" * len(columns))
            db.executemany(f"INSERT INTO images ({', '.join(columns)}) VALUES ({marks})", rows)
        return ids
