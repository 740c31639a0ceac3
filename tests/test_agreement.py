"""The linter and the runtime client agree: one contract, checked twice.

Each program below is straight-line code on `lifecycle_runtime.TraceClient` (which the
linter knows as a client). It is linted, and it is run; the rule codes the linter
reports must be exactly the code of the error the runtime raises (or of its leak check
at `close()`), and a program the linter passes must run clean.
"""

from __future__ import annotations

import textwrap

import pytest

from lifecycle_lint.engine import LintOptions, lint_source
from lifecycle_lint.selection import RuleSelection
from lifecycle_runtime import LifecycleError, TraceClient

PRELUDE = "from lifecycle_runtime import TraceClient\nclient = TraceClient(policy=POLICY)\n"

PROGRAMS: dict[str, tuple[str, str | tuple[str, ...] | None]] = {
    "correct": (
        """
        root = client.start_trace("agent")
        a = client.start_span("a", root.trace_id, root.span_id)
        b = client.start_span("b", root.trace_id, a.span_id)
        client.end_span(root.trace_id, b.span_id)
        client.end_span(root.trace_id, a.span_id, status="ERROR")
        client.end_trace(root.trace_id)
        """,
        None,
    ),
    "double-end": (
        """
        root = client.start_trace("agent")
        client.end_trace(root.trace_id)
        client.end_trace(root.trace_id)
        """,
        "TLC104",
    ),
    "root-by-end-span-then-end-trace": (
        """
        root = client.start_trace("agent")
        client.end_span(root.trace_id, root.span_id)
        client.end_trace(root.trace_id)
        """,
        "TLC104",
    ),
    "parent-before-child": (
        """
        root = client.start_trace("agent")
        child = client.start_span("tool", root.trace_id, root.span_id)
        client.end_trace(root.trace_id)
        client.end_span(root.trace_id, child.span_id)
        """,
        "TLC105",
    ),
    "hardcoded-id": (
        """
        root = client.start_trace("agent")
        client.end_trace("tr-0123456789abcdef0123456789abcdef")
        """,
        "TLC201",
    ),
    "cross-trace": (
        """
        first = client.start_trace("first")
        second = client.start_trace("second")
        step = client.start_span("step", first.trace_id, second.span_id)
        client.end_span(first.trace_id, step.span_id)
        client.end_trace(first.trace_id)
        client.end_trace(second.trace_id)
        """,
        "TLC202",
    ),
    "missing-parent": (
        """
        root = client.start_trace("agent")
        step = client.start_span("step", root.trace_id, None)
        client.end_span(root.trace_id, step.span_id)
        client.end_trace(root.trace_id)
        """,
        "TLC203",
    ),
    "invalid-status": (
        """
        root = client.start_trace("agent")
        client.end_trace(root.trace_id, status="failed")
        """,
        "TLC401",
    ),
    "span-leak": (
        # The child is never ended and the trace is never ended: the linter reports each
        # start (TLC101, TLC102); the leak check reports TLC101 when any child is open.
        """
        root = client.start_trace("agent")
        step = client.start_span("step", root.trace_id, root.span_id)
        """,
        ("TLC101", "TLC102"),
    ),
    "trace-leak": (
        """
        root = client.start_trace("agent")
        """,
        "TLC102",
    ),
}

LIFO_SEED = """
root = client.start_trace("seed")
first = client.start_span("first", root.trace_id, root.span_id)
second = client.start_span("second", root.trace_id, root.span_id)
client.end_span(root.trace_id, first.span_id)
client.end_span(root.trace_id, second.span_id)
client.end_trace(root.trace_id)
"""


def lint_codes(source: str, *extra: str) -> set[str]:
    enabled = RuleSelection(extend_select=extra).enabled_codes()
    return {f.code for f in lint_source("p.py", source, LintOptions(enabled=enabled)).findings}


def run_codes(source: str, policy: str) -> set[str]:
    namespace: dict[str, object] = {"POLICY": policy}
    try:
        exec(compile(source, "p.py", "exec"), namespace)
        client = namespace["client"]
        assert isinstance(client, TraceClient)
        client.close()
    except LifecycleError as error:
        return {error.code}
    return set()


@pytest.mark.parametrize("name", PROGRAMS)
def test_linter_and_runtime_agree(name: str) -> None:
    body, code = PROGRAMS[name]
    source = PRELUDE + textwrap.dedent(body)
    if isinstance(code, tuple):
        assert lint_codes(source) == set(code)
        assert run_codes(source, "nesting") == {code[0]}
        return
    expected = set() if code is None else {code}
    assert lint_codes(source) == expected
    assert run_codes(source, "nesting") == expected


def test_lifo_policy_agrees_with_tlc106() -> None:
    source = PRELUDE + LIFO_SEED
    assert lint_codes(source) == set() == run_codes(source, "nesting")
    assert lint_codes(source, "TLC106") == {"TLC106"} == run_codes(source, "lifo")
