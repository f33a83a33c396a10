"""One scenario's world: the images it arranged, its settings, and the runs of glancesync."""

from __future__ import annotations

import configparser
import fcntl
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

from localcloud_client import LocalCloud

from harness.images import (
    Expectation,
    ImageSpec,
    Record,
    checksum,
    records,
    reference_resolver,
    substitute,
    time_ago,
)

GLANCESYNC = str(Path(sys.executable).with_name("glancesync"))
RUN_TIMEOUT = 120
TERMINAL_COLUMNS = 120
# The scenario's own run lock: runs of other test sessions on this machine do not collide.
LOCK_FILE = "glancesync.lock"
Snapshot = dict[str, dict[str, Record]]  # region -> image UUID -> record


class World:
    """Arranges images directly in Glance, runs glancesync, and inspects Glance afterwards."""

    def __init__(self, cloud: LocalCloud, workdir: Path) -> None:
        self.cloud = cloud
        self.workdir = workdir
        self.settings: list[str] = []
        self.specs: dict[tuple[str, str], ImageSpec] = {}
        self.ids: dict[tuple[str, str], str] = {}
        self.sizes: dict[str, int] = {}  # content label -> size
        self.result: subprocess.CompletedProcess | None = None
        self.file_settings: dict[str, dict[str, str]] = {}  # section -> key -> value
        self.before: Snapshot = {}
        self.dirs_before: set[Path] = set()
        self.logs_before: dict[str, int] = {}  # region -> size of its Glance's log before the run
        self.held_lock: IO[str] | None = None

    # --- arranging

    def arrange(self, region: str, specs: Iterable[ImageSpec]) -> None:
        """Create the images in the region, in order (`{id of NAME}` refers to an earlier one)."""
        for spec in specs:
            self._register_content(spec.content, spec.size)
            self.ids[region, spec.name] = self._create(region, spec)
            self.specs[region, spec.name] = spec

    def _create(self, region: str, spec: ImageSpec) -> str:
        """Create as the owner; a public image of a member is shared, then published by the
        admin (only admins may publish)."""
        published_by_admin = spec.owner is not None and spec.visibility == "public"
        created = replace(spec, visibility="shared") if published_by_admin else spec
        image_id = created.create(self.cloud.glance(region, spec.owner), self._resolver(region))
        if published_by_admin:
            self.cloud.glance(region).images.update(image_id, visibility="public")
        return image_id

    def copy(self, names: Sequence[str], regions: Sequence[str]) -> None:
        """Give the regions copies of master images: same bytes, visibility and properties."""
        specs = [self.specs[self.cloud.master_region, name] for name in names]
        for region in regions:
            self.arrange(region, specs)

    def change_activation(self, region: str, name: str, action: str) -> None:
        """`deactivate` or `reactivate` the region's one image NAME, as its admin does."""
        glance = self.cloud.glance(region)
        [image_id] = [record["id"] for record in records(glance) if record["name"] == name]
        getattr(glance.images, action)(image_id)

    def master_names(self) -> list[str]:
        return [name for region, name in self.specs if region == self.cloud.master_region]

    def _register_content(self, label: str, size: int) -> None:
        if self.sizes.setdefault(label, size) != size:
            raise ValueError(f"content {label} is used with two sizes: {self.sizes[label]}, {size}")

    def _resolver(self, region: str) -> Callable[[str], str]:
        """Placeholders of a value: `{id of NAME}` of an image arranged in the region,
        `{checksum of LABEL}` of an arranged content, `{auth_url of TARGET}`,
        `{password of ACCOUNT}`, `{time of 40 days ago}`."""
        lookups: dict[str, Callable[[str], str]] = {
            "id": lambda name: self.ids[region, name],
            "checksum": self._checksum_of,
            "auth_url": lambda target: self.cloud.data["targets"][target]["auth_url"],
            "password": lambda account: self.cloud.account(account).password,
            "time": time_ago,
        }
        return lambda value: substitute(value, lambda kind, name: lookups[kind](name))

    def set_in_file(self, section: str, key: str, value: str) -> None:
        """A value written in the scenario's configuration file (a copy of the cloud's)."""
        resolve = self._resolver(self.cloud.master_region)
        self.file_settings.setdefault(section, {})[key] = resolve(value)

    def config_file(self) -> Path:
        """The cloud's glancesync.conf, or the scenario's copy with its file settings."""
        if not self.file_settings:
            return self.cloud.conf
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.cloud.conf)
        parser.read_dict(self.file_settings)
        path = self.workdir / "glancesync.conf"
        with path.open("w") as handle:
            parser.write(handle)
        return path

    def add_setting(self, assignment: str) -> None:
        """A `--config KEY=VALUE` for every run; `{id of NAME}` is the master's UUID."""
        self.settings.append(self._resolver(self.cloud.master_region)(assignment))

    # --- running

    def run(
        self, arguments: str, openrc: str | None = None, terminal: bool = False
    ) -> subprocess.CompletedProcess:
        """glancesync ARGUMENTS with the scenario settings, and the cloud's configuration file
        or, with `openrc`, no file but the OS_* variables of that account. In a `terminal`,
        the run's stdout and stderr are a pseudo-terminal of `script`, whose typescript (what
        the terminal showed, both streams) becomes the result's stdout."""
        config = [] if openrc else ["--config-file", str(self.config_file())]
        argv = [
            GLANCESYNC,
            *config,
            *shlex.split(arguments),
            "--config",
            f"main.lock_file={self.lock_file}",
            f"main.cache_dir={self.workdir}",  # its run caches and refusals of formats
            *self.settings,
        ]
        if terminal:
            shown = f"stty cols {TERMINAL_COLUMNS} rows 40; exec {shlex.join(argv)}"
            argv = ["script", "--quiet", "--return", "--flush", "--command", shown, "/dev/null"]
        self.before = self.snapshot()
        self.logs_before = {
            region: self._access_log(region).stat().st_size for region in self.cloud.regions
        }
        self.dirs_before = {path for path in self.workdir.rglob("*") if path.is_dir()}
        self.result = _run(argv, self.workdir, self.cloud.cli_environment(openrc))
        return self.result

    @property
    def lock_file(self) -> Path:
        return self.workdir / LOCK_FILE

    def hold_lock(self) -> None:
        """Take the run lock as another glancesync run would, until the scenario ends."""
        self.held_lock = self.lock_file.open("w")
        fcntl.flock(self.held_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Let go of what the scenario holds."""
        if self.held_lock is not None:
            self.held_lock.close()

    def new_directories(self, parent: str) -> list[Path]:
        """Directories the last run created right under `parent` (relative to its cwd)."""
        where = self.workdir / parent
        found = sorted(where.iterdir()) if where.is_dir() else []
        return [path for path in found if path.is_dir() and path not in self.dirs_before]

    def explain(self) -> str:
        """The last run, for failure messages."""
        if self.result is None:
            return "glancesync was not run"
        return (
            f"$ {shlex.join(self.result.args)}\nexit status {self.result.returncode}\n"
            f"--- stdout\n{self.result.stdout}--- stderr\n{self.result.stderr}"
        )

    # --- inspecting

    def _access_log(self, region: str) -> Path:
        """The log of the region's Glance server, one line per request."""
        return Path(self.cloud.region_info(region)["store"]).parent / "server.log"

    def member_writes(self) -> list[str]:
        """The calls of the last glancesync run that added, changed or removed a member."""
        found = []
        for region, offset in self.logs_before.items():
            with self._access_log(region).open("rb") as log:
                log.seek(offset)
                lines = log.read().decode(errors="replace").splitlines()
            found += [
                f"{region}: {line}"
                for line in lines
                if '"glancesync/' in line
                and "/members" in line
                and line.split('"')[1].split()[0] in ("POST", "PUT", "DELETE")
            ]
        return found

    def leaked_secrets(self) -> list[str]:
        """Where the last run showed a password of the cloud or of the scenario's settings."""
        secrets = {
            account["password"]
            for target in self.cloud.data["targets"].values()
            for account in target["accounts"].values()
        } | {
            value
            for key, _, value in (setting.partition("=") for setting in self.settings)
            if key.lower().endswith("password") and value
        }
        streams = {"output": self.result.stdout, "errors": self.result.stderr}
        return [
            f"a password appears in the {where}"
            for where, text in streams.items()
            for secret in secrets
            if secret in text
        ]

    def snapshot(self) -> Snapshot:
        return {
            region: {record["id"]: record for record in records(self.cloud.glance(region))}
            for region in self.cloud.regions
        }

    def image_differences(self, region: str, rows: Sequence[Mapping[str, str]]) -> list[str]:
        """How the region's images differ from exactly these rows (empty: they match)."""
        remaining = list(records(self.cloud.glance(region)))
        resolve = reference_resolver(remaining, region)
        problems = []
        for row in rows:
            expectation = Expectation(row)
            candidates = [r for r in remaining if r.get("name") == expectation.name]
            found = [
                (
                    record,
                    expectation.differences(
                        record, self._checksum_of, self.cloud.project_id, resolve
                    ),
                )
                for record in candidates
            ]
            match = next((record for record, diff in found if not diff), None)
            if match is not None:
                remaining.remove(match)
            elif found:
                problems.append(f"{region}: image {expectation.name}: {'; '.join(found[0][1])}")
            else:
                problems.append(f"{region}: image {expectation.name} is missing")
        problems += [f"{region}: unexpected image {r.get('name')!r} ({r['id']})" for r in remaining]
        return problems

    def _checksum_of(self, label: str) -> str:
        if label not in self.sizes:
            raise ValueError(f"content {label} was never arranged in this scenario")
        return checksum(label, self.sizes[label])

    def changes(self, regions: Iterable[str], names: Iterable[str] | None = None) -> list[str]:
        """Images of the regions (only those named, if names are given) that the last run
        created, deleted or modified in any way."""
        after = self.snapshot()
        wanted = set(names) if names is not None else None
        problems = []
        for region in regions:
            old, new = self.before[region], after[region]
            for image_id in sorted(old.keys() | new.keys()):
                record = new.get(image_id) or old[image_id]
                if wanted is not None and record.get("name") not in wanted:
                    continue
                if image_id not in new:
                    problems.append(f"{region}: {record.get('name')} ({image_id}) was deleted")
                elif image_id not in old:
                    problems.append(f"{region}: {record.get('name')} ({image_id}) was created")
                elif old[image_id] != new[image_id]:
                    problems.append(f"{region}: {record.get('name')} ({image_id}) was modified")
        return problems

    def replacements(self, regions: Iterable[str], names: Iterable[str]) -> list[str]:
        """Named images that the last run did not keep under the same UUID (renamed, deleted,
        or joined by a new image of that name)."""
        after = self.snapshot()
        problems = []
        for region in regions:
            for name in names:
                old = sorted(i for i, r in self.before[region].items() if r.get("name") == name)
                new = sorted(i for i, r in after[region].items() if r.get("name") == name)
                if old != new:
                    problems.append(f"{region}: {name} was {old}, is now {new}")
        return problems


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the command in its own process group; on timeout, kill the group (--parallel
    children included) and fail with what it printed."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"$ {shlex.join(argv)}\nstill running after {RUN_TIMEOUT} s: killed\n"
            f"--- stdout\n{stdout}--- stderr\n{stderr}"
        ) from None
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
