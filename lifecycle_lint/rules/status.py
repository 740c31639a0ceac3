"""Rules about the status a span or trace is ended with: TLC401, TLC402."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.calls import CallKind
from lifecycle_lint.rules.base import Replacement, Report, Rule
from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.calls import LifecycleCall
    from lifecycle_lint.context import FileContext

_END_KINDS = (CallKind.END_SPAN, CallKind.END_TRACE, CallKind.SPAN_END)

#: Misspellings whose intent is certain, fixed by ``--fix``.
_CERTAIN_STATUS = {
    **{s.lower(): s for s in facts.VALID_STATUSES},
    "failed": facts.STATUS_ERROR,
    "failure": facts.STATUS_ERROR,
    "fail": facts.STATUS_ERROR,
    "success": facts.STATUS_OK,
    "succeeded": facts.STATUS_OK,
    "successful": facts.STATUS_OK,
}

#: Exceptions that end an iteration normally: a span ended OK there is correct.
_NORMAL_END_EXCEPTIONS = frozenset({"StopIteration", "StopAsyncIteration", "GeneratorExit"})
_BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException"})


class InvalidStatus(Rule):
    code = "TLC401"
    name = "invalid-status"
    summary = 'A `status` literal other than `"OK"`, `"ERROR"` or `"UNSET"`.'
    what = """
        Flags a string literal (or a name bound only to one) passed as the `status` of
        `end_span`, `end_trace` or `span.end()`, by keyword or by position, that is not one of
        MLflow's status codes `"OK"`, `"ERROR"`, `"UNSET"`. Case matters.
        """
    why = """
        MLflow converts the string to `SpanStatusCode` and raises on anything else, at the
        moment the span ends: the span is then left open and its trace is never exported.
        `"ok"`, `"error"` and `"FAILED"` all fail this way.
        """
    bad = """
        client.end_span(root.trace_id, child.span_id, status="failed")
        """
    good = """
        client.end_span(root.trace_id, child.span_id, status="ERROR")
        """
    fix_safety = """
        Safe where the intent is certain: a different case of a valid code (`"ok"` to `"OK"`)
        and the usual words for failure and success (`"failed"`, `"failure"`, `"fail"` to
        `"ERROR"`; `"success"`, `"succeeded"`, `"successful"` to `"OK"`). Other values and
        values behind a constant are left for a person to decide.
        """
    runtime_error = "`InvalidStatusError` (code TLC401)."
    more_bad = ('span = mlflow.start_span_no_context("step")\nspan.end(status="ok")\n',)

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        for call in ctx.lifecycle_calls:
            if call.kind not in _END_KINDS:
                continue
            status = call.arg(facts.STATUS_PARAM)
            if status is None:
                continue
            text = ctx.index.string_value(status, call.scope)
            if text is None or text in facts.VALID_STATUSES:
                continue
            fix = None
            intended = _CERTAIN_STATUS.get(text.strip().lower())
            if intended is not None and isinstance(status, cst.SimpleString):
                quote = status.quote
                fix = Replacement(
                    status,
                    status.with_changes(value=f"{status.prefix}{quote}{intended}{quote}"),
                    f'replace "{text}" with "{intended}"',
                )
            yield Report(
                status,
                f'invalid status "{text}": MLflow accepts only "OK", "ERROR" or "UNSET"',
                fix,
            )


class ErrorRecordedAsOk(Rule):
    code = "TLC402"
    name = "error-recorded-as-ok"
    summary = "A span or trace ended in an `except` handler with the default `OK` status."
    what = """
        Flags `end_span`, `end_trace` and `span.end()` inside an `except` handler when no
        `status` is given (the client's default is `"OK"`) or the status is `"OK"`. A
        `span.end()` after `span.set_status(...)` or `span.record_exception(...)` on the same
        span in the handler keeps that status and is not flagged. The handler must deal with a
        failure: a broad one (`except Exception`, `except BaseException`, a bare `except:`) or
        one that raises again. A narrow handler that carries on (`except KeyError:` for a cache
        miss) may be an expected outcome and is not flagged, nor are handlers for
        `StopIteration`, `StopAsyncIteration` and `GeneratorExit`, which end an iteration.
        """
    why = """
        The trace then shows the failed operation as successful: dashboards, evaluation and
        alerting that filter on status miss exactly the failures they exist for.
        """
    bad = """
        try:
            result = tool(query)
        except Exception:
            client.end_span(root.trace_id, step.span_id)
            raise
        """
    good = """
        try:
            result = tool(query)
        except Exception:
            client.end_span(root.trace_id, step.span_id, status="ERROR")
            raise
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        for call in ctx.lifecycle_calls:
            if call.kind not in _END_KINDS:
                continue
            handler = _enclosing_handler(ctx, call.node)
            if handler is None or not _handles_a_failure(handler):
                continue
            status = call.arg(facts.STATUS_PARAM)
            if status is None:
                if call.has_unpacking:
                    continue
                if call.kind is CallKind.SPAN_END and _status_set_before(ctx, call, handler):
                    continue
                yield Report(
                    call.node,
                    f"`{call.kind.value}` in an `except` handler without `status`: the "
                    f'failure is recorded as "OK"; pass status="ERROR"',
                )
            elif _is_ok(ctx, call, status):
                yield Report(
                    call.node,
                    f'`{call.kind.value}` in an `except` handler with status "OK": the '
                    f'failure is recorded as a success; pass status="ERROR"',
                )


def _enclosing_handler(ctx: FileContext, node: cst.CSTNode) -> cst.CSTNode | None:
    """The ``except`` handler whose body holds ``node`` in the same scope."""
    import libcst as cst

    child = node
    for ancestor in ctx.index.ancestors(node):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
        if isinstance(ancestor, (cst.ExceptHandler, cst.ExceptStarHandler)):
            return ancestor if child is ancestor.body else None
        child = ancestor
    return None


def _handles_a_failure(handler: cst.CSTNode) -> bool:
    """The handler deals with a failure, not with an expected outcome.

    ``except Exception``/``BaseException``/bare ``except`` catch failures; a handler
    that raises again says the operation failed. A narrow handler that carries on
    (``except KeyError: # a cache miss``) may be normal control flow: not flagged.
    Iteration's own ends (``StopIteration``...) never are.
    """
    import libcst as cst

    from lifecycle_lint.walk import descendants

    kind = getattr(handler, "type", None)
    if kind is None:
        return True
    names = kind.elements if isinstance(kind, cst.Tuple) else None
    exprs = [e.value for e in names] if names is not None else [kind]
    last = [
        e.value if isinstance(e, cst.Name) else e.attr.value if isinstance(e, cst.Attribute) else ""
        for e in exprs
    ]
    if all(name in _NORMAL_END_EXCEPTIONS for name in last):
        return False
    if any(name in _BROAD_EXCEPTIONS for name in last):
        return True
    return any(isinstance(n, cst.Raise) for n in descendants(handler, into_scopes=False))


def _status_set_before(ctx: FileContext, call: LifecycleCall, handler: cst.CSTNode) -> bool:
    import libcst as cst

    if call.receiver is None:
        return False
    from lifecycle_lint.walk import descendants

    receiver = ctx.source_of(call.receiver)
    for node in descendants(handler, into_scopes=False):
        if node is call.node:
            return False
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("set_status", "record_exception")
            and ctx.source_of(node.func.value) == receiver
        ):
            return True
    return False


def _is_ok(ctx: FileContext, call: LifecycleCall, status: cst.BaseExpression) -> bool:
    import libcst as cst

    if ctx.index.string_value(status, call.scope) == facts.STATUS_OK:
        return True
    if isinstance(status, cst.Attribute) and status.attr.value == facts.STATUS_OK:
        owner = status.value
        owner_name = (
            owner.attr.value if isinstance(owner, cst.Attribute) else getattr(owner, "value", None)
        )
        return owner_name in facts.STATUS_CODE_CLASSES
    return False
