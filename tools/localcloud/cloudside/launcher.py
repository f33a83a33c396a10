"""Start gunicorn servers cheaply: import each service's code once, then fork one server per config.

Runs with the cloud venv's python. Reads a JSON list of servers on stdin (name, kind, log,
env, argv: gunicorn's arguments) and prints `name pid` for every server started. Importing
Keystone or Glance costs ~2 s of CPU; initialising one more copy from the imported modules
costs ~0.2 s, so a preloaded process per kind forks the gunicorn masters of that kind.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

PRELOAD = {
    "keystone": ("keystone.server.flask.core", "keystone.server.wsgi", "keystone.api"),
    "glance": (
        "glance.common.wsgi_app",
        "glance.api.v2.router",
        "glance.api.versions",
        "glance.db.sqlalchemy.api",
        "keystonemiddleware.auth_token",
    ),
}


def serve(server: dict) -> None:
    """In a forked child: become a session leader writing to the log, run gunicorn's master."""
    status = 1
    try:
        os.setsid()
        log = os.open(server["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.update(server["env"])
        sys.argv = ["gunicorn", *server["argv"]]
        from gunicorn.app.wsgiapp import run

        run()
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def start_kind(kind: str, servers: list[dict]) -> None:
    """Import the service once, then fork a gunicorn master for each of its servers."""
    for module in PRELOAD[kind]:
        importlib.import_module(module)
    for server in servers:
        pid = os.fork()
        if pid == 0:
            serve(server)
        os.write(1, f"{server['name']} {pid}\n".encode())


def main() -> int:
    servers = json.load(sys.stdin)
    sys.stdout.flush()
    children = []
    for kind in sorted({server["kind"] for server in servers}):
        pid = os.fork()
        if pid == 0:
            try:
                start_kind(kind, [server for server in servers if server["kind"] == kind])
                os._exit(0)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
        children.append(pid)
    failures = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
