"""An in-memory cloud behind the facade's interface, for the executor's and the runner's rules.

`MemoryGlance` implements `executor.ImageService` (what `glance.RegionGlance` offers) over a
dict of images and their bytes; `MemoryCloud` the runner's `Cloud` (what `glance.Targets`
offers). Neither speaks HTTP: what crosses the wire is the facade's, tested on the local cloud
(tests/integration/test_facade.py). Faults are planted per call: `fail_on("upload", "app")`
makes the next upload of the image named (or with the id) "app" raise what is given.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import IO, Any

from glancesync.errors import Forbidden, NotFound, RegionError
from glancesync.image import DEACTIVATION_MARK, UPLOAD_MARKER, Image, NewImage

PROJECT = "project-1"
# The properties a glance-download import copies from the master by itself (their prefixes).
COPIED_BY_IMPORT = ("hw_", "os_distro")
NEW_IMAGE_FIELDS = tuple(attribute.name for attribute in fields(NewImage))
_IDS = itertools.count(1)


def content_image(name: str, data: bytes, **fields: Any) -> Image:
    """An active image of PROJECT holding `data` (its size and hashes)."""
    defaults: dict[str, Any] = {
        "id": f"{name}-{next(_IDS)}",
        "name": name,
        "owner": PROJECT,
        "size": len(data),
        "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
        "visibility": "public",
        "disk_format": "raw",
        "container_format": "bare",
    }
    return Image(**{**defaults, **fields})


@dataclass
class MemoryGlance:
    """One region's Glance in memory; `calls` records every call as (operation, image name)."""

    full_name: str
    images: dict[str, Image] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[tuple[str, str], BaseException] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # image id -> project: status
    source: MemoryGlance | None = None  # the master region glance-download imports from
    created: list[Image] = field(default_factory=list)  # each image as it was created

    def put(self, image: Image, data: bytes = b"") -> Image:
        self.images[image.id] = replace(image, region=self.full_name)
        self.data[image.id] = data
        return self.images[image.id]

    def fail_on(self, operation: str, image: str, error: BaseException | None = None) -> None:
        """The next `operation` on the image named (or with id) `image` raises `error`."""
        self.faults[(operation, image)] = error or RegionError(
            f"{operation} failed: planted", region=self.full_name, image=image
        )

    def named(self, name: str) -> list[Image]:
        return [image for image in self.images.values() if image.name == name]

    def _call(self, operation: str, image_id: str | None = None, name: str = "") -> None:
        if not name and image_id in self.images:
            name = self.images[image_id].name
        self.calls.append((operation, name or str(image_id)))
        for key in ((operation, name), (operation, image_id)):
            if key in self.faults:
                raise self.faults.pop(key)

    def _image(self, image_id: str) -> Image:
        if image_id not in self.images:
            raise NotFound("HTTP 404 Not Found", status=404, region=self.full_name, image=image_id)
        return self.images[image_id]

    def list_images(self) -> list[Image]:
        self._call("list", name=self.full_name)
        return list(self.images.values())

    def get_image(self, image_id: str) -> Image:
        self._call("get", image_id)
        return self._image(image_id)

    def create_image(self, new: NewImage) -> Image:
        self._call("create", name=new.name)
        shared = {name: getattr(new, name) for name in NEW_IMAGE_FIELDS}
        image = Image(id=f"{new.name}-{next(_IDS)}", owner=PROJECT, status="queued", **shared)
        marked = {**new.properties, UPLOAD_MARKER: "started in memory"}
        self.created.append(self.put(replace(image, properties=marked)))
        return self.created[-1]

    def upload(self, image_id: str, data: IO[bytes], size: int | None) -> None:
        self._call("upload", image_id)
        content = data.read()  # a verifying stream raises here on a mismatch: never active
        self._store(image_id, content)

    def _store(self, image_id: str, content: bytes, **fields: Any) -> None:
        """The image's bytes, and the image active with their size and hashes."""
        self.images[image_id] = replace(
            self.images[image_id],
            status="active",
            size=len(content),
            checksum=hashlib.md5(content, usedforsecurity=False).hexdigest(),
            os_hash_algo="sha512",
            os_hash_value=hashlib.sha512(content).hexdigest(),
            **fields,
        )
        self.data[image_id] = content

    def download(self, image_id: str) -> Iterator[bytes]:
        self._call("download", image_id)
        content = self.data[self._image(image_id).id]
        return iter([content[:3], content[3:]])

    def download_part(self, image_id: str, start: int, length: int) -> Generator[bytes, None, None]:
        """At most `length` bytes from `start` on, as `RegionGlance.download_part` (a Range)."""
        self._call("download_part", image_id)
        content = self.data[self._image(image_id).id]
        yield content[start : start + length]

    def update_image(
        self,
        current: Image,
        attributes: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: Sequence[str] = (),
    ) -> Image:
        self._call("update", current.id)
        image = self._image(current.id)
        properties = {**image.properties, **(set_properties or {})}
        for key in remove_properties:
            properties.pop(key, None)
        image = replace(image, **(attributes or {}), properties=properties)
        self.images[image.id] = image
        return image

    def delete_image(self, image_id: str) -> None:
        self._call("delete", image_id)
        if self._image(image_id).protected:
            raise Forbidden("HTTP 403 Forbidden", status=403, region=self.full_name, image=image_id)
        del self.images[image_id]

    def finish_upload(
        self, uploaded: Image, protected: bool, attributes: Mapping[str, Any] | None = None
    ) -> Image:
        attributes = {**(attributes or {}), **({"protected": True} if protected else {})}
        return self.update_image(uploaded, attributes, None, (UPLOAD_MARKER,))

    def list_members(self, image_id: str) -> dict[str, str]:
        self._call("list_members", image_id)
        return dict(self.members.get(image_id, {}))

    def add_member(self, image_id: str, project_id: str) -> None:
        self._call("add_member", image_id)
        self.members.setdefault(image_id, {}).setdefault(project_id, "pending")

    def remove_member(self, image_id: str, project_id: str) -> None:
        self._call("remove_member", image_id)
        self.members.get(image_id, {}).pop(project_id, None)

    def add_tag(self, image: Image, tag: str) -> None:
        self._call("add_tag", image.id)
        current = self._image(image.id)
        self.images[image.id] = replace(current, tags=tuple(sorted({*current.tags, tag})))

    def deactivate(self, image: Image) -> None:
        """Marked, then deactivated, as `RegionGlance.deactivate`."""
        self._call("deactivate", image.id)
        marked = {**self._image(image.id).properties, DEACTIVATION_MARK: "deactivated in memory"}
        self.images[image.id] = replace(
            self.images[image.id], status="deactivated", properties=marked
        )

    def reactivate(self, image: Image) -> None:
        """Reactivated, then unmarked, as `RegionGlance.reactivate`."""
        self._call("reactivate", image.id)
        current = self._image(image.id)
        unmarked = {k: v for k, v in current.properties.items() if k != DEACTIVATION_MARK}
        self.images[image.id] = replace(current, status="active", properties=unmarked)

    def import_methods(self) -> frozenset[str]:
        """glance-download when the region has a `source` to import from."""
        self._call("import_methods", name=self.full_name)
        return frozenset({"glance-download"} if self.source else ())

    def start_import(self, image_id: str, source_id: str, source_region: str) -> None:
        """glance-download, done at once: the source's bytes, and the properties Glance
        copies by itself (COPIED_BY_IMPORT) added."""
        self._call("start_import", image_id)
        assert self.source is not None and source_region == self.source.full_name
        master = self.source.images[source_id]
        copied = {k: v for k, v in master.properties.items() if k.startswith(COPIED_BY_IMPORT)}
        properties = {**self.images[image_id].properties, **copied}
        self._store(image_id, self.source.data[source_id], properties=properties)

    def await_import(self, image_id: str) -> Image:
        self._call("await_import", image_id)
        return self._image(image_id)


@dataclass
class MemoryTarget:
    """A Keystone in memory: its project and its regions."""

    name: str
    glances: dict[str, MemoryGlance]
    project_id: str = PROJECT
    refusal: Exception | None = None  # raised when its catalog is read

    @property
    def regions(self) -> tuple[str, ...]:
        if self.refusal is not None:
            raise self.refusal
        return tuple(self.glances)

    def region(self, name: str, full_name: str | None = None) -> MemoryGlance:
        glance = self.glances[name]
        glance.full_name = full_name or name
        return glance


class MemoryCloud(dict):
    """Targets by name, as `glance.Targets`; call it with settings as the runner does."""

    def __call__(self, _settings: object) -> MemoryCloud:
        return self

    def handover(self) -> MemoryCloud:
        return self
