"""TLC003: a scope the flow analysis gave up on is reported, never passed in silence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.rules.base import Report, Rule
from lifecycle_lint.rules.lifecycle import scope_facts

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext


class NotAnalysed(Rule):
    code = "TLC003"
    name = "not-analysed"
    summary = "A function (or module) too complex for the path budget is reported, not skipped."
    what = """
        The flow analysis follows every path through a function, joining paths where
        they meet. When a function still has more distinct path states at one point than
        the budget allows (the number is in the message), or the file is nested too
        deeply to analyse, the spans started there are not checked, and this notice says
        so at the function's name (or at line 1 for the file), so that silence always
        means "checked and clean".
        """
    why = """
        A checker that skips what it cannot handle without a word lets a leak through
        while looking like a pass. Split the function (each part is then analysed on its
        own), or add `# noqa: TLC003` to accept that it is not checked.
        """
    bad = """
        def handle(root, a, b, c, d, e, f, g, h, i):
            # nine optional steps, each ended later under its own guard: 2**9 paths
            s1 = client.start_span("a", root.trace_id, root.span_id) if a else None
            s2 = client.start_span("b", root.trace_id, root.span_id) if b else None
            s3 = client.start_span("c", root.trace_id, root.span_id) if c else None
            s4 = client.start_span("d", root.trace_id, root.span_id) if d else None
            s5 = client.start_span("e", root.trace_id, root.span_id) if e else None
            s6 = client.start_span("f", root.trace_id, root.span_id) if f else None
            s7 = client.start_span("g", root.trace_id, root.span_id) if g else None
            s8 = client.start_span("h", root.trace_id, root.span_id) if h else None
            s9 = client.start_span("i", root.trace_id, root.span_id) if i else None
            if s1 is not None:
                client.end_span(root.trace_id, s1.span_id)
            if s2 is not None:
                client.end_span(root.trace_id, s2.span_id)
            if s3 is not None:
                client.end_span(root.trace_id, s3.span_id)
            if s4 is not None:
                client.end_span(root.trace_id, s4.span_id)
            if s5 is not None:
                client.end_span(root.trace_id, s5.span_id)
            if s6 is not None:
                client.end_span(root.trace_id, s6.span_id)
            if s7 is not None:
                client.end_span(root.trace_id, s7.span_id)
            if s8 is not None:
                client.end_span(root.trace_id, s8.span_id)
            if s9 is not None:
                client.end_span(root.trace_id, s9.span_id)
        """
    good = """
        def handle(root, flags):
            for flag in flags:
                step = client.start_span("step", root.trace_id, root.span_id)
                try:
                    run(flag)
                finally:
                    client.end_span(root.trace_id, step.span_id)
        """

    def check(self, ctx: FileContext) -> Iterator[Report]:
        import libcst as cst

        from lifecycle_lint.flow import MAX_STATES

        for facts in scope_facts(ctx):
            if not facts.skipped:
                continue
            node = facts.scope_node
            if isinstance(node, cst.FunctionDef):
                yield Report(
                    node.name,
                    f"function `{node.name.value}` not analysed: too complex for the path "
                    f"budget (more than {MAX_STATES} path states at one point); its spans "
                    "are not checked",
                )
            elif facts.sites:
                yield Report(
                    facts.sites[0].call.node,
                    f"module not analysed: too complex for the path budget (more than "
                    f"{MAX_STATES} path states at one point); its spans are not checked",
                )
