"""The README cannot drift from the code: its configuration reference against the loader and the
sample configuration, its statuses against the planner, its exit statuses against errors.py
and the signals, and its options against the command-line parser.

The configuration reference is the list-table titled "Configuration keys". Its Default column
is read so (the README says the same to the operator):

- a value in ``code`` first: the loader, given that value, yields the dataclass default;
- "empty": the dataclass default is an empty collection;
- "unset": the dataclass default is None (what None means is computed elsewhere);
- "none": there is no default (a mandatory field, or a credential form that is not a field).

Every ``$OS_*`` variable named in a Default cell of a [master] or [main] field is checked too:
with the key left out of the file, the variable supplies it.
"""

from __future__ import annotations

import dataclasses
import re
import signal
from pathlib import Path

import pytest

from glancesync import errors
from glancesync.cli import build_parser
from glancesync.lock import DEFAULT_LOCK_FILE
from glancesync.planner import Status
from glancesync.settings import MainSettings, TargetSettings, known_keys, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.rst").read_text()
SAMPLE = (ROOT / "etc" / "glancesync.conf.sample").read_text()

LITERAL = re.compile(r"``(.+?)``")
SECTION_OF = {"[main]": "main", "target": "target"}
ENV = {
    "OS_USERNAME": "env-user",
    "OS_PASSWORD": "env-password",
    "OS_AUTH_URL": "https://keystone.example:5000/v3",
    "OS_PROJECT_NAME": "env-project",
    "OS_REGION_NAME": "Burgos",
}
PLAIN_CREDENTIALS = {
    "user": "admin",
    "password": "secret",
    "auth_url": "https://keystone.example:5000/v3",
    "project": "admin",
}


def list_table(title: str) -> list[list[str]]:
    """The body rows of the README's `.. list-table:: title`, each cell as one line of text."""
    lines = README.splitlines()
    start = lines.index(f".. list-table:: {title}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        if line.startswith("   * - "):
            rows.append([line[7:].strip()])
        elif line.startswith("     - "):
            rows[-1].append(line[7:].strip())
        elif line.startswith("       ") and rows:
            rows[-1][-1] += " " + line.strip()
    assert rows, f"no rows in the list-table {title!r}"
    return rows[1:]  # after the header row


def literals(cell: str) -> list[str]:
    return LITERAL.findall(cell)


class Row:
    """A row of the configuration reference."""

    def __init__(self, cells: list[str]):
        key_cell, self.section, self.default, self.meaning = cells
        self.key, *self.aliases = literals(key_cell)

    @property
    def kind(self) -> str:
        return SECTION_OF[self.section]


REFERENCE = [Row(cells) for cells in list_table("Configuration keys")]


def documented(kind: str) -> set[str]:
    return {row.key for row in REFERENCE if row.kind == kind}


def field_of(row: Row) -> dataclasses.Field | None:
    owner = MainSettings if row.kind == "main" else TargetSettings
    return next((f for f in dataclasses.fields(owner) if f.name == row.key), None)


def load(tmp_path: Path, main: dict[str, str], master: dict[str, str], environ=None):
    lines = ["[main]", *(f"{k} = {v}" for k, v in main.items())]
    lines += ["[master]", *(f"{k} = {v}" for k, v in master.items())]
    path = tmp_path / "glancesync.conf"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return load_settings(str(path), [], ENV if environ is None else environ)


def loaded_value(tmp_path: Path, row: Row, text: str):
    """The value the loader gives `row.key` when the file says `text`."""
    if row.kind == "main":
        return getattr(load(tmp_path, {row.key: text}, {}).main, row.key)
    return getattr(load(tmp_path, {}, {row.key: text}).master, row.key)


def rows_with_default(word: str) -> list[Row]:
    return [row for row in REFERENCE if row.default.split(";")[0].split(":")[0] == word]


# --- the configuration reference against the loader


def test_every_row_names_a_known_section():
    assert {row.section for row in REFERENCE} <= set(SECTION_OF)


def test_the_reference_lists_exactly_the_main_keys():
    assert documented("main") == known_keys()["main"]


def test_the_reference_lists_exactly_the_target_keys():
    assert documented("target") == known_keys()["target"]


def test_no_key_has_two_rows():
    keys = [row.key for row in REFERENCE]
    assert len(keys) == len(set(keys))


def test_the_reference_names_exactly_the_ancestor_aliases():
    assert {alias for row in REFERENCE for alias in row.aliases} == known_keys()["alias"]


@pytest.mark.parametrize("row", [row for row in REFERENCE if row.aliases], ids=lambda row: row.key)
def test_each_documented_alias_reads_as_its_key(tmp_path, row):
    for alias in row.aliases:
        base = {key: value for key, value in PLAIN_CREDENTIALS.items() if key != row.key}
        value = "https://7.example/v3" if row.key == "auth_url" else "7"
        spelled = load(tmp_path, {}, {**base, row.key: value})
        aliased = load(tmp_path, {}, {**base, alias: value})
        assert aliased.master == spelled.master


def test_the_retired_ancestor_keys_are_mentioned():
    assert not {key for key in known_keys()["retired"] if f"``{key}``" not in README}


def test_every_default_cell_uses_the_documented_vocabulary():
    for row in REFERENCE:
        first = row.default.split(";")[0].split(":")[0]
        assert row.default.startswith("``") or first in ("empty", "unset", "none"), row.key


@pytest.mark.parametrize(
    "row", [row for row in REFERENCE if row.default.startswith("``")], ids=lambda row: row.key
)
def test_a_stated_default_is_what_the_loader_makes_of_it(tmp_path, row):
    stated = literals(row.default)[0]
    assert loaded_value(tmp_path, row, stated) == field_of(row).default


@pytest.mark.parametrize("row", rows_with_default("empty"), ids=lambda row: row.key)
def test_an_empty_default_is_an_empty_collection(row):
    assert field_of(row).default in (frozenset(), ())


@pytest.mark.parametrize("row", rows_with_default("unset"), ids=lambda row: row.key)
def test_an_unset_default_is_none(row):
    assert field_of(row).default is None


@pytest.mark.parametrize("row", rows_with_default("none"), ids=lambda row: row.key)
def test_a_key_without_default_has_no_default_in_the_settings(row):
    field = field_of(row)
    assert field is None or field.default is dataclasses.MISSING


def test_the_unset_lock_file_is_the_lock_modules_default():
    (row,) = [row for row in REFERENCE if row.key == "lock_file"]
    assert f"``{DEFAULT_LOCK_FILE}``" in row.default


ENVIRONMENT_DEFAULTS = [
    (row, variable)
    for row in REFERENCE
    for variable in re.findall(r"\$(OS_\w+)", row.default)
    if field_of(row) is not None
]


@pytest.mark.parametrize(
    "row, variable", ENVIRONMENT_DEFAULTS, ids=[f"{r.key}-{v}" for r, v in ENVIRONMENT_DEFAULTS]
)
def test_an_os_variable_named_as_default_supplies_the_key(tmp_path, row, variable):
    value = "https://from-the-environment/v3" if row.key == "auth_url" else "from-the-environment"
    environ = {**ENV, variable: value}
    if variable == "OS_TENANT_NAME":
        del environ["OS_PROJECT_NAME"]
    settings = load(tmp_path, {}, {}, environ)
    section = settings.main if row.kind == "main" else settings.master
    assert getattr(section, row.key) == value


def test_the_sample_and_the_reference_list_the_same_keys():
    sample_keys = set(re.findall(r"^#(\w+) =", SAMPLE, re.MULTILINE))
    assert sample_keys == {row.key for row in REFERENCE}


# --- statuses, exit statuses and options


def test_every_status_has_a_row():
    assert {literals(cells[0])[0] for cells in list_table("Statuses")} == {s.value for s in Status}


def test_every_error_status_says_what_to_do():
    rows = {literals(cells[0])[0]: cells for cells in list_table("Statuses")}
    for status in Status:
        if status.value.startswith("error_"):
            assert len(rows[status.value]) == 3 and rows[status.value][2], status.value


def test_every_exit_status_is_documented():
    codes = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    codes |= {128 + signal.SIGINT, 128 + signal.SIGTERM}
    assert {int(cells[0]) for cells in list_table("Exit statuses")} == codes


def test_every_exit_status_says_what_to_do():
    assert all(len(cells) == 3 and cells[2] for cells in list_table("Exit statuses"))


def test_every_option_is_documented():
    actions = build_parser()._actions
    options = {option for action in actions for option in action.option_strings}
    assert options
    missing = {o for o in options if not re.search(rf"(?<![\w-]){o}(?![\w-])", README)}
    assert not missing


# --- the README itself


def test_the_readme_is_valid_restructuredtext():
    core = pytest.importorskip("docutils.core")
    core.publish_doctree(README, settings_overrides={"halt_level": 2, "report_level": 2})
