"""The safe expression language of `metadata_condition` (§3). To be implemented."""

from __future__ import annotations


class Condition:
    """A compiled metadata_condition."""
