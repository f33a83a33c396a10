"""The tool's exceptions: each carries the region and image it concerns, and its exit status."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_LOCKED = 3
EXIT_DECISION = 4  # no failure, but an error_* status waits for the operator's decision


class GlanceSyncError(Exception):
    """Base of every error the tool reports to the operator (never as a traceback)."""

    exit_status = EXIT_FAILURE

    def __init__(
        self,
        message: str,
        *,
        region: str | None = None,
        image: str | None = None,
        exit_status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.region = region
        self.image = image
        if exit_status is not None:
            self.exit_status = exit_status

    def __str__(self) -> str:
        where = []
        if self.region:
            where.append(f"region {self.region}")
        if self.image:
            where.append(f"image {self.image}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ConfigError(GlanceSyncError):
    """Bad configuration or command line: nothing was contacted or changed."""

    exit_status = EXIT_CONFIG


class AuthError(GlanceSyncError):
    """Keystone refused the credentials of a target (exit 2), or could not be reached (exit 1)."""


class RegionError(GlanceSyncError):
    """A region could not be listed or synchronised; the other regions go on."""


class ImageError(GlanceSyncError):
    """One image could not be synchronised; its region stops, the next region runs."""


class LockHeld(GlanceSyncError):
    """Another run holds the lock."""

    exit_status = EXIT_LOCKED


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: work in flight is abandoned (and cleaned where it can be).

    A KeyboardInterrupt, not an Exception, so that no `except Exception` swallows it; the run
    exits with 128 + the signal number (130, 143)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
