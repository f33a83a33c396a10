"""Members of shared images (§12) in whole runs against the real Keystones and Glances of the
local cloud: Lisbon (the master's Keystone) and Berlin (the other Keystone). The member calls
glancesync makes are counted in the access logs of the Glance servers (their user agent names
glancesync)."""

from __future__ import annotations

from pathlib import Path

import pytest
from glance_helpers import Cloud, KiB, payload, settings, sync
from keystoneclient.v3 import client as keystone_client

from glancesync.actions import Mode
from glancesync.glance import Targets

pytestmark = pytest.mark.integration

NAME = "shared-app"


@pytest.fixture
def cloud(clean_cloud) -> Cloud:
    return Cloud(clean_cloud)


def project(cloud: Cloud, target: str, name: str) -> str:
    """The id of project `name` of the Default domain in the target's Keystone, made if need
    be (projects outlive the image resets of the local cloud)."""
    keystone = keystone_client.Client(session=cloud.session(target))
    found = keystone.projects.list(name=name, domain="default")
    return (found[0] if found else keystone.projects.create(name, "default")).id


@pytest.fixture
def projects(cloud: Cloud) -> dict[str, str]:
    """tenant2 in both Keystones; lonely and bystander only in the master's."""
    return {
        "tenant2": project(cloud, "master", "tenant2"),
        "tenant2 of other": project(cloud, "other", "tenant2"),
        "lonely": project(cloud, "master", "lonely"),
        "bystander": project(cloud, "master", "bystander"),
    }


REGIONS = ("Lisbon", "other:Berlin")
WRITES = ("POST", "PUT", "DELETE")


class AccessLogs:
    """The lines the Glance servers of REGIONS log from a point on."""

    def __init__(self, cloud: Cloud):
        self.paths = {
            region: Path(cloud.region_info(region)["store"]).parent / "server.log"
            for region in REGIONS
        }
        self.mark()

    def mark(self) -> None:
        """From now on."""
        self.offsets = {region: path.stat().st_size for region, path in self.paths.items()}

    def member_writes(self) -> dict[str, list[str]]:
        """The member calls of glancesync that write, logged since the mark, by region."""
        found = {}
        for region, path in self.paths.items():
            with path.open("rb") as log:
                log.seek(self.offsets[region])
                lines = log.read().decode(errors="replace").splitlines()
            found[region] = [
                line
                for line in lines
                if "/members" in line
                and '"glancesync/' in line
                and line.split('"')[1].split()[0] in WRITES
            ]
        return found


@pytest.fixture
def logs(cloud: Cloud) -> AccessLogs:
    return AccessLogs(cloud)


NO_WRITES = {region: [] for region in REGIONS}


@pytest.fixture
def master(cloud: Cloud, projects: dict[str, str]) -> dict:
    """A shared master image whose members are tenant2 and lonely."""
    image = cloud.put("Madrid", NAME, payload(NAME, KiB), visibility="shared")
    for member in ("tenant2", "lonely"):
        cloud.client("Madrid").image_members.create(image["id"], projects[member])
    return image


def members(cloud: Cloud, region: str) -> dict[str, str]:
    """Project id -> status of the members of the one NAME in the region."""
    copy = cloud.only(region, NAME)
    return {
        m["member_id"]: m["status"] for m in cloud.client(region).image_members.list(copy["id"])
    }


def run(cloud: Cloud, logs: AccessLogs, master: dict, *overrides: str, mode: Mode = Mode.SYNC):
    logs.mark()
    return sync(
        cloud.local_cloud, list(REGIONS), f"forcesyncs={master['id']}", *overrides, mode=mode
    )


def test_members_follow_the_master_by_id_and_by_project_name_and_a_second_run_writes_none(
    cloud, projects, logs, master, caplog
):
    first = run(cloud, logs, master)
    assert first.exit_status == 0
    assert members(cloud, "Lisbon") == {
        projects["tenant2"]: "pending",
        projects["lonely"]: "pending",
    }
    assert members(cloud, "Berlin") == {projects["tenant2 of other"]: "pending"}
    assert cloud.only("Berlin", NAME)["visibility"] == "shared"
    assert f"member {projects['lonely']} not shared: no project 'lonely'" in caplog.text
    assert [len(lines) for lines in logs.member_writes().values()] == [2, 1]

    second = run(cloud, logs, master)
    assert second.exit_status == 0
    assert logs.member_writes() == NO_WRITES
    status = run(cloud, logs, master, mode=Mode.SHOW_STATUS)
    assert [line.split(",")[0] for line in status.lines] == ["ok", "ok"]


def test_a_dry_run_names_the_member_changes_and_makes_none(cloud, projects, logs, master):
    run(cloud, logs, master)
    cloud.client("Madrid").image_members.create(master["id"], projects["bystander"])
    outcome = run(cloud, logs, master, mode=Mode.DRY_RUN)
    lisbon = next(line for line in outcome.lines if line.startswith("Lisbon: "))
    assert lisbon == (
        f"Lisbon: would update metadata of {NAME}: add member(s) {projects['bystander']}"
    )
    assert logs.member_writes() == NO_WRITES


def test_a_member_that_accepted_stays_accepted_when_a_member_is_added(
    cloud, projects, logs, master
):
    run(cloud, logs, master)
    copy = cloud.only("Lisbon", NAME)
    as_tenant2 = cloud.local_cloud.glance("Lisbon", "tenant2")
    as_tenant2.image_members.update(copy["id"], projects["tenant2"], "accepted")
    cloud.client("Madrid").image_members.create(master["id"], projects["bystander"])
    outcome = run(cloud, logs, master)
    assert outcome.exit_status == 0
    assert members(cloud, "Lisbon") == {
        projects["tenant2"]: "accepted",
        projects["lonely"]: "pending",
        projects["bystander"]: "pending",
    }


def test_a_region_only_member_stays_unless_the_target_mirrors(cloud, projects, logs, master):
    run(cloud, logs, master)
    copy = cloud.only("Lisbon", NAME)
    cloud.client("Lisbon").image_members.create(copy["id"], projects["bystander"])
    run(cloud, logs, master)
    assert projects["bystander"] in members(cloud, "Lisbon")
    assert logs.member_writes() == NO_WRITES

    run(cloud, logs, master, "sync_members=mirror")
    assert set(members(cloud, "Lisbon")) == {projects["tenant2"], projects["lonely"]}
    assert [len(lines) for lines in logs.member_writes().values()] == [1, 0]


def test_a_new_version_keeps_the_members_of_the_copy_it_replaces(cloud, projects, logs, master):
    run(cloud, logs, master)
    old = cloud.only("Lisbon", NAME)
    cloud.client("Lisbon").image_members.create(old["id"], projects["bystander"])
    cloud.client("Madrid").images.delete(master["id"])
    new = cloud.put("Madrid", NAME, payload("a new version", KiB), visibility="shared")
    cloud.client("Madrid").image_members.create(new["id"], projects["tenant2"])
    outcome = run(cloud, logs, new, "replace=any")
    assert outcome.exit_status == 0
    assert cloud.only("Lisbon", NAME)["id"] != old["id"]
    assert set(members(cloud, "Lisbon")) == {
        projects["tenant2"],
        projects["lonely"],
        projects["bystander"],
    }


def test_keystone_lookups_find_projects_by_name_and_domain_and_a_refusal_finds_none(
    cloud, projects
):
    targets = Targets(settings(cloud.local_cloud).targets)
    assert targets["master"].project_identity(projects["tenant2"]) == ("tenant2", "Default")
    assert targets["other"].project_named("tenant2", "Default") == projects["tenant2 of other"]
    assert targets["other"].project_named("lonely", "Default") is None
    assert targets["other"].project_named("tenant2", "Elsewhere") is None
    account = cloud.local_cloud.account("tenant2")
    as_member = settings(
        cloud.local_cloud,
        f"master.user={account.user}",
        f"master.password={account.password}",
        f"master.project={account.project}",
    )
    assert Targets(as_member.targets)["master"].project_identity(projects["lonely"]) is None
