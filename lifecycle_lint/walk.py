"""A fast walk over libcst trees.

libcst's visitor dispatch and its metadata providers cost about as much as the
parse itself; the analysis needs neither. This walk follows only the fields of
each node type that can hold code (whitespace, commas and other tokens are
skipped), with the field list cached per node type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

_TRIVIA_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "header",
        "footer",
        "leading_lines",
        "lines_after_decorators",
        "trailing_whitespace",
        "newline",
        "dot",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "equal",
        "colon",
        "star",
        "walrus",
        "asynchronous",
        "operator",
    }
)

_fields_by_type: dict[type, tuple[str, ...]] = {}


def _code_fields(node_type: type) -> tuple[str, ...]:
    fields = _fields_by_type.get(node_type)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")
        )
        _fields_by_type[node_type] = fields
    return fields


_is_node_type: dict[type, bool] = {}


def _node_type(kind: type) -> bool:
    # ``isinstance`` against libcst's abstract base classes is slow; cache per type.
    known = _is_node_type.get(kind)
    if known is None:
        known = _is_node_type[kind] = issubclass(kind, cst.CSTNode)
    return known


#: Nodes with no code below them: the most numerous nodes, skipped without a look.
LEAF_TYPES = frozenset(
    {
        cst.Name,
        cst.SimpleString,
        cst.Integer,
        cst.Float,
        cst.Imaginary,
        cst.FormattedStringText,
        cst.Ellipsis,
        cst.Pass,
        cst.Break,
        cst.Continue,
    }
)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct children of ``node`` that can hold code, in source order."""
    # Called for every node of every checked file: lookups are inlined on purpose.
    kind = type(node)
    fields = _fields_by_type.get(kind)
    if fields is None:
        fields = () if kind in LEAF_TYPES else _code_fields(kind)
        _fields_by_type[kind] = fields
    found: list[cst.CSTNode] = []
    is_node = _is_node_type
    for name in fields:
        value = getattr(node, name)
        value_kind = type(value)
        if value_kind is list or value_kind is tuple:
            for item in value:
                known = is_node.get(type(item))
                if known is None:
                    known = _node_type(type(item))
                if known:
                    found.append(item)
        else:
            known = is_node.get(value_kind)
            if known is None:
                known = _node_type(value_kind)
            if known:
                found.append(value)
    return found


#: Nodes that open a new scope: their bodies are analysed on their own.
SCOPE_NODES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def descendants(node: cst.CSTNode, *, into_scopes: bool = True) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (not ``node`` itself), in source order.

    With ``into_scopes=False`` nested functions, lambdas and classes are
    yielded but not entered.
    """
    stack = children(node)
    stack.reverse()
    while stack:
        current = stack.pop()
        yield current
        if not into_scopes and isinstance(current, SCOPE_NODES):
            continue
        kids = children(current)
        kids.reverse()
        stack.extend(kids)
