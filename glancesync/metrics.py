"""`--metrics-file`: a run's outcome in the Prometheus text format, for node_exporter's
textfile collector. The file is replaced atomically, so the collector never reads half of it;
a symbolic link at its path is replaced, never followed.
"""

from __future__ import annotations

import time

from glancesync.escaping import printable
from glancesync.files import replacing
from glancesync.report import Report

PREFIX = "glancesync"


def render_metrics(report: Report, finished_at: float | None = None) -> str:
    """The metrics of one run as Prometheus text exposition lines."""
    lines: list[str] = []

    def metric(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {PREFIX}_{name} {help_text}")
        lines.append(f"# TYPE {PREFIX}_{name} gauge")
        lines.extend(
            f"{PREFIX}_{name}{_labels(labels)} {_number(value)}" for labels, value in samples
        )

    metric(
        "last_run_timestamp_seconds",
        "Unix time at which the last run ended.",
        [({}, finished_at if finished_at is not None else time.time())],
    )
    metric(
        "last_run_success",
        "1 when the last run exited with status 0.",
        [({}, 1 if report.exit_status == 0 else 0)],
    )
    metric(
        "last_run_exit_status",
        "Exit status of the last run (0 done, 1 failed, 2 configuration, 4 decision pending).",
        [({}, report.exit_status)],
    )
    metric(
        "images",
        "Images per region and status when the last run ended (an action done counts as ok).",
        [
            ({"region": r.region, "status": status}, count)
            for r in report.regions
            for status, count in sorted(r.statuses.items())
        ],
    )
    metric(
        "uploaded_bytes",
        "Bytes uploaded per region in the last run.",
        [({"region": r.region}, r.bytes_uploaded) for r in report.regions],
    )
    metric(
        "region_failed",
        "1 when the region failed in the last run.",
        [({"region": r.region}, 1 if r.failure else 0) for r in report.regions],
    )
    metric(
        "region_duration_seconds",
        "Seconds spent on the region in the last run.",
        [({"region": r.region}, r.seconds) for r in report.regions],
    )
    metric(
        "failures",
        "Failed regions and other problems in the last run.",
        [({}, report.failures)],
    )
    return "\n".join(lines) + "\n"


def write_metrics(path: str, report: Report) -> None:
    """Write the metrics file atomically (`files.replacing`: never through a link)."""
    with replacing(path, 0o644) as stream:
        stream.write(render_metrics(report))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    """A label value: control characters `printable` (a name never breaks a line or moves a
    terminal's cursor when the file is read), then Prometheus' escapes of `\\` and `"`."""
    return printable(value).replace("\\", "\\\\").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
