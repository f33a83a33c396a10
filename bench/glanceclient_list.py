"""The baseline of bench part 4: list regions' images with python-glanceclient alone.

    .venv/bin/python bench/glanceclient_list.py CLOUD_JSON REGION...

Authenticates as each target's admin and lists every image of each region (`T:R`, or `R` of
the master target, as in glancesync's region arguments; a region of the catalog that
cloud.json does not know, such as a proxy's, too), 1,000 a page (the fewest requests),
printing the counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cloudkit import Cloud
from glanceclient import Client


def main(cloud_json: str, regions: list[str]) -> None:
    cloud = Cloud(json.loads(Path(cloud_json).read_text()))
    for name in regions:
        target, _, region = name.rpartition(":")
        session = cloud.session(cloud.target(target or "master")["admin"]["name"])
        glance = Client("2", session=session, region_name=region, interface="public")
        print(name, sum(1 for _ in glance.images.list(page_size=1000)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
