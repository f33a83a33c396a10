"""metadata_condition (§3): the safe expression language, checked at load, evaluated by us."""

from __future__ import annotations

import ast
import inspect
import logging
import pickle
from types import MappingProxyType

import pytest

from glancesync import condition as condition_module
from glancesync.condition import (
    MAX_DEPTH,
    MAX_LENGTH,
    Condition,
    ConditionError,
    compile_condition,
)
from glancesync.image import Image

UBUNTU = Image(
    id="i1",
    name="base_ubuntu",
    owner="p1",
    size=2048,
    checksum="c1",
    visibility="public",
    properties={"type": "baseimage", "nid": "42"},
    region="Madrid",
)
CENTOS = Image(
    id="i2",
    name="base_centos",
    owner="p1",
    size=500,
    checksum="c2",
    visibility="private",
    properties={"type": "baseimage"},
    region="Burgos",
)
CUSTOM = Image(
    id="i3",
    name="Custom",
    owner=None,
    size=None,
    checksum="c3",
    visibility="private",
    properties={"sla": "gold"},
    region="Burgos",
)
SAMPLE_IMAGES = (UBUNTU, CENTOS, CUSTOM)
METADATA_SET = frozenset({"nid", "sla"})


def selected(text: str) -> set[str]:
    """The names of the sample images for which the condition `text` holds."""
    condition = compile_condition(text)
    return {image.name for image in SAMPLE_IMAGES if condition.evaluate(image, METADATA_SET)}


# --- what the language allows, each construct with the sample images it selects ---------------

ANCESTOR_EXAMPLES = [
    pytest.param(
        "image.is_public and image.user_properties.get('type') == 'baseimage'",
        {"base_ubuntu"},
        id="public-baseimage-via-get",
    ),
    pytest.param(
        "'nid' in image.user_properties and image.user_properties['type'] == 'baseimage'",
        {"base_ubuntu"},
        id="nid-and-type-via-subscript",
    ),
    pytest.param(
        "image.name.startswith('base_') and not image.is_public",
        {"base_centos"},
        id="private-base-by-name",
    ),
    pytest.param(
        "metadata_set.intersection(image.user_properties)",
        {"base_ubuntu", "Custom"},
        id="shares-a-metadata_set-property",
    ),
    pytest.param(
        "image.region == 'Madrid' or image.size > 1000",
        {"base_ubuntu"},
        id="region-or-size",
    ),
]

CONSTRUCTS = [
    pytest.param("image.id == 'i3'", {"Custom"}, id="attribute-id"),
    pytest.param("image.name == 'Custom'", {"Custom"}, id="attribute-name-and-str-literal"),
    pytest.param("image.owner == 'p1'", {"base_ubuntu", "base_centos"}, id="attribute-owner"),
    pytest.param("image.size > 1000", {"base_ubuntu"}, id="attribute-size-and-int-literal"),
    pytest.param("image.region == 'Madrid'", {"base_ubuntu"}, id="attribute-region"),
    pytest.param("image.is_public", {"base_ubuntu"}, id="attribute-is_public"),
    pytest.param(
        "image.visibility != 'public'",
        {"base_centos", "Custom"},
        id="attribute-visibility-and-not-equal",
    ),
    pytest.param("image.checksum == 'c2'", {"base_centos"}, id="attribute-checksum"),
    pytest.param(
        "image.user_properties == {'sla': 'gold'}",
        {"Custom"},
        id="attribute-user_properties-and-dict-literal",
    ),
    pytest.param(
        "'sla' in metadata_set", {"base_ubuntu", "base_centos", "Custom"}, id="name-metadata_set"
    ),
    pytest.param("image.size >= 499.5", {"base_ubuntu", "base_centos"}, id="float-literal"),
    pytest.param("image.size > -1", {"base_ubuntu", "base_centos"}, id="negative-number"),
    pytest.param("image.is_public == True", {"base_ubuntu"}, id="bool-literal"),
    pytest.param("image.size is None", {"Custom"}, id="none-literal-and-is"),
    pytest.param("image.owner is not None", {"base_ubuntu", "base_centos"}, id="is-not"),
    pytest.param(
        "100 < image.size <= 2048", {"base_ubuntu", "base_centos"}, id="chained-comparison"
    ),
    pytest.param("image.size < 600", {"base_centos"}, id="less-than"),
    pytest.param(
        "image.region in ('Madrid', 'Sevilla')", {"base_ubuntu"}, id="tuple-literal-and-in"
    ),
    pytest.param("image.name in ['Custom']", {"Custom"}, id="list-literal"),
    pytest.param(
        "{'type'}.issubset(image.user_properties)",
        {"base_ubuntu", "base_centos"},
        id="set-literal-and-issubset",
    ),
    pytest.param("'ubu' in image.name", {"base_ubuntu"}, id="substring-in"),
    pytest.param("'type' not in image.user_properties", {"Custom"}, id="not-in"),
    pytest.param("image.id == 'i3' or image.checksum == 'c1'", {"base_ubuntu", "Custom"}, id="or"),
    pytest.param("not image.is_public", {"base_centos", "Custom"}, id="not"),
    pytest.param(
        "image.user_properties['type'] == 'baseimage'",
        {"base_ubuntu", "base_centos"},
        id="subscript-by-key",
    ),
    pytest.param("('Madrid', 'x')[0] == image.region", {"base_ubuntu"}, id="subscript-by-index"),
    pytest.param(
        "image.user_properties.get('sla', 'none') == 'none'",
        {"base_ubuntu", "base_centos"},
        id="get-with-default",
    ),
    pytest.param("image.name.endswith('tos')", {"base_centos"}, id="endswith"),
    pytest.param("image.name.lower() == 'custom'", {"Custom"}, id="lower"),
    pytest.param("image.region.upper() == 'MADRID'", {"base_ubuntu"}, id="upper"),
    pytest.param(
        "image.name.startswith(('base_u', 'Cus'))",
        {"base_ubuntu", "Custom"},
        id="startswith-a-tuple",
    ),
    pytest.param(
        "metadata_set.issubset({'nid', 'sla', 'other'})",
        {"base_ubuntu", "base_centos", "Custom"},
        id="issubset-on-metadata_set",
    ),
    pytest.param(
        "(image.is_public\n or image.size is None)",
        {"base_ubuntu", "Custom"},
        id="parenthesised-over-several-lines",
    ),
]


@pytest.mark.parametrize(("text", "names"), ANCESTOR_EXAMPLES)
def test_the_ancestors_documented_conditions_work(text: str, names: set[str]) -> None:
    assert selected(text) == names


@pytest.mark.parametrize(("text", "names"), CONSTRUCTS)
def test_each_allowed_construct_evaluates_like_python(text: str, names: set[str]) -> None:
    assert selected(text) == names


def test_the_result_is_coerced_to_bool() -> None:
    condition = compile_condition("image.user_properties.get('nid')")
    assert condition.evaluate(UBUNTU, METADATA_SET) is True
    assert condition.evaluate(CENTOS, METADATA_SET) is False


def test_and_or_short_circuit_so_a_guarded_lookup_does_not_fail() -> None:
    text = "'nope' not in image.user_properties or image.user_properties['nope'] == 'x'"
    assert compile_condition(text).evaluate(UBUNTU, METADATA_SET) is True


def test_user_properties_is_a_dict_whatever_mapping_the_image_holds() -> None:
    image = Image(id="i4", name="frozen", properties=MappingProxyType({"type": "baseimage"}))
    condition = compile_condition("image.user_properties.get('type') == 'baseimage'")
    assert condition.evaluate(image, METADATA_SET) is True


# --- a condition that fails on an image's data is false for that image ------------------------

FAILING_ON_DATA = [
    pytest.param("image.user_properties['nope'] == 'x'", UBUNTU, id="missing-key"),
    pytest.param("not image.user_properties['nope']", UBUNTU, id="missing-key-under-not"),
    pytest.param("image.size > 1000", CUSTOM, id="none-compared-with-int"),
    pytest.param("image.size.lower() == 'x'", UBUNTU, id="method-of-another-type"),
    pytest.param(
        "image.user_properties.get('nope').lower() == 'x'", UBUNTU, id="method-called-on-none"
    ),
    pytest.param("[1] in metadata_set", UBUNTU, id="unhashable-value"),
    pytest.param("image.name.lower(1) == 'x'", UBUNTU, id="wrong-number-of-arguments"),
    pytest.param("()[0] == 1", UBUNTU, id="index-out-of-range"),
]


@pytest.mark.parametrize(("text", "image"), FAILING_ON_DATA)
def test_an_evaluation_error_makes_the_whole_condition_false(text: str, image: Image) -> None:
    assert compile_condition(text).evaluate(image, METADATA_SET) is False


def test_an_evaluation_error_is_logged_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="glancesync.condition"):
        compile_condition("image.user_properties['nope']").evaluate(UBUNTU, METADATA_SET)
    assert "is false for image base_ubuntu: KeyError 'nope'" in caplog.text


# --- what is rejected when the configuration is loaded, and the message that says why ---------

REJECTED = [
    pytest.param("__import__('os')", "calls of '__import__' are not allowed", id="import"),
    pytest.param("().__class__", "attribute '__class__' is not allowed", id="dunder-of-literal"),
    pytest.param(
        "().__class__.__bases__[0].__subclasses__()",
        "calls of '__subclasses__' are not allowed",
        id="subclasses-escape",
    ),
    pytest.param("image.__dict__", "attribute '__dict__' is not allowed", id="dunder-of-image"),
    pytest.param(
        "image.name.__class__", "attribute '__class__' is not allowed", id="dunder-of-attribute"
    ),
    pytest.param(
        "image.properties",
        "attribute 'properties' is not allowed; image has",
        id="image-attribute-not-whitelisted",
    ),
    pytest.param("image.name.lower", "attribute 'lower' is not allowed", id="method-not-called"),
    pytest.param("image", "'image' is only allowed as image.<attribute>", id="bare-image"),
    pytest.param(
        "image.get('id')", "'image' is only allowed as image.<attribute>", id="method-of-image"
    ),
    pytest.param("lambda: 1", "lambda expressions are not allowed", id="lambda"),
    pytest.param("open('/etc/passwd')", "calls of 'open' are not allowed", id="open"),
    pytest.param("len(image.name)", "calls of 'len' are not allowed", id="builtin-call"),
    pytest.param("getattr(image, 'id')", "calls of 'getattr' are not allowed", id="getattr"),
    pytest.param("image.name.format(1)", "calls of 'format' are not allowed", id="unsafe-method"),
    pytest.param("get('type')", "calls of 'get' are not allowed", id="safe-method-as-function"),
    pytest.param("os.system('id')", "calls of 'system' are not allowed", id="module-function"),
    pytest.param(
        "(lambda: 1)()", "calls of 'lambda: 1' are not allowed", id="call-of-an-expression"
    ),
    pytest.param("image.user_properties.get(key='type')", "keyword arguments", id="keyword-arg"),
    pytest.param(
        "image.name.startswith(*metadata_set)",
        "starred expressions are not allowed",
        id="starred-argument",
    ),
    pytest.param(
        "[x for x in metadata_set]", "comprehensions are not allowed", id="list-comprehension"
    ),
    pytest.param(
        "{k: 1 for k in metadata_set}", "comprehensions are not allowed", id="dict-comprehension"
    ),
    pytest.param(
        "(x for x in metadata_set)",
        "generator expressions are not allowed",
        id="generator-expression",
    ),
    pytest.param("(x := 1)", "assignment expressions (:=) are not allowed", id="walrus"),
    pytest.param("f'{image.name}' == 'x'", "f-strings are not allowed", id="f-string"),
    pytest.param("image.size + 1 > 2", "arithmetic operators are not allowed", id="addition"),
    pytest.param("'a' * 10 ** 9", "arithmetic operators are not allowed", id="repetition"),
    pytest.param(
        "-image.size < 0", "arithmetic operators are not allowed", id="negation-of-non-literal"
    ),
    pytest.param("image.name[0:5] == 'base_'", "slices are not allowed", id="slice"),
    pytest.param(
        "image.name if image.is_public else ''",
        "conditional expressions",
        id="conditional-expression",
    ),
    pytest.param(
        "{**image.user_properties}", "dict unpacking (**) is not allowed", id="dict-unpacking"
    ),
    pytest.param(
        "b'x' in metadata_set", "literals of type bytes are not allowed", id="bytes-literal"
    ),
    pytest.param("...", "literals of type ellipsis are not allowed", id="ellipsis"),
    pytest.param("x == 1", "name 'x' is not allowed", id="unknown-name"),
    pytest.param("__builtins__", "name '__builtins__' is not allowed", id="builtins-name"),
    pytest.param("image.name ==", "invalid syntax at column 14", id="syntax-error"),
    pytest.param(
        "image.user_properties['type'] = 'base'",
        "invalid syntax at column 31: '=' does not compare; use == to compare",
        id="single-equals",
    ),
    pytest.param(
        "type = 'base'",
        "invalid syntax at column 6: '=' does not compare; use == to compare",
        id="single-equals-after-a-bare-name",
    ),
    pytest.param(
        "image.is_public and\n image.name = 'x'",
        "invalid syntax at line 2, column 13: '=' does not compare",
        id="single-equals-on-a-second-line",
    ),
    pytest.param(
        "image.user_properties.get('type') == base",
        "name 'base' is not allowed; the condition sees only 'image' and 'metadata_set'. "
        "For a text, quote it: 'base'; for a property, image.user_properties['base']",
        id="unquoted-text",
    ),
    pytest.param("import os", "invalid syntax at column 1", id="statement"),
    pytest.param(
        "image.is_public; import os", "invalid syntax at column 16", id="second-statement"
    ),
    pytest.param(
        "(image.is_public\n or)",
        "invalid syntax at line 2, column 4",
        id="syntax-error-on-second-line",
    ),
    pytest.param(
        "image.is_public\nor image.size > 1",
        "invalid syntax at line 2",
        id="unparenthesised-continuation-line",
    ),
    pytest.param(
        "image.name == 'x\x00'",
        "invalid syntax: source code string cannot contain null",
        id="null-byte",
    ),
    pytest.param("", "the condition is empty", id="empty"),
    pytest.param("  \n ", "the condition is empty", id="blank"),
    pytest.param(
        " or ".join(["image.is_public"] * 200),
        f"longer than {MAX_LENGTH} characters",
        id="too-long",
    ),
    pytest.param(
        "not " * MAX_DEPTH + "image.is_public",
        f"nested more than {MAX_DEPTH} levels deep",
        id="nested-too-deeply",
    ),
    pytest.param(
        "(" * 300 + "1" + ")" * 300, "too many nested parentheses", id="too-many-parentheses"
    ),
]


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_a_construct_outside_the_language_is_rejected_at_load(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as raised:
        compile_condition(text)
    assert message in str(raised.value)


def test_nesting_up_to_the_limit_is_allowed() -> None:
    text = "not " * (MAX_DEPTH - 1) + "image.is_public"
    assert compile_condition(text).text == text


def test_a_condition_error_is_a_value_error() -> None:
    assert issubclass(ConditionError, ValueError)


def test_a_condition_cannot_be_built_from_invalid_text() -> None:
    with pytest.raises(ConditionError):
        Condition("__import__('os')")


# --- the compiled condition as a value ---------------------------------------------------------


def test_a_compiled_condition_keeps_its_text_and_compares_by_it() -> None:
    text = "image.is_public"
    assert compile_condition(text).text == text
    assert compile_condition(text) == compile_condition(text)
    assert hash(compile_condition(text)) == hash(compile_condition(text))


def test_a_compiled_condition_survives_pickling_for_parallel_runs() -> None:
    condition = pickle.loads(pickle.dumps(compile_condition("image.name.startswith('base_')")))
    assert condition.evaluate(CENTOS, METADATA_SET) is True


def test_the_evaluator_refuses_a_tree_that_skipped_the_check() -> None:
    condition = compile_condition("image.is_public")
    object.__setattr__(condition, "_tree", ast.parse("image.__dict__", mode="eval"))
    with pytest.raises(ConditionError):
        condition.evaluate(UBUNTU, METADATA_SET)


def test_the_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(inspect.getsource(condition_module))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__"}
