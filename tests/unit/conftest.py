"""Fixtures of the unit tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def no_openstack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OS_* variables and no $GLANCESYNC_CONFIG: only what the test writes configures a run."""
    for name in list(os.environ):
        if name.startswith("OS_") or name == "GLANCESYNC_CONFIG":
            monkeypatch.delenv(name)
