"""The data-path benchmark of glancesync on the local cloud: five parts, one run, side by side.

    bash bench/run [--quick] [--repeat N]

1. one image master → one region: glancesync, a raw streamed copy (curl | curl, and the same
   in Python), and download-to-file then upload;
2. the same image to three regions: glancesync in turn and --parallel, and the master bytes
   read (a counting FaultProxy in front of the master's Glance);
3. peak RSS of glancesync's process tree for three image sizes;
4. --show-status over 2,000 images × 3 regions: wall time and API requests per region (counted
   by proxies), against listing the same images with glanceclient alone;
5. a no-op second sync: wall time and write requests.

The local cloud (tools/localcloud, GLANCESYNC_LOCALCLOUD_* honoured) is started if needed and
emptied (`reset`) before and after. Times are medians of --repeat runs, the variants of a part
interleaved. Prints a table and writes bench/results/bench-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from cloudkit import (
    REPO,
    WRITE_METHODS,
    Cloud,
    GiB,
    MiB,
    Run,
    glancesync,
    run_measured,
)
from faultproxy import FaultProxy, proxied_region  # tests/, put on sys.path by cloudkit
from localcloud_client import localcloud_checked

MASTER = "Madrid"
REGIONS = ("Lisbon", "Paris", "other:Berlin")
BIG = "bench-big"
TINY = "bench-tiny"
# The data path streams through the sync host; Paris would copy by itself (glance-download),
# which bench/server_side.py measures on its own.
STREAMED = "server_side_copy=never"


@dataclass
class Sizes:
    big: int
    rss: tuple[int, ...]
    images: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(128 * MiB, (32 * MiB, 128 * MiB, 512 * MiB), 200)
        return cls(GiB, (256 * MiB, GiB, 4 * GiB), 2000)


@dataclass
class Bench:
    cloud: Cloud
    work: Path
    sizes: Sizes
    repeat: int
    results: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # part, measure, ...

    def sync(self, regions: Sequence[str], *overrides: str, **options: Any) -> Run:
        """A glancesync run that must succeed; streamed unless `overrides` say otherwise."""
        run = glancesync(self.cloud, regions, STREAMED, *overrides, workdir=self.work, **options)
        if run.status:
            raise SystemExit(f"glancesync {' '.join(regions)} failed ({run.status}):\n{run.output}")
        return run

    def timed(self, part: str, variants: dict[str, Callable[[], float]]) -> dict[str, float]:
        """Median seconds of each variant over `repeat` rounds, the variants interleaved in
        each round; every sample is kept in the results."""
        samples = self.samples(part)
        for _ in range(self.repeat):
            for name, variant in variants.items():
                samples.setdefault(name, []).append(variant())
        return {name: statistics.median(samples[name]) for name in variants}

    def save(self, name: str) -> None:
        """The results as bench/results/NAME-<time>.json (the load at the end and the table
        included), the table printed, and the file's path."""
        self.results["machine"]["load_average_at_end"] = os.getloadavg()
        self.results["table"] = self.rows
        results_dir = REPO / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        path = results_dir / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(self.results, indent=2) + "\n")
        print_table(self.rows)
        print(f"\nresults: {path}")

    def samples(self, part: str) -> dict[str, list[float]]:
        return self.results.setdefault("samples", {}).setdefault(part, {})

    def spread(self, part: str, name: str) -> str:
        """`median s (min-max)` of a timed variant."""
        runs = self.samples(part)[name]
        return f"{statistics.median(runs):.2f} s ({min(runs):.2f}-{max(runs):.2f})"

    def row(self, part: str, measure: str, value: str, target: str = "") -> None:
        self.rows.append((part, measure, value, target))
        print(f"  {measure}: {value} {target}", flush=True)

    def clear(self, name: str, *regions: str) -> None:
        for region in regions:
            self.cloud.delete_named(region.removeprefix("other:"), name)


def region_seconds(output: str) -> float:
    """The seconds of a one-region run's work, from its summary line ("... in 7.3 s")."""
    line = next(line for line in output.splitlines() if " uploaded in " in line)
    return float(line.rsplit(" in ", 1)[1].split()[0])


def only(name: str) -> str:
    return f"metadata_condition=image.name == '{name}'"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# --- part 1: one region


def part_one_region(bench: Bench) -> float:
    cloud, size = bench.cloud, bench.sizes.big
    token_file = bench.work / "token-headers"
    token_file.write_text(f"X-Auth-Token: {cloud.token('Lisbon')}\n")
    token_file.chmod(0o600)
    master_id = bench.results["big_image"]["id"]
    source = f"{cloud.url(MASTER)}/v2/images/{master_id}/file"
    put_headers = f"-H @{token_file} -H 'Content-Type: application/octet-stream' " + (
        f"-H 'x-openstack-image-size: {size}'"
    )
    peaks: list[int] = []
    label = f"1 → 1 region, {size // MiB} MiB"
    work = "glancesync, the region's work only"  # create, upload, verify: no start, no listing

    def fresh_target() -> str:
        bench.clear(BIG, "Lisbon")
        return f"{cloud.url('Lisbon')}/v2/images/{cloud.create('Lisbon', BIG)}/file"

    def timed_shell(script: str) -> float:
        started = time.monotonic()
        subprocess.run(["bash", "-c", f"set -eo pipefail; {script}"], check=True)
        return time.monotonic() - started

    def tool() -> float:
        bench.clear(BIG, "Lisbon")
        run = bench.sync(["Lisbon"], only(BIG))
        peaks.append(run.peak_rss)
        bench.samples(label).setdefault(work, []).append(region_seconds(run.output))
        return run.seconds

    def curl_pipe() -> float:
        target = fresh_target()
        return timed_shell(
            f"curl -sf -H @{token_file} {source} | curl -sf -T - -X PUT {put_headers} {target}"
        )

    def python_pipe() -> float:
        target = fresh_target()
        token = {"X-Auth-Token": cloud.token("Lisbon")}
        started = time.monotonic()
        with requests.get(source, headers=token, stream=True) as download:
            headers = {**token, "Content-Type": "application/octet-stream"}
            headers["x-openstack-image-size"] = str(size)
            requests.put(target, data=download.iter_content(256 * 1024), headers=headers)
        return time.monotonic() - started

    def via_file() -> float:
        target = fresh_target()
        path = bench.work / "image.bin"
        seconds = timed_shell(
            f"curl -sf -H @{token_file} -o {path} {source} && "
            f"curl -sf -T {path} -X PUT {put_headers} {target}"
        )
        path.unlink()
        return seconds

    times = bench.timed(
        label,
        {
            "glancesync": tool,
            "raw pipe (curl | curl)": curl_pipe,
            "raw pipe (Python requests)": python_pipe,
            "download to file, then upload (curl)": via_file,
        },
    )
    times[work] = statistics.median(bench.samples(label)[work])
    bench.results["one_region"] = {"seconds": times, "glancesync_peak_rss": max(peaks)}
    raw = min(times["raw pipe (curl | curl)"], times["raw pipe (Python requests)"])
    via = times["download to file, then upload (curl)"]
    for name, seconds in times.items():
        bench.row(label, name, f"{bench.spread(label, name)}, {size / MiB / seconds:.0f} MiB/s")
    bench.row(label, "glancesync's region work / fastest raw pipe", f"{times[work] / raw:.2f}")
    ratio, file_ratio = times["glancesync"] / raw, times["glancesync"] / via
    bench.row(
        label, "glancesync / fastest raw pipe", f"{ratio:.2f}", f"≤ 1.10 {verdict(ratio <= 1.10)}"
    )
    bench.row(
        label,
        "glancesync / download-then-upload",
        f"{file_ratio:.2f}",
        f"≤ 0.75 {verdict(file_ratio <= 0.75)}",
    )
    return times["glancesync"]


# --- part 2: three regions


@contextmanager
def proxied(cloud: Cloud, *regions: str) -> Iterator[dict[str, tuple[FaultProxy, str]]]:
    """A counting proxy in front of each region: {region: (proxy, region name through it)}."""
    with ExitStack() as stack:
        found = {}
        for region in regions:
            plain = region.removeprefix("other:")
            proxy = stack.enter_context(FaultProxy(cloud.region_info(plain)["port"]))
            target = cloud.target_of(plain)
            name = stack.enter_context(proxied_region(cloud, target, plain, proxy))
            found[region] = (proxy, name if target == "master" else f"{target}:{name}")
        yield found


def part_three_regions(bench: Bench, one_region: float) -> None:
    regions, size = list(REGIONS), bench.sizes.big
    peaks: dict[str, int] = {}

    def variant(parallel: bool) -> Callable[[], float]:
        def run() -> float:
            bench.clear(BIG, *regions)
            result = bench.sync(regions, only(BIG), parallel=parallel)
            key = "--parallel" if parallel else "in turn"
            peaks[key] = max(peaks.get(key, 0), result.peak_rss)
            return result.seconds

        return run

    label = f"1 → 3 regions, {size // MiB} MiB"
    times = bench.timed(label, {"in turn": variant(False), "--parallel": variant(True)})
    master_bytes = {}
    for parallel, key in ((False, "in turn"), (True, "--parallel")):
        bench.clear(BIG, *regions)
        with proxied(bench.cloud, MASTER) as proxies:
            proxy, name = proxies[MASTER]
            bench.sync(regions, only(BIG), f"main.master_region={name}", parallel=parallel)
            master_bytes[key] = proxy.bytes_down
    bench.results["three_regions"] = {
        "seconds": times,
        "master_bytes": master_bytes,
        "image_size": size,
        "peak_rss": peaks,
    }
    for key in times:
        bench.row(label, f"glancesync {key}", bench.spread(label, key))
    ratio = times["--parallel"] / one_region
    bench.row(label, "--parallel / one region", f"{ratio:.2f}", f"≤ 1.4 {verdict(ratio <= 1.4)}")
    for key, read in master_bytes.items():
        share = read / size
        bench.row(
            label,
            f"master bytes read {key} / image size",
            f"{share:.4f}",
            f"= 1.0 {verdict(1.0 <= share < 1.01)}",
        )
    bench.row(label, "peak RSS --parallel (4 processes, summed)", mib(peaks["--parallel"]))


def mib(size: int) -> str:
    return f"{size / MiB:.0f} MiB"


# --- part 3: memory


def part_memory(bench: Bench) -> None:
    cloud, peaks = bench.cloud, {}
    for size in bench.sizes.rss:
        name = BIG if size == bench.sizes.big else f"bench-rss-{size // MiB}"
        if name != BIG:
            free = shutil.disk_usage(cloud["state_dir"]).free
            if free < 2 * size + 2 * GiB:
                bench.row("peak RSS", f"{size // MiB} MiB image", f"skipped: {mib(free)} free")
                continue
            cloud.put_random(MASTER, name, size)
        bench.clear(name, "Lisbon")
        peaks[size] = bench.sync(["Lisbon"], only(name)).peak_rss
        if name != BIG:
            bench.clear(name, MASTER, "Lisbon")
        bench.row(
            "peak RSS",
            f"{size // MiB} MiB image → 1 region",
            mib(peaks[size]),
            f"≤ 150 MiB {verdict(peaks[size] <= 150 * MiB)}",
        )
    bench.results["peak_rss"] = {str(size): peak for size, peak in peaks.items()}


# --- parts 4 and 5: many images


def build_many_images(bench: Bench, regions: Sequence[str] = REGIONS) -> None:
    """TINY and TINY-0 ... in the master and every region: the same names and bytes."""
    data = os.urandom(1024)
    for region in (MASTER, *regions):
        plain = region.removeprefix("other:")
        image_id = bench.cloud.create(plain, TINY, visibility="public")
        bench.cloud.upload(plain, image_id, iter([data]), len(data))
        bench.cloud.clone_rows(plain, image_id, bench.sizes.images - 1)


@contextmanager
def counting(
    bench: Bench, regions: Sequence[str], extra: dict[str, FaultProxy]
) -> Iterator[dict[str, tuple[FaultProxy, str]]]:
    """A counting proxy in front of the master and each of `regions` of the local cloud
    (`proxied`); `extra`: regions that are counting proxies already, by name."""
    with proxied(bench.cloud, MASTER, *(r for r in regions if r not in extra)) as proxies:
        for name, proxy in extra.items():
            proxy.reset_counts()
            proxies[name] = (proxy, name)
        yield proxies


def listing_pages(requests_seen: Sequence[str]) -> int:
    """The image listing requests (pages) among request lines."""
    return sum(1 for line in requests_seen if line.startswith("GET /v2/images?"))


def part_show_status(
    bench: Bench, regions: Sequence[str] = REGIONS, extra: dict[str, FaultProxy] | None = None
) -> None:
    """--show-status against glanceclient's listing of the same regions; requests counted per
    region. `extra`: regions (in `regions`) that are counting proxies of their own."""
    cloud, extra = bench.cloud, extra or {}
    listing = [str(REPO / ".venv/bin/python"), str(REPO / "bench/glanceclient_list.py")]
    listing += [str(Path(cloud["state_dir"]) / "cloud.json"), MASTER, *regions]
    peaks: list[int] = []

    def show_status() -> float:
        run = bench.sync(regions, mode="--show-status")
        peaks.append(run.peak_rss)
        return run.seconds

    def glanceclient() -> float:
        run = run_measured(listing)
        if run.status:
            raise SystemExit(f"glanceclient listing failed:\n{run.output}")
        return run.seconds

    label = f"--show-status, {bench.sizes.images} images × {len(regions)} regions"
    times = bench.timed(
        label, {"glancesync --show-status": show_status, "glanceclient": glanceclient}
    )
    with counting(bench, regions, extra) as proxies:
        names = [proxies[region][1] for region in regions]
        master_name = proxies[MASTER][1]
        bench.sync(names, f"main.master_region={master_name}", mode="--show-status")
        seen = {region: list(proxies[region][0].requests) for region in proxies}
    requests_made = {region: len(lines) for region, lines in seen.items()}
    pages = {region: listing_pages(lines) for region, lines in seen.items()}
    images = bench.sizes.images + 1  # the big image in the master, TINY-n... in the regions
    bench.results["show_status"] = {
        "seconds": times,
        "requests": requests_made,
        "pages": pages,
        "peak_rss": max(peaks),
    }
    for name in times:
        bench.row(label, name, bench.spread(label, name))
    ratio = times["glancesync --show-status"] / times["glanceclient"]
    bench.row(label, "glancesync / glanceclient", f"{ratio:.2f}", f"≤ 2 {verdict(ratio <= 2)}")
    requests_row(bench, label, requests_made, pages, images)
    peak_row(bench, label, max(peaks))


def requests_row(
    bench: Bench, label: str, made: dict[str, int], pages: dict[str, int], images: int
) -> None:
    """Requests per region against its listing pages (+ 3), the pages against what a listing
    of `images` needs (1,000 a page; a hidden-images listing, if made, one page more)."""
    for region in made:
        limit, least = pages[region] + 3, images // 1000 + 1
        bench.row(
            label,
            f"requests to {region}",
            f"{made[region]} ({pages[region]} pages, ≥ {least} needed)",
            f"≤ {limit} {verdict(made[region] <= limit and pages[region] <= least + 1)}",
        )


def peak_row(bench: Bench, label: str, peak: int, limit: int = 200) -> None:
    bench.row(label, "peak RSS", mib(peak), f"≤ {limit} MiB {verdict(peak <= limit * MiB)}")


def part_noop(
    bench: Bench, regions: Sequence[str] = REGIONS, extra: dict[str, FaultProxy] | None = None
) -> None:
    """A no-op second sync: wall time, peak RSS, requests (none that writes)."""
    extra = extra or {}
    label = f"no-op sync, {bench.sizes.images + 1} images × {len(regions)} regions"
    peaks: list[int] = []

    def noop() -> float:
        run = bench.sync(regions)
        peaks.append(run.peak_rss)
        return run.seconds

    times = bench.timed(label, {"no-op sync": noop})
    with counting(bench, regions, extra) as proxies:
        names = [proxies[region][1] for region in regions]
        bench.sync(names, f"main.master_region={proxies[MASTER][1]}")
        per_region = {region: list(proxy.requests) for region, (proxy, _) in proxies.items()}
    seen = [line for lines in per_region.values() for line in lines]
    writes = [line for line in seen if line.startswith(WRITE_METHODS)]
    bench.results["noop"] = {
        "seconds": times["no-op sync"],
        "requests": len(seen),
        "requests_per_region": {region: len(lines) for region, lines in per_region.items()},
        "writes": writes,
        "peak_rss": max(peaks),
    }
    bench.row(label, "wall time", bench.spread(label, "no-op sync"))
    bench.row(label, "requests (all regions and the master)", str(len(seen)))
    if extra:  # the scale part: per region
        made = {region: len(lines) for region, lines in per_region.items()}
        pages = {region: listing_pages(lines) for region, lines in per_region.items()}
        requests_row(bench, label, made, pages, bench.sizes.images + 1)
        peak_row(bench, label, max(peaks))
    bench.row(label, "write requests", str(len(writes)), f"= 0 {verdict(not writes)}")


# --- the run


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    width = max(len(row[1]) for row in rows)
    part = None
    for row in rows:
        if row[0] != part:
            part = row[0]
            print(f"\n{part}")
        print(f"  {row[1]:<{width}}  {row[2]}  {row[3]}")


@contextmanager
def benchmark_run(
    name: str, title: str, big_image: str = BIG, sizes: Any = None
) -> Iterator[Bench]:
    """A benchmark's run from its command line (--quick, --repeat): a Bench on the emptied
    local cloud with the big image `big_image` in the master; the cloud is emptied again at
    the end, and the results are saved as bench/results/NAME[-quick]-<time>.json. `sizes`:
    the benchmark's own sizes class (`.of(quick)`, with `.big`), `Sizes` by default."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, help="runs per variant (default 3, quick 1)")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    cloud = Cloud()
    localcloud_checked("reset")
    with tempfile.TemporaryDirectory(prefix="glancesync-bench-") as work:
        bench = Bench(cloud, Path(work), (sizes or Sizes).of(args.quick), repeat)
        bench.results["machine"] = machine()
        print(f"{title}, {'quick' if args.quick else 'full'}, median of {repeat}", flush=True)
        try:
            bench.results["big_image"] = cloud.put_random(MASTER, big_image, bench.sizes.big)
            yield bench
        finally:
            localcloud_checked("reset")
    bench.save(f"{name}-quick" if args.quick else name)


def main() -> int:
    with benchmark_run("bench", "glancesync data-path benchmark") as bench:
        one_region = part_one_region(bench)
        part_three_regions(bench, one_region)
        part_memory(bench)
        build_many_images(bench)
        part_show_status(bench)
        part_noop(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
