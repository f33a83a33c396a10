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
from glancesync.actions import Mode, RunOptions
from glancesync.edge import MaskedUserinfo
from glancesync.errors import (
    EXIT_CONFIG,
    EXIT_DECISION,
    EXIT_FAILURE,
    EXIT_LOCKED,
    GlanceSyncError,
    Interrupted,
)
from glancesync.escaping import PrintableFormatter
from glancesync.lock import DEFAULT_LOCK_FILE, default_lock_file, run_lock
from glancesync.logs import LogFile
from glancesync.metrics import write_metrics
from glancesync.output import OUTPUT_LOG, OutputFormat
from glancesync.progress import Progress, progress_for
from glancesync.regions import check_region_arguments
from glancesync.report import Report
from glancesync.runner import run
from glancesync.settings import (
    CONFIG_FILE_VARIABLE,
    DEFAULT_CONFIG_FILE,
    NO_CONFIG_FILE,
    Settings,
    find_config_file,
    load_settings,
)

LOG = logging.getLogger("glancesync")

INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


MODE_FLAGS = (
    ("--dry-run", Mode.DRY_RUN, "print what a sync would do; write nothing"),
    ("--show-status", Mode.SHOW_STATUS, "print a status,region,image CSV line per image"),
    (
        "--show-regions",
        Mode.SHOW_REGIONS,
        "print the regions a run without region arguments visits, then T:R of the other "
        "targets, which a run visits only when they are named; on one line",
    ),
    (
        "--make-backup",
        Mode.MAKE_BACKUP,
        "write one CSV of image metadata per region (the master region too) into a new "
        "directory under --backup-dir",
    ),
    (
        "--check-formats",
        Mode.CHECK_FORMATS,
        "check the format of each master image synchronised to the regions, reading as few "
        "of its bytes as needed; a verdict,image,declared,detected,reason CSV line per image",
    ),
)

EPILOG = f"""\
region arguments:
  R, master:R  region R of the master target
  T:R          region R of target T (the configuration's section [T])
  T:           every region of target T except its ignore_regions
  (none)       every region of the master target except master_region and
               ignore_regions, preferable_order first; the regions of other
               targets are visited only when named

environment:
  {CONFIG_FILE_VARIABLE}     the configuration file, unless --config-file names one
  OS_REGION_NAME        [main] master_region, when the configuration has none
  OS_CLOUD              the clouds.yaml cloud of a [master] without credentials
  OS_USERNAME, OS_PASSWORD, OS_AUTH_URL, OS_PROJECT_NAME (or OS_TENANT_NAME),
  OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, OS_CACERT
                        the [master] keys the configuration leaves unset
  OS_CLIENT_CONFIG_FILE the clouds.yaml to read, before ./clouds.yaml,
                        ~/.config/openstack/ and /etc/openstack/
  TMPDIR                where a sync caches master images (or [main] cache_dir)

files:
  {DEFAULT_CONFIG_FILE}  the configuration, unless --config-file or
                        {CONFIG_FILE_VARIABLE} names one; without any, OS_* only
  {DEFAULT_LOCK_FILE}
                        the run lock of a sync and --make-backup, unless [main]
                        lock_file names another

exit status:
  0    done: every region processed and nothing needs the operator
  1    a region or an image failed (the other regions were processed)
  2    usage or configuration error, or credentials refused: nothing changed
  3    another run holds the lock: nothing done
  4    no failure, but an error_checksum or error_ami waits for a decision
  130  interrupted by SIGINT (Ctrl-C); the upload in flight is deleted
  143  interrupted by SIGTERM; likewise
"""


class OverridesThenRegions(argparse.Action):
    """`--config KEY=VALUE [KEY=VALUE ...]`: the values up to the first one without "=" are
    overrides; that one and those after it are region arguments (§2). The first value is
    always an override (the loader rejects it if it has no "=")."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        texts = [str(value) for value in values or ()]
        end = next((i for i, text in enumerate(texts[1:], 1) if "=" not in text), len(texts))
        namespace.config = [*namespace.config, *texts[:end]]
        namespace.regions = [*namespace.regions, *texts[end:]]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="glancesync",
        usage="%(prog)s [options] [region ...]",
        description="Synchronise the Glance images of the master region to other regions.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    modes = parser.add_argument_group("modes", "one at most; without any, a sync")
    exclusive = modes.add_mutually_exclusive_group()
    for flag, mode, help_text in MODE_FLAGS:
        exclusive.add_argument(flag, action="store_const", dest="mode", const=mode, help=help_text)
    parser.set_defaults(mode=Mode.SYNC)
    modes.add_argument(
        "--parallel",
        action="store_true",
        help="visit up to [main] max_children regions at once, in any mode (default: one "
        "region at a time)",
    )

    selection = parser.add_argument_group("selection")
    selection.add_argument(
        "regions",
        nargs="*",
        action="extend",
        default=[],
        metavar="region",
        help="R or master:R, T:R, or T: (see region arguments below); default: every region "
        "of the master target",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        dest="output_format",
        choices=[choice.value for choice in OutputFormat],
        default=OutputFormat.TEXT.value,
        help="standard output as text (action lines, CSV for --show-status) or one JSON "
        "object per line (default: %(default)s)",
    )
    verbosity = output.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more detail: -v DEBUG, -vv HTTP debugging, secrets hidden (default: INFO)",
    )
    verbosity.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings and errors on the terminal; the --log-file keeps INFO",
    )
    output.add_argument(
        "--log-file",
        metavar="PATH",
        help="append the run's log, with times, to PATH: INFO, DEBUG with -v; -q spares it "
        "(default: none)",
    )
    output.add_argument(
        "--metrics-file",
        metavar="PATH",
        help="write the run's outcome in Prometheus text format, for node_exporter's "
        "textfile collector (default: none)",
    )
    output.add_argument(
        "--backup-dir",
        metavar="DIR",
        default=".",
        help="where --make-backup creates its directory (default: the current directory)",
    )
    output.add_argument(
        "--run-dir",
        metavar="DIR",
        default="runs",
        help="where --parallel creates its directory of per-region logs (default: %(default)s)",
    )

    configuration = parser.add_argument_group("configuration")
    configuration.add_argument(
        "--config-file",
        metavar="PATH",
        help="the configuration file (default: $GLANCESYNC_CONFIG, else /etc/glancesync.conf, "
        "else none)",
    )
    configuration.add_argument(
        "-o",
        "--set",
        action="append",
        dest="config",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting for this run: section.key=value for one section, key=value "
        "for [main] or every target; repeatable (default: none)",
    )
    configuration.add_argument(
        "--config",
        nargs="+",
        action=OverridesThenRegions,
        metavar="KEY=VALUE",
        help="several overrides after one flag; the first argument without '=' and the "
        "arguments after it are regions (default: none)",
    )

    general = parser.add_argument_group("general")
    general.add_argument("-h", "--help", action="help", help="print this help and exit")
    general.add_argument(
        "--version",
        action="version",
        version=f"glancesync {__version__}",
        help="print the version and exit",
    )
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
    console.addFilter(MaskedUserinfo())
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


def lock_for(settings: Settings, options: RunOptions) -> AbstractContextManager[None]:
    """The run lock for a mode that may write (to Glance, or a backup of a state that a sync
    may be changing); nothing for the modes that only read and run alongside anything."""
    if not options.locks:
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
        status, log_file = EXIT_CONFIG, None
        report = Report(problems=[message], stopped_with=EXIT_CONFIG)
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
    """The --metrics-file, if asked, and the exit status: a file that cannot be written is a
    failure (1) of a run that had none (0, or 4: a decision waits, which cron does not mail).
    A run that found the lock held did nothing: the metrics stay those of the run holding it."""
    if path and status != EXIT_LOCKED:
        try:
            write_metrics(path, report)
        except OSError as error:
            LOG.error("cannot write the metrics file %s: %s", path, error.strerror)
            return EXIT_FAILURE if status in (0, EXIT_DECISION) else status
    return status


def run_command(args: argparse.Namespace, progress: Progress) -> tuple[int, Report]:
    """Load, lock and run; every failure becomes one error line and an exit status, recorded
    in the report with what finished before it."""
    options = RunOptions(
        mode=args.mode,
        parallel=args.parallel,
        backup_dir=args.backup_dir,
        run_dir=args.run_dir,
        output_format=OutputFormat(args.output_format),
    )
    report = Report(dry_run=not options.writes)
    with signals_interrupt():
        try:
            config_file = find_config_file(args.config_file, os.environ)
            settings = load_settings(config_file, args.config, os.environ)
            check_region_arguments(args.regions, settings)
            with lock_for(settings, options):
                run(settings, options, args.regions, report, sys.stdout, progress)
            return report.exit_status, report
        except GlanceSyncError as error:
            status, reason = error.exit_status, str(error)
            LOG.error("%s", reason)
        except KeyboardInterrupt as interruption:
            signum = getattr(interruption, "signum", signal.SIGINT)
            status = 128 + signum
            reason = (
                f"interrupted by {signal.Signals(signum).name}: the work in flight was "
                "abandoned; run again to finish it"
            )
            LOG.error("%s", reason)
        except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status, reason = EXIT_FAILURE, "the reader of the standard output went away"
        except Exception as error:  # a bug of ours: one line, the traceback only with -v
            status, reason = EXIT_FAILURE, f"unexpected {type(error).__name__}: {error}"
            LOG.error("%s", reason, exc_info=args.verbose > 0)
    report.stop(status, reason)
    return status, report


if __name__ == "__main__":
    sys.exit(main())
