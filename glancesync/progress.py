"""Progress on a terminal: a bar per upload and a line per region, drawn by tqdm on stderr.

`Progress` draws nothing (cron, pipes, -q, --parallel children): streams pass through as they
are and lines are printed plainly. `TerminalProgress` draws; lines printed and logged while a
bar is on the screen go through tqdm so that they do not tear it. tqdm was picked over rich by
measured overhead (bench/progress.py, bench/README.md) and is imported only when drawing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, Any, TextIO

from glancesync.escaping import printable

Advance = Callable[[int], None]


def _ignore(_count: int) -> None:
    """An advance that draws nothing."""


class Progress:
    """No progress drawn: the default when stdout or stderr is not a terminal, or with -q."""

    def write(self, line: str, file: TextIO) -> None:
        print(line, file=file, flush=True)

    def counter(self, label: str, total: int, unit: str) -> AbstractContextManager[Advance]:
        """A line counting `total` units of work (a region's actions, the regions of a run)."""
        return nullcontext(_ignore)

    def track(
        self, stream: IO[bytes], label: str, size: int | None
    ) -> AbstractContextManager[IO[bytes]]:
        """The stream to read an upload's bytes from, counted on a bar while they flow."""
        return nullcontext(stream)

    def logging(self) -> AbstractContextManager[None]:
        """While it lasts, log records do not tear the bars."""
        return nullcontext()


class TerminalProgress(Progress):
    """Bars on `file` (stderr): one per upload, removed when it ends, and a line per counter."""

    def __init__(self, file: TextIO):
        from tqdm import tqdm  # only runs on a terminal pay for the import

        self._tqdm = tqdm
        self._file = file

    def write(self, line: str, file: TextIO) -> None:
        self._tqdm.write(line, file=file)
        file.flush()

    @contextmanager
    def counter(self, label: str, total: int, unit: str) -> Iterator[Advance]:
        if not total:  # nothing to count: no line (the summary says so)
            yield _ignore
            return
        with self._bar(label, total, unit=unit, leave=True) as bar:
            yield bar.update

    @contextmanager
    def track(self, stream: IO[bytes], label: str, size: int | None) -> Iterator[IO[bytes]]:
        bar_options = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, "leave": False}
        with self._bar(label, size, **bar_options) as bar:
            yield _Counted(stream, bar.update)

    @contextmanager
    def logging(self) -> Iterator[None]:
        """The root logger's handlers that write to this terminal write through tqdm (their
        levels, filters and formats unchanged)."""
        handlers = [
            handler
            for handler in logging.getLogger().handlers
            if type(handler) is logging.StreamHandler and handler.stream is self._file
        ]
        for handler in handlers:
            handler.setStream(_AroundBars(self._tqdm, self._file))
        try:
            yield
        finally:
            for handler in handlers:
                handler.setStream(self._file)

    def _bar(self, label: str, total: int | None, **options: object):
        desc = printable(label)
        return self._tqdm(total=total, desc=desc, file=self._file, dynamic_ncols=True, **options)


class _AroundBars:
    """A text stream whose writes clear the bars, write, and draw the bars again."""

    def __init__(self, tqdm: Any, stream: TextIO):
        self._tqdm = tqdm
        self._stream = stream

    def write(self, text: str) -> None:
        self._tqdm.write(text, file=self._stream, end="")

    def flush(self) -> None:
        self._stream.flush()


class _Counted:
    """A readable stream whose reads advance a bar by the bytes they return."""

    def __init__(self, stream: IO[bytes], advance: Advance):
        self._stream = stream
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._advance(len(data))
        return data


def progress_for(
    quiet: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> Progress:
    """Bars only for a person watching: stdout and stderr (default: sys's) on a terminal, no
    -q."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    if quiet or not (_is_terminal(stdout) and _is_terminal(stderr)):
        return Progress()
    return TerminalProgress(stderr)


def _is_terminal(stream: TextIO | None) -> bool:
    """Whether the stream is a terminal; a missing (closed at start) or closed one is not."""
    try:
        return stream is not None and stream.isatty()
    except ValueError:
        return False
