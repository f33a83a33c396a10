"""The tool's own image record, independent of glanceclient."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The property glancesync gives an image it creates until its bytes are verified: an image that
# bears it is an unfinished upload of ours, never copied and never a source.
UPLOAD_MARKER = "glancesync_upload"

# The property glancesync gives a regional copy it deactivates because the master image is
# deactivated: only a copy that bears it is reactivated when the master is (README, image life).
DEACTIVATION_MARK = "glancesync_deactivated"

# Attributes compared and copied besides the user properties (§5).
COMPARED_ATTRIBUTES = ("visibility", "os_hidden", "min_ram", "min_disk", "protected")

# Glance's own fields: everything else in a Glance record is a user property.
GLANCE_CORE_FIELDS = frozenset(
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
        "os_glance_failed_import",
        "os_glance_importing_to_stores",
    }
)


@dataclass(frozen=True)
class Image:
    """One Glance image as glancesync sees it; `properties` holds the user properties only."""

    id: str
    name: str
    owner: str | None = None
    status: str = "active"
    size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    visibility: str = "private"
    os_hidden: bool = False
    disk_format: str | None = None
    container_format: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    protected: bool = False
    tags: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    region: str = ""

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    def same_content(self, other: Image) -> bool:
        """Content equality (§5): md5 checksum, and os_hash_value where both use the same algo."""
        if self.checksum != other.checksum:
            return False
        if self.os_hash_value and other.os_hash_value and self.os_hash_algo == other.os_hash_algo:
            return self.os_hash_value == other.os_hash_value
        return True


@dataclass(frozen=True)
class NewImage:
    """What the tool asks Glance to create before uploading the bytes."""

    name: str
    visibility: str
    disk_format: str | None
    container_format: str | None
    min_ram: int
    min_disk: int
    protected: bool
    tags: tuple[str, ...]
    properties: Mapping[str, str]
    os_hidden: bool = False

    def body(self) -> dict[str, Any]:
        """The JSON body of Glance's create call."""
        record: dict[str, Any] = {
            "name": self.name,
            "visibility": self.visibility,
            "os_hidden": self.os_hidden,
            "min_ram": self.min_ram,
            "min_disk": self.min_disk,
            "protected": self.protected,
            "tags": list(self.tags),
        }
        if self.disk_format:
            record["disk_format"] = self.disk_format
        if self.container_format:
            record["container_format"] = self.container_format
        record.update(self.properties)
        return record
