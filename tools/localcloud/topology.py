"""The shape of the local cloud: Keystones, Glance regions, accounts, ports and paths.

Everything is derived from two settings: the state directory and the base port. The
passwords are fixed on purpose: the cloud listens on 127.0.0.1 only and exists for tests.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Below Linux's ephemeral range (32768-60999), so that no client socket holds a port before
# its server starts.
DEFAULT_BASE_PORT = 25300
DOMAIN = "Default"
SERVICE_PROJECT = "service"
SERVICE_USER = "glance"
SERVICE_PASSWORD = "lc-glance-service-secret"


@dataclass(frozen=True)
class Account:
    """A Keystone user with a role in one project."""

    name: str
    user: str
    password: str
    project: str
    role: str


@dataclass(frozen=True)
class Server:
    """One gunicorn server: a Keystone or the Glance of one region."""

    name: str
    kind: str
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.home / "server.pid"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def db(self) -> Path:
        return self.home / f"{self.kind}.db"

    @property
    def conf(self) -> Path:
        return self.home / ("keystone.conf" if self.kind == "keystone" else "glance-api.conf")

    @property
    def probe_path(self) -> str:
        """A path that answers 200 without a token once the application is loaded."""
        return "/v3" if self.kind == "keystone" else "/healthcheck"


@dataclass(frozen=True)
class Region:
    """A Glance region registered in a Keystone; its `internal` endpoint is a port where nothing
    listens unless a test puts a proxy there (it differs from the public one on purpose)."""

    name: str
    glance: Server
    internal_port: int
    glance_download: bool = False
    """Its Glance offers the `glance-download` import method (copies from another region of
    the same Keystone by itself)."""

    @property
    def internal_url(self) -> str:
        return f"http://{HOST}:{self.internal_port}"


@dataclass(frozen=True)
class AppCredential:
    """An application credential of a target's admin (sync) account, its secret chosen."""

    name: str
    secret: str


@dataclass(frozen=True)
class Target:
    """A Keystone with its Glance regions and accounts."""

    name: str
    keystone: Server
    identity_region: str
    admin: Account
    members: tuple[Account, ...]
    regions: tuple[Region, ...]
    app_credential: AppCredential

    @property
    def auth_url(self) -> str:
        return f"{self.keystone.url}/v3"

    @property
    def accounts(self) -> tuple[Account, ...]:
        return (self.admin, *self.members)


@dataclass(frozen=True)
class Cloud:
    """The whole local cloud and where its state lives."""

    state_dir: Path
    base_port: int
    targets: tuple[Target, ...]
    master_region: str

    @property
    def servers(self) -> tuple[Server, ...]:
        found: list[Server] = []
        for target in self.targets:
            found.append(target.keystone)
            found.extend(region.glance for region in target.regions)
        return tuple(found)

    @property
    def venv(self) -> Path:
        return self.state_dir / "venv"

    @property
    def pristine(self) -> Path:
        return self.state_dir / "pristine"

    @property
    def stamp(self) -> Path:
        """Written when the live state is fully bootstrapped."""
        return self.state_dir / "bootstrapped.json"

    @property
    def conf(self) -> Path:
        return self.state_dir / "glancesync.conf"

    @property
    def clouds_yaml(self) -> Path:
        return self.state_dir / "clouds.yaml"

    @property
    def description(self) -> Path:
        return self.state_dir / "cloud.json"

    def openrc(self, account: Account) -> Path:
        return self.state_dir / f"openrc-{account.name}"

    def fingerprint(self, requirements_hash: str) -> str:
        """A hash of everything baked into the databases (URLs, names, passwords, versions)."""
        shape = {
            "requirements": requirements_hash,
            "targets": [_target_shape(target) for target in self.targets],
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def _target_shape(target: Target) -> dict:
    return {
        "name": target.name,
        "keystone": target.keystone.url,
        "identity_region": target.identity_region,
        "accounts": [vars(account) for account in target.accounts],
        "regions": {region.name: region.glance.url for region in target.regions},
        "internal": {region.name: region.internal_url for region in target.regions},
        "glance_download": [region.name for region in target.regions if region.glance_download],
        "app_credential": vars(target.app_credential),
    }


def load() -> Cloud:
    """Build the cloud from $GLANCESYNC_LOCALCLOUD_DIR and $GLANCESYNC_LOCALCLOUD_PORT."""
    state_dir = Path(os.environ.get("GLANCESYNC_LOCALCLOUD_DIR") or REPO_ROOT / ".localcloud")
    base_port = int(os.environ.get("GLANCESYNC_LOCALCLOUD_PORT") or DEFAULT_BASE_PORT)
    return build(state_dir.resolve(), base_port)


def build(state_dir: Path, base_port: int) -> Cloud:
    """Two Keystones: `master` (Madrid, Lisbon, Paris) and `other` (Berlin, Rome); Paris's
    Glance offers glance-download, the others do not."""
    ports = iter(range(base_port, base_port + 50))
    internal_ports = iter(range(base_port + 50, base_port + 100))

    def server(name: str, kind: str) -> Server:
        return Server(name, kind, next(ports), state_dir / name)

    def regions(*names: str, glance_download: tuple[str, ...] = ()) -> tuple[Region, ...]:
        return tuple(
            Region(
                name,
                server(f"glance-{name.lower()}", "glance"),
                next(internal_ports),
                glance_download=name in glance_download,
            )
            for name in names
        )

    master = Target(
        name="master",
        keystone=server("keystone-master", "keystone"),
        identity_region="Madrid",
        admin=Account("master", "admin", "lc-admin-secret-A", "admin", "admin"),
        members=(Account("tenant2", "user2", "lc-user2-secret", "tenant2", "member"),),
        regions=regions("Madrid", "Lisbon", "Paris", glance_download=("Paris",)),
        app_credential=AppCredential("glancesync", "lc-appcred-secret-A"),
    )
    other = Target(
        name="other",
        keystone=server("keystone-other", "keystone"),
        identity_region="Berlin",
        admin=Account("other", "otheradmin", "lc-otheradmin-secret-B", "admin", "admin"),
        members=(),
        regions=regions("Berlin", "Rome"),
        app_credential=AppCredential("glancesync", "lc-appcred-secret-B"),
    )
    return Cloud(state_dir, base_port, (master, other), master_region="Madrid")
