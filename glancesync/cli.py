"""Command line (§7): parses, wires and prints; never talks to Glance itself."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from glancesync import __version__
from glancesync.errors import EXIT_FAILURE, GlanceSyncError
from glancesync.runner import Mode, RunOptions, run
from glancesync.settings import find_config_file, load_settings

LOG = logging.getLogger("glancesync")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    modes.add_argument(
        "--dry-run",
        action="store_const",
        dest="mode",
        const=Mode.DRY_RUN,
        help="print what would be done; write nothing",
    )
    modes.add_argument(
        "--show-status",
        action="store_const",
        dest="mode",
        const=Mode.SHOW_STATUS,
        help="print status,region,image CSV lines",
    )
    modes.add_argument(
        "--show-regions",
        action="store_const",
        dest="mode",
        const=Mode.SHOW_REGIONS,
        help="print the regions a run would visit",
    )
    modes.add_argument(
        "--make-backup",
        action="store_const",
        dest="mode",
        const=Mode.MAKE_BACKUP,
        help="write one CSV of image metadata per region into a new directory",
    )
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
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more detail (-vv for HTTP debugging; secrets stay hidden)",
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--version", action="version", version=f"glancesync {__version__}")
    return parser


class PlainInfoFormatter(logging.Formatter):
    """Progress and summaries as plain lines; warnings and errors with their level."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname}: {text}"


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PlainInfoFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    LOG.setLevel(level)
    if verbose > 1:
        root.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        config_file = find_config_file(args.config_file, os.environ)
        settings = load_settings(config_file, args.config, os.environ)
        options = RunOptions(
            mode=args.mode,
            parallel=args.parallel,
            backup_dir=args.backup_dir,
            run_dir=args.run_dir,
        )
        report = run(settings, options, args.regions, sys.stdout)
    except GlanceSyncError as error:
        LOG.error("%s", error)
        return error.exit_status
    except KeyboardInterrupt:
        LOG.error("interrupted")
        return 130
    except Exception as error:  # a bug of ours: one line, the traceback only with -v
        LOG.error("unexpected %s: %s", type(error).__name__, error, exc_info=args.verbose > 0)
        return EXIT_FAILURE
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
