"""The facade: the only module that talks to Keystone and Glance.

One keystoneauth1 session per target, regions from its catalog, and per region a thin
wrapper over python-glanceclient's v2 HTTP client that speaks in the tool's `Image` records.
It decides nothing: listing, reading, creating, uploading, patching and deleting, with
Keystone and Glance failures turned into the tool's typed errors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import IO, Any

import glanceclient
from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

from glancesync.errors import EXIT_CONFIG, AuthError, RegionError
from glancesync.image import GLANCE_CORE_FIELDS, Image, NewImage
from glancesync.settings import TargetSettings

LOG = logging.getLogger(__name__)

IMAGE_SERVICE = "image"
LIST_PAGE_SIZE = 1000  # Glance's default api_limit_max: fewest pages
CHUNK_SIZE = 1024 * 1024
JSON_PATCH = "application/openstack-images-v2.1-json-patch"


def image_from_record(record: Mapping[str, Any], region: str) -> Image:
    """Turn a Glance v2 image record into the tool's `Image`."""
    properties = {k: v for k, v in record.items() if k not in GLANCE_CORE_FIELDS}
    return Image(
        id=record["id"],
        name=record.get("name") or "",
        owner=record.get("owner"),
        status=record.get("status", ""),
        size=record.get("size"),
        checksum=record.get("checksum"),
        os_hash_algo=record.get("os_hash_algo"),
        os_hash_value=record.get("os_hash_value"),
        visibility=record.get("visibility", "private"),
        disk_format=record.get("disk_format"),
        container_format=record.get("container_format"),
        min_ram=record.get("min_ram") or 0,
        min_disk=record.get("min_disk") or 0,
        protected=bool(record.get("protected")),
        tags=tuple(record.get("tags") or ()),
        properties=properties,
        region=region,
    )


def patch_operations(
    attributes: Mapping[str, Any],
    set_properties: Mapping[str, str],
    remove_properties: Sequence[str],
    current: Image,
) -> list[dict[str, Any]]:
    """A JSON patch of exactly the given keys: add or replace what is set, remove what is named."""
    operations: list[dict[str, Any]] = []
    for key, value in attributes.items():
        operations.append({"op": "replace", "path": f"/{key}", "value": value})
    for key, value in set_properties.items():
        op = "replace" if key in current.properties else "add"
        operations.append({"op": op, "path": f"/{key}", "value": value})
    for key in remove_properties:
        if key in current.properties:
            operations.append({"op": "remove", "path": f"/{key}"})
    return operations


class Target:
    """A Keystone with its credentials: one session, the catalog's image regions."""

    def __init__(self, settings: TargetSettings):
        self.settings = settings
        auth = v3.Password(
            auth_url=settings.auth_url,
            username=settings.user,
            password=settings.password,
            project_name=settings.project,
            user_domain_name=settings.user_domain_name,
            project_domain_name=settings.project_domain_name,
        )
        verify: bool | str = False if settings.insecure else (settings.cacert or True)
        self.session = ksa_session.Session(auth=auth, verify=verify, timeout=settings.api_timeout)

    @property
    def name(self) -> str:
        return self.settings.name

    @cached_property
    def project_id(self) -> str:
        with self._keystone_errors():
            return self.session.get_project_id()

    @cached_property
    def regions(self) -> tuple[str, ...]:
        """Regions with a public image endpoint in this target's catalog, in catalog order."""
        with self._keystone_errors():
            access = self.session.auth.get_access(self.session)
        endpoints = access.service_catalog.get_endpoints_data(
            service_type=IMAGE_SERVICE, interface="public"
        )
        names: list[str] = []
        for endpoint in endpoints.get(IMAGE_SERVICE, []):
            if endpoint.region_name and endpoint.region_name not in names:
                names.append(endpoint.region_name)
        return tuple(names)

    def region(self, name: str, full_name: str | None = None) -> RegionGlance:
        return RegionGlance(self, name, full_name or name)

    @contextmanager
    def _keystone_errors(self) -> Iterator[None]:
        """Turn keystoneauth failures into AuthError naming the target (never its password)."""
        where = f"target {self.name} (Keystone {self.settings.auth_url})"
        try:
            yield
        except ksa_exc.Unauthorized:
            raise AuthError(
                f"{where}: the credentials of user {self.settings.user!r} were refused",
                exit_status=EXIT_CONFIG,
            ) from None
        except ksa_exc.ConnectionError as error:
            raise AuthError(f"{where}: cannot connect ({type(error).__name__})") from None
        except ksa_exc.ClientException as error:
            raise AuthError(f"{where}: authentication failed: {_short(str(error))}") from None


class Targets:
    """One `Target` (one Keystone session) per target name, made on first use."""

    def __init__(self, settings: Mapping[str, TargetSettings]):
        self._settings = settings
        self._made: dict[str, Target] = {}

    def __getitem__(self, name: str) -> Target:
        if name not in self._made:
            self._made[name] = Target(self._settings[name])
        return self._made[name]


class RegionGlance:
    """Glance v2 of one region of a target, speaking in `Image` records."""

    def __init__(self, target: Target, region: str, full_name: str):
        self.target = target
        self.region = region
        self.full_name = full_name
        self.client = glanceclient.Client(
            "2",
            session=target.session,
            region_name=region,
            interface="public",
        )
        self.http = self.client.http_client

    def list_images(self, page_size: int = LIST_PAGE_SIZE) -> list[Image]:
        """Every image the target's project can see, following pagination."""
        images: list[Image] = []
        url: str | None = f"/v2/images?limit={page_size}"
        while url:
            body = self._call("list images", self.http.get, url)[1]
            images.extend(image_from_record(record, self.full_name) for record in body["images"])
            url = body.get("next")
        return images

    def get_image(self, image_id: str) -> Image:
        body = self._call("get image", self.http.get, f"/v2/images/{image_id}", image=image_id)[1]
        return image_from_record(body, self.full_name)

    def create_image(self, new: NewImage) -> Image:
        body = self._call(
            "create image", self.http.post, "/v2/images", data=new.body(), image=new.name
        )[1]
        return image_from_record(body, self.full_name)

    def upload(self, image_id: str, data: IO[bytes], size: int | None) -> None:
        """Stream `data` (read in chunks) as the image's bytes, telling Glance the size."""
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["x-openstack-image-size"] = str(size)
        self._call(
            "upload image",
            self.http.put,
            f"/v2/images/{image_id}/file",
            headers=headers,
            data=data,
            image=image_id,
        )

    def download(self, image_id: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The image's bytes as a stream of chunks."""
        response = self._call(
            "download image", self.http.get, f"/v2/images/{image_id}/file", image=image_id
        )[0]
        return response.iter_content(chunk_size=chunk_size)

    def update_image(
        self,
        current: Image,
        attributes: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: Sequence[str] = (),
    ) -> Image:
        """Patch exactly the given keys of `current`; every other property stays as it is."""
        operations = patch_operations(
            attributes or {}, set_properties or {}, remove_properties, current
        )
        if not operations:
            return current
        body = self._call(
            "update image",
            self.http.patch,
            f"/v2/images/{current.id}",
            headers={"Content-Type": JSON_PATCH},
            data=json.dumps(operations),
            image=current.name,
        )[1]
        return image_from_record(body, self.full_name)

    def delete_image(self, image_id: str) -> None:
        self._call("delete image", self.http.delete, f"/v2/images/{image_id}", image=image_id)

    def _call(self, what: str, method, url: str, *, image: str | None = None, **kwargs):
        """Run one HTTP call, turning Glance and Keystone failures into RegionError."""
        try:
            return method(url, **kwargs)
        except glance_exc.HTTPException as error:
            message = f"{what} failed: HTTP {error.code} {_short(error.details)}"
        except (glance_exc.CommunicationError, glance_exc.InvalidEndpoint) as error:
            message = f"{what} failed: cannot reach Glance ({_short(str(error))})"
        except ksa_exc.EndpointNotFound:
            message = f"{what} failed: no image endpoint for this region in the catalog"
        except ksa_exc.ClientException as error:  # timeouts, re-authentication failures
            message = f"{what} failed: {type(error).__name__} {_short(str(error))}"
        raise RegionError(message, region=self.full_name, image=image)


def _short(text: str | None, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
