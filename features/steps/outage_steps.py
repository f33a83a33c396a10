"""Given: a partner's Keystone out of service, for real (its server stopped by pid) or
unreachable (its address leads to a closed port); and back again."""

from __future__ import annotations

import json
import os
import signal

from behave import given, when
from behave.runner import Context
from faultproxy import closed_port
from localcloud_client import localcloud_checked

# A partner that hangs is given up after api_timeout (and one quick retry): short scenarios.
QUICK_GIVE_UP = ("api_timeout=2", "api_retries=1", "api_retry_delay=0.1")


def _keystone_pid(target: str) -> int:
    """The process group leader of the target's Keystone, as the local cloud runs it."""
    servers = json.loads(localcloud_checked("info"))["servers"]
    [pid] = [server["pid"] for server in servers if server["name"] == f"keystone-{target}"]
    return pid


@given("the Keystone of partner {target} cannot be reached")
def step_keystone_unreachable(context: Context, target: str) -> None:
    context.world.add_setting(f"{target}.auth_url=http://127.0.0.1:{closed_port()}/v3")
    for setting in QUICK_GIVE_UP:
        context.world.add_setting(setting)


@given("the Keystone of partner {target} hangs")
def step_keystone_hangs(context: Context, target: str) -> None:
    """Stopped (SIGSTOP): connections are accepted, nothing is answered. It runs again at the
    end of the scenario, whatever happens."""
    pid = _keystone_pid(target)
    os.killpg(pid, signal.SIGSTOP)
    context.add_cleanup(os.killpg, pid, signal.SIGCONT)
    for setting in QUICK_GIVE_UP:
        context.world.add_setting(setting)


@when("the Keystone of partner {target} answers again")
def step_keystone_back(context: Context, target: str) -> None:
    os.killpg(_keystone_pid(target), signal.SIGCONT)
