"""The cost of format inspection (§10) on the local cloud, side by side in one run.

    bash bench/run [--quick] [--repeat N]      (this is its last part)
    .venv/bin/python bench/inspection.py [--quick] [--repeat N]

1. one 1 GiB image master → one region: glancesync, and glancesync with inspection switched
   off (bench/uninspected.py), 2 × --repeat rounds in alternating order; the ratio of their
   medians (target ≤ 1.02), of the whole runs and of the region's work alone; and
   the inspector's own CPU time over the same GiB, fed whole (the worst case: an image only
   its end decides) and as a sync feeds it (until it decides);
2. `--check-formats` over 100 images of 64 MiB: wall time, and the bytes read from the master
   per image (a counting proxy in front of the master's Glance), against the image size.

The local cloud is emptied (`reset`) before and after. Prints a table and writes
bench/results/inspection-<date>.json.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

from cloudkit import REPO, GiB, MiB, random_chunks
from oslo_utils.imageutils import format_inspector

from bench import MASTER, Bench, benchmark_run, only, proxied, region_seconds, verdict
from glancesync.formats import Inspection
from glancesync.image import Image
from glancesync.transfer import CHUNK_SIZE

UNINSPECTED = (str(REPO / ".venv" / "bin" / "python"), str(REPO / "bench" / "uninspected.py"))
BIG = "bench-inspect-big"
MANY = "bench-check"


@dataclass(frozen=True)
class Sizes:
    big: int
    images: int
    image: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        return cls(128 * MiB, 10, 16 * MiB) if quick else cls(GiB, 100, 64 * MiB)


def part_overhead(bench: Bench) -> None:
    size = bench.sizes.big
    label = f"inspection, 1 → 1 region, {size // MiB} MiB"

    def variant(program: tuple[str, ...] | None, name: str):
        def run() -> float:
            bench.clear(BIG, "Lisbon")
            extra = {"program": program} if program else {}
            result = bench.sync(["Lisbon"], only(BIG), **extra)
            bench.samples(label).setdefault(f"{name}, region work", []).append(
                region_seconds(result.output)
            )
            return result.seconds

        return run

    variants = {
        "inspected (glancesync)": variant(None, "inspected"),
        "not inspected": variant(UNINSPECTED, "not inspected"),
    }
    samples = bench.samples(label)
    for round_ in range(2 * bench.repeat):  # A B, B A, ...: neither always goes first
        for name in list(variants)[:: 1 if round_ % 2 == 0 else -1]:
            samples.setdefault(name, []).append(variants[name]())
    times = {name: statistics.median(samples[name]) for name in variants}
    for name in ("inspected, region work", "not inspected, region work"):
        times[name] = statistics.median(bench.samples(label)[name])
    for name, seconds in times.items():
        bench.row(label, name, f"{bench.spread(label, name)}, {size / MiB / seconds:.0f} MiB/s")
    ratio = times["inspected (glancesync)"] / times["not inspected"]
    work_ratio = times["inspected, region work"] / times["not inspected, region work"]
    bench.row(
        label, "inspected / not inspected", f"{ratio:.3f}", f"≤ 1.02 {verdict(ratio <= 1.02)}"
    )
    bench.row(label, "the same, region work only", f"{work_ratio:.3f}")
    whole, decided, inspected = inspector_cpu(size)
    bench.row(label, "inspector CPU, every byte fed (worst case)", f"{whole:.3f} s")
    bench.row(
        label, f"inspector CPU as a sync feeds it ({inspected // 1024} KiB)", f"{decided:.4f} s"
    )
    bench.results["overhead"] = {
        "seconds": times,
        "ratio": ratio,
        "region_work_ratio": work_ratio,
        "inspector_cpu_whole": whole,
        "inspector_cpu_until_decided": decided,
        "bytes_inspected": inspected,
    }


def inspector_cpu(size: int) -> tuple[float, float, int]:
    """CPU seconds of oslo's inspectors over `size` random bytes in CHUNK_SIZE chunks: fed all
    of them, and fed as `Inspection` feeds them (until it decides); and the bytes it took."""
    chunks = list(random_chunks(64 * MiB, CHUNK_SIZE))
    rounds = size // (64 * MiB)

    class Pending:
        chunk = b""

        def read(self, _size: int) -> bytes:
            return self.chunk

    pending = Pending()
    wrapper = format_inspector.InspectWrapper(pending)
    started = time.process_time()
    for _ in range(rounds):
        for chunk in chunks:
            pending.chunk = chunk
            wrapper.read(len(chunk))
    wrapper.close()
    whole = time.process_time() - started
    inspection = Inspection(Image("bench", "bench", disk_format="raw", container_format="bare"))
    started = time.process_time()
    for _ in range(rounds):
        for chunk in chunks:
            inspection.feed(chunk)
    inspection.finish()
    return whole, time.process_time() - started, inspection.bytes_inspected


def part_check_formats(bench: Bench) -> None:
    count, size = bench.sizes.images, bench.sizes.image
    label = f"--check-formats, {count} images of {size // MiB} MiB"
    bench.clear(BIG, MASTER)
    for number in range(count):
        bench.cloud.put_random(MASTER, f"{MANY}-{number:03}", size)
    seconds = bench.timed(label, {"--check-formats": lambda: check(bench).seconds})
    with proxied(bench.cloud, MASTER) as proxies:
        proxy, name = proxies[MASTER]
        check(bench, f"main.master_region={name}")
        read = proxy.bytes_down
    per_image = read / count
    bench.row(label, "--check-formats", bench.spread(label, "--check-formats"))
    bench.row(label, "per image", f"{seconds['--check-formats'] / count * 1000:.0f} ms")
    bench.row(
        label,
        "bytes read from the master per image",
        f"{per_image / 1024:.0f} KiB ({per_image / size:.2%} of the image, listing included)",
    )
    bench.results["check_formats"] = {
        "images": count,
        "image_size": size,
        "seconds": seconds["--check-formats"],
        "master_bytes": read,
    }


def check(bench: Bench, *overrides: str):
    result = bench.sync(["Lisbon"], *overrides, mode="--check-formats")
    lines = [line for line in result.output.splitlines() if f",{MANY}-" in line]
    if len(lines) != bench.sizes.images:
        raise SystemExit(f"--check-formats did not report every image:\n{result.output}")
    return result


def main() -> int:
    with benchmark_run("inspection", "format inspection benchmark", BIG, Sizes) as bench:
        part_overhead(bench)
        part_check_formats(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
