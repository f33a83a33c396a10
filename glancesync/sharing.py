"""Members of shared images (§12): which projects a region's copy of a shared master image
should have, and what a run changes. `member_change` is pure; `read_sharing` reads (never
writes) the members and maps the projects through the facades.

Decisions where the spec is silent:

- Only synchronised master images with visibility `shared` have their members synchronised;
  every member counts, whatever its status (pending, accepted, rejected: the member's own
  decision, never changed by glancesync).
- In a region of the master's Keystone a member is the same project id. In another target's
  Keystone it is the project with the same name in the domain of the same name, found by
  name (the master's project read by id, its domain by id; in the target, the domain and the
  project by name), once per run and target (under `--parallel`, once per region process:
  each has its own sessions). A member without such a project, or one that
  the account may not look up (403), is warned about and left out: never guessed.
- Only a regional copy that is `shared` is read for its members (Glance gives other images
  none); members are added after the copy's visibility is patched or its upload verified.
- `add` (the default) adds the missing members and keeps those only the region has;
  `mirror` also removes those, except from the copy of an image with an unmapped member:
  a region-only member may be the project that could not be found (never guessed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from glancesync.image import Image

SHARED = "shared"
MIRROR = "mirror"


@dataclass(frozen=True)
class Sharing:
    """The members of one region's shared images, as read before planning."""

    wanted: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Master image id -> the project ids its copy in this region should have as members."""
    current: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Regional image id -> its members' project ids."""
    unmapped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Master image id -> why some of its members have no project in this region's Keystone."""


def member_change(
    sharing: Sharing, master_id: str, regional_id: str | None, sync_members: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The members to add to the regional copy of a master image, and (only with
    `sync_members = mirror`, and none of the master image's members unmapped) those to
    remove: both sorted, both empty when in line."""
    wanted = sharing.wanted.get(master_id, frozenset())
    current = sharing.current.get(regional_id, frozenset()) if regional_id else frozenset()
    mirrored = sync_members == MIRROR and master_id not in sharing.unmapped
    removed = current - wanted if mirrored else frozenset()
    return tuple(sorted(wanted - current)), tuple(sorted(removed))


def new_copy_members(
    sharing: Sharing, master_id: str, replaced_id: str | None, sync_members: str
) -> tuple[str, ...]:
    """The members of a new regional copy: the master image's, and those of the copy it
    replaces or renames (`replaced_id`) that `sync_members` does not remove, so that a new
    version takes nobody's access away. Sorted."""
    added, removed = member_change(sharing, master_id, replaced_id, sync_members)
    current = sharing.current.get(replaced_id, frozenset()) if replaced_id else frozenset()
    return tuple(sorted({*added, *(current - set(removed))}))


class MemberReader(Protocol):
    """What `read_sharing` needs of a region's Glance."""

    def list_members(self, image_id: str) -> dict[str, str]: ...


class ProjectDirectory(Protocol):
    """What `read_sharing` needs of a target's Keystone."""

    name: str

    def project_identity(self, project_id: str) -> tuple[str, str] | None: ...
    def project_named(self, name: str, domain: str) -> str | None: ...


def read_sharing(
    shared_masters: Sequence[Image],
    regional_images: Iterable[Image],
    master: MemberReader,
    region: MemberReader,
    master_keystone: ProjectDirectory,
    keystone: ProjectDirectory,
) -> Sharing:
    """The members of the shared master images, mapped to the region's Keystone (the same
    one when `keystone is master_keystone`), and those of the region's shared copies."""
    if not shared_masters:
        return Sharing()
    wanted: dict[str, frozenset[str]] = {}
    unmapped: dict[str, tuple[str, ...]] = {}
    for image in shared_masters:
        members = sorted(master.list_members(image.id))
        if keystone is master_keystone:
            wanted[image.id] = frozenset(members)
            continue
        mapped = {member: _mapped(member, master_keystone, keystone) for member in members}
        wanted[image.id] = frozenset(pid for pid in mapped.values() if isinstance(pid, str))
        problems = tuple(why for why in mapped.values() if isinstance(why, _Unmapped))
        if problems:
            unmapped[image.id] = tuple(str(problem) for problem in problems)
    names = {image.name for image in shared_masters}
    current = {
        image.id: frozenset(region.list_members(image.id))
        for image in regional_images
        if image.name in names and image.visibility == SHARED
    }
    return Sharing(wanted, current, unmapped)


@dataclass(frozen=True)
class _Unmapped:
    member: str
    reason: str

    def __str__(self) -> str:
        return f"member {self.member} not shared: {self.reason}"


def _mapped(
    member: str, master_keystone: ProjectDirectory, keystone: ProjectDirectory
) -> str | _Unmapped:
    """The id of the project of `keystone` that stands for the master's project `member`."""
    identity = master_keystone.project_identity(member)
    if identity is None:
        return _Unmapped(member, f"target {master_keystone.name} cannot look its project up")
    name, domain = identity
    project_id = keystone.project_named(name, domain)
    if project_id is None:
        return _Unmapped(
            member,
            f"no project {name!r} in domain {domain!r} of target {keystone.name} "
            "(or the account may not list its projects)",
        )
    return project_id
