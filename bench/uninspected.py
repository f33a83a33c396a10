"""glancesync with format inspection switched off: the baseline of bench/inspection.py, which
runs it beside the real CLI. Not a mode of the tool: a refusal of unsafe images cannot be
switched off. Usage: python bench/uninspected.py [glancesync arguments]"""

from __future__ import annotations

import sys

import glancesync.transfer
from glancesync.cli import main
from glancesync.image import Image


class Uninspected:
    """In place of `formats.Inspection`: looks at no byte, never decides."""

    def __init__(self, _image: Image):
        pass

    def feed(self, _chunk: bytes) -> None:
        return None

    def finish(self) -> None:
        return None


glancesync.transfer.Inspection = Uninspected
sys.exit(main())
