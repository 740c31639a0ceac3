"""The class-level pass for callback-style instrumentation.

Callback classes start a span in one method (``on_chain_start``), store it on
``self`` (``self._spans[run_id] = span``) and end it in another
(``on_chain_end``). The flow analysis of each method sees the store as a
hand-over; this pass checks the other half: a class that stores spans on an
attribute must take spans from that attribute somewhere and do something with
them (end them, or pass them on). Only a class that never does is reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from lifecycle_lint.flow import name_reads
from lifecycle_lint.walk import descendants

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext
    from lifecycle_lint.flow import ScopeFacts, Site

#: Methods of a container that hand out what it holds.
_TAKING_METHODS = frozenset({"pop", "get", "values", "items", "popitem", "popleft", "__getitem__"})


def unended_stored_spans(ctx: FileContext, all_facts: list[ScopeFacts]) -> list[tuple[Site, str]]:
    stores: dict[cst.ClassDef, dict[str, list[Site]]] = {}
    for facts in all_facts:
        scope = ctx.index.scopes.get(facts.scope_node)
        if scope is None or scope.owner_class is None:
            continue
        for site_index, attribute in facts.stored_on_self:
            by_attr = stores.setdefault(scope.owner_class, {})
            by_attr.setdefault(attribute, []).append(facts.sites[site_index])
    result: list[tuple[Site, str]] = []
    for cls, by_attr in stores.items():
        if _is_subclassed(ctx, cls):
            continue  # a subclass may end them
        consumed = _consumed_attributes(cls)
        for attribute, sites in by_attr.items():
            if attribute not in consumed:
                result.extend((site, attribute) for site in sites)
    return result


def _is_subclassed(ctx: FileContext, cls: cst.ClassDef) -> bool:
    name = cls.name.value
    for other in ctx.index.classes:
        for base in other.bases:
            value = base.value
            last = (
                value.attr.value
                if isinstance(value, cst.Attribute)
                else getattr(value, "value", None)
            )
            if last == name:
                return True
    return False


def _consumed_attributes(cls: cst.ClassDef) -> set[str]:
    """Attributes of ``self`` whose contents leave the attribute somewhere in the class."""
    consumed: set[str] = set()
    for method in (n for n in descendants(cls) if isinstance(n, cst.FunctionDef)):
        params = [*method.params.posonly_params, *method.params.params]
        if not params:
            continue
        self_name = params[0].name.value
        parents: dict[cst.CSTNode, cst.CSTNode] = {}
        for node in [method, *descendants(method)]:
            for child in _children(node):
                parents[child] = node
        for node in parents:
            if (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.value.value == self_name
                and _leaves(node, parents, method)
            ):
                consumed.add(node.attr.value)
    return consumed


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    from lifecycle_lint.walk import children

    return list(children(node))


def _leaves(
    node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode], method: cst.FunctionDef
) -> bool:
    """Whether the value read at ``node`` (or an item of it) is used beyond the attribute."""
    current = node
    while True:
        parent = parents.get(current)
        if parent is None:
            return False
        if isinstance(parent, cst.Subscript) and parent.value is current:
            current = parent
        elif isinstance(parent, cst.Attribute) and parent.value is current:
            grand = parents.get(parent)
            if isinstance(grand, cst.Call) and grand.func is parent:
                if parent.attr.value in _TAKING_METHODS:
                    current = grand
                    continue
                # ``self._span.end()`` and other methods on a stored span act on it.
                return parent.attr.value not in ("clear", "append", "add", "setdefault", "update")
            current = parent  # ``self._spans[k].span_id``
        elif isinstance(parent, (cst.Arg, cst.Return, cst.Yield, cst.Element, cst.DictElement)):
            return True
        elif isinstance(parent, cst.Assign) and parent.value is current:
            names = [t.target.value for t in parent.targets if isinstance(t.target, cst.Name)]
            if len(names) != len(parent.targets):
                return True  # stored elsewhere
            return any(_name_used(method, name) for name in names)
        elif isinstance(parent, cst.For) and parent.iter is current:
            target = parent.target
            if not isinstance(target, (cst.Name, cst.Tuple)):
                return True
            names = [n.value for n in name_reads(target)]
            return any(_name_used(method, name) for name in names)
        elif isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.If, cst.Del)):
            return False
        else:
            return False


def _name_used(method: cst.FunctionDef, name: str) -> bool:
    """``name`` is passed to a call, is a call's receiver, or is returned."""
    for node in descendants(method):
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and _reads(func.value, name):
                return True
            if any(_reads(arg.value, name) for arg in node.args):
                return True
        elif isinstance(node, (cst.Return, cst.Yield)) and node.value is not None:
            if _reads(node.value, name):
                return True
    return False


def _reads(expr: cst.CSTNode, name: str) -> bool:
    return any(n.value == name for n in name_reads(expr))
