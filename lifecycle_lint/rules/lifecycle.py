"""Rules about every start having its end, on every path: TLC101-TLC106."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from lifecycle_lint import exception_model
from lifecycle_lint.rules.base import Report, Rule

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext
    from lifecycle_lint.flow import Leak, ScopeFacts, Site


def scope_facts(ctx: FileContext) -> list[ScopeFacts]:
    """The flow analysis of every scope that starts a span, computed once per file."""
    cached = ctx.cache.get("flow")
    if cached is None:
        from lifecycle_lint.flow import analyse_scope, scopes_with_starts

        cached = [analyse_scope(ctx, scope) for scope in scopes_with_starts(ctx)]
        ctx.cache["flow"] = cached
    return cached  # type: ignore[return-value]


def unended_stores(ctx: FileContext) -> list[tuple[Site, str]]:
    """Spans stored on ``self.<attr>`` by a class that never ends spans from that attribute."""
    cached = ctx.cache.get("class-pass")
    if cached is None:
        from lifecycle_lint.class_pass import unended_stored_spans

        cached = unended_stored_spans(ctx, scope_facts(ctx))
        ctx.cache["class-pass"] = cached
    return cached  # type: ignore[return-value]


def _scope_word(facts: ScopeFacts) -> str:
    import libcst as cst

    return "module" if isinstance(facts.scope_node, cst.Module) else "function"


def describe_raise(ctx: FileContext, node: cst.CSTNode) -> str:
    import libcst as cst

    line = ctx.line_of(node)
    if isinstance(node, cst.Call):
        return f"`{ctx.short_source(node)}` on line {line} raises"
    if isinstance(node, cst.Raise):
        return f"the `raise` on line {line} runs"
    if isinstance(node, cst.Assert):
        return f"the `assert` on line {line} fails"
    if isinstance(node, cst.Yield):
        return f"the generator is not resumed after the `yield` on line {line}"
    if isinstance(node, cst.Await):
        return f"the `await` on line {line} raises"
    if isinstance(node, cst.For):
        return f"the `for` loop on line {line} raises while iterating"
    if isinstance(node, cst.With):
        return f"entering the `with` block on line {line} raises"
    return f"line {line} raises"


def describe_exit(ctx: FileContext, facts: ScopeFacts, leak: Leak) -> str:
    import libcst as cst

    node = leak.witness
    if leak.rebound and node is not None:
        if node is facts.sites[leak.site].call.node:
            return f"before the same call starts another span on line {ctx.line_of(node)}"
        return f"before it is replaced on line {ctx.line_of(node)}"
    if isinstance(node, cst.Return):
        return f"when the function returns on line {ctx.line_of(node)}"
    scope = facts.scope_node
    last = None if isinstance(scope, cst.Module) else _last_line_of(scope)
    # The last statement line's end is the scope's: placing one line is cheap, placing
    # a 5,000-statement function costs seconds.
    end_line = ctx.position(last if last is not None else scope).end.line
    return f"when the {_scope_word(facts)} ends (line {end_line})"


def _last_line_of(node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The statement line a scope's source ends with (None for one-line bodies)."""
    import libcst as cst

    from lifecycle_lint.walk import children

    current = node
    while not isinstance(current, cst.SimpleStatementLine):
        if isinstance(current, cst.SimpleStatementSuite):
            return None
        kids = children(current)
        if not kids:
            return None
        current = kids[-1]
    return current


def _first(ctx: FileContext, leaks: list[Leak]) -> Leak:
    """The witness to show: explicit exits first (``raise``, ``yield``), then the earliest."""
    import libcst as cst

    def key(leak: Leak) -> tuple[int, int, int, int, int, int, str]:
        # Every part matters: path states are sets, so ties must not be left to their order
        # (`f().g()`: both calls start at the same place; the inner one raises first).
        node = leak.witness
        explicit = isinstance(node, (cst.Raise, cst.Assert, cst.Yield, cst.Return))
        if node is None:
            return (1, 10**9, 0, 0, 0, leak.rebound, "")
        where = ctx.position(node)
        return (
            0 if explicit else 1,
            where.start.line,
            where.start.column,
            where.end.line,
            where.end.column,
            leak.rebound,
            type(node).__name__,
        )

    return min(leaks, key=key)


def _place_key(ctx: FileContext, node: cst.CSTNode) -> tuple[int, int, int, int, str]:
    """Evaluation order: an expression is done where it ends (``check(transform(x))``:
    ``transform`` raises first), a ``for``/``with`` where its header starts."""
    import libcst as cst

    where = ctx.position(node)
    if isinstance(node, (cst.For, cst.With)):
        return (where.start.line, where.start.column, 0, 0, type(node).__name__)
    return (
        where.end.line,
        where.end.column,
        where.start.line,
        where.start.column,
        type(node).__name__,
    )


def _likeliest(
    ctx: FileContext, nodes: Iterable[cst.CSTNode], start: cst.CSTNode | None = None
) -> tuple[cst.CSTNode, str]:
    """The raise point most likely to fail (the exception model's rank, then the
    first in the file), and how many others there are, as words for the message.

    Raise points after ``start`` come first: in a loop, one before the start leaks only
    a span an earlier round already left open, so it is not what a reader should fix.
    """

    from lifecycle_lint.exception_model import failure_rank

    distinct = list({id(node): node for node in nodes}.values())
    if start is not None and len(distinct) > 1:
        begins = ctx.line_of(start)  # lines only: a line costs nothing to place
        later = [node for node in distinct if ctx.line_of(node) > begins]
        if later:
            distinct = later + [node for node in distinct if node not in later]
            ranks_later = [failure_rank(node, ctx) for node in later]
            top_later = max(ranks_later)
            chosen = [n for n, r in zip(later, ranks_later, strict=True) if r == top_later]
            best = min(chosen, key=lambda node: _place_key(ctx, node))
            return best, _others_words(distinct, best)
    ranks = [failure_rank(node, ctx) for node in distinct]
    top = max(ranks)
    likeliest = [node for node, rank in zip(distinct, ranks, strict=True) if rank == top]
    # Positions cost a statement's layout each: only the likeliest are placed.
    best = min(likeliest, key=lambda node: _place_key(ctx, node))
    return best, _others_words(distinct, best)


def _others_words(distinct: list[cst.CSTNode], best: cst.CSTNode) -> str:
    """`` (and 2 other calls)``: the raise points not named."""
    import libcst as cst

    others = [node for node in distinct if node is not best]
    if not others:
        return ""
    noun = "call" if all(isinstance(n, cst.Call) for n in others) else "place that may raise"
    if len(others) == 1:
        return f" (and 1 other {noun})"
    plural = "calls" if noun == "call" else "places that may raise"
    return f" (and {len(others)} other {plural})"


_HOW_WORDS = {
    "continues": "carries on to the next iteration",
    "returns": "returns",
    "breaks": "leaves the loop",
    "falls": "carries on after the `try`",
    "raises": "raises again",
}


def _is_caught(ctx: FileContext, leak: Leak) -> bool:
    """The span leaks because a handler caught an exception and then left (not because
    of a path with no exception, nor a new exception raised in the handler)."""
    import libcst as cst

    if leak.handler is None or leak.how is None:
        return False
    if not leak.on_exception:
        return True
    return isinstance(leak.witness, cst.Raise) and any(
        a is leak.handler for a in ctx.index.ancestors(leak.witness)
    )


def _caught_message(ctx: FileContext, facts: ScopeFacts, site: Site, caught: list[Leak]) -> str:
    candidates: dict[int, tuple[cst.CSTNode, cst.CSTNode, str]] = {}
    order = list(_HOW_WORDS)
    for leak in sorted(caught, key=lambda item: order.index(item.how or "raises")):
        assert leak.handler is not None and leak.how is not None
        for node in facts.caught.get((site.index, leak.handler), ()):
            candidates.setdefault(id(node), (node, leak.handler, leak.how))
    kind = "trace" if site.is_trace else "span"
    if not candidates:  # pragma: no cover - every caught leak has its raise points
        return f"{kind} `{site.name}` {_origin(ctx, site)} is not ended when an exception is caught"
    best, others = _likeliest(ctx, (node for node, _, _ in candidates.values()), site.call.node)
    _, handler, how = candidates[id(best)]
    return (
        f"{kind} `{site.name}` {_origin(ctx, site)} is not ended when "
        f"{describe_raise(ctx, best)}{others}: the handler on line {ctx.line_of(handler)} "
        f"{_HOW_WORDS[how]} without ending it{_evidence(ctx, facts, site)}"
    )


def _origin(ctx: FileContext, site: Site) -> str:
    from lifecycle_lint.calls import CallKind

    if site.call.kind is CallKind.TAKEN and site.call.receiver is not None:
        return f"taken from `{ctx.short_source(site.call.receiver)}` here"
    if site.call.kind is CallKind.HELPER_START:
        helper = ctx.short_source(site.call.node)
        returned = f"the `{site.call.helper_id}` of the" if site.call.helper_id else ""
        return (
            f"started here by `{helper}` (a helper that returns {returned or 'the'} span it starts)"
        )
    return "started here"


def _evidence(ctx: FileContext, facts: ScopeFacts, site: Site) -> str:
    """What the finding rests on beyond the scope: summaries and usage evidence."""
    from lifecycle_lint.calls import CallKind

    parts = [
        f"`{ctx.short_source(node)}` on line {ctx.line_of(node)} {what}"
        for node, what in facts.notes.get(site.index, [])
        if what == "only reads it"
    ]
    receiver = site.call.receiver
    if receiver is not None and site.call.kind is not CallKind.TAKEN:
        reason = ctx.knowledge.client_reason(receiver, site.call.scope)
        if reason is not None:
            parts.append(reason)
    return "".join(f"; {part}" for part in parts)


def _leak_reports(ctx: FileContext, code: str) -> Iterator[Report]:
    for facts in scope_facts(ctx):
        by_site: dict[int, list[Leak]] = {}
        for leak in facts.leaks:  # grouped once: a scope may have thousands of spans
            by_site.setdefault(leak.site, []).append(leak)
        for site in facts.sites:
            leaks = by_site.get(site.index, [])
            caught = [leak for leak in leaks if _is_caught(ctx, leak)]
            normal = [leak for leak in leaks if not leak.on_exception and leak not in caught]
            exceptional = [leak for leak in leaks if leak.on_exception and leak not in caught]
            kind = "trace" if site.is_trace else "span"
            site_code = "TLC102" if site.is_trace else "TLC101"
            if normal:
                if code == site_code:
                    leak = _first(ctx, normal)
                    yield Report(
                        site.call.node,
                        f"{kind} `{site.name}` {_origin(ctx, site)} is not ended "
                        f"{describe_exit(ctx, facts, leak)}{_evidence(ctx, facts, site)}",
                    )
            elif caught and code == "TLC103":
                yield Report(site.call.node, _caught_message(ctx, facts, site, caught))
            elif exceptional and code == "TLC103":
                witnesses = [leak.witness for leak in exceptional if leak.witness is not None]
                best, others = _likeliest(ctx, witnesses, site.call.node)
                yield Report(
                    site.call.node,
                    f"{kind} `{site.name}` {_origin(ctx, site)} is not ended when "
                    f"{describe_raise(ctx, best)}{others}; end it in `finally` or in a handler"
                    f"{_evidence(ctx, facts, site)}",
                )
    if code in ("TLC101", "TLC102"):
        for site, attribute in unended_stores(ctx):
            if ("TLC102" if site.is_trace else "TLC101") == code:
                kind = "trace" if site.is_trace else "span"
                yield Report(
                    site.call.node,
                    f"{kind} `{site.name}` started here is stored in `self.{attribute}`, but the "
                    f"class never ends a span taken from `self.{attribute}`",
                )


class SpanNotEnded(Rule):
    code = "TLC101"
    name = "span-not-ended"
    summary = "A span that is neither ended nor handed over on some path."
    what = """
        Follows every path from `client.start_span(...)` or `mlflow.start_span_no_context(...)`
        to the end of the scope (each `return`, the end of the function, a `break` out of the
        loop...) and flags the start when some normal path neither ends the span (`end_span`
        with its `span_id`, or `span.end()`) nor hands it over (returns or yields it, stores it
        on an attribute, in a container or a global, lets a nested function capture it, or,
        for a span this scope never ends itself, passes it or its IDs to a function that
        cannot be resolved; a helper named for ending, such as `_end_span(span, error)`, takes
        it over always). A function the linter can read is followed through its summary: one
        that ends the span on every path ends it, one that only reads it (`tag(span)`) leaves
        it to the caller, and a span returned by a helper that started it is the caller's.
        A span variable rebound while its span is open counts as not ended. A class that stores
        spans on `self` and never ends a span taken from that attribute is flagged too, and a
        method that takes a span out of `self` (`span = self._spans.pop(run_id)`) and ends it
        must end it on every path, as if it had started it (TLC101/TLC103/TLC104 at the `pop`).
        A span that leaks only on paths where an `except` handler caught an exception and then
        carried on (returned, continued, broke out of a loop or fell through) is reported by
        TLC103 instead, which names the raising call and the handler.
        """
    why = """
        MLflow never ends a span by itself. An open span keeps its whole trace "in progress":
        the trace is held back from export (it is exported, if at all, only at process exit,
        with the span missing its end time and status), and the memory stays allocated.
        """
    bad = """
        def answer(question):
            root = client.start_trace("answer")
            step = client.start_span("retrieve", root.trace_id, root.span_id)
            if not question:
                client.end_trace(root.trace_id)
                return None
            client.end_span(root.trace_id, step.span_id)
            client.end_trace(root.trace_id)
        """
    good = """
        def answer(question):
            root = client.start_trace("answer")
            step = client.start_span("retrieve", root.trace_id, root.span_id)
            client.end_span(root.trace_id, step.span_id)
            client.end_trace(root.trace_id)
            if not question:
                return None
        """
    runtime_error = "The open span is listed by `TraceClient.close()` (the leak check)."
    more_good = (
        """
        def make_span(root):
            # Handed over to the caller, who ends it.
            return client.start_span("child", root.trace_id, root.span_id)
        """,
        """
        class Callback:
            def on_start(self, run_id, root):
                self._spans[run_id] = client.start_span("run", root.trace_id, root.span_id)

            def on_end(self, run_id):
                span = self._spans.pop(run_id)
                client.end_span(span.trace_id, span.span_id)
        """,
    )
    more_bad = (
        """
        class Callback:
            def on_start(self, run_id, root):
                self._spans[run_id] = client.start_span("run", root.trace_id, root.span_id)
        """,
    )

    def check(self, ctx: FileContext) -> Iterator[Report]:
        return _leak_reports(ctx, self.code)


class TraceNotEnded(Rule):
    code = "TLC102"
    name = "trace-not-ended"
    summary = "A trace from `start_trace` that is not ended on some path."
    what = """
        Like TLC101, for the root span returned by `client.start_trace(...)`: flags the start
        when some normal path neither ends the trace (`end_trace`, or `end_span`/`.end()` on
        the root span) nor hands the root over. As for TLC101, a trace that leaks only after
        a handler caught an exception and carried on is TLC103's.
        """
    why = """
        A trace that is never ended stays "In Progress" forever: it is not exported, its spans
        are invisible in the UI, and MLflow keeps it in memory (up to 1,000 traces, after which
        the oldest are dropped silently).
        """
    bad = """
        def run(agent, task):
            root = client.start_trace("run")
            if task is None:
                return
            agent(task)
            client.end_trace(root.trace_id)
        """
    good = """
        def run(agent, task):
            root = client.start_trace("run")
            try:
                if task is not None:
                    agent(task)
            finally:
                client.end_trace(root.trace_id)
        """
    runtime_error = "The open trace is listed by `TraceClient.close()` (the leak check)."

    def check(self, ctx: FileContext) -> Iterator[Report]:
        return _leak_reports(ctx, self.code)


class NotEndedOnException(Rule):
    code = "TLC103"
    name = "not-ended-on-exception"
    summary = (
        "A span or trace ended on every normal path but skipped when an exception is raised "
        "(or caught by a handler that carries on)."
    )
    what = (
        textwrap.dedent(
            """
            Flags the start call of a span or trace that is ended (or handed over) on every
            normal path, but not when a statement between its start and its end raises, or
            not when an `except` handler catches that exception and then carries on (returns,
            continues, breaks out of the loop or falls through) without ending it. The message
            names the statement, and the handler when there is one: "not ended when
            `item.send(...)` on line 5 raises: the handler on line 8 carries on to the next
            iteration without ending it". Ending the span in `finally`, or in the handler, is
            the fix.

            What may raise is decided by one exception model: a call, an `await`, a `raise`,
            an `assert`, entering a `with` block, a step of a `for` loop, or a `yield` after
            which the generator is never resumed, except what a maintainer would not call a
            way to fail (names are resolved through the file's imports, so
            `from time import perf_counter` is the clock, and a function of your own named
            `len` is not the builtin):

            """
        ).strip("\n")
        + "\n\n"
        + exception_model.markdown()
        + "\n\n"
        + textwrap.dedent(
            """
            Extend the model with `non-raising = ["myapp.log.*", "emit_metric"]` in
            `[tool.lifecycle-lint]` (a name without a dot matches the called function or
            method by name, a dotted name or glob matches the qualified name through the
            imports, or the call as written), or make it strict with
            `strict-exceptions = true` / `--strict-exceptions` (then every call but the
            lifecycle calls and your `non-raising` ones may raise).

            When several statements may raise, the message names the one most likely to
            fail: an explicit `raise`, `assert` or `yield` first, then user or third-party
            code over the standard library, I/O over computation, and the first in
            evaluation order; it counts the others ("and 2 other calls").
            """
        ).strip("\n")
    )
    why = """
        Exceptions are exactly when a trace matters most, and exactly when a hand-written end
        call is skipped: the failed request's trace then stays open and is never exported, so
        the failure leaves no trace at all.
        """
    bad = """
        def lookup(db, query):
            root = client.start_trace("lookup")
            rows = db.execute(query)
            client.end_trace(root.trace_id, outputs=rows)
            return rows
        """
    good = """
        def lookup(db, query):
            root = client.start_trace("lookup")
            try:
                rows = db.execute(query)
            except Exception as exc:
                client.end_trace(root.trace_id, status="ERROR", attributes={"error": str(exc)})
                raise
            client.end_trace(root.trace_id, outputs=rows)
            return rows
        """
    more_bad = (
        """
        def replay(batch):
            for item in batch:
                try:
                    top = client.start_trace("replay")
                    item.send()
                    client.end_trace(top.trace_id)
                except Exception:
                    continue
        """,
    )
    more_good = (
        """
        import logging
        import time

        def timed(root, logger):
            step = client.start_span("timed", root.trace_id, root.span_id)
            started = time.perf_counter()
            logging.getLogger(__name__).info("step %s", step.span_id)
            client.end_span(root.trace_id, step.span_id, outputs=time.perf_counter() - started)
        """,
    )

    def check(self, ctx: FileContext) -> Iterator[Report]:
        return _leak_reports(ctx, self.code)


class DoubleEnd(Rule):
    code = "TLC104"
    name = "double-end"
    summary = "The same span or trace ended twice on one path."
    what = """
        Flags the second end call when a path ends the same span or trace twice: an end in the
        `try` body and again in `finally`, an `end_span` on the root followed by `end_trace`,
        an end inside a loop that runs more than once.
        """
    why = """
        MLflow ignores the second `end_span` silently but raises on a second `end_trace` of a
        finished trace. Either way the code's idea of the span's state is wrong, and the
        status or outputs passed to the second call are lost.
        """
    bad = """
        root = client.start_trace("job")
        try:
            work()
            client.end_trace(root.trace_id)
        finally:
            client.end_trace(root.trace_id, status="ERROR")
        """
    good = """
        root = client.start_trace("job")
        try:
            work()
        except Exception:
            client.end_trace(root.trace_id, status="ERROR")
            raise
        else:
            client.end_trace(root.trace_id)
        """
    runtime_error = "`AlreadyEndedError` (code TLC104)."

    def check(self, ctx: FileContext) -> Iterator[Report]:
        seen = set()
        for facts in scope_facts(ctx):
            ordered = sorted(
                facts.double_ends,
                key=lambda item: (
                    _place(ctx, item[0]),
                    _place(ctx, item[2]) if item[2] is not None else (0, 0),
                    item[1],
                ),
            )
            for node, site_index, first in ordered:
                if id(node) in seen:
                    continue
                seen.add(id(node))
                site = facts.sites[site_index]
                where = f"line {ctx.line_of(first)}" if first is not None else "an earlier line"
                yield Report(
                    node,
                    f"`{site.name}` is ended at {where} and again at line {ctx.line_of(node)}"
                    + _ended_by(ctx, facts, site_index, (first, node)),
                )


class ParentEndedBeforeChild(Rule):
    code = "TLC105"
    name = "parent-ended-before-child"
    summary = "A parent span or the trace ended while a child is still open (and ended later)."
    what = """
        Flags the end call of a parent span, or of the trace, when a child started in the same
        scope is still open on that path and is ended afterwards, or when a child is started
        under it after it has ended. A child that is never ended is reported by TLC101 alone.
        """
    why = """
        A span must end before its parent, and nothing of a trace may be open when the trace
        ends. MLflow accepts the wrong order silently, then holds the whole trace back
        (`get_trace` fails with "span data is corrupted") until the child ends, and records a
        child that outlives its parent.
        """
    bad = """
        root = client.start_trace("agent")
        child = client.start_span("tool", root.trace_id, root.span_id)
        client.end_trace(root.trace_id)
        client.end_span(root.trace_id, child.span_id)
        """
    good = """
        root = client.start_trace("agent")
        child = client.start_span("tool", root.trace_id, root.span_id)
        client.end_span(root.trace_id, child.span_id)
        client.end_trace(root.trace_id)
        """
    runtime_error = "`OpenChildrenError` (code TLC105)."

    def check(self, ctx: FileContext) -> Iterator[Report]:
        yield from _order_reports(ctx, self.code)


class NonLifoEnd(Rule):
    code = "TLC106"
    name = "non-lifo-end"
    summary = "Spans of one trace not ended in exact reverse start order (opt-in)."
    default_enabled = False
    what = """
        Off unless selected (`--extend-select TLC106`, or `lifo = true` in the configuration).
        Flags the end call of a span while a span of the same trace started after it (a
        sibling included) is still open and is ended later on that path.
        """
    why = """
        The invariant MLflow needs is nesting (TLC105); MLflow's own example ends two siblings
        in start order, which is correct. Some teams want strict last-in-first-out ends so that
        every span's interval nests in the one before it; this rule enforces that policy, like
        the runtime client's `policy="lifo"`.
        """
    bad = """
        root = client.start_trace("seed")
        first = client.start_span("first", root.trace_id, root.span_id)
        second = client.start_span("second", root.trace_id, root.span_id)
        client.end_span(root.trace_id, first.span_id)
        client.end_span(root.trace_id, second.span_id)
        client.end_trace(root.trace_id)
        """
    good = """
        root = client.start_trace("seed")
        first = client.start_span("first", root.trace_id, root.span_id)
        second = client.start_span("second", root.trace_id, root.span_id)
        client.end_span(root.trace_id, second.span_id)
        client.end_span(root.trace_id, first.span_id)
        client.end_trace(root.trace_id)
        """
    runtime_error = '`OrderViolationError` (code TLC106) under `policy="lifo"`.'

    def check(self, ctx: FileContext) -> Iterator[Report]:
        yield from _order_reports(ctx, self.code)


def _ended_by(
    ctx: FileContext, facts: ScopeFacts, site: int, nodes: tuple[cst.CSTNode | None, ...]
) -> str:
    """``(`_close(...)` on line 23 ends it)`` for the ends made by a summarised helper."""
    parts: list[str] = []
    for node, what in facts.notes.get(site, []):
        if what == "ends it" and any(node is n for n in nodes):
            part = f"`{ctx.short_source(node)}` ends it"
            if part not in parts:
                parts.append(part)
    return f" ({'; '.join(parts)})" if parts else ""


def _place(ctx: FileContext, node: cst.CSTNode) -> tuple[int, int]:
    start = ctx.position(node).start
    return (start.line, start.column)


def _order_reports(ctx: FileContext, code: str) -> Iterator[Report]:
    seen = set()
    for facts in scope_facts(ctx):
        for violation in sorted(facts.order, key=lambda v: (v.open_site, v.ended_site)):
            if violation.code != code or id(violation.end_node) in seen:
                continue
            seen.add(id(violation.end_node))
            ended = facts.sites[violation.ended_site]
            still_open = facts.sites[violation.open_site]
            opened = ctx.line_of(still_open.call.node)
            if code == "TLC105" and violation.started_after:
                what = "trace" if ended.is_trace else f"span `{ended.name}`"
                message = (
                    f"{what} ended here, before `{still_open.name}` is started under it on "
                    f"line {opened}"
                )
            elif code == "TLC105":
                what = "trace" if ended.is_trace else f"span `{ended.name}`"
                message = (
                    f"{what} ended here while `{still_open.name}` (started line {opened}) is "
                    f"still open; end the child first"
                )
            else:
                message = (
                    f"`{ended.name}` ended here before `{still_open.name}`, which started after "
                    f"it (line {opened}); end spans in reverse start order"
                )
            yield Report(violation.end_node, message)
