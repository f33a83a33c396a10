"""Chunk size by measurement: download, upload and verified pipe throughput per chunk size.

    .venv/bin/python bench/chunks.py [--size MIB] [--repeat N]

On the local cloud (started if needed): a random master image in Madrid is downloaded with
glancesync's facade in chunks of each size, random bytes are uploaded to Lisbon in chunks of
each size, and the image is piped Madrid → Lisbon the way glancesync does it (facade download,
VerifyingStream, facade upload, whose reads return at most one downloaded chunk). Median MiB/s
of N runs each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial

from cloudkit import Cloud, MiB

from glancesync.glance import Targets, image_from_record
from glancesync.image import NewImage
from glancesync.settings import load_settings
from glancesync.transfer import VerifyingStream

CHUNK_SIZES = (64 * 1024, 128 * 1024, 256 * 1024, 512 * 1024, MiB, 4 * MiB)
NAME = "bench-chunks"


def cycled(block: bytes, size: int, chunk: int) -> Iterator[bytes]:
    """`size` bytes in chunks of `chunk`, cut from a random block (no generation cost)."""
    for start in range(0, size, chunk):
        offset = start % (len(block) - chunk)
        yield block[offset : offset + min(chunk, size - start)]


def rate(action: Callable[[], None], size: int) -> float:
    """MiB/s of one run of `action`, which moves `size` bytes."""
    started = time.perf_counter()
    action()
    return size / MiB / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="MiB (default 512)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size * MiB
    cloud = Cloud()
    cloud.delete_named("Madrid", NAME)
    cloud.delete_named("Lisbon", NAME)
    record = cloud.put_random("Madrid", NAME, size)
    master_image = image_from_record(record, "Madrid")
    targets = Targets(load_settings(cloud.conf, (), environ={}).targets)
    madrid, lisbon = targets["master"].region("Madrid"), targets["master"].region("Lisbon")
    block = os.urandom(64 * MiB)
    new = NewImage(NAME, "private", "raw", "bare", 0, 0, False, (), {})

    def download(chunk: int) -> None:
        for _ in madrid.download(master_image.id, chunk):
            pass

    def upload(chunk: int) -> None:
        image_id = cloud.create("Lisbon", NAME)
        cloud.upload("Lisbon", image_id, cycled(block, size, chunk), size)
        cloud.request("Lisbon", "DELETE", f"/v2/images/{image_id}")

    def pipe(chunk: int) -> None:
        image = lisbon.create_image(new)
        stream = VerifyingStream(madrid.download(master_image.id, chunk), master_image)
        lisbon.upload(image.id, stream, size)
        lisbon.delete_image(image.id)

    actions = (download, upload, pipe)
    rates: dict[tuple[int, int], list[float]] = {}
    for _ in range(args.repeat):  # rounds over every size: the machine's noise spreads evenly
        for chunk in CHUNK_SIZES:
            for number, action in enumerate(actions):
                rates.setdefault((chunk, number), []).append(rate(partial(action, chunk), size))
    print(f"{args.size} MiB, median of {args.repeat} (min-max); MiB/s")
    print(f"{'chunk':>8} " + " ".join(f"{a.__name__:>15}" for a in actions))
    for chunk in CHUNK_SIZES:
        cells = []
        for number in range(len(actions)):
            runs = rates[chunk, number]
            cells.append(f"{statistics.median(runs):5.0f} ({min(runs):.0f}-{max(runs):.0f})")
        print(f"{chunk // 1024:>5} KiB " + " ".join(f"{cell:>15}" for cell in cells))
    cloud.delete_named("Madrid", NAME)


if __name__ == "__main__":
    main()
