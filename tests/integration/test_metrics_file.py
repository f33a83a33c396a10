"""--metrics-file after a real run: a Prometheus textfile that node_exporter can read."""

import io
from pathlib import Path

import pytest

from glancesync.cli import main
from glancesync.errors import EXIT_LOCKED
from glancesync.lock import run_lock

pytestmark = pytest.mark.integration


def put_master_image(cloud, name: str, data: bytes) -> None:
    glance = cloud.glance("Madrid")
    image = glance.images.create(
        name=name, disk_format="raw", container_format="bare", visibility="public"
    )
    glance.images.upload(image["id"], io.BytesIO(data), image_size=len(data))


def read_samples(path: Path) -> dict[str, float]:
    """Metric line -> value; every metric must have been declared by HELP and TYPE."""
    text = path.read_text()
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            assert name.split("{")[0] in declared
            samples[name] = float(value)
    return samples


def run_with_metrics(cloud, tmp_path: Path, *arguments: str) -> tuple[int, dict[str, float]]:
    metrics = tmp_path / "glancesync.prom"
    status = main(
        [
            "--config-file",
            str(cloud.conf),
            "--metrics-file",
            str(metrics),
            *arguments,
            "--config",
            f"lock_file={tmp_path / 'lock'}",
        ]  # fmt: skip
    )
    return status, read_samples(metrics)


def test_metrics_after_a_sync_count_images_as_they_stand_bytes_and_success(clean_cloud, tmp_path):
    put_master_image(clean_cloud, "metrics-image", b"m" * 4096)
    status, samples = run_with_metrics(clean_cloud, tmp_path, "Lisbon")
    assert status == 0
    assert samples["glancesync_last_run_success"] == 1
    assert samples["glancesync_last_run_exit_status"] == 0
    assert samples['glancesync_images{region="Lisbon",status="ok"}'] == 1
    assert 'glancesync_images{region="Lisbon",status="pending_upload"}' not in samples
    assert samples['glancesync_uploaded_bytes{region="Lisbon"}'] == 4096
    assert samples['glancesync_region_failed{region="Lisbon"}'] == 0
    assert samples["glancesync_failures"] == 0


def test_metrics_after_a_failed_run_say_it_failed(clean_cloud, tmp_path):
    status, samples = run_with_metrics(clean_cloud, tmp_path, "Lisbon", "Atlantis")
    assert status == 1
    assert samples["glancesync_last_run_success"] == 0
    assert samples["glancesync_last_run_exit_status"] == 1
    assert samples["glancesync_failures"] == 1


def test_metrics_after_a_run_that_waits_for_a_decision_say_4(clean_cloud, tmp_path):
    put_master_image(clean_cloud, "diverged", b"m" * 4096)
    diverged = clean_cloud.glance("Lisbon").images.create(
        name="diverged", disk_format="raw", container_format="bare"
    )
    clean_cloud.glance("Lisbon").images.upload(diverged["id"], io.BytesIO(b"r" * 4096))
    status, samples = run_with_metrics(clean_cloud, tmp_path, "Lisbon")
    assert status == 4
    assert samples["glancesync_last_run_exit_status"] == 4
    assert samples['glancesync_images{region="Lisbon",status="error_checksum"}'] == 1
    assert samples["glancesync_failures"] == 0


def test_metrics_of_a_run_stopped_by_a_configuration_error_say_2(clean_cloud, tmp_path):
    status, samples = run_with_metrics(clean_cloud, tmp_path, "Lisbon", "--config", "nope=1")
    assert status == 2
    assert samples["glancesync_last_run_exit_status"] == 2


def test_a_run_that_finds_the_lock_held_leaves_the_metrics_file_alone(clean_cloud, tmp_path):
    put_master_image(clean_cloud, "metrics-image", b"m" * 4096)
    run_with_metrics(clean_cloud, tmp_path, "Lisbon")
    metrics = tmp_path / "glancesync.prom"
    written = metrics.read_text()

    with run_lock(str(tmp_path / "lock")):
        status = main(["--config-file", str(clean_cloud.conf), "--metrics-file", str(metrics),
                       "Lisbon", "--config", f"lock_file={tmp_path / 'lock'}"])  # fmt: skip

    assert status == EXIT_LOCKED
    assert metrics.read_text() == written
