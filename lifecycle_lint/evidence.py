"""Usage evidence: what a name is, read from how the code uses it.

- A receiver whose ``start_span`` passes MLflow's own keywords (``trace_id=`` or
  ``request_id=`` together with ``parent_id=``), or whose ``end_span`` passes
  ``span_id=``, is an MLflow client, even unannotated (MLflow's documentation's
  ``traced_span(client, ...)`` helper takes ``client`` unannotated). Only names
  that nothing else describes count: an unannotated parameter, or ``self.<attr>``
  set only from such parameters. A home-grown tracer (``tracer.start_trace("x")``,
  no MLflow keyword) or a parameter annotated with another class stays unknown.
- A parameter whose ``.span_id`` is passed as the ``parent_id`` or ``span_id`` of a
  lifecycle call is a span (for TLC204's ``.request_id``), and so is what MLflow's
  fluent getters return (``mlflow.get_current_active_span()``). Neither is owned
  by the scope: they are never reported as not ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from lifecycle_lint.scopes import Binding, BindingKind, Scope, _is_none
from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext

#: Keywords only MLflow's ``start_span`` takes together.
_START_TRACE_KEYWORDS = frozenset({facts.TRACE_ID_PARAM, facts.REQUEST_ID_PARAM})
_PARENT_KEYWORD = "parent_id"
_SPAN_KEYWORD = "span_id"
_SPAN_ANNOTATIONS = frozenset({"Span", "LiveSpan"})


def _keywords(call: cst.Call) -> set[str]:
    return {a.keyword.value for a in call.args if a.keyword is not None}


def is_mlflow_keyword_call(call: cst.Call) -> bool:
    """``x.start_span(..., trace_id=..., parent_id=...)`` or ``x.end_span(..., span_id=...)``."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    keywords = _keywords(call)
    if func.attr.value == facts.START_SPAN:
        return bool(keywords & _START_TRACE_KEYWORDS) and _PARENT_KEYWORD in keywords
    if func.attr.value == facts.END_SPAN:
        return _SPAN_KEYWORD in keywords
    return False


class Evidence:
    """Usage evidence of one module, gathered in one pass over its calls when first asked."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self._by_bindings: dict[int, list[cst.Call]] | None = None
        self._by_attribute: dict[tuple[cst.ClassDef, str], list[cst.Call]] = {}

    def _gather(self) -> dict[int, list[cst.Call]]:
        if self._by_bindings is None:
            self._by_bindings = {}
            index = self.ctx.index
            for call in index.calls:
                if not is_mlflow_keyword_call(call):
                    continue
                receiver = call.func.value  # type: ignore[attr-defined]
                scope = index.call_scopes.get(call) or index.scope_of(call)
                if isinstance(receiver, cst.Name):
                    bindings = index.lookup(receiver.value, scope)
                    self._by_bindings.setdefault(id(bindings), []).append(call)
                elif isinstance(receiver, cst.Attribute):
                    info = index.self_class(receiver.value, scope)
                    if info is not None:
                        key = (info.node, receiver.attr.value)
                        self._by_attribute.setdefault(key, []).append(call)
        return self._by_bindings

    def client_calls(self, expr: cst.BaseExpression, scope: Scope) -> list[cst.Call]:
        """The calls whose keywords show ``expr`` is an MLflow client (none: not shown)."""
        by_bindings = self._gather()
        index = self.ctx.index
        if isinstance(expr, cst.Name):
            bindings = index.lookup(expr.value, scope)
            if not bindings or not all(_plain_param(b) for b in bindings):
                return []
            return by_bindings.get(id(bindings), [])
        if isinstance(expr, cst.Attribute):
            info = index.self_class(expr.value, scope)
            if info is None:
                return []
            found = self._by_attribute.get((info.node, expr.attr.value), [])
            if not found:
                return []
            assigned = info.attr_assignments.get(expr.attr.value, [])
            if not assigned or not all(self._from_plain_param(b) for b in assigned):
                return []
            return found
        return []

    def witness(self, calls: list[cst.Call]) -> cst.Call:
        """The call to name in a message: the first ``start_span``, else the first call."""
        return min(
            calls,
            key=lambda c: (
                c.func.attr.value != facts.START_SPAN,  # type: ignore[attr-defined]
                self.ctx.line_of(c),
            ),
        )

    def _from_plain_param(self, binding: Binding) -> bool:
        """``self.x = x`` where ``x`` is an unannotated parameter (``None`` allowed)."""
        value = binding.value
        if binding.kind is not BindingKind.VALUE or value is None:
            return False
        if isinstance(value, cst.Name) and value.value == "None":
            return True
        if not isinstance(value, cst.Name):
            return False
        index = self.ctx.index
        scope = index.scope_of(binding.node)
        bindings = index.lookup(value.value, scope)
        return bool(bindings) and all(_plain_param(b) for b in bindings)

    def span_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """Why ``expr`` (a name) holds an MLflow span it does not own, if it does."""
        if not isinstance(expr, cst.Name):
            return None
        index = self.ctx.index
        bindings = index.lookup(expr.value, scope)
        if not bindings:
            return None
        # ``parent = mlflow.get_current_active_span()`` (or ``None`` on another branch:
        # what the name holds where it is read is a span or nothing).
        given = [
            b
            for b in bindings
            if not (
                b.kind is BindingKind.VALUE
                and isinstance(b.value, cst.Name)
                and b.value.value == "None"
            )
        ]
        if given and all(
            b.kind is BindingKind.VALUE
            and isinstance(b.value, cst.Call)
            and index.qualify(b.value.func, index.scope_of(b.node))
            in facts.FLUENT_SPAN_GETTER_QUALIFIED_NAMES
            for b in given
        ):
            return "returned by `mlflow.get_current_active_span()`"
        if not all(
            (b.kind is BindingKind.PARAM and _span_annotation(b)) or _taken_out(b) for b in bindings
        ) or all(_is_none(b.value) for b in bindings):
            return None
        for call in self.ctx.lifecycle_calls:
            for param in (_PARENT_KEYWORD, _SPAN_KEYWORD):
                value = call.arg(param)
                if (
                    isinstance(value, cst.Attribute)
                    and value.attr.value == _SPAN_KEYWORD
                    and isinstance(value.value, cst.Name)
                    and value.value.value == expr.value
                    and index.lookup(expr.value, call.scope) is bindings
                ):
                    line = self.ctx.line_of(call.node)
                    return f"its `.span_id` is passed as `{param}` on line {line}"
        return None


def _taken_out(binding: Binding) -> bool:
    """``parent = open_spans[key]``, ``open_spans.get(key)``, ``span = begin(...)``, or
    ``None`` on another path: a value the file cannot see into, whatever it holds (its
    IDs passed to a lifecycle call say)."""
    value = binding.value
    if binding.kind is not BindingKind.VALUE or value is None:
        return False
    return _is_none(binding.value) or isinstance(value, (cst.Subscript, cst.Call))


def _plain_param(binding: Binding) -> bool:
    return binding.kind is BindingKind.PARAM and binding.annotation is None


def _span_annotation(binding: Binding) -> bool:
    annotation = binding.annotation
    if annotation is None:
        return True
    last = (
        annotation.attr.value
        if isinstance(annotation, cst.Attribute)
        else getattr(annotation, "value", None)
    )
    return last in _SPAN_ANNOTATIONS
