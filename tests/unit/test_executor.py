"""The executor's safety rules (§6), against the in-memory facade of memory_cloud.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from glancesync.cache import HandOffLost
from glancesync.errors import ImportFailed, RegionError
from glancesync.executor import Executor
from glancesync.image import DEACTIVATION_MARK, UPLOAD_MARKER, Image
from glancesync.output import Output
from glancesync.planner import RegionPlan, by_glance_download, plan_region
from glancesync.report import ItemOutcome, RegionReport, Result
from glancesync.retention import RETIRED_AT, RETIRED_BY, RETIRED_ID
from glancesync.settings import SyncRules
from glancesync.transfer import VerifyingStream
from tests.unit.memory_cloud import PROJECT, MemoryGlance, content_image

ANY = frozenset({"any"})


class Run:
    """A master and a region in memory, and what a run of the executor showed."""

    def __init__(self) -> None:
        self.master = MemoryGlance("Madrid")
        self.region = MemoryGlance("Lisbon")
        self.shown: list[tuple[object, str | None]] = []

    def master_image(self, name: str, data: bytes, **fields) -> Image:
        return self.master.put(content_image(name, data, **fields), data)

    def regional_image(self, name: str, data: bytes, **fields) -> Image:
        return self.region.put(content_image(name, data, **fields), data)

    def plan(self, **rules) -> RegionPlan:
        masters = list(self.master.images.values())
        regionals = list(self.region.images.values())
        return plan_region(masters, regionals, SyncRules(**rules), "Lisbon", PROJECT)

    def imported(self, **rules) -> RegionReport:
        """A run where the region's Glance copies images from the master itself (§11)."""
        self.region.source = self.master
        return self.apply(by_glance_download(self.plan(**rules)))

    def apply(
        self, plan: RegionPlan | None = None, dry_run: bool = False, cache=None
    ) -> RegionReport:
        output = Output(lambda record, text: self.shown.append((record, text)))
        executor = Executor(self.master, self.region, dry_run, output, cache)
        return executor.apply(plan or self.plan())

    @property
    def lines(self) -> list[str]:
        return [text for _, text in self.shown if text is not None]

    def results(self) -> dict[str | None, Result]:
        return {r.image: r.result for r, _ in self.shown if isinstance(r, ItemOutcome)}

    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.region.calls if call[0] not in ("get", "list")]


def test_an_upload_is_created_streamed_verified_then_unmarked() -> None:
    run = Run()
    run.master_image("app", b"app bytes", min_ram=64, properties={"type": "app"})
    report = run.apply()
    (copy,) = run.region.named("app")
    assert run.region.data[copy.id] == b"app bytes"
    assert UPLOAD_MARKER not in copy.properties
    assert (copy.status, copy.min_ram, copy.properties) == ("active", 64, {"type": "app"})
    assert run.writes() == [("create", "app"), ("upload", "app"), ("update", "app")]
    assert run.lines == ["Lisbon: uploaded app (9 B)"]
    assert (report.actions_done, report.bytes_uploaded, dict(report.statuses)) == (1, 9, {"ok": 1})
    assert report.succeeded


def test_a_dry_run_writes_nothing_and_says_what_it_would_do() -> None:
    run = Run()
    run.master_image("app", b"new", properties={"type": "app"})
    run.master_image("web", b"web")
    run.regional_image("app", b"old")
    run.regional_image("web", b"web", properties={"stale": "1"})
    run.region.put(content_image("half", b"", status="queued", properties={UPLOAD_MARKER: "x"}))
    report = run.apply(run.plan(rename=ANY, prune_properties=True), dry_run=True)
    assert run.writes() == []
    assert run.master.calls == []
    assert run.lines[1:] == [
        "Lisbon: would update metadata of web: remove stale",
        "Lisbon: would upload and keep the old copy of app (3 B) as app.old",
    ]
    assert run.lines[0].startswith("Lisbon: would delete leftover half")
    assert set(run.results().values()) == {Result.PLANNED}
    assert report.bytes_uploaded == 0 and report.actions_done == 2


def test_a_replace_deletes_the_old_image_only_after_the_new_one_is_verified() -> None:
    run = Run()
    run.master_image("app", b"new")
    old = run.regional_image("app", b"old")
    run.apply(run.plan(replace=ANY))
    (new,) = run.region.named("app")
    assert run.region.data[new.id] == b"new" and old.id not in run.region.images
    assert run.region.calls[-4:] == [
        ("upload", "app"),
        ("get", "app"),
        ("update", "app"),
        ("delete", "app"),
    ]


def test_a_rename_keeps_the_old_image_private_under_the_planned_name() -> None:
    run = Run()
    run.master_image("app", b"new")
    old = run.regional_image("app", b"old", properties={"local": "me"})
    run.regional_image("app.old", b"older")
    run.apply(run.plan(rename=ANY))
    kept = run.region.images[old.id]
    assert (kept.name, kept.visibility) == ("app.old.2", "private")
    assert kept.properties["local"] == "me"
    assert kept.properties[RETIRED_BY] == "glancesync rename"
    assert (RETIRED_AT in kept.properties, kept.properties[RETIRED_ID]) == (True, old.id)


def test_an_upload_whose_bytes_differ_is_discarded_and_stops_the_region() -> None:
    run = Run()
    announced = run.master_image("app", b"announced")
    run.master.data[announced.id] = b"corrupted"  # the master serves other bytes
    run.master_image("web", b"web bytes, bigger")
    report = run.apply()
    assert run.region.images == {}  # the failed upload deleted; web never created
    assert ("create", "web") not in run.region.calls
    assert run.results() == {"app": Result.FAILED, "web": Result.SKIPPED}
    (line,) = run.lines
    assert line.startswith("Lisbon: FAILED image app: upload failed: md5 ")
    assert report.failure is not None and not report.succeeded
    assert dict(report.statuses) == {"pending_upload": 2}


class WritersThatGiveUp:
    """A run cache whose first `lost` streams follow a writer (another region's process) that
    gives up after the first chunk; later ones read the master."""

    def __init__(self, lost: int):
        self.lost = lost

    @contextmanager
    def stream(self, image: Image, fetch) -> Iterator[VerifyingStream]:
        chunks = fetch()
        if self.lost:
            self.lost -= 1
            chunks = self._gives_up(chunks)
        yield VerifyingStream(chunks, image)

    @staticmethod
    def _gives_up(chunks: Iterator[bytes]) -> Iterator[bytes]:
        yield next(iter(chunks))
        raise HandOffLost("the process reading the master for this image stopped unverified")


def test_an_upload_whose_writer_gave_up_is_discarded_and_made_once_more() -> None:
    run = Run()
    run.master_image("app", b"app bytes")
    report = run.apply(cache=WritersThatGiveUp(lost=1))
    (copy,) = run.region.named("app")
    assert (run.region.data[copy.id], copy.status, report.succeeded) == (
        b"app bytes",
        "active",
        True,
    )
    assert run.writes() == [
        ("create", "app"),
        ("upload", "app"),
        ("delete", "app"),
        ("create", "app"),
        ("upload", "app"),
        ("update", "app"),
    ]


def test_an_upload_whose_writer_gave_up_twice_fails_and_leaves_nothing() -> None:
    run = Run()
    run.master_image("app", b"app bytes")
    report = run.apply(cache=WritersThatGiveUp(lost=2))
    assert run.region.images == {}
    assert "stopped unverified" in report.failure


def test_an_upload_glance_does_not_activate_is_discarded() -> None:
    run = Run()
    run.master_image("app", b"app")
    run.region.fail_on("get", "app", RegionError("get image failed: HTTP 500", region="Lisbon"))
    report = run.apply()
    assert run.region.images == {}
    assert "get image failed" in report.failure


def test_a_failed_discard_is_logged_and_the_upload_failure_counts(caplog) -> None:
    run = Run()
    announced = run.master_image("app", b"announced")
    run.master.data[announced.id] = b"other"
    run.region.fail_on("delete", "app")
    report = run.apply()
    assert "could not delete the failed upload" in caplog.text
    assert "upload failed" in report.failure


def test_a_replace_whose_old_image_cannot_be_deleted_says_what_is_left() -> None:
    run = Run()
    run.master_image("app", b"new")
    old = run.regional_image("app", b"old", protected=True)
    report = run.apply(run.plan(replace=ANY))
    assert "could not be deleted: delete failed" not in report.failure
    assert "the new copy" in report.failure and f"the old one {old.id}" in report.failure
    assert len(run.region.named("app")) == 2  # the verified new copy stays


def test_steps_run_in_section_6_order_and_a_kernel_is_referred_to_by_its_new_id() -> None:
    run = Run()
    kernel = run.master_image("kernel", b"k")
    run.master_image("ami", b"a", properties={"kernel_id": kernel.id})
    run.master_image("big", b"big image")
    run.master_image("meta", b"meta", min_ram=128)
    run.regional_image("meta", b"meta")
    run.apply()
    created = [name for operation, name in run.region.calls if operation == "create"]
    assert created == ["kernel", "big", "ami"]
    assert run.region.calls[0] == ("update", "meta")  # metadata first
    (new_kernel,) = run.region.named("kernel")
    (ami,) = run.region.named("ami")
    assert ami.properties["kernel_id"] == new_kernel.id


def test_leftovers_are_deleted_first_and_one_that_stays_fails_the_region() -> None:
    run = Run()
    run.master_image("app", b"app")
    marked = {UPLOAD_MARKER: "started"}
    gone = run.region.put(content_image("app", b"", status="queued", properties=marked))
    stuck = run.region.put(content_image("web", b"", status="saving", properties=marked))
    run.region.fail_on("delete", stuck.id)
    report = run.apply()
    assert run.region.calls[:2] == [("delete", "app"), ("delete", "web")]
    assert gone.id not in run.region.images and stuck.id in run.region.images
    assert report.leftovers_kept == 1 and not report.succeeded
    assert run.results()["web"] is Result.FAILED
    assert (
        run.lines[0] == f"Lisbon: deleted leftover app ({gone.id}, queued) of an interrupted upload"
    )


def test_an_interruption_discards_the_upload_in_flight_and_skips_the_rest() -> None:
    run = Run()
    run.master_image("app", b"app")
    run.master_image("web", b"web bytes")
    run.region.fail_on("upload", "app", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run.apply()
    assert run.region.images == {}
    assert run.results() == {"app": Result.FAILED, "web": Result.SKIPPED}
    assert run.lines == []


def test_images_in_line_are_reported_with_nothing_to_do() -> None:
    run = Run()
    run.master_image("app", b"app")
    run.regional_image("app", b"app")
    report = run.apply()
    assert run.writes() == [] and run.results() == {"app": Result.NONE}
    assert dict(report.statuses) == {"ok": 1} and report.actions_done == 0


def test_a_failure_names_its_region_and_image_once_and_a_master_failure_its_region() -> None:
    run = Run()
    app = run.master_image("app", b"app")
    run.master.fail_on(
        "download", app.id, RegionError("download image failed: cut", region="Madrid", image=app.id)
    )
    report = run.apply()
    assert report.failure == "image app: upload failed: region Madrid: download image failed: cut"
    assert run.lines == [f"Lisbon: FAILED {report.failure}"]


def test_a_copy_follows_the_masters_deactivation_after_its_metadata_and_tags() -> None:
    run = Run()
    run.master_image("app", b"app", status="deactivated", tags=("retired",))
    run.regional_image("app", b"app", visibility="private")
    report = run.apply()
    (copy,) = run.region.named("app")
    assert run.writes() == [("update", "app"), ("add_tag", "app"), ("deactivate", "app")]
    assert (copy.status, copy.visibility, copy.tags) == ("deactivated", "public", ("retired",))
    assert run.lines == [
        "Lisbon: deactivated app: set visibility: private → public; added tags retired"
    ]
    assert dict(report.statuses) == {"ok": 1}


def test_a_copy_glancesync_deactivated_is_reactivated_before_its_metadata_is_updated() -> None:
    run = Run()
    run.master_image("app", b"app")
    run.regional_image("app", b"app", status="deactivated", min_ram=1,
                       properties={DEACTIVATION_MARK: "by glancesync"})  # fmt: skip
    run.apply()
    (copy,) = run.region.named("app")
    assert run.writes() == [("reactivate", "app"), ("update", "app")]
    assert (copy.status, copy.min_ram, copy.properties) == ("active", 0, {})


def test_a_copy_deactivated_by_someone_else_gets_no_call_and_a_line() -> None:
    run = Run()
    run.master_image("app", b"app", tags=("new",))
    regional = run.regional_image("app", b"app", status="deactivated")
    report = run.apply()
    assert run.writes() == []
    assert run.lines == [
        f"Lisbon: left app ({regional.id}) as it is: deactivated in the region by someone else"
    ]
    assert dict(report.statuses) == {"ok_deactivated_in_region": 1}
    assert report.succeeded and not report.decisions


def test_a_dry_run_says_what_would_be_deactivated_and_writes_nothing() -> None:
    run = Run()
    run.master_image("app", b"app", status="deactivated")
    run.regional_image("app", b"app")
    run.apply(dry_run=True)
    assert run.writes() == []
    assert run.lines == ["Lisbon: would deactivate app"]


# --- server-side copy (§11)


def test_an_import_is_created_private_and_hidden_verified_reconciled_then_published() -> None:
    run = Run()
    properties = {"type": "app", "hw_disk_bus": "virtio", "os_distro": "debian"}
    run.master_image("app", b"app bytes", properties=properties)
    report = run.imported(metadata_set=frozenset({"type"}))
    [created] = run.region.created
    assert (created.visibility, created.os_hidden, created.status) == ("private", True, "queued")
    (copy,) = run.region.named("app")
    assert (copy.status, copy.visibility, copy.os_hidden) == ("active", "public", False)
    assert copy.properties == {"type": "app"}  # what Glance copied of its own accord is gone
    assert run.region.data[copy.id] == b"app bytes"
    assert run.writes() == [
        ("create", "app"),
        ("start_import", "app"),
        ("await_import", "app"),
        ("update", "app"),  # the properties Glance added, removed
        ("update", "app"),  # visibility and os_hidden last, the upload marker removed
    ]
    assert ("download", "app") not in run.master.calls  # only the head, for the format check
    assert run.lines == ["Lisbon: uploaded app (9 B, copied by glance-download)"]
    assert (report.bytes_uploaded, report.imports, report.succeeded) == (0, 1, True)


def test_properties_glance_also_copies_stay_when_they_are_synchronised() -> None:
    run = Run()
    run.master_image("app", b"app bytes", properties={"hw_disk_bus": "virtio"})
    run.imported()
    (copy,) = run.region.named("app")
    assert copy.properties == {"hw_disk_bus": "virtio"}


def test_a_failed_import_is_deleted_and_streamed_and_the_region_imports_no_more() -> None:
    run = Run()
    run.master_image("a", b"first")
    run.master_image("b", b"second")
    run.region.fail_on("await_import", "a", ImportFailed("glance-download: failed", region="L"))
    report = run.imported()
    assert run.writes() == [
        ("create", "a"),
        ("start_import", "a"),
        ("await_import", "a"),
        ("delete", "a"),
        ("create", "a"),
        ("upload", "a"),
        ("update", "a"),
        ("create", "b"),  # no import tried after the failed one
        ("upload", "b"),
        ("update", "b"),
    ]
    assert sorted(image.name for image in run.region.images.values()) == ["a", "b"]
    assert run.lines == ["Lisbon: uploaded a (5 B)", "Lisbon: uploaded b (6 B)"]
    assert (report.bytes_uploaded, report.imports, report.succeeded) == (11, 0, True)


def test_a_dry_run_says_an_image_would_be_copied_by_glance_and_writes_nothing() -> None:
    run = Run()
    run.master_image("app", b"app bytes")
    report = run.apply(by_glance_download(run.plan()), dry_run=True)
    assert run.writes() == []
    assert run.lines == ["Lisbon: would upload app (9 B, copied by glance-download)"]
    assert (report.bytes_uploaded, report.imports) == (0, 1)
