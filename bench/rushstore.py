"""Condition and update expressions on moto's items, fast, for the rush model (bench/rush.py).

moto parses an expression and validates its syntax tree anew at every call (its validators walk
the tree a dozen times and deep-copy it), which costs a rush model more than everything else
together. The expressions a sale writes are few and simple, so they are parsed here once and
applied to moto's own items with moto's own value types. Only a small grammar is understood:

- conditions: ``attribute_exists(p)``, ``attribute_not_exists(p)``, ``p OP :v`` with OP one of
  ``= < <= > >=`` (either side a path or a value), ``p IN (:a, :b)``, ``AND``, ``OR``, ``NOT``
  and parentheses;
- updates: ``ADD p :v, ...`` (numbers and sets) and ``SET p = :v, ...`` in any order.

Paths are names or ``#placeholders`` joined by dots (maps, no list indexes). Anything else is
``Unsupported`` and the caller lets moto do it; tests/integration/test_rush_model.py checks
that both answer the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any


class Unsupported(Exception):
    """Not in the grammar understood here: moto does it."""


_TOKEN = re.compile(
    r"\s*(?:(?P<op><=|>=|<>|=|<|>)|(?P<paren>[(),])|(?P<value>:[A-Za-z0-9_]+)"
    r"|(?P<word>[#A-Za-z_][#A-Za-z0-9_.\-]*))"
)
_KEYWORDS = {"AND", "OR", "NOT", "IN"}
_FUNCTIONS = {"attribute_exists", "attribute_not_exists"}


@lru_cache(maxsize=1)
def _reserved() -> frozenset[str]:
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    return frozenset(ReservedKeywords.get_reserved_keywords())


def _path(text: str) -> _Path:
    """A document path; a reserved word as a name is DynamoDB's error, which moto raises."""
    parts = tuple(text.split("."))
    if any(not part.startswith("#") and part.upper() in _reserved() for part in parts):
        raise Unsupported(f"a reserved word in {text}")
    return _Path(parts)


def _tokens(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise Unsupported(expression)
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "word" and text.upper() in _KEYWORDS:
            kind, text = "keyword", text.upper()
        found.append((kind, text))
        position = match.end()
    return found


# ---------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class _Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class _Value:
    name: str


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            raise Unsupported(f"expected {text or kind}")
        self.at += 1
        return token[1]

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise Unsupported("trailing tokens")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.peek() == ("keyword", "OR"):
            self.at += 1
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.peek() == ("keyword", "AND"):
            self.at += 1
            node = ("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.peek() == ("keyword", "NOT"):
            self.at += 1
            return ("not", self.negation())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token == ("paren", "("):
            self.at += 1
            node = self.disjunction()
            self.take("paren", ")")
            return node
        if token is not None and token[0] == "word" and token[1] in _FUNCTIONS:
            self.at += 1
            self.take("paren", "(")
            path = self.operand()
            self.take("paren", ")")
            if not isinstance(path, _Path):
                raise Unsupported("a function of a value")
            return ("exists" if token[1] == "attribute_exists" else "missing", path)
        left = self.operand()
        token = self.peek()
        if token == ("keyword", "IN"):
            self.at += 1
            self.take("paren", "(")
            choices = [self.operand()]
            while self.peek() == ("paren", ","):
                self.at += 1
                choices.append(self.operand())
            self.take("paren", ")")
            return ("in", left, tuple(choices))
        if token is None or token[0] != "op" or token[1] == "<>":
            raise Unsupported("a comparison")
        self.at += 1
        return ("compare", token[1], left, self.operand())

    def operand(self) -> _Path | _Value:
        token = self.peek()
        if token is None:
            raise Unsupported("an operand")
        self.at += 1
        if token[0] == "value":
            return _Value(token[1])
        if token[0] == "word" and token[1] not in _FUNCTIONS:
            return _path(token[1])
        raise Unsupported(token[1])


@lru_cache(maxsize=4096)
def parse_condition(expression: str) -> Node:
    return _Parser(expression).parse()


def _resolve(part: str, names: dict[str, str] | None) -> str:
    if part.startswith("#"):
        if not names or part not in names:
            raise Unsupported(part)
        return names[part]
    return part


def top_name(path: _Path, names: dict[str, str] | None) -> str:
    """The top-level attribute a path starts at (``#n.x`` with ``#n`` = ``sold``: ``sold``)."""
    return _resolve(path.parts[0], names)


def _at(attrs: Any, path: _Path, names: dict[str, str] | None) -> Any:
    """The value at ``path`` of an item's attributes (a ``DynamoType``), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    current: Any = attrs.get(_resolve(path.parts[0], names))
    for part in path.parts[1:]:
        if not isinstance(current, DynamoType) or not current.is_map():
            return None
        current = current.value.get(_resolve(part, names))
    return current


def _operand(item: Any, operand: Any, names: dict[str, str] | None, values: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(operand, _Value):
        if operand.name not in values:
            raise Unsupported(operand.name)
        return DynamoType(values[operand.name])
    return _at(item.attrs, operand, names) if item is not None else None


_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    if op == "=":
        return bool(left == right)
    if left.type != right.type or left.type not in ("N", "S", "B"):
        return False
    return bool(_COMPARE[op](left.cast_value, right.cast_value))


def holds(
    node: Node, item: Any, names: dict[str, str] | None, values: dict[str, Any] | None
) -> bool:
    """Whether the condition holds on ``item`` (a moto ``Item``, or None when there is none)."""
    kind = node[0]
    if kind == "and":
        return holds(node[1], item, names, values) and holds(node[2], item, names, values)
    if kind == "or":
        return holds(node[1], item, names, values) or holds(node[2], item, names, values)
    if kind == "not":
        return not holds(node[1], item, names, values)
    if kind in ("exists", "missing"):
        found = _at(item.attrs, node[1], names) if item is not None else None
        return bool((found is not None) == (kind == "exists"))
    if kind == "in":
        left = _operand(item, node[1], names, values or {})
        return any(
            _compare("=", left, _operand(item, choice, names, values or {})) for choice in node[2]
        )
    return _compare(node[1], *(_operand(item, side, names, values or {}) for side in node[2:]))


# ---------------------------------------------------------------------- updates


@lru_cache(maxsize=4096)
def parse_update(expression: str) -> tuple[tuple[str, _Path, str], ...]:
    """``(action, path, value placeholder)`` for each ADD and SET of the expression."""
    tokens = _tokens(expression)
    actions: list[tuple[str, _Path, str]] = []
    clause: str | None = None
    at = 0
    while at < len(tokens):
        kind, text = tokens[at]
        if kind == "word" and text.upper() in ("ADD", "SET"):
            clause = text.upper()
            at += 1
            continue
        if kind == "word" and text.upper() in ("REMOVE", "DELETE"):
            raise Unsupported(text)
        if clause is None or kind != "word":
            raise Unsupported(text)
        path = _path(text)
        at += 1
        if clause == "SET":
            if tokens[at : at + 1] != [("op", "=")]:
                raise Unsupported("SET without =")
            at += 1
        if at >= len(tokens) or tokens[at][0] != "value":
            raise Unsupported("an action on anything but a value")
        actions.append((clause, path, tokens[at][1]))
        at += 1
        if at < len(tokens) and tokens[at] == ("paren", ","):
            at += 1
    if not actions:
        raise Unsupported(expression)
    return tuple(actions)


def plan_update(
    item: Any, expression: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> list[tuple[Any, str, Any]]:
    """What the update writes, as ``(map, attribute, new DynamoType)``, without writing it
    (``item`` must exist): Unsupported for what moto should judge (a missing parent map, an
    ADD to a value of another type)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    writes: list[tuple[Any, str, Any]] = []
    for action, path, placeholder in parse_update(expression):
        if not values or placeholder not in values:
            raise Unsupported(placeholder)
        value = DynamoType(values[placeholder])
        parent: Any = item.attrs
        for part in path.parts[:-1]:
            found = parent.get(_resolve(part, names))
            if not isinstance(found, DynamoType) or not found.is_map():
                raise Unsupported("a path through something other than a map")
            parent = found.value
        name = _resolve(path.parts[-1], names)
        if action == "SET":
            writes.append((parent, name, value))
            continue
        existing = parent.get(name)
        if value.type == "N":
            if existing is None:
                existing = DynamoType({"N": "0"})
            if existing.type != "N":
                raise Unsupported("ADD to a non-number")
            writes.append((parent, name, existing + value))
        elif value.is_set() and value.value:
            if existing is None:
                merged = list(value.value)
            elif existing.type != value.type:
                raise Unsupported("ADD to another set type")
            else:
                merged = list(existing.value) + [v for v in value.value if v not in existing.value]
            writes.append((parent, name, DynamoType({value.type: merged})))
        else:
            raise Unsupported("ADD of this type")
    return writes


def apply_writes(writes: list[tuple[Any, str, Any]]) -> None:
    for parent, name, value in writes:
        dict.__setitem__(parent, name, value)


def number(value: Any) -> Decimal:
    return Decimal(value.value)
