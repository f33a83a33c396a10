"""Load the demo's sample images into the master region of the local cloud.

A kernel/ramdisk/AMI trio, public base images with properties, and a private image (which a
plain sync leaves alone). Idempotent: images already there by name are kept.
Usage: python tools/demo_images.py CONFIG_FILE
"""

from __future__ import annotations

import io
import os
import sys

from glancesync.glance import Target
from glancesync.image import NewImage
from glancesync.settings import load_settings

MIB = 1024 * 1024


def sample(name: str, size_mib: int, fmt: str, visibility: str = "public", **properties: str):
    image = NewImage(
        name=name,
        visibility=visibility,
        disk_format=fmt,
        container_format=fmt if fmt in ("aki", "ari", "ami") else "bare",
        min_ram=0,
        min_disk=0,
        protected=False,
        tags=("demo",),
        properties=properties,
    )
    return image, size_mib


def main(config_file: str) -> None:
    settings = load_settings(config_file, [], os.environ)
    master = Target(settings.master).region(settings.main.master_region)
    existing = {image.name: image for image in master.list_images()}
    created = {}
    trio = [sample("demo-kernel", 1, "aki"), sample("demo-ramdisk", 2, "ari")]
    for new, size in trio:
        created[new.name] = existing.get(new.name) or upload(master, new, size)
    ami = sample(
        "demo-ami",
        3,
        "ami",
        kernel_id=created["demo-kernel"].id,
        ramdisk_id=created["demo-ramdisk"].id,
    )
    others = [
        ami,
        sample("base_ubuntu_24.04", 8, "raw", type="baseimage", nid="101", os_distro="ubuntu"),
        sample("base_debian_12", 6, "raw", type="baseimage", nid="102", os_distro="debian"),
        sample("private_tools", 2, "raw", visibility="private", owner_note="ops only"),
    ]
    for new, size in others:
        if new.name not in existing:
            upload(master, new, size)
    for image in sorted(master.list_images(), key=lambda i: i.size or 0):
        print(f"  {image.visibility:8} {image.size or 0:>9} B  {image.name}")


def upload(region, new: NewImage, size_mib: int):
    image = region.create_image(new)
    region.upload(image.id, io.BytesIO(os.urandom(size_mib * MIB)), size_mib * MIB)
    return region.finish_upload(region.get_image(image.id), new.protected)


if __name__ == "__main__":
    main(sys.argv[1])
