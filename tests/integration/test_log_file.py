"""--log-file after real runs: a timestamped log for cron, whatever -q keeps off the terminal."""

from __future__ import annotations

import re

import pytest
from glance_helpers import Cloud, KiB, cli, payload

from glancesync.errors import EXIT_CONFIG

pytestmark = pytest.mark.integration

STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (INFO|WARNING|ERROR|DEBUG) ")


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    cloud = Cloud(clean_cloud)
    cloud.put("Madrid", "logged", payload("logged", 4 * KiB))
    return cloud


def test_quiet_spares_the_log_file_which_has_every_info_line_stamped(cloud, tmp_path, capsys):
    log = tmp_path / "glancesync.log"

    status, out, err = cli(cloud.local_cloud, tmp_path, capsys, "-q", "--log-file", str(log),
                           "Lisbon")  # fmt: skip

    assert status == 0
    assert out == ["Lisbon: uploaded logged (4.0 KiB)"]
    assert err == [  # -q keeps warnings: this run leaves the local cloud's target other out
        "WARNING: target other is configured but not visited: "
        "name its regions (other:) to sync them"
    ]
    lines = log.read_text().splitlines()
    assert all(STAMPED.match(line) for line in lines)
    assert any(line.endswith("INFO Lisbon: uploaded logged (4.0 KiB)") for line in lines)
    assert any(" INFO run: 1 region(s), 1 ok; 4.0 KiB uploaded" in line
               for line in lines)  # fmt: skip


def test_runs_append_to_the_log_file(cloud, tmp_path, capsys):
    log = tmp_path / "glancesync.log"
    cli(cloud.local_cloud, tmp_path, capsys, "--log-file", str(log), "Lisbon")
    first = log.read_text()

    cli(cloud.local_cloud, tmp_path, capsys, "--log-file", str(log), "--dry-run", "Lisbon")

    text = log.read_text()
    assert text.startswith(first) and len(text) > len(first)


@pytest.mark.parametrize("children", [1, 2])
def test_parallel_children_write_into_the_log_file_too(cloud, tmp_path, capsys, children):
    log = tmp_path / "glancesync.log"
    runs = tmp_path / "runs"

    status, _, _ = cli(cloud.local_cloud, tmp_path, capsys, "-q", "--parallel", "--run-dir",
                       str(runs), "--log-file", str(log), "Lisbon", "Paris",
                       f"main.max_children={children}", "server_side_copy=never")  # fmt: skip

    assert status == 0
    lines = log.read_text().splitlines()
    for region in ("Lisbon", "Paris"):
        assert any(line.endswith(f"INFO {region}: uploaded logged (4.0 KiB)") for line in lines)
    parent_pids = {line.split()[2] for line in lines if " INFO run: " in line}
    child_pids = {line.split()[2] for line in lines if "uploaded logged" in line}
    assert len(parent_pids) == 1 and not parent_pids & child_pids
    [run_dir] = runs.iterdir()
    assert sorted(path.name for path in run_dir.iterdir()) == ["Lisbon.log", "Paris.log"]
    for region, other in (("Lisbon", "Paris"), ("Paris", "Lisbon")):  # one child may do both
        region_log = (run_dir / f"{region}.log").read_text()
        assert f"{region}: uploaded logged" in region_log
        assert f"{other}:" not in region_log


def test_a_log_file_that_cannot_be_opened_is_one_error_and_exit_2(cloud, tmp_path, capsys):
    log = tmp_path / "missing-directory" / "glancesync.log"
    metrics = tmp_path / "glancesync.prom"

    status, out, err = cli(cloud.local_cloud, tmp_path, capsys, "--log-file", str(log),
                           "--metrics-file", str(metrics), "Lisbon")  # fmt: skip

    assert status == EXIT_CONFIG
    assert out == []
    assert err == [f"ERROR: cannot open the log file {log}: No such file or directory"]
    assert cloud.names("Lisbon") == []
    assert "glancesync_last_run_success 0" in metrics.read_text()
    assert "glancesync_last_run_exit_status 2" in metrics.read_text()


def test_very_verbose_puts_http_debugging_but_no_secret_into_the_log_file(cloud, tmp_path, capsys):
    log = tmp_path / "glancesync.log"
    cli(cloud.local_cloud, tmp_path, capsys, "-vv", "--log-file", str(log), "--dry-run", "Lisbon")
    text = log.read_text()
    assert " DEBUG " in text and "/v2/images" in text
    assert cloud.local_cloud.target("master")["admin"]["password"] not in text
