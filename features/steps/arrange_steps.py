"""Given: images created directly in Glance, and the scenario's settings."""

from __future__ import annotations

from behave import given, when
from behave.runner import Context

from harness.images import ImageSpec


@given("{regions:List} has these images:")
@given("{regions:List} have these images:")
def step_images(context: Context, regions: list[str]) -> None:
    specs = [ImageSpec.from_row(row.as_dict()) for row in context.table]
    for region in regions:
        context.world.arrange(region, specs)


@given("{regions:List} has copies of the master images")
@given("{regions:List} have copies of the master images")
def step_copies_of_all(context: Context, regions: list[str]) -> None:
    context.world.copy(context.world.master_names(), regions)


@given("{regions:List} has copies of the master images {names:List}")
@given("{regions:List} have copies of the master images {names:List}")
@given("{regions:List} has a copy of the master image {names:List}")
def step_copies_of(context: Context, regions: list[str], names: list[str]) -> None:
    context.world.copy(names, regions)


@given('the setting "{assignment}"')
def step_setting(context: Context, assignment: str) -> None:
    context.world.add_setting(assignment)


@given("the settings:")
def step_settings(context: Context) -> None:
    for row in context.table:
        context.world.add_setting(f"{row['key']}={row['value']}")


@given("the configuration file has in section [{section}]:")
def step_file_settings(context: Context, section: str) -> None:
    for row in context.table:
        context.world.set_in_file(section, row["key"], row["value"])


@given("the image {name} in {region} was deactivated")
@when("the image {name} in {region} is deactivated")
def step_deactivate(context: Context, name: str, region: str) -> None:
    context.world.change_activation(region, name, "deactivate")


@when("the image {name} in {region} is reactivated")
def step_reactivate(context: Context, name: str, region: str) -> None:
    context.world.change_activation(region, name, "reactivate")
