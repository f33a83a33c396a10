"""Glance v2's image life as the planner follows it: images still arriving in the master,
deactivation following the master, tags. Pure: predicates on `Image` records.

- A master image is considered (§3) when it is active, deactivated (its copies follow it) or
  still arriving (`ARRIVING`: reported as waiting, nothing done anywhere), unless it arrives
  under the name of a ready image (`arriving_twins`), which goes on being synchronised.
- A regional image is a candidate copy (§4) when it is active or deactivated. A deactivated
  copy that does not bear DEACTIVATION_MARK was deactivated by someone else (the region's
  admin): it is left alone, never reactivated, updated or duplicated.
- A copy with the master's content is deactivated (and marked) when the master is; a marked
  copy is reactivated (and unmarked) when the master is active.
- A deactivated master image is never uploaded: its bytes are not copied while it is.
- Tags: the master's tags that the copy lacks are added; the copy's own tags stay.
"""

from __future__ import annotations

from collections.abc import Sequence

from glancesync.image import DEACTIVATION_MARK, Image

ACTIVE = "active"
DEACTIVATED = "deactivated"
ARRIVING = frozenset({"queued", "saving", "uploading", "importing"})
"""Statuses of an image whose bytes are still on their way into Glance."""


def is_considered_master(image: Image) -> bool:
    """Whether a master image's status lets it be selected (§3)."""
    return image.status in (ACTIVE, DEACTIVATED) or is_arriving(image)


def arriving_twins(images: Sequence[Image]) -> list[Image]:
    """The images still arriving under a name that a ready (active or deactivated) one has."""
    ready = {image.name for image in images if not is_arriving(image)}
    return [image for image in images if is_arriving(image) and image.name in ready]


def is_candidate_copy(image: Image) -> bool:
    """Whether a regional image's status lets it be matched to a master image (§4)."""
    return image.status in (ACTIVE, DEACTIVATED)


def is_arriving(image: Image) -> bool:
    """Whether the image's bytes are still arriving (queued, saving, uploading, importing)."""
    return image.status in ARRIVING


def is_deactivated(image: Image) -> bool:
    return image.status == DEACTIVATED


def has_readable_bytes(image: Image) -> bool:
    """Whether the image's bytes may be read and copied: active only."""
    return image.status == ACTIVE


def deactivated_by_glancesync(image: Image) -> bool:
    """Whether the image bears glancesync's deactivation mark (whatever its status now)."""
    return DEACTIVATION_MARK in image.properties


def deactivated_by_others(image: Image) -> bool:
    """Whether the image is deactivated without glancesync's mark: someone else's decision."""
    return is_deactivated(image) and not deactivated_by_glancesync(image)


def needs_deactivation(master: Image, copy: Image) -> bool:
    """Whether a copy with the master's content must be deactivated to follow the master."""
    return is_deactivated(master) and copy.status == ACTIVE


def needs_reactivation(master: Image, copy: Image) -> bool:
    """Whether a copy glancesync deactivated (or marked) must be reactivated and unmarked
    because the master is active; reactivating an active copy only removes a stale mark."""
    return master.status == ACTIVE and deactivated_by_glancesync(copy)


def tags_to_add(master: Image, copy: Image) -> tuple[str, ...]:
    """The master's tags the copy lacks, sorted; the copy's own tags are never removed."""
    return tuple(sorted(set(master.tags) - set(copy.tags)))
