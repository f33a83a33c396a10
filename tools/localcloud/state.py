"""The cloud's persistent state: configurations, databases, keys, the pristine snapshot, reset."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import render
from .cloudenv import environment
from .errors import CloudError, tail
from .topology import DOMAIN, SERVICE_PASSWORD, SERVICE_PROJECT, SERVICE_USER, Cloud, Server, Target

HERE = Path(__file__).resolve().parent
KEY_DIRS = ("fernet-keys", "credential-keys")
GLANCE_DIRS = ("images", "staging", "locks")
# Children first: the foreign keys point at images and tasks.
IMAGE_TABLES = (
    "image_members",
    "image_tags",
    "image_properties",
    "image_locations",
    "cached_images",
    "images",
    "task_info",
    "tasks",
)


def write_configs(cloud: Cloud) -> None:
    """Write every server's configuration (cheap; done on every start)."""
    paste = cloud.venv / "etc" / "glance" / "glance-api-paste.ini"
    for target in cloud.targets:
        target.keystone.home.mkdir(parents=True, exist_ok=True)
        target.keystone.conf.write_text(render.keystone_conf(target.keystone))
        for region in target.regions:
            glance = region.glance
            glance.home.mkdir(parents=True, exist_ok=True)
            for name in GLANCE_DIRS:
                (glance.home / name).mkdir(exist_ok=True)
            glance.conf.write_text(render.glance_conf(region, target))
            shutil.copyfile(paste, glance.home / "glance-api-paste.ini")
            shutil.copyfile(HERE / "schema-image.json", glance.home / "schema-image.json")


def is_stamped(path: Path, fingerprint: str) -> bool:
    """True when the stamp file records this fingerprint."""
    try:
        return json.loads(path.read_text())["fingerprint"] == fingerprint
    except (OSError, ValueError, KeyError):
        return False


def stamp(path: Path, fingerprint: str) -> None:
    path.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")


def create_databases(cloud: Cloud) -> None:
    """Fresh databases and keys for every server: each schema is synced once, then copied."""
    for server in cloud.servers:
        server.db.unlink(missing_ok=True)
        _empty_glance_dirs(server)
    keystones = [target.keystone for target in cloud.targets]
    glances = [server for server in cloud.servers if server.kind == "glance"]
    _parallel(
        [
            _manage(cloud, keystones[0], "db_sync"),
            _manage(cloud, glances[0], "db_sync"),
        ]
    )
    for server in keystones[1:]:
        shutil.copyfile(keystones[0].db, server.db)
    for server in glances[1:]:
        shutil.copyfile(glances[0].db, server.db)
    for target in cloud.targets:
        _create_keys(target.keystone)
    _parallel([_bootstrap(cloud, target) for target in cloud.targets])


def register(cloud: Cloud, target: Target) -> None:
    """Register the image service, regions and accounts in a running Keystone."""
    plan = {
        "auth_url": target.auth_url,
        "domain": DOMAIN,
        "admin": vars(target.admin),
        "service_user": {
            "user": SERVICE_USER,
            "password": SERVICE_PASSWORD,
            "project": SERVICE_PROJECT,
        },
        "members": [vars(account) for account in target.members],
        "regions": {region.name: region.glance.url for region in target.regions},
        "internal": {region.name: region.internal_url for region in target.regions},
        "app_credential": vars(target.app_credential),
    }
    log = target.keystone.home / "register.log"
    with log.open("w") as out:
        result = subprocess.run(
            [str(cloud.venv / "bin" / "python"), str(HERE / "cloudside" / "register.py")],
            input=json.dumps(plan),
            text=True,
            env=environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode:
        raise CloudError(f"registration in {target.keystone.name} failed; see {log}\n{tail(log)}")


def snapshot(cloud: Cloud, fingerprint: str) -> None:
    """Save the bootstrapped databases and keys as the pristine state."""
    shutil.rmtree(cloud.pristine, ignore_errors=True)
    for server in cloud.servers:
        saved = cloud.pristine / server.name
        saved.mkdir(parents=True)
        _copy_db(server.db, saved / server.db.name)
        if server.kind == "keystone":
            for name in KEY_DIRS:
                shutil.copytree(server.home / name, saved / name)
    stamp(cloud.pristine / "stamp.json", fingerprint)


def restore(cloud: Cloud) -> None:
    """Put the pristine databases and keys back, and empty the image stores (servers stopped)."""
    for server in cloud.servers:
        saved = cloud.pristine / server.name
        server.home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved / server.db.name, server.db)
        if server.kind == "keystone":
            for name in KEY_DIRS:
                shutil.rmtree(server.home / name, ignore_errors=True)
                shutil.copytree(saved / name, server.home / name)
        _empty_glance_dirs(server)


def empty_glances(cloud: Cloud) -> None:
    """Delete every image and task of every region, even while the servers run."""
    for server in cloud.servers:
        if server.kind != "glance" or not server.db.exists():
            continue
        with sqlite3.connect(server.db, timeout=30) as db:
            for table in IMAGE_TABLES:
                db.execute(f"DELETE FROM {table}")
        db.close()
        _empty_glance_dirs(server)


def _empty_glance_dirs(server: Server) -> None:
    if server.kind != "glance":
        return
    for name in ("images", "staging"):
        shutil.rmtree(server.home / name, ignore_errors=True)
        (server.home / name).mkdir(parents=True)


def _copy_db(source: Path, destination: Path) -> None:
    """A consistent copy of a SQLite database that a server may have open."""
    with sqlite3.connect(source) as live, sqlite3.connect(destination) as copy:
        live.backup(copy)
    live.close()
    copy.close()


def _create_keys(keystone: Server) -> None:
    """Fernet token and credential key repositories: a staged key 0 and a primary key 1."""
    for name in KEY_DIRS:
        repository = keystone.home / name
        shutil.rmtree(repository, ignore_errors=True)
        repository.mkdir(mode=0o700)
        for index in (0, 1):
            key = repository / str(index)
            key.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
            key.chmod(0o600)


def _bootstrap(cloud: Cloud, target: Target) -> tuple[list[str], Path]:
    admin = target.admin
    return _manage(
        cloud,
        target.keystone,
        "bootstrap",
        "--bootstrap-username",
        admin.user,
        "--bootstrap-password",
        admin.password,
        "--bootstrap-project-name",
        admin.project,
        "--bootstrap-region-id",
        target.identity_region,
        "--bootstrap-public-url",
        target.auth_url,
        "--bootstrap-internal-url",
        target.auth_url,
        "--bootstrap-admin-url",
        target.auth_url,
    )


def _manage(cloud: Cloud, server: Server, *args: str) -> tuple[list[str], Path]:
    """A keystone-manage or glance-manage command for this server, with its log."""
    tool = cloud.venv / "bin" / f"{server.kind}-manage"
    return [str(tool), "--config-file", str(server.conf), *args], server.home / "manage.log"


def _parallel(commands: list[tuple[list[str], Path]]) -> None:
    """Run the commands concurrently; fail with the first failure's log."""
    with ThreadPoolExecutor(len(commands)) as pool:
        for future in [pool.submit(_run, *command) for command in commands]:
            future.result()


def _run(command: list[str], log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(
            command, env=environment(), stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode:
        raise CloudError(f"{' '.join(command[:4])}... failed; see {log}\n{tail(log)}")
