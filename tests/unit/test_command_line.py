"""The command line's parser: overrides that do not swallow regions, and a --help that says
what every option does, its default, the environment, the files and the exit statuses."""

from __future__ import annotations

import argparse
import re

import pytest

from glancesync.cli import build_parser


def parsed(*argv: str) -> tuple[list[str], list[str]]:
    args = build_parser().parse_args(argv)
    return args.regions, args.config


@pytest.mark.parametrize(
    "argv, regions, overrides",
    [
        (["--config", "a=1", "b=2", "Lisbon", "Paris"], ["Lisbon", "Paris"], ["a=1", "b=2"]),
        (["Lisbon", "--config", "a=1", "Paris"], ["Lisbon", "Paris"], ["a=1"]),
        (["--config", "a=1", "Paris", "b=2"], ["Paris", "b=2"], ["a=1"]),
        (["--config", "a=1", "--", "Paris"], ["Paris"], ["a=1"]),
        (
            ["--config", "a=1", "Paris", "--config", "b=2", "Rome"],
            ["Paris", "Rome"],
            ["a=1", "b=2"],
        ),
        (["--config", "master.x=a=b", "other:"], ["other:"], ["master.x=a=b"]),
    ],
)
def test_config_overrides_end_at_the_first_argument_without_equals(argv, regions, overrides):
    assert parsed(*argv) == (regions, overrides)


def test_the_first_config_value_is_an_override_even_without_equals():
    """The loader then refuses it with its own message ("expected KEY=VALUE")."""
    assert parsed("--config", "api_timeout") == ([], ["api_timeout"])


def test_set_takes_one_override_and_repeats():
    argv = ["-o", "a=1", "Lisbon", "--set", "b=2", "-o", "c=3"]
    assert parsed(*argv) == (["Lisbon"], ["a=1", "b=2", "c=3"])


def test_set_and_config_overrides_keep_their_command_line_order():
    assert parsed("-o", "a=1", "--config", "a=2", "Paris", "-o", "a=3")[1] == ["a=1", "a=2", "a=3"]


def help_text() -> str:
    return build_parser().format_help()


def test_help_groups_the_options():
    titles = re.findall(r"^(\w[\w ]*):$", help_text(), re.MULTILINE)
    assert titles[:5] == ["modes", "selection", "output", "configuration", "general"]


def test_help_shows_the_default_of_every_option_that_takes_a_value():
    parser = build_parser()
    valued = [
        action
        for action in parser._actions
        if action.nargs != 0 and not isinstance(action, argparse._HelpAction)
    ]
    assert valued
    assert [action.dest for action in valued if "default" not in action.help] == []


def test_help_says_that_show_regions_lists_other_targets_too():
    text = " ".join(help_text().split())
    assert "would visit" not in text
    assert "then T:R of the other targets, which a run visits only when they are named" in text


@pytest.mark.parametrize(
    "section, words",
    [
        ("environment", ["GLANCESYNC_CONFIG", "OS_CLOUD", "OS_REGION_NAME", "OS_PASSWORD"]),
        ("files", ["/etc/glancesync.conf", "/run/lock/glancesync-<file name>-<hash>.lock"]),
        ("exit status", ["0 ", "1 ", "2 ", "3 ", "4 ", "130 ", "143 "]),
    ],
)
def test_the_epilog_documents(section, words):
    text = help_text()
    body = text[text.index(f"\n{section}:\n") :].split("\n\n")[0]
    assert [word for word in words if word not in body] == []


def test_exit_status_4_is_a_decision_waiting():
    assert re.search(
        r"^  4 +no failure, but an error_checksum or error_ami waits", help_text(), re.M
    )
