"""When: glancesync run as an operator runs it (the more specific step texts come first: behave
uses the first definition that matches)."""

from __future__ import annotations

from behave import given, when
from behave.runner import Context


@when("I run glancesync with only the openrc of {account}")
@when("I run glancesync {arguments} with only the openrc of {account}")
def step_run_openrc(context: Context, account: str, arguments: str = "") -> None:
    context.world.run(arguments, openrc=account)


@when("I run glancesync {arguments} in a terminal")
def step_run_in_terminal(context: Context, arguments: str) -> None:
    context.world.run(arguments, terminal=True)


@given("I run glancesync")
@given("I run glancesync {arguments}")
@when("I run glancesync")
@when("I run glancesync {arguments}")
def step_run(context: Context, arguments: str = "") -> None:
    context.world.run(arguments)


@given("another glancesync run holds the lock")
def step_hold_lock(context: Context) -> None:
    context.world.hold_lock()
