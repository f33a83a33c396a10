"""When progress is drawn, and what the drawing does to the bytes of an upload."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from glancesync.progress import Progress, TerminalProgress, progress_for


class Stream(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        super().isatty()  # raises ValueError once closed, as a real stream does
        return self.terminal


@pytest.mark.parametrize(
    ("quiet", "stdout_terminal", "stderr_terminal"),
    [(True, True, True), (False, False, True), (False, True, False), (False, False, False)],
    ids=["quiet", "stdout-piped", "stderr-piped", "cron"],
)
def test_nothing_is_drawn_without_two_terminals_or_with_quiet(
    quiet: bool, stdout_terminal: bool, stderr_terminal: bool
) -> None:
    progress = progress_for(quiet, Stream(stdout_terminal), Stream(stderr_terminal))
    assert type(progress) is Progress


def test_a_closed_stream_is_no_terminal() -> None:
    stdout = Stream(True)
    stdout.close()
    assert type(progress_for(False, stdout, Stream(True))) is Progress


def test_a_run_with_stdout_closed_still_ends_in_one_error_line(tmp_path) -> None:
    glancesync = Path(sys.executable).with_name("glancesync")
    command = f"exec >&-; {glancesync} --config-file {tmp_path / 'none.conf'} --show-regions"
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert (run.returncode, run.stderr.count("\n")) == (2, 1)
    assert run.stderr.startswith("ERROR: ")


def test_a_person_at_a_terminal_gets_bars_on_stderr() -> None:
    stderr = Stream(True)
    assert isinstance(progress_for(False, Stream(True), stderr), TerminalProgress)


def test_without_drawing_an_upload_reads_the_stream_itself() -> None:
    stream = io.BytesIO(b"data")
    with Progress().track(stream, "Lisbon: image", 4) as tracked:
        assert tracked is stream


def test_a_drawn_upload_passes_every_byte_under_a_bar_of_its_size() -> None:
    data = bytes(range(256)) * 1000
    screen = Stream(True)
    with TerminalProgress(screen).track(io.BytesIO(data), "Lisbon: image", len(data)) as tracked:
        read = b"".join(iter(lambda: tracked.read(4096), b""))
    assert read == data
    assert "Lisbon: image:   0%|" in screen.getvalue()
    assert "0.00/250k [" in screen.getvalue()


def test_lines_printed_while_a_bar_is_drawn_reach_their_stream() -> None:
    screen, out = Stream(True), io.StringIO()
    progress = TerminalProgress(screen)
    with progress.counter("Lisbon", 2, "action") as advance:
        progress.write("Lisbon: uploaded image (1.0 KiB)", out)
        advance(1)
    assert out.getvalue() == "Lisbon: uploaded image (1.0 KiB)\n"


def test_a_region_with_nothing_to_do_draws_no_line() -> None:
    screen = Stream(True)
    with TerminalProgress(screen).counter("Lisbon", 0, "action") as advance:
        advance(0)
    assert screen.getvalue() == ""


def test_log_records_pass_around_the_bars_with_their_handlers_level_and_filters() -> None:
    screen = Stream(True)
    console = logging.StreamHandler(screen)
    console.setLevel(logging.INFO)
    console.addFilter(lambda record: record.name != "glancesync.output")
    root = logging.getLogger()
    root.addHandler(console)
    progress = TerminalProgress(screen)
    try:
        with progress.logging(), progress.counter("Lisbon", 2, "action"):
            logging.getLogger("glancesync.test").warning("a warning")
            logging.getLogger("glancesync.test").debug("a detail")
            logging.getLogger("glancesync.output").warning("a printed line")
    finally:
        root.removeHandler(console)
    assert console.stream is screen
    shown = screen.getvalue()
    assert shown.count("a warning\n") == 1
    assert "a detail" not in shown and "a printed line" not in shown
