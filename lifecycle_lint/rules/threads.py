"""TLC501: one client object used from functions run on other threads, without a lock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.calls import CallKind
from lifecycle_lint.rules.base import Report, Rule

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext
    from lifecycle_lint.scopes import Scope

_CLIENT_KINDS = (CallKind.START_TRACE, CallKind.START_SPAN, CallKind.END_SPAN, CallKind.END_TRACE)
_THREAD = "threading.Thread"
_TO_THREAD = "asyncio.to_thread"
_EXECUTORS = frozenset(
    {"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.thread.ThreadPoolExecutor"}
)
_LOCKS = frozenset(
    {"threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore"}
)


class ClientSharedAcrossThreads(Rule):
    code = "TLC501"
    name = "client-shared-across-threads"
    summary = "One client object used from a function run on other threads, without a lock."
    default_enabled = False
    what = """
        Off unless selected. Flags each lifecycle call on a client that is not created inside
        the function, when the function is handed to `threading.Thread(target=...)`,
        `ThreadPoolExecutor.submit/map` or `asyncio.to_thread`, and the call is not inside a
        `with <lock>:` block (a `threading.Lock`/`RLock`/`Semaphore`).
        """
    why = """
        Teams that wrap the client with their own bookkeeping (span registries, ID maps) make it
        unsafe to share; this opt-in rule finds every unguarded use so that each can be reviewed.
        The runtime client (`lifecycle_runtime.TraceClient`) is thread-safe and needs no lock.
        """
    bad = """
        from concurrent.futures import ThreadPoolExecutor


        def work(root):
            step = client.start_span("step", root.trace_id, root.span_id)
            client.end_span(root.trace_id, step.span_id)


        root = client.start_trace("batch")
        with ThreadPoolExecutor() as pool:
            pool.submit(work, root)
        client.end_trace(root.trace_id)
        """
    good = """
        import threading
        from concurrent.futures import ThreadPoolExecutor

        lock = threading.Lock()


        def work(root):
            with lock:
                step = client.start_span("step", root.trace_id, root.span_id)
                client.end_span(root.trace_id, step.span_id)


        root = client.start_trace("batch")
        with ThreadPoolExecutor() as pool:
            pool.submit(work, root)
        client.end_trace(root.trace_id)
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for function in _thread_functions(ctx):
            scope = ctx.index.scopes.get(function)
            if scope is None:
                continue
            for call in ctx.lifecycle_calls:
                if call.kind not in _CLIENT_KINDS or call.receiver is None:
                    continue
                if not _inside(ctx, call.node, function) or _created_in(ctx, call.receiver, scope):
                    continue
                if _under_lock(ctx, call.node, function):
                    continue
                yield Report(
                    call.node,
                    f"client used in `{function.name.value}`, which runs on another thread, "
                    f"without a lock held",
                )


def _thread_functions(ctx: FileContext) -> list[cst.FunctionDef]:
    """Functions of this module handed to a thread, an executor or ``asyncio.to_thread``."""
    import libcst as cst

    found: list[cst.FunctionDef] = []
    for call in ctx.index.calls:
        scope = ctx.index.call_scopes.get(call) or ctx.index.scope_of(call)
        target: cst.BaseExpression | None = None
        func = call.func
        qualified = (
            ctx.index.qualify(func, scope) if isinstance(func, (cst.Name, cst.Attribute)) else None
        )
        if qualified == _THREAD:
            target = next(
                (
                    a.value
                    for a in call.args
                    if a.keyword is not None and a.keyword.value == "target"
                ),
                None,
            )
        elif qualified == _TO_THREAD and call.args:
            target = call.args[0].value
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("submit", "map")
            and call.args
            and _is_executor(ctx, func.value, scope)
        ):
            target = call.args[0].value
        function = _function_named(ctx, target, scope)
        if function is not None and function not in found:
            found.append(function)
    return found


def _is_executor(ctx: FileContext, expr: cst.BaseExpression, scope: Scope) -> bool:
    import libcst as cst

    from lifecycle_lint.scopes import BindingKind

    if not isinstance(expr, cst.Name):
        return False
    bindings = ctx.index.lookup(expr.value, scope)
    return bool(bindings) and all(
        b.kind in (BindingKind.VALUE, BindingKind.WITH)
        and isinstance(b.value, cst.Call)
        and ctx.index.qualify(b.value.func, scope) in _EXECUTORS
        for b in bindings
    )


def _function_named(
    ctx: FileContext, target: cst.BaseExpression | None, scope: Scope
) -> cst.FunctionDef | None:
    import libcst as cst

    from lifecycle_lint.scopes import BindingKind

    if not isinstance(target, cst.Name):
        return None
    bindings = ctx.index.lookup(target.value, scope)
    if len(bindings) == 1 and bindings[0].kind is BindingKind.DEFINITION:
        node = bindings[0].node
        return node if isinstance(node, cst.FunctionDef) else None
    return None


def _inside(ctx: FileContext, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
    return any(ancestor is function for ancestor in ctx.index.ancestors(node))


def _created_in(ctx: FileContext, receiver: cst.BaseExpression, scope: Scope) -> bool:
    """The client is the function's own (a local made there): not shared."""
    import libcst as cst

    if isinstance(receiver, cst.Call):
        return True
    if isinstance(receiver, cst.Name):
        return receiver.value in scope.bindings and all(
            b.value is not None for b in scope.bindings[receiver.value]
        )
    return False


def _under_lock(ctx: FileContext, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
    import libcst as cst

    for ancestor in ctx.index.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, cst.With):
            for item in ancestor.items:
                if _is_lock(ctx, item.item, ctx.index.scope_of(ancestor)):
                    return True
    return False


def _is_lock(ctx: FileContext, expr: cst.BaseExpression, scope: Scope) -> bool:
    import libcst as cst

    from lifecycle_lint.scopes import BindingKind

    if isinstance(expr, cst.Call):
        return ctx.index.qualify(expr.func, scope) in _LOCKS
    name = expr.attr.value if isinstance(expr, cst.Attribute) else getattr(expr, "value", "")
    if isinstance(expr, cst.Attribute) and "lock" in name.lower():
        return True  # ``self._lock``: named for what it is
    if isinstance(expr, cst.Name):
        bindings = ctx.index.lookup(expr.value, scope)
        if bindings and all(
            b.kind is BindingKind.VALUE
            and isinstance(b.value, cst.Call)
            and ctx.index.qualify(b.value.func, ctx.index.scope_of(b.node)) in _LOCKS
            for b in bindings
        ):
            return True
        return "lock" in name.lower()
    return False
