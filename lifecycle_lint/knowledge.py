"""What a name is beyond one function, and why: the one place that answers it.

The bindings (lifecycle_lint.scopes) know what a name is from its own scope
(``client = MlflowClient()``, ``client: MlflowClient``). When they cannot tell,
they ask this module, which consults, in order:

1. semantics the user declared (``client-factories``, ``span-starters``,
   ``span-enders`` in ``[tool.lifecycle-lint]``), for code no index can see;
2. function summaries (lifecycle_lint.summaries) of the module's own functions and
   methods, closures included;
3. the project index (lifecycle_lint.project): clients, factories, starters and
   ending helpers defined in another module of the project;
4. usage evidence (lifecycle_lint.evidence): MLflow's own keywords on a receiver.

Every positive answer is a reason in words, which the messages of findings that
rest on it repeat.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

import libcst as cst

from lifecycle_lint.evidence import Evidence
from lifecycle_lint.scopes import BindingKind, Scope
from lifecycle_lint.summaries import (
    Callee,
    Effect,
    FunctionSummary,
    Summaries,
    _decorator_name,
    returned_id,
)

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext
    from lifecycle_lint.project import ModuleSummary, ProjectIndex

_PROPERTIES = frozenset({"property", "cached_property"})
#: Words that make a kept call worth a look into another module for a wrapper starter.
_SPAN_NAMES = re.compile(r"span|^sp$|^root|^child", re.I)  # span = t.begin(...)
_STARTING_NAMES = re.compile(r"start|begin|span", re.I)  # x = tracing.start_step(...)


def _matches(patterns: tuple[str, ...], qualified: str | None) -> bool:
    return qualified is not None and any(fnmatch.fnmatchcase(qualified, p) for p in patterns)


class Knowledge:
    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.summaries = Summaries(ctx)
        self.evidence = Evidence(ctx)
        self._project: ProjectIndex | None | bool = False
        self._callees: dict[tuple[cst.Call, str], Callee | None] = {}
        self._busy: set[int] = set()

    @property
    def project(self) -> ProjectIndex | None:
        if self._project is False:
            from lifecycle_lint.project import index_for

            self._project = index_for(self.ctx.path, self.ctx.settings)
        return self._project  # type: ignore[return-value]

    # --- clients ------------------------------------------------------------------

    def client_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """Why ``expr`` is an MLflow client, when only knowledge beyond its scope says so."""
        key = id(expr)
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            return self._client_reason(expr, scope)
        finally:
            self._busy.discard(key)

    def _client_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        index = self.ctx.index
        settings = self.ctx.settings
        if isinstance(expr, cst.Call):
            func = expr.func
            if not isinstance(func, (cst.Name, cst.Attribute)):
                return None
            qualified = index.qualify(func, scope)
            if settings.client_factories and _matches(settings.client_factories, qualified):
                return f"`{qualified}` is declared in `client-factories`"
            callee = self.callee(expr, scope, across="client")
            if callee is not None and callee.returns_client:
                return f"`{self.ctx.short_source(func)}(...)` returns a client{callee.where}"
            return None
        if isinstance(expr, cst.Name):
            bindings = index.lookup(expr.value, scope)
            imported = {b.qualified for b in bindings if b.kind is BindingKind.IMPORT}
            if bindings and len(imported) == 1 and len(bindings) == 1:
                found = self._resolve(imported.pop())
                if found is not None and found.kind == "client":
                    return f"`{expr.value}` is the client defined in {found.where}"
                return None
            values = [b.value for b in bindings if b.kind is BindingKind.VALUE and b.value]
            for value in values:
                if isinstance(value, cst.Call) and index.is_client(expr, scope):
                    reason = self.client_reason(value, index.scope_of(value))
                    if reason is not None:
                        return reason
            return self._keyword_reason(expr, scope)
        if isinstance(expr, cst.Attribute):
            info = index.self_class(expr.value, scope)
            if info is not None:
                method = self.summaries.method(info.node, expr.attr.value)
                if (
                    method is not None
                    and any(_decorator_name(d) in _PROPERTIES for d in method.decorators)
                    and self.summaries.returns_client(method)
                ):
                    return f"the property `{expr.attr.value}` returns a client"
                return self._keyword_reason(expr, scope)
            qualified = index.qualify(expr, scope)
            if qualified is not None:
                found = self._resolve(qualified)
                if found is not None and found.kind == "client":
                    return f"`{self.ctx.short_source(expr)}` is the client defined in {found.where}"
        return None

    def _keyword_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        calls = self.evidence.client_calls(expr, scope)
        if not calls:
            return None
        call = self.evidence.witness(calls)
        method = call.func.attr.value  # type: ignore[attr-defined]
        return (
            f"`{self.ctx.short_source(expr)}` is taken for an MLflow client: its `{method}` "
            f"on line {self.ctx.line_of(call)} passes MLflow's own keywords"
        )

    def _resolve(self, qualified: str | None):  # type: ignore[no-untyped-def]
        if qualified is None or self.project is None:
            return None
        return self.project.resolve(qualified, want="client")

    # --- callees ------------------------------------------------------------------

    def callee(self, call: cst.Call, scope: Scope, *, across: str = "any") -> Callee | None:
        """The function ``call`` runs, when this run can see it (or it is declared).

        ``across``: how far to look into other modules of the project. ``"any"``: fully
        (a span is passed to it); ``"starter"``: only if it may return a span it starts
        (``span = helper()``), ``"client"``: only if it may return a client (cheap looks
        first); ``"none"``: this module only.
        """
        key = (call, across)
        if key in self._callees:
            return self._callees[key]
        self._callees[key] = None  # recursion: unknown while being resolved
        found = self._find_callee(call, scope, across)
        self._callees[key] = found
        return found

    def _find_callee(self, call: cst.Call, scope: Scope, across: str) -> Callee | None:
        func = call.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        settings = self.ctx.settings
        if settings.span_starters or settings.span_enders:
            qualified = self.ctx.index.qualify(func, scope)
            if _matches(settings.span_starters, qualified):
                return _declared(qualified, "span", None)
            if _matches(settings.span_enders, qualified):
                return _declared(qualified, None, Effect.ENDS)
        local = self.summaries.local_callee(call, scope)
        if local is not None or across == "none":
            return local
        qualified = self.ctx.index.qualify(func, scope)
        if qualified is None or self.project is None:
            return None
        found = self.project.resolve(qualified, want=across)
        if found is None or found.summary is None:
            return None
        summary = found.summary
        return Callee(
            summary.name,
            params=summary.params,
            keyword_only=summary.keyword_only,
            summary=summary,
            where=f" (in {found.where})",
        )

    def helper_start_scopes(self) -> list[Scope]:
        """Scopes that call a helper returning a span it started (the caller owns it)."""
        index = self.ctx.index
        found: dict[int, Scope] = {}
        local_names = self.summaries.starter_names()
        for call in index.calls:
            if self.ctx.lifecycle_call(call) is not None:
                continue
            scope = index.call_scopes.get(call)
            if scope is None or id(scope.node) in found:
                continue
            if not isinstance(call.func, (cst.Name, cst.Attribute)):
                continue
            if not isinstance(index.parents.get(call), (cst.Assign, cst.AnnAssign)):
                continue  # only a kept result can be a span the caller must end
            across = self.reach(call)
            if across == "none" and _last_name(call.func) not in local_names:
                continue  # no function of this module by that name may start a span
            callee = self.callee(call, scope, across=across)
            if callee is not None and callee.returns_span is not None:
                found[id(scope.node)] = scope
        return list(found.values())

    def reach(self, call: cst.Call, passes_span: bool = False) -> str:
        """How far to look for ``call``'s function (see ``callee``)."""
        if passes_span:
            return "span-user"
        parent = self.ctx.index.parents.get(call)
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return "none"
        # Another module is asked whether a function starts spans only when the call or
        # the name it is kept in says so (``span = t.begin(...)``, ``root = new_trace()``):
        # reading a module for every ``x = helper()`` of a project costs too much.
        targets = (
            [t.target for t in parent.targets]
            if isinstance(parent, cst.Assign)
            else [parent.target]
        )
        spanlike = any(_SPAN_NAMES.search(_last_name(t)) for t in targets)
        starting = _STARTING_NAMES.search(_last_name(call.func)) is not None
        return "starter" if spanlike or starting else "none"

    def starts_span(self, call: cst.Call) -> bool:
        """``call`` is a helper returning a span it started."""
        scope = self.ctx.index.call_scopes.get(call) or self.ctx.index.scope_of(call)
        callee = self.callee(call, scope, across=self.reach(call))
        # A helper that returns only an ID of the span it starts gives no span to hold.
        return (
            callee is not None
            and callee.returns_span is not None
            and (returned_id(callee.returns_span) is None)
        )

    # --- spans by evidence --------------------------------------------------------

    def span_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        return self.evidence.span_reason(expr, scope)

    # --- may raise (the seam for the exception model) -----------------------------

    def body_may_raise(self, node: cst.FunctionDef) -> bool:
        """Whether a function's body may raise: a minimal local predicate.

        The one place summaries ask; ``for`` steps are judged by the exception model
        (lifecycle_lint.exception_model), and a call the model excuses in the caller is
        excused there too (flow.py asks both). Here: any ``raise``, ``assert``,
        ``await``, ``yield`` or ``with``, a ``for`` step the model suspects, and any call that
        is not a lifecycle call (or in one's arguments), a span's own method on a
        parameter, a call the exception model excuses, or a summarised function that does
        not raise. The model is the same as in the caller's own body (a helper that only
        does ``str(text)[:n]`` raises no more than the same code written inline); its
        entries that depend on the arguments (``int(x)`` of arithmetic, not of a string)
        judge the helper's arguments as written in the helper.
        """
        from lifecycle_lint import exception_model

        scope = self.ctx.index.scopes.get(node)
        if scope is None:
            return True
        params = set(scope.bindings)
        for inner in _unguarded_nodes(node):
            if isinstance(inner, (cst.Raise, cst.Assert, cst.Await, cst.Yield, cst.With)):
                return True
            if isinstance(inner, cst.For) and exception_model.iteration_may_raise(
                inner.iter, self.ctx
            ):
                return True
            if not isinstance(inner, cst.Call):
                continue
            if self.ctx.lifecycle_call(inner) is not None or _quiet(inner):
                continue
            if not exception_model.call_may_raise(inner, self.ctx):
                continue
            if self._in_lifecycle_arguments(inner):
                continue
            func = inner.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value in params
                and any(b.kind is BindingKind.PARAM for b in scope.bindings[func.value.value])
                and (func.attr.value.startswith("set_") or func.attr.value == "end")
            ):
                continue  # a span's own methods
            callee = self.callee(inner, scope, across="none")
            if callee is None or callee.may_raise:
                return True
        return False

    def _in_lifecycle_arguments(self, call: cst.Call) -> bool:
        for ancestor in self.ctx.index.ancestors(call):
            if isinstance(ancestor, cst.Call) and self.ctx.lifecycle_call(ancestor) is not None:
                return True
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    # --- export for the project index ---------------------------------------------

    def module_summary(self) -> ModuleSummary:
        from lifecycle_lint.project import ModuleSummary

        index = self.ctx.index
        module_scope = index.module_scope
        clients: list[str] = []
        functions: dict[str, cst.FunctionDef] = {}
        imports: dict[str, str] = {}
        for name, bindings in module_scope.bindings.items():
            if len(bindings) == 1 and bindings[0].kind is BindingKind.IMPORT:
                qualified = bindings[0].qualified
                if qualified is not None:
                    imports[name] = qualified
                continue
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                functions[name] = bindings[0].node
                continue
            if all(b.kind is BindingKind.VALUE for b in bindings) and index.is_client(
                cst.Name(name), module_scope
            ):
                clients.append(name)

        def compute(name: str) -> FunctionSummary | None:
            node = functions.get(name)
            return None if node is None else self.summaries.summary(name, node, bound=False)

        return ModuleSummary(
            self.ctx.path, tuple(clients), {}, imports, frozenset(functions), compute
        )


def _unguarded_nodes(node: cst.FunctionDef) -> list[cst.CSTNode]:
    """A function's own nodes, less the bodies of ``try`` blocks whose handler catches
    every exception (``except Exception:``): what raises there does not leave."""
    from lifecycle_lint.walk import SCOPE_NODES, children

    result: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        result.append(current)
        if isinstance(current, cst.Try) and any(_catches_all(h) for h in current.handlers):
            kids: list[cst.CSTNode] = list(current.handlers)
            kids += [part for part in (current.orelse, current.finalbody) if part is not None]
        else:
            kids = list(children(current))
        stack.extend(k for k in kids if not isinstance(k, (*SCOPE_NODES, cst.Lambda)))
    return result


def _catches_all(handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return any(_last_name(name) in ("Exception", "BaseException") for name in names)


def _last_name(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return expr.value if isinstance(expr, cst.Name) else ""


_LOGGING_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)
_LOGGER_NAMES = frozenset({"logging", "logger", "_logger", "log", "_log", "LOGGER", "LOG"})


def _quiet(call: cst.Call) -> bool:
    """A logging call (``logger.debug(...)``): handlers report their own errors."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _LOGGING_METHODS:
        return False
    return _last_name(func.value) in _LOGGER_NAMES


def _declared(qualified: str | None, returns_span: str | None, effect: Effect | None) -> Callee:
    """A callee declared in the configuration: it takes any arguments."""
    summary = FunctionSummary(
        name=qualified or "",
        params=(),
        returns_span=returns_span,
        may_raise=True,
        effects={},
    )

    class _Declared(Callee):
        def effect(self, param: str) -> Effect | None:
            return effect

        def bind(self, call: cst.Call):  # type: ignore[no-untyped-def,override]
            for i, arg in enumerate(call.args):
                yield arg, (arg.keyword.value if arg.keyword is not None else f"#{i}")

    return _Declared(
        qualified or "", params=(), summary=summary, where=" (declared in the configuration)"
    )
