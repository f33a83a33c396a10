"""Text safe to print (glancesync.escaping) and where it is applied: text output, the
--show-status CSV and every log line; JSON keeps the exact values."""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest

from glancesync.cli import PlainInfoFormatter
from glancesync.escaping import PrintableFormatter, printable
from glancesync.logs import LOG_FILE_FORMAT
from glancesync.output import OutputFormat, printer, status_line
from glancesync.report import ItemOutcome, Result

CONTROLS = "".join(chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)])
HOSTILE = "evil\x1b[2J\r\nERROR: forged\x07\x9b\u202e"


def test_every_control_character_is_escaped() -> None:
    escaped = printable(CONTROLS + "\u2028\u2029\u202a\u202e\u2066\u2069")
    assert escaped.isprintable() and escaped.isascii()


def test_a_control_character_is_written_as_its_code_in_hex() -> None:
    assert printable("a\x1bb\tc\nd\re\x7ff\x9bg\u202eh") == (
        "a\\x1bb\\x09c\\x0ad\\x0de\\x7ff\\x9bg\\u202eh"
    )


@pytest.mark.parametrize("text", ["Zürich", "base_debian-12", "日本語 イメージ", "a\\x1b", ""])
def test_printable_text_is_left_as_it_is(text: str) -> None:
    assert printable(text) == text


def test_escaping_twice_changes_nothing() -> None:
    assert printable(printable(HOSTILE)) == printable(HOSTILE)


def record(message: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("glancesync", level, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    "formatter", [PrintableFormatter(LOG_FILE_FORMAT), PlainInfoFormatter()], ids=["file", "stderr"]
)
def test_a_log_record_is_one_printable_line_whatever_its_arguments(
    formatter: logging.Formatter,
) -> None:
    line = formatter.format(record("region %s: %s", "R\x1b]0;x\x07", HOSTILE))
    assert line.isprintable() and "\\x1b" in line and "ERROR: forged" in line


def test_text_output_lines_are_printable_and_json_is_exact() -> None:
    lines: list[str] = []
    outcome = ItemOutcome("R\x1b", HOSTILE, "ok", "none", 0, None, Result.NONE)
    printer(OutputFormat.TEXT, lines.append)(outcome, f"R\x1b: uploaded {HOSTILE}")
    printer(OutputFormat.JSON, lines.append)(outcome, "ignored")
    text, json_line = lines
    assert text.isprintable() and text == printable(f"R\x1b: uploaded {HOSTILE}")
    assert json_line.isprintable() and "\\u001b" in json_line and "\\u009b" in json_line
    assert json.loads(json_line)["image"] == HOSTILE


def test_a_show_status_line_is_one_printable_csv_record() -> None:
    line = status_line("ok", "R\r", 'name, "quoted"\r\nforged,line')
    assert line.isprintable()
    assert next(csv.reader(io.StringIO(line))) == [
        "ok",
        "R\\x0d",
        'name, "quoted"\\x0d\\x0aforged,line',
    ]
