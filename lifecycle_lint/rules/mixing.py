"""Rules about mixing APIs and traces: TLC202, TLC301-TLC304.

MLflow's fluent API (``with mlflow.start_span()``, ``@mlflow.trace``, autolog)
and its client API interoperate in one direction only: a client span may have a
fluent parent, but fluent spans never attach to a client span.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.calls import CallKind
from lifecycle_lint.rules.base import Report, Rule
from lifecycle_lint.rules.lifecycle import scope_facts
from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext

_CLIENT_KINDS = (CallKind.START_TRACE, CallKind.START_SPAN, CallKind.END_SPAN, CallKind.END_TRACE)


class CrossTraceParent(Rule):
    code = "TLC202"
    name = "cross-trace-parent"
    summary = (
        "`start_span`/`end_span` whose trace ID and parent/span ID come from different traces."
    )
    what = """
        Tracks, along each path, which trace every span and every ID read from a span belongs
        to (through assignments, tuple unpacking, attribute reads and `self` attributes within a
        method), and flags a `start_span` whose `trace_id` comes from one trace and whose
        `parent_id` from a span of another, or an `end_span` whose `trace_id` and `span_id` do.
        """
    why = """
        MLflow looks the parent up in the trace named by `trace_id`: `start_span` raises "Parent
        span ... not found", and `end_span` silently ends nothing, leaving the real span open.
        The usual cause is two traces in flight with their IDs swapped by a copy-paste.
        """
    bad = """
        first = client.start_trace("first")
        second = client.start_trace("second")
        step = client.start_span("step", first.trace_id, second.span_id)
        """
    good = """
        first = client.start_trace("first")
        second = client.start_trace("second")
        step = client.start_span("step", second.trace_id, second.span_id)
        """
    runtime_error = "`CrossTraceError` (code TLC202)."

    def check(self, ctx: FileContext) -> Iterator[Report]:
        seen = set()
        for scope in scope_facts(ctx):
            for node, trace_site, span_site in sorted(
                scope.cross_trace, key=lambda item: (item[1], item[2])
            ):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                trace_name = scope.sites[trace_site].name
                span_name = scope.sites[span_site].name
                yield Report(
                    node,
                    f"the trace ID comes from `{trace_name}` but the span ID from `{span_name}`, "
                    f"a span of another trace",
                )


class FluentUnderClientSpan(Rule):
    code = "TLC301"
    name = "fluent-under-client-span"
    summary = "A fluent tracing API used while a client span is open: it will not attach to it."
    what = """
        Flags `with mlflow.start_span(...)`, `mlflow.update_current_trace(...)`,
        `mlflow.get_current_active_span()` and calls of this module's `@mlflow.trace` functions
        on a path where a span started with `client.start_trace`/`client.start_span` is open.
        """
    why = """
        Client spans are never the fluent API's "current" span. A fluent span started there
        becomes a separate trace (or attaches to an unrelated fluent parent), and
        `update_current_trace`/`get_current_active_span` act on something else: the trace the
        user is looking at is split in two.
        """
    bad = """
        root = client.start_trace("agent")
        with mlflow.start_span("tool") as tool:
            tool.set_inputs({"q": 1})
        client.end_trace(root.trace_id)
        """
    good = """
        root = client.start_trace("agent")
        tool = client.start_span("tool", root.trace_id, root.span_id)
        client.end_span(root.trace_id, tool.span_id)
        client.end_trace(root.trace_id)
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        seen = set()
        for scope in scope_facts(ctx):
            for node, site in sorted(scope.fluent_under_client, key=lambda item: item[1]):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                opened = scope.sites[site]
                yield Report(
                    node,
                    f"fluent tracing used while client span `{opened.name}` (line "
                    f"{ctx.line_of(opened.call.node)}) is open: it will not attach to it",
                )


class ClientTraceUnderFluentSpan(Rule):
    code = "TLC302"
    name = "client-trace-under-fluent-span"
    summary = (
        "`client.start_trace` inside `with mlflow.start_span()` or an `@mlflow.trace` function."
    )
    what = """
        Flags `client.start_trace(...)` lexically inside a `with mlflow.start_span(...)` block,
        or inside a function decorated with `@mlflow.trace` (with or without arguments, any
        import spelling).
        """
    why = """
        MLflow raises when a client trace is started while a fluent span is active. Start a
        child of the fluent span instead: `client.start_span(..., trace_id=span.trace_id,
        parent_id=span.span_id)` is the supported direction of mixing.
        """
    bad = """
        with mlflow.start_span("request") as parent:
            root = client.start_trace("work")
            client.end_trace(root.trace_id)
        """
    good = """
        with mlflow.start_span("request") as parent:
            child = client.start_span("work", parent.trace_id, parent.span_id)
            client.end_span(parent.trace_id, child.span_id)
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        from lifecycle_lint.flow import is_fluent_start, is_trace_decorator

        for call in ctx.lifecycle_calls:
            if call.kind is not CallKind.START_TRACE:
                continue
            for ancestor in ctx.index.ancestors(call.node):
                if isinstance(ancestor, cst.With) and any(
                    is_fluent_start(ctx, item.item, ctx.index.scope_of(ancestor))
                    for item in ancestor.items
                ):
                    yield Report(
                        call.node,
                        "`start_trace` inside `with mlflow.start_span()`: MLflow raises; start "
                        "a child span of the fluent span instead",
                    )
                    break
                if isinstance(ancestor, cst.FunctionDef):
                    outer = ctx.index.scope_of(ancestor)
                    if any(is_trace_decorator(ctx, d, outer) for d in ancestor.decorators):
                        yield Report(
                            call.node,
                            "`start_trace` inside an `@mlflow.trace` function: MLflow raises; "
                            "start a child span of `mlflow.get_current_active_span()` instead",
                        )
                    break
                if isinstance(ancestor, (cst.Lambda, cst.ClassDef)):
                    break


class ClientEndsFluentSpan(Rule):
    code = "TLC303"
    name = "client-ends-fluent-span"
    summary = "`client.end_span`/`end_trace` on a span bound by `with mlflow.start_span()`."
    what = """
        Flags `client.end_span(...)` whose `span_id`, and `client.end_trace(...)` whose
        `trace_id`, is read from a span bound by `with mlflow.start_span(...) as span`.
        """
    why = """
        The `with` block ends its fluent span itself. Ending it through the client as well ends
        it twice, and breaks the fluent context: spans started later in the block attach to a
        span that is already ended.
        """
    bad = """
        with mlflow.start_span("step") as span:
            client.end_span(span.trace_id, span.span_id)
        """
    good = """
        with mlflow.start_span("step") as span:
            span.set_outputs({"done": True})
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        from lifecycle_lint.flow import is_fluent_start
        from lifecycle_lint.scopes import BindingKind

        for call in ctx.lifecycle_calls:
            if call.kind is CallKind.END_SPAN:
                value = call.arg("span_id")
            elif call.kind is CallKind.END_TRACE:
                value = call.arg(facts.TRACE_ID_PARAM)
            else:
                continue
            if not (
                isinstance(value, cst.Attribute)
                and value.attr.value in facts.SPAN_ID_ATTRS
                and isinstance(value.value, cst.Name)
            ):
                continue
            bindings = ctx.index.lookup(value.value.value, call.scope)
            if bindings and all(
                b.kind is BindingKind.WITH
                and b.value is not None
                and is_fluent_start(ctx, b.value, ctx.index.scope_of(b.node))
                for b in bindings
            ):
                yield Report(
                    call.node,
                    f"`{call.kind.value}` on `{value.value.value}`, a fluent span: the `with` "
                    f"block ends it; ending it through the client breaks the fluent context",
                )


class ClientApiWithAutolog(Rule):
    code = "TLC304"
    name = "client-api-with-autolog"
    summary = "A module that enables autologging and also drives the client span API."
    what = """
        Flags each `mlflow.autolog()` or `mlflow.<flavor>.autolog()` call (any import spelling;
        `autolog(disable=True)` excepted) in a module that also calls the client's
        `start_trace`/`start_span`/`end_span`/`end_trace`.
        """
    why = """
        Autologging creates fluent spans for the library calls it patches; those never attach to
        client spans, so a request traced by hand comes out as several disconnected traces.
        Use one API per code path: either autolog (and fluent spans around it), or the client.
        """
    bad = """
        mlflow.openai.autolog()
        root = client.start_trace("chat")
        client.end_trace(root.trace_id)
        """
    good = """
        mlflow.openai.autolog()
        with mlflow.start_span("chat") as span:
            span.set_inputs({"q": "hi"})
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        if not any(call.kind in _CLIENT_KINDS for call in ctx.lifecycle_calls):
            return
        for call in ctx.index.calls:
            func = call.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == facts.AUTOLOG) and not (
                isinstance(func, cst.Name) and func.value == facts.AUTOLOG
            ):
                continue
            qualified = ctx.index.qualify(
                func, ctx.index.call_scopes.get(call) or ctx.index.scope_of(call)
            )
            if qualified is None or not facts.is_autolog_name(qualified):
                continue
            if _disables(call):
                continue
            yield Report(
                call,
                f"`{qualified}()` in a module that drives the client span API: autologged spans "
                f"will not attach to client spans",
            )


def _disables(call: cst.Call) -> bool:
    import libcst as cst

    return any(
        arg.keyword is not None
        and arg.keyword.value == "disable"
        and isinstance(arg.value, cst.Name)
        and arg.value.value == "True"
        for arg in call.args
    )
