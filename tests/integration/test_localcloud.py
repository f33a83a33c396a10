"""The local cloud itself: catalogs, images in every region, tenants, reset, start and stop."""

from __future__ import annotations

import configparser
import hashlib
import io
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from glanceclient import exc
from keystoneauth1 import session
from keystoneauth1.identity import v3

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
EXPECTED_REGIONS = {"master": {"Madrid", "Lisbon", "Paris"}, "other": {"Berlin", "Rome"}}
REGIONS = ["Madrid", "Lisbon", "Paris", "Berlin", "Rome"]
# Random bytes under every disk format the tests of the tool use: Glance must not inspect them.
DISK_FORMATS = {"Madrid": "qcow2", "Lisbon": "raw", "Paris": "ami", "Berlin": "aki", "Rome": "ari"}
CONTAINERS = {"ami": "ami", "aki": "aki", "ari": "ari"}


def image_endpoints(session) -> dict[str, dict[str, str]]:
    """{region: {interface: url}} of the image service in the session's catalog."""
    catalog = session.auth.get_access(session).service_catalog
    found: dict[str, dict[str, str]] = {}
    for endpoint in catalog.get_endpoints(service_type="image")["image"]:
        found.setdefault(endpoint["region_id"], {})[endpoint["interface"]] = endpoint["url"]
    return found


def upload(glance, name: str, data: bytes, disk_format: str = "raw", **properties: str):
    """Create an image, upload its bytes and return it as Glance now shows it."""
    image = glance.images.create(
        name=name,
        disk_format=disk_format,
        container_format=CONTAINERS.get(disk_format, "bare"),
        visibility="private",
        **properties,
    )
    glance.images.upload(image.id, io.BytesIO(data), image_size=len(data))
    return glance.images.get(image.id)


def describe(run_localcloud, env: dict[str, str] | None = None) -> dict:
    """cloud.json as `localcloud info` prints it, with the current pids."""
    return json.loads(run_localcloud("info", env=env).stdout)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def processes_with(fragment: str) -> list[int]:
    """Pids whose command line (gunicorn's process title) contains the fragment."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and fragment.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("target", ["master", "other"])
def test_each_keystone_lists_its_glance_regions(local_cloud, target: str) -> None:
    description = local_cloud.target(target)
    endpoints = image_endpoints(local_cloud.session(description["admin"]["name"]))
    assert set(endpoints) == EXPECTED_REGIONS[target]
    for region, urls in endpoints.items():
        info = description["regions"][region]
        assert urls == {
            "public": info["url"],
            "admin": info["url"],
            "internal": info["internal_url"],
        }
        assert info["internal_url"] != info["url"]


@pytest.mark.parametrize("region", REGIONS)
def test_image_lifecycle_in_every_region(clean_cloud, region: str) -> None:
    glance = clean_cloud.glance(region)
    data = os.urandom(3 * MiB)
    image = upload(glance, f"lc-{region}", data, DISK_FORMATS[region], keep="1", old="a", gone="x")
    assert image.status == "active"
    assert image.size == len(data)
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert [listed.id for listed in glance.images.list()] == [image.id]

    patched = glance.images.update(image.id, remove_props=["gone"], old="b", new="c")
    assert (patched["keep"], patched["old"], patched["new"]) == ("1", "b", "c")
    assert "gone" not in patched

    assert b"".join(glance.images.data(image.id)) == data
    glance.images.delete(image.id)
    assert list(glance.images.list()) == []
    with pytest.raises(exc.HTTPNotFound):
        glance.images.get(image.id)


def test_kernel_and_ramdisk_ids_must_be_uuids(clean_cloud) -> None:
    """Every region has the image property schema of a real deployment (schema-image.json)."""
    for target in clean_cloud["targets"].values():
        session = clean_cloud.session(target["admin"]["name"])
        for region in target["regions"]:
            glance = {"service_type": "image", "region_name": region, "interface": "public"}
            for ids in ({"kernel_id": "not-a-uuid"}, {"ramdisk_id": "1234"}):
                response = session.post(
                    "/v2/images",
                    endpoint_filter=glance,
                    raise_exc=False,
                    json={"name": "bad", "disk_format": "ami", **ids},
                )
                assert response.status_code == 400, response.text
            kernel = clean_cloud.glance(region).images.create(
                name="kernel", disk_format="aki", container_format="aki"
            )
            image = clean_cloud.glance(region).images.create(
                name="ami",
                disk_format="ami",
                container_format="ami",
                kernel_id=kernel.id,
                ramdisk_id=None,
            )
            assert image["kernel_id"] == kernel.id


def test_a_region_serves_downloads_in_parallel(clean_cloud) -> None:
    """A download left unread does not block another one (regions copy from the master at once)."""
    data = os.urandom(16 * MiB)
    image = upload(clean_cloud.glance("Madrid"), "big", data)
    stalled = clean_cloud.glance("Madrid").images.data(image.id)
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(lambda: b"".join(clean_cloud.glance("Madrid").images.data(image.id)))
        assert second.result(timeout=60) == data
    assert b"".join(stalled) == data


def test_admin_sees_the_image_of_another_project(clean_cloud) -> None:
    user2 = clean_cloud.glance("Madrid", "tenant2")
    image = upload(user2, "lc-tenant2", b"tenant2 bytes")
    tenant2_project = clean_cloud.session("tenant2").get_project_id()
    admin_project = clean_cloud.session("master").get_project_id()
    assert tenant2_project != admin_project

    seen = {listed.id: listed for listed in clean_cloud.glance("Madrid").images.list()}
    assert seen[image.id].owner == tenant2_project
    assert [listed.id for listed in user2.images.list()] == [image.id]


def test_reset_empties_every_region_fast(local_cloud, run_localcloud) -> None:
    for region in REGIONS:
        upload(local_cloud.glance(region), "before-reset", os.urandom(64 * 1024))

    began = time.monotonic()
    run_localcloud("reset")
    assert time.monotonic() - began < 2

    for target in local_cloud["targets"].values():
        for region, description in target["regions"].items():
            glance = local_cloud.glance(region)
            assert list(glance.images.list()) == []
            assert list(Path(description["store"]).iterdir()) == []
            assert upload(glance, "after-reset", b"new bytes").status == "active"


def test_client_files_describe_the_cloud(local_cloud) -> None:
    conf = local_cloud.conf
    assert conf.stat().st_mode & 0o777 == 0o600
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    assert parser["main"]["master_region"] == local_cloud["master_region"] == "Madrid"
    for name in ("master", "other"):
        target = local_cloud.target(name)
        section = parser[name]
        assert section["auth_url"] == target["auth_url"]
        assert (section["user"], section["password"]) == (
            target["admin"]["user"],
            target["admin"]["password"],
        )
        assert section["project"] == "admin"
    assert (
        local_cloud.target("master")["admin"]["user"]
        != local_cloud.target("other")["admin"]["user"]
    )

    for target in local_cloud["targets"].values():
        for account in target["accounts"].values():
            openrc = Path(account["openrc"]).read_text()
            assert f"export OS_USERNAME={account['user']}" in openrc
            assert f"export OS_AUTH_URL={target['auth_url']}" in openrc
    clouds = Path(local_cloud["clouds_yaml"]).read_text()
    for cloud in ("master", "other", "tenant2"):
        assert f"\n  {cloud}:\n" in clouds


def test_second_start_leaves_running_servers_alone(local_cloud, run_localcloud) -> None:
    before = {server["name"]: server["pid"] for server in describe(run_localcloud)["servers"]}
    run_localcloud("start")
    after = {server["name"]: server["pid"] for server in describe(run_localcloud)["servers"]}
    assert after == before
    assert None not in after.values()


def test_stop_leaves_no_process_behind(local_cloud, run_localcloud, tmp_path: Path):
    """A private cloud (own state directory and ports, shared venv) started and stopped."""
    state = tmp_path / "cloud"
    state.mkdir()
    (state / "venv").symlink_to(Path(local_cloud["state_dir"]) / "venv")
    env = dict(
        os.environ,
        GLANCESYNC_LOCALCLOUD_DIR=str(state),
        GLANCESYNC_LOCALCLOUD_PORT=str(local_cloud["base_port"] + 20),
    )
    try:
        run_localcloud("start", env=env)
        servers = describe(run_localcloud, env)["servers"]
        titles = [f"localcloud-{server['name']}-{server['port']}]" for server in servers]
        assert run_localcloud("status", env=env).returncode == 0
        assert all(processes_with(title) for title in titles)

        run_localcloud("stop", env=env)
        assert not any(processes_with(title) for title in titles)
        assert not any(listening(server["port"]) for server in servers)
        status = run_localcloud("status", env=env, check=False)
        assert status.returncode == 1
        assert status.stdout.count("stopped") == len(servers)

        failed = run_localcloud("start", "--timeout", "0", env=env, check=False)
        assert failed.returncode != 0
        assert "did not answer in time" in failed.stderr
        assert "server.log" in failed.stderr
        assert not any(processes_with(title) for title in titles)
        assert not any(listening(server["port"]) for server in servers)
    finally:
        run_localcloud("stop", env=env, check=False)


@pytest.mark.parametrize("target", ["master", "other"])
def test_each_admin_has_an_application_credential(local_cloud, target: str) -> None:
    description = local_cloud.target(target)
    credential = description["app_credential"]
    auth = v3.ApplicationCredential(
        auth_url=description["auth_url"],
        application_credential_name=credential["name"],
        application_credential_secret=credential["secret"],
        username=credential["user"],
        user_domain_name=local_cloud.domain,
    )
    assert session.Session(auth=auth).get_project_id()
