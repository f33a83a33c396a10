"""Text safe to print (§9): names and server text never reach a terminal, a log or a CSV with
a control character in them.

`printable(text)` is the one escaping: C0 controls, DEL and C1 controls, the Unicode line and
paragraph separators and the bidirectional embedding, override and isolate characters (which
reorder what follows them on screen) are written `\\xNN` (`\\x1b` for ESC, `\\x0a` for a line
feed, `\\x7f`, `\\x9b`) or, beyond U+00FF, `\\uNNNN` (`\\u202e`). Everything else,
backslashes included, is left as it is, so escaping escaped text changes nothing. Text output is
for people; `--format json` keeps the exact values: `json_text` writes the same characters as
JSON's `\\uNNNN` escapes (JSON itself escapes only the C0 controls).

`PrintableFormatter` applies it to every log record (ours, and keystoneauth's HTTP debugging):
whatever a message holds, a record is one line.
"""

from __future__ import annotations

import logging
import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with its control characters escaped (see the module's docstring)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_text(document: str) -> str:
    """A JSON document with the characters `printable` escapes written as `\\uNNNN`: the same
    values, safe on a terminal."""
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


class PrintableFormatter(logging.Formatter):
    """A formatter whose lines are `printable` (a traceback, shown with -v, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))
