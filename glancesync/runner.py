"""Visiting regions: one after the other, or in child processes under --parallel (§7).

The runner reads the catalogs, chooses the regions, lists and plans each one, and hands the
plan to the mode's action (`glancesync.actions`); the CLI's `Report` receives each region's
outcome as it ends.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol, TextIO

from glancesync.actions import ModeAction, RegionVisit, RunOptions, RunStart
from glancesync.cache import MasterCache, cache_folder, run_cache
from glancesync.errors import ConfigError, GlanceSyncError
from glancesync.executor import ImageService
from glancesync.files import file_errors, file_name, new_directory
from glancesync.formats import Verdict, VerdictMemory, inspector_module
from glancesync.glance import GLANCE_DOWNLOAD, Targets
from glancesync.image import Image
from glancesync.logs import LogFile
from glancesync.output import Output, Sink, logged, printer, region_summary, run_summary
from glancesync.planner import (
    Action,
    by_glance_download,
    is_synchronised,
    plan_region,
    select_master_images,
)
from glancesync.progress import Progress
from glancesync.regions import (
    MASTER,
    RegionRef,
    choose_regions,
    parse_region_argument,
    region_warnings,
    targets_needed,
)
from glancesync.report import ItemOutcome, Record, RegionReport, Report, Result
from glancesync.settings import ServerSideCopy, Settings, SyncRules, TargetSettings
from glancesync.sharing import SHARED, ProjectDirectory, read_sharing

LOG = logging.getLogger("glancesync")


# Makes the run's Cloud from the targets' settings (credentials and session options).
Connect = Callable[[Mapping[str, TargetSettings]], "Cloud"]


class TargetService(ProjectDirectory, Protocol):
    """What the runner needs of a target (`glance.Target` is the real one)."""

    @property
    def project_id(self) -> str: ...
    @property
    def regions(self) -> tuple[str, ...]: ...
    def region(self, name: str, full_name: str | None = None) -> ImageService: ...


class Cloud(Protocol):
    """The targets of a run by name (`glance.Targets` is the real one)."""

    def __getitem__(self, name: str) -> TargetService: ...
    # How a --parallel child reaches the same targets without authenticating again.
    def handover(self) -> Connect: ...


@dataclass
class RegionOutcome:
    """A visited region: its report, and under --parallel what it shows (sent to the parent)."""

    report: RegionReport
    records: list[tuple[Record | None, str | None]] = field(default_factory=list)  # --parallel


@dataclass(frozen=True)
class RegionJob:
    """Everything a (possibly child) process needs to visit one region; picklable. `targets`
    are the master's and the region's target only."""

    ref: RegionRef
    targets: Mapping[str, TargetSettings]
    master_region: str
    master_images: tuple[Image, ...]
    action: ModeAction
    folder: str | None = None  # the action's folder for the run (make-backup's)
    connect: Connect = Targets
    log_file: str | None = None
    cache: MasterCache | None = None  # the run's cache of master bytes (sync only)
    memory: VerdictMemory | None = None  # the refusals of formats (§10)


def run(
    settings: Settings,
    options: RunOptions,
    arguments: Sequence[str],
    report: Report,
    out: TextIO,
    progress: Progress | None = None,
    connect: Connect = Targets,
) -> None:
    """Carry out one invocation into `report` (the caller's: an abort leaves in it what
    finished). `progress` draws on a terminal (a sync only: its uploads and regions are worth a
    bar); `connect` reaches the targets. Region arguments are checked already
    (`regions.check_region_arguments`)."""
    action = options.action
    if progress is None or not action.writes:
        progress = Progress()
    output = Output(printer(options.output_format, lambda line: progress.write(line, out)))
    for option, directory in used_directories(options):
        check_directory(option, directory)
    wanted = list(settings.targets) if action.all_targets else targets_needed(arguments, settings)
    targets = connect(settings.targets)
    catalogs, unreadable = _read_catalogs(targets, wanted)
    for warning in region_warnings(arguments, settings, catalogs):
        LOG.warning("%s", warning)
    for name, error in unreadable.items():
        LOG.error("%s", error)
        if not action.visits_regions:
            report.add_problem(str(error))
        for region in _regions_named(name, arguments, settings):
            report.add(_failed(region, str(error), action, output))
    start = RunStart(settings, catalogs, options.backup_dir, output, report)
    if not action.reads_master:
        action.begin(start)
        return
    regions = _chosen_regions(arguments, settings, catalogs, action, output, report)
    master = targets[MASTER].region(settings.main.master_region)
    listing = master.list_images()
    selected, warnings = select_master_images(listing, targets[MASTER].project_id)
    for warning in warnings:
        LOG.warning("%s: %s", settings.main.master_region, warning)
    memory = VerdictMemory(cache_folder(settings.main.cache_dir))
    start = replace(
        start,
        master=master,
        master_listing=listing,
        selected=selected,
        regions=regions,
        memory=memory,
    )
    folder = action.begin(start)
    if not action.visits_regions:
        output.record(report.summary_record())
        return
    handover = targets.handover() if options.parallel else connect
    jobs = [_job(settings, ref, selected, action, folder, handover, memory) for ref in regions]
    with _cache_for(jobs, settings, action) as cache:
        jobs = [replace(job, cache=cache) for job in jobs]
        if options.parallel:
            _visit_in_parallel(jobs, settings, options.run_dir, progress, output, report)
        else:
            _visit_in_turn(jobs, targets, progress, output, report)
    if action.summarises:
        for line in run_summary(report):
            LOG.info("%s", line)
    output.record(report.summary_record())


def _chosen_regions(
    arguments: Sequence[str],
    settings: Settings,
    catalogs: Mapping[str, Sequence[str]],
    action: ModeAction,
    output: Output,
    report: Report,
) -> tuple[RegionRef, ...]:
    """The regions to visit; an argument that names no region is a problem of the run."""
    choice = choose_regions(arguments, settings, catalogs)
    for name in choice.unknown:
        problem = f"unknown region {name!r}: not in the catalog of its target"
        report.add_problem(problem)
        LOG.error("%s", problem)
        _failed(name, problem, action, output)
    return choice.regions


def _job(
    settings: Settings,
    ref: RegionRef,
    master_images: Sequence[Image],
    action: ModeAction,
    folder: str | None,
    connect: Connect,
    memory: VerdictMemory,
) -> RegionJob:
    targets = {name: settings.targets[name] for name in (MASTER, ref.target)}
    master_region = settings.main.master_region
    return RegionJob(
        ref, targets, master_region, tuple(master_images), action, folder, connect, memory=memory
    )


def used_directories(options: RunOptions) -> list[tuple[str, str]]:
    """The (option, folder) pairs under which this run will make a directory."""
    used = [("--backup-dir", options.backup_dir)] if options.action.uses_backup_dir else []
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
    targets: Cloud, wanted: Sequence[str]
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


def _failed(full_name: str, error: str, action: ModeAction, output: Output) -> RegionReport:
    """A region that failed as a whole: shown by the action, and its report."""
    outcome = ItemOutcome(full_name, None, None, Action.NONE.value, 0, error, Result.FAILED)
    action.failed(output, outcome)
    return RegionReport(region=full_name, failure=error)


def _cache_for(
    jobs: Sequence[RegionJob], settings: Settings, action: ModeAction
) -> AbstractContextManager[MasterCache | None]:
    """The run's cache of master bytes: for a sync of several regions (one region reads each
    image once anyway); else none. A region waits for another that reads the master (with
    its own timeouts and retries) up to ten of the longest api_timeout."""
    syncs = len(jobs) > 1 and action.writes
    main = settings.main
    stall_timeout = 10 * max(target.api_timeout for target in settings.targets.values())
    return run_cache(main.cache_dir, main.cache_max_size if syncs else 0, stall_timeout)


def _visit_in_turn(
    jobs: Sequence[RegionJob], targets: Cloud, progress: Progress, output: Output, report: Report
) -> None:
    """One region after the other, sharing one Keystone session per target."""
    logged_output = Output(logged(output.sink))
    for job in jobs:
        report.add(visit_region(job, targets, logged_output, progress).report)


def _visit_in_parallel(
    jobs: Sequence[RegionJob],
    settings: Settings,
    run_dir: str,
    progress: Progress,
    output: Output,
    report: Report,
) -> None:
    """Up to max_children regions at once, each logging into its own file of a new run
    directory; a summary line per region as it ends, output in region order (and the regions
    that ended reported, in their order, even when the run is interrupted). The children draw
    no progress; a line counts the regions that ended."""
    if not jobs:
        return
    logs = new_directory(run_dir, "run")
    LOG.info("per-region logs in %s", logs)
    jobs = [
        replace(job, log_file=os.path.join(logs, f"{file_name(job.ref.full_name)}.log"))
        for job in jobs
    ]
    outcomes: dict[RegionRef, RegionOutcome] = {}
    children = max(1, min(settings.main.max_children, len(jobs)))
    if jobs[0].action.writes:  # imported once here, not once in each child that uploads
        inspector_module()
    try:
        with (
            multiprocessing.Pool(processes=children) as pool,  # forked before any bar is drawn
            progress.counter("regions", len(jobs), "region") as advance,
        ):
            for outcome, ref in pool.imap_unordered(_visit_in_child, jobs):
                outcomes[ref] = outcome
                # The children log into files only: a region that failed is an ERROR here, so
                # that standard error under -q (the cron wrapper's mail) still names it and why.
                level = logging.INFO if outcome.report.succeeded else logging.ERROR
                LOG.log(level, "%s", region_summary(outcome.report, report.dry_run))
                advance(1)
            # Let the idle children end by themselves: the pool's exit would terminate them
            # with SIGTERM, and a child killed holding the task queue's lock hangs its siblings.
            pool.close()
            pool.join()
    finally:
        for job in jobs:
            if job.ref in outcomes:
                report.add(outcomes[job.ref].report)
    for job in jobs:
        for record, text in outcomes[job.ref].records:
            output.sink(record, text)


def _visit_in_child(job: RegionJob) -> tuple[RegionOutcome, RegionRef]:
    """Child process (which may visit several regions in turn): log the region into its own
    file, and into the run's --log-file (a FileHandler inherited from the parent; the
    terminal's handler is dropped), at least at INFO; collect what it shows for the parent."""
    with file_errors("cannot create the region's log", job.log_file):
        handler = LogFile(job.log_file, new=True)
    root = logging.getLogger()
    root.handlers[:] = [other for other in root.handlers if isinstance(other, logging.FileHandler)]
    root.addHandler(handler)
    LOG.setLevel(min(LOG.getEffectiveLevel(), logging.INFO))
    records: list[tuple[Record | None, str | None]] = []
    collect: Sink = logged(lambda record, text: records.append((record, text)))
    try:
        outcome = visit_region(job, job.connect(job.targets), Output(collect), Progress())
    finally:
        root.removeHandler(handler)
        handler.close()
    outcome.records = records
    return outcome, job.ref


def visit_region(
    job: RegionJob, targets: Cloud, output: Output, progress: Progress
) -> RegionOutcome:
    """List and plan one region, and hand its plan to the action; a failure of Glance or
    Keystone stays inside the region."""
    started = time.monotonic()
    full_name = job.ref.full_name
    try:
        target = targets[job.ref.target]
        region = target.region(job.ref.region, full_name)
        listing = region.list_images()
        rules = job.targets[job.ref.target].rules
        refusals = _refusals(job.memory, job.master_images)
        master = targets[MASTER].region(job.master_region)
        shared = _shared(job.master_images, rules)
        own = [image for image in listing if image.owner == target.project_id]  # members readable
        sharing = read_sharing(shared, own, master, region, targets[MASTER], target)
        plan = plan_region(
            job.master_images,
            listing,
            rules,
            full_name,
            target.project_id,
            refusals,
            datetime.now(UTC),
            sharing,
        )
        for warning in plan.warnings:
            LOG.warning("%s: %s", full_name, warning)
        if job.action.copies and plan.uploads and _copies_by_itself(job, region):
            plan = by_glance_download(plan)
        visit = RegionVisit(
            plan, listing, master, region, output, progress, job.cache, job.folder, job.memory
        )
        return RegionOutcome(job.action.visit(visit))
    except GlanceSyncError as error:
        LOG.error("%s", error)
        report = _failed(full_name, error.shown_in(full_name), job.action, output)
        report.seconds = time.monotonic() - started
        return RegionOutcome(report)


def _shared(images: Sequence[Image], rules: SyncRules) -> list[Image]:
    """The synchronised master images whose members are synchronised too (§12)."""
    return [i for i in images if i.visibility == SHARED and is_synchronised(i, rules)]


def _copies_by_itself(job: RegionJob, region: ImageService) -> bool:
    """Whether the region's Glance copies images from the master region by itself (§11): a
    region of the master's Keystone whose target allows it and whose Glance offers
    glance-download. A region that cannot say streams, with a warning."""
    if job.ref.target != MASTER or job.targets[MASTER].server_side_copy is ServerSideCopy.NEVER:
        return False
    try:
        return GLANCE_DOWNLOAD in region.import_methods()
    except GlanceSyncError as error:
        LOG.warning("%s; images are streamed", error.shown_in(job.ref.full_name))
        return False


def _refusals(memory: VerdictMemory | None, images: Sequence[Image]) -> dict[str, Verdict]:
    """The remembered refusals of the master images' formats, by id (read anew for each
    region: a region visited earlier in the run may have found one)."""
    return memory.refusals(images) if memory is not None else {}
