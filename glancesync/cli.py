"""Command line (§7): parses, wires and prints; never talks to Glance itself."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import NoReturn

from glancesync import __version__
from glancesync.errors import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_LOCKED,
    GlanceSyncError,
    Interrupted,
)
from glancesync.escaping import PrintableFormatter
from glancesync.lock import default_lock_file, run_lock
from glancesync.metrics import write_metrics
from glancesync.progress import Progress, progress_for
from glancesync.regions import check_region_arguments
from glancesync.report import Report
from glancesync.runner import OUTPUT_LOG, LogFile, Mode, OutputFormat, RunOptions, run
from glancesync.settings import NO_CONFIG_FILE, Settings, find_config_file, load_settings

LOG = logging.getLogger("glancesync")

# Modes that may write (to Glance, or a backup of a state that a sync may be changing) take the
# run lock; --dry-run, --show-status and --show-regions only read and run alongside anything.
LOCKING_MODES = frozenset({Mode.SYNC, Mode.MAKE_BACKUP})
INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


MODE_FLAGS = (
    ("--dry-run", Mode.DRY_RUN, "print what would be done; write nothing"),
    ("--show-status", Mode.SHOW_STATUS, "print status,region,image CSV lines"),
    ("--show-regions", Mode.SHOW_REGIONS, "print the regions a run would visit"),
    (
        "--make-backup",
        Mode.MAKE_BACKUP,
        "write one CSV of image metadata per region into a new directory",
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="glancesync",
        description="Synchronise the Glance images of the master region to other regions.",
        epilog="Exit status: 0 done, 1 a region or image failed or needs the operator, "
        "2 usage or configuration error (nothing changed), 3 another run holds the lock.",
    )
    parser.add_argument(
        "regions",
        nargs="*",
        metavar="region",
        help="R or master:R (master target), T:R (region R of target T), T: (every region of T)",
    )
    modes = parser.add_mutually_exclusive_group()
    for flag, mode, help_text in MODE_FLAGS:
        modes.add_argument(flag, action="store_const", dest="mode", const=mode, help=help_text)
    parser.set_defaults(mode=Mode.SYNC)
    parser.add_argument(
        "--parallel", action="store_true", help="visit up to max_children regions at once"
    )
    parser.add_argument(
        "--config-file",
        metavar="PATH",
        help="configuration file (default: $GLANCESYNC_CONFIG, /etc/glancesync.conf)",
    )
    parser.add_argument(
        "--config",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting: section.key=value, or key=value for every target",
    )
    parser.add_argument(
        "--backup-dir",
        metavar="DIR",
        default=".",
        help="where --make-backup creates its directory (default: current directory)",
    )
    parser.add_argument(
        "--run-dir",
        metavar="DIR",
        default="runs",
        help="where --parallel creates its run directory of per-region logs",
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=[choice.value for choice in OutputFormat],
        default=OutputFormat.TEXT.value,
        help="stdout as text (CSV for --show-status), or one JSON object per line",
    )
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="append the run's log, with times, to PATH (INFO, DEBUG with -v; -q spares it)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more detail (-vv for HTTP debugging; secrets stay hidden)",
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--metrics-file",
        metavar="PATH",
        help="write the run's outcome in Prometheus text format (node_exporter textfile)",
    )
    parser.add_argument("--version", action="version", version=f"glancesync {__version__}")
    return parser


class PlainInfoFormatter(PrintableFormatter):
    """Progress and summaries as plain lines; warnings and errors with their level."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname}: {text}"


def configure_logging(
    verbose: int, quiet: bool, log_file: str | None = None
) -> logging.Handler | None:
    """stderr at the asked level (-q: warnings only), without the lines printed on stdout; the
    --log-file at INFO (DEBUG with -v), those lines included: its handler is returned. Other
    libraries log warnings only, unless -vv. Raises OSError if the log file cannot be opened
    (stderr is set up)."""
    detail = logging.DEBUG if verbose else logging.INFO
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(PlainInfoFormatter())
    console.setLevel(logging.WARNING if quiet else detail)
    console.addFilter(lambda record: record.name != OUTPUT_LOG.name)
    root = logging.getLogger()
    root.handlers[:] = [console]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    LOG.setLevel(console.level)
    if not log_file:
        return None
    to_file = LogFile(log_file)
    to_file.setLevel(detail)
    root.addHandler(to_file)
    LOG.setLevel(min(console.level, detail))
    return to_file


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise Interrupted (in the main thread only).

    The children of --parallel are forked with this handler. In a child, the first signal
    raises SystemExit(128 + signum) instead, which unwinds the upload in flight (the executor
    deletes it) and ends the child without multiprocessing's traceback; later signals (the
    parent's pool sends SIGTERM when it stops) are ignored so that this cleanup completes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    parent = os.getpid()

    def interrupt(signum: int, _frame: object) -> NoReturn:
        if os.getpid() == parent:
            raise Interrupted(signum)
        for other in INTERRUPTING_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in INTERRUPTING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def lock_for(settings: Settings, mode: Mode) -> AbstractContextManager[None]:
    """The run lock for a mode that may write; nothing for the read-only modes."""
    if mode not in LOCKING_MODES:
        return nullcontext()
    config_file = None if settings.source == NO_CONFIG_FILE else settings.source
    return run_lock(settings.main.lock_file or default_lock_file(config_file))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # a usage error (2), or --help and --version (0)
        return int(exit_.code or 0)
    try:
        log_file = configure_logging(args.verbose, args.quiet, args.log_file)
    except OSError as error:
        message = f"cannot open the log file {args.log_file}: {error.strerror}"
        LOG.error("%s", message)
        status, report, log_file = EXIT_CONFIG, Report(problems=[message]), None
    else:
        progress = progress_for(args.quiet)
        with progress.logging():
            status, report = run_command(args, progress)
    try:
        return _write_metrics(args.metrics_file, status, report)
    finally:
        if log_file is not None:
            logging.getLogger().removeHandler(log_file)
            log_file.close()


def _write_metrics(path: str | None, status: int, report: Report) -> int:
    """The --metrics-file, if asked, and the exit status (1 if the file cannot be written). A
    run that found the lock held did nothing: the metrics stay those of the run holding it."""
    if path and status != EXIT_LOCKED:
        try:
            write_metrics(path, report)
        except OSError as error:
            LOG.error("cannot write the metrics file %s: %s", path, error.strerror)
            return status or EXIT_FAILURE
    return status


def run_command(args: argparse.Namespace, progress: Progress) -> tuple[int, Report]:
    """Load, lock and run; every failure becomes one error line and an exit status."""
    report = Report()
    with signals_interrupt():
        try:
            config_file = find_config_file(args.config_file, os.environ)
            settings = load_settings(config_file, args.config, os.environ)
            check_region_arguments(args.regions, settings)
            options = RunOptions(
                mode=args.mode,
                parallel=args.parallel,
                backup_dir=args.backup_dir,
                run_dir=args.run_dir,
                output_format=OutputFormat(args.output_format),
            )
            with lock_for(settings, args.mode):
                report = run(settings, options, args.regions, sys.stdout, progress)
            return report.exit_status, report
        except GlanceSyncError as error:
            LOG.error("%s", error)
            status = error.exit_status
        except KeyboardInterrupt as interruption:
            signum = getattr(interruption, "signum", signal.SIGINT)
            LOG.error(
                "interrupted by %s: the work in flight was abandoned; run again to finish it",
                signal.Signals(signum).name,
            )
            status = 128 + signum
        except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = EXIT_FAILURE
        except Exception as error:  # a bug of ours: one line, the traceback only with -v
            LOG.error("unexpected %s: %s", type(error).__name__, error, exc_info=args.verbose > 0)
            status = EXIT_FAILURE
    report.add_problem(f"the run ended with exit status {status}")
    return status, report


if __name__ == "__main__":
    sys.exit(main())
