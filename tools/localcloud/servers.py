"""Starting, probing and stopping the gunicorn servers, always by the pids recorded at start."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .cloudenv import environment
from .errors import CloudError, tail
from .topology import HOST, Server

CLOUDSIDE = Path(__file__).resolve().parent / "cloudside"
THREADS = 8
REQUEST_TIMEOUT = 3600
# Idle keep-alive connections are kept longer than gunicorn's 2 s, like a production front end:
# with 2 s, a client that reuses a pooled connection just as the server closes it gets
# "Remote end closed connection without response".
KEEP_ALIVE = 75
STOP_TIMEOUT = 15.0


def arguments(server: Server) -> list[str]:
    """gunicorn's arguments to serve the service's WSGI application on this server's port."""
    return [
        f"--bind={HOST}:{server.port}",
        "--workers=1",
        "--worker-class=gthread",
        f"--threads={THREADS}",
        f"--timeout={REQUEST_TIMEOUT}",
        "--graceful-timeout=5",
        f"--keep-alive={KEEP_ALIVE}",
        "--no-control-socket",
        "--access-logfile=-",
        f"--pythonpath={CLOUDSIDE}",
        f"--chdir={server.home}",
        f"--name=localcloud-{server.name}-{server.port}",
        f"localcloud_{server.kind}:application",
    ]


def launch(servers: list[Server], venv: Path) -> None:
    """Start the servers (each in its own session) and record their pids."""
    if not servers:
        return
    for server in servers:
        if not port_free(server.port):
            raise CloudError(f"{server.name}: port {server.port} is taken by another program")
    specs = [
        {
            "name": server.name,
            "kind": server.kind,
            "log": str(server.log),
            "env": {f"OS_{server.kind.upper()}_CONFIG_DIR": str(server.home)},
            "argv": arguments(server),
        }
        for server in servers
    ]
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(CLOUDSIDE / "launcher.py")],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        env=environment(),
        check=False,
    )
    pids = dict(line.split() for line in result.stdout.splitlines())
    for server in servers:
        if server.name in pids:
            pid = int(pids[server.name])
            server.pidfile.write_text(f"{pid} {_start_time(pid)}\n")
    if result.returncode or len(pids) != len(servers):
        raise CloudError(f"the launcher failed:\n{result.stderr}")


def running_pid(server: Server) -> int | None:
    """The recorded pid if that very process (same start time) is alive."""
    try:
        pid, started = (int(field) for field in server.pidfile.read_text().split())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) and _start_time(pid) == started else None


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (0 if it is gone)."""
    try:
        return int(_stat(pid)[19])
    except OSError:
        return 0


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state is the first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def group(pgid: int) -> list[int]:
    """Live processes of a process group (a server's master and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(entry.name)
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def answers(server: Server, timeout: float = 2.0) -> bool:
    """True if the application itself answers its probe path with 200."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        connection.request("GET", server.probe_path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def port_free(port: int) -> bool:
    """True if nothing accepts connections on the port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) != 0


def wait_ready(servers: list[Server], timeout: float) -> None:
    """Wait until every server answers; fail loudly with the log of one that does not."""
    if not servers:
        return
    deadline = time.monotonic() + timeout
    failed = threading.Event()
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [pool.submit(_wait_one, server, deadline, failed) for server in servers]
        for future in futures:
            future.result()


def _wait_one(server: Server, deadline: float, failed: threading.Event) -> None:
    """Poll one server; if it fails, tell the other pollers to give up."""
    try:
        _poll(server, deadline, failed)
    except CloudError:
        failed.set()
        raise


def _poll(server: Server, deadline: float, failed: threading.Event) -> None:
    """Return when the server answers or another one failed; raise if this one fails."""
    pid = int(server.pidfile.read_text().split()[0])
    while not failed.is_set():
        if not alive(pid):
            raise CloudError(f"{server.name} exited; log {server.log}:\n{tail(server.log)}")
        if time.monotonic() > deadline:
            raise CloudError(
                f"{server.name} did not answer in time; log {server.log}:\n{tail(server.log)}"
            )
        if answers(server):
            return
        time.sleep(0.2)


def stop(servers: list[Server]) -> list[str]:
    """Stop the servers started here (SIGTERM, then SIGKILL); return the names stopped."""
    pids = {server: pid for server in servers if (pid := running_pid(server))}
    for pid in pids.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(group(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids.values():
        if group(pid):
            os.killpg(pid, signal.SIGKILL)
    for server, pid in pids.items():
        _wait_gone(server, pid)
    for server in servers:
        server.pidfile.unlink(missing_ok=True)
    return [server.name for server in pids]


def _wait_gone(server: Server, pid: int) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while group(pid) or not port_free(server.port):
        if time.monotonic() > deadline:
            raise CloudError(f"{server.name}: port {server.port} still in use after stop")
        time.sleep(0.1)
