"""Rules about the IDs passed to lifecycle calls: TLC201, TLC203, TLC204."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.calls import CallKind
from lifecycle_lint.rules.base import Replacement, Report, Rule
from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext

_ID_PARAMS_BY_KIND: dict[CallKind, tuple[str, ...]] = {
    CallKind.START_SPAN: (facts.TRACE_ID_PARAM, "parent_id"),
    CallKind.END_SPAN: (facts.TRACE_ID_PARAM, "span_id"),
    CallKind.END_TRACE: (facts.TRACE_ID_PARAM,),
}


class HardcodedId(Rule):
    code = "TLC201"
    name = "hardcoded-id"
    summary = "A literal passed as a trace or span ID of a lifecycle call."
    what = """
        Flags a string, integer or bytes literal (an f-string made only of literals, or a
        name bound only to such a literal, module constants included) passed as
        `trace_id`/`request_id`, `span_id` or `parent_id` to `start_span`, `end_span` or
        `end_trace`, by keyword or by position.
        """
    why = """
        MLflow generates every trace and span ID. A typed-in ID never matches a live span:
        `end_span` on it is silently ignored by MLflow (the real span stays open and its trace
        is never exported), and `start_span` under it raises "Parent span not found". IDs must
        be read from the span object that `start_trace`/`start_span` returned.
        """
    bad = """
        root = client.start_trace("agent")
        child = client.start_span("tool", trace_id="tr-1234", parent_id=root.span_id)
        """
    good = """
        root = client.start_trace("agent")
        child = client.start_span("tool", trace_id=root.trace_id, parent_id=root.span_id)
        """
    runtime_error = "`UnknownTraceError` / `UnknownSpanError` (code TLC201)."
    more_bad = (
        """
        TRACE = "tr-0"
        client.end_trace(TRACE)
        """,
    )
    more_good = (
        """
        parent = {"trace_id": root.trace_id}
        client.end_trace(parent["trace_id"])
        """,
    )

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call in ctx.lifecycle_calls:
            for param in _ID_PARAMS_BY_KIND.get(call.kind, ()):
                value = call.arg(param)
                if value is not None and ctx.index.literal_of(value, call.scope):
                    shown = ctx.short_source(value)
                    yield Report(
                        value,
                        f"hardcoded {param} {shown} passed to `{call.kind.value}`: "
                        f"read the ID from the span that started it",
                    )


class MissingParent(Rule):
    code = "TLC203"
    name = "missing-parent"
    summary = "`client.start_span` without a `parent_id`, or with `parent_id=None`."
    what = """
        Flags `client.start_span(...)` calls that pass no `parent_id` (by keyword or in the
        third position) or pass `None` (literally, or a name bound only to `None`).
        """
    why = """
        The client API has no implicit parent: `start_span` without a parent raises "Parent
        span ... not found" in MLflow 3 (and created a dangling span in older releases). A new
        trace is started with `start_trace`, a child with the parent's `span_id`.
        """
    bad = """
        root = client.start_trace("agent")
        step = client.start_span("step", trace_id=root.trace_id)
        """
    good = """
        root = client.start_trace("agent")
        step = client.start_span("step", trace_id=root.trace_id, parent_id=root.span_id)
        """
    runtime_error = "`MissingParentError` (code TLC203)."
    more_bad = (
        """
        client.start_span("step", root.trace_id, None)
        """,
    )
    more_good = (
        """
        client.start_span("step", root.trace_id, root.span_id)
        """,
        """
        client.start_span("step", **kwargs)
        """,
    )

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call in ctx.lifecycle_calls:
            if call.kind is not CallKind.START_SPAN:
                continue
            parent = call.arg("parent_id")
            if parent is None and not call.has_unpacking:
                yield Report(
                    call.node,
                    "`start_span` without `parent_id`: MLflow raises; "
                    "pass the parent's `span_id` (use `start_trace` for a root)",
                )
            elif parent is not None and _is_none_value(ctx, parent, call.scope):
                yield Report(
                    call.node,
                    "`start_span` with `parent_id=None`: MLflow raises; "
                    "pass the parent's `span_id` (use `start_trace` for a root)",
                )


def _is_none_value(ctx: FileContext, expr: cst.BaseExpression, scope: object) -> bool:
    import libcst as cst

    if isinstance(expr, cst.Name) and expr.value == "None":
        return True
    if isinstance(expr, cst.Name):
        bindings = ctx.index.lookup(expr.value, scope)  # type: ignore[arg-type]
        return bool(bindings) and all(
            b.value is not None and isinstance(b.value, cst.Name) and b.value.value == "None"
            for b in bindings
        )
    return False


class DeprecatedRequestId(Rule):
    code = "TLC204"
    name = "deprecated-request-id"
    summary = "`request_id` used where MLflow 3 names it `trace_id`."
    what = """
        Flags the `request_id=` keyword of a lifecycle call (also as a key of a dict passed
        with `**`) and `.request_id` read from a known span (started here, returned by
        `mlflow.get_current_active_span()`, or a value whose `.span_id` is passed as an
        ID: a parameter, or a value taken out of a container or returned by a call the
        file cannot see into), when the target MLflow is 3.x (the default, or inferred
        from the project's pins; set `--mlflow-version 2` for code that must run on
        MLflow 2). Reads of
        `request_id` from other objects (`trace.info.request_id`, a serving context) are
        not flagged, nor a read that is only the MLflow 2 fallback of `.trace_id`
        (`getattr(span, "trace_id", None) or span.request_id`, or under a test of
        `hasattr(span, "trace_id")`): MLflow 3 never runs it.
        """
    why = """
        MLflow 3 renamed `request_id` to `trace_id`. The old spelling still works but emits a
        deprecation warning on every call and will be removed.
        """
    bad = """
        root = client.start_trace("agent")
        client.end_trace(request_id=root.request_id)
        """
    good = """
        root = client.start_trace("agent")
        client.end_trace(trace_id=root.trace_id)
        """
    fix_safety = """
        Safe: `--fix` renames the keyword and the attribute to `trace_id`. MLflow 3 accepts
        both spellings with the same meaning.
        """
    runtime_error = "`DeprecationWarning` from the runtime client when `request_id=` is used."

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        if ctx.settings.mlflow_major < 3:
            return
        new_name = cst.Name(facts.TRACE_ID_PARAM)
        seen_keys: set[int] = set()
        for call in ctx.lifecycle_calls:
            keyword_arg = call.request_id_keyword
            if (
                keyword_arg is not None
                and keyword_arg.keyword is not None
                and id(keyword_arg) not in seen_keys  # one `dict(request_id=...)`, many calls
            ):
                seen_keys.add(id(keyword_arg))
                splatted = all(arg is not keyword_arg for arg in call.node.args)
                where = f"`dict(...)` passed with `**` to `{call.kind.value}`"
                yield Report(
                    keyword_arg.keyword,
                    f"`request_id=` is deprecated in MLflow 3: use `trace_id=` in "
                    f"{where if splatted else f'`{call.kind.value}`'}",
                    Replacement(
                        keyword_arg.keyword, new_name, "rename `request_id=` to `trace_id=`"
                    ),
                )
            key = call.request_id_key
            if key is not None and id(key) not in seen_keys:
                seen_keys.add(id(key))
                quote = f"{key.prefix}{key.quote}"
                renamed = cst.SimpleString(f"{quote}{facts.TRACE_ID_PARAM}{key.quote}")
                yield Report(
                    key,
                    f'`"request_id"` (passed with `**` to `{call.kind.value}`) is deprecated in '
                    f'MLflow 3: use `"trace_id"`',
                    Replacement(key, renamed, 'rename the key `"request_id"` to `"trace_id"`'),
                )
        for attribute in ctx.index.attributes.get(facts.REQUEST_ID_PARAM, ()):
            if _mlflow2_fallback(ctx, attribute):
                continue
            scope = ctx.index.scope_of(attribute)
            evidence = None
            if not ctx.is_span(attribute.value, scope):
                # Usage evidence (lifecycle_lint.evidence): a span this scope does not own.
                evidence = ctx.knowledge.span_reason(attribute.value, scope)
                if evidence is None:
                    continue
            shown = ctx.short_source(attribute.value)
            because = f" (`{shown}` is a span: {evidence})" if evidence else ""
            yield Report(
                attribute.attr,
                f"`{shown}.request_id` is deprecated in MLflow 3: use `.trace_id`{because}",
                Replacement(attribute.attr, new_name, "rename `.request_id` to `.trace_id`"),
            )


def _mlflow2_fallback(ctx: FileContext, attribute: cst.Attribute) -> bool:
    """``.request_id`` read only where ``.trace_id`` is missing, for MLflow 2:
    ``getattr(root, "trace_id", None) or root.request_id``, ``root.trace_id if
    hasattr(root, "trace_id") else root.request_id``, an ``if``/``else`` on the same
    test. MLflow 3 never runs the read, and renaming it would break the fallback."""
    import libcst as cst

    holder = ctx.short_source(attribute.value)
    child: cst.CSTNode = attribute
    for ancestor in ctx.index.ancestors(attribute):
        test: cst.CSTNode | None = None
        if isinstance(ancestor, cst.BooleanOperation) and isinstance(ancestor.operator, cst.Or):
            test = ancestor.left if child is ancestor.right else None
        elif isinstance(ancestor, (cst.IfExp, cst.If)) and child is not ancestor.test:
            test = ancestor.test
        elif isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
        if test is not None:
            text = ctx.source_of(test)
            if facts.TRACE_ID_PARAM in text and holder in text:
                return True
        child = ancestor
    return False
