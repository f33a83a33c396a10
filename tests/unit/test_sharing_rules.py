"""Members of shared images (§12): the changes planned, the mapping of projects between
Keystones, and what the executor writes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from glancesync.executor import Executor
from glancesync.output import Output, describe
from glancesync.planner import Action, Status, plan_region
from glancesync.report import metadata_diff
from glancesync.settings import SyncRules
from glancesync.sharing import Sharing, member_change, new_copy_members, read_sharing
from tests.unit.memory_cloud import PROJECT, MemoryGlance, content_image

MASTER_ID, REGIONAL_ID = "m-1", "r-1"


@pytest.mark.parametrize(
    ("wanted", "current", "sync_members", "added", "removed"),
    [
        ({"a", "b"}, set(), "add", ("a", "b"), ()),
        ({"a", "b"}, {"a", "b"}, "add", (), ()),
        ({"a"}, {"a", "x"}, "add", (), ()),  # a region-only member stays
        ({"a"}, {"a", "x"}, "mirror", (), ("x",)),
        ({"a", "b"}, {"x"}, "mirror", ("a", "b"), ("x",)),
        (set(), {"x"}, "add", (), ()),
    ],
)
def test_members_are_added_and_removed_only_when_mirrored(
    wanted, current, sync_members, added, removed
):
    sharing = Sharing({MASTER_ID: frozenset(wanted)}, {REGIONAL_ID: frozenset(current)})
    assert member_change(sharing, MASTER_ID, REGIONAL_ID, sync_members) == (added, removed)


def test_mirror_removes_nothing_from_the_copy_of_an_image_with_an_unmapped_member():
    """The region-only member may be the project that could not be looked up."""
    sharing = Sharing(
        {MASTER_ID: frozenset({"a"})},
        {REGIONAL_ID: frozenset({"a", "x"})},
        {MASTER_ID: ("member m-b not shared: no project 'b'",)},
    )
    assert member_change(sharing, MASTER_ID, REGIONAL_ID, "mirror") == ((), ())


@pytest.mark.parametrize(
    ("current", "sync_members", "members"),
    [
        ({"a", "x"}, "add", ("a", "b", "x")),  # the old copy's member x keeps its access
        ({"a", "x"}, "mirror", ("a", "b")),
        (set(), "add", ("a", "b")),
    ],
)
def test_a_new_version_gets_the_masters_members_and_keeps_the_old_copys(
    current, sync_members, members
):
    sharing = Sharing({MASTER_ID: frozenset({"a", "b"})}, {REGIONAL_ID: frozenset(current)})
    assert new_copy_members(sharing, MASTER_ID, REGIONAL_ID, sync_members) == members


@dataclass
class Keystone:
    """A Keystone in memory: project id -> (name, domain)."""

    name: str
    projects: dict[str, tuple[str, str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def project_identity(self, project_id: str) -> tuple[str, str] | None:
        self.lookups.append(project_id)
        return self.projects.get(project_id)

    def project_named(self, name: str, domain: str) -> str | None:
        self.lookups.append(name)
        return next((pid for pid, known in self.projects.items() if known == (name, domain)), None)


def shared_master(master: MemoryGlance, *member_ids: str):
    image = master.put(content_image("app", b"app", visibility="shared"), b"app")
    master.members[image.id] = dict.fromkeys(member_ids, "accepted")
    return image


def test_in_the_master_keystone_members_keep_their_ids():
    master, region = MemoryGlance("Madrid"), MemoryGlance("Lisbon")
    image = shared_master(master, "p1", "p2")
    keystone = Keystone("master")
    sharing = read_sharing([image], [], master, region, keystone, keystone)
    assert sharing.wanted == {image.id: frozenset({"p1", "p2"})}
    assert keystone.lookups == []


def test_in_another_keystone_members_are_mapped_by_name_and_domain_or_warned_about():
    master, region = MemoryGlance("Madrid"), MemoryGlance("Berlin")
    image = shared_master(master, "p1", "p2", "p3")
    ours = Keystone("master", {"p1": ("tenant2", "Default"), "p2": ("lonely", "Default")})
    theirs = Keystone("other", {"q1": ("tenant2", "Default"), "q2": ("lonely", "Other")})
    copy = region.put(content_image("app", b"app", visibility="shared"))
    region.members[copy.id] = {"q9": "accepted"}
    sharing = read_sharing([image], region.images.values(), master, region, ours, theirs)
    assert sharing.wanted == {image.id: frozenset({"q1"})}
    assert sharing.current == {copy.id: frozenset({"q9"})}
    assert [problem.split(":")[0] for problem in sharing.unmapped[image.id]] == [
        "member p2 not shared",
        "member p3 not shared",
    ]
    assert "target master cannot look its project up" in sharing.unmapped[image.id][1]


def plan(master_image, regional_images, sharing, **rules):
    rules = SyncRules(forcesyncs=frozenset({master_image.id}), **rules)
    return plan_region([master_image], regional_images, rules, "Lisbon", PROJECT, sharing=sharing)


def test_a_member_difference_is_pending_metadata_and_named_in_the_dry_run():
    master = content_image("app", b"app", visibility="shared")
    regional = content_image("app", b"app", visibility="shared")
    sharing = Sharing({master.id: frozenset({"p1"})}, {regional.id: frozenset({"x"})})
    (item,) = plan(master, [regional], sharing, sync_members="mirror").items
    assert (item.status, item.action) == (Status.PENDING_METADATA, Action.UPDATE_METADATA)
    assert describe(item, dry_run=True) == (
        "would update metadata of app: add member(s) p1; remove member(s) x"
    )
    assert metadata_diff(item.change)["members"] == {"add": ["p1"], "remove": ["x"]}


def test_an_unmapped_member_is_a_warning_and_the_image_otherwise_ok():
    master = content_image("app", b"app", visibility="shared")
    regional = content_image("app", b"app", visibility="shared")
    sharing = Sharing({master.id: frozenset()}, {}, {master.id: ("member p2 not shared: why",)})
    region_plan = plan(master, [regional], sharing)
    assert region_plan.items[0].status is Status.OK
    assert region_plan.warnings == ("app: member p2 not shared: why",)


def sync_once(image, master: MemoryGlance, region: MemoryGlance) -> list[str]:
    """A run of one region; the writes it made."""
    region.calls.clear()
    keystone = Keystone("master")
    sharing = read_sharing([image], region.images.values(), master, region, keystone, keystone)
    region_plan = plan(image, list(region.images.values()), sharing)
    Executor(master, region, False, Output(lambda record, text: None)).apply(region_plan)
    return [call[0] for call in region.calls if call[0] not in ("get", "list_members")]


def test_an_upload_shares_the_verified_copy_and_a_second_run_writes_no_member():
    master, region = MemoryGlance("Madrid"), MemoryGlance("Lisbon")
    image = shared_master(master, "p1", "p2")
    assert sync_once(image, master, region) == [
        "create",
        "upload",
        "update",
        "add_member",
        "add_member",
    ]
    assert sync_once(image, master, region) == []
    (copy,) = region.images.values()
    assert region.members[copy.id] == {"p1": "pending", "p2": "pending"}


def test_a_private_copy_is_made_shared_then_given_every_member():
    master = content_image("app", b"app", visibility="shared")
    regional = content_image("app", b"app", visibility="private")
    sharing = Sharing({master.id: frozenset({"p1", "p2"})})
    (item,) = plan(master, [regional], sharing).items
    assert item.change.attributes == {"visibility": "shared"}
    assert item.change.add_members == ("p1", "p2")
