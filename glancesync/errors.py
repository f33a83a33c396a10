"""The tool's exceptions: each carries the region and image it concerns, and its exit status.

`GlanceSyncError.__str__` is the one place that names them (`region R, image I: message`); an
error raised because of another keeps the other as its `__cause__` (`raise … from`) and
quotes only its `cause_text`, never the names twice. Failed API calls are `ApiError`s that
keep the HTTP status and the request id, one subclass per status the tool tells apart (as
openstacksdk's `exceptions`)."""

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
        return self.shown_in()

    def shown_in(self, region: str | None = None) -> str:
        """The error as shown where `region` is named already (a region's line): its image and
        message, and its own region only if it is another one."""
        where = []
        if self.region and self.region != region:
            where.append(f"region {self.region}")
        if self.image:
            where.append(f"image {self.image}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def cause_text(error: BaseException, region: str) -> str:
    """What an error says as the cause of another one about the same image in `region`: its
    message, with its region only if it is another one (the master's), never its image."""
    if not isinstance(error, GlanceSyncError):
        return str(error)
    if error.region and error.region != region:
        return f"region {error.region}: {error.message}"
    return error.message


class ConfigError(GlanceSyncError):
    """Bad configuration or command line: nothing was contacted or changed."""

    exit_status = EXIT_CONFIG


class AuthError(GlanceSyncError):
    """Keystone refused the credentials of a target (exit 2), or could not be reached (exit 1)."""


class RegionError(GlanceSyncError):
    """A region could not be listed or synchronised; the other regions go on."""


class ApiError(RegionError):
    """A Keystone or Glance call failed: `status` is the HTTP status of the answer (None: no
    answer), `request_id` its x-openstack-request-id."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        region: str | None = None,
        image: str | None = None,
    ):
        super().__init__(message, region=region, image=image)
        self.status = status
        self.request_id = request_id


class BadRequest(ApiError):
    """HTTP 400."""


class Forbidden(ApiError):
    """HTTP 403: e.g. a protected image cannot be deleted."""


class NotFound(ApiError):
    """HTTP 404."""


class Conflict(ApiError):
    """HTTP 409: e.g. a property to remove is not there (any more)."""


_API_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def api_error_type(status: int | None) -> type[ApiError]:
    """The ApiError subclass of an HTTP status (ApiError itself for the others)."""
    return _API_ERRORS.get(status or 0, ApiError)


class ImageError(GlanceSyncError):
    """One image could not be synchronised; its region stops, the next region runs."""


class ImportFailed(RegionError):
    """A region's Glance did not copy an image by itself (§11): the import failed, ran past
    `import_timeout`, or its result was not the master's content."""


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
