"""The runner's rules (§7): regions visited in turn or in processes, each failing alone, the
report owning what finished; modes as actions. Against the in-memory cloud of memory_cloud.py."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from glancesync.actions import Mode, RunOptions
from glancesync.errors import AuthError, ConfigError, RegionError
from glancesync.output import OutputFormat
from glancesync.report import Report, Result
from glancesync.runner import run
from glancesync.settings import MainSettings, ServerSideCopy, Settings, TargetSettings
from tests.unit.memory_cloud import MemoryCloud, MemoryGlance, MemoryTarget, content_image


def target_settings(name: str) -> TargetSettings:
    return TargetSettings(
        name=name, user="admin", password="unused", auth_url="http://k.invalid/v3", project="p"
    )


class World:
    """Madrid (the master region), Lisbon and Paris in target master; Berlin in other."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.glances = {name: MemoryGlance(name) for name in ("Madrid", "Lisbon", "Paris")}
        self.berlin = MemoryGlance("Berlin")
        self.cloud = MemoryCloud(
            master=MemoryTarget("master", self.glances),
            other=MemoryTarget("other", {"Berlin": self.berlin}),
        )
        self.settings = Settings(
            MainSettings(master_region="Madrid", cache_max_size=0),
            {name: target_settings(name) for name in ("master", "other")},
        )
        self.report = Report()

    def master_image(self, name: str, data: bytes, **fields) -> None:
        self.glances["Madrid"].put(content_image(name, data, **fields), data)

    def run(self, *arguments: str, **options) -> list[str]:
        out = io.StringIO()
        options.setdefault("backup_dir", str(self.tmp_path / "backups"))
        options.setdefault("run_dir", str(self.tmp_path / "runs"))
        self.report = Report(dry_run=options.get("mode", Mode.SYNC) is not Mode.SYNC)
        run(self.settings, RunOptions(**options), arguments, self.report, out, None, self.cloud)
        return out.getvalue().splitlines()


# What a sync of the world's two images to its default regions prints, in region order.
SYNCED_LINES = [
    "Lisbon: uploaded web (3 B)",
    "Lisbon: uploaded app (9 B)",
    "Paris: uploaded web (3 B)",
    "Paris: uploaded app (9 B)",
]


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = World(tmp_path)
    world.master_image("app", b"app bytes")
    world.master_image("web", b"web")
    return world


def test_a_sync_visits_the_default_regions_and_counts_each(world: World) -> None:
    assert world.run() == SYNCED_LINES
    assert [region.region for region in world.report.regions] == ["Lisbon", "Paris"]
    assert world.report.exit_status == 0 and world.report.uploaded_bytes == 24
    assert [image.name for image in world.berlin.images.values()] == []


def test_a_region_that_cannot_be_listed_fails_alone(world: World) -> None:
    world.glances["Lisbon"].fail_on("list", "Lisbon")
    world.run()
    lisbon, paris = world.report.regions
    assert "list failed" in lisbon.failure and paris.succeeded
    assert world.report.exit_status == 1


def test_a_target_whose_keystone_fails_fails_its_named_regions_only(world: World) -> None:
    world.cloud["other"].refusal = AuthError("target other: cannot connect")
    lines = world.run("Lisbon", "other:Berlin", mode=Mode.SHOW_STATUS)
    assert lines == [
        "failed,other:Berlin,",
        "pending_upload,Lisbon,web",
        "pending_upload,Lisbon,app",
    ]
    assert [r.region for r in world.report.regions] == ["other:Berlin", "Lisbon"]


def test_an_unknown_region_is_a_problem_of_the_run(world: World) -> None:
    world.run("Rome", mode=Mode.DRY_RUN)
    assert world.report.problems == ["unknown region 'Rome': not in the catalog of its target"]
    assert world.report.regions == [] and world.report.exit_status == 1


def test_a_master_region_missing_from_the_catalog_is_a_configuration_error(world: World) -> None:
    del world.glances["Madrid"]
    with pytest.raises(ConfigError, match="master_region 'Madrid' has no image endpoint"):
        world.run()


def test_an_interrupted_run_keeps_the_regions_that_finished(world: World) -> None:
    world.glances["Paris"].fail_on("upload", "web", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        world.run()
    assert [region.region for region in world.report.regions] == ["Lisbon"]
    assert world.glances["Paris"].images == {}  # the upload in flight was discarded


def test_a_dry_run_writes_nothing_and_summarises(world: World, caplog) -> None:
    caplog.set_level("INFO", logger="glancesync")
    lines = world.run("Lisbon", mode=Mode.DRY_RUN)
    assert lines == ["Lisbon: would upload web (3 B)", "Lisbon: would upload app (9 B)"]
    assert world.glances["Lisbon"].images == {}
    assert "run: 1 region(s), 2 pending_upload; 0 B uploaded; 0 failure(s)" in caplog.text


def test_json_output_ends_with_the_summary(world: World) -> None:
    records = [json.loads(line) for line in world.run("Paris", output_format=OutputFormat.JSON)]
    assert [(r.get("image"), r.get("result")) for r in records[:-1]] == [
        ("web", Result.DONE.value),
        ("app", Result.DONE.value),
    ]
    assert records[-1]["exit_status"] == 0 and records[-1]["regions"] == 1


def test_make_backup_writes_a_csv_per_region_the_master_first(world: World) -> None:
    world.glances["Paris"].put(content_image("local", b"x"))
    records = world.run(mode=Mode.MAKE_BACKUP, output_format=OutputFormat.JSON)
    backups = [json.loads(line) for line in records[:-1]]
    assert [backup["region"] for backup in backups] == ["Madrid", "Lisbon", "Paris"]
    with open(backups[2]["backup"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == ["local"]
    assert Path(backups[0]["backup"]).parent.parent == world.tmp_path / "backups"


def test_show_regions_reads_every_catalog_and_visits_none(world: World) -> None:
    assert world.run(mode=Mode.SHOW_REGIONS) == ["Lisbon Paris other:Berlin"]
    assert all(glance.calls == [] for glance in world.glances.values())


def test_show_regions_counts_a_keystone_that_fails_as_a_problem(world: World) -> None:
    world.cloud["other"].refusal = AuthError("target other: cannot connect")
    assert world.run(mode=Mode.SHOW_REGIONS) == ["Lisbon Paris"]
    assert world.report.problems == ["target other: cannot connect"]


def test_parallel_regions_show_their_lines_in_region_order(world: World) -> None:
    world.settings = Settings(
        MainSettings(master_region="Madrid", max_children=2, cache_max_size=0),
        world.settings.targets,
    )
    assert world.run(parallel=True) == SYNCED_LINES
    assert [region.region for region in world.report.regions] == ["Lisbon", "Paris"]
    (run_dir,) = (world.tmp_path / "runs").iterdir()
    assert sorted(path.name for path in run_dir.iterdir()) == ["Lisbon.log", "Paris.log"]


@pytest.mark.parametrize(
    ("option", "mode", "parallel"),
    [("--backup-dir", Mode.MAKE_BACKUP, False), ("--run-dir", Mode.SYNC, True)],
)
def test_a_folder_that_cannot_be_made_is_refused_before_any_contact(
    world: World, option: str, mode: Mode, parallel: bool
) -> None:
    blocker = world.tmp_path / "file"
    blocker.write_text("")
    folder = str(blocker / "below")
    with pytest.raises(ConfigError, match=f"{option} {folder}: .* is not a directory"):
        world.run(mode=mode, parallel=parallel, backup_dir=folder, run_dir=folder)
    assert world.glances["Madrid"].calls == []


def test_a_region_failure_is_formatted_once(world: World) -> None:
    world.glances["Lisbon"].fail_on(
        "create", "web", RegionError("create image failed: HTTP 500", region="Lisbon", image="web")
    )
    lines = world.run("Lisbon")
    assert lines == ["Lisbon: FAILED image web: create image failed: HTTP 500"]


def test_show_regions_without_any_region_prints_an_empty_line(world: World) -> None:
    for name in ("Lisbon", "Paris"):
        del world.glances[name]
    world.cloud["other"].glances.clear()
    assert world.run(mode=Mode.SHOW_REGIONS) == [""]
    assert world.run(mode=Mode.SHOW_REGIONS, output_format=OutputFormat.JSON) == []


def formats_world(tmp_path: Path) -> World:
    """The world with a cache folder (where refusals are remembered), an image whose bytes are
    not the qcow2 it declares, and a good raw one."""
    (tmp_path / "cache").mkdir()
    world = World(tmp_path)
    main = MainSettings(master_region="Madrid", cache_max_size=0, cache_dir=str(tmp_path / "cache"))
    world.settings = replace(world.settings, main=main)
    world.master_image("app", b"app bytes" * 100, disk_format="qcow2")
    world.master_image("web", bytes(4096))
    return world


def test_check_formats_reads_the_master_through_download_part_and_remembers(
    tmp_path: Path,
) -> None:
    world = formats_world(tmp_path)
    assert world.run(mode=Mode.CHECK_FORMATS) == [
        "refused,app,qcow2/bare,raw,the content is not qcow2",
        "accepted,web,raw/bare,raw,",
    ]
    assert world.report.exit_status == 1 and world.report.regions == []
    assert world.run(mode=Mode.SHOW_STATUS) == [
        "error_format,Lisbon,app",
        "pending_upload,Lisbon,web",
        "error_format,Paris,app",
        "pending_upload,Paris,web",
    ]
    assert world.report.exit_status == 1


def test_an_upload_refused_for_its_format_fails_alone_and_is_remembered(tmp_path: Path) -> None:
    world = formats_world(tmp_path)
    lines = world.run()
    assert lines[0].startswith("Lisbon: FAILED image app: format refused:")
    assert lines[1:] == ["Lisbon: uploaded web (4.0 KiB)", "Paris: uploaded web (4.0 KiB)"]
    statuses = [dict(region.statuses) for region in world.report.regions]
    assert statuses == [{"ok": 1, "error_format": 1}] * 2  # Paris: the refusal remembered
    assert [image.name for image in world.glances["Lisbon"].images.values()] == ["web"]
    assert world.report.exit_status == 1


@pytest.mark.parametrize(
    ("region", "server_side_copy", "offered", "travel"),
    [
        ("Paris", ServerSideCopy.AUTO, True, "glance-download"),
        ("Paris", ServerSideCopy.NEVER, True, "stream"),
        ("Paris", ServerSideCopy.AUTO, False, "stream"),
        ("other:Berlin", ServerSideCopy.AUTO, True, "stream"),  # another Keystone: never asked
    ],
)
def test_a_region_copies_by_itself_only_in_the_masters_keystone_where_offered_and_allowed(
    world: World, region, server_side_copy, offered, travel
) -> None:
    glance = world.berlin if region.startswith("other:") else world.glances[region]
    glance.source = world.glances["Madrid"] if offered else None
    master = world.settings.targets["master"]
    world.settings = replace(
        world.settings,
        targets={
            **world.settings.targets,
            "master": replace(master, server_side_copy=server_side_copy),
        },
    )
    records = [json.loads(line) for line in world.run(region, output_format=OutputFormat.JSON)]
    assert [record["travel"] for record in records[:-1]] == [travel, travel]
    asked = ("import_methods", glance.full_name) in glance.calls
    assert asked is (region == "Paris" and server_side_copy is ServerSideCopy.AUTO)
