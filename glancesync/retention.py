"""Retention of retired copies (§12): which copies glancesync retired, how old they are, and
which of them a run deletes. Pure: the time is an argument, warnings are returned as data.

Decisions where the spec is silent:

- A retired copy is named `<name>.old`, `<name>.old.N` (a rename's) or `<name>_obsolete` (§8),
  is owned by the target's project (an image without owner is not: a deletion needs proof),
  is `active` or `deactivated`, is not `protected`, and its name is not that of a master
  image considered (§3), synchronised or not (a master image may be named `foo.old`), other
  than the master's own `X_obsolete`, which is what an obsolete copy is named after.
- The mark is three properties set when glancesync retires a copy: RETIRED_AT (UTC, ISO
  8601), RETIRED_BY (which rule retired it) and RETIRED_ID (the id of the image marked). Age
  is measured from RETIRED_AT. A mark that cannot be read is warned about and its copy never
  deleted. A mark whose RETIRED_ID is another image's was copied with the properties (a Nova
  snapshot of a server booted from a retired copy inherits them): that image is unmarked.
- An unmarked copy (retired before marks existed, or by hand) is left alone unless the target
  says `purge_unmarked = true`; then the run that first sees it marks it (RETIRED_BY says so),
  and it ages from that run: the marking run never deletes it, a later run may.
- Due copies are deleted oldest first (ties by name); beyond `max_purge` they wait for the next
  run, reported; `max_purge = 0` reports them all and deletes none.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from glancesync.image import Image
from glancesync.settings import SyncRules

RETIRED_AT = "glancesync_retired_at"
RETIRED_BY = "glancesync_retired_by"
RETIRED_ID = "glancesync_retired_id"
RETIREMENT_MARKS = frozenset({RETIRED_AT, RETIRED_BY, RETIRED_ID})

BY_RENAME = "glancesync rename"
BY_OBSOLETE = "glancesync obsolete"
BY_FIRST_SIGHT = "glancesync purge_unmarked"

_RETIRED_NAME = re.compile(r".+(\.old(\.[0-9]+)?|_obsolete)", re.DOTALL)
_RETIRED_STATUSES = ("active", "deactivated")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def retirement_mark(when: datetime, by: str, image_id: str | None = None) -> dict[str, str]:
    """The properties that mark the image `image_id` retired at `when` by the rule `by`
    (without `image_id`: a mark as planted by hand, bound to no image)."""
    mark = {RETIRED_AT: when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), RETIRED_BY: by}
    return mark | ({RETIRED_ID: image_id} if image_id is not None else {})


def is_retired_name(name: str) -> bool:
    """Whether `name` is one glancesync gives the copies it retires."""
    return _RETIRED_NAME.fullmatch(name) is not None


def duration_text(seconds: float) -> str:
    """A duration in its largest unit, and the next one when it is not 0: `31d 2h`, `12h`,
    `50d` (for 50 days and a second), `0s`."""
    seconds = max(int(seconds), 0)
    index = next(i for i, (_, size) in enumerate(_UNITS) if seconds >= size or size == 1)
    (unit, size), rest = _UNITS[index], seconds % _UNITS[index][1]
    text = f"{seconds // size}{unit}"
    if index + 1 < len(_UNITS) and rest >= _UNITS[index + 1][1]:
        text += f" {rest // _UNITS[index + 1][1]}{_UNITS[index + 1][0]}"
    return text


@dataclass(frozen=True)
class Due:
    """A retired copy past `purge_after`."""

    image: Image
    retired_at: datetime
    age: float  # seconds
    purge_after: int

    @property
    def reason(self) -> str:
        """Why it is deleted: its age, who retired it, the rule."""
        by = self.image.properties.get(RETIRED_BY) or "glancesync"
        return (
            f"retired {duration_text(self.age)} ago by {by}; "
            f"purge_after = {duration_text(self.purge_after)}"
        )


@dataclass(frozen=True)
class Retention:
    """What a run does with a region's retired copies."""

    purged: tuple[Due, ...] = ()
    """Deleted by this run, oldest first."""
    waiting: tuple[Due, ...] = ()
    """Due, left for the next run by `max_purge`."""
    to_mark: tuple[Image, ...] = ()
    """Unmarked copies this run marks (`purge_unmarked`)."""
    warnings: tuple[str, ...] = ()


def plan_retention(
    images: Iterable[Image],
    policy: SyncRules,
    project_id: str,
    now: datetime,
    kept_names: Collection[str] = (),
) -> Retention:
    """The retention of one region's images at `now` under a target's `purge_after`,
    `max_purge` and `purge_unmarked` (see the module's decisions)."""
    if policy.purge_after is None:
        return Retention()
    warnings: list[str] = []
    due: list[Due] = []
    to_mark: list[Image] = []
    for image in images:
        if not _is_candidate(image, project_id, kept_names):
            continue
        if not _has_own_mark(image):
            if policy.purge_unmarked:
                to_mark.append(image)
            continue
        retired_at = _read_mark(image.properties)
        if retired_at is None:
            warnings.append(f"{image.name} ({image.id}) kept: its {RETIRED_AT} is not a UTC time")
            continue
        age = (now - retired_at).total_seconds()
        if age >= policy.purge_after:
            due.append(Due(image, retired_at, age, policy.purge_after))
    due.sort(key=lambda entry: (entry.retired_at, entry.image.name, entry.image.id))
    purged, waiting = due[: policy.max_purge], due[policy.max_purge :]
    if waiting:
        warnings.append(
            f"{len(waiting)} retired cop{'y' if len(waiting) == 1 else 'ies'} due for deletion "
            f"left for the next run (max_purge = {policy.max_purge})"
        )
    return Retention(tuple(purged), tuple(waiting), tuple(to_mark), tuple(warnings))


def _is_candidate(image: Image, project_id: str, kept_names: Collection[str]) -> bool:
    return (
        is_retired_name(image.name)
        and image.name not in kept_names
        and image.owner == project_id
        and image.status in _RETIRED_STATUSES
        and not image.protected
    )


def unchanged_since_listed(listed: Image, current: Image) -> bool:
    """Whether a retired copy read again just before its deletion is still what the run
    planned to delete: a long run's uploads come first, and someone may have renamed,
    protected, taken or unmarked it meanwhile."""

    def seen(image: Image) -> tuple[object, ...]:
        marks = tuple(image.properties.get(key) for key in sorted(RETIREMENT_MARKS))
        return (image.name, image.owner, image.status, image.protected, marks)

    return seen(listed) == seen(current)


def _has_own_mark(image: Image) -> bool:
    """Whether the image bears a retirement mark put on it, not one copied from another."""
    properties = image.properties
    return RETIRED_AT in properties and properties.get(RETIRED_ID, image.id) == image.id


def _read_mark(properties: Mapping[str, str]) -> datetime | None:
    """The time of a retirement mark; None when it is not a time (a naive one is UTC)."""
    try:
        when = datetime.fromisoformat(properties[RETIRED_AT])
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
