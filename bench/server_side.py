"""Server-side copy (§11) against streaming, on the local cloud, side by side in one run.

    bash bench/run [--quick] [--repeat N]      (one of its parts)
    .venv/bin/python bench/server_side.py [--quick] [--repeat N]

One 1 GiB image (128 MiB with --quick) master → one region, --repeat rounds, the variants
interleaved: to Paris, whose Glance copies it by itself (glance-download); to Paris streamed
(`server_side_copy = never`); to Lisbon, which does not offer glance-download, streamed. For
each: wall time, and the image's bytes that the master's Glance served to the sync host and to
Paris's importer, read in its access log (`LocalCloud.image_bytes_served`): the sync host's
must be 0 for the import beyond the format check's head read (listings and verification are
records, not image bytes).

The local cloud is emptied (`reset`) before and after. Prints a table and writes
bench/results/server-side-<date>.json.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from cloudkit import MiB

from bench import MASTER, Bench, benchmark_run, only

BIG = "bench-server-side"
VARIANTS = {  # name -> region, overrides
    "glance-download → Paris": ("Paris", ("server_side_copy=auto",)),
    "streamed → Paris": ("Paris", ()),
    "streamed → Lisbon": ("Lisbon", ()),
}


def part_server_side(bench: Bench) -> None:
    size = bench.sizes.big
    image_id = bench.results["big_image"]["id"]
    label = f"1 → 1 region, {size // MiB} MiB: server-side copy vs streaming"
    served: dict[str, dict[str, int]] = {}

    def variant(name: str, region: str, overrides: tuple[str, ...]) -> Callable[[], float]:
        def run() -> float:
            bench.clear(BIG, region)
            since = bench.cloud.log_position(MASTER)
            result = bench.sync([region], only(BIG), *overrides)
            served[name] = bench.cloud.image_bytes_served(MASTER, image_id, since)
            return result.seconds

        return run

    times = bench.timed(label, {name: variant(name, *how) for name, how in VARIANTS.items()})
    for name in VARIANTS:
        read = served[name]
        bench.row(
            label,
            name,
            f"{bench.spread(label, name)}; through the sync host {read['host'] / MiB:.2f} MiB,"
            f" by Paris's Glance {read['glance'] / MiB:.0f} MiB",
        )
    imported = served["glance-download → Paris"]["host"]
    bench.row(
        label,
        "glance-download: image bytes through the sync host",
        f"{imported // 1024} KiB (the format check's head)",
        f"≤ 256 KiB {'met' if imported <= 256 * 1024 else 'NOT met'}",
    )
    ratio = times["glance-download → Paris"] / times["streamed → Paris"]
    bench.row(label, "glance-download / streamed, same region", f"{ratio:.2f}")
    bench.results["server_side"] = {"seconds": times, "served": served, "ratio": ratio}


def main() -> int:
    with benchmark_run("server-side", "server-side copy benchmark", BIG) as bench:
        part_server_side(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
