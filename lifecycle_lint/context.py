"""Everything known about one parsed file, computed once and shared by the rules."""

from __future__ import annotations

from functools import cached_property

import libcst as cst
from libcst.metadata import CodeRange

from lifecycle_lint.calls import CallKind, LifecycleCall, classify, span_end_call
from lifecycle_lint.knowledge import Knowledge
from lifecycle_lint.positions import Positions
from lifecycle_lint.scopes import BindingKind, ModuleIndex, Scope
from lifecycle_lint.settings import Settings
from lifecycle_runtime import mlflow_facts as facts


class FileContext:
    def __init__(
        self, path: str, module: cst.Module, settings: Settings, text: str | None = None
    ) -> None:
        self.path = path
        self.module = module
        self.text = text
        self.settings = settings
        self.index = ModuleIndex(module)
        #: What names are beyond this file's bindings: summaries, project, evidence.
        self.knowledge = Knowledge(self)
        self.index.knowledge = self.knowledge
        self._positions: Positions | None = None
        #: The codes the rules run for (``None``: all); facts only one rule reads
        #: are not computed when that rule is off.
        self.enabled: frozenset[str] | None = None
        #: Facts computed once per file and shared by several rules (flow analysis).
        self.cache: dict[str, object] = {}
        self._lifecycle_by_node: dict[cst.Call, LifecycleCall] = {}
        for call in self.index.calls:
            found = self._classify(call)
            if found is not None:
                self._lifecycle_by_node[call] = found

    def close(self) -> None:
        """Unlink the scopes, the knowledge and the facts from one another.

        They point at each other (a scope at its parent and children, the
        knowledge at this context), so once dropped they and the whole tree are
        freed only by the cyclic garbage collector, whose full passes over many
        dropped trees cost a sixth of a run. Unlinked, the tree is freed as soon
        as the last finding is made.
        """
        for scope in self.index.scopes.values():
            scope.parent = None
            scope.children = []
        self.index.knowledge = None
        self.knowledge = None  # type: ignore[assignment]
        self.cache.clear()
        self._positions = None

    # --- positions (computed only once a finding needs one) -----------------

    def position(self, node: cst.CSTNode) -> CodeRange:
        if self._positions is None:
            self._positions = Positions(self.module, self.text, self.index.parents)
        return self._positions[node]

    def line_of(self, node: cst.CSTNode) -> int:
        if self._positions is None:
            self._positions = Positions(self.module, self.text, self.index.parents)
        return self._positions.line(node)

    def source_of(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def short_source(self, node: cst.CSTNode, limit: int = 40) -> str:
        """A call written short for a message: ``db.execute(...)``."""
        if isinstance(node, cst.Call):
            return f"{self.short_source(node.func, limit)}(...)"
        text = " ".join(self.source_of(node).split())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    # --- lifecycle calls ------------------------------------------------------

    def _classify(self, call: cst.Call) -> LifecycleCall | None:
        scope = self.index.call_scopes.get(call) or self.index.scope_of(call)
        found = classify(call, self.index, scope)
        if found is not None:
            return found
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == facts.SPAN_END_METHOD
            and self.is_span(func.value, scope)
        ):
            return span_end_call(call, scope)
        return None

    @cached_property
    def lifecycle_calls(self) -> list[LifecycleCall]:
        return list(self._lifecycle_by_node.values())

    def lifecycle_call(self, call: cst.Call) -> LifecycleCall | None:
        return self._lifecycle_by_node.get(call)

    def is_start_call(self, expr: cst.BaseExpression | None) -> bool:
        if not isinstance(expr, cst.Call):
            return False
        found = self._lifecycle_by_node.get(expr) or classify(
            expr, self.index, self.index.call_scopes.get(expr) or self.index.scope_of(expr)
        )
        if found is not None:
            return found.kind.is_start
        return self.knowledge.starts_span(expr)  # a helper that returns a span it started

    def is_span(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """``expr`` certainly holds a span returned by a lifecycle start call."""
        if isinstance(expr, cst.Name):
            bindings = self.index.lookup(expr.value, scope)
            if bindings and all(
                b.kind is BindingKind.VALUE
                and isinstance(b.value, cst.Call)
                and self._taken_from_spans(b.value, scope)
                for b in bindings
            ):
                return True  # ``span = self._spans.pop(key)``
            return _only_starts(self, [(b.kind, b.value) for b in bindings])
        if isinstance(expr, cst.Attribute):
            info = self.index.self_class(expr.value, scope)
            if info is None:
                return False
            bindings = info.attr_assignments.get(expr.attr.value, [])
            return _only_starts(self, [(b.kind, b.value) for b in bindings])
        if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Attribute):
            info = self.index.self_class(expr.value.value, scope)
            if info is None:
                return False
            values = info.item_assignments.get(expr.value.attr.value, [])
            return _only_starts(self, [(BindingKind.VALUE, v) for v in values])
        return False

    def _taken_from_spans(self, call: cst.Call, scope: Scope) -> bool:
        """``self._spans.pop(key)`` or ``.get(key)`` where the class stores only spans it
        started in ``self._spans[...]``."""
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("pop", "get")
            and isinstance(func.value, cst.Attribute)
        ):
            return False
        info = self.index.self_class(func.value.value, scope)
        if info is None:
            return False
        values = info.item_assignments.get(func.value.attr.value, [])
        return _only_starts(self, [(BindingKind.VALUE, v) for v in values])


def _only_starts(
    ctx: FileContext, bindings: list[tuple[BindingKind, cst.BaseExpression | None]]
) -> bool:
    positive = False
    for kind, value in bindings:
        if kind is not BindingKind.VALUE or value is None:
            return False
        if isinstance(value, cst.Name) and value.value == "None":
            continue
        if not ctx.is_start_call(value):
            return False
        positive = True
    return positive


__all__ = ["CallKind", "FileContext", "LifecycleCall", "Settings"]
