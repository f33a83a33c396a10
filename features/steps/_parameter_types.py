"""Parameter types of the step texts (loaded first: behave loads step modules sorted by name)."""

from __future__ import annotations

import re

from behave import register_type

LIST_SEPARATOR = re.compile(r",\s*and\s+|,\s*|\s+and\s+")


def parse_list(text: str) -> list[str]:
    """`Lisbon`, `Lisbon and Paris`, `a, b and c` -> a list of words."""
    return LIST_SEPARATOR.split(text.strip())


parse_list.pattern = r"[^\s,]+(?:(?:,\s*and\s+|,\s*|\s+and\s+)[^\s,]+)*"

register_type(List=parse_list)
