"""The Prometheus textfile written by --metrics-file."""

import signal
from collections import Counter

from glancesync import cli
from glancesync.errors import Interrupted
from glancesync.metrics import render_metrics, write_metrics
from glancesync.report import RegionReport, Report


def sample_report():
    report = Report()
    report.add(RegionReport("Lisbon", Counter(ok=3, pending_upload=1), 1, 2048, seconds=1.5))
    report.add(RegionReport('other:"Rome"', Counter(ok=1), failure="cannot reach Glance"))
    return report


def samples(text):
    """name{labels} -> value, skipping comments."""
    pairs = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


def test_metrics_count_images_per_region_and_status():
    values = samples(render_metrics(sample_report(), finished_at=1000.0))
    assert values['glancesync_images{region="Lisbon",status="ok"}'] == 3
    assert values['glancesync_images{region="Lisbon",status="pending_upload"}'] == 1


def test_control_characters_in_a_region_name_are_escaped_in_its_label():
    report = Report()
    report.add(RegionReport("evil:\x1b[2JRome\nglancesync_failures 0", Counter(ok=1)))
    text = render_metrics(report, finished_at=1000.0)
    assert "\x1b" not in text
    label = 'region="evil:\\\\x1b[2JRome\\\\x0aglancesync_failures 0"'
    assert f'glancesync_images{{{label},status="ok"}} 1' in text


def test_metrics_give_bytes_failures_and_last_run():
    values = samples(render_metrics(sample_report(), finished_at=1000.0))
    assert values['glancesync_uploaded_bytes{region="Lisbon"}'] == 2048
    assert values['glancesync_region_failed{region="other:\\"Rome\\""}'] == 1
    assert values["glancesync_failures"] == 1
    assert values["glancesync_last_run_success"] == 0
    assert values["glancesync_last_run_exit_status"] == 1
    assert values["glancesync_last_run_timestamp_seconds"] == 1000


def test_the_exit_status_gauge_says_a_decision_waits_or_why_the_run_stopped():
    report = Report()
    report.add(RegionReport("Lisbon", Counter(ok=1, error_checksum=1)))
    assert samples(render_metrics(report))["glancesync_last_run_exit_status"] == 4
    report.stop(130, "interrupted by SIGINT")
    assert samples(render_metrics(report))["glancesync_last_run_exit_status"] == 130


def test_every_metric_has_help_and_type():
    text = render_metrics(sample_report())
    names = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if not line.startswith("#")
    }
    for name in names:
        assert f"# TYPE {name} gauge" in text
        assert f"# HELP {name} " in text


def test_metrics_file_is_replaced_whole(tmp_path):
    path = tmp_path / "glancesync.prom"
    path.write_text("old content\n")
    write_metrics(str(path), sample_report())
    assert "old content" not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["glancesync.prom"]


def test_an_interrupted_run_writes_the_metrics_of_the_regions_that_finished(
    tmp_path, monkeypatch, no_openstack_environment
):
    config = tmp_path / "glancesync.conf"
    config.write_text(
        "[main]\nmaster_region = Madrid\n"
        f"lock_file = {tmp_path / 'lock'}\n"
        "[master]\nuser = u\npassword = p\nauth_url = http://127.0.0.1:9/v3\nproject = p\n"
    )
    config.chmod(0o600)

    def interrupted(settings, options, arguments, report, out, progress):
        report.add(RegionReport("Lisbon", Counter(ok=2)))
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(cli, "run", interrupted)
    path = tmp_path / "glancesync.prom"
    assert cli.main(["--config-file", str(config), "--metrics-file", str(path)]) == 143
    values = samples(path.read_text())
    assert values["glancesync_last_run_exit_status"] == 143
    assert values['glancesync_images{region="Lisbon",status="ok"}'] == 2


def test_a_metrics_file_that_cannot_be_written_fails_a_run_that_waits_for_a_decision(tmp_path):
    """Exit 4 is silent in the README's cron wrapper: a metrics file left unwritten must not
    hide behind it (it was 4, because `status or 1` keeps any non-zero status)."""
    from glancesync.cli import _write_metrics
    from glancesync.errors import EXIT_CONFIG, EXIT_DECISION, EXIT_FAILURE

    unwritable = str(tmp_path / "missing" / "glancesync.prom")
    report = Report()
    assert _write_metrics(unwritable, EXIT_DECISION, report) == EXIT_FAILURE
    assert _write_metrics(unwritable, 0, report) == EXIT_FAILURE
    assert _write_metrics(unwritable, EXIT_CONFIG, report) == EXIT_CONFIG
    assert _write_metrics(str(tmp_path / "glancesync.prom"), EXIT_DECISION, report) == EXIT_DECISION
