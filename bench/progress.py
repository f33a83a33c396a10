"""Progress bar by measurement: what a tqdm or a rich bar costs glancesync's upload stream.

    .venv/bin/python bench/progress.py [--size MIB] [--repeat N] [--quick]

An image of --size MiB (one random CHUNK_SIZE block, repeated: no allocation) is read through
glancesync's VerifyingStream (md5 + sha512 of every chunk) in reads of CHUNK_SIZE, as the
upload reads it: alone (the baseline); through the thin hook the product will use, whose read()
reports len(data) to a callable, here a no-op; and with that hook advancing a tqdm bar or a
rich Progress (bar, bytes, rate, ETA) drawn on a pseudo-terminal of 100 columns whose master
side a `cat` child drains, as a terminal emulator in a process of its own would. The variants
are interleaved, round after round; wall and CPU time (time.process_time: every thread, so
rich's refresh thread and tqdm's monitor too) are divided by the baseline's of the same round.
Then each advance alone (CPU of the reading thread in a tight loop), the CPU a bar costs at the
pace of a real upload (168 MiB/s, bench/README.md: a chunk every 1.5 ms), and the import time
of each library in fresh interpreters, interleaved.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import resource
import statistics
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from importlib.metadata import version
from typing import TextIO

from cloudkit import MiB
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from tqdm import tqdm

from glancesync.image import Image
from glancesync.transfer import CHUNK_SIZE, VerifyingStream

COLUMNS = 100
NAME = "bench-progress.img"
UPLOAD_RATE = 168 * MiB  # bytes/s of glancesync's upload to one region (bench/README.md)
DEPS = "import keystoneauth1.session, multiprocessing, requests, yaml"  # glancesync's own
IMPORTS = {  # name: (code, the name it is compared with)
    "pass": ("pass", "pass"),
    "tqdm": ("import tqdm", "pass"),
    "rich": ("import rich.progress", "pass"),
    "deps": (DEPS, "pass"),
    "deps + tqdm": (f"{DEPS}, tqdm", "deps"),
    "deps + rich": (f"{DEPS}, rich.progress", "deps"),
}
Advance = Callable[[int], object]
Bar = Callable[[int, TextIO], AbstractContextManager[Advance | None]]


class Reported:
    """The product's hook: read() reads the stream, then reports the bytes it returned."""

    def __init__(self, stream: VerifyingStream, advance: Advance):
        self._stream, self._advance = stream, advance

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._advance(len(data))
        return data


@contextmanager
def baseline(size: int, terminal: TextIO) -> Iterator[Advance | None]:
    """No hook at all: the stream is read directly."""
    yield None


@contextmanager
def hook(size: int, terminal: TextIO) -> Iterator[Advance | None]:
    """The hook, reporting to nothing: its own cost."""
    yield lambda count: None


@contextmanager
def tqdm_bar(size: int, terminal: TextIO) -> Iterator[Advance | None]:
    units = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
    with tqdm(total=size, desc=NAME, file=terminal, dynamic_ncols=True, **units) as bar:
        yield bar.update


@contextmanager
def rich_bar(size: int, terminal: TextIO) -> Iterator[Advance | None]:
    # The width is the pty's: rich asks stdin/stdout/stderr for it, not `file`.
    console = Console(file=terminal, force_terminal=True, width=COLUMNS)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True))
    with Progress(*columns, TransferSpeedColumn(), TimeRemainingColumn(), console=console) as bar:
        yield partial(bar.advance, bar.add_task(NAME, total=size))


VARIANTS: dict[str, Bar] = {"baseline": baseline, "hook": hook, "tqdm": tqdm_bar, "rich": rich_bar}


@contextmanager
def pseudo_terminal() -> Iterator[TextIO]:
    """The slave side of a pty of COLUMNS columns; a `cat` child drains the master side."""
    master, slave = os.openpty()
    termios.tcsetwinsize(slave, (24, COLUMNS))
    null = subprocess.DEVNULL
    drain = subprocess.Popen(["cat"], stdin=master, stdout=null, stderr=null)
    os.close(master)
    try:
        with open(slave, "w", encoding="utf-8") as terminal:
            yield terminal
    finally:
        drain.wait(timeout=10)  # it ends on EIO once the slave side is closed


def read_through(bar: Bar, image: Image, block: bytes, terminal: TextIO) -> tuple[float, float]:
    """Wall and CPU seconds of reading the image through VerifyingStream, with `bar`."""
    assert image.size is not None
    wall, cpu = time.perf_counter(), time.process_time()
    with bar(image.size, terminal) as advance:
        stream = VerifyingStream(itertools.repeat(block, image.size // len(block)), image)
        reader = stream if advance is None else Reported(stream, advance)
        while reader.read(CHUNK_SIZE):
            pass
    return time.perf_counter() - wall, time.process_time() - cpu


def paced(bar: Bar, terminal: TextIO, seconds: float) -> float:
    """CPU ms per second that a bar costs, advanced one chunk at a time at UPLOAD_RATE: its
    advances (reading thread) and its own threads, without the pacing loop's cost."""
    interval, spent = CHUNK_SIZE / UPLOAD_RATE, 0.0
    with bar(int(seconds * UPLOAD_RATE), terminal) as advance:
        started, cpu, reading = time.perf_counter(), time.process_time(), time.thread_time()
        for tick in range(1, int(seconds / interval) + 1):
            if advance is not None:
                before = time.thread_time()
                advance(CHUNK_SIZE)
                spent += time.thread_time() - before
            time.sleep(max(0.0, started + tick * interval - time.perf_counter()))
        others = max(0.0, time.process_time() - cpu - (time.thread_time() - reading))
        return (spent + others) / (time.perf_counter() - started) * 1e3


def per_call(bar: Bar, terminal: TextIO, calls: int) -> float:
    """Microseconds of the calling thread's CPU per advance by one chunk (redraws included)."""
    with bar(calls * CHUNK_SIZE, terminal) as advance:
        cpu = time.thread_time()
        for _ in range(calls if advance is not None else 0):
            advance(CHUNK_SIZE)
        return (time.thread_time() - cpu) / calls * 1e6


def startup(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of a fresh interpreter that runs `code`."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def spread(values: list[float], form: str) -> str:
    """`median (min-max)` of `values`, each formatted with `form`."""
    return f"{statistics.median(values):{form}} ({min(values):{form}}-{max(values):{form}})"


def rotated(names: list[str], turn: int) -> list[str]:
    """`names` starting at another one each turn: no variant always runs first."""
    return names[turn % len(names) :] + names[: turn % len(names)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="MiB (default 512, quick 64)")
    parser.add_argument("--repeat", type=int, help="rounds (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    chunks = (args.size or (64 if args.quick else 512)) * MiB // CHUNK_SIZE
    size, repeat = chunks * CHUNK_SIZE, args.repeat or (3 if args.quick else 7)
    block = os.urandom(CHUNK_SIZE)
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    for _ in range(chunks):
        md5.update(block)
        sha512.update(block)
    hashes = {"checksum": md5.hexdigest(), "os_hash_value": sha512.hexdigest()}
    image = Image(NAME, NAME, size=size, os_hash_algo="sha512", **hashes)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    pace: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with pseudo_terminal() as terminal:
        read_through(tqdm_bar, image, block, terminal)  # warm-up: imports, first render
        read_through(rich_bar, image, block, terminal)
        for turn in range(repeat):
            for name in rotated(list(VARIANTS), turn):
                samples[name].append(read_through(VARIANTS[name], image, block, terminal))
        for turn in range(repeat):
            for name in rotated(list(VARIANTS), turn):
                pace[name].append(paced(VARIANTS[name], terminal, 0.5 if args.quick else 1))
        call = {name: per_call(bar, terminal, 20 * chunks) for name, bar in VARIANTS.items()}
    print(f"{size // MiB} MiB in {chunks} reads of {CHUNK_SIZE // 1024} KiB, {repeat} rounds;")
    print("ratio, µs/chunk: against the same round's baseline, median (min-max) of the rounds;")
    print("call µs: CPU of the reading thread per advance, alone (20 x as many, in a tight loop);")
    print(
        f"paced: CPU ms/s of the bar's advances and threads at {UPLOAD_RATE // MiB} MiB/s", end=""
    )
    print(" (hook: the floor of that measure)")
    print(
        f"{'':<8}{'wall s':>7}{'wall ratio':>21}{'µs/chunk':>10}"
        f"{'CPU ratio':>21}{'µs/chunk':>10}{'call µs':>9}{'paced ms/s':>12}"
    )
    for name, runs in samples.items():
        row = f"{name:<8}{statistics.median(wall for wall, _ in runs):>7.3f}"
        for axis in (0, 1):
            pairs = [(run[axis], ref[axis]) for run, ref in zip(runs, samples["baseline"])]
            row += f"{spread([run / ref for run, ref in pairs], '.3f'):>21}"
            row += f"{statistics.median((run - ref) / chunks * 1e6 for run, ref in pairs):>10.1f}"
        print(f"{row}{call[name]:>9.2f}{statistics.median(pace[name]):>12.2f}")
    starts: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
    for code, _ in IMPORTS.values():  # warm-up: .pyc files written
        startup(code)
    for turn in range(repeat * 3):
        for name in rotated(list(IMPORTS), turn):
            starts[name].append(startup(IMPORTS[name][0]))
    print(f"\nfresh `python -c IMPORT`, median of {repeat * 3}; over and ratio: to `than`")
    print(f"{'':<12}{'than':>6}{'wall ms':>9}{'over':>7}{'ratio':>7}{'CPU ms':>8}{'over':>7}")
    for name, runs in starts.items():
        than = starts[IMPORTS[name][1]]
        wall, cpu = (statistics.median(run[axis] * 1e3 for run in runs) for axis in (0, 1))
        wall_ref, cpu_ref = (statistics.median(run[axis] * 1e3 for run in than) for axis in (0, 1))
        print(
            f"{name:<12}{IMPORTS[name][1]:>6}{wall:>9.1f}{wall - wall_ref:>7.1f}"
            f"{wall / wall_ref:>7.2f}{cpu:>8.1f}{cpu - cpu_ref:>7.1f}"
        )
    print(f"\ntqdm {version('tqdm')}, rich {version('rich')}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
