"""Configuration: the INI file, --config overrides and OS_* variables, as typed settings (§2).

The loader (`load_settings`) is filled in below the dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from glancesync.condition import Condition


@dataclass(frozen=True)
class TargetSettings:
    """One target: a Keystone with its credentials and the sync rules of its regions."""

    name: str
    user: str
    password: str = field(repr=False)
    auth_url: str
    project: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    forcesyncs: frozenset[str] = frozenset()
    metadata_condition: Condition | None = None
    metadata_set: frozenset[str] = frozenset()
    only_tenant_images: bool = True
    dontupdate: frozenset[str] = frozenset()
    rename: frozenset[str] = frozenset()
    replace: frozenset[str] = frozenset()
    ignore_regions: tuple[str, ...] = ()
    support_obsolete_images: bool = True
    obsolete_syncprops: frozenset[str] = frozenset()
    api_timeout: float = 30.0
    cacert: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MainSettings:
    master_region: str
    preferable_order: tuple[str, ...] = ()
    max_children: int = 1


@dataclass(frozen=True)
class Settings:
    main: MainSettings
    targets: Mapping[str, TargetSettings]
    source: str = "(no configuration file)"

    @property
    def master(self) -> TargetSettings:
        return self.targets["master"]
