"""The trust edge's rules on data (glancesync.edge, glancesync.glance.page_problem): records,
catalogs, listing pages, JSON depth, and server text made fit to print."""

from __future__ import annotations

import pytest

from glancesync.edge import (
    MAX_DEPTH,
    MAX_MEMBERS,
    MAX_VALUES,
    catalog_problem,
    failed_task_message,
    identity_record,
    import_methods_problem,
    json_depth,
    json_problem,
    mask_userinfo,
    members_problem,
    origin,
    record_problem,
    server_text,
)
from glancesync.glance import MAX_IMAGES, MAX_PAGES, page_problem

GOOD = {"id": "i1", "name": "base", "size": 12, "min_ram": 0, "protected": False, "tags": ["a"],
        "visibility": "public", "kernel_id": None, "os_distro": "debian"}  # fmt: skip


def test_a_well_formed_record_has_no_problem():
    assert record_problem(GOOD) is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": None}, "an image record has null as its id"),
        ({"id": ""}, "an image record has a string ('') as its id"),
        ({"name": ["a"]}, "image i1: name is a list, not a string of at most 255 characters"),
        ({"name": "n" * 256}, "image i1: name is a string, not a string of at most 255"),
        ({"size": "12"}, "image i1: size is a string ('12'), not an integer from 0 to"),
        ({"size": True}, "image i1: size is a boolean (True), not an integer"),
        ({"size": 2**63}, "image i1: size is a number (9223372036854775808), not an integer"),
        ({"size": 10**4000}, "image i1: size is a number of more than 64 bits, not an integer"),
        ({"min_disk": -1}, "image i1: min_disk is a number (-1), not an integer from 0"),
        ({"visibility": "everyone"}, "image i1: visibility is a string ('everyone'), not one of"),
        ({"protected": 1}, "image i1: protected is a number (1), not true or false"),
        ({"tags": [1]}, "image i1: tags are not a list of strings"),
        ({"os_distro": {"a": 1}}, "image i1: property 'os_distro' is an object, not a string"),
        ({"\x1b[2J": 5}, "image i1: property '\\x1b[2J' is a number (5), not a string"),
    ],
)
def test_a_malformed_record_is_described(change, problem):
    assert record_problem({**GOOD, **change}).startswith(problem)


def test_a_record_that_is_not_an_object_is_described():
    assert record_problem(["i1"]) == "an image record is a list, not an object"


def test_a_well_formed_catalog_has_no_problem():
    endpoint = {"url": "http://g", "interface": "public", "region": "R", "region_id": "R"}
    regionless = {"url": "http://k", "interface": "public", "region": None, "region_id": None}
    catalog = [{"type": "image", "endpoints": [endpoint]}, {"type": "x", "endpoints": [regionless]}]
    assert catalog_problem(catalog) is None


@pytest.mark.parametrize(
    "catalog",
    [
        {"image": []},
        ["image"],
        [{"type": "image", "endpoints": {}}],
        [{"type": "image", "endpoints": [{"url": 5, "interface": "public"}]}],
        [{"type": "image", "endpoints": [{"url": "u", "interface": "public", "region": ["R"]}]}],
    ],
    ids=["object", "strings", "endpoints-object", "url-number", "region-list"],
)
def test_a_malformed_catalog_is_refused(catalog):
    assert catalog_problem(catalog) is not None


def page(count: int) -> list[dict]:
    return [{"id": f"i{n}"} for n in range(count)]


@pytest.mark.parametrize(
    ("records", "next_url", "followed", "problem"),
    [
        (page(2), None, {"/v2/images?limit=2"}, None),
        (page(2), "/v2/images?limit=2&marker=i1", {"/v2/images?limit=2"}, None),
        ({"i1": {}}, None, set(), "no image list in the answer"),
        (page(3), None, set(), "a page of 3 images, more than the 2 asked for"),
        (page(2), "/v2/images?limit=2", {"/v2/images?limit=2"}, "the next link repeats"),
        ([], "/v2/images?marker=x", {"/v2/images?limit=2"}, "a page without images has a next"),
        (page(1), "http://elsewhere:1/v2/images?marker=i0", set(), "the next link 'http://"),
        (page(1), "/v2/../../v3/auth/tokens", set(), "the next link '/v2/../../v3/auth/tokens'"),
        (page(1), ["/v2/images?x"], set(), "the next link ['/v2/images?x'] is not a /v2/images"),
    ],
    ids=[
        "last",
        "next",
        "not-a-list",
        "too-many",
        "repeat",
        "empty",
        "elsewhere",
        "path",
        "not-a-string",
    ],  # fmt: skip
)
def test_listing_pages_are_bounded(records, next_url, followed, problem):
    found = page_problem(records, next_url, followed, 2, 0)
    assert found == problem if problem is None else found.startswith(problem)


def test_a_listing_has_at_most_max_pages_and_max_images():
    followed = {f"/v2/images?marker={n}" for n in range(MAX_PAGES)}
    assert page_problem(page(1), "/v2/images?marker=new", followed, 1000, 0) == (
        f"more than {MAX_PAGES} pages"
    )
    assert page_problem(page(2), None, set(), 1000, MAX_IMAGES - 1) == (
        f"more than {MAX_IMAGES} images"
    )


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'{"images": [{"tags": [], "a": 1}]}', 4),
        (b' \n[[["a"]]]', 3),
        (b'{"name": "[[[[{{{{", "x": "\\"[[[", "y": "]]]]]]"}', 1),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
    ],
    ids=["record", "array", "brackets-in-strings", "too-deep"],
)
def test_json_depth_leaves_strings_out(body, depth):
    assert json_depth(body) == depth


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"images": [{"tags": [], "a": 1}]}', None),
        (b"<html>[[[[[[ a, b, c</html>", None),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "the answer is JSON nested deeper"),
        (b"[" + b"[]," * MAX_VALUES + b"[]]", f"the answer holds more than {MAX_VALUES} JSON"),
        (b'["' + b'","' * MAX_VALUES + b'"]', f"the answer holds more than {MAX_VALUES} JSON"),
    ],
    ids=["page", "not-json", "deep", "many-arrays", "many-strings"],
)
def test_json_is_refused_before_parsing_when_deep_or_swarming(body, problem):
    found = json_problem(body)
    assert found == problem if problem is None else found.startswith(problem)


def test_userinfo_is_masked_wherever_it_occurs():
    text = "to http://u:pw@h:5000/v3 and HTTPS://pw@h/x, not mail@example.org"
    assert (
        mask_userinfo(text) == "to http://***@h:5000/v3 and HTTPS://***@h/x, not mail@example.org"
    )


def test_server_text_is_redacted_masked_and_escaped():
    text = "token tok-1 for http://u:pw@h/v3 refused\x1b[2J"
    assert server_text(text, ["tok-1", ""]) == "token *** for http://***@h/v3 refused\\x1b[2J"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@Host:80/v3", "http://host:80"),
        ("https://h/v3", "https://h:443"),
        ("http://h:99999/", "an invalid address (http://h:99999/)"),
        ("http://h\x1b/", "http://h\\x1b:80"),
    ],
)
def test_an_origin_is_scheme_host_and_port_without_userinfo(url, shown):
    assert origin(url) == shown


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"import-methods": {"value": ["glance-direct", "glance-download"]}}, None),
        ({"import-methods": {"value": []}}, None),
        ({}, "import-methods is not a list"),
        ({"import-methods": ["glance-download"]}, "import-methods is not a list"),
        ({"import-methods": {"value": "glance-download"}}, "import-methods is not a list"),
        ({"import-methods": {"value": ["m"] * 65}}, "import-methods is not a list"),
        ({"import-methods": {"value": [7]}}, "an import method is not a string"),
        ({"import-methods": {"value": ["m" * 256]}}, "an import method is not a string"),
        ([], "import-methods is not a list"),
    ],
)
def test_import_methods_are_a_short_list_of_short_names(body, problem):
    found = import_methods_problem(body)
    assert found == problem if problem is None else found.startswith(problem)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tasks": []}, None),
        ({"tasks": [{"status": "processing"}]}, None),
        ({"tasks": [{"status": "success"}, {"status": "failure", "message": "gone"}]}, "gone"),
        ({"tasks": [{"status": "failure"}]}, ""),
        ({"tasks": [{"status": "failure", "message": "x" * 1000}]}, "x" * 255),
    ],
)
def test_the_failed_import_task_gives_its_message(body, message):
    assert failed_task_message(body) == message


@pytest.mark.parametrize("body", [{}, {"tasks": {}}, {"tasks": ["failure"]}, []])
def test_an_answer_that_is_not_a_list_of_tasks_is_refused(body):
    with pytest.raises(ValueError):
        failed_task_message(body)


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ([{"member_id": "p1", "status": "accepted"}], None),
        ([], None),
        ({"member_id": "p1"}, "members is not a list"),
        ([{"member_id": "", "status": "pending"}], "a member without a valid member_id"),
        ([{"member_id": "p" * 256, "status": "pending"}], "a member without a valid member_id"),
        ([{"member_id": "p1", "status": "owner"}], "a member without a valid status"),
        ([{"member_id": "p1", "status": "pending"}] * (MAX_MEMBERS + 1), "members is not a list"),
    ],
)
def test_a_members_list_is_checked(members, problem):
    found = members_problem(members)
    assert found == problem if problem is None else found.startswith(problem)


@pytest.mark.parametrize(
    ("record", "kept"),
    [
        (
            {"id": "p1", "name": "tenant2", "domain_id": "default", "x": 1},
            {"id": "p1", "name": "tenant2", "domain_id": "default"},
        ),
        ({"id": "d1", "name": "Default"}, {"id": "d1", "name": "Default"}),
        ({"id": "p1", "name": "tenant2", "domain_id": 7}, {"id": "p1", "name": "tenant2"}),
        ({"id": "p1"}, None),
        ({"id": ["p1"], "name": "x"}, None),
        ("p1", None),
    ],
)
def test_a_keystone_record_keeps_only_its_valid_id_name_and_domain(record, kept):
    assert identity_record(record) == kept
