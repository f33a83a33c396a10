"""The safe expression language of `metadata_condition` (§3).

A condition is parsed once, when the configuration is loaded, with `ast.parse(mode="eval")`;
every node is checked against a whitelist, and the tree is then evaluated by the small
tree-walking evaluator below. Configuration text never reaches `eval`, `exec` or `compile`.

The language:

- literals: str, int, float (negative numbers included), bool, None, and tuples, lists, sets
  and dicts of allowed expressions;
- the name `metadata_set` (a frozenset) and `image.<attribute>` for the attributes in
  `IMAGE_ATTRIBUTES` (`image.user_properties` is a dict of the user properties);
- subscripts (`image.user_properties['type']`, no slices), comparisons (`== != < <= > >=`,
  `in`, `not in`, `is`, `is not`, chained), `and`, `or`, `not`;
- calls of the methods in `SAFE_METHODS`, as `value.method(arg, ...)` on a value of the
  right type, with positional arguments only.

Everything else is rejected with a `ConditionError` naming the construct: other names and
attributes (dunders included), calls of functions, keyword arguments, lambdas,
comprehensions, f-strings, `:=`, `x if c else y`, starred expressions, slices, and
arithmetic (decision: a condition selects images, it does not compute; `image.size > 1000`
needs no `+ - * /`, and leaving arithmetic out rules out `'x' * 10**9` and the like).
"""

from __future__ import annotations

import ast
import io
import logging
import operator
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from glancesync.image import Image

LOG = logging.getLogger(__name__)

MAX_LENGTH = 2000
MAX_DEPTH = 32

IMAGE_ATTRIBUTES = frozenset(
    {
        "id",
        "name",
        "owner",
        "size",
        "region",
        "is_public",
        "visibility",
        "checksum",
        "user_properties",
    }
)

# The methods a condition may call, by the exact type of the value they are called on.
_METHODS_BY_TYPE: dict[type, frozenset[str]] = {
    str: frozenset({"startswith", "endswith", "lower", "upper"}),
    dict: frozenset({"get"}),
    set: frozenset({"intersection", "issubset"}),
    frozenset: frozenset({"intersection", "issubset"}),
}
SAFE_METHODS = frozenset().union(*_METHODS_BY_TYPE.values())

_LITERAL_TYPES = (str, int, float, bool, type(None))

_COMPARISONS: dict[type, Callable[[object, object], object]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda item, container: item in container,
    ast.NotIn: lambda item, container: item not in container,
}

# How the rejected constructs are named in error messages (plural, before "are not allowed").
_FORBIDDEN_NAMES: dict[type, str] = {
    ast.Lambda: "lambda expressions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.JoinedStr: "f-strings",
    ast.IfExp: "conditional expressions (x if c else y)",
    ast.Starred: "starred expressions",
    ast.Slice: "slices",
    ast.BinOp: "arithmetic operators",
    ast.UnaryOp: "arithmetic operators",
    ast.Await: "await expressions",
    ast.Yield: "yield expressions",
    ast.YieldFrom: "yield expressions",
}


class ConditionError(ValueError):
    """A metadata_condition that is not valid; the message names the construct not allowed
    (e.g. "calls of '__import__' are not allowed", "lambda expressions are not allowed",
    "attribute '__class__' is not allowed") or the syntax error with its column."""


@dataclass(frozen=True)
class Condition:
    """A validated metadata_condition; `Condition(text)` raises ConditionError if it is not.

    `evaluate` never raises for the data it meets: when the condition fails on an image (a
    missing key as in `image.user_properties['type']`, `None < 1`, a method called on a value
    of the wrong type such as `image.size.lower()`), the condition is false for that image —
    it is not synchronised — and the reason is logged at debug level.
    """

    text: str
    _tree: ast.Expression = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", _parse(self.text))

    def evaluate(self, image: Image, metadata_set: frozenset[str]) -> bool:
        """The value of the condition for `image`, as a bool (False when evaluation fails)."""
        try:
            return bool(_value(self._tree.body, image, metadata_set))
        except (LookupError, TypeError) as error:
            LOG.debug(
                "metadata_condition %r is false for image %s: %s %s",
                self.text,
                image.name,
                type(error).__name__,
                error,
            )
            return False


def compile_condition(text: str) -> Condition:
    """Parse and validate `text`; raises ConditionError naming what is wrong."""
    return Condition(text)


def _parse(text: str) -> ast.Expression:
    """The whitelisted syntax tree of `text`."""
    source = text.strip()
    if not source:
        raise ConditionError("the condition is empty")
    if len(source) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source + "\n", mode="eval")  # the newline: real columns at the end
    except SyntaxError as error:
        raise ConditionError(_assignment_message(source) or _syntax_message(error)) from None
    _check(tree.body, depth=1)
    return tree


def _assignment_message(source: str) -> str | None:
    """For a condition that does not parse and holds a single '=' (as in `type = 'base'`): that
    it is no comparison. None if there is no single '='."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.OP and token.string == "=":
                line, column = token.start
                where = f"column {column + 1}" if line == 1 else f"line {line}, column {column + 1}"
                return f"invalid syntax at {where}: '=' does not compare; use == to compare"
    except (tokenize.TokenError, SyntaxError):  # unbalanced brackets, a bad character...
        return None
    return None


def _syntax_message(error: SyntaxError) -> str:
    if error.offset is None:
        return f"invalid syntax: {error.msg}"
    where = f"column {error.offset}"
    if error.lineno and error.lineno > 1:
        where = f"line {error.lineno}, {where}"
    return f"invalid syntax at {where}: {error.msg}"


def _check(node: ast.AST, depth: int) -> None:
    """Raise ConditionError unless `node` and everything below it is in the language."""
    if depth > MAX_DEPTH:
        raise ConditionError(f"the condition is nested more than {MAX_DEPTH} levels deep")
    for child in _checked_children(node):
        _check(child, depth + 1)


def _checked_children(node: ast.AST) -> list[ast.expr]:
    """Check `node` itself; return the subexpressions that remain to be checked."""
    match node:
        case ast.Constant(value=value):
            if not isinstance(value, _LITERAL_TYPES):
                raise ConditionError(f"literals of type {type(value).__name__} are not allowed")
            return []
        case ast.Name(id="metadata_set"):
            return []
        case ast.Name(id="image"):
            raise ConditionError(
                f"'image' is only allowed as image.<attribute>, one of {_listed(IMAGE_ATTRIBUTES)}"
            )
        case ast.Name(id=name):
            raise ConditionError(
                f"name '{name}' is not allowed; the condition sees only 'image' and "
                f"'metadata_set'. For a text, quote it: '{name}'; for a property, "
                f"image.user_properties['{name}']"
            )
        case ast.Attribute(value=ast.Name(id="image"), attr=attr):
            if attr not in IMAGE_ATTRIBUTES:
                raise ConditionError(
                    f"attribute '{attr}' is not allowed; image has {_listed(IMAGE_ATTRIBUTES)}"
                )
            return []
        case ast.Attribute(attr=attr):
            raise ConditionError(f"attribute '{attr}' is not allowed")
        case ast.Call(func=ast.Attribute(value=receiver, attr=method), args=args, keywords=kws) if (
            method in SAFE_METHODS
        ):
            if kws:
                raise ConditionError(
                    f"keyword arguments (in the call of '{method}') are not allowed"
                )
            return [receiver, *args]
        case ast.Call(func=func):
            raise ConditionError(
                f"calls of '{_callee(func)}' are not allowed; only the methods "
                f"{_listed(SAFE_METHODS)} may be called, as value.method(...)"
            )
        case ast.BoolOp(values=values):
            return values
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return [operand]
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() | float()) as number):
            return [number]
        case ast.Compare(left=left, comparators=comparators):
            return [left, *comparators]
        case ast.Subscript(value=value, slice=key):
            return [value, key]
        case ast.Tuple(elts=elements) | ast.List(elts=elements) | ast.Set(elts=elements):
            return elements
        case ast.Dict(keys=keys, values=values):
            if None in keys:
                raise ConditionError("dict unpacking (**) is not allowed")
            return [*keys, *values]
    construct = _FORBIDDEN_NAMES.get(type(node), f"{type(node).__name__} expressions")
    raise ConditionError(f"{construct} are not allowed")


def _callee(func: ast.expr) -> str:
    """How the called thing is named in an error message."""
    match func:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name
    return ast.unparse(func)


def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def _value(node: ast.expr, image: Image, metadata_set: frozenset[str]) -> object:
    """Evaluate a checked node; LookupError or TypeError when the image's data does not fit."""

    def value_of(child: ast.expr) -> object:
        return _value(child, image, metadata_set)

    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id="metadata_set"):
            return metadata_set
        case ast.Attribute(value=ast.Name(id="image"), attr=attr) if attr in IMAGE_ATTRIBUTES:
            return _image_attribute(image, attr)
        case ast.Call(func=ast.Attribute(value=receiver, attr=method), args=args, keywords=[]):
            return _call_method(value_of(receiver), method, [value_of(arg) for arg in args])
        case ast.BoolOp(op=ast.And(), values=values):
            result = True
            for operand in values:
                result = value_of(operand)
                if not result:
                    break
            return result
        case ast.BoolOp(op=ast.Or(), values=values):
            result = False
            for operand in values:
                result = value_of(operand)
                if result:
                    break
            return result
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not value_of(operand)
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() | float() as number)):
            return -number
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            return _compare(value_of(left), ops, comparators, value_of)
        case ast.Subscript(value=value, slice=key):
            return value_of(value)[value_of(key)]
        case ast.Tuple(elts=elements):
            return tuple(value_of(element) for element in elements)
        case ast.List(elts=elements):
            return [value_of(element) for element in elements]
        case ast.Set(elts=elements):
            return {value_of(element) for element in elements}
        case ast.Dict(keys=keys, values=values) if None not in keys:
            return {value_of(key): value_of(value) for key, value in zip(keys, values)}
    raise ConditionError(f"{ast.unparse(node)!r} is not allowed in a condition")


def _image_attribute(image: Image, attr: str) -> object:
    if attr == "user_properties":
        return dict(image.properties)
    return getattr(image, attr)


def _call_method(receiver: object, method: str, args: list[object]) -> object:
    """`receiver.method(*args)` if `method` is safe for the exact type of `receiver`."""
    if method not in _METHODS_BY_TYPE.get(type(receiver), frozenset()):
        raise TypeError(f"'{type(receiver).__name__}' value has no method '{method}' here")
    return getattr(receiver, method)(*args)


def _compare(
    left: object,
    ops: list[ast.cmpop],
    comparators: list[ast.expr],
    value_of: Callable[[ast.expr], object],
) -> bool:
    """A (possibly chained) comparison, evaluated lazily from left to right like Python's."""
    for op, comparator in zip(ops, comparators):
        right = value_of(comparator)
        if not _COMPARISONS[type(op)](left, right):
            return False
        left = right
    return True
