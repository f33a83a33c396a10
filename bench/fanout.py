"""The --parallel fan-out against a raw fan-out, side by side in one run (bench/README.md).

    .venv/bin/python bench/fanout.py [--quick] [--repeat N]

One 256 MiB image (--quick: 64 MiB) from the master to three streaming regions at once:

- glancesync --parallel (max_children = 3), the whole command;
- the same again right after, with nothing to copy: the fixed cost of a run;
- the plain tee: one curl download piped through `tee` into one curl upload per region, all at
  once, with the same tokens;
- the verifying tee: the same, and `md5sum` and `sha512sum` of the stream beside the uploads
  (a verifying copy must hash the image once).

The variants run interleaved, round after round. The ratio glancesync / baseline is taken per
round (the machine's load falls on both alike) and its median reported; beside it the CPU
seconds of each variant's own processes and of every Keystone and Glance server.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from cloudkit import Cloud, MiB, tree_cpu

from bench import MASTER, Bench, benchmark_run, only, verdict

# Streaming regions: Paris may copy with glance-download (server-side), so it is not one.
FANOUT_REGIONS = ("Lisbon", "other:Berlin", "other:Rome")
FANOUT_IMAGE = "bench-fanout"
TARGET_RATIO = 1.15
TOOL = "glancesync --parallel"
FIXED = "glancesync --parallel, nothing to copy (start, Keystone, listings, children)"
TRANSFER = "glancesync's transfer (--parallel minus nothing to copy)"
REGION_WORK = "glancesync's slowest region work (create, upload, verify)"


@dataclass
class FanoutSizes:
    big: int

    @classmethod
    def of(cls, quick: bool) -> FanoutSizes:
        return cls((64 if quick else 256) * MiB)


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished children of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_pids(cloud: Cloud) -> dict[str, int]:
    """The pid of every Keystone and Glance server of the local cloud, by name."""
    pids = {}
    for name, target in cloud["targets"].items():
        pids[f"keystone {name}"] = target["keystone"]["pid"]
        pids.update((f"glance {region}", info["pid"]) for region, info in target["regions"].items())
    return pids


def part_fanout(bench: Bench, regions: tuple[str, ...] = FANOUT_REGIONS) -> dict[str, float]:
    """The four variants, interleaved; rows of the table and results['fanout']."""
    cloud, size = bench.cloud, bench.sizes.big
    master_id = bench.results["big_image"]["id"]
    plain = [region.removeprefix("other:") for region in regions]
    cpu: dict[str, list[float]] = {}  # the variant's own processes
    servers_cpu: dict[str, dict[str, list[float]]] = {}  # variant: server: samples
    label = f"fan-out, {size // MiB} MiB → {len(regions)} regions at once"

    def token_file(region: str) -> str:
        path = bench.work / f"token-{region}"
        path.write_text(f"X-Auth-Token: {cloud.token(region)}\n")
        path.chmod(0o600)
        return str(path)

    tokens = {region: token_file(region) for region in (MASTER, *plain)}

    def tee_script(verifying: bool) -> str:
        """curl | tee FIFO… > /dev/null, each FIFO read by a curl upload to a fresh image (and by
        md5sum and sha512sum when verifying), all started in the background and waited for."""
        bench.clear(FANOUT_IMAGE, *plain)
        readers = []
        for region in plain:
            target = f"{cloud.url(region)}/v2/images/{cloud.create(region, FANOUT_IMAGE)}/file"
            readers.append(
                f"curl -sf -T - -X PUT -H @{tokens[region]} "
                f"-H 'Content-Type: application/octet-stream' "
                f"-H 'x-openstack-image-size: {size}' {target} > /dev/null"
            )
        if verifying:
            readers += ["md5sum > /dev/null", "sha512sum > /dev/null"]
        fifos = [str(bench.work / f"fifo-{index}") for index in range(len(readers))]
        started = " ".join(
            f"{reader} < {fifo} & pids+=($!);" for reader, fifo in zip(readers, fifos)
        )
        source = f"{cloud.url(MASTER)}/v2/images/{master_id}/file"
        return (
            f"rm -f {' '.join(fifos)}; mkfifo {' '.join(fifos)}; pids=(); {started} "
            f"curl -sf -H @{tokens[MASTER]} {source} | tee {' '.join(fifos)} > /dev/null; "
            'for pid in "${pids[@]}"; do wait "$pid"; done'
        )

    pids = server_pids(cloud)

    def measured(name: str, command: Callable[[], float]) -> Callable[[], float]:
        def run() -> float:
            before, servers_before = children_cpu(), {n: tree_cpu(p) for n, p in pids.items()}
            seconds = command()
            cpu.setdefault(name, []).append(children_cpu() - before)
            spent = servers_cpu.setdefault(name, {})
            for server, pid in pids.items():
                spent.setdefault(server, []).append(tree_cpu(pid) - servers_before[server])
            return seconds

        return run

    def shell(verifying: bool) -> float:
        script = tee_script(verifying)
        started = time.monotonic()
        subprocess.run(["bash", "-c", f"set -eo pipefail; {script}"], check=True)
        return time.monotonic() - started

    def tool() -> float:
        bench.clear(FANOUT_IMAGE, *plain)
        run = bench.sync(list(regions), only(FANOUT_IMAGE), parallel=True)
        slowest = max(region_works(run.output))
        bench.samples(label).setdefault(REGION_WORK, []).append(slowest)
        return run.seconds

    def nothing_to_copy() -> float:  # right after tool(): every region has the image
        return bench.sync(list(regions), only(FANOUT_IMAGE), parallel=True).seconds

    variants = {
        TOOL: measured(TOOL, tool),
        FIXED: measured(FIXED, nothing_to_copy),
        "plain tee": measured("plain tee", lambda: shell(False)),
        "verifying tee": measured("verifying tee", lambda: shell(True)),
    }
    times = bench.timed(label, variants)
    samples = bench.samples(label)
    times[REGION_WORK] = statistics.median(samples[REGION_WORK])
    transfer = [run - fixed for run, fixed in zip(samples[TOOL], samples[FIXED])]
    ratios = {
        f"{measure} / {baseline}": statistics.median(
            run / base_run for run, base_run in zip(runs, samples[baseline])
        )
        for measure, runs in ((TOOL, samples[TOOL]), (TRANSFER, transfer))
        for baseline in ("plain tee", "verifying tee")
    }
    bench.clear(FANOUT_IMAGE, *plain)
    bench.results["fanout"] = {
        "regions": list(regions),
        "image_size": size,
        "seconds": times,
        "cpu_seconds": cpu,
        "server_cpu_seconds": servers_cpu,
        "ratios": ratios,
    }
    for name in cpu:
        spent = statistics.median(cpu[name])
        servers = {
            server: statistics.median(samples) for server, samples in servers_cpu[name].items()
        }
        busy = ", ".join(f"{server} {s:.2f}" for server, s in servers.items() if s >= 0.05)
        bench.row(
            label,
            name,
            f"{bench.spread(label, name)}; CPU s: own {spent:.2f}, servers "
            f"{sum(servers.values()):.2f} ({busy})",
        )
    bench.row(label, REGION_WORK, bench.spread(label, REGION_WORK))
    for name, ratio in ratios.items():
        target = f"≤ {TARGET_RATIO} {verdict(ratio <= TARGET_RATIO)}" if TOOL in name else ""
        bench.row(label, f"{name} (median of the rounds' ratios)", f"{ratio:.2f}", target)
    return ratios


def region_works(output: str) -> list[float]:
    """The seconds of each region's work (create, upload, verify), from its summary line."""
    lines = [line for line in output.splitlines() if " uploaded in " in line]
    return [float(line.rsplit(" in ", 1)[1].split()[0]) for line in lines]


def main() -> int:
    title = "glancesync --parallel fan-out benchmark"
    with benchmark_run("fanout", title, FANOUT_IMAGE, FanoutSizes) as bench:
        print(f"load average at start: {os.getloadavg()}", flush=True)
        part_fanout(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
