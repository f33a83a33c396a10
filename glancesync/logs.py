"""The run's log files: their format, and how they are opened (§9)."""

from __future__ import annotations

import logging
import os
from typing import TextIO

from glancesync.edge import MaskedUserinfo
from glancesync.escaping import PrintableFormatter
from glancesync.files import open_file

LOG_FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(message)s"


class LogFile(logging.FileHandler):
    """A log file with times (LOG_FILE_FORMAT, printable), opened by `files.open_file`: appended
    to, or with `new` created (a file already there, or a link, is refused). Raises OSError."""

    def __init__(self, path: str, new: bool = False):
        self._flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if new else os.O_APPEND)
        super().__init__(path, encoding="utf-8")
        self.setFormatter(PrintableFormatter(LOG_FILE_FORMAT))
        self.addFilter(MaskedUserinfo())

    def _open(self) -> TextIO:
        return os.fdopen(open_file(self.baseFilename, self._flags), "a", encoding="utf-8")
