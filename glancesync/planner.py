"""What to do in one region: selection (§3), matching (§4), statuses and actions (§5), obsolete
images (§8). Pure: no I/O; warnings are returned as data.

Decisions where the spec is silent:

- `kernel_id` and `ramdisk_id` are references, not local metadata: they are always compared
  and copied (translated), whatever `metadata_set` says, because an AMI image cannot boot
  without them. A reference to an image that will be uploaded, replaced or renamed in this run
  is carried by that image's *name* (`references`); the executor resolves it to the new
  regional UUID when it runs the `pending_ami` items, after the uploads.
- References only matter for images that will be written: an image whose own content is
  `ok_stalled_checksum` or `error_checksum` keeps that status whatever its kernel/ramdisk.
- A kernel/ramdisk is judged by its content status: one that keeps its regional image (ok,
  pending_metadata, stalled, error_checksum) is referred to by that image's UUID.
- A regional image without owner counts as the project's own, as on the master side (§3).
- Which user properties a metadata update compares (§6): with a `metadata_set`, its keys
  (mirrored: set when the master has them, removed when not); without one, the master's keys,
  and the region's too when `prune_properties` (which has no effect with a `metadata_set`).
  The others are the region's own: those that differ from the master are named in
  `MetadataChange.kept`, so that an operator sees what is left alone, but they never make an
  image `pending_metadata`. The upload marker is never compared, copied or kept.
- A master image refused for its format (§10: a remembered refusal, `refusals`), or whose
  format cannot be inspected unless the target says `copy_uninspectable`, is `error_format`
  in every region where it is synchronised, whatever the region holds: it is never copied and
  no metadata of its is brought over; a region's copy is left as it is. An image whose kernel
  or ramdisk is `error_format` without a copy in the region is `error_ami`.
- Image life (`imagelife`): a master image still arriving is `waiting` in every region where
  it is synchronised, whatever the region holds; a regional copy deactivated by someone else is
  `ok_deactivated_in_region`, left alone whatever its content (and never marked obsolete);
  a deactivated master image
  without a copy of its content is `ok_deactivated_in_master` (never uploaded). A copy with the
  master's content follows its state: `pending_metadata` with action DEACTIVATE or REACTIVATE
  (and the metadata change, if any, done with it). A tag the copy lacks is a metadata change.
  An image whose kernel or ramdisk is still arriving is `waiting` too.
- Obsolete images (§8) have no status of their own: an obsolete item is `pending_metadata`
  with action `OBSOLETE` when a rename to `X_obsolete` or a metadata change is needed, `ok`
  when it is in line. There is one item per regional image concerned; regional images that
  are left alone (other project, other checksum) have no item.
- Members of shared images (§12, `sharing`): a member to add (or, with `sync_members =
  mirror`, to remove) makes an image `pending_metadata`; an upload adds the members after the
  copy is verified. A member with no project in the region's Keystone is a warning only.
- Retired copies (§12, `retention`) have items of their own, after the others, oldest first;
  their `master` is the copy itself. A copy deleted by this run is `pending_purge` with action
  PURGE; one left for the next run by `max_purge` is `pending_purge` without action; an
  unmarked one that this run marks is `pending_metadata`. A copy due for deletion has no
  obsolete item. Retention is planned only when the plan is given the time (`now`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from glancesync import imagelife
from glancesync.formats import Verdict, verdict_of
from glancesync.image import (
    COMPARED_ATTRIBUTES,
    DEACTIVATION_MARK,
    UPLOAD_MARKER,
    Image,
    NewImage,
)
from glancesync.retention import (
    BY_FIRST_SIGHT,
    RETIREMENT_MARKS,
    Retention,
    plan_retention,
    retirement_mark,
)
from glancesync.settings import OnConflict, SyncRules
from glancesync.sharing import Sharing, member_change, new_copy_members

OBSOLETE_SUFFIX = "_obsolete"
REFERENCE_PROPERTIES = ("kernel_id", "ramdisk_id")


class Status(str, Enum):
    """Per-image status in a region (§5)."""

    OK = "ok"
    OK_STALLED_CHECKSUM = "ok_stalled_checksum"
    PENDING_METADATA = "pending_metadata"
    PENDING_UPLOAD = "pending_upload"
    PENDING_REPLACE = "pending_replace"
    PENDING_RENAME = "pending_rename"
    PENDING_AMI = "pending_ami"
    ERROR_CHECKSUM = "error_checksum"
    ERROR_AMI = "error_ami"
    ERROR_FORMAT = "error_format"
    PENDING_PURGE = "pending_purge"
    WAITING = "waiting"
    OK_DEACTIVATED_IN_REGION = "ok_deactivated_in_region"
    OK_DEACTIVATED_IN_MASTER = "ok_deactivated_in_master"


class Action(str, Enum):
    """What the executor does for an item (§6)."""

    NONE = "none"
    UPDATE_METADATA = "update_metadata"
    UPLOAD = "upload"
    REPLACE = "replace"  # upload, verify, then delete the old regional image
    RENAME = "rename"  # upload, verify, then rename the old one to `<name>.old`, private
    OBSOLETE = "obsolete"  # patch a regional image into the master's `X_obsolete` (§8)
    PURGE = "purge"  # delete a retired copy past purge_after (§12)
    DEACTIVATE = "deactivate"  # update metadata, mark and deactivate: the master is deactivated
    REACTIVATE = "reactivate"  # reactivate, unmark and update metadata: the master is active

    @property
    def uploads(self) -> bool:
        """Whether the action uploads the master's bytes."""
        return self in (Action.UPLOAD, Action.REPLACE, Action.RENAME)

    @property
    def patches(self) -> bool:
        """Whether the action only patches a regional image's metadata."""
        return self in (Action.UPDATE_METADATA, Action.OBSOLETE, *_FOLLOWING)


_FOLLOWING = (Action.DEACTIVATE, Action.REACTIVATE)


class Travel(str, Enum):
    """How an image's bytes reach a region (§11)."""

    STREAM = "stream"  # through the sync host, from the master's Glance to the region's
    GLANCE_DOWNLOAD = "glance-download"  # the region's Glance copies it from the master region


_ACTION_OF_NEW_CONTENT = {
    Status.PENDING_UPLOAD: Action.UPLOAD,
    Status.PENDING_REPLACE: Action.REPLACE,
    Status.PENDING_RENAME: Action.RENAME,
}

# Statuses whose image is left as it is: no action, no metadata change.
_LEFT_AS_IT_IS = (
    Status.OK_STALLED_CHECKSUM,
    Status.WAITING,
    Status.OK_DEACTIVATED_IN_REGION,
    Status.OK_DEACTIVATED_IN_MASTER,
)

_STATUS_ON_CONFLICT = {
    OnConflict.DONTUPDATE: Status.OK_STALLED_CHECKSUM,
    OnConflict.RENAME: Status.PENDING_RENAME,
    OnConflict.REPLACE: Status.PENDING_REPLACE,
}


@dataclass(frozen=True)
class MetadataChange:
    """A patch of a regional image that touches only the keys that differ."""

    attributes: Mapping[str, object] = field(default_factory=dict)
    """Image attributes to set (visibility, min_ram, min_disk, protected; name for obsolete)."""
    set_properties: Mapping[str, str] = field(default_factory=dict)
    """User properties to add or replace (kernel_id/ramdisk_id already translated)."""
    remove_properties: tuple[str, ...] = ()
    """User properties to remove; only compared ones, never local ones."""
    references: Mapping[str, str] = field(default_factory=dict)
    """Property -> name of the image uploaded in this run whose new regional UUID is the value."""
    previous: Mapping[str, object] = field(default_factory=dict)
    """The regional values of the attributes and properties changed, where the region has one."""
    kept: tuple[str, ...] = ()
    """Regional properties that differ from the master's and are left as they are (not
    compared): shown, never written."""
    add_tags: tuple[str, ...] = ()
    """The master's tags the regional image lacks (its own tags stay)."""
    add_members: tuple[str, ...] = ()
    """Projects to make members of a shared image (§12)."""
    remove_members: tuple[str, ...] = ()
    """Members only the region has, removed where the target says `sync_members = mirror`."""

    @property
    def is_empty(self) -> bool:
        """Nothing to write (`kept` properties alone need no update)."""
        return not (
            self.attributes
            or self.set_properties
            or self.remove_properties
            or self.references
            or self.add_members
            or self.remove_members
            or self.add_tags
        )


@dataclass(frozen=True)
class UploadSpec(NewImage):
    """Everything needed to create the regional copy of a master image (§6 Upload).

    `properties` are those in metadata_set (or all), with known references translated.
    """

    references: Mapping[str, str] = field(default_factory=dict)
    """Property -> name of the image uploaded in this run whose new regional UUID is the value."""
    members: tuple[str, ...] = ()
    """Projects made members of the copy once it is verified (a shared image, §12)."""


@dataclass(frozen=True)
class PlanItem:
    """One master image's outcome in a region."""

    status: Status
    master: Image
    """The synchronised master image; for an obsolete item, the master's `X_obsolete`."""
    regional: Image | None
    """The matched regional image, if any."""
    action: Action = Action.NONE
    change: MetadataChange | None = None
    """For UPDATE_METADATA and OBSOLETE; for DEACTIVATE and REACTIVATE, if metadata differs."""
    upload: UploadSpec | None = None
    """For UPLOAD, REPLACE and RENAME."""
    problem: str | None = None
    """For an `error_*` status: what the operator has to decide or fix."""
    old_name: str | None = None
    """For RENAME: the name the replaced regional image takes (`<name>.old`, or `.old.N`)."""
    reason: str | None = None
    """For a retired copy (§12): why it is deleted, kept for the next run, or marked."""
    travel: Travel | None = None
    """For UPLOAD, REPLACE and RENAME: how the bytes are to travel (`by_glance_download`)."""

    @property
    def upload_size(self) -> int:
        """The bytes the item's action uploads: the master's size for an upload, else 0."""
        return (self.master.size or 0) if self.action.uploads else 0


@dataclass(frozen=True)
class RegionPlan:
    region: str
    items: tuple[PlanItem, ...]
    """Every image's item, in ascending master size (unknown as 0), ties by name (§5)."""
    warnings: tuple[str, ...]
    leftovers: tuple[Image, ...] = ()
    """Unfinished uploads of ours, to delete before anything else (see `unfinished_uploads`)."""

    @property
    def steps(self) -> list[PlanItem]:
        """The items with an action, in the order of §6: metadata updates (obsolete renames
        included), then uploads, replaces and renames in size order, then the `pending_ami`
        items, whose kernel/ramdisk exist by then."""
        waiting = [item for item in self.items if item.status is Status.PENDING_AMI]
        ready = [item for item in self.items if item.status is not Status.PENDING_AMI]
        metadata = [item for item in ready if item.action.patches]
        uploads = [item for item in ready if item.action.uploads]
        purges = [item for item in ready if item.action is Action.PURGE]
        return metadata + uploads + waiting + purges

    @property
    def uploads(self) -> bool:
        """Whether some item uploads the master's bytes."""
        return any(item.action.uploads for item in self.items)


def by_glance_download(plan: RegionPlan) -> RegionPlan:
    """The plan of a region whose Glance copies images from the master region by itself
    (§11): its uploads travel by glance-download."""
    items = tuple(
        replace(item, travel=Travel.GLANCE_DOWNLOAD) if item.action.uploads else item
        for item in plan.items
    )
    return replace(plan, items=items)


@dataclass(frozen=True)
class _Matched:
    """A synchronised master image, its regional match and the status from content alone
    (OK standing for 'same content, metadata still to check')."""

    master: Image
    regional: Image | None
    status: Status


@dataclass(frozen=True)
class _References:
    """A master image's kernel_id/ramdisk_id as seen from one region."""

    known: Mapping[str, str]  # property -> regional UUID
    pending: Mapping[str, str]  # property -> name of an image uploaded in this run
    missing: tuple[str, ...]  # properties pointing at images not synchronised to the target
    waiting: bool = False  # one points at a master image still arriving


def select_master_images(
    master_images: Iterable[Image], master_project_id: str
) -> tuple[tuple[Image, ...], tuple[str, ...]]:
    """The master images considered (§3): active, deactivated or still arriving, named, the
    master project's or unowned, with a unique name, and not an unfinished upload of ours; an
    image still arriving under the name of a ready one is left out until it is active (so a
    new version being uploaded, or a stale queued one, does not stop the ready one).
    Returns them and the warnings."""
    considered = [
        image
        for image in master_images
        if imagelife.is_considered_master(image)
        and image.name
        and UPLOAD_MARKER not in image.properties
        and _owned_by(image, master_project_id)
    ]
    warnings = []
    twins = imagelife.arriving_twins(considered)
    if twins:
        names = ", ".join(sorted(f"{image.name} ({image.id})" for image in twins))
        warnings.append(f"master images still arriving under a name in use, left out: {names}")
    considered = [image for image in considered if image not in twins]
    counts = Counter(image.name for image in considered)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        warnings.append(f"master images with duplicated names left out: {', '.join(duplicated)}")
    return tuple(image for image in considered if counts[image.name] == 1), tuple(warnings)


def _owned_by(image: Image, project_id: str) -> bool:
    """Whether the image belongs to the project; an image without owner counts as its own."""
    return image.owner in (None, project_id)


def is_synchronised(image: Image, rules: SyncRules) -> bool:
    """Whether a considered master image is synchronised to the target (§3, rules 1-6)."""
    if image.name.endswith(OBSOLETE_SUFFIX):
        return False
    if image.id in rules.forcesyncs:
        return True
    if rules.metadata_condition is not None:
        return bool(rules.metadata_condition.evaluate(image, rules.metadata_set))
    if not image.is_public:
        return False
    return not rules.metadata_set or not rules.metadata_set.isdisjoint(image.properties)


def plan_region(
    master_images: Sequence[Image],
    regional_images: Sequence[Image],
    rules: SyncRules,
    region: str,
    project_id: str,
    refusals: Mapping[str, Verdict] | None = None,
    now: datetime | None = None,
    sharing: Sharing | None = None,
) -> RegionPlan:
    """The plan of one region, from the selected master images (`select_master_images`), the
    region's images, its target's sync rules, the project (`project_id`) whose images the
    target's credentials write, the verdicts that refused master images for their format
    (§10), by master image id, the time of the run (`now`, for retention, §12) and the members
    of its shared images (`sharing`, §12)."""
    warnings: list[str] = []
    leftovers = unfinished_uploads(regional_images, project_id)
    leftover_ids = {image.id for image in leftovers}
    regional_images = [image for image in regional_images if image.id not in leftover_ids]
    synchronised = [image for image in master_images if is_synchronised(image, rules)]
    matches = _match(synchronised, regional_images, rules, project_id, warnings)
    barred = {**(refusals or {})}  # master id -> why it is never copied
    if not rules.copy_uninspectable:
        barred.update(_uninspectable(synchronised))
    matched: dict[str, _Matched] = {}
    for image in synchronised:
        regional = matches.get(image.name)
        status = (
            _life_status(image, regional)
            or (Status.ERROR_FORMAT if image.id in barred else None)
            or _content_status(image, regional, rules)
        )
        matched[image.id] = _Matched(image, regional, status)
    sharing = sharing or Sharing()
    items = [
        _plan_item(entry, matched, rules, barred, sharing, warnings) for entry in matched.values()
    ]
    warnings += [
        f"{image.name}: {problem}"
        for image in synchronised
        for problem in sharing.unmapped.get(image.id, ())
    ]
    synchronised_names = {image.name for image in synchronised}
    if rules.support_obsolete_images:
        items += _obsolete_items(
            master_images, synchronised_names, regional_images, rules, project_id, warnings
        )
    items.sort(key=lambda item: (item.master.size or 0, item.master.name))
    taken_names = {image.name for image in regional_images} | {i.name for i in leftovers}
    items = [_with_old_name(item, taken_names) for item in items]
    if now is not None:
        kept_names = {m.name for m in master_images if not m.name.endswith(OBSOLETE_SUFFIX)}
        retention = plan_retention(regional_images, rules, project_id, now, kept_names)
        items = _with_retention(items, retention, rules.max_purge, now)
        warnings += retention.warnings
    return RegionPlan(region, tuple(items), tuple(warnings), leftovers)


def _with_retention(
    items: list[PlanItem], retention: Retention, max_purge: int, now: datetime
) -> list[PlanItem]:
    """The items, a copy due for deletion without its obsolete item, then the retired copies'
    items (§12)."""
    due_ids = {due.image.id for due in (*retention.purged, *retention.waiting)}
    kept = [item for item in items if item.regional is None or item.regional.id not in due_ids]
    left = f"left for the next run (max_purge = {max_purge})"
    return [
        *kept,
        *(
            PlanItem(Status.PENDING_PURGE, due.image, due.image, Action.PURGE, reason=due.reason)
            for due in retention.purged
        ),
        *(
            PlanItem(Status.PENDING_PURGE, due.image, due.image, reason=f"{due.reason}; {left}")
            for due in retention.waiting
        ),
        *(
            PlanItem(
                Status.PENDING_METADATA,
                image,
                image,
                Action.UPDATE_METADATA,
                change=MetadataChange(
                    set_properties=retirement_mark(now, BY_FIRST_SIGHT, image.id)
                ),
                reason="retired copy without mark: ages from this run",
            )
            for image in retention.to_mark
        ),
    ]


def _uninspectable(images: Iterable[Image]) -> dict[str, Verdict]:
    """The verdicts on the images whose format cannot be inspected (§10), by id."""
    return {image.id: verdict for image in images if (verdict := verdict_of(image))}


def _with_old_name(item: PlanItem, taken_names: set[str]) -> PlanItem:
    """A RENAME item with the name its old regional image takes: `<name>.old`, else the first
    free `<name>.old.N` (N from 2), never a name the region has or another rename took."""
    if item.action is not Action.RENAME:
        return item
    name, counter = f"{item.regional.name}.old", 2
    while name in taken_names:
        name, counter = f"{item.regional.name}.old.{counter}", counter + 1
    taken_names.add(name)
    return replace(item, old_name=name)


def unfinished_uploads(images: Sequence[Image], project_id: str) -> tuple[Image, ...]:
    """The images left by an interrupted upload of project `project_id`'s: they still bear
    UPLOAD_MARKER (queued, saving, or active but never verified). Safe to delete."""
    return tuple(i for i in images if UPLOAD_MARKER in i.properties and i.owner == project_id)


def _match(
    synchronised: Sequence[Image],
    regional_images: Sequence[Image],
    rules: SyncRules,
    project_id: str,
    warnings: list[str],
) -> dict[str, Image]:
    """Synchronised master name -> the regional image matched to it (§4)."""
    masters = {image.name: image for image in synchronised}
    candidates: dict[str, list[Image]] = {}
    for image in regional_images:
        if image.name not in masters:
            continue
        if rules.only_tenant_images and not _owned_by(image, project_id):
            warnings.append(
                f"image {image.name} ({image.id}) of project {image.owner} ignored:"
                " only_tenant_images is set"
            )
        elif not imagelife.is_candidate_copy(image):
            warnings.append(f"image {image.name} ({image.id}) ignored: status {image.status}")
        else:
            candidates.setdefault(image.name, []).append(image)
    return {name: _pick(masters[name], images, warnings) for name, images in candidates.items()}


def _pick(master: Image, images: list[Image], warnings: list[str]) -> Image:
    """The one regional image kept among several with the master's name (§4)."""
    kept = next((image for image in images if master.same_content(image)), images[0])
    if len(images) > 1:
        ids = ", ".join(image.id for image in images)
        warnings.append(f"{len(images)} images named {master.name} ({ids}): {kept.id} is used")
    return kept


def _life_status(master: Image, regional: Image | None) -> Status | None:
    """The status an image's life gives it whatever its content, or None (see `imagelife`)."""
    if imagelife.is_arriving(master):
        return Status.WAITING
    if regional is not None and imagelife.deactivated_by_others(regional):
        return Status.OK_DEACTIVATED_IN_REGION
    if imagelife.is_deactivated(master) and not (regional and master.same_content(regional)):
        return Status.OK_DEACTIVATED_IN_MASTER
    return None


def _following_action(master: Image, regional: Image) -> Action | None:
    """DEACTIVATE or REACTIVATE when a copy with the master's content must follow its state."""
    if imagelife.needs_deactivation(master, regional):
        return Action.DEACTIVATE
    if imagelife.needs_reactivation(master, regional):
        return Action.REACTIVATE
    return None


def _content_status(master: Image, regional: Image | None, rules: SyncRules) -> Status:
    """The status from content alone (§5 conflict rules); OK when the content is the same."""
    if regional is None:
        return Status.PENDING_UPLOAD
    if master.same_content(regional):
        return Status.OK
    rule = rules.on_conflict(regional.checksum)
    return Status.ERROR_CHECKSUM if rule is None else _STATUS_ON_CONFLICT[rule]


def _plan_item(
    entry: _Matched,
    matched: Mapping[str, _Matched],
    rules: SyncRules,
    barred: Mapping[str, Verdict],
    sharing: Sharing,
    warnings: list[str],
) -> PlanItem:
    master, regional, status = entry.master, entry.regional, entry.status
    if status is Status.ERROR_FORMAT:
        verdict = barred[master.id]
        problem = (
            f"{master.name}: format refused: {verdict.describe()}"
            if verdict.refused
            else f"{master.name}: not inspectable ({verdict.describe()}): copied only where "
            "the target says copy_uninspectable = true"
        )
        warnings.append(problem)
        return PlanItem(status, master, regional, problem=problem)
    if status is Status.ERROR_CHECKSUM:
        problem = (
            f"{master.name}: the content of the regional image {regional.id} (checksum "
            f"{regional.checksum}) differs from the master's (checksum {master.checksum}); "
            "name its checksum in dontupdate, rename or replace"
        )
        warnings.append(problem)
        return PlanItem(status, master, regional, problem=problem)
    if status in _LEFT_AS_IT_IS:
        return PlanItem(status, master, regional)
    references = _references(master, matched)
    if references.waiting:
        return PlanItem(Status.WAITING, master, regional)
    if references.missing:
        problem = (
            f"{master.name} needs {', '.join(references.missing)} not synchronised to this target"
        )
        warnings.append(problem)
        return PlanItem(Status.ERROR_AMI, master, regional, problem=problem)
    if status in _ACTION_OF_NEW_CONTENT:  # a new copy: every member, and the old copy's
        replaced = regional.id if regional is not None else None
        members = new_copy_members(sharing, master.id, replaced, rules.sync_members)
        upload = replace(_upload_spec(master, rules, references), members=members)
        return PlanItem(
            Status.PENDING_AMI if references.pending else status,
            master,
            regional,
            _ACTION_OF_NEW_CONTENT[status],
            upload=upload,
            travel=Travel.STREAM,
        )
    added, removed = member_change(sharing, master.id, regional.id, rules.sync_members)
    change = replace(
        _metadata_change(master, regional, rules, references),
        add_members=added,
        remove_members=removed,
    )
    following = _following_action(master, regional)
    if change.is_empty and following is None:
        return PlanItem(Status.OK, master, regional)
    return PlanItem(
        Status.PENDING_AMI if references.pending else Status.PENDING_METADATA,
        master,
        regional,
        following or Action.UPDATE_METADATA,
        change=None if change.is_empty else change,
    )


def _references(master: Image, matched: Mapping[str, _Matched]) -> _References:
    """Translate the master's kernel_id/ramdisk_id: master UUID -> name -> regional UUID."""
    known: dict[str, str] = {}
    pending: dict[str, str] = {}
    missing: list[str] = []
    waiting = False
    for key in REFERENCE_PROPERTIES:
        uuid = master.properties.get(key)
        if not uuid:
            continue
        dependency = matched.get(uuid)
        if dependency is not None and dependency.status is Status.WAITING:
            waiting = True
        elif dependency is None:
            missing.append(f"{key} {uuid}")
        elif dependency.status in _ACTION_OF_NEW_CONTENT:
            pending[key] = dependency.master.name
        elif dependency.regional is None:  # refused for its format, never copied
            missing.append(f"{key} {uuid} ({dependency.master.name}: {dependency.status.value})")
        else:
            known[key] = dependency.regional.id
    return _References(known, pending, tuple(missing), waiting)


_OWN_MARKS = frozenset({UPLOAD_MARKER, DEACTIVATION_MARK, *RETIREMENT_MARKS})


def _is_metadata(key: str) -> bool:
    """Whether a user property is metadata: not a reference, not a mark of glancesync's."""
    return key not in REFERENCE_PROPERTIES and key not in _OWN_MARKS


def _synced_properties(
    properties: Mapping[str, str], metadata_set: frozenset[str]
) -> dict[str, str]:
    """The user properties copied by an upload, references excluded (§5)."""
    return {
        key: value
        for key, value in properties.items()
        if _is_metadata(key) and (not metadata_set or key in metadata_set)
    }


def _compared_properties(master: Image, regional: Image, rules: SyncRules) -> set[str]:
    """The user properties a metadata update brings in line with the master (§6)."""
    if rules.metadata_set:
        keys = set(rules.metadata_set)
    elif rules.prune_properties:
        keys = master.properties.keys() | regional.properties.keys()
    else:
        keys = set(master.properties)
    return {key for key in keys if _is_metadata(key)}


def _upload_spec(master: Image, rules: SyncRules, references: _References) -> UploadSpec:
    return UploadSpec(
        name=master.name,
        visibility=master.visibility,
        os_hidden=master.os_hidden,
        disk_format=master.disk_format,
        container_format=master.container_format,
        min_ram=master.min_ram,
        min_disk=master.min_disk,
        protected=master.protected,
        tags=master.tags,
        properties={
            **_synced_properties(master.properties, rules.metadata_set),
            **references.known,
        },
        references=references.pending,
    )


def _metadata_change(
    master: Image, regional: Image, rules: SyncRules, references: _References
) -> MetadataChange:
    compared = _compared_properties(master, regional, rules)
    wanted = {
        **{key: value for key, value in master.properties.items() if key in compared},
        **references.known,
    }
    current = {
        key: value
        for key, value in regional.properties.items()
        if key in compared or key in REFERENCE_PROPERTIES
    }
    keys = (wanted.keys() | current.keys()) - references.pending.keys()
    set_properties, remove_properties = _property_patch(wanted, current, keys)
    kept = tuple(
        sorted(
            key
            for key, value in regional.properties.items()
            if _is_metadata(key) and key not in compared and master.properties.get(key) != value
        )
    )
    return _change(
        regional,
        _differing_attributes(master, regional, COMPARED_ATTRIBUTES),
        set_properties,
        remove_properties,
        references.pending,
        kept,
        imagelife.tags_to_add(master, regional),
    )


def _change(
    regional: Image,
    attributes: dict[str, object],
    set_properties: dict[str, str],
    remove_properties: tuple[str, ...],
    references: Mapping[str, str],
    kept: tuple[str, ...] = (),
    add_tags: tuple[str, ...] = (),
) -> MetadataChange:
    """The change, with the regional values it replaces."""
    previous: dict[str, object] = {name: getattr(regional, name) for name in attributes}
    previous.update(
        (key, regional.properties[key])
        for key in (*set_properties, *references)
        if key in regional.properties
    )
    return MetadataChange(
        attributes, set_properties, remove_properties, references, previous, kept, add_tags
    )


def _differing_attributes(
    master: Image, regional: Image, names: Iterable[str]
) -> dict[str, object]:
    """The master's values of the attributes `names` where the regional image differs."""
    return {
        name: getattr(master, name)
        for name in names
        if getattr(master, name) != getattr(regional, name)
    }


def _property_patch(
    wanted: Mapping[str, str], current: Mapping[str, str], keys: Iterable[str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The properties to set and to remove, among `keys`, to turn `current` into `wanted`."""
    keys = sorted(keys)
    return (
        {key: wanted[key] for key in keys if key in wanted and current.get(key) != wanted[key]},
        tuple(key for key in keys if key not in wanted and key in current),
    )


def _obsolete_items(
    master_images: Sequence[Image],
    synchronised_names: set[str],
    regional_images: Sequence[Image],
    rules: SyncRules,
    project_id: str,
    warnings: list[str],
) -> list[PlanItem]:
    """Items for the master's `X_obsolete` images (§8)."""
    items = []
    by_name: dict[str, list[tuple[int, Image]]] = {}  # a lookup per image, not a scan
    for position, regional in enumerate(regional_images):
        by_name.setdefault(regional.name, []).append((position, regional))
    for master in master_images:
        retired = master.name.removesuffix(OBSOLETE_SUFFIX)
        if retired == master.name or not retired or imagelife.is_arriving(master):
            continue
        if retired in synchronised_names:
            warnings.append(f"{master.name} ignored: the master also synchronises {retired}")
            continue
        named = sorted(by_name.get(retired, []) + by_name.get(master.name, []), key=_first)
        concerned = [
            regional
            for _, regional in named
            if _owned_by(regional, project_id)
            and master.same_content(regional)
            and not imagelife.deactivated_by_others(regional)
        ]
        if any(regional.name == master.name for regional in concerned):
            for regional in concerned:
                if regional.name == retired:
                    warnings.append(
                        f"{retired} ({regional.id}) not renamed: {master.name} is already there"
                    )
            concerned = [regional for regional in concerned if regional.name == master.name]
        items += [_obsolete_item(master, regional, rules) for regional in concerned]
    return items


def _first(pair: tuple[int, Image]) -> int:
    return pair[0]


def _obsolete_item(master: Image, regional: Image, rules: SyncRules) -> PlanItem:
    """Rename `X` to `X_obsolete`; bring visibility and obsolete_syncprops in line."""
    set_properties, remove_properties = _property_patch(
        master.properties,
        regional.properties,
        {key for key in rules.obsolete_syncprops if _is_metadata(key)},  # never a mark
    )
    change = _change(
        regional,
        _differing_attributes(master, regional, ("name", "visibility")),
        set_properties,
        remove_properties,
        {},
    )
    if change.is_empty:
        return PlanItem(Status.OK, master, regional)
    return PlanItem(Status.PENDING_METADATA, master, regional, Action.OBSOLETE, change=change)
