"""Unusable files, folders, URLs and numbers (issue 11, item 10), through the real command line.

Like test_bad_input: every case is exit status 2 and exactly one line on standard error, nothing
on standard output, no traceback. Here "nothing contacted" is proven by a listener: the Keystone
of every target is a socket of 127.0.0.1 that listens but never accepts, and no connection may
be waiting on it when the run has ended (a URL of a case that names a port names that one).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from planted import plant_link, shared_folder

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG

MAIN = "[main]\nmaster_region = Madrid\nlock_file = {tmp}/lock\n"
MASTER = "[master]\nuser = admin\npassword = pa55-Word\nauth_url = {url}\nproject = admin\n"
BASE = MAIN + MASTER


@dataclass(frozen=True)
class Case:
    """A configuration file (None: the base one), arguments, the files to make first, and a
    fragment of the one error line expected."""

    id: str
    expected: str
    config: str | None = None
    arguments: tuple[str, ...] = ()
    make: str | None = None  # "fifo", "big" (at {tmp}/made); "symlink", "dangling" ({shared})


def url(text: str) -> str:
    return BASE.replace("auth_url = {url}", f"auth_url = {text}")


def main_key(line: str) -> str:
    return BASE.replace("[main]\n", f"[main]\n{line}\n")


def target_key(line: str) -> str:
    return BASE + line + "\n"


CASES = [
    # --- the configuration file: never waited for, never read without end
    Case(
        "config-fifo",
        "is not a regular file",
        arguments=("--config-file", "{tmp}/made"),
        make="fifo",
    ),  # fmt: skip
    Case("config-dev-zero", "is not a regular file", arguments=("--config-file", "/dev/zero")),
    Case("config-directory", "is not a regular file", arguments=("--config-file", "{tmp}")),
    Case(
        "config-too-big",
        "is larger than 1024 KiB",
        arguments=("--config-file", "{tmp}/made"),
        make="big",
    ),  # fmt: skip
    # --- auth_url
    Case("url-bad-ipv6", "[master] auth_url: is not a valid URL", config=url("http://[::1/v3")),
    Case(
        "url-ftp",
        "has scheme 'ftp': use an http:// or https:// URL",
        config=url("ftp://127.0.0.1:{port}/v3"),
    ),  # fmt: skip
    Case("url-file", "has scheme 'file'", config=url("file:///etc/passwd")),
    Case("url-javascript", "has scheme 'javascript'", config=url("javascript:alert(1)")),
    Case("url-no-scheme", "auth_url: has no scheme", config=url("127.0.0.1:{port}/v3")),
    Case("url-no-host", "auth_url: has no host", config=url("http:///v3")),
    Case("url-port-too-big", "Port out of range", config=url("http://127.0.0.1:99999/v3")),
    Case("url-port-negative", "is not a valid URL", config=url("http://127.0.0.1:-1/v3")),
    Case("url-port-zero", "has port 0", config=url("http://127.0.0.1:0/v3")),
    Case(
        "url-in-credential",
        "[other] credential: the auth_url field has scheme 'ftp'",
        config=BASE + "[other]\ncredential = u,c2VjcmV0,ftp://127.0.0.1:{port}/v3,p\n",
    ),  # fmt: skip
    Case(
        "url-from-environment",
        "OS_AUTH_URL: has scheme 'gopher'",
        config=BASE.replace("auth_url = {url}\n", ""),
    ),  # fmt: skip
    # --- absurd numbers
    Case(
        "size-5000-digits",
        "[main] cache_max_size: '9999",
        config=main_key(f"cache_max_size = {'9' * 5000}"),
    ),
    Case(
        "size-above-1-eib",
        "larger than the largest size",
        config=main_key("cache_max_size = 2000000T"),
    ),
    Case(
        "children-5000-digits",
        "must be an integer of at least 1 and at most 256",
        config=main_key(f"max_children = {'9' * 5000}"),
    ),  # fmt: skip
    Case("children-too-many", "at most 256", config=main_key("max_children = 100000")),
    Case(
        "timeout-1e308",
        "api_timeout: '1e308' must be a number of seconds greater than 0 and at most 86400",
        config=target_key("api_timeout = 1e308"),
    ),  # fmt: skip
    Case(
        "timeout-5000-digits",
        "must be a number of seconds",
        config=target_key(f"api_timeout = {'9' * 5000}"),
    ),
    Case(
        "retries-a-billion",
        "api_retries: '1000000000' must be an integer of at least 0 and at most 10000",
        config=target_key("api_retries = 1000000000"),
    ),  # fmt: skip
    Case(
        "retry-delay-a-year",
        "api_retry_delay: '31536000'",
        config=target_key("api_retry_delay = 31536000"),
    ),
    # --- folders the run would make its directory in
    Case(
        "backup-dir-empty", "--backup-dir: empty", arguments=("--make-backup", "--backup-dir", "")
    ),
    Case("run-dir-empty", "--run-dir: empty", arguments=("--parallel", "--run-dir", "")),
    Case(
        "backup-dir-dev-null",
        "--backup-dir /dev/null: /dev/null is not a directory",
        arguments=("--make-backup", "--backup-dir", "/dev/null"),
    ),  # fmt: skip
    Case(
        "run-dir-under-dev-null",
        "/dev/null is not a directory",
        arguments=("--parallel", "--dry-run", "--run-dir", "/dev/null/runs"),
    ),  # fmt: skip
    Case(
        "run-dir-a-file",
        "is not a directory",
        arguments=("--parallel", "--run-dir", "{tmp}/made"),
        make="big",
    ),  # fmt: skip
    # --- files that would be written through a planted link
    Case(
        "log-file-symlink",
        "cannot open the log file {shared}/made: a symbolic link: refused",
        arguments=("--log-file", "{shared}/made"),
        make="symlink",
    ),  # fmt: skip
    Case(
        "log-file-dangling-symlink",
        "a symbolic link: refused",
        arguments=("--log-file", "{shared}/made"),
        make="dangling",
    ),  # fmt: skip
    Case(
        "log-file-fifo",
        "not a regular file: refused",
        arguments=("--log-file", "{tmp}/made"),
        make="fifo",
    ),  # fmt: skip
    Case(
        "lock-file-symlink",
        "[main] lock_file: cannot open {shared}/made: a symbolic link: refused",
        arguments=("--config", "lock_file={shared}/made"),
        make="symlink",
    ),  # fmt: skip
]


class Listener:
    """A socket of 127.0.0.1 that listens and never accepts: connections wait in its backlog."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]

    def contacted(self) -> bool:
        try:
            connection, _ = self.socket.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.socket.close()


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_folder() as path:
        yield path


def make(kind: str | None, tmp_path: Path, shared: Path) -> None:
    """What the case needs at {tmp}/made, or a link planted by another account at
    {shared}/made to the test's own {tmp}/precious (which exists for "symlink")."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "made")
    elif kind == "big":
        (tmp_path / "made").write_text(BASE + "# padding\n" * (1024**2 // 10))
    elif kind in ("symlink", "dangling"):
        if kind == "symlink":
            (tmp_path / "precious").write_text("keep me\n")
        plant_link(shared / "made", tmp_path / "precious")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_unusable_input_is_one_line_exit_2_and_nothing_is_contacted(
    case: Case,
    tmp_path: Path,
    listener: Listener,
    shared: Path,
    no_openstack_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def filled(text: str) -> str:
        keystone = f"http://127.0.0.1:{listener.port}/v3"
        text = text.replace("{url}", keystone).replace("{port}", str(listener.port))
        return text.replace("{tmp}", str(tmp_path)).replace("{shared}", str(shared))

    monkeypatch.setenv("OS_AUTH_URL", f"gopher://127.0.0.1:{listener.port}/v3")
    config = tmp_path / "glancesync.conf"
    config.write_text(filled(BASE if case.config is None else case.config))
    config.chmod(0o600)
    make(case.make, tmp_path, shared)

    status = main(["--config-file", str(config), *(filled(a) for a in case.arguments)])

    out, err = capsys.readouterr()
    assert (status, out) == (EXIT_CONFIG, ""), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert filled(case.expected) in err
    assert len(err) < 400 and "Traceback" not in err and "pa55-Word" not in err
    assert not listener.contacted()
    if case.make == "symlink":
        assert (tmp_path / "precious").read_text() == "keep me\n"
    if case.make == "dangling":
        assert not (tmp_path / "precious").exists()
