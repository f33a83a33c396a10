"""The README's demo command, run for real on the local cloud: it must copy every sample image."""

from __future__ import annotations

import re
import subprocess

import pytest
from localcloud_client import REPO

pytestmark = pytest.mark.integration


def test_the_demo_syncs_every_sample_image_and_a_second_run_does_nothing(local_cloud):
    demo = subprocess.run(
        ["bash", "tools/run-demo"], cwd=REPO, capture_output=True, text=True, timeout=600
    )

    assert demo.returncode == 0, demo.stdout + demo.stderr
    synced = re.findall(r"^run: 4 region\(s\), (.*); ([\d.]+ \w+) uploaded; 0 failure\(s\)$",
                        demo.stderr, re.MULTILINE)  # fmt: skip
    assert synced == [
        # the sync of both Keystones: every image in line when it ends, Paris's 20 MiB copied by
        # its own Glance (glance-download), not through this host
        ("20 ok", "60.0 MiB"),
        ("20 ok", "0 B"),  # the second run
    ]
    statuses = re.findall(r"^(\w+),(?:other:)?\w+,demo-ami$", demo.stdout, re.MULTILINE)
    assert statuses == ["ok"] * 4
