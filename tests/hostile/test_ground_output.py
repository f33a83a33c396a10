"""Output safe to print (§9, issue 11 item 8): control characters in image names, region names
and server text are escaped (`\\x1b`) on standard output, standard error, the --log-file, the
--parallel logs and the --show-status CSV; --format json keeps the exact values; Glance keeps
the exact names. No name forges a line of output.

Names with ESC sequences are real images of the local cloud's master, or regions of the hostile
cloud's catalog (target `evil`). Every run ends within its bound, without traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from localcloud_client import LocalCloud

from glancesync.escaping import printable
from hostile.conftest import GOOD, NAME, TARGET, put_master_image
from hostile.server import Glance, HostileCloud, Keystone, image_record

pytestmark = pytest.mark.integration

# A title change, a screen clear, a carriage return and a line that would forge an error.
HOSTILE_NAME = "esc\x1b]0;pwned\x07\x1b[2J\rERROR: forged\nline\x9b\x7f\u202e"
HOSTILE_REGIONS = ("R\x1b[31mred", "S\rERROR: forged", "T\nU", "V\u202eW")
FORGED = "ERROR: forged"


def printable_lines(*texts: str) -> None:
    """Each line of each text is printable (escaping changes nothing), none is forged, and no
    text holds a traceback."""
    for text in texts:
        assert "Traceback" not in text, text
        for line in text.splitlines():
            assert line == printable(line), repr(line)
            assert not line.startswith(FORGED) and "\r" not in line, repr(line)


def hostile_regions(hostile) -> HostileCloud:
    cloud = hostile()
    for name in HOSTILE_REGIONS:
        cloud.add_region(name)
    return cloud


@pytest.fixture
def hostile_image(clean_cloud: LocalCloud) -> str:
    """A public image of the master region named with control characters."""
    return put_master_image(clean_cloud, HOSTILE_NAME, b"escaped " * 64)


def test_a_name_with_escape_sequences_is_synced_exactly_and_printed_escaped(
    hostile_image, glancesync, local_cloud, tmp_path
):
    log = tmp_path / "glancesync.log"

    run = glancesync("--log-file", str(log), GOOD)

    assert run.status == 0, run.err
    assert run.seconds < 30 and run.rss_mib < 150
    assert run.out_lines == [f"{GOOD}: uploaded {printable(HOSTILE_NAME)} (512 B)"]
    printable_lines(run.out, run.err, log.read_text())
    assert printable(HOSTILE_NAME) in log.read_text()
    assert [image.name for image in local_cloud.glance(GOOD).images.list()] == [HOSTILE_NAME]


def test_show_status_is_one_csv_record_per_image_and_json_keeps_the_name(hostile_image, glancesync):
    status_run = glancesync("--show-status", GOOD)
    json_run = glancesync("--show-status", "--format", "json", GOOD)

    assert (status_run.status, json_run.status) == (0, 0), status_run.err + json_run.err
    assert max(status_run.seconds, json_run.seconds) < 30
    assert max(status_run.rss_mib, json_run.rss_mib) < 150
    records = list(csv.reader(io.StringIO(status_run.out)))
    assert records == [["pending_upload", GOOD, printable(HOSTILE_NAME)]]
    printable_lines(status_run.out, status_run.err, json_run.out, json_run.err)
    images = [json.loads(line).get("image") for line in json_run.out_lines]
    assert HOSTILE_NAME in images


def test_region_names_with_escape_sequences_are_escaped_in_output_and_log(
    hostile, master_image, glancesync, tmp_path
):
    cloud = hostile_regions(hostile)
    log = tmp_path / "glancesync.log"

    run = glancesync("--dry-run", "--log-file", str(log), GOOD, f"{TARGET}:", hostile=cloud)

    assert run.status == 0, run.err
    run.check(cloud, seconds=10)
    printable_lines(run.out, run.err, log.read_text())
    for region in HOSTILE_REGIONS:
        assert f"{TARGET}:{printable(region)}: would upload {NAME} (896 B)" in run.out_lines


def test_parallel_logs_of_such_regions_are_escaped_and_stay_in_the_run_folder(
    hostile, master_image, glancesync, tmp_path
):
    cloud = hostile_regions(hostile)

    run = glancesync("--parallel", "--dry-run", "--run-dir", "runs", f"{TARGET}:", hostile=cloud)

    assert run.status == 0, run.err
    run.check(cloud, seconds=15, rss_mib=250)
    [run_dir] = (tmp_path / "runs").iterdir()
    logs = list(run_dir.iterdir())
    assert len(logs) == len(HOSTILE_REGIONS)
    printable_lines(run.out, run.err, *(path.read_text() for path in logs))
    assert {path.parent for path in logs} == {run_dir}


def test_show_regions_prints_such_regions_escaped_on_one_line(hostile, glancesync):
    cloud = hostile_regions(hostile)

    run = glancesync("--show-regions", hostile=cloud)

    assert run.status == 0, run.err
    run.check(cloud, seconds=10)
    [line] = run.out_lines
    assert line.endswith(" ".join(f"{TARGET}:{printable(name)}" for name in HOSTILE_REGIONS))
    printable_lines(run.out, run.err)


def test_json_lines_keep_such_region_names_exact_and_print_safely(
    hostile, master_image, glancesync
):
    cloud = hostile_regions(hostile)

    run = glancesync("--dry-run", "--format", "json", f"{TARGET}:", hostile=cloud)

    assert run.status == 0, run.err
    run.check(cloud, seconds=10)
    printable_lines(run.out, run.err)
    regions = {json.loads(line).get("region") for line in run.out_lines}
    assert {f"{TARGET}:{name}" for name in HOSTILE_REGIONS} <= regions


def test_a_glance_error_body_with_escape_sequences_is_escaped_in_the_log_file(
    hostile, master_image, glancesync, tmp_path
):
    cloud = hostile()
    cloud.add_region("Bad", Glance.ECHO, images=[image_record("x")])
    log = tmp_path / "glancesync.log"

    run = glancesync("--dry-run", "--log-file", str(log), GOOD, f"{TARGET}:Bad", hostile=cloud)

    run.failed_alone(f"region {TARGET}:Bad: list images failed: HTTP 400")
    run.check(cloud, seconds=10)
    printable_lines(run.out, run.err, log.read_text())
    assert "\\x1b" in log.read_text()


def test_a_keystone_error_with_escape_sequences_is_escaped_in_the_log_file(
    hostile, master_image, glancesync, tmp_path
):
    cloud = hostile(Keystone.ECHO)
    cloud.add_region("Bad")
    log = tmp_path / "glancesync.log"

    run = glancesync("--dry-run", "--log-file", str(log), GOOD, f"{TARGET}:Bad", hostile=cloud)

    run.failed_alone(f"target {TARGET}")
    run.check(cloud, seconds=10)
    printable_lines(run.out, run.err, log.read_text())
    assert cloud.password not in Path(log).read_text()


@pytest.mark.parametrize("parallel", [False, True], ids=["in-turn", "parallel"])
def test_a_token_echoed_by_glance_is_hidden_in_http_debugging_too(
    hostile, master_image, glancesync, tmp_path, parallel
):
    """-vv prints keystoneauth1's lines, the bodies of Glance's answers among them: a body that
    echoes the token was printed as it is, on stderr and in the log files."""
    cloud = hostile()
    cloud.add_region("Bad", Glance.ECHO, images=[image_record("x")])
    log = tmp_path / "glancesync.log"
    flags = ("--parallel", "--run-dir", str(tmp_path / "runs")) if parallel else ()

    run = glancesync(
        "-vv", *flags, "--dry-run", "--log-file", str(log), GOOD, f"{TARGET}:Bad", hostile=cloud
    )

    assert run.status == 1, run.err
    assert "RESP BODY:" in log.read_text()
    assert "token *** refused" in log.read_text()
    run.check(cloud, seconds=20, rss_mib=200 if parallel else 100)  # a tree of processes
    logs = [log, *(tmp_path / "runs").glob("*/*.log")]
    for secret in (*cloud.secrets(), *run.local_passwords):
        for path in logs:
            assert secret not in path.read_text(), path
