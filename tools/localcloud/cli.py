"""Command line: start, stop, status, reset, info."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from . import clientfiles, cloudenv, servers, state, topology
from .errors import CloudError
from .topology import Cloud, Server

DEFAULT_TIMEOUT = 180.0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cloud = topology.load()
    try:
        with _locked(cloud):
            return args.handler(cloud, args)
    except CloudError as error:
        print(f"localcloud: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`); progress goes to stderr, so the work is done.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 tools/localcloud",
        description="A local OpenStack (2 Keystones, 5 Glance regions) for glancesync's tests. "
        "State: $GLANCESYNC_LOCALCLOUD_DIR (default .localcloud/), ports from "
        f"$GLANCESYNC_LOCALCLOUD_PORT (default {topology.DEFAULT_BASE_PORT}).",
    )
    commands = parser.add_subparsers(required=True, metavar="command")
    start_parser = commands.add_parser("start", help="install, bootstrap and start what is missing")
    start_parser.add_argument(
        "--fresh", action="store_true", help="restore the pristine state first"
    )
    start_parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    start_parser.set_defaults(handler=start)
    for name, handler, text in (
        ("stop", stop, "stop the servers started here"),
        ("status", status, "show each server and whether it answers"),
        ("reset", reset, "delete every image of every region"),
        ("info", info, "print cloud.json"),
    ):
        commands.add_parser(name, help=text).set_defaults(handler=handler)
    return parser


@contextmanager
def _locked(cloud: Cloud) -> Iterator[None]:
    """One command at a time per state directory."""
    cloud.state_dir.mkdir(parents=True, exist_ok=True)
    with (cloud.state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start(cloud: Cloud, args: argparse.Namespace) -> int:
    """Bring every server up, building or restoring the state it needs."""
    began = time.monotonic()
    running = [server.name for server in cloud.servers if servers.running_pid(server)]
    fingerprint = cloud.fingerprint(cloudenv.requirements_hash())
    live = state.is_stamped(cloud.stamp, fingerprint) and not args.fresh
    if running and args.fresh:
        raise CloudError(f"{', '.join(running)} running: stop first (needed by --fresh)")
    if running and (not live or not cloudenv.is_current(cloud.venv)):
        # A state made by another version of the cloud (its shape, accounts or packages):
        # its servers are ours (their pid files), so they are stopped and the state rebuilt.
        print(f"an older state is running ({', '.join(running)}): stopping it to rebuild",
              file=sys.stderr, flush=True)  # fmt: skip
        servers.stop(list(cloud.servers))
    cloudenv.ensure(cloud.venv)
    state.write_configs(cloud)
    if not live:
        cloud.stamp.unlink(missing_ok=True)
        if state.is_stamped(cloud.pristine / "stamp.json", fingerprint):
            state.restore(cloud)
        else:
            _bootstrap(cloud, fingerprint, args.timeout)
        state.stamp(cloud.stamp, fingerprint)
    _launch_missing(cloud, args.timeout)
    clientfiles.write_all(cloud)
    _print_summary(cloud, time.monotonic() - began)
    return 0


def _bootstrap(cloud: Cloud, fingerprint: str, timeout: float) -> None:
    """Create every database, start the servers, register Glance, save the pristine state."""
    print("bootstrapping a new cloud", file=sys.stderr, flush=True)
    state.create_databases(cloud)
    with _stopped_on_failure(cloud.servers):
        servers.launch(list(cloud.servers), cloud.venv)
        servers.wait_ready([target.keystone for target in cloud.targets], timeout)
        with ThreadPoolExecutor(len(cloud.targets)) as pool:
            for future in [pool.submit(state.register, cloud, t) for t in cloud.targets]:
                future.result()
        servers.wait_ready(list(cloud.servers), timeout)
        state.snapshot(cloud, fingerprint)


def _launch_missing(cloud: Cloud, timeout: float) -> None:
    missing = [server for server in cloud.servers if not servers.running_pid(server)]
    with _stopped_on_failure(missing):
        servers.launch(missing, cloud.venv)
        servers.wait_ready(list(cloud.servers), timeout)


@contextmanager
def _stopped_on_failure(started: Iterable[Server]) -> Iterator[None]:
    """Stop the servers started by this command if it fails."""
    try:
        yield
    except CloudError:
        servers.stop(list(started))
        raise


def _print_summary(cloud: Cloud, seconds: float) -> None:
    print(f"local cloud ready in {seconds:.1f} s, state in {cloud.state_dir}")
    for target in cloud.targets:
        regions = " ".join(region.name for region in target.regions)
        users = ", ".join(f"{a.user}@{a.project}" for a in target.accounts)
        print(f"  {target.name:7} {target.auth_url}  regions: {regions}  users: {users}")
    print("  Glance does not check image formats (require_image_format_match = false).")
    print("  Fixed test passwords (see the openrc files); listening on 127.0.0.1 only.")
    openrcs = " ".join(cloud.openrc(a).name for t in cloud.targets for a in t.accounts)
    print("use it:")
    print(f"  export GLANCESYNC_CONFIG={cloud.conf}")
    print(f"  . {cloud.openrc(cloud.targets[0].admin)}    # also: {openrcs}")
    print(f"  export OS_CLIENT_CONFIG_FILE={cloud.clouds_yaml}    # clouds master, other, tenant2")
    print(f"  description for programs: {cloud.description}")


def stop(cloud: Cloud, args: argparse.Namespace) -> int:
    """Stop the servers by the pids recorded at start."""
    stopped = servers.stop(list(cloud.servers))
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    if cloud.description.exists():
        clientfiles.write_all(cloud)
    return 0


def status(cloud: Cloud, args: argparse.Namespace) -> int:
    """One line per server; exit 0 only when every server answers."""
    all_up = True
    for server in cloud.servers:
        pid = servers.running_pid(server)
        up = pid is not None and servers.answers(server)
        all_up = all_up and up
        condition = "up" if up else ("not answering" if pid else "stopped")
        print(f"{server.name:16} {server.url:24} pid {pid or '-':>7}  {condition}")
    return 0 if all_up else 1


def reset(cloud: Cloud, args: argparse.Namespace) -> int:
    """Empty every Glance region, servers running or not."""
    if not cloud.stamp.exists():
        raise CloudError(f"no local cloud in {cloud.state_dir}: run start first")
    began = time.monotonic()
    state.empty_glances(cloud)
    print(f"every region emptied in {time.monotonic() - began:.2f} s")
    return 0


def info(cloud: Cloud, args: argparse.Namespace) -> int:
    """Print the description of the cloud (as in cloud.json, with current pids)."""
    print(json.dumps(clientfiles.describe(cloud), indent=2))
    return 0
