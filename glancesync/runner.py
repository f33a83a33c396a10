"""Visiting regions: one after the other, or in child processes under --parallel (§7)."""

from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import Enum
from typing import TextIO

from glancesync.cache import MasterCache, run_cache
from glancesync.edge import MaskedUserinfo
from glancesync.errors import ConfigError, GlanceSyncError
from glancesync.escaping import PrintableFormatter, printable
from glancesync.executor import Emit, Executor, outcome_of, upload_size
from glancesync.files import file_name, open_file, replacing
from glancesync.glance import RegionGlance, Targets
from glancesync.image import Image
from glancesync.planner import Action, RegionPlan, plan_region, select_master_images
from glancesync.progress import Progress
from glancesync.regions import (
    MASTER,
    RegionRef,
    check_region_arguments,
    choose_regions,
    parse_region_argument,
    region_warnings,
    shown_regions,
    targets_needed,
)
from glancesync.report import (
    ItemOutcome,
    Record,
    RegionBackup,
    RegionReport,
    Report,
    Result,
    ShownRegion,
)
from glancesync.settings import Settings

LOG = logging.getLogger("glancesync")
# The lines printed on stdout, logged into the log files too (the terminal has them already).
OUTPUT_LOG = logging.getLogger("glancesync.output")
LOG_FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(message)s"
# The --show-status line of a region that failed as a whole (unknown, or could not be listed):
# `failed,<region>,` with an empty image, so that `grep -v '^ok'` shows it.
FAILED_REGION = "failed"


class LogFile(logging.FileHandler):
    """A log file with times (LOG_FILE_FORMAT, printable), opened by `files.open_file`: appended
    to, or with `new` created (a file already there, or a link, is refused). Raises OSError."""

    def __init__(self, path: str, new: bool = False):
        self._flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if new else os.O_APPEND)
        super().__init__(path, encoding="utf-8")
        self.setFormatter(PrintableFormatter(LOG_FILE_FORMAT))
        self.addFilter(MaskedUserinfo())

    def _open(self) -> TextIO:
        return os.fdopen(open_file(self.baseFilename, self._flags), "a", encoding="utf-8")


class Mode(Enum):
    SYNC = "sync"
    DRY_RUN = "dry-run"
    SHOW_STATUS = "show-status"
    SHOW_REGIONS = "show-regions"
    MAKE_BACKUP = "make-backup"


class OutputFormat(str, Enum):
    TEXT = "text"  # §7: CSV for --show-status, a line per action
    JSON = "json"  # one object per line: a Record


@dataclass(frozen=True)
class RunOptions:
    mode: Mode = Mode.SYNC
    parallel: bool = False
    backup_dir: str = "."
    run_dir: str = "runs"
    output_format: OutputFormat = OutputFormat.TEXT


@dataclass
class RegionOutcome:
    """A visited region: its report, and under --parallel what it prints (sent to the parent)."""

    report: RegionReport
    records: list[tuple[Record, str | None]] = field(default_factory=list)  # --parallel only


@dataclass(frozen=True)
class RegionJob:
    """Everything a (possibly child) process needs to visit one region; picklable."""

    settings: Settings
    ref: RegionRef
    master_images: tuple[Image, ...]
    options: RunOptions
    backup_dir: str | None = None
    log_file: str | None = None
    cache: MasterCache | None = None  # the run's cache of master bytes (sync only)


def run(
    settings: Settings,
    options: RunOptions,
    arguments: Sequence[str],
    out: TextIO,
    progress: Progress | None = None,
) -> Report:
    """Carry out one invocation; returns the report that owns the exit status. `progress`
    draws on a terminal (a sync only: its uploads and regions are worth a bar)."""
    if progress is None or options.mode is not Mode.SYNC:
        progress = Progress()
    emit = outcome_printer(options.output_format, lambda line: progress.write(line, out))
    check_region_arguments(arguments, settings)
    for option, directory in used_directories(options):
        check_directory(option, directory)
    wanted = (
        list(settings.targets)
        if options.mode is Mode.SHOW_REGIONS
        else targets_needed(arguments, settings)
    )
    targets = Targets(settings.targets)
    catalogs, unreadable = _read_catalogs(targets, wanted)
    for warning in region_warnings(arguments, settings, catalogs):
        LOG.warning("%s", warning)
    report = Report(dry_run=options.mode is not Mode.SYNC)
    for name, error in unreadable.items():
        LOG.error("%s", error)
        if options.mode is Mode.SHOW_REGIONS:
            report.add_problem(str(error))
        for region in _regions_named(name, arguments, settings):
            report.add(_failed(region, error, options.mode, emit).report)
    if options.mode is Mode.SHOW_REGIONS:
        _show_regions(shown_regions(settings, catalogs), options.output_format, out)
        return report
    master = targets[MASTER]
    if settings.main.master_region not in catalogs[MASTER]:
        raise ConfigError(
            f"master_region {settings.main.master_region!r} has no image endpoint in the catalog "
            f"of target master (regions: {', '.join(catalogs[MASTER]) or 'none'})"
        )
    choice = choose_regions(arguments, settings, catalogs)
    for name in choice.unknown:
        problem = f"unknown region {name!r}: not in the catalog of its target"
        report.add_problem(problem)
        LOG.error("%s", problem)
        region_failed(name, problem, options.mode, emit)
    master_region = master.region(settings.main.master_region)
    listing = master_region.list_images()
    selected, warnings = select_master_images(listing, master.project_id)
    for warning in warnings:
        LOG.warning("%s: %s", settings.main.master_region, warning)
    backup_dir = (
        _backup_directory(options, settings, listing, emit)
        if options.mode is Mode.MAKE_BACKUP
        else None
    )
    jobs = [
        RegionJob(settings, ref, tuple(selected), options, backup_dir) for ref in choice.regions
    ]
    with _cache_for(jobs, settings) as cache:
        jobs = [replace(job, cache=cache) for job in jobs]
        if options.parallel:
            outcomes = _visit_in_parallel(jobs, options.run_dir, progress, emit)
        else:
            outcomes = _visit_in_turn(jobs, targets, progress, emit)
        for outcome in outcomes:
            report.add(outcome.report)
    if options.mode in (Mode.SYNC, Mode.DRY_RUN):
        for line in report.summary():
            LOG.info("%s", line)
    emit(report.summary_record(), None)
    return report


def used_directories(options: RunOptions) -> list[tuple[str, str]]:
    """The (option, folder) pairs under which this run will make a directory."""
    used = [("--backup-dir", options.backup_dir)] if options.mode is Mode.MAKE_BACKUP else []
    return used + ([("--run-dir", options.run_dir)] if options.parallel else [])


def check_directory(option: str, path: str) -> None:
    """ConfigError (before any contact) unless `path` is, or can be made as, a folder that this
    account may write: its nearest existing ancestor is a directory we may write into."""
    if not path:
        raise ConfigError(f"{option}: empty (give a directory)")
    existing = os.path.abspath(path)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"{option} {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: {existing} is not writable by this account")


def _read_catalogs(
    targets: Targets, wanted: Sequence[str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, GlanceSyncError]]:
    """The image regions of each wanted target, and the error of each target whose Keystone
    could not be reached or read (§7: it fails its own regions only; the master, the run)."""
    catalogs: dict[str, tuple[str, ...]] = {}
    unreadable: dict[str, GlanceSyncError] = {}
    for name in wanted:
        try:
            catalogs[name] = targets[name].regions
        except GlanceSyncError as error:
            if name == MASTER:
                raise
            unreadable[name] = error
    return catalogs, unreadable


def _regions_named(target: str, arguments: Sequence[str], settings: Settings) -> list[str]:
    """The full names of the region arguments of `target` (`T:` for all its regions)."""
    refs = (RegionRef(*parse_region_argument(a, settings)) for a in arguments)
    return [ref.full_name for ref in refs if ref.target == target]


def _failed(full_name: str, error: GlanceSyncError, mode: Mode, emit: Emit) -> RegionOutcome:
    """A region that failed as a whole: its report, and its failed record emitted."""
    region_failed(full_name, str(error), mode, emit)
    return RegionOutcome(RegionReport(region=full_name, failure=str(error)))


def outcome_printer(output_format: OutputFormat, write: Callable[[str], None]) -> Emit:
    """What a run prints of each record: its text line (if it has one, `printable`), or its
    JSON object (the exact values, `Record.json_line`)."""

    def emit(record: Record, text: str | None) -> None:
        if output_format is OutputFormat.JSON:
            write(record.json_line())
        elif text is not None:
            write(printable(text))

    return emit


def logged(emit: Emit) -> Emit:
    """`emit`, and the text line into the log files (OUTPUT_LOG)."""

    def emit_and_log(record: Record, text: str | None) -> None:
        emit(record, text)
        if text is not None:
            OUTPUT_LOG.info("%s", text)

    return emit_and_log


def _show_regions(refs: Sequence[RegionRef], output_format: OutputFormat, out: TextIO) -> None:
    """The regions on one line (§7), or a JSON object each."""
    if output_format is OutputFormat.JSON:
        for ref in refs:
            print(ShownRegion(ref.full_name, ref.target).json_line(), file=out)
    else:
        print(printable(" ".join(ref.full_name for ref in refs)), file=out)


def _cache_for(
    jobs: Sequence[RegionJob], settings: Settings
) -> AbstractContextManager[MasterCache | None]:
    """The run's cache of master bytes: for a sync of several regions (one region reads each
    image once anyway); else none. A region waits for another that reads the master (with
    its own timeouts and retries) up to ten of the longest api_timeout."""
    syncs = len(jobs) > 1 and jobs[0].options.mode is Mode.SYNC
    main = settings.main
    stall_timeout = 10 * max(target.api_timeout for target in settings.targets.values())
    return run_cache(main.cache_dir, main.cache_max_size if syncs else 0, stall_timeout)


def _visit_in_turn(
    jobs: Sequence[RegionJob], targets: Targets, progress: Progress, emit: Emit
) -> Iterator[RegionOutcome]:
    """One region after the other, sharing one Keystone session per target."""
    for job in jobs:
        yield visit_region(job, targets, logged(emit), progress)


def _visit_in_parallel(
    jobs: Sequence[RegionJob], run_dir: str, progress: Progress, emit: Emit
) -> Iterator[RegionOutcome]:
    """Up to max_children regions at once, each logging into its own file of a new run
    directory; a summary line per region as it ends, output in region order. The children draw
    no progress; a line counts the regions that ended."""
    if not jobs:
        return
    run_dir = _new_directory(run_dir, "run")
    LOG.info("per-region logs in %s", run_dir)
    jobs = [
        replace(job, log_file=os.path.join(run_dir, f"{file_name(job.ref.full_name)}.log"))
        for job in jobs
    ]
    outcomes: dict[RegionRef, RegionOutcome] = {}
    children = max(1, min(jobs[0].settings.main.max_children, len(jobs)))
    dry_run = jobs[0].options.mode is not Mode.SYNC
    with (
        multiprocessing.Pool(processes=children) as pool,  # forked before any bar is drawn
        progress.counter("regions", len(jobs), "region") as advance,
    ):
        for outcome, ref in pool.imap_unordered(_visit_in_child, jobs):
            outcomes[ref] = outcome
            # The children log into files only: a region that failed is an ERROR here, so that
            # standard error under -q (the cron wrapper's mail) still names it and why.
            level = logging.INFO if outcome.report.succeeded else logging.ERROR
            LOG.log(level, "%s", outcome.report.summary_line(dry_run))
            advance(1)
        # Let the idle children end by themselves: the pool's exit would terminate them with
        # SIGTERM, and a child killed while it holds the task queue's lock hangs its siblings.
        pool.close()
        pool.join()
    for job in jobs:
        for record, text in outcomes[job.ref].records:
            emit(record, text)
        yield outcomes[job.ref]


def _visit_in_child(job: RegionJob) -> tuple[RegionOutcome, RegionRef]:
    """Child process (which may visit several regions in turn): log the region into its own
    file, and into the run's --log-file (a FileHandler inherited from the parent; the
    terminal's handler is dropped), at least at INFO; collect what it prints for the parent."""
    with _file_errors("cannot create the region's log", job.log_file):
        handler = LogFile(job.log_file, new=True)
    root = logging.getLogger()
    root.handlers[:] = [other for other in root.handlers if isinstance(other, logging.FileHandler)]
    root.addHandler(handler)
    LOG.setLevel(min(LOG.getEffectiveLevel(), logging.INFO))
    records: list[tuple[Record, str | None]] = []
    collect = logged(lambda record, text: records.append((record, text)))
    try:
        outcome = visit_region(job, Targets(job.settings.targets), collect, Progress())
    finally:
        root.removeHandler(handler)
        handler.close()
    outcome.records = records
    return outcome, job.ref


def visit_region(job: RegionJob, targets: Targets, emit: Emit, progress: Progress) -> RegionOutcome:
    """List, plan, and report or apply one region; a failure of Glance or Keystone stays
    inside the region."""
    started = time.monotonic()
    full_name = job.ref.full_name
    try:
        target = targets[job.ref.target]
        region = target.region(job.ref.region, full_name)
        regional_images = region.list_images()
        plan = plan_region(
            job.master_images,
            regional_images,
            job.settings.targets[job.ref.target],
            full_name,
            target.project_id,
        )
        for warning in plan.warnings:
            LOG.warning("%s: %s", full_name, warning)
        master = targets[MASTER].region(job.settings.main.master_region)
        return _carry_out(job, plan, master, region, regional_images, emit, progress)
    except GlanceSyncError as error:
        LOG.error("%s", error)
        outcome = _failed(full_name, error, job.options.mode, emit)
        outcome.report.seconds = time.monotonic() - started
        return outcome


def _carry_out(
    job: RegionJob,
    plan: RegionPlan,
    master: RegionGlance,
    region: RegionGlance,
    regional_images: list[Image],
    emit: Emit,
    progress: Progress,
) -> RegionOutcome:
    mode = job.options.mode
    if mode is Mode.SHOW_STATUS:
        report = RegionReport(region=plan.region)
        for item in plan.items:
            result = Result.NONE if item.action is Action.NONE else Result.PLANNED
            outcome = outcome_of(plan.region, item, result, upload_size(item))
            report.count(outcome)
            emit(outcome, status_line(item.status.value, plan.region, item.master.name))
        return RegionOutcome(report)
    if mode is Mode.MAKE_BACKUP:
        path = _write_backup(job.backup_dir, plan.region, regional_images)
        emit(RegionBackup(plan.region, path), None)
        return RegionOutcome(RegionReport(region=plan.region))
    executor = Executor(
        master,
        region,
        dry_run=mode is Mode.DRY_RUN,
        emit=emit,
        cache=job.cache,
        progress=progress,
    )
    return RegionOutcome(executor.apply(plan, regional_images))


def region_failed(name: str, error: str, mode: Mode, emit: Emit) -> None:
    """Emit the outcome of a region that failed as a whole (`image` None); --show-status
    gives it its FAILED_REGION line."""
    text = status_line(FAILED_REGION, name, "") if mode is Mode.SHOW_STATUS else None
    emit(ItemOutcome(name, None, None, Action.NONE.value, 0, error, Result.FAILED), text)


def status_line(status: str, region: str, image: str) -> str:
    """One `--show-status` CSV line (§7): names `printable`, then quoted where they need it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([status, printable(region), printable(image)])
    return buffer.getvalue().removesuffix("\n")


# The image record's fields, in its order; tags and properties come last (see _backup_row).
BACKUP_FIELDS = tuple(field.name for field in fields(Image) if field.name != "region")


def _backup_directory(
    options: RunOptions, settings: Settings, master_images: list[Image], emit: Emit
) -> str:
    directory = _new_directory(options.backup_dir, "backup")
    master_region = settings.main.master_region
    emit(RegionBackup(master_region, _write_backup(directory, master_region, master_images)), None)
    LOG.info("backup in %s", directory)
    return directory


def _write_backup(directory: str, region: str, images: Sequence[Image]) -> str:
    """One CSV per region (its path returned), named `file_name(region).csv`: a row per image
    with the exact values (RFC 4180), properties as a sorted key=value list. It appears under
    its name only once complete."""
    path = os.path.join(directory, f"{file_name(region)}.csv")
    with _file_errors("cannot write the backup", path), replacing(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(BACKUP_FIELDS)
        for image in sorted(images, key=lambda i: (i.name, i.id)):
            writer.writerow(_backup_row(image))
    return path


def _backup_row(image: Image) -> list[object]:
    """An image's backup row: tags space separated, properties as sorted key=value pairs."""
    row: list[object] = [getattr(image, name) for name in BACKUP_FIELDS[:-2]]
    row.append(" ".join(image.tags))
    row.append(";".join(f"{k}={v}" for k, v in sorted(image.properties.items())))
    return row


def _new_directory(parent: str, prefix: str) -> str:
    """A fresh directory `prefix-<timestamp>[-N]` under `parent`, never an existing one (mkdir
    follows no link)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    with _file_errors("cannot create a new directory under", parent):
        os.makedirs(parent, exist_ok=True)
        for attempt in range(1000):
            path = os.path.join(parent, f"{prefix}-{stamp}" + (f"-{attempt}" if attempt else ""))
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    raise GlanceSyncError(f"cannot create a new directory under {parent}")


@contextmanager
def _file_errors(doing: str, path: str) -> Iterator[None]:
    """An OSError of the block as one GlanceSyncError line: `<doing> <path>: <why>` (exit 1:
    work began)."""
    try:
        yield
    except OSError as error:
        raise GlanceSyncError(f"{doing} {path}: {error.strerror or error}") from None
