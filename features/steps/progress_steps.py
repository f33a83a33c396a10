"""Then: what a terminal showed of a run's progress (tqdm's bars, as `script` recorded them)."""

from __future__ import annotations

import re

from behave import then
from behave.runner import Context

# tqdm's bar: "<label>:  45%|████▌     | <done>/<total> [<elapsed><<left>, <rate>]"
BAR = r"{label}: +\d+%\|[^|\r\n]*\| {count} \[\d\d:\d\d<[?\d:]+, +[^\]]*{rate}\]"
BYTES = r"[\d.]+[kMGT]?/[\d.]+[kMGT]?"
DRAWN = re.compile(r"\d+%\||\r(?!\n)")  # a bar, or a carriage return that redraws a line


def _shown(context: Context) -> str:
    return context.world.result.stdout


def _assert_shown(context: Context, pattern: str, what: str) -> None:
    shown = _shown(context)
    assert re.search(pattern, shown), f"the terminal did not show {what}:\n{shown}"


@then("the terminal showed a progress bar for the upload of {image} to {region}")
def step_upload_bar(context: Context, image: str, region: str) -> None:
    label = re.escape(f"{region}: {image}")
    pattern = BAR.format(label=label, count=BYTES, rate=r"B/s")
    _assert_shown(context, pattern, f"a bar of bytes, rate and time left for {image}")


@then("the terminal showed the line of {label} counting {count:d} {unit}")
def step_counter_line(context: Context, label: str, count: int, unit: str) -> None:
    # tqdm shows the rate as units per second, or seconds per unit when slower than 1/s
    rate = f"(?:{unit}/s|s/{unit})"
    pattern = BAR.format(label=re.escape(label), count=f"{count}/{count}", rate=rate)
    _assert_shown(context, pattern, f"the line of {label} with {count}/{count} {unit}")


@then('the terminal showed "{text}" once')
def step_terminal_text_once(context: Context, text: str) -> None:
    shown = _shown(context)
    count = shown.count(text)
    assert count == 1, f"the terminal showed {text!r} {count} times:\n{shown}"


@then('the terminal showed "{text}"')
def step_terminal_text(context: Context, text: str) -> None:
    shown = _shown(context)
    assert text in shown, f"the terminal did not show {text!r}:\n{shown}"


@then("nothing was drawn")
def step_nothing_drawn(context: Context) -> None:
    result = context.world.result
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert not DRAWN.search(text), f"{name} has a progress bar:\n{text}"
