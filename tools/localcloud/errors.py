"""The one error type of the local cloud tool, and a helper to show the end of a log."""

from __future__ import annotations

from pathlib import Path


class CloudError(Exception):
    """A failure the command reports to the user before exiting non-zero."""


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, indented, or a note that it is missing."""
    if not path.exists():
        return f"    ({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)
