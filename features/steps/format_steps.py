"""Given: the test images of tests/formatimages.py in the master, planted as they are in
federations (the unsafe ones with container_format ovf, which Glance does not inspect)."""

from __future__ import annotations

import io

from behave import given
from behave.runner import Context
from formatimages import bad_images, good_images


@given("{region} has the test image {names:List}")
@given("{region} has the test images {names:List}")
def step_test_images(context: Context, region: str, names: list[str]) -> None:
    known = {case.name: case for case in (*good_images(), *bad_images())}
    glance = context.cloud.glance(region)
    for name in names:
        case = known[name]
        image = glance.images.create(
            name=name,
            visibility="public",
            disk_format=case.disk_format,
            container_format=case.container_format,
        )
        glance.images.upload(image.id, io.BytesIO(case.data), image_size=len(case.data))
