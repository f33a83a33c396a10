"""Arranging and inspecting the local cloud for the integration tests of glancesync.

Everything here reaches Keystone and Glance directly (keystoneauth1, glanceclient; the Glance
databases and file stores where the API cannot do or show something), never through
glancesync, so that a test judges glancesync by what the cloud really holds.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glanceclient import Client
from keystoneauth1.session import Session
from localcloud_client import LocalCloud

from glancesync.actions import Mode, RunOptions
from glancesync.cli import main
from glancesync.report import Report
from glancesync.runner import run
from glancesync.settings import Settings, load_settings

KiB = 1024
CONTAINER_FORMATS = {"aki": "aki", "ari": "ari", "ami": "ami"}
# Every table of a Glance database that holds an image's state, deleted rows included.
IMAGE_TABLES = ("images", "image_properties", "image_tags", "image_locations", "image_members")


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def payload(name: str, size: int) -> bytes:
    """Deterministic bytes of `size` for `name`: equal names give equal content."""
    seed = hashlib.sha512(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


class Cloud:
    """Admin access to every region of the local cloud (a `LocalCloud`), by raw API records."""

    def __init__(self, local_cloud: LocalCloud) -> None:
        self.local_cloud = local_cloud

    def session(self, target: str) -> Session:
        """The session of the target's admin."""
        return self.local_cloud.session(self.local_cloud.target(target)["admin"]["name"])

    def client(self, region: str) -> Client:
        return self.local_cloud.glance(region)

    def target_of(self, region: str) -> str:
        return self.local_cloud.target_of(region)

    def region_info(self, region: str) -> dict[str, Any]:
        """The region's entry of cloud.json (url, db, store)."""
        return self.local_cloud.region_info(region)

    @property
    def regions(self) -> list[str]:
        return [
            region
            for target in self.local_cloud["targets"].values()
            for region in target["regions"]
        ]

    def project_id(self, target: str = "master") -> str:
        return self.session(target).get_project_id()

    def get(self, region: str, path: str) -> Any:
        """GET `path` of the region's Glance API, as parsed JSON."""
        endpoint = {"service_type": "image", "region_name": region, "interface": "public"}
        return self.session(self.target_of(region)).get(path, endpoint_filter=endpoint).json()

    def put(
        self,
        region: str,
        name: str,
        data: bytes | None = None,
        *,
        disk_format: str = "raw",
        visibility: str = "public",
        container_format: str | None = None,
        **properties: Any,
    ) -> dict[str, Any]:
        """Create an image (uploading `data` unless None) and return its raw record; the
        container_format is `bare` (the amazon ones for their disk formats) unless given."""
        glance = self.client(region)
        image = glance.images.create(
            name=name,
            disk_format=disk_format,
            visibility=visibility,
            container_format=container_format or CONTAINER_FORMATS.get(disk_format, "bare"),
            **properties,
        )
        if data is not None:
            glance.images.upload(image.id, io.BytesIO(data), image_size=len(data))
        return self.record(region, image.id)

    def record(self, region: str, image_id: str) -> dict[str, Any]:
        """The image as Glance's API shows it, every field included."""
        return self.get(region, f"/v2/images/{image_id}")

    def records(self, region: str) -> list[dict[str, Any]]:
        """Every image of the region as raw records, hidden ones included (Glance lists them
        only when asked for them alone), by id, following pagination."""
        found: list[dict[str, Any]] = []
        for hidden_filter in ("", "&os_hidden=true"):
            path: str | None = f"/v2/images?limit=100{hidden_filter}"
            while path:
                page = self.get(region, path)
                found += page["images"]
                path = page.get("next")
        return sorted(found, key=lambda record: record["id"])

    def names(self, region: str) -> list[str]:
        return sorted(record["name"] for record in self.records(region))

    def named(self, region: str, name: str) -> list[dict[str, Any]]:
        return [record for record in self.records(region) if record["name"] == name]

    def only(self, region: str, name: str) -> dict[str, Any]:
        """The one image named `name` in the region (fails if there are none or several)."""
        [record] = self.named(region, name)
        return record

    def data(self, region: str, image_id: str) -> bytes:
        return b"".join(self.client(region).images.data(image_id))

    def store_file(self, region: str, image_id: str) -> Path:
        """Where the region's file store keeps the image's bytes."""
        return Path(self.region_info(region)["store"]) / image_id

    def database_rows(self, region: str) -> dict[str, list[tuple]]:
        """Every row of the region's image tables, soft-deleted ones included."""
        uri = f"file:{self.region_info(region)['db']}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
            return {
                table: sorted(db.execute(f"SELECT * FROM {table}"), key=repr)
                for table in IMAGE_TABLES
            }


def settings(local_cloud: Any, *overrides: str) -> Settings:
    """The local cloud's glancesync.conf with `--config` overrides, no OS_* variables."""
    return load_settings(str(local_cloud.conf), overrides, environ={})


@dataclass(frozen=True)
class Outcome:
    """A glancesync run: its exit status and the lines it printed."""

    exit_status: int
    lines: list[str]

    def of(self, region: str) -> list[str]:
        return [line for line in self.lines if line.startswith(f"{region}: ")]


def sync(
    local_cloud: Any,
    regions: Sequence[str],
    *overrides: str,
    mode: Mode = Mode.SYNC,
    parallel: bool = False,
    run_dir: Path | None = None,
) -> Outcome:
    """Run glancesync in-process on `regions`, as the CLI does."""
    out = io.StringIO()
    options = RunOptions(mode=mode, parallel=parallel, run_dir=str(run_dir or "runs"))
    report = Report(dry_run=not options.writes)
    run(settings(local_cloud, *overrides), options, regions, report, out)
    return Outcome(report.exit_status, out.getvalue().splitlines())


def cli(local_cloud, tmp_path: Path, capsys, *arguments: str) -> tuple[int, list[str], list[str]]:
    """glancesync ARGUMENTS in-process: (exit status, stdout lines, stderr lines). Arguments
    with `=` are --config overrides; the run lock is a file of tmp_path."""
    status = main(cli_arguments(local_cloud, tmp_path, *arguments))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def cli_arguments(local_cloud, tmp_path: Path, *arguments: str) -> list[str]:
    regions = [a for a in arguments if "=" not in a]
    overrides = [a for a in arguments if "=" in a]
    return ["--config-file", str(local_cloud.conf), *regions,
            "--config", f"lock_file={tmp_path / 'lock'}", *overrides]  # fmt: skip
