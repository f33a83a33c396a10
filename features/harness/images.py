"""Images as the features describe them (table rows) and as Glance reports them (records).

A content label stands for bytes: the same label (and size) is always the same bytes, so the
same checksum. In a value, `{id of NAME}` stands for the UUID of image NAME (in a property:
of the same region; kernel_id, ramdisk_id) and `{checksum of LABEL}` for a content's md5; in a
setting, `{auth_url of TARGET}` and `{password of ACCOUNT}` come from the cloud's description.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from glanceclient import Client

SIZE_UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": 1024**2}
DEFAULT_SIZE = "4 KiB"
AMI_FORMATS = ("ami", "aki", "ari")  # disk format = container format for these
PLACEHOLDER = re.compile(r"\{(id|checksum|auth_url|password|time) of ([^{}]+)\}")

# Fields of Glance's own: everything else in a record is a user property.
GLANCE_FIELDS = frozenset(
    {
        "id",
        "name",
        "owner",
        "status",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "visibility",
        "disk_format",
        "container_format",
        "min_ram",
        "min_disk",
        "protected",
        "tags",
        "created_at",
        "updated_at",
        "file",
        "schema",
        "self",
        "direct_url",
        "locations",
        "os_hidden",
        "stores",
        "os_glance_failed_import",  # an imported image's (glance-download, §11)
        "os_glance_importing_to_stores",
    }
)

Record = dict[str, Any]
ANY_VALUE = "*"  # an expected property value that any value matches (a time, say)


def time_ago(text: str) -> str:
    """`40 days ago` (or hours) as a UTC time in ISO 8601, as glancesync writes its marks."""
    count, unit, _ = text.split()
    delta = timedelta(**{unit if unit.endswith("s") else unit + "s": int(count)})
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def substitute(text: str, lookup: Callable[[str, str], str]) -> str:
    """Replace each `{KIND of NAME}` placeholder by `lookup(KIND, NAME)`."""
    return PLACEHOLDER.sub(lambda match: lookup(match[1], match[2].strip()), text)


def parse_size(text: str) -> int:
    """`4096`, `4 KiB`, `1 MiB` -> bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([KM]iB|B)?\s*", text)
    if not match:
        raise ValueError(f"not a size: {text!r} (write e.g. 4096, 12 KiB, 1 MiB)")
    return int(match[1]) * SIZE_UNITS[match[2] or ""]


def payload(label: str, size: int) -> bytes:
    """The bytes of a content label: deterministic, and different for different labels."""
    block = hashlib.sha256(label.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def checksum(label: str, size: int) -> str:
    return hashlib.md5(payload(label, size)).hexdigest()


def parse_properties(text: str) -> dict[str, str]:
    """`type=base, nid=7` -> {"type": "base", "nid": "7"}; empty text -> {}."""
    properties = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"property {item!r}: expected KEY=VALUE")
        properties[key.strip()] = value.strip()
    return properties


@dataclass(frozen=True)
class ImageSpec:
    """An image to create in Glance, from a table row.

    Columns: name (required), content (default: the name), size (default 4 KiB), visibility
    (default public), properties, owner (an account of cloud.json, default the target's admin),
    disk_format (default raw; ami/aki/ari set the container format too), min_ram and min_disk
    (default 0), protected (true/false), tags (separated by blanks), os_hidden (true/false),
    status (active, queued: created without data, or deactivated: deactivated once uploaded).
    """

    name: str
    content: str
    size: int = parse_size(DEFAULT_SIZE)
    visibility: str = "public"
    properties: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None
    disk_format: str = "raw"
    min_ram: int = 0
    min_disk: int = 0
    protected: bool = False
    tags: tuple[str, ...] = ()
    os_hidden: bool = False
    status: str = "active"

    COLUMNS = frozenset(
        {
            "name",
            "content",
            "size",
            "visibility",
            "properties",
            "owner",
            "disk_format",
            "min_ram",
            "min_disk",
            "protected",
            "tags",
            "os_hidden",
            "status",
        }
    )

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> ImageSpec:
        unknown = set(row) - cls.COLUMNS
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}; known: {sorted(cls.COLUMNS)}")
        properties = parse_properties(row.get("properties", ""))
        reserved = set(properties) & GLANCE_FIELDS
        if reserved:
            raise ValueError(f"{sorted(reserved)} are Glance fields, not user properties")
        return cls(
            name=row["name"],
            content=row.get("content") or row["name"],
            size=parse_size(row.get("size") or DEFAULT_SIZE),
            visibility=row.get("visibility") or "public",
            properties=properties,
            owner=row.get("owner") or None,
            disk_format=row.get("disk_format") or "raw",
            min_ram=int(row.get("min_ram") or 0),
            min_disk=int(row.get("min_disk") or 0),
            protected=(row.get("protected") or "false") == "true",
            tags=tuple((row.get("tags") or "").split()),
            os_hidden=(row.get("os_hidden") or "false") == "true",
            status=row.get("status") or "active",
        )

    @property
    def container_format(self) -> str:
        return self.disk_format if self.disk_format in AMI_FORMATS else "bare"

    def create(self, glance: Client, resolve: Callable[[str], str]) -> str:
        """Create the image (uploading its bytes unless queued); its UUID.
        `resolve` turns a property value's placeholders into values."""
        properties = {key: resolve(value) for key, value in self.properties.items()}
        image = glance.images.create(
            name=self.name,
            visibility=self.visibility,
            disk_format=self.disk_format,
            container_format=self.container_format,
            min_ram=self.min_ram,
            min_disk=self.min_disk,
            protected=self.protected,
            tags=list(self.tags),
            os_hidden=self.os_hidden,
            **properties,
        )
        if self.status not in ("active", "queued", "deactivated"):
            raise ValueError(f"image {self.name}: status must be active, queued or deactivated")
        if self.status != "queued":
            data = payload(self.content, self.size)
            glance.images.upload(image.id, io.BytesIO(data), image_size=len(data))
        if self.status == "deactivated":
            glance.images.deactivate(image.id)
        return image.id


def records(glance: Client) -> list[Record]:
    """Every image the client's account can see, hidden ones included (Glance lists them only
    when asked for them alone), as plain dicts."""
    hidden = glance.images.list(filters={"os_hidden": "true"})
    return [dict(image) for image in [*glance.images.list(), *hidden]]


def user_properties(record: Record) -> dict[str, str]:
    return {key: value for key, value in record.items() if key not in GLANCE_FIELDS}


@dataclass(frozen=True)
class Expectation:
    """What a table row says about one image of a region; columns left out are not checked.

    Columns: name (required), content (a label; empty for no data), owner (an account),
    properties (the exact user properties; `{id of NAME}` is the UUID of NAME in the region),
    and Glance fields compared as text: visibility, status, min_ram, min_disk, protected and
    os_hidden (true/false), tags (sorted, separated by blanks).
    """

    row: Mapping[str, str]

    COLUMNS = frozenset(
        {
            "name",
            "content",
            "owner",
            "properties",
            "visibility",
            "status",
            "min_ram",
            "min_disk",
            "protected",
            "os_hidden",
            "tags",
        }
    )

    def __post_init__(self) -> None:
        unknown = set(self.row) - self.COLUMNS
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}; known: {sorted(self.COLUMNS)}")

    @property
    def name(self) -> str:
        return self.row["name"]

    def differences(
        self,
        record: Record,
        checksum_of: Callable[[str], str],
        project_of: Callable[[str], str],
        resolve: Callable[[str], str],
    ) -> list[str]:
        """How the record differs from the row (empty: it matches)."""
        wanted: dict[str, Any] = {}
        actual: dict[str, Any] = {}
        for column, value in self.row.items():
            if column == "content":
                expected_checksum = checksum_of(value) if value else None  # empty: no data
                wanted[column], actual[column] = expected_checksum, record.get("checksum")
            elif column == "owner":
                wanted[column], actual[column] = project_of(value), record.get("owner")
            elif column == "properties":
                expected = {k: resolve(v) for k, v in parse_properties(value).items()}
                found = user_properties(record)
                anything = {
                    k: found[k] for k, v in expected.items() if v == ANY_VALUE and k in found
                }
                wanted[column], actual[column] = {**expected, **anything}, found
            elif column != "name":
                wanted[column], actual[column] = value, _as_text(record.get(column))
        return [
            f"{column}: expected {wanted[column]!r}, got {actual[column]!r}"
            for column in wanted
            if wanted[column] != actual[column]
        ]


def _as_text(value: Any) -> str:
    """A Glance field as a table cell shows it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return " ".join(sorted(value))
    return str(value)


def reference_resolver(records_: Iterable[Record], region: str) -> Callable[[str], str]:
    """A value with each `{id of NAME}` replaced by the UUID of the only image NAME among the
    records."""
    by_name: dict[str, list[str]] = {}
    for record in records_:
        by_name.setdefault(record.get("name") or "", []).append(record["id"])

    def lookup(kind: str, name: str) -> str:
        if kind != "id":
            raise ValueError(f"{{{kind} of {name}}}: only {{id of NAME}} fits an expected value")
        ids = by_name.get(name, [])
        if len(ids) != 1:
            raise AssertionError(f"{region}: {{id of {name}}} names {len(ids)} images")
        return ids[0]

    return lambda value: substitute(value, lookup)
