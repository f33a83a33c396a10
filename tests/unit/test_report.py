"""The report: statuses as they stand when the run ends, the summary, the exit status (§7)."""

from __future__ import annotations

from collections import Counter

import pytest

from glancesync.errors import EXIT_CONFIG, EXIT_DECISION, EXIT_FAILURE, EXIT_OK
from glancesync.output import region_summary, run_summary
from glancesync.report import ItemOutcome, RegionReport, Report, Result


def region(name: str = "Lisbon", **fields) -> RegionReport:
    return RegionReport(name, **fields)


EXIT_CASES = [
    pytest.param([region(statuses=Counter(ok=2))], [], EXIT_OK, id="all in line: 0"),
    pytest.param([], [], EXIT_OK, id="no region: 0"),
    pytest.param(
        [region(statuses=Counter(ok=1, error_checksum=1))],
        [],
        EXIT_DECISION,
        id="error_checksum waits for a decision: 4",
    ),
    pytest.param([region(statuses=Counter(error_ami=1))], [], EXIT_DECISION, id="error_ami: 4"),
    pytest.param(
        [region(statuses=Counter(ok=1, error_checksum=1, error_format=1))],
        [],
        EXIT_FAILURE,
        id="an image refused for its format is a failure, not a decision: 1",
    ),
    pytest.param(
        [region(statuses=Counter(error_checksum=1)), region("Paris", failure="down")],
        [],
        EXIT_FAILURE,
        id="a failed region beats a decision: 1",
    ),
    pytest.param(
        [region(statuses=Counter(ok=1), leftovers_kept=1)],
        [],
        EXIT_FAILURE,
        id="a leftover that could not be deleted: 1",
    ),
    pytest.param(
        [region(statuses=Counter(error_checksum=1))],
        ["unknown region 'Atlantis'"],
        EXIT_FAILURE,
        id="a problem outside the regions: 1",
    ),
]


@pytest.mark.parametrize(("regions", "problems", "expected"), EXIT_CASES)
def test_exit_status(regions: list[RegionReport], problems: list[str], expected: int) -> None:
    assert Report(regions=regions, problems=problems).exit_status == expected


def test_a_run_stopped_by_an_error_exits_with_its_status() -> None:
    report = Report(regions=[region(statuses=Counter(error_checksum=1))])
    report.stop(EXIT_CONFIG, "bad configuration")
    assert report.exit_status == EXIT_CONFIG


def outcome(status: str | None, result: Result) -> ItemOutcome:
    return ItemOutcome("Lisbon", "image", status, "upload", 0, None, result)


COUNT_CASES = [
    pytest.param("pending_upload", Result.DONE, {"ok": 1}, id="an upload done is ok"),
    pytest.param("pending_metadata", Result.DONE, {"ok": 1}, id="a metadata update done is ok"),
    pytest.param("pending_upload", Result.PLANNED, {"pending_upload": 1}, id="planned: as is"),
    pytest.param("pending_replace", Result.FAILED, {"pending_replace": 1}, id="failed: as is"),
    pytest.param("pending_ami", Result.SKIPPED, {"pending_ami": 1}, id="skipped: as is"),
    pytest.param("error_checksum", Result.NONE, {"error_checksum": 1}, id="nothing to do"),
    pytest.param(None, Result.DONE, {}, id="a leftover deleted is no image"),
]


@pytest.mark.parametrize(("status", "result", "expected"), COUNT_CASES)
def test_images_are_counted_as_they_stand_when_the_run_ends(
    status: str | None, result: Result, expected: dict
) -> None:
    report = region()
    report.count(outcome(status, result))
    assert report.statuses == Counter(expected)


SUMMARY_CASES = [
    pytest.param(
        [region(statuses=Counter(ok=2))],
        "run: 1 region(s), 2 ok; 0 B uploaded; 0 failure(s)",
        id="nothing to tell",
    ),
    pytest.param(
        [region(statuses=Counter(ok=1, error_checksum=2))],
        "run: 1 region(s), 2 error_checksum, 1 ok; 0 B uploaded; 2 images need a decision",
        id="decisions, no failure: no '0 failure(s)'",
    ),
    pytest.param(
        [region(statuses=Counter(error_ami=1)), region("Paris", failure="down")],
        "run: 2 region(s), 1 error_ami; 0 B uploaded; 1 failure(s); 1 image needs a decision",
        id="failures and decisions",
    ),
]


@pytest.mark.parametrize(("regions", "last_line"), SUMMARY_CASES)
def test_the_summary_counts_failures_and_decisions(
    regions: list[RegionReport], last_line: str
) -> None:
    assert run_summary(Report(regions=regions))[-1] == last_line


def test_a_region_line_names_its_decisions() -> None:
    line = region_summary(region(statuses=Counter(error_checksum=1)), dry_run=True)
    assert (
        line == "Lisbon: 1 error_checksum; would do 0 action(s) in 0.0 s; 1 image needs a decision"
    )


def test_the_summary_record_has_the_counts_and_the_exit_status() -> None:
    report = Report(
        regions=[
            region(statuses=Counter(ok=1, error_checksum=1), bytes_uploaded=10),
            region("Paris", failure="down"),
        ]
    )
    assert report.summary_record().json_line() == (
        '{"regions": 2, "statuses": {"error_checksum": 1, "ok": 1}, "uploaded_bytes": 10, '
        '"failures": 1, "decisions": 1, "failed_regions": ["Paris"], "exit_status": 1}'
    )


def test_a_region_line_names_its_refused_images() -> None:
    line = region_summary(region(statuses=Counter(ok=1, error_format=2)), dry_run=False)
    assert line.endswith("; 2 images refused for their format (error_format)")
