"""Which regions a run visits (§7): pure logic over the settings and the targets' catalogs."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from glancesync.errors import ConfigError
from glancesync.settings import MASTER, Settings


@dataclass(frozen=True)
class RegionRef:
    """A region of a target; `full_name` is what output shows (§1)."""

    target: str
    region: str

    @property
    def full_name(self) -> str:
        return self.region if self.target == MASTER else f"{self.target}:{self.region}"


@dataclass(frozen=True)
class RegionChoice:
    """The regions to visit, in order, and the names that matched no region."""

    regions: tuple[RegionRef, ...]
    unknown: tuple[str, ...] = ()


def parse_region_argument(argument: str, settings: Settings) -> tuple[str, str]:
    """Split `R`, `T:R` or `T:` into (target, region or ""); an unknown target is a usage error."""
    target, _, region = argument.rpartition(":")
    target = target or MASTER
    if target not in settings.targets:
        known = ", ".join(sorted(settings.targets))
        raise ConfigError(
            f"region argument {argument!r}: unknown target {target!r} (targets: {known})"
        )
    if not region and ":" not in argument:
        raise ConfigError("an empty region argument")
    return target, region


def check_region_arguments(arguments: Sequence[str], settings: Settings) -> None:
    """Reject, before anything is contacted, unknown targets and regions named twice."""
    seen: set[tuple[str, str]] = set()
    for argument in arguments:
        key = parse_region_argument(argument, settings)
        if key in seen:
            raise ConfigError(f"region {argument!r} is named twice on the command line")
        if key == (MASTER, settings.main.master_region):
            raise ConfigError(
                f"region {argument!r} is the master region: it is the source, not a copy"
            )
        seen.add(key)


def target_regions(target: str, settings: Settings, catalog: Sequence[str]) -> list[RegionRef]:
    """Every region of a target except its ignore_regions (and, for master, the master region),
    those of `preferable_order` first, in its order (as the ancestor expanded `T:`)."""
    ignored = set(settings.targets[target].ignore_regions)
    if target == MASTER:
        ignored.add(settings.main.master_region)
    regions = [RegionRef(target, name) for name in sorted(catalog) if name not in ignored]
    rank = {name: index for index, name in enumerate(settings.main.preferable_order)}
    return sorted(regions, key=lambda ref: rank.get(ref.full_name, len(rank)))


def default_regions(settings: Settings, catalogs: Mapping[str, Sequence[str]]) -> list[RegionRef]:
    """The master target's regions, `preferable_order` first (§7)."""
    return target_regions(MASTER, settings, catalogs[MASTER])


def choose_regions(
    arguments: Sequence[str], settings: Settings, catalogs: Mapping[str, Sequence[str]]
) -> RegionChoice:
    """Regions named on the command line in their order (`T:` expanded), or the default list.
    Arguments of a target without a catalog (it could not be read) are left out. A master
    region that the master's catalog lacks is a configuration error."""
    master_region = settings.main.master_region
    if master_region not in catalogs[MASTER]:
        raise ConfigError(
            f"master_region {master_region!r} has no image endpoint in the catalog "
            f"of target master (regions: {', '.join(catalogs[MASTER]) or 'none'})"
        )
    if not arguments:
        return RegionChoice(tuple(default_regions(settings, catalogs)))
    chosen: list[RegionRef] = []
    unknown: list[str] = []
    for argument in arguments:
        target, region = parse_region_argument(argument, settings)
        if target not in catalogs:
            continue
        if not region:
            expanded = target_regions(target, settings, catalogs[target])
            chosen.extend(ref for ref in expanded if ref not in chosen)
        elif region in catalogs[target]:
            ref = RegionRef(target, region)
            if ref not in chosen:
                chosen.append(ref)
        else:
            unknown.append(argument)
    return RegionChoice(tuple(chosen), tuple(unknown))


def shown_regions(settings: Settings, catalogs: Mapping[str, Sequence[str]]) -> list[RegionRef]:
    """`--show-regions`: the default regions, then the regions of the other targets whose
    catalogs were read (§7)."""
    refs = default_regions(settings, catalogs)
    for target in settings.targets:
        if target != MASTER and target in catalogs:
            refs.extend(target_regions(target, settings, catalogs[target]))
    return refs


def targets_needed(arguments: Sequence[str], settings: Settings) -> list[str]:
    """The targets whose catalogs a run must read: master, plus those named in arguments."""
    needed = [MASTER]
    for argument in arguments:
        target = parse_region_argument(argument, settings)[0]
        if target not in needed:
            needed.append(target)
    return needed


def region_warnings(
    arguments: Sequence[str], settings: Settings, catalogs: Mapping[str, Sequence[str]]
) -> list[str]:
    """What a run may miss without a word: the configured targets it does not visit, and the
    names of ignore_regions and preferable_order that no catalog it read has."""
    return [
        *unvisited_targets(arguments, settings),
        *unknown_ignore_regions(settings, catalogs),
        *unknown_preferable_order(settings, catalogs),
    ]


def unvisited_targets(arguments: Sequence[str], settings: Settings) -> list[str]:
    """A warning for every target other than master that the region arguments do not name (a
    run without arguments names only master)."""
    named = targets_needed(arguments, settings)
    return [
        f"target {target} is configured but not visited: name its regions ({target}:) to sync them"
        for target in settings.targets
        if target not in named
    ]


def unknown_ignore_regions(settings: Settings, catalogs: Mapping[str, Sequence[str]]) -> list[str]:
    """A warning for every ignore_regions name, of a target whose catalog was read, that none of
    the catalogs read has (a [DEFAULT] value shared by several targets is one warning)."""
    known = {region for catalog in catalogs.values() for region in catalog}
    ignoring: dict[str, list[str]] = {}
    for target in catalogs:
        for name in settings.targets[target].ignore_regions:
            if name not in known:
                ignoring.setdefault(name, []).append(target)
    return [
        f"ignore_regions of {', '.join(targets)}: no catalog has a region {name!r}"
        f"{_closest(name, known)}; it leaves nothing out"
        for name, targets in ignoring.items()
    ]


def unknown_preferable_order(
    settings: Settings, catalogs: Mapping[str, Sequence[str]]
) -> list[str]:
    """A warning for every preferable_order name that the master target's catalog lacks."""
    master = catalogs.get(MASTER, ())
    return [
        f"preferable_order: the master target's catalog has no region {name!r}"
        f"{_closest(name, master)}"
        for name in settings.main.preferable_order
        if name not in master
    ]


def _closest(name: str, candidates: Collection[str]) -> str:
    """` (did you mean 'X'?)` for the closest candidate, ignoring case; empty if none is close."""
    by_folded = {candidate.casefold(): candidate for candidate in sorted(candidates)}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
