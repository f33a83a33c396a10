"""Files in shared folders (glancesync.files): safe names, no-follow opens, atomic replacement."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from planted import plant_link, shared_folder

from glancesync.files import LONGEST_NAME, file_name, open_file, replacing
from glancesync.metrics import write_metrics
from glancesync.report import Report

HOSTILE_NAMES = [
    "../../../x/escaped",
    "/abs/path",
    "..",
    ".",
    ".hidden",
    "a/b",
    "a\\b",
    "tab\there",
    "esc\x1b[2Jx",
    "new\nline",
    "nul\x00byte",
    "percent%2F",
    "other:Berlin",
    "Zürich",
    "",
    "x" * 300,
    "é" * 300,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_a_file_name_never_leaves_its_folder(name: str, tmp_path: Path) -> None:
    escaped = file_name(name)
    assert "/" not in escaped and "\x00" not in escaped and escaped not in ("", ".", "..")
    assert not escaped.startswith(".")
    assert escaped.isascii() and escaped.isprintable() and len(escaped) <= LONGEST_NAME
    (tmp_path / escaped).write_text("")  # a name the file system takes
    assert [path.name for path in tmp_path.iterdir()] == [escaped]


def test_file_names_never_collide() -> None:
    names = [*HOSTILE_NAMES, "other_Berlin", "other%3ABerlin", "%", "%25", "x" * 299 + "y"]
    assert len({file_name(name) for name in names}) == len(names)


def test_ordinary_names_are_kept_and_a_target_colon_is_escaped() -> None:
    assert file_name("Lisbon") == "Lisbon"
    assert file_name("base_debian-12.1") == "base_debian-12.1"
    assert file_name("other:Berlin") == "other%3ABerlin"
    assert file_name("../x") == "%2E.%2Fx"


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_folder() as path:
        yield path


def test_open_file_refuses_a_planted_link_and_leaves_its_target_alone(
    tmp_path: Path, shared: Path
) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    plant_link(shared / "link", target)
    with pytest.raises(OSError, match="a symbolic link: refused"):
        open_file(str(shared / "link"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    assert target.read_text() == "keep"


def test_open_file_refuses_a_planted_dangling_link_without_creating_its_target(
    tmp_path: Path, shared: Path
) -> None:
    plant_link(shared / "link", tmp_path / "made")
    with pytest.raises(OSError, match="a symbolic link: refused"):
        open_file(str(shared / "link"), os.O_WRONLY | os.O_CREAT)
    assert not (tmp_path / "made").exists()


def test_open_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND):
        with pytest.raises(OSError, match="not a regular file: refused"):
            open_file(str(tmp_path / "fifo"), flags)


def test_open_file_refuses_to_write_a_file_with_other_hard_links(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("keep")
    os.link(tmp_path / "a", tmp_path / "b")
    with pytest.raises(OSError, match="a file with other hard links: refused"):
        open_file(str(tmp_path / "b"), os.O_WRONLY | os.O_APPEND)
    os.close(open_file(str(tmp_path / "b"), os.O_RDONLY))  # reading one is harmless


def test_open_file_gives_a_blocking_descriptor(tmp_path: Path) -> None:
    descriptor = open_file(str(tmp_path / "new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        assert os.get_blocking(descriptor) and not os.get_inheritable(descriptor)
    finally:
        os.close(descriptor)


def test_replacing_shows_the_file_only_once_complete(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with replacing(str(path)) as stream:
        stream.write("half")
        assert not path.exists()
        assert [p.name for p in tmp_path.iterdir()][0].startswith(".out.csv.")
    assert path.read_text() == "half" and path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_replacing_leaves_nothing_when_the_writer_fails(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with replacing(str(tmp_path / "out.csv")) as stream:
            stream.write("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_the_metrics_file_replaces_a_planted_link_without_following_it(
    tmp_path: Path, shared: Path
) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    plant_link(shared / "glancesync.prom", target)
    write_metrics(str(shared / "glancesync.prom"), Report())
    assert target.read_text() == "keep"
    written = shared / "glancesync.prom"
    assert not written.is_symlink() and "glancesync_last_run_success 1" in written.read_text()


KILLED_WHILE_WRITING = """
import sys, time
from glancesync.files import replacing
with replacing(sys.argv[1]) as stream:
    stream.write("id,name\\n" * 1000)
    stream.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_midway_leaves_no_file_under_the_final_name(tmp_path: Path) -> None:
    path = tmp_path / "Lisbon.csv"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert not path.exists()
    [partial] = tmp_path.iterdir()
    assert partial.name.startswith(".Lisbon.csv.") and partial.name.endswith(".partial")
