"""Which regions a run visits (§7)."""

import pytest

from glancesync.errors import ConfigError
from glancesync.regions import RegionRef, check_region_arguments, choose_regions, shown_regions
from glancesync.settings import MainSettings, Settings, TargetSettings

CATALOGS = {"master": ("Madrid", "Lisbon", "Paris", "Oslo"), "other": ("Berlin", "Rome")}


def settings(preferable=(), master_ignored=(), other_ignored=()):
    def target(name, ignored):
        return TargetSettings(
            name=name,
            user="u",
            password="p",
            auth_url="http://k/v3",
            project="p",
            ignore_regions=tuple(ignored),
        )

    return Settings(
        main=MainSettings(master_region="Madrid", preferable_order=tuple(preferable)),
        targets={
            "master": target("master", master_ignored),
            "other": target("other", other_ignored),
        },
    )


def names(choice):
    return [ref.full_name for ref in choice.regions]


def test_default_regions_are_the_master_targets_except_master_region_sorted_by_name():
    assert names(choose_regions([], settings(), CATALOGS)) == ["Lisbon", "Oslo", "Paris"]


def test_default_regions_leave_out_ignore_regions():
    assert names(choose_regions([], settings(master_ignored=["Oslo"]), CATALOGS)) == [
        "Lisbon",
        "Paris",
    ]


def test_preferable_order_comes_first_in_its_own_order():
    chosen = choose_regions([], settings(preferable=["Paris", "Oslo"]), CATALOGS)
    assert names(chosen) == ["Paris", "Oslo", "Lisbon"]


def test_explicit_regions_keep_command_line_order():
    chosen = choose_regions(["Paris", "other:Rome", "master:Lisbon"], settings(), CATALOGS)
    assert names(chosen) == ["Paris", "other:Rome", "Lisbon"]


def test_target_prefix_alone_expands_to_its_regions_except_ignored():
    chosen = choose_regions(["other:"], settings(other_ignored=["Rome"]), CATALOGS)
    assert chosen.regions == (RegionRef("other", "Berlin"),)


def test_unknown_region_is_reported_not_silenced():
    chosen = choose_regions(["Lisbon", "Narnia", "other:Atlantis"], settings(), CATALOGS)
    assert names(chosen) == ["Lisbon"]
    assert chosen.unknown == ("Narnia", "other:Atlantis")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["nowhere:Rome"], "unknown target 'nowhere'"),
        (["Lisbon", "master:Lisbon"], "named twice"),
        (["Madrid"], "is the master region"),
    ],
    ids=["unknown target prefix", "duplicate region", "master region as a copy"],
)
def test_bad_region_arguments_are_usage_errors(arguments, message):
    with pytest.raises(ConfigError, match=message):
        check_region_arguments(arguments, settings())


def test_show_regions_lists_default_regions_then_other_targets():
    refs = shown_regions(settings(preferable=["Paris"]), CATALOGS)
    names = [ref.full_name for ref in refs]
    assert names == ["Paris", "Lisbon", "Oslo", "other:Berlin", "other:Rome"]
