"""Function summaries: what a function or method does with clients and spans.

A call to a function whose body the linter can see (a function of the module, a
method called on ``self``, a closure, or a function of another module of the
project, through lifecycle_lint.project) is read through its summary instead of
a guess from its name:

- does it return a client (a factory, ``return self._client``, a ``@property``,
  ``@functools.cache``)?
- does it return a span it started (a wrapper starter: the caller owns the span)?
- for a parameter given a span: does it end it on every normal path, on some paths
  only, hand it over (stores it, passes it on), or only read it (lending: the caller
  still owns it)?
- may it raise?

Each answer is computed once per function, on demand, bottom-up (a summary asks
for the summaries of the calls in its body). Recursion is bounded: a function
whose summary is being computed is unknown to the calls inside it, which then
keep their conservative meaning (no finding without evidence).

The per-parameter answer runs the path interpreter (lifecycle_lint.flow) over the
callee with that parameter bound to an open span, so "ends it on every path"
means exactly what it means for a span started in a scope.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from lifecycle_lint.calls import CallKind
from lifecycle_lint.project import SPAN_ATTRIBUTES
from lifecycle_lint.scopes import BindingKind, Scope
from lifecycle_lint.walk import SCOPE_NODES, children

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext


class Effect(enum.Enum):
    """What a function does with a span passed to one of its parameters."""

    ENDS = "ends it"  # on every normal path
    ENDS_SOME = "ends it on some paths only"  # the caller cannot know: a hand-over
    HANDS_OVER = "hands it over"  # stores it, returns it, passes it on
    READS = "only reads it"  # lending: the caller still owns it


#: Decorators that keep what the function returns.
_RETURN_KEEPING = frozenset({"property", "cached_property", "lru_cache", "cache"})
#: Decorators that keep the whole behaviour of the function (how it is bound aside).
_TRANSPARENT = frozenset({"staticmethod", "classmethod"})


@dataclass
class FunctionSummary:
    """A function's summary in plain data (serialisable: see ``to_json``)."""

    name: str
    #: Parameter names in order; a method's ``self``/``cls`` excluded.
    params: tuple[str, ...]
    keyword_only: tuple[str, ...] = ()
    returns_client: bool = False
    #: ``"span"`` or ``"trace"`` (a root span on every path): the caller owns it.
    returns_span: str | None = None
    may_raise: bool = True
    #: Parameter name -> Effect value, for the parameters computed so far.
    effects: dict[str, str] = field(default_factory=dict)
    #: The summary keeps the behaviour (no unknown decorator).
    exact: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": list(self.params),
            "keyword_only": list(self.keyword_only),
            "returns_client": self.returns_client,
            "returns_span": self.returns_span,
            "may_raise": self.may_raise,
            "effects": dict(self.effects),
            "exact": self.exact,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionSummary:
        return cls(
            name=data["name"],
            params=tuple(data["params"]),
            keyword_only=tuple(data["keyword_only"]),
            returns_client=data["returns_client"],
            returns_span=data["returns_span"],
            may_raise=data["may_raise"],
            effects=dict(data["effects"]),
            exact=data["exact"],
        )


class Callee:
    """A resolved callee: a function this run can see (here or in another module)."""

    def __init__(
        self,
        name: str,
        *,
        params: tuple[str, ...],
        keyword_only: tuple[str, ...] = (),
        summaries: Summaries | None = None,
        node: cst.FunctionDef | None = None,
        summary: FunctionSummary | None = None,
        where: str = "",
    ) -> None:
        self.name = name
        self.params = params
        self.keyword_only = keyword_only
        self._summaries = summaries
        self._node = node
        self._summary = summary
        #: How the callee was found, for messages (``in app/tracing.py``).
        self.where = where

    @property
    def exact(self) -> bool:
        if self._summary is not None:
            return self._summary.exact
        assert self._summaries is not None and self._node is not None
        return _decorators_are(self._node, _TRANSPARENT)

    @property
    def returns_client(self) -> bool:
        if self._summary is not None:
            return self._summary.returns_client
        assert self._summaries is not None and self._node is not None
        return self._summaries.returns_client(self._node)

    @property
    def returns_span(self) -> str | None:
        if not self.exact:
            return None
        if self._summary is not None:
            return self._summary.returns_span
        assert self._summaries is not None and self._node is not None
        return self._summaries.returns_span(self._node)

    @property
    def may_raise(self) -> bool:
        if not self.exact:
            return True
        if self._summary is not None:
            return self._summary.may_raise
        assert self._summaries is not None and self._node is not None
        return self._summaries.may_raise(self._node)

    def effect(self, param: str) -> Effect | None:
        if not self.exact:
            return None
        if self._summary is not None:
            value = self._summary.effects.get(param)
            return Effect(value) if value is not None else None
        assert self._summaries is not None and self._node is not None
        return self._summaries.effect(self._node, param)

    def bind(self, call: cst.Call) -> Iterator[tuple[cst.Arg, str | None]]:
        """Each argument of ``call`` with the parameter it is bound to (None: unknown)."""
        position = 0
        starred = False
        for arg in call.args:
            if arg.star:
                starred = True
                yield arg, None
            elif arg.keyword is not None:
                name = arg.keyword.value
                known = name in self.params or name in self.keyword_only
                yield arg, name if known else None
            else:
                param = None
                if not starred and position < len(self.params):
                    param = self.params[position]
                position += 1
                yield arg, param


def _decorator_name(decorator: cst.Decorator) -> str | None:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return None


def _decorators_are(node: cst.FunctionDef, allowed: frozenset[str]) -> bool:
    return all(_decorator_name(d) in allowed for d in node.decorators)


def own_nodes(node: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """The nodes of a function's body, not those of functions or classes nested in it."""
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        yield current
        for child in children(current):
            if isinstance(child, (*SCOPE_NODES, cst.Lambda)):
                continue
            stack.append(child)


def parameters(node: cst.FunctionDef, bound: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Positional parameter names (without the bound ``self``/``cls``), keyword-only names."""
    params = node.params
    positional = [p.name.value for p in (*params.posonly_params, *params.params)]
    if bound and positional:
        positional = positional[1:]
    return tuple(positional), tuple(p.name.value for p in params.kwonly_params)


def _is_static(node: cst.FunctionDef) -> bool:
    return any(_decorator_name(d) == "staticmethod" for d in node.decorators)


#: Summaries computed inside the computation of other summaries (in any module), at most:
#: a chain of helpers deeper than this is unknown to its callers (a conservative answer).
MAX_NESTING = 12
_NESTING = [0]


class Summaries:
    """The summaries of one module's functions, computed on demand and kept."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self._client: dict[cst.FunctionDef, bool] = {}
        self._span: dict[cst.FunctionDef, str | None] = {}
        self._raise: dict[cst.FunctionDef, bool] = {}
        self._effects: dict[tuple[cst.FunctionDef, str], Effect | None] = {}
        self._busy: set[tuple[str, int]] = set()

    # --- resolving a call to a function of this module -------------------------

    def local_callee(self, call: cst.Call, scope: Scope) -> Callee | None:
        index = self.ctx.index
        func = call.func
        if isinstance(func, cst.Name):
            bindings = index.lookup(func.value, scope)
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                node = bindings[0].node
                owner = index.scopes.get(node)
                if owner is not None and owner.owner_class is not None:
                    return None  # a method reached by name: not a plain call
                params, kwonly = parameters(node, bound=False)
                return Callee(
                    func.value, params=params, keyword_only=kwonly, summaries=self, node=node
                )
            return None
        if isinstance(func, cst.Attribute):
            info = index.self_class(func.value, scope)
            if info is None:
                return None
            node = self.method(info.node, func.attr.value)
            if node is None or not _decorators_are(node, _TRANSPARENT) or _is_hook(node):
                return None
            params, kwonly = parameters(node, bound=not _is_static(node))
            name = f"self.{func.attr.value}"  # for messages; the receiver is the method's self
            return Callee(name, params=params, keyword_only=kwonly, summaries=self, node=node)
        return None

    def method(self, cls: cst.ClassDef, name: str, _depth: int = 0) -> cst.FunctionDef | None:
        """The method ``name`` of ``cls`` (or of a base class defined in the module), if no
        subclass in the module overrides it."""
        info = self.ctx.index.classes.get(cls)
        if info is None or _depth > 8:
            return None
        bindings = info.scope.bindings.get(name, [])
        if not bindings:
            bases = [self._module_class(b.value) for b in cls.bases]
            found = [m for m in (self.method(b, name, _depth + 1) for b in bases if b) if m]
            return found[0] if len(found) == 1 and len(bases) == 1 else None
        if len(bindings) != 1 or not isinstance(bindings[0].node, cst.FunctionDef):
            return None
        for other, other_info in self.ctx.index.classes.items():
            if other is cls or name not in other_info.scope.bindings:
                continue
            if any(_base_name(b.value) == cls.name.value for b in other.bases):
                return None  # a subclass overrides it: which one runs is unknown
        return bindings[0].node

    def _module_class(self, expr: cst.BaseExpression) -> cst.ClassDef | None:
        if not isinstance(expr, cst.Name):
            return None
        bindings = self.ctx.index.module_scope.bindings.get(expr.value, [])
        if len(bindings) == 1 and isinstance(bindings[0].node, cst.ClassDef):
            return bindings[0].node
        return None

    # --- returns ------------------------------------------------------------------

    def starter_names(self) -> set[str]:
        """Names of this module's functions that may return a span they start."""
        return {n.name.value for n in self._may_start if isinstance(n, cst.FunctionDef)}

    @functools.cached_property
    def _may_start(self) -> set[cst.CSTNode]:
        """Functions that may return a span they start: those holding a start call, or a
        call of such a function by name, two levels deep. A cheap over-approximation that
        spares reading every function's returns. (A local function that only returns what
        another module's starter returns is not among them: a known limit.)"""
        index = self.ctx.index
        found = {
            call.scope.node
            for call in self.ctx.lifecycle_calls
            if call.kind.is_start and isinstance(call.scope.node, cst.FunctionDef)
        }
        for _ in range(2):
            names = {n.name.value for n in found if isinstance(n, cst.FunctionDef)}
            grown = set(found)
            for call in index.calls:
                func = call.func
                name = func.attr.value if isinstance(func, cst.Attribute) else None
                if isinstance(func, cst.Name):
                    name = func.value
                if name is None or name not in names:
                    continue
                scope = index.call_scopes.get(call)
                if scope is not None and isinstance(scope.node, cst.FunctionDef):
                    grown.add(scope.node)
            if grown == found:
                break
            found = grown
        return found

    def _returns(self, node: cst.FunctionDef) -> list[cst.BaseExpression] | None:
        """The returned values (``None`` for a bare ``return``); None for a generator."""
        values: list[cst.BaseExpression] = []
        for inner in own_nodes(node):
            if isinstance(inner, (cst.Yield, cst.Await)):
                return None
            if isinstance(inner, cst.Return):
                values.append(inner.value if inner.value is not None else cst.Name("None"))
        return values

    def returns_client(self, node: cst.FunctionDef) -> bool:
        cached = self._client.get(node)
        if cached is not None:
            return cached
        key = ("client", id(node))
        if key in self._busy or not _decorators_are(node, _RETURN_KEEPING | _TRANSPARENT):
            return False
        if _NESTING[0] >= MAX_NESTING:
            return False  # summaries nested too deep: unknown, not kept
        self._busy.add(key)
        _NESTING[0] += 1
        try:
            result = False
            values = self._returns(node)
            scope = self.ctx.index.scopes.get(node)
            if values and scope is not None:
                non_none = [v for v in values if not _is_none(v)]
                result = bool(non_none) and all(
                    self.ctx.index.is_client(v, scope) for v in non_none
                )
        finally:
            self._busy.discard(key)
            _NESTING[0] -= 1
        self._client[node] = result
        return result

    def returns_span(self, node: cst.FunctionDef) -> str | None:
        if node in self._span:
            return self._span[node]
        if node not in self._may_start:
            return None  # starts nothing, calls nothing that does: no need to look
        key = ("span", id(node))
        if key in self._busy or _NESTING[0] >= MAX_NESTING:
            return None
        self._busy.add(key)
        _NESTING[0] += 1
        try:
            result = self._compute_returns_span(node)
        finally:
            self._busy.discard(key)
            _NESTING[0] -= 1
        self._span[node] = result
        return result

    def _compute_returns_span(self, node: cst.FunctionDef) -> str | None:
        values = self._returns(node)
        scope = self.ctx.index.scopes.get(node)
        if not values or scope is None:
            return None
        kinds: set[str] = set()
        ids: list[str] = []
        for value in values:
            if _is_none(value):
                continue
            if isinstance(value, cst.Attribute) and value.attr.value in _RETURNED_IDS:
                # ``return span.span_id``: the caller holds the span by its ID alone.
                ids.append(value.attr.value)
                value = value.value
            kind = self.fresh_span(value, scope, node)
            if kind is None:
                return None
            kinds.add(kind)
        if not kinds or len(set(ids)) > 1 or (ids and len(ids) != _not_none(values)):
            return None  # an ID on some paths and the span on others: not followed
        kind = "trace" if kinds == {"trace"} else "span"
        return f"{kind}:{ids[0]}" if ids else kind

    def fresh_span(
        self, value: cst.BaseExpression, scope: Scope, node: cst.FunctionDef
    ) -> str | None:
        """``"span"``/``"trace"`` when ``value`` is a span started here and kept to itself."""
        if isinstance(value, cst.Call):
            return self.started_by(value, scope)
        if not isinstance(value, cst.Name):
            return None
        bindings = self.ctx.index.lookup(value.value, scope)
        kinds: set[str] = set()
        for binding in bindings:
            if binding.kind is not BindingKind.VALUE or binding.value is None:
                return None
            if _is_none(binding.value):
                continue
            if not isinstance(binding.value, cst.Call):
                return None
            kind = self.started_by(binding.value, scope)
            if kind is None:
                return None
            kinds.add(kind)
        if (
            not kinds
            or _kept_elsewhere(node, value.value)
            or _ended_here(self.ctx, node, value.value)
        ):
            return None
        return "trace" if kinds == {"trace"} else "span"

    def started_by(self, call: cst.Call, scope: Scope) -> str | None:
        lifecycle = self.ctx.lifecycle_call(call)
        if lifecycle is not None:
            if lifecycle.kind is CallKind.START_TRACE:
                return "trace"
            if lifecycle.kind in (CallKind.START_SPAN, CallKind.START_NO_CONTEXT):
                return "span"
            return None
        callee = self.ctx.knowledge.callee(call, scope, across="starter")
        kind = callee.returns_span if callee is not None else None
        return None if returned_id(kind) else kind  # an ID of one is not followed further

    # --- may raise ------------------------------------------------------------------

    def may_raise(self, node: cst.FunctionDef) -> bool:
        cached = self._raise.get(node)
        if cached is not None:
            return cached
        key = ("raise", id(node))
        if key in self._busy or _NESTING[0] >= MAX_NESTING:
            return True
        self._busy.add(key)
        _NESTING[0] += 1
        try:
            result = self.ctx.knowledge.body_may_raise(node)
        finally:
            self._busy.discard(key)
            _NESTING[0] -= 1
        self._raise[node] = result
        return result

    # --- what it does with a span it is given -------------------------------------

    def effect(self, node: cst.FunctionDef, param: str) -> Effect | None:
        key = (node, param)
        if key in self._effects:
            return self._effects[key]
        busy = ("effect:" + param, id(node))
        if busy in self._busy or _NESTING[0] >= MAX_NESTING:
            return None
        self._busy.add(busy)
        _NESTING[0] += 1
        try:
            result = self._compute_effect(node, param)
        finally:
            self._busy.discard(busy)
            _NESTING[0] -= 1
        self._effects[key] = result
        return result

    def _compute_effect(self, node: cst.FunctionDef, param: str) -> Effect | None:
        from lifecycle_lint.flow import ENDED, HANDED, analyse_parameter

        scope = self.ctx.index.scopes.get(node)
        if scope is None:
            return None
        exits = analyse_parameter(self.ctx, scope, param)
        if exits is None:
            return None  # too complex: unknown
        if not exits:
            return Effect.HANDS_OVER  # never returns normally: nothing to say
        statuses = [status for status in exits]
        if all(s == ENDED for s in statuses):
            return Effect.ENDS
        if any(s == ENDED for s in statuses):
            return Effect.ENDS_SOME
        if any(s == HANDED for s in statuses):
            return Effect.HANDS_OVER
        return Effect.READS

    # --- export ---------------------------------------------------------------------

    def summary(self, name: str, node: cst.FunctionDef, bound: bool) -> FunctionSummary:
        """The whole summary of a function, every parameter included (for the project index)."""
        params, kwonly = parameters(node, bound)
        exact = _decorators_are(node, _TRANSPARENT)
        effects: dict[str, str] = {}
        if exact:
            used = _span_like_uses(node)
            for param in (*params, *kwonly):
                if param not in used:
                    continue  # nothing says it is a span: unknown (a hand-over) for callers
                effect = self.effect(node, param)
                if effect is not None:
                    effects[param] = effect.value
        return FunctionSummary(
            name=name,
            params=params,
            keyword_only=kwonly,
            returns_client=self.returns_client(node),
            returns_span=self.returns_span(node) if exact else None,
            may_raise=self.may_raise(node) if exact else True,
            effects=effects,
            exact=exact,
        )


def _is_hook(node: cst.FunctionDef) -> bool:
    """A method with an empty body (``pass``, ``...``, a docstring, ``raise
    NotImplementedError``): a hook that subclasses elsewhere override; unknown."""
    body = node.body
    statements = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else None
        if smalls is None:
            return False
        for small in smalls:
            if isinstance(small, cst.Pass):
                continue
            if isinstance(small, cst.Expr) and isinstance(
                small.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)
            ):
                continue
            if isinstance(small, cst.Raise) and "NotImplementedError" in _raised_name(small):
                continue
            return False
    return True


def _raised_name(node: cst.Raise) -> str:
    exc = node.exc
    if isinstance(exc, cst.Call):
        exc = exc.func
    return exc.value if isinstance(exc, cst.Name) else ""


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _base_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return None


#: A helper may return a span it started by one of its IDs (``return span.span_id``).
_RETURNED_IDS = frozenset({"span_id", "trace_id"})


def _not_none(values: list[cst.BaseExpression]) -> int:
    return sum(1 for value in values if not _is_none(value))


def returned_id(kind: str | None) -> str | None:
    """The ID attribute a helper returns instead of the span (``"span:span_id"``)."""
    return kind.partition(":")[2] or None if kind is not None else None


def returned_kind(kind: str | None) -> str | None:
    """``"span"`` or ``"trace"``, whether the helper returns the span or one of its IDs."""
    return kind.partition(":")[0] if kind is not None else None


def _ended_here(ctx: FileContext, node: cst.FunctionDef, name: str) -> bool:
    """The span held by ``name`` is ended in the function itself (``name.end()``, or a
    lifecycle end given one of its IDs): what is returned is not open."""
    for inner in own_nodes(node):
        if not isinstance(inner, cst.Call):
            continue
        func = inner.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "end"
            and isinstance(func.value, cst.Name)
            and func.value.value == name
        ):
            return True
        lifecycle = ctx.lifecycle_call(inner)
        if lifecycle is not None and lifecycle.kind.is_end:
            for arg in inner.args:
                value = arg.value
                if (
                    isinstance(value, cst.Attribute)
                    and isinstance(value.value, cst.Name)
                    and value.value.value == name
                ):
                    return True
    return False


def _kept_elsewhere(node: cst.FunctionDef, name: str) -> bool:
    """The span held by ``name`` is also stored or passed on in the function."""
    for inner in own_nodes(node):
        value: cst.BaseExpression | None = None
        if isinstance(inner, cst.Assign) and not all(
            isinstance(t.target, cst.Name) for t in inner.targets
        ):
            value = inner.value
        elif isinstance(inner, cst.Arg):
            value = inner.value
        elif isinstance(inner, (cst.Element, cst.DictElement)):
            value = inner.value
        if isinstance(value, cst.Name) and value.value == name:
            return True
    return False


def _span_like_uses(node: cst.FunctionDef) -> set[str]:
    """Names whose span attributes or methods are used in the function's own body."""
    names: set[str] = set()
    for inner in own_nodes(node):
        if isinstance(inner, cst.Attribute) and isinstance(inner.value, cst.Name):
            attr = inner.attr.value
            if attr in SPAN_ATTRIBUTES or attr.startswith("set_"):
                names.add(inner.value.value)
    return names
