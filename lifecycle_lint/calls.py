"""Recognise lifecycle calls and bind their arguments to MLflow's parameters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.scopes import ModuleIndex, Scope


class CallKind(enum.Enum):
    START_TRACE = facts.START_TRACE
    START_SPAN = facts.START_SPAN
    END_SPAN = facts.END_SPAN
    END_TRACE = facts.END_TRACE
    START_NO_CONTEXT = "start_span_no_context"  # mlflow.start_span_no_context(...)
    SPAN_END = "span.end"  # <span>.end(...)
    #: ``span = self._spans.pop(key)``: a span stored earlier, taken over by this scope.
    TAKEN = "taken"
    #: ``span = self._begin(...)``: a summarised helper returns a span it started
    #: (lifecycle_lint.summaries); the caller owns it.
    HELPER_START = "helper start"

    @property
    def is_start(self) -> bool:
        return self in (CallKind.START_TRACE, CallKind.START_SPAN, CallKind.START_NO_CONTEXT)

    @property
    def is_end(self) -> bool:
        return self in (CallKind.END_SPAN, CallKind.END_TRACE, CallKind.SPAN_END)


_CLIENT_KINDS = {
    facts.START_TRACE: CallKind.START_TRACE,
    facts.START_SPAN: CallKind.START_SPAN,
    facts.END_SPAN: CallKind.END_SPAN,
    facts.END_TRACE: CallKind.END_TRACE,
}

_NO_CONTEXT_NAME = facts.START_SPAN_NO_CONTEXT.rsplit(".", 1)[1]

#: ``<span>.end(outputs, attributes, status, end_time_ns)`` on a live span.
SPAN_END_PARAMS: tuple[str, ...] = ("outputs", "attributes", "status", "end_time_ns")


@dataclass(eq=False)
class LifecycleCall:
    node: cst.Call
    kind: CallKind
    scope: Scope
    #: The client (for client calls) or the span (for ``span.end``).
    receiver: cst.BaseExpression | None
    #: Arguments bound to parameter names (``request_id`` is bound as ``trace_id``).
    args: dict[str, cst.Arg] = field(default_factory=dict)
    #: The ``request_id=`` keyword argument, when that spelling is used.
    request_id_keyword: cst.Arg | None = None
    #: ``*args`` or ``**kwargs`` present: which parameters are given is unknown.
    has_unpacking: bool = False
    #: For a HELPER_START: the helper returns a trace's root span on every path.
    helper_trace: bool = False
    #: A helper start that gives the caller this ID of the span (``"span_id"``), not the span.
    helper_id: str | None = None
    #: ``**{"request_id": ...}``: the key (a string) that spells the old name.
    request_id_key: cst.SimpleString | None = None

    def arg(self, param: str) -> cst.BaseExpression | None:
        bound = self.args.get(param)
        return None if bound is None else bound.value


def bind_arguments(call: cst.Call, params: tuple[str, ...]) -> tuple[dict[str, cst.Arg], bool]:
    bound: dict[str, cst.Arg] = {}
    unpacking = False
    position = 0
    for arg in call.args:
        if arg.star:
            unpacking = True
        elif arg.keyword is not None:
            name = arg.keyword.value
            if name == facts.REQUEST_ID_PARAM:
                name = facts.TRACE_ID_PARAM
            bound[name] = arg
        else:
            if position < len(params):
                bound[params[position]] = arg
            position += 1
    return bound, unpacking


def classify(call: cst.Call, index: ModuleIndex, scope: Scope) -> LifecycleCall | None:
    """The lifecycle call ``call`` is, or ``None`` if it is none or its receiver is unknown."""
    import libcst as cst

    func = call.func
    if isinstance(func, cst.Attribute):
        method = func.attr.value
        kind = _CLIENT_KINDS.get(method)
        if kind is not None and index.is_client(func.value, scope):
            signature = facts.CLIENT_SIGNATURES[method]
            args, unpacking = bind_arguments(call, signature.params)
            request_kw = next(
                (
                    a
                    for a in call.args
                    if a.keyword is not None and a.keyword.value == facts.REQUEST_ID_PARAM
                ),
                None,
            )
            found = LifecycleCall(call, kind, scope, func.value, args, request_kw, unpacking)
            if unpacking:
                _bind_splatted(found, index, scope, signature.params)
            return found
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    if last == _NO_CONTEXT_NAME and isinstance(func, (cst.Attribute, cst.Name)):
        if index.qualify(func, scope) in facts.START_SPAN_NO_CONTEXT_QUALIFIED_NAMES:
            args, unpacking = bind_arguments(call, facts.START_SPAN_NO_CONTEXT_PARAMS)
            return LifecycleCall(
                call, CallKind.START_NO_CONTEXT, scope, None, args, None, unpacking
            )
    return None


def _splatted_entries(
    expr: cst.BaseExpression, index: ModuleIndex, scope: Scope, depth: int = 0
) -> list[tuple[str, cst.BaseExpression, cst.CSTNode]] | None:
    """``(name, value, key node)`` of a dict display or ``dict(...)`` (or a name bound
    once to one), when every key is known; None otherwise."""
    import libcst as cst

    if isinstance(expr, cst.Name) and depth == 0:
        bindings = index.lookup(expr.value, scope)
        if len(bindings) != 1 or bindings[0].value is None:
            return None
        return _splatted_entries(bindings[0].value, index, scope, depth + 1)
    entries: list[tuple[str, cst.BaseExpression, cst.CSTNode]] = []
    if isinstance(expr, cst.Dict):
        for element in expr.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(
                element.key, cst.SimpleString
            ):
                return None
            key = element.key.evaluated_value
            if not isinstance(key, str):
                return None
            entries.append((key, element.value, element.key))
        return entries
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Name)
        and expr.func.value == "dict"
        and not index.lookup("dict", scope)
    ):
        for arg in expr.args:
            if arg.keyword is None or arg.star:
                return None
            entries.append((arg.keyword.value, arg.value, arg))
        return entries
    return None


def _bind_splatted(
    found: LifecycleCall, index: ModuleIndex, scope: Scope, params: tuple[str, ...]
) -> None:
    """IDs carried by ``**{...}`` or ``**dict(...)`` count as if passed directly."""
    import libcst as cst

    for arg in found.node.args:
        if arg.star != "**":
            continue
        entries = _splatted_entries(arg.value, index, scope)
        for name, value, key in entries or ():
            if name == facts.REQUEST_ID_PARAM:
                if isinstance(key, cst.Arg):
                    found.request_id_keyword = key
                elif isinstance(key, cst.SimpleString):
                    found.request_id_key = key
                name = facts.TRACE_ID_PARAM
            if name in params and name not in found.args:
                found.args[name] = cst.Arg(value=value)


def span_end_call(call: cst.Call, scope: Scope) -> LifecycleCall:
    """``<span>.end(...)`` where the caller already knows the receiver is a span."""
    import libcst as cst

    assert isinstance(call.func, cst.Attribute)
    args, unpacking = bind_arguments(call, SPAN_END_PARAMS)
    return LifecycleCall(call, CallKind.SPAN_END, scope, call.func.value, args, None, unpacking)
