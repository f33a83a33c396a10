"""Which regions a run visits (§7)."""

import pytest

from glancesync.errors import ConfigError
from glancesync.regions import (
    RegionRef,
    check_region_arguments,
    choose_regions,
    region_warnings,
    shown_regions,
)
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


# --- what a run may miss without a word


def test_a_run_without_arguments_warns_about_every_other_target():
    assert region_warnings([], settings(), CATALOGS) == [
        "target other is configured but not visited: name its regions (other:) to sync them"
    ]


@pytest.mark.parametrize("arguments", [["other:"], ["Lisbon", "other:Rome"]])
def test_a_target_named_on_the_command_line_is_not_warned_about(arguments):
    assert region_warnings(arguments, settings(), CATALOGS) == []


def test_a_run_of_another_target_only_does_not_warn_about_master():
    assert region_warnings(["other:Berlin"], settings(), CATALOGS) == []


def test_a_misspelt_ignored_region_is_named_with_the_closest_region():
    (warning,) = region_warnings(["other:"], settings(master_ignored=["Lisbn"]), CATALOGS)
    assert warning == (
        "ignore_regions of master: no catalog has a region 'Lisbn' "
        "(did you mean 'Lisbon'?); it leaves nothing out"
    )


def test_the_closest_region_ignores_case():
    (warning,) = region_warnings(["other:"], settings(master_ignored=["PARIS"]), CATALOGS)
    assert "(did you mean 'Paris'?)" in warning


def test_an_ignored_region_of_another_catalog_is_no_typo():
    both = settings(master_ignored=["Rome"], other_ignored=["Rome"])
    assert region_warnings(["other:"], both, CATALOGS) == []


def test_a_shared_misspelt_ignored_region_is_one_warning_naming_its_targets():
    both = settings(master_ignored=["Romee"], other_ignored=["Romee"])
    (warning,) = region_warnings(["other:"], both, CATALOGS)
    assert warning.startswith("ignore_regions of master, other: no catalog has a region 'Romee'")


def test_ignored_regions_of_a_target_whose_catalog_was_not_read_are_not_checked():
    read = {"master": CATALOGS["master"]}
    assert region_warnings(["Lisbon", "other:"], settings(other_ignored=["Rme"]), read) == []


def test_a_name_far_from_every_region_gets_no_guess():
    (warning,) = region_warnings(["other:"], settings(master_ignored=["Tokyo"]), CATALOGS)
    assert "did you mean" not in warning


def test_a_misspelt_preferable_region_is_named_with_the_closest_region():
    (warning,) = region_warnings(["other:"], settings(preferable=["Paris", "Oslp"]), CATALOGS)
    assert warning == (
        "preferable_order: the master target's catalog has no region 'Oslp' (did you mean 'Oslo'?)"
    )


@pytest.mark.parametrize(
    ("arguments", "preferable", "expected"),
    [
        (["master:"], ["Paris", "Oslo"], ["Paris", "Oslo", "Lisbon"]),
        (["other:"], ["other:Rome"], ["other:Rome", "other:Berlin"]),
    ],
)
def test_preferable_order_orders_a_target_prefix_expansion(arguments, preferable, expected):
    assert names(choose_regions(arguments, settings(preferable=preferable), CATALOGS)) == expected
