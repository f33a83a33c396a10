"""Malformed configurations and command lines, through the real command line (cli.main).

Every case must give exit status 2, exactly one line on standard error (the error itself: no
traceback, no usage block, no warning), nothing on standard output, and contact nothing: the
Keystone of every target is a closed port of 127.0.0.1, so a case that reached the network would
fail with "cannot connect" and exit status 1 instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from faultproxy import closed_port

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG

MAIN = "[main]\nmaster_region = Madrid\n"
MASTER = "[master]\nuser = admin\npassword = pa55-Word\nauth_url = {url}\nproject = admin\n"
OTHER = "[other]\ncredential = syncer,c2VjcmV0,{url},admin\n"
BASE = MAIN + MASTER + OTHER
PWNED = "pwned-by-condition"


@dataclass(frozen=True)
class Case:
    """A configuration file (None: the base one; "": no file) and arguments, and a fragment of
    the one error line expected."""

    id: str
    expected: str
    config: str | None = None
    arguments: tuple[str, ...] = ()


def condition(text: str) -> str:
    return BASE + f"metadata_condition = {text}\n"


def also(text: str) -> str:
    """The base configuration with lines added to [other]."""
    return BASE + text


CASES = [
    # --- the file
    Case("no-file", "cannot be read: No such file", arguments=("--config-file", "{tmp}/nope")),
    Case("not-utf8", "is not UTF-8 text", config="[main]\nmaster_region = M\xe9rida\n"),
    Case("no-master-section", "[master]: missing section", config=MAIN + OTHER),
    Case("master-case", "did you mean [Master]?", config=MAIN + MASTER.replace("master", "Master")),
    Case("duplicate-section", "[other]: duplicate section", config=BASE + OTHER),
    Case(
        "duplicate-key",
        "[other] ignore_regions: duplicate key",
        config=also("ignore_regions = a\nignore_regions = b\n"),
    ),
    Case("key-outside-section", "a key outside any section", config="user = x\n" + BASE),
    Case("unparsable-line", "cannot be parsed", config=BASE + "this is not ini\n"),
    Case(
        "colon-in-target",
        "a target name cannot contain ':'",
        config=BASE + OTHER.replace("[other]", "[o:ther]"),
    ),
    Case(
        "inline-comment",
        "a comment must be on a line of its own",
        config=also("only_tenant_images = false  # all of them\n"),
    ),
    # --- [main]
    Case("no-master-region", "[main] master_region: not set", config="[main]\n" + MASTER),
    Case(
        "target-key-in-main",
        "not valid in [main]: it is a target key",
        config=BASE.replace("[main]\n", "[main]\napi_timeout = 3\n"),
    ),
    Case(
        "bad-max-children",
        "max_children: 'many' is not an integer",
        config=BASE.replace("[main]\n", "[main]\nmax_children = many\n"),
    ),
    Case(
        "zero-max-children",
        "must be an integer of at least 1",
        config=BASE.replace("[main]\n", "[main]\nmax_children = 0\n"),
    ),
    Case(
        "main-key-in-target",
        "not valid here: it is a [main] key",
        config=also("max_children = 2\n"),
    ),
    # --- keys and values of targets
    Case(
        "unknown-key",
        "[other] metadata_sett: unknown key (did you mean 'metadata_set'?)",
        config=also("metadata_sett = nid\n"),
    ),
    Case(
        "bad-boolean",
        "[other] only_tenant_images: 'maybe' is not a boolean",
        config=also("only_tenant_images = maybe\n"),
    ),
    Case(
        "bad-boolean-default",
        "[DEFAULT] insecure: '2' is not a boolean",
        config=BASE + "[DEFAULT]\ninsecure = 2\n",
    ),
    Case(
        "negative-timeout",
        "api_timeout: '-1' must be a number of seconds greater than 0",
        config=also("api_timeout = -1\n"),
    ),
    Case("nan-timeout", "api_timeout: 'nan' must be a number", config=also("api_timeout = nan\n")),
    Case(
        "negative-retries",
        "api_retries: '-1' must be an integer of at least 0",
        config=also("api_retries = -1\n"),
    ),
    Case(
        "zero-retry-delay",
        "api_retry_delay: '0' must be a number of seconds",
        config=also("api_retry_delay = 0\n"),
    ),
    Case(
        "bad-retry-budget",
        "api_retry_budget: 'lots' is not an integer",
        config=also("api_retry_budget = lots\n"),
    ),
    Case("two-spellings", "same key as", config=also("api_timeout = 5\nlist_images_timeout = 5\n")),
    # --- credentials
    Case(
        "bad-base64",
        "the password field is not the base64",
        config=BASE.replace("c2VjcmV0", "c2V*jcmV0"),
    ),
    Case(
        "base64-not-utf8",
        "the password field is not the base64",
        config=BASE.replace("c2VjcmV0", "//79"),
    ),
    Case(
        "credential-3-fields",
        "has 3 comma-separated fields instead of 4",
        config=BASE.replace(",admin\n", "\n"),
    ),
    Case("credential-empty-user", "empty field: user", config=BASE.replace("syncer,", ",")),
    Case("credential-empty-password", "empty field: password", config=BASE.replace("c2VjcmV0", "")),
    Case("credential-and-user", "cannot be combined with user", config=also("user = x\n")),
    Case(
        "missing-password",
        "[other]: missing password",
        config=MAIN + MASTER + "[other]\nuser = u\nauth_url = http://x/v3\nproject = p\n",
    ),
    Case(
        "master-missing-url",
        "[master]: missing auth_url (write credential",
        config=MAIN + MASTER.replace("auth_url = {url}\n", ""),
    ),
    # --- metadata_condition: syntax errors and injection attempts
    Case(
        "condition-syntax", "metadata_condition: invalid syntax", config=condition("image.name ==")
    ),
    Case(
        "condition-import",
        "calls of 'system' are not allowed",
        config=condition(f"__import__('os').system('touch {{tmp}}/{PWNED}')"),
    ),
    Case(
        "condition-dunder",
        "attribute '__globals__' is not allowed",
        config=condition("image.__class__.__init__.__globals__"),
    ),
    Case(
        "condition-lambda",
        "calls of 'lambda: 1' are not allowed",
        config=condition("(lambda: 1)()"),
    ),
    Case(
        "condition-open", "calls of 'open' are not allowed", config=condition("open('/etc/passwd')")
    ),
    Case(
        "condition-statement",
        "metadata_condition: invalid syntax",
        config=condition(f"1; open('{{tmp}}/{PWNED}', 'w')"),
    ),
    Case(
        "condition-walrus",
        "assignment expressions (:=) are not allowed",
        config=condition("(x := image.name)"),
    ),
    Case(
        "condition-format-leak",
        "calls of 'format' are not allowed",
        config=condition("'{0.__class__}'.format(image)"),
    ),
    # --- --config overrides
    Case("override-without-equals", "expected KEY=VALUE", arguments=("--config", "api_timeout")),
    Case("override-empty-key", "empty key", arguments=("--config", "master.=1")),
    Case("override-unknown-key", "frobnicate: unknown key", arguments=("--config", "frobnicate=1")),
    Case(
        "override-bad-value",
        "max_children: 'x' is not an integer",
        arguments=("--config", "max_children=x"),
    ),
    # --- region arguments
    Case("unknown-target", "unknown target 'nosuch'", arguments=("nosuch:Lisbon",)),
    Case(
        "duplicate-region",
        "region 'master:Lisbon' is named twice",
        arguments=("Lisbon", "master:Lisbon"),
    ),
    Case("master-region-argument", "is the master region", arguments=("Madrid",)),
    Case("empty-region", "an empty region argument", arguments=("",)),
    # --- options
    Case("two-modes", "not allowed with argument", arguments=("--dry-run", "--show-status")),
    Case("unknown-option", "unrecognized arguments: --frobnicate", arguments=("--frobnicate",)),
    Case("verbose-and-quiet", "not allowed with argument", arguments=("-v", "-q")),
    Case(
        "lock-file-missing-directory",
        "[main] lock_file: cannot open",
        arguments=("--config", "lock_file={tmp}/no/such/dir/lock"),
    ),
]


@pytest.fixture
def no_environment(
    no_openstack_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No OS_* variables, no $GLANCESYNC_CONFIG, and a home of the test's own (lock file)."""
    monkeypatch.setenv("HOME", str(tmp_path))


def test_there_are_at_least_30_distinct_cases() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.usefixtures("no_environment")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_is_one_line_exit_2_and_contacts_nothing(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def filled(text: str) -> str:
        url = f"http://127.0.0.1:{closed_port()}/v3"
        return text.replace("{url}", url).replace("{tmp}", str(tmp_path))

    config = tmp_path / "glancesync.conf"
    config.write_text(filled(BASE if case.config is None else case.config), encoding="latin-1")
    config.chmod(0o600)
    arguments = ["--config-file", str(config), *(filled(a) for a in case.arguments)]

    status = main(arguments)

    out, err = capsys.readouterr()
    assert (status, out) == (EXIT_CONFIG, ""), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert case.expected in err
    assert "Traceback" not in err and "cannot connect" not in err
    assert "pa55-Word" not in err and "c2VjcmV0" not in err and "secret" not in err
    assert not (tmp_path / PWNED).exists()
