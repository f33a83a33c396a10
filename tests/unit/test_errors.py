"""The typed errors: named once, chained, an API error per HTTP status the tool tells apart."""

from __future__ import annotations

import pytest

from glancesync.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    ImageError,
    NotFound,
    RegionError,
    api_error_type,
    cause_text,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequest),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (500, ApiError),
        (None, ApiError),
    ],  # fmt: skip
)
def test_an_api_error_type_per_status(status: int | None, expected: type) -> None:
    assert api_error_type(status) is expected
    assert issubclass(expected, RegionError)


def test_an_error_is_shown_without_the_region_its_line_names() -> None:
    error = ImageError("upload failed: cut", region="Lisbon", image="app")
    assert str(error) == "region Lisbon, image app: upload failed: cut"
    assert error.shown_in("Lisbon") == "image app: upload failed: cut"
    assert error.shown_in("Paris") == "region Lisbon, image app: upload failed: cut"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFound("get image failed: HTTP 404", region="Lisbon", image="u-1"),
         "get image failed: HTTP 404"),
        (RegionError("download image failed: cut", region="Madrid", image="u-2"),
         "region Madrid: download image failed: cut"),
        (ValueError("size 3 instead of 4"), "size 3 instead of 4"),
    ],
)  # fmt: skip
def test_a_cause_is_quoted_without_the_names_of_the_error_it_causes(error, expected) -> None:
    assert cause_text(error, "Lisbon") == expected
