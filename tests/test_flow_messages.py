"""Every TLC101-105 finding names its witness: the exit or raising statement, with lines."""

from __future__ import annotations

import textwrap

from lifecycle_lint.engine import LintOptions, lint_source
from lifecycle_lint.selection import RuleSelection

PRELUDE = "from mlflow import MlflowClient\nclient = MlflowClient()\n"


def messages(body: str, *extra: str) -> list[tuple[int, str, str]]:
    source = PRELUDE + textwrap.dedent(body).lstrip("\n")
    enabled = RuleSelection(extend_select=tuple(extra)).enabled_codes()
    result = lint_source("m.py", source, LintOptions(enabled=enabled))
    return [(f.line, f.code, f.message) for f in result.findings]


def test_tlc103_names_the_raising_call() -> None:
    assert messages(
        """
        def f(db):
            step = client.start_trace("step")
            db.execute("select 1")
            client.end_trace(step.trace_id)
        """
    ) == [
        (
            4,
            "TLC103",
            "trace `step` started here is not ended when `db.execute(...)` on line 5 raises; "
            "end it in `finally` or in a handler",
        )
    ]


def test_tlc101_names_the_return() -> None:
    assert messages(
        """
        def f(root, q):
            step = client.start_span("s", root.trace_id, root.span_id)
            if q:
                return 1
            client.end_span(root.trace_id, step.span_id)
        """
    ) == [
        (4, "TLC101", "span `step` started here is not ended when the function returns on line 6")
    ]


def test_tlc104_names_both_ends() -> None:
    assert messages(
        """
        root = client.start_trace("r")
        client.end_trace(root.trace_id)
        client.end_trace(root.trace_id)
        """
    ) == [(5, "TLC104", "`root` is ended at line 4 and again at line 5")]


def test_tlc105_names_the_open_child() -> None:
    assert messages(
        """
        root = client.start_trace("r")
        child = client.start_span("c", root.trace_id, root.span_id)
        client.end_trace(root.trace_id)
        client.end_span(root.trace_id, child.span_id)
        """
    ) == [
        (
            5,
            "TLC105",
            "trace ended here while `child` (started line 4) is still open; end the child first",
        )
    ]


def test_yield_without_finally_names_the_yield() -> None:
    found = messages(
        """
        import mlflow
        def gen(items):
            span = mlflow.start_span_no_context("s")
            yield 1
            span.end()
        """
    )
    assert found == [
        (
            5,
            "TLC103",
            "span `span` started here is not ended when the generator is not resumed after the "
            "`yield` on line 6; end it in `finally` or in a handler",
        )
    ]


def test_tlc106_only_when_selected() -> None:
    seed = """
        root = client.start_trace("seed")
        a = client.start_span("a", root.trace_id, root.span_id)
        b = client.start_span("b", root.trace_id, root.span_id)
        client.end_span(root.trace_id, a.span_id)
        client.end_span(root.trace_id, b.span_id)
        client.end_trace(root.trace_id)
        """
    assert messages(seed) == []
    assert [(line, code) for line, code, _ in messages(seed, "TLC106")] == [(6, "TLC106")]


def _branchy(count: int) -> str:
    body = "def f(root):\n    s = client.start_span('s', root.trace_id, root.span_id)\n"
    for i in range(count):
        body += (
            f"    if c{i}:\n"
            f"        s{i} = client.start_span('t', root.trace_id, root.span_id)\n"
            f"        client.end_span(root.trace_id, s{i}.span_id)\n"
        )
    return body  # `s` is never ended


def test_state_explosion_is_joined_not_skipped() -> None:
    # A few branches: analysed path by path, and the leak of `s` is found.
    assert [code for _, code, _ in messages(_branchy(4))] == ["TLC101"]
    # 2**12 distinct paths: joined where they meet (no guard reads the names), and
    # the leak of `s` is still found.
    assert [(line, code) for line, code, _ in messages(_branchy(12))] == [(4, "TLC101")]


def test_tlc103_names_the_likeliest_witness_and_counts_the_others() -> None:
    # User code over the standard library; the other calls are counted.
    assert messages(
        """
        import json
        def f(root, payload, prepare):
            step = client.start_span("s", root.trace_id, root.span_id)
            text = json.dumps(payload)
            prepare(text)
            client.end_span(root.trace_id, step.span_id)
        """
    ) == [
        (
            5,
            "TLC103",
            "span `step` started here is not ended when `prepare(...)` on line 7 raises "
            "(and 1 other call); end it in `finally` or in a handler",
        )
    ]


def test_tlc103_prefers_io_over_computation_then_the_first() -> None:
    found = messages(
        """
        def f(root, db, transform, check):
            step = client.start_span("s", root.trace_id, root.span_id)
            rows = transform(root)
            check(rows)
            db.execute(rows)
            client.end_span(root.trace_id, step.span_id)
        def g(root, transform, check):
            step = client.start_span("s", root.trace_id, root.span_id)
            check(transform(root))
            client.end_span(root.trace_id, step.span_id)
        """
    )
    assert found == [
        (
            4,
            "TLC103",
            "span `step` started here is not ended when `db.execute(...)` on line 7 raises "
            "(and 2 other calls); end it in `finally` or in a handler",
        ),
        (
            10,
            "TLC103",
            "span `step` started here is not ended when `transform(...)` on line 11 raises "
            "(and 1 other call); end it in `finally` or in a handler",
        ),
    ]


def test_tlc103_an_explicit_raise_is_the_witness() -> None:
    found = messages(
        """
        def f(root, value, check):
            step = client.start_span("s", root.trace_id, root.span_id)
            check(value)
            if value < 0:
                raise ValueError(value)
            client.end_span(root.trace_id, step.span_id)
        """
    )
    assert found == [
        (
            4,
            "TLC103",
            "span `step` started here is not ended when the `raise` on line 7 runs "
            "(and 2 other calls); end it in `finally` or in a handler",
        )
    ]


def test_tlc103_stdlib_computation_is_named_only_when_it_is_the_only_witness() -> None:
    assert messages(
        """
        import json
        def f(root, payload):
            step = client.start_span("s", root.trace_id, root.span_id)
            text = json.dumps(payload)
            client.end_span(root.trace_id, step.span_id, outputs=text)
        """
    ) == [
        (
            5,
            "TLC103",
            "span `step` started here is not ended when `json.dumps(...)` on line 6 raises; "
            "end it in `finally` or in a handler",
        )
    ]


def test_tlc103_names_the_raise_and_the_handler_that_carries_on() -> None:
    assert messages(
        """
        import logging
        log = logging.getLogger(__name__)
        def replay(batch):
            for item in batch:
                try:
                    top = client.start_trace("replay")
                    item.send()
                    client.end_trace(top.trace_id)
                except Exception:
                    log.warning("skipped %s", item)
                    continue
        """
    ) == [
        (
            8,
            "TLC103",
            "trace `top` started here is not ended when `item.send(...)` on line 9 raises: "
            "the handler on line 11 carries on to the next iteration without ending it",
        )
    ]


def test_tlc103_prefers_the_projects_own_code_to_a_method_of_a_value() -> None:
    # A callback shape: a helper that converts the response and sets it through MLflow's
    # own setter (lending the span), after an accessor on a value; the helper is the
    # likelier failure.
    assert messages(
        """
        from mlflow.tracing.utils import set_span_chat_tools


        class Logger:
            def on_success(self, root, response, end_time):
                span = client.start_span("llm", root.trace_id, root.span_id)
                try:
                    end_ns = int(end_time.timestamp() * 1e9)
                    self._set_attributes(span, response)
                    client.end_span(span.trace_id, span.span_id, end_time_ns=end_ns)
                except Exception:
                    pass

            def _set_attributes(self, span, response):
                tools = self._convert(response.tools)
                set_span_chat_tools(span, tools)
        """
    ) == [
        (
            8,
            "TLC103",
            "span `span` started here is not ended when `self._set_attributes(...)` on line 11 "
            "raises (and 2 other calls): the handler on line 13 carries on after the `try` "
            "without ending it; `self._set_attributes(...)` on line 11 only reads it",
        )
    ]


def test_a_start_whose_result_is_not_kept_is_named_by_its_call() -> None:
    assert messages(
        """
        def on_start(parent):
            client.start_span(parent.name, trace_id=parent.trace_id, parent_id=parent.span_id)
        """
    ) == [
        (
            4,
            "TLC101",
            "span `client.start_span(...)` started here is not ended when the function ends "
            "(line 4)",
        )
    ]


def test_of_equally_likely_calls_the_statement_s_own_call_is_named() -> None:
    assert messages(
        """
        import mlflow
        from mlflow.entities import RunStatus
        def f(root):
            try:
                span = client.start_span("s", trace_id=root.trace_id, parent_id=root.span_id)
                mlflow.log_metric("m", RunStatus.to_string(RunStatus.RUNNING))
                return span
            except Exception:
                return None
        """
    ) == [
        (
            7,
            "TLC103",
            "span `span` started here is not ended when `mlflow.log_metric(...)` on line 8 "
            "raises (and 1 other call): the handler on line 10 returns without ending it",
        )
    ]


def test_a_call_is_named_before_a_loop_over_a_list() -> None:
    assert messages(
        """
        def f(events: list[dict], root):
            span = client.start_span("s", trace_id=root.trace_id, parent_id=root.span_id)
            texts = []
            for event in events:
                texts.append(render(event))
            client.end_span(root.trace_id, span.span_id, outputs=texts)
        """
    ) == [
        (
            4,
            "TLC103",
            "span `span` started here is not ended when `render(...)` on line 7 raises; "
            "end it in `finally` or in a handler",
        )
    ]


def test_in_a_loop_a_call_before_the_start_is_not_named() -> None:
    # `check` runs before `child` exists in each round: it leaks only a span an earlier
    # round left open. `transform` is what a reader should guard.
    assert messages(
        """
        def run(root, items):
            for item in items:
                try:
                    check(item)
                    child = client.start_span("t", trace_id=root.trace_id, parent_id=root.span_id)
                    transform(item)
                    client.end_span(root.trace_id, child.span_id)
                except Exception:
                    pass
        """
    ) == [
        (
            7,
            "TLC103",
            "span `child` started here is not ended when `transform(...)` on line 8 raises "
            "(and 1 other call): the handler on line 10 carries on after the `try` without "
            "ending it",
        )
    ]
