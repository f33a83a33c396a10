"""The scale benchmark: --show-status and a no-op sync over 10,000 master images × 5 regions.

    .venv/bin/python bench/scale.py [--quick] [--repeat N]

The local cloud has four regions besides the master (Lisbon, Paris, other:Berlin, other:Rome);
the fifth is a counting proxy in front of Lisbon's Glance registered in the master's Keystone
as region Porto (it lists Lisbon's images). The images are rows cloned in the Glance databases
(bench part 4). Measured, side by side: `--show-status` against listing the master and the five
regions with python-glanceclient alone (interleaved rounds); a no-op second sync; requests per
region (counting proxies), peak RSS of the process tree. --quick: 1,000 images.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bench import (  # bench puts tests/ (faultproxy) on sys.path
    FaultProxy,
    MiB,
    benchmark_run,
    build_many_images,
    part_noop,
    part_show_status,
    proxied_region,
)

LOCAL_REGIONS = ("Lisbon", "Paris", "other:Berlin", "other:Rome")
FIFTH, FIFTH_UPSTREAM = "Porto", "Lisbon"


@dataclass
class ScaleSizes:
    big: int
    images: int

    @classmethod
    def of(cls, quick: bool) -> ScaleSizes:
        return cls(MiB, 1000 if quick else 10_000)


def main() -> int:
    title = "glancesync scale benchmark"
    with benchmark_run("scale", title, sizes=ScaleSizes) as bench:
        build_many_images(bench, LOCAL_REGIONS)
        cloud = bench.cloud
        with (
            FaultProxy(cloud.region_info(FIFTH_UPSTREAM)["port"]) as proxy,
            proxied_region(cloud, "master", FIFTH_UPSTREAM, proxy, name=FIFTH) as fifth,
        ):
            regions = [*LOCAL_REGIONS, fifth]
            bench.sync(regions)  # the big image too: what follows finds every region in line
            part_show_status(bench, regions, {fifth: proxy})
            part_noop(bench, regions, {fifth: proxy})
    return 0


if __name__ == "__main__":
    sys.exit(main())
