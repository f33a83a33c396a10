"""Then: the command's output and exit status, and the real state of Glance afterwards."""

from __future__ import annotations

from behave import then
from behave.runner import Context
from glancesync.files import file_name

from harness.images import records, reference_resolver


def _expect(context: Context, problems: list[str]) -> None:
    assert not problems, "\n".join(problems) + "\n" + context.world.explain()


@then("the exit status is {status:d}")
def step_exit_status(context: Context, status: int) -> None:
    actual = context.world.result.returncode
    _expect(context, [f"exit status {actual}, expected {status}"] if actual != status else [])


@then("the output is:")
def step_output_is(context: Context) -> None:
    """Exactly these lines, each ended by "\n"."""
    expected = "".join(f"{line}\n" for line in context.text.splitlines())
    actual = context.world.result.stdout
    _expect(context, [f"output differs, expected:\n{expected}"] if actual != expected else [])


@then("the output is, with {region}'s image ids:")
def step_output_with_ids(context: Context, region: str) -> None:
    """Exactly these lines; `{id of NAME}` is the UUID of image NAME in the region now."""
    resolve = reference_resolver(records(context.cloud.glance(region)), region)
    expected = "".join(f"{resolve(line)}\n" for line in context.text.splitlines())
    actual = context.world.result.stdout
    _expect(context, [f"output differs, expected:\n{expected}"] if actual != expected else [])


@then("the output is, in any order:")
def step_output_any_order(context: Context) -> None:
    expected = sorted(context.text.splitlines())
    actual = sorted(context.world.result.stdout.splitlines())
    _expect(context, [f"output differs, expected:\n{context.text}"] if actual != expected else [])


@then("the output is empty")
def step_output_empty(context: Context) -> None:
    _expect(context, ["the output is not empty"] if context.world.result.stdout else [])


@then('the errors mention "{text}"')
def step_errors_mention(context: Context, text: str) -> None:
    found = text in context.world.result.stderr
    _expect(context, [] if found else [f"standard error does not mention {text!r}"])


@then("no password appears in the output or the errors")
def step_no_password(context: Context) -> None:
    _expect(context, context.world.leaked_secrets())


@then("{regions:List} has exactly these images:")
@then("{regions:List} have exactly these images:")
def step_exact_images(context: Context, regions: list[str]) -> None:
    rows = [row.as_dict() for row in context.table]
    _expect(
        context, [p for region in regions for p in context.world.image_differences(region, rows)]
    )


@then("{regions:List} has no images")
@then("{regions:List} have no images")
def step_no_images(context: Context, regions: list[str]) -> None:
    _expect(
        context,
        [
            f"{region}: {record['name']} ({record['id']})"
            for region in regions
            for record in records(context.cloud.glance(region))
        ],
    )


@then("nothing was written to Glance")
def step_nothing_written(context: Context) -> None:
    _expect(context, context.world.changes(context.cloud.regions))


@then("nothing changed in {regions:List}")
def step_nothing_changed(context: Context, regions: list[str]) -> None:
    _expect(context, context.world.changes(regions))


@then("the image {names:List} in {regions:List} was not touched")
@then("the images {names:List} in {regions:List} were not touched")
def step_not_touched(context: Context, names: list[str], regions: list[str]) -> None:
    _expect(context, context.world.changes(regions, names))


@then("the image {names:List} in {regions:List} was updated in place")
@then("the images {names:List} in {regions:List} were updated in place")
def step_updated_in_place(context: Context, names: list[str], regions: list[str]) -> None:
    _expect(context, context.world.replacements(regions, names))


def _new_directory_holding(context: Context, parent: str, files: list[str]) -> None:
    new = context.world.new_directories(parent)
    if len(new) != 1:
        _expect(context, [f"{len(new)} new directories in {parent}: {new}"])
    names = sorted(path.name for path in new[0].iterdir())
    _expect(context, [] if names == sorted(files) else [f"{new[0]} holds {names}"])


@then("a new directory in {parent} holds the files {files:List}")
def step_new_directory(context: Context, parent: str, files: list[str]) -> None:
    _new_directory_holding(context, parent, files)


@then("a new run directory in {parent} holds one log per region: {regions:List}")
def step_run_directory(context: Context, parent: str, regions: list[str]) -> None:
    _new_directory_holding(context, parent, [f"{file_name(region)}.log" for region in regions])
