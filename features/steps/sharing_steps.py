"""Projects and image members, arranged and checked directly in Keystone and Glance."""

from __future__ import annotations

import re

from behave import given, then
from behave.runner import Context
from keystoneclient.v3 import client as keystone_client

from harness.images import records


def _keystone(context: Context, region: str) -> keystone_client.Client:
    return keystone_client.Client(session=context.cloud.session(context.cloud.admin_of(region)))


def _project_id(context: Context, region: str, name: str) -> str:
    """The project `name` of the Default domain in the Keystone of the region, made if need be
    (projects outlive the image resets of the local cloud)."""
    keystone = _keystone(context, region)
    found = keystone.projects.list(name=name, domain="default")
    return (found[0] if found else keystone.projects.create(name, "default")).id


def _image_id(context: Context, region: str, name: str) -> str:
    [image_id] = [r["id"] for r in records(context.cloud.glance(region)) if r["name"] == name]
    return image_id


@given("the Keystone of {region} has the project {name}")
def step_project(context: Context, region: str, name: str) -> None:
    _project_id(context, region, name)


@given("the image {image} in {region} is shared with {projects:List}")
def step_members(context: Context, image: str, region: str, projects: list[str]) -> None:
    image_id = _image_id(context, region, image)
    for name in projects:
        project_id = _project_id(context, region, name)
        context.cloud.glance(region).image_members.create(image_id, project_id)


@given("{project} accepted the image {image} in {region}")
def step_accepted(context: Context, project: str, image: str, region: str) -> None:
    image_id = _image_id(context, region, image)
    project_id = _project_id(context, region, project)
    context.cloud.glance(region, project).image_members.update(image_id, project_id, "accepted")


@then("the image {image} in {region} is shared with:")
def step_shared_with(context: Context, image: str, region: str) -> None:
    image_id = _image_id(context, region, image)
    names = {project.id: project.name for project in _keystone(context, region).projects.list()}
    members = context.cloud.glance(region).image_members.list(image_id)
    found = sorted((names.get(m["member_id"], m["member_id"]), m["status"]) for m in members)
    expected = sorted((row["project"], row["status"]) for row in context.table)
    assert found == expected, f"{region} {image}: members {found}\n{context.world.explain()}"


@then("the output is, with the project ids of {region}:")
def step_output_with_projects(context: Context, region: str) -> None:
    """Exactly these lines, `{project of NAME}` standing for the id of project NAME."""
    text = re.sub(
        r"\{project of ([^{}]+)\}", lambda m: _project_id(context, region, m[1]), context.text
    )
    expected = "".join(f"{line}\n" for line in text.splitlines())
    assert context.world.result.stdout == expected, context.world.explain()


@then("the last run added or removed no member")
def step_no_member_written(context: Context) -> None:
    writes = context.world.member_writes()
    assert not writes, "\n".join(writes)
