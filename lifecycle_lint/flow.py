"""Path-aware lifecycle analysis: an abstract interpreter over one scope's statements.

Python has no goto, so the interpreter walks structured statements in order
with a *set* of abstract path states, splits at branches, iterates loops to a
fixpoint, and sends the state at every statement that may raise into the
enclosing ``except``/``finally`` blocks (RULES.md, "Analysis conventions").

A path state knows, for every span started in the scope (a *site*: one start
call), whether it is open, ended or handed over, which trace and parent it
belongs to, and which local names hold the span or an ID read from it. The
analysis records *events* (a span still open when the scope is left, a second
end, a parent ended before its child) that the TLC1xx rules turn into findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import libcst as cst

from lifecycle_lint import exception_model
from lifecycle_lint.calls import CallKind, LifecycleCall
from lifecycle_lint.context import FileContext
from lifecycle_lint.scopes import Scope
from lifecycle_lint.summaries import (
    Callee,
    Effect,
    _decorator_name,
    returned_id,
    returned_kind,
)
from lifecycle_lint.walk import children, descendants
from lifecycle_runtime import mlflow_facts as facts

OPEN, ENDED, HANDED = "open", "ended", "handed"

#: Beyond this many distinct path states at one point, states are joined: those that
#: agree on the names a guard tests (``if span is not None``) and on the way the path
#: left (the raising node) become one state (see ``ScopeAnalysis.join``).
JOIN_AT = 32

#: Beyond this many distinct path states at one point, even after joining, the scope
#: is not analysed and TLC003 says so: a notice is better than a guess.
MAX_STATES = 400

#: How far up the parent chain the order checks look at each end (see ``_order_checks``).
MAX_ANCESTORS = 32

#: Method calls that store their argument in a container: always a hand-over.
_STORING_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "insert",
        "add",
        "setdefault",
        "update",
        "put",
        "put_nowait",
        "push",
        "__setitem__",
    }
)
_CATCH_ALL = frozenset({"Exception", "BaseException"})


_ENDING_WORDS = re.compile(r"(^|_)(end|finish|close|stop|complete)", re.IGNORECASE)


def _may_be_none(call: cst.Call) -> bool:
    """``d.pop(key, None)``: the default says the key may be missing."""
    return len(call.args) == 2 and _is_none_literal(call.args[1].value)


#: Up to this many rounds, a ``for`` over ``range(K)`` or a literal sequence is followed
#: round by round (it runs exactly K times); beyond it, to a fixpoint as any loop.
MAX_FIXED_TRIPS = 8


def _fixed_trips(node: cst.For | cst.While) -> int | None:
    """K for ``for ... in range(K)`` (K an integer literal) or a literal list or tuple."""
    if not isinstance(node, cst.For) or node.asynchronous is not None:
        return None
    iterable = node.iter
    if isinstance(iterable, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in iterable.elements):
            return None
        trips = len(iterable.elements)
    elif (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Name)
        and iterable.func.value == "range"
        and len(iterable.args) == 1
        and iterable.args[0].keyword is None
        and not iterable.args[0].star
        and isinstance(iterable.args[0].value, cst.Integer)
    ):
        trips = int(iterable.args[0].value.value.replace("_", ""), 0)
    else:
        return None
    return trips if 1 <= trips <= MAX_FIXED_TRIPS else None


def _names_an_end(func: cst.BaseExpression) -> bool:
    """A helper named for ending (``_end_span(span, exc)``): it takes the span over."""
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    return isinstance(name, str) and _ENDING_WORDS.search(name) is not None


class TooComplex(Exception):
    """The scope has too many paths to analyse precisely."""


@dataclass(frozen=True)
class Site:
    """One start call in the scope: every span it starts shares this identity."""

    index: int
    call: LifecycleCall
    name: str

    @property
    def is_trace(self) -> bool:
        return self.call.kind is CallKind.START_TRACE or self.call.helper_trace


class SpanFact(NamedTuple):
    status: str
    end_node: cst.CSTNode | None  # where it was ended (for TLC104's message)
    parent: int  # site index of the parent span, -1 if none or unknown
    root: int  # site index of the trace's root span, -1 if unknown
    seq: int  # start order on this path: ranks 1..n over the spans of the state
    #: For an ended or handed-over span: how many spans of the path had started
    #: when it was ended or handed over (a span with ``seq <= mark`` started before).
    mark: int = 0


# A name's abstract value: ("span", site) | ("id", site, attr) | ("none",)
VarValue = tuple

_HASH_MASK = (1 << 64) - 1


def _items_hash(items: Iterable[tuple[object, object]]) -> int:
    return sum(hash(item) for item in items) & _HASH_MASK


class State:
    """One abstract path state (immutable, hashable).

    ``spans`` and ``vars`` are dictionaries that are never changed once the state
    exists (every change makes a new state), so lookups take constant time; the
    hash is kept up to date per change rather than recomputed over every span.
    """

    __slots__ = (
        "spans",
        "vars",
        "seq",
        "witness",
        "_spans_hash",
        "_vars_hash",
        "_hash",
        "_conditions",
    )

    def __init__(
        self,
        spans: dict[int, SpanFact] | None = None,
        vars: dict[str, VarValue] | None = None,
        seq: int = 0,
        witness: cst.CSTNode | None = None,
        _spans_hash: int | None = None,
        _vars_hash: int | None = None,
    ) -> None:
        self.spans: dict[int, SpanFact] = spans if spans is not None else {}
        self.vars: dict[str, VarValue] = vars if vars is not None else {}
        self.seq = seq
        self.witness = witness
        if _spans_hash is None:
            _spans_hash = _items_hash(self.spans.items())
        if _vars_hash is None:
            _vars_hash = _items_hash(self.vars.items())
        self._spans_hash = _spans_hash
        self._vars_hash = _vars_hash
        self._hash = hash((_spans_hash, _vars_hash, seq, id(witness)))
        self._conditions: bool | None = None

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, State)
            and self._hash == other._hash
            and self.seq == other.seq
            and self.witness is other.witness
            and self.spans == other.spans
            and self.vars == other.vars
        )

    def _replace(self, **changes: object) -> State:
        spans = changes.get("spans", self.spans)
        vars = changes.get("vars", self.vars)
        new = State(
            spans,  # type: ignore[arg-type]
            vars,  # type: ignore[arg-type]
            changes.get("seq", self.seq),  # type: ignore[arg-type]
            changes.get("witness", self.witness),  # type: ignore[arg-type]
            self._spans_hash if spans is self.spans else None,
            self._vars_hash if vars is self.vars else None,
        )
        if vars is self.vars:
            new._conditions = self._conditions
        return new

    # spans
    def span(self, site: int) -> SpanFact | None:
        return self.spans.get(site)

    def with_span(self, site: int, fact: SpanFact) -> State:
        old = self.spans.get(site)
        if old == fact:
            return self
        spans = dict(self.spans)
        spans[site] = fact
        change = hash((site, fact)) - (hash((site, old)) if old is not None else 0)
        new = State(
            spans,
            self.vars,
            self.seq,
            self.witness,
            (self._spans_hash + change) & _HASH_MASK,
            self._vars_hash,
        )
        new._conditions = self._conditions
        return new

    def started(self, site: int, fact: SpanFact) -> State:
        """``fact`` (a new start of ``site``) ranked last in start order.

        Ranks stay 1..n, so that loops reach a fixpoint: a span started again
        leaves its old rank, and the ranks (and marks) above it move down one.
        """
        previous = self.spans.get(site)
        spans = dict(self.spans)
        if previous is not None:
            old = previous.seq
            for other, other_fact in self.spans.items():
                if other != site and (other_fact.seq > old or other_fact.mark >= old):
                    spans[other] = other_fact._replace(
                        seq=other_fact.seq - 1 if other_fact.seq > old else other_fact.seq,
                        mark=other_fact.mark - 1 if other_fact.mark >= old else other_fact.mark,
                    )
            rank = len(spans)
            spans[site] = fact._replace(seq=rank)
            state = State(spans, self.vars, rank, self.witness, None, self._vars_hash)
        else:
            rank = len(spans) + 1
            ranked = fact._replace(seq=rank)
            spans[site] = ranked
            spans_hash = (self._spans_hash + hash((site, ranked))) & _HASH_MASK
            state = State(spans, self.vars, rank, self.witness, spans_hash, self._vars_hash)
        state._conditions = self._conditions
        return state

    def open_sites(self) -> Iterator[int]:
        return (i for i, f in self.spans.items() if f.status == OPEN)

    # names
    def var(self, name: str) -> VarValue | None:
        return self.vars.get(name)

    def with_var(self, name: str, value: VarValue | None) -> State:
        old = self.vars.get(name)
        items: dict[str, VarValue] | None = None
        change = 0
        stale: list[str] = []
        if name[0] != "?" and self._has_conditions():
            # Rebinding a name forgets what was assumed of conditions that read it.
            stale = [k for k in self.vars if k[0] == "?" and _condition_reads(k, name)]
            if stale:
                items = dict(self.vars)
                for key in stale:
                    change -= hash((key, items.pop(key)))
        if old == value:
            if items is None:
                return self
        else:
            if items is None:
                items = dict(self.vars)
            if old is not None:
                change -= hash((name, old))
                del items[name]
            if value is not None:
                items[name] = value
                change += hash((name, value))
        new = State(
            self.spans,
            items,
            self.seq,
            self.witness,
            self._spans_hash,
            (self._vars_hash + change) & _HASH_MASK,
        )
        # Carry the "any condition remembered" flag where the change says it (looking
        # at every name again on each change is quadratic in a long function).
        if name[0] == "?":
            new._conditions = True if value is not None else None
        elif not stale:
            new._conditions = self._conditions  # no remembered condition was dropped
        return new

    def _has_conditions(self) -> bool:
        """Whether any condition (``?flag``) is remembered on this path: cached, as most
        states remember none and the check would otherwise look at every name."""
        known = self._conditions
        if known is None:
            known = self._conditions = any(k[0] == "?" for k in self.vars)
        return known

    def with_witness(self, node: cst.CSTNode | None) -> State:
        return self if node is self.witness else self._replace(witness=node)


@dataclass
class Outcome:
    normal: set[State] = field(default_factory=set)
    returns: set[State] = field(default_factory=set)
    raises: set[State] = field(default_factory=set)
    breaks: set[State] = field(default_factory=set)
    continues: set[State] = field(default_factory=set)

    def absorb_jumps(self, other: Outcome) -> None:
        self.returns |= other.returns
        self.raises |= other.raises
        self.breaks |= other.breaks
        self.continues |= other.continues


@dataclass(frozen=True)
class Leak:
    site: int
    on_exception: bool
    #: The raising node, the ``return``, the rebinding statement, or ``None``
    #: for the end of the scope.
    witness: cst.CSTNode | None
    rebound: bool = False
    #: On this path an exception raised while the span was open was caught by this
    #: ``except`` handler, which then left it (``how``: "falls", "returns",
    #: "continues", "breaks" or "raises"; None while still in the handler).
    handler: cst.CSTNode | None = None
    how: str | None = None


@dataclass(frozen=True)
class OrderViolation:
    code: str  # TLC105 or TLC106
    end_node: cst.CSTNode  # the end call reported
    ended_site: int  # the parent/trace (TLC105) or earlier span (TLC106) ended there
    open_site: int  # the span still open at that end, ended later
    #: The child was started under the parent only after the parent had ended.
    started_after: bool = False


@dataclass
class ScopeFacts:
    """What the analysis found in one scope."""

    scope_node: cst.CSTNode
    sites: list[Site]
    leaks: list[Leak] = field(default_factory=list)
    double_ends: list[tuple[cst.CSTNode, int, cst.CSTNode | None]] = field(default_factory=list)
    order: list[OrderViolation] = field(default_factory=list)
    ended_sites: set[int] = field(default_factory=set)
    #: Sites stored on ``self.<attr>`` (directly or in a container there).
    stored_on_self: list[tuple[int, str]] = field(default_factory=list)
    #: TLC202: (call, site the trace ID comes from, site the span/parent ID comes from).
    cross_trace: list[tuple[cst.Call, int, int]] = field(default_factory=list)
    #: TLC301: (fluent call or ``with`` item, a client span open there).
    fluent_under_client: list[tuple[cst.CSTNode, int]] = field(default_factory=list)
    #: What a finding on a site rests on beyond this scope: (call, what it does with it),
    #: from the callee's summary (``_close(...)`` ends it, ``tag(...)`` only reads it).
    notes: dict[int, list[tuple[cst.CSTNode, str]]] = field(default_factory=dict)
    #: (site, handler) -> the raise points, with that span open, the handler caught.
    caught: dict[tuple[int, cst.CSTNode], set[cst.CSTNode]] = field(default_factory=dict)
    skipped: bool = False


class ScopeAnalysis:
    """Runs the abstract interpreter over one scope."""

    def __init__(
        self,
        ctx: FileContext,
        scope: Scope,
        owned: set[int] | None,
        shared_names: tuple[set[str], dict[str, list[cst.CSTNode]]] | None = None,
        param_span: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.scope = scope
        #: For a function summary: the parameter that holds an open span on entry.
        self.param_span = param_span
        #: The states that leave the scope normally (by its end or a ``return``).
        self.exit_states: set[State] = set()
        #: Sites this scope ends itself; ``None`` in the first pass (all owned).
        self.owned = owned
        #: First pass: the sites whose ownership changed the way the pass went.
        self.owned_asked: set[int] = set()
        self.sites: dict[cst.Call, Site] = {}
        self.site_list: list[Site] = []
        self.facts = ScopeFacts(scope.node, self.site_list)
        self._leaks: set[Leak] = set()
        self._double: set[tuple[cst.CSTNode, int, cst.CSTNode | None]] = set()
        self._order: dict[tuple[str, cst.CSTNode], OrderViolation] = {}
        self._stored: set[tuple[int, str]] = set()
        self._cross: set[tuple[cst.Call, int, int]] = set()
        #: Spans started across two traces (TLC202): the root of the trace their
        #: ``trace_id`` names.
        self._crossed_roots: dict[int, int] = {}
        #: A generator a consumer can close at a `yield` (GeneratorExit). A
        #: ``@contextmanager`` is always resumed, or has the block's exception thrown in.
        self._closable = not _is_context_manager(scope.node)
        self._fluent: set[tuple[cst.CSTNode, int]] = set()
        self._traced = _traced_functions(ctx)
        self.shared_names, self._closures = (
            shared_names if shared_names is not None else _names_shared_outside(ctx, scope)
        )
        self._repeated_conditions: frozenset[str] | None = None
        self._guards: dict[str, int] | None = None
        #: The evaluation order of each expression, worked out once per file (not once per
        #: path, nor once per pass: it is syntax only).
        self._evaluation: dict[cst.BaseExpression, list[cst.CSTNode]] = ctx.cache.setdefault(
            "evaluation order", {}
        )  # type: ignore[assignment]
        self._order_index: dict[int, int] | None = None
        #: TLC106 (strict LIFO) costs a look at every span per end: only when it is on.
        self.lifo = ctx.enabled is None or "TLC106" in ctx.enabled
        self._taken: dict[cst.Call, LifecycleCall] = {}
        self._helper_starts: dict[cst.Call, LifecycleCall] = {}
        #: Helper starts that give the caller one ID of the span, not the span.
        self._helper_ids: dict[cst.Call, str] = {}

    # --- entry ---------------------------------------------------------------

    def run(self) -> ScopeFacts:
        body = _scope_body(self.scope.node)
        try:
            outcome = self.block(body, {self._entry_state()})
        except TooComplex:
            self.facts.skipped = True
            return self.facts
        self.exit_states = outcome.normal | outcome.returns
        for state in outcome.normal:
            self.exit(state, None, on_exception=False)
        for state in outcome.returns:
            self.exit(state, state.witness, on_exception=False)
        for state in outcome.raises:
            self.exit(state, state.witness, on_exception=True)
        self.facts.leaks = sorted(self._leaks, key=lambda leak: (leak.site, leak.on_exception))
        self.facts.double_ends = list(self._double)
        self.facts.order = list(self._order.values())
        self.facts.stored_on_self = sorted(self._stored)
        self.facts.cross_trace = list(self._cross)
        self.facts.fluent_under_client = list(self._fluent)
        return self.facts

    def _entry_state(self) -> State:
        """Empty, or for a summary the parameter bound to an open span of its own."""
        if self.param_span is None:
            return State()
        param = LifecycleCall(self.scope.node, CallKind.TAKEN, self.scope, None)  # type: ignore[arg-type]
        site = self.site_for(param)
        fact = SpanFact(OPEN, None, -1, site.index, 1)
        return State().with_span(site.index, fact).with_var(self.param_span, ("span", site.index))

    def exit(self, state: State, witness: cst.CSTNode | None, *, on_exception: bool) -> None:
        for site in state.open_sites():
            if self._accountable(site):
                self._leak(site, on_exception, witness, state)

    def _leak(
        self,
        site: int,
        on_exception: bool,
        witness: cst.CSTNode | None,
        state: State,
        *,
        rebound: bool = False,
    ) -> None:
        mark = state.var(_caught_key(site))
        handler, how = (mark[1], mark[2]) if mark is not None else (None, None)
        self._leaks.add(Leak(site, on_exception, witness, rebound, handler, how))

    # --- exceptions caught by a handler that carries on ---------------------------

    def _catch(self, state: State, handler: cst.CSTNode) -> State:
        """An exception enters ``handler``: remember, per open span, where it came from."""
        witness = state.witness
        for site in list(state.open_sites()):
            if witness is not None:
                self.facts.caught.setdefault((site, handler), set()).add(witness)
            state = state.with_var(_caught_key(site), ("caught", handler, None))
        return state.with_witness(None)

    def _left_handler(self, handled: Outcome, handler: cst.CSTNode) -> Outcome:
        """Note how each path left ``handler`` in the marks it set."""
        for kind, how in _HANDLER_EXITS:
            group: set[State] = getattr(handled, kind)
            if group:
                setattr(handled, kind, {_mark_how(s, handler, how) for s in group})
        return handled

    def _settled(self, state: State, site: int) -> State:
        """The span is ended, handed over or started again: its mark is moot."""
        key = _caught_key(site)
        return state.with_var(key, None) if state.var(key) is not None else state

    def _accountable(self, site: int) -> bool:
        """A span taken out of a container is this scope's to end only if it ends it."""
        return self.site_list[site].call.kind is not CallKind.TAKEN or self.is_owned(site)

    # --- statements ------------------------------------------------------------

    def block(self, statements: Iterable[cst.CSTNode], states: set[State]) -> Outcome:
        result = Outcome()
        current = states
        for statement in statements:
            if not current:
                break
            if len(current) > JOIN_AT:
                current = self.join(current, statement)
            outcome = self.statement(statement, current)
            result.absorb_jumps(outcome)
            current = outcome.normal
        result.normal = current
        return result

    def join(self, states: set[State], at: cst.CSTNode) -> set[State]:
        """Join the states that agree on the values of the names guards test from ``at``
        on, and on the node the path raised at: a path state per combination of those.

        Within a group, a name keeps its value where all states agree (else it is
        unknown), and a span is open if it is open on any path, else ended if ended on
        any, else handed over. A span known on one path only keeps that fact; start
        order is kept, and the order marks are dropped (no TLC105/106 from a joined
        end). Findings that need the joined detail are lost, never invented; beyond
        ``MAX_STATES`` groups, the scope is reported (TLC003), not guessed.
        """
        here = self._node_order(at)
        guards = [name for name, last in self._guard_names().items() if last >= here]
        groups: dict[tuple[object, ...], list[State]] = {}
        for state in states:
            key: tuple[object, ...] = (
                id(state.witness),
                *(state.vars.get(name) for name in guards),
            )
            if state._has_conditions():
                # What the path assumed of a condition tested again later (``?flag``).
                key += tuple(sorted(item for item in state.vars.items() if item[0][0] == "?"))
            groups.setdefault(key, []).append(state)
        if len(groups) > MAX_STATES:
            raise TooComplex
        return {self._joined(group) for group in groups.values()}

    def _joined(self, group: list[State]) -> State:
        first = group[0]
        if len(group) == 1:
            return first
        vars = dict(first.vars)
        spans_alike = True
        for state in group[1:]:
            for name in list(vars):
                if state.vars.get(name) != vars[name]:
                    del vars[name]
            if spans_alike and state.spans != first.spans:
                spans_alike = False
        if spans_alike:
            return State(first.spans, vars, first.seq, first.witness, first._spans_hash)
        # Facts every path agrees on are kept as they are; the others are merged. Paths
        # that split from one state share most fact objects: identity decides first, so
        # that no fact (nor the node it holds) is hashed.
        others = [state.spans for state in group[1:]]
        agreed: dict[int, SpanFact] = {}
        for site, fact in first.spans.items():
            for spans in others:
                other = spans.get(site)
                if other is not fact and other != fact:
                    break
            else:
                agreed[site] = fact
        alternatives: dict[int, list[SpanFact]] = {}
        for state in group:
            for site, fact in state.spans.items():
                if site not in agreed:
                    alternatives.setdefault(site, []).append(fact)
        # A span no name refers to any more, ended or handed over on every path, can
        # take part in no later finding (unless it is the parent or the root of one that
        # can): dropped, so that a long function's joined states do not grow with it.
        live = {value[1] for value in vars.values() if value[0] in ("span", "id")}
        live.update(site for site, fact in agreed.items() if fact.status == OPEN)
        live.update(
            site
            for site, facts_of_site in alternatives.items()
            if any(fact.status == OPEN for fact in facts_of_site)
        )
        pending = list(live)
        while pending:
            site = pending.pop()
            known = agreed.get(site)
            for fact in [known] if known is not None else alternatives.get(site, ()):
                for above in (fact.parent, fact.root):
                    if above != -1 and above not in live:
                        live.add(above)
                        pending.append(above)
        merged: list[tuple[int, int, SpanFact]] = [
            (fact.seq, site, fact) for site, fact in agreed.items() if site in live
        ]
        for site, facts_of_site in alternatives.items():
            if site not in live:
                continue
            statuses = {fact.status for fact in facts_of_site}
            status = OPEN if OPEN in statuses else ENDED if ENDED in statuses else HANDED
            end_node = None
            if status == ENDED:
                end_node = min(
                    (f.end_node for f in facts_of_site if f.end_node is not None),
                    key=self._node_order,
                    default=None,
                )
            parents = {fact.parent for fact in facts_of_site}
            roots = {fact.root for fact in facts_of_site}
            fact = SpanFact(
                status,
                end_node,
                parents.pop() if len(parents) == 1 else -1,
                roots.pop() if len(roots) == 1 else -1,
                0,
            )
            merged.append((min(f.seq for f in facts_of_site), site, fact))
        merged.sort(key=lambda item: (item[0], item[1]))
        spans = {}
        for rank, (_, site, fact) in enumerate(merged, 1):
            spans[site] = (
                fact if fact.seq == rank and fact.mark == 0 else fact._replace(seq=rank, mark=0)
            )
        return State(spans, vars, len(spans), first.witness)

    def _guard_names(self) -> dict[str, int]:
        """Names whose value an ``if``/``while`` test of this scope reads as a guard, with
        the place (``_node_order``) after which no test reads them any more: the last
        test, or the end of the outermost loop around it."""
        if self._guards is None:
            found: dict[str, int] = {}
            loop_ends: dict[int, int] = {}
            for node in descendants(self.scope.node, into_scopes=False):
                if not isinstance(node, (cst.If, cst.While)):
                    continue
                last = self._node_order(node)
                outer: cst.CSTNode | None = None
                ancestor = self.ctx.index.parents.get(node)
                while ancestor is not None and ancestor is not self.scope.node:
                    if isinstance(ancestor, (cst.For, cst.While)):
                        outer = ancestor
                    ancestor = self.ctx.index.parents.get(ancestor)
                if outer is not None:
                    end = loop_ends.get(id(outer))
                    if end is None:
                        end = max((self._node_order(n) for n in descendants(outer)), default=last)
                        loop_ends[id(outer)] = end
                    last = max(last, end)
                stack: list[cst.BaseExpression] = [node.test]
                while stack:
                    test = stack.pop()
                    name = None
                    if isinstance(test, cst.Name):
                        name = test.value
                    elif isinstance(test, cst.UnaryOperation):
                        stack.append(test.expression)
                    elif isinstance(test, cst.BooleanOperation):
                        stack.extend((test.left, test.right))
                    elif isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name):
                        name = test.left.value
                    if name is not None:
                        found[name] = max(found.get(name, -1), last)
            self._guards = dict(sorted(found.items()))
        return self._guards

    def _node_order(self, node: cst.CSTNode) -> int:
        """A node's place in the source (for choices that must not depend on hashing)."""
        if self._order_index is None:
            self._order_index = {
                id(n): i for i, n in enumerate(descendants(self.scope.node, into_scopes=False))
            }
        return self._order_index.get(id(node), -1)

    def statement(self, node: cst.CSTNode, states: set[State]) -> Outcome:
        # Exact type tests (these node classes have no subclasses): ``isinstance`` on
        # libcst's ABC-based classes is slow when it fails, and this runs per statement.
        kind = type(node)
        if kind is cst.SimpleStatementLine:
            return self.block(node.body, states)  # type: ignore[attr-defined]
        if kind is cst.If:
            return self.if_(node, states)  # type: ignore[arg-type]
        if kind is cst.For or kind is cst.While:
            return self.loop(node, states)  # type: ignore[arg-type]
        if kind is cst.Try or kind is cst.TryStar:
            return self.try_(node, states)  # type: ignore[arg-type]
        if kind is cst.With:
            return self.with_(node, states)  # type: ignore[arg-type]
        if kind is cst.Match:
            return self.match(node, states)  # type: ignore[arg-type]
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            return self.definition(node, states)  # type: ignore[arg-type]
        return self.small(node, states)

    def small(self, node: cst.CSTNode, states: set[State]) -> Outcome:
        out = Outcome()
        for state in states:
            self._small_one(node, state, out)
        return out

    def _small_one(self, node: cst.CSTNode, state: State, out: Outcome) -> None:
        kind = type(node)
        if kind is cst.Expr:  # the commonest statements first, by exact type
            out.normal.add(self.expression(node.value, state, out))  # type: ignore[attr-defined]
            return
        if kind is cst.Assign and type(node.value) is not cst.IfExp:  # type: ignore[attr-defined]
            if self._taken_from_self(node) is None:  # type: ignore[arg-type]
                for_value = node.value  # type: ignore[attr-defined]
                state = self.expression(for_value, state, out)
                for target in node.targets:  # type: ignore[attr-defined]
                    state = self.assign(target.target, for_value, state, out)
                out.normal.add(state)
                return
        if isinstance(node, cst.Pass):
            out.normal.add(state)
        elif isinstance(node, cst.Break):
            out.breaks.add(state)
        elif isinstance(node, cst.Continue):
            out.continues.add(state)
        elif isinstance(node, cst.Return):
            if node.value is not None:
                state = self.expression(node.value, state, out)
                state = self.hand_over(state, self.referenced(node.value, state))
            out.returns.add(state.with_witness(node))
        elif isinstance(node, cst.Raise):
            for part in (node.exc, node.cause.item if node.cause is not None else None):
                if part is not None:
                    state = self.expression(part, state, out)
            out.raises.add(state.with_witness(node))
        elif isinstance(node, cst.Assert):
            state = self.expression(node.test, state, out)
            if node.msg is not None:
                state = self.expression(node.msg, state, out)
            out.raises.add(state.with_witness(node))
            out.normal.add(state)
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.IfExp):
            # ``span = client.start_span(...) if enabled else None``: two paths.
            value = node.value
            tested = self.expression(value.test, state, out)
            for branch in (value.body, value.orelse):
                branch_state = self.expression(branch, tested, out)
                for target in node.targets:
                    branch_state = self.assign(target.target, branch, branch_state, out)
                out.normal.add(branch_state)
        elif isinstance(node, cst.Assign) and self._taken_from_self(node) is not None:
            # ``span = self._spans.pop(run_id)``: this scope now holds the only reference.
            state = self.expression(node.value, state, out)
            holder = node.targets[0].target
            assert isinstance(holder, cst.Name) and isinstance(node.value, cst.Call)
            taken = self._taken_from_self(node)
            assert taken is not None
            site = self.site_for(taken)
            adopted = state.started(site.index, SpanFact(OPEN, None, -1, -1, 0))
            out.normal.add(self.rebind(holder.value, ("span", site.index), adopted, node))
            if _may_be_none(node.value):
                out.normal.add(self.rebind(holder.value, ("none",), state, node))
        elif isinstance(node, cst.Assign):
            state = self.expression(node.value, state, out)
            for target in node.targets:
                state = self.assign(target.target, node.value, state, out)
            out.normal.add(state)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                state = self.expression(node.value, state, out)
                state = self.assign(node.target, node.value, state, out)
            out.normal.add(state)
        elif isinstance(node, cst.AugAssign):
            state = self.expression(node.value, state, out)
            state = self.hand_over_if_stored(node.target, node.value, state)
            if isinstance(node.target, cst.Name):
                state = self.rebind(node.target.value, None, state, node)
            out.normal.add(state)
        elif isinstance(node, cst.Expr):
            out.normal.add(self.expression(node.value, state, out))
        elif isinstance(node, cst.Del):
            for name in _target_names(node.target):
                state = state.with_var(name, None)
            out.normal.add(state)
        else:  # import, global, nonlocal: no effect on spans
            out.normal.add(state)

    def definition(self, node: cst.FunctionDef | cst.ClassDef, states: set[State]) -> Outcome:
        """A nested ``def``/``class``: decorators run now; captured spans are handed over."""
        out = Outcome()
        captured = _free_names(self.ctx, node)
        for state in states:
            for decorator in node.decorators:
                state = self.expression(decorator.decorator, state, out)
            sites = {s for name in captured for s in self._sites_of_name(name, state)}
            out.normal.add(self.hand_over(state, sites))
        return out

    def if_(self, node: cst.If, states: set[State]) -> Outcome:
        out = Outcome()
        current: cst.If | None = node
        # An ``elif`` chain is walked in a loop, not by recursion: a thousand ``elif``s
        # are valid Python.
        while current is not None:
            test = current.test
            entered: set[State] = set()
            for state in states:
                entered.add(self.expression(test, state, out))
            true_states = {
                self.assume(test, s, True) for s in entered if self.feasible(test, s, True)
            }
            false_states = {
                self.assume(test, s, False) for s in entered if self.feasible(test, s, False)
            }
            body = self.block(current.body.body, true_states)
            out.absorb_jumps(body)
            out.normal |= body.normal
            orelse = current.orelse
            current = None
            if orelse is None:
                out.normal |= false_states
            elif isinstance(orelse, cst.If):
                current, states = orelse, false_states
            else:
                other = self.block(orelse.body.body, false_states)
                out.absorb_jumps(other)
                out.normal |= other.normal
        return out

    def loop(self, node: cst.For | cst.While, states: set[State]) -> Outcome:
        out = Outcome()
        head: set[State] = set()
        infinite = False
        if isinstance(node, cst.For):
            for state in states:
                head.add(self.expression(node.iter, state, out))
        else:
            head = set(states)
            infinite = _always_true(node.test)
        exits: set[State] = set()
        breaks: set[State] = set()
        seen: set[State] = set()
        frontier = head
        trips = _fixed_trips(node)  # ``for _ in range(2)``: exactly two rounds
        rounds = 0
        while frontier:
            rounds += 1
            if len(frontier) > JOIN_AT:
                frontier = self.join(frontier, node)
                if trips is None:
                    frontier -= seen
            seen |= frontier
            if len(seen) > MAX_STATES:
                raise TooComplex
            entry: set[State] = set()
            for state in frontier:
                if isinstance(node, cst.For):
                    # Each step of the iteration may raise (the exception model says
                    # when not), and may find nothing left.
                    if exception_model.iteration_may_raise(node.iter, self.ctx):
                        out.raises.add(state.with_witness(node))
                    if trips is None:
                        exits.add(state)
                    for name in _target_names(node.target):
                        state = self.rebind(name, None, state, node)
                    entry.add(state)
                else:
                    tested = self.expression(node.test, state, out)
                    if not infinite and self.feasible(node.test, tested, False):
                        exits.add(tested)
                    if self.feasible(node.test, tested, True):
                        entry.add(tested)
            body = self.block(node.body.body, entry)
            out.returns |= body.returns
            out.raises |= body.raises
            breaks |= body.breaks
            frontier = body.normal | body.continues
            if trips is None:
                frontier -= seen
            elif rounds == trips:
                exits |= frontier
                break
        if node.orelse is not None:
            orelse = self.block(node.orelse.body.body, exits)
            out.absorb_jumps(orelse)
            exits = orelse.normal
        out.normal = exits | breaks
        return out

    def try_(self, node: cst.Try | cst.TryStar, states: set[State]) -> Outcome:
        body = self.block(node.body.body, states)
        out = Outcome(returns=set(body.returns), breaks=set(body.breaks))
        out.continues = set(body.continues)
        pending_exceptions = set(body.raises)
        for handler in node.handlers:
            if not pending_exceptions:
                break
            # A consumer that stops a generator raises GeneratorExit at its `yield`: a
            # BaseException, which `except Exception:` lets through.
            closes = _catches_generator_exit(handler) or not self._closable
            entry = set()
            for state in pending_exceptions:
                if not closes and type(state.witness) is cst.Yield:
                    continue
                state = self._catch(state, handler)
                if handler.name is not None:
                    for name in _target_names(handler.name.name):
                        state = state.with_var(name, None)
                entry.add(state)
            handled = self._left_handler(self.block(handler.body.body, entry), handler)
            out.absorb_jumps(handled)
            out.normal |= handled.normal
            if _catches_everything(handler):
                pending_exceptions = (
                    set()
                    if closes
                    else {s for s in pending_exceptions if type(s.witness) is cst.Yield}
                )
            elif closes:  # `except GeneratorExit:` is exactly what a closed generator raises
                pending_exceptions = {
                    s for s in pending_exceptions if type(s.witness) is not cst.Yield
                }
        out.raises |= pending_exceptions
        if node.orelse is not None:
            orelse = self.block(node.orelse.body.body, body.normal)
            out.absorb_jumps(orelse)
            out.normal |= orelse.normal
        else:
            out.normal |= body.normal
        if node.finalbody is None:
            return out
        return self.finally_(node.finalbody.body.body, out)

    def finally_(self, statements: Iterable[cst.CSTNode], before: Outcome) -> Outcome:
        """Run ``finally`` for each way of leaving the ``try``, then leave that way."""
        statements = list(statements)
        out = Outcome()
        for kind in ("normal", "returns", "raises", "breaks", "continues"):
            group: set[State] = getattr(before, kind)
            if not group:
                continue
            by_witness: dict[int, tuple[cst.CSTNode | None, set[State]]] = {}
            for state in group:
                entry = by_witness.setdefault(id(state.witness), (state.witness, set()))
                entry[1].add(state.with_witness(None))
            for witness, entry_states in by_witness.values():
                ran = self.block(statements, entry_states)
                out.absorb_jumps(ran)
                getattr(out, kind).update(s.with_witness(witness) for s in ran.normal)
        return out

    def with_(self, node: cst.With, states: set[State]) -> Outcome:
        out = Outcome()
        entered = set()
        entering = any(
            exception_model.entering_may_raise(item.item, self.ctx) for item in node.items
        )
        for state in states:
            for item in node.items:
                if is_fluent_start(self.ctx, item.item, self.scope):
                    self._note_fluent(item, state)
                state = self.expression(item.item, state, out)
                if item.asname is not None:
                    for name in _target_names(item.asname.name):
                        state = self.rebind(name, None, state, node)
            if entering:
                out.raises.add(state.with_witness(node))
            entered.add(state)
        body = self.block(node.body.body, entered)
        suppressed = self._suppressed(node)
        if suppressed is not None:
            # ``with contextlib.suppress(...)``: what it swallows goes on after the block.
            out.normal |= {s.with_witness(None) for s in body.raises}
            if suppressed:
                body.raises = set()
        out.absorb_jumps(body)
        out.normal |= body.normal
        return out

    def _is_suppress(self, expr: cst.BaseExpression) -> bool:
        return (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, (cst.Name, cst.Attribute))
            and self.ctx.index.qualify(expr.func, self.scope) == "contextlib.suppress"
        )

    def _suppressed(self, node: cst.With) -> bool | None:
        """``None``: no ``suppress``; ``True``: it swallows everything; ``False``: some."""
        result: bool | None = None
        for item in node.items:
            expr = item.item
            if not self._is_suppress(expr):
                continue
            assert isinstance(expr, cst.Call)
            names = [
                a.value.attr.value
                if isinstance(a.value, cst.Attribute)
                else getattr(a.value, "value", "")
                for a in expr.args
            ]
            result = bool(result) or any(name in _CATCH_ALL for name in names)
        return result

    def match(self, node: cst.Match, states: set[State]) -> Outcome:
        out = Outcome()
        subject_states = set()
        for state in states:
            subject_states.add(self.expression(node.subject, state, out))
        exhaustive = False
        for case in node.cases:
            branch = self.block(case.body.body, subject_states)
            out.absorb_jumps(branch)
            out.normal |= branch.normal
            if case.guard is None and _irrefutable(case.pattern):
                exhaustive = True
        if not exhaustive:
            out.normal |= subject_states
        return out

    # --- expressions -----------------------------------------------------------

    def expression(self, expr: cst.BaseExpression, state: State, out: Outcome) -> State:
        """Evaluate the calls, awaits, yields and walruses in ``expr``, in order."""
        order = self._evaluation.get(expr)
        if order is None:
            order = self._evaluation[expr] = _evaluation_order(expr)
        for node in order:
            if isinstance(node, cst.Call):
                state = self.call(node, state, out)
            elif isinstance(node, cst.Await):
                out.raises.add(state.with_witness(node))
            elif isinstance(node, cst.Yield):
                state = self.yield_(node, state, out)
            elif isinstance(node, cst.NamedExpr):
                state = self.assign(node.target, node.value, state, out)
            elif isinstance(node, cst.Lambda):
                sites = {
                    s for n in _free_names(self.ctx, node) for s in self._sites_of_name(n, state)
                }
                state = self.hand_over(state, sites)
        return state

    def yield_(self, node: cst.Yield, state: State, out: Outcome) -> State:
        value = node.value
        if isinstance(value, cst.From):
            value = value.item
        if value is not None:
            refs = self.referenced(value, state)
            state = self.hand_over(state, {s for s in refs if not self.is_owned(s)})
        # The consumer may never resume the generator (RULES.md): a raise point.
        out.raises.add(state.with_witness(node))
        return state

    def call(self, node: cst.Call, state: State, out: Outcome) -> State:
        lifecycle = self.ctx.lifecycle_call(node)
        func = node.func
        if lifecycle is not None and lifecycle.kind is not CallKind.SPAN_END:
            if lifecycle.kind.is_start:
                return self.start(lifecycle, state)
            return self.end(lifecycle, state)
        if isinstance(func, cst.Attribute):
            site = self.span_of(func.value, state)
            if site is not None:
                if func.attr.value == facts.SPAN_END_METHOD:
                    return self.end_site(site, node, state)
                return state  # a span's own methods: lifecycle calls, they do not raise
        if lifecycle is not None:
            return state  # ``.end()`` on a span kept elsewhere (``self._span``)
        if self._is_fluent_context_call(node):
            self._note_fluent(node, state)
        # Another module's function is looked up only when it may matter here: a span
        # or its ID is passed to it, or what it returns is kept (``span = helper()``).
        passes = any(self.span_of(arg.value, state) is not None for arg in node.args)
        knowledge = self.ctx.knowledge
        callee = knowledge.callee(node, self.scope, across=knowledge.reach(node, passes))
        if callee is not None:
            return self.summarised_call(node, callee, state, out)
        refs: set[int] = set()
        for arg in node.args:
            refs |= self.referenced(arg.value, state)
        if refs and self._reads_spans(func):
            refs = set()  # MLflow's attribute setters: lent, still the caller's to end
        if refs:
            storing = isinstance(func, cst.Attribute) and func.attr.value in _STORING_METHODS
            if storing or _names_an_end(func):
                if storing and isinstance(func, cst.Attribute):
                    self._note_stored_on_self(func.value, refs)
                state = self.hand_over(state, refs)
            else:
                # The callee has the span even if it then raises; but lending
                # to a call excuses nothing for a span this scope ends itself.
                state = self.hand_over(state, {s for s in refs if not self.is_owned(s)})
        # Any other call may raise.
        if exception_model.call_may_raise(node, self.ctx) and not self._lent_to_span_method(
            node, state
        ):
            out.raises.add(state.with_witness(node))
        return state

    def _lent_to_span_method(self, node: cst.Call, state: State) -> bool:
        """``node`` is in the arguments of a method of a span this path holds
        (``span.add_event(SpanEvent(...))``): like every lifecycle call's arguments, it does
        not raise (RULES.md), however the name was bound elsewhere in the scope."""
        for ancestor in self.ctx.index.ancestors(node):
            if isinstance(ancestor, cst.Call):
                func = ancestor.func
                if isinstance(func, cst.Attribute) and self.span_of(func.value, state) is not None:
                    return True
            elif isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    def _reads_spans(self, func: cst.BaseExpression) -> bool:
        """An MLflow helper that only sets attributes on the span it is given, or makes it
        the active span (``set_span_in_context``): the caller still ends it."""
        return exception_model.is_span_reading_function(func, self.ctx, self.scope)

    def summarised_call(self, node: cst.Call, callee: Callee, state: State, out: Outcome) -> State:
        """A call the linter can see into: its summary says what it does with the spans
        it is given, whether it starts one for the caller, and whether it may raise."""
        for arg, param in callee.bind(node):
            refs = self.referenced(arg.value, state)
            if not refs:
                continue
            site = self.span_of(arg.value, state)
            effect = callee.effect(param) if site is not None and param is not None else None
            if site is not None and effect is Effect.ENDS:
                self._note(site, node, effect.value)
                state = self.end_site(site, node, state)
            elif site is not None and effect is Effect.READS:
                self._note(site, node, effect.value)  # lent: still this scope's to end
            elif effect is not None or _names_an_end(node.func):
                state = self.hand_over(state, refs)  # stored, passed on, maybe ended
            else:  # not known: as for a call that cannot be resolved
                state = self.hand_over(state, {s for s in refs if not self.is_owned(s)})
        # The exception model has the last word (a call the user declares non-raising);
        # the summary can only say that a function the model would suspect does not raise.
        if (
            callee.may_raise
            and exception_model.call_may_raise(node, self.ctx)
            and not self._lent_to_span_method(node, state)
        ):
            out.raises.add(state.with_witness(node))
        kind = callee.returns_span
        if kind is not None:
            started = self._helper_starts.get(node)
            if started is None:
                started = LifecycleCall(node, CallKind.HELPER_START, self.scope, None)
                started.helper_trace = returned_kind(kind) == "trace"
                self._helper_starts[node] = started
                attr = returned_id(kind)
                if attr is not None:
                    self._helper_ids[node] = attr  # ``span_id = begin(...)``: its ID only
                    started.helper_id = attr
            state = self.start(started, state)
        return state

    def _note(self, site: int, node: cst.CSTNode, what: str) -> None:
        notes = self.facts.notes.setdefault(site, [])
        if (node, what) not in notes:
            notes.append((node, what))

    def _is_fluent_context_call(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name) and func.value in self._traced:
            return True
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if last is None or f"mlflow.{last}" not in facts.FLUENT_CONTEXT_FUNCTIONS:
            return False
        return self.ctx.index.qualify(func, self.scope) in facts.FLUENT_CONTEXT_FUNCTIONS

    def _note_fluent(self, node: cst.CSTNode, state: State) -> None:
        """TLC301: a fluent API used while a span started by the client is open."""
        for site in state.open_sites():
            if self.site_list[site].call.kind in (CallKind.START_TRACE, CallKind.START_SPAN):
                self._fluent.add((node, site))

    # --- lifecycle effects ---------------------------------------------------

    def _taken_from_self(self, node: cst.Assign) -> LifecycleCall | None:
        """``name = self.<attr>.pop(...)`` in a method: the popped span changes hands."""
        value = node.value
        if (
            len(node.targets) != 1
            or not isinstance(node.targets[0].target, cst.Name)
            or not isinstance(value, cst.Call)
            or not isinstance(value.func, cst.Attribute)
            or value.func.attr.value != "pop"
            or not isinstance(value.func.value, cst.Attribute)
            or self.ctx.index.self_class(value.func.value.value, self.scope) is None
        ):
            return None
        taken = self._taken.get(value)
        if taken is None:
            taken = LifecycleCall(value, CallKind.TAKEN, self.scope, value.func.value)
            self._taken[value] = taken
        return taken

    def site_for(self, call: LifecycleCall) -> Site:
        site = self.sites.get(call.node)
        if site is None:
            site = Site(len(self.site_list), call, self._display_name(call))
            self.sites[call.node] = site
            self.site_list.append(site)
        return site

    def _display_name(self, call: LifecycleCall) -> str:
        parent = self.ctx.index.parents.get(call.node)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, (cst.Name, cst.Attribute)):
                return self.ctx.short_source(target)
        if isinstance(parent, (cst.AnnAssign, cst.NamedExpr)) and isinstance(
            parent.target, (cst.Name, cst.Attribute)
        ):
            return self.ctx.short_source(parent.target)
        if call.kind is CallKind.HELPER_START:
            return self.ctx.short_source(call.node)
        name = call.arg("name")
        text = self.ctx.index.string_value(name, call.scope) if name is not None else None
        # Not kept and not named by a literal: the call itself (`client.start_span(...)`).
        return text if text is not None else self.ctx.short_source(call.node)

    def start(self, call: LifecycleCall, state: State) -> State:
        site = self.site_for(call)
        parent, root = -1, -1
        crossed = False
        if call.kind is CallKind.START_SPAN:
            parent_ref = self.id_of(call.arg("parent_id"), state)
            trace_ref = self.id_of(call.arg(facts.TRACE_ID_PARAM), state)
            if parent_ref is not None:
                parent = parent_ref[0]
            root = self._root_from(trace_ref, state)
            if self._check_same_trace(call.node, trace_ref, parent_ref, state):
                root = -1  # which trace it joined is unknown: one defect, one finding
                crossed = True  # MLflow refuses it for that (TLC202), not for an ended parent
                # Its `.trace_id` is the trace ID it was given (that trace's root), not
                # any trace's.
                self._crossed_roots[site.index] = self._root_from(trace_ref, state)
            elif root == -1 and parent != -1:
                fact = state.span(parent)
                root = fact.root if fact is not None else -1
        elif call.kind is CallKind.START_NO_CONTEXT:
            parent_expr = call.arg("parent_span")
            parent_site = self.span_of(parent_expr, state) if parent_expr is not None else None
            if parent_site is not None:
                parent = parent_site
                fact = state.span(parent)
                root = fact.root if fact is not None else -1
            elif parent_expr is None or _is_none_literal(parent_expr):
                root = site.index
        elif call.kind is CallKind.HELPER_START:
            root = site.index if call.helper_trace else -1
        else:
            root = site.index
        parent_fact = state.span(parent) if parent != -1 else None
        if (
            parent_fact is not None
            and parent_fact.status == ENDED
            and parent_fact.end_node
            and not crossed
        ):
            # A child started under a parent that has already ended (TLC105, at that end).
            self._note_order("TLC105", parent_fact.end_node, parent, site.index, True)
        previous = state.span(site.index)
        if previous is not None and previous.status == OPEN:
            # The same start runs again (a loop) while its last span is open.
            self._leak(site.index, False, call.node, state, rebound=True)
        state = self._settled(state, site.index)
        # Start order as ranks 1..n, so that loops reach a fixpoint. Order checks that
        # waited for the previous span of this start are moot: the new span started
        # after every earlier end (its rank is above every mark).
        return state.started(site.index, SpanFact(OPEN, None, parent, root, 0))

    def _check_same_trace(
        self,
        node: cst.Call,
        trace_ref: tuple[int, str] | None,
        span_ref: tuple[int, str] | None,
        state: State,
    ) -> bool:
        """TLC202: the trace ID and the parent/span ID come from different traces."""
        if trace_ref is None or span_ref is None:
            return False
        trace_root = self._root_from(trace_ref, state)
        span_root = self._root_from(span_ref, state)
        if trace_root != -1 and span_root != -1 and trace_root != span_root:
            self._cross.add((node, trace_ref[0], span_ref[0]))
            return True
        return False

    def _root_from(self, ref: tuple[int, str] | None, state: State) -> int:
        if ref is None:
            return -1
        fact = state.span(ref[0])
        return fact.root if fact is not None else -1

    def end(self, call: LifecycleCall, state: State) -> State:
        if call.kind is CallKind.END_SPAN:
            ref = self.id_of(call.arg("span_id"), state)
            trace_ref = self.id_of(call.arg(facts.TRACE_ID_PARAM), state)
            if self._check_same_trace(call.node, trace_ref, ref, state):
                return state  # MLflow finds no such span in that trace and ends nothing
            if ref is not None and ref[1] == "span_id":
                if (
                    trace_ref is not None
                    and trace_ref[0] != ref[0]
                    and self._root_from(trace_ref, state) == -1
                    and self._root_from(ref, state) != -1
                ):
                    # The trace ID is of a span whose trace is not known (one a helper
                    # started): MLflow may find this span there or not. Maybe ended.
                    return self._maybe_ended_site(state, ref[0])
                return self.end_site(ref[0], call.node, state)
            trace = self._root_from(self.id_of(call.arg(facts.TRACE_ID_PARAM), state), state)
            return self._maybe_ended(state, lambda f: trace == -1 or f.root == trace)
        # end_trace ends the trace's root span.
        ref = self.id_of(call.arg(facts.TRACE_ID_PARAM), state)
        root = self._root_from(ref, state)
        if root != -1:
            return self.end_site(root, call.node, state, trace_end=True)
        named = self._crossed_roots.get(ref[0]) if ref is not None else None
        if named is not None and named != -1:
            # The trace of a span started across two traces: the one its trace ID named.
            return self.end_site(named, call.node, state, trace_end=True)
        return self._maybe_ended(state, lambda f: f.parent == -1)

    def _maybe_ended_site(self, state: State, site: int) -> State:
        """An end that may or may not reach this one span: excused, not ended."""
        fact = state.span(site)
        if fact is None or fact.status != OPEN:
            return state
        handed = _with_status(fact, HANDED, None, len(state.spans))
        return self._settled(state.with_span(site, handed), site)

    def _maybe_ended(self, state: State, which: object) -> State:
        """An end whose target is not known: every span it may end is excused."""
        for site, fact in list(state.spans.items()):
            if fact.status == OPEN and which(fact):  # type: ignore[operator]
                handed = _with_status(fact, HANDED, None, len(state.spans))
                state = self._settled(state.with_span(site, handed), site)
        return state

    def end_site(
        self, site: int, node: cst.CSTNode, state: State, *, trace_end: bool = False
    ) -> State:
        fact = state.span(site)
        if fact is None:
            return state
        self.facts.ended_sites.add(site)
        if fact.status == ENDED:
            self._double.add((node, site, fact.end_node))
            return state
        self._order_checks(site, fact, state)
        ended = _with_status(fact, ENDED, node, len(state.spans))
        return self._settled(state.with_span(site, ended), site)

    def _order_checks(self, site: int, fact: SpanFact, state: State) -> None:
        """TLC105/TLC106 at the end of ``site``: spans ended earlier on this path while it
        was open (its ancestors, its trace's root, spans of its trace started before it).

        Each ended span carries its ``mark`` (how many spans had started when it ended),
        so the check looks only at this span's ancestors instead of keeping, per path,
        every (ended, still open) pair. Only the nearest ``MAX_ANCESTORS`` ancestors
        are looked at (and the trace's root, always): spans nested deeper than that
        in one function are generated code, and a walk to the top for every end
        would make a chain of n spans cost n squared.
        """
        seq = fact.seq

        def was_open_at(ended: SpanFact) -> bool:
            return seq <= ended.mark and (
                fact.status == OPEN or (fact.status == HANDED and fact.mark > ended.mark)
            )

        spans = state.spans
        ancestors: set[int] = set()
        current = fact.parent
        while (
            current != -1
            and current != site
            and current not in ancestors
            and len(ancestors) < MAX_ANCESTORS
        ):
            ancestors.add(current)
            above = spans.get(current)
            if above is None:
                break
            if above.status == ENDED and above.end_node is not None and was_open_at(above):
                self._note_order("TLC105", above.end_node, current, site)
            current = above.parent
        root = fact.root
        if root != -1 and root != site and root not in ancestors:
            above = spans.get(root)
            if (
                above is not None
                and above.root == root
                and above.status == ENDED
                and above.end_node is not None
                and was_open_at(above)
            ):
                self._note_order("TLC105", above.end_node, root, site)
                ancestors.add(root)
        if root == -1 or not self.lifo:
            return
        # TLC106: a span of the same trace, started before this one, ended while this
        # one was open (ancestors aside: that is TLC105).
        for other, other_fact in spans.items():
            if (
                other_fact.status == ENDED
                and other_fact.root == root
                and other_fact.seq < seq
                and other != site
                and other not in ancestors
                and other_fact.end_node is not None
                and was_open_at(other_fact)
                and not self._descends(other, site, state)
            ):
                self._note_order("TLC106", other_fact.end_node, other, site)

    def _note_order(
        self,
        code: str,
        end_node: cst.CSTNode,
        ended: int,
        still_open: int,
        started_after: bool = False,
    ) -> None:
        """Keep, per end call and code, the violation the report shows (the first by
        (open site, ended site)): one end call may have many still-open spans."""
        key = (code, end_node)
        known = self._order.get(key)
        if known is None or (still_open, ended) < (known.open_site, known.ended_site):
            self._order[key] = OrderViolation(code, end_node, ended, still_open, started_after)

    def _descends(self, child: int, ancestor: int, state: State) -> bool:
        seen = set()
        current = child
        while current != -1 and current not in seen:
            seen.add(current)
            fact = state.span(current)
            if fact is None:
                return False
            if fact.parent == ancestor:
                return True
            current = fact.parent
        return False

    def hand_over(self, state: State, sites: Iterable[int]) -> State:
        for site in sites:
            fact = state.span(site)
            if fact is not None and fact.status == OPEN:
                handed = _with_status(fact, HANDED, None, len(state.spans))
                state = self._settled(state.with_span(site, handed), site)
        return state

    def is_owned(self, site: int) -> bool:
        if self.owned is None:
            self.owned_asked.add(site)
            return True
        return site in self.owned

    # --- names -----------------------------------------------------------------

    def assign(
        self, target: cst.BaseExpression, value: cst.BaseExpression, state: State, out: Outcome
    ) -> State:
        if isinstance(target, cst.Name):
            name = target.value
            abstract = self.value_of(value, state)
            if name in self.shared_names or self._captured(name, value):
                # A global, or a name a nested function made before reads: handed over.
                handed = self.hand_over(state, self.referenced(value, state))
                return self.rebind(name, None, handed, value)
            if (
                abstract is None
                and _is_container(value)
                and not (isinstance(value, cst.Call) and self._reads_spans(value.func))
            ):  # (``token = set_span_in_context(span)``: the token does not hold it)
                # A local container of the span or its IDs: like lending, it excuses
                # nothing for a span this scope ends itself.
                refs = self.referenced(value, state)
                state = self.hand_over(state, {s for s in refs if not self.is_owned(s)})
            return self.rebind(name, abstract, state, value)
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(elements):
                for sub_target, sub_value in zip(elements, value.elements, strict=True):
                    if isinstance(sub_value, cst.StarredElement):
                        break
                    state = self.assign(sub_target, sub_value.value, state, out)
                return state
            state = self.hand_over(state, self.referenced(value, state))
            for name in _target_names(target):
                state = self.rebind(name, None, state, value)
            return state
        state = self.hand_over_if_stored(target, value, state)
        key = self._key(target)
        if key is not None:
            # ``self.x = span``: stored (handed over), and still known as ``self.x``
            # within this method, for the IDs read from it (TLC202).
            state = state.with_var(key, self.value_of(value, state))
        return state

    def _captured(self, name: str, at: cst.CSTNode) -> bool:
        """A nested function, lambda or class that reads ``name`` exists when ``at`` runs:
        it was defined before in the source, or in a loop around both (an earlier round
        made it). One defined later is handed the span where it is defined."""
        defined = self._closures.get(name)
        if not defined:
            return False
        here = self._node_order(at)
        loops = {id(a) for a in self.ctx.index.ancestors(at) if isinstance(a, (cst.For, cst.While))}
        for node in defined:
            order = self._node_order(node)
            if order == -1 or here == -1 or order < here:
                return True
            if loops and any(id(a) in loops for a in self.ctx.index.ancestors(node)):
                return True
        return False

    def hand_over_if_stored(
        self, target: cst.BaseExpression, value: cst.BaseExpression, state: State
    ) -> State:
        """``obj.attr = span`` / ``d[key] = span``: stored, so handed over."""
        refs = self.referenced(value, state)
        if refs and isinstance(target, (cst.Attribute, cst.Subscript)):
            self._note_stored_on_self(target, refs)
        return self.hand_over(state, refs)

    def _note_stored_on_self(self, target: cst.BaseExpression, refs: set[int]) -> None:
        node = target
        while isinstance(node, cst.Subscript):
            node = node.value
        if isinstance(node, cst.Attribute) and self.ctx.index.self_class(node.value, self.scope):
            for site in refs:
                self._stored.add((site, node.attr.value))

    def rebind(self, name: str, value: VarValue | None, state: State, node: cst.CSTNode) -> State:
        old = state.var(name)
        if old is not None and old[0] == "span" and (value is None or value != old):
            site = old[1]
            fact = state.span(site)
            others = any(
                v[0] == "span" and v[1] == site for k, v in state.vars.items() if k != name
            )
            if fact is not None and fact.status == OPEN and not others:
                new_site = value[1] if value is not None and value[0] == "span" else None
                if new_site != site:
                    if self._accountable(site):
                        self._leak(site, False, node, state, rebound=True)
                    state = self._settled(
                        state.with_span(site, _with_status(fact, HANDED, None, len(state.spans))),
                        site,
                    )
        return state.with_var(name, value)

    def value_of(self, value: cst.BaseExpression, state: State) -> VarValue | None:
        if isinstance(value, cst.Call):
            site = self.sites.get(value)
            if site is not None:
                attr = self._helper_ids.get(value)
                return ("span", site.index) if attr is None else ("id", site.index, attr)
            ref = self.id_of(value, state)  # ``getattr(root, "trace_id", None)``
            return ("id", ref[0], ref[1]) if ref is not None else None
        if _is_none_literal(value):
            return ("none",)
        key = self._key(value)
        if key is not None and state.var(key) is not None:
            return state.var(key)
        ref = self.id_of(value, state)
        if ref is not None:
            return ("id", ref[0], ref[1])
        return None

    def span_of(self, expr: cst.BaseExpression | None, state: State) -> int | None:
        key = self._key(expr)
        if key is not None:
            value = state.var(key)
            if value is not None and value[0] == "span":
                return value[1]
        return None

    def id_of(self, expr: cst.BaseExpression | None, state: State) -> tuple[int, str] | None:
        if expr is None:
            return None
        if isinstance(expr, cst.Call):
            read = self._getattr_id(expr)
            if read is not None:  # ``getattr(root, "trace_id", None)``: as ``root.trace_id``
                site = self.span_of(read[0], state)
                if site is not None:
                    attr = read[1]
                    return site, facts.TRACE_ID_PARAM if attr == facts.REQUEST_ID_PARAM else attr
            return None
        if isinstance(expr, cst.Attribute) and expr.attr.value in facts.SPAN_ID_ATTRS:
            site = self.span_of(expr.value, state)
            if site is not None:
                attr = expr.attr.value
                return site, facts.TRACE_ID_PARAM if attr == facts.REQUEST_ID_PARAM else attr
        key = self._key(expr)
        if key is not None:
            value = state.var(key)
            if value is not None and value[0] == "id":
                return value[1], value[2]
        return None

    def _getattr_id(self, call: cst.Call) -> tuple[cst.BaseExpression, str] | None:
        """``getattr(obj, "span_id"[, default])`` with the builtin ``getattr``."""
        func = call.func
        if (
            not isinstance(func, cst.Name)
            or func.value != "getattr"
            or not 2 <= len(call.args) <= 3
            or any(arg.keyword is not None or arg.star for arg in call.args)
            or self.ctx.index.lookup("getattr", self.scope)
        ):
            return None
        name = self.ctx.index.string_value(call.args[1].value, self.scope)
        return (call.args[0].value, name) if name in facts.SPAN_ID_ATTRS else None

    def _key(self, expr: cst.BaseExpression | None) -> str | None:
        """The name a value is kept under: ``x``, or ``self.x`` within a method."""
        if isinstance(expr, cst.Name):
            return expr.value
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and self.scope.self_name is not None
            and expr.value.value == self.scope.self_name
        ):
            return f"{self.scope.self_name}.{expr.attr.value}"
        return None

    def _sites_of_name(self, name: str, state: State) -> set[int]:
        value = state.var(name)
        if value is not None and value[0] in ("span", "id"):
            return {value[1]}
        return set()

    def referenced(self, expr: cst.BaseExpression, state: State) -> set[int]:
        """Sites whose span, or an ID read from it, ``expr`` yields or mentions.

        A start call inside ``expr`` yields its new span; the arguments of
        lifecycle calls are not looked into (``return client.start_span(...,
        parent_id=root.span_id)`` hands over the child, not ``root``).
        """
        if isinstance(expr, cst.Name):
            return self._sites_of_name(expr.value, state)
        sites: set[int] = set()
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                sites |= self._sites_of_name(node.value, state)
            elif isinstance(node, cst.Attribute):
                key = self._key(node)
                if key is not None and key != node.attr.value:
                    sites |= self._sites_of_name(key, state)
                stack.append(node.value)
            elif isinstance(node, cst.Arg):
                stack.append(node.value)
            elif isinstance(node, cst.Call) and (
                self.ctx.lifecycle_call(node) is not None or node in self._helper_starts
            ):
                site = self.sites.get(node)
                if site is not None:
                    sites.add(site.index)
            else:
                stack.extend(children(node))
        return sites

    def feasible(self, test: cst.BaseExpression, state: State, outcome: bool) -> bool:
        """Whether ``test`` can evaluate to ``outcome`` in ``state`` (``None`` guards)."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.feasible(test.expression, state, not outcome)
        if isinstance(test, cst.BooleanOperation):
            # ``a and b`` takes the outcome of ``a`` when ``a`` is falsy, else of ``b``
            # (``or``: when ``a`` is truthy); the outcome is feasible if either way is.
            short = not isinstance(test.operator, cst.And)
            if self.feasible(test.left, state, short) and outcome == short:
                return True
            return self.feasible(test.left, state, not short) and self.feasible(
                test.right, state, outcome
            )
        known = self._known_truth(test, state)
        return known is None or known == outcome

    def assume(self, test: cst.BaseExpression, state: State, outcome: bool) -> State:
        """Remember the outcome of a condition the scope tests again later.

        ``if config.log_traces: span = start(...)`` ... ``if config.log_traces:
        end(span)`` is the usual shape of optional tracing: the second test takes
        the branch the first one took. Only conditions on names and attribute
        chains that are tested more than once are remembered (so independent
        conditions still merge), until a name they read is rebound.
        """
        if self._repeated_conditions is None:
            self._repeated_conditions = _repeated_conditions(self.scope.node)
        if not self._repeated_conditions:
            return state
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.assume(test.expression, state, not outcome)
        if isinstance(test, cst.BooleanOperation):
            # ``a and b`` true: both true; ``a or b`` false: both false.
            if isinstance(test.operator, cst.And) == outcome:
                state = self.assume(test.left, state, outcome)
                return self.assume(test.right, state, outcome)
            return state
        key = _condition_key(test)
        if key is not None and key in self._repeated_conditions:
            return state.with_var(key, ("truth", outcome))
        return state

    def _known_truth(self, test: cst.BaseExpression, state: State) -> bool | None:
        key = _condition_key(test)
        if key is not None:
            assumed = state.var(key)
            if assumed is not None:
                return bool(assumed[1])
        if isinstance(test, cst.Name):
            value = state.var(test.value)
            if value is None or _id_may_be_none(value):
                return None
            # A span object, or a trace/span ID read from one (a non-empty string), is
            # truthy; None is not.
            return value[0] in ("span", "id")
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.left, cst.Name)
            and _is_none_literal(test.comparisons[0].comparator)
        ):
            operator = test.comparisons[0].operator
            value = state.var(test.left.value)
            if value is None or _id_may_be_none(value):
                return None
            is_none = value[0] == "none"
            if isinstance(operator, (cst.Is, cst.Equal)):
                return is_none
            if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                return not is_none
        return None


def _with_status(
    fact: SpanFact, status: str, end_node: cst.CSTNode | None, mark: int = 0
) -> SpanFact:
    """``mark``: the number of spans started on the path when the status changed."""
    return SpanFact(status, end_node, fact.parent, fact.root, fact.seq, mark)


def _condition_key(expr: cst.BaseExpression) -> str | None:
    """``?flag`` or ``?config.log_traces`` for a name or attribute chain, else None."""
    dotted = exception_model.dotted_source(expr)
    return None if dotted is None else f"?{dotted}"


def _condition_reads(key: str, name: str) -> bool:
    """Whether the condition ``key`` reads the name (or ``self.x`` key) ``name``."""
    return key[1:] == name or key.startswith(f"?{name}.")


def _condition_atoms(test: cst.BaseExpression) -> Iterator[str]:
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    if isinstance(test, cst.BooleanOperation):
        yield from _condition_atoms(test.left)
        yield from _condition_atoms(test.right)
        return
    key = _condition_key(test)
    if key is not None:
        yield key


def _repeated_conditions(scope_node: cst.CSTNode) -> frozenset[str]:
    """Condition keys that more than one ``if`` of the scope tests."""
    seen: set[str] = set()
    repeated: set[str] = set()
    stack: list[cst.CSTNode] = list(_scope_body(scope_node))
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.If):
            for key in set(_condition_atoms(node.test)):
                (repeated if key in seen else seen).add(key)
        stack.extend(children(node))
    return frozenset(repeated)


def _id_may_be_none(value: VarValue) -> bool:
    """An ID read from a span is never None, except ``parent_id`` (None on a root)."""
    return value[0] == "id" and value[2] == "parent_id"


_HANDLER_EXITS = (
    ("normal", "falls"),
    ("returns", "returns"),
    ("continues", "continues"),
    ("breaks", "breaks"),
    ("raises", "raises"),
)


def _caught_key(site: int) -> str:
    """The pseudo-name under which a path remembers that a handler caught an exception
    while span ``site`` was open (not a Python name, so it never meets a real one)."""
    return f"!caught:{site}"


def _mark_how(state: State, handler: cst.CSTNode, how: str) -> State:
    for site in list(state.open_sites()):  # marks are kept for open spans only
        key = _caught_key(site)
        value = state.var(key)
        if value is not None and value[1] is handler and value[2] is None:
            state = state.with_var(key, ("caught", handler, how))
    return state


def is_fluent_start(ctx: FileContext, expr: cst.BaseExpression, scope: Scope) -> bool:
    """``mlflow.start_span(...)`` (the fluent context manager), any import spelling."""
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    if last != "start_span":
        return False
    return ctx.index.qualify(func, scope) in facts.FLUENT_START_SPAN_QUALIFIED_NAMES


def is_trace_decorator(ctx: FileContext, decorator: cst.Decorator, scope: Scope) -> bool:
    """``@mlflow.trace`` or ``@mlflow.trace(...)``, any import spelling."""
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if not isinstance(expr, (cst.Name, cst.Attribute)):
        return False
    return ctx.index.qualify(expr, scope) in facts.FLUENT_TRACE_DECORATOR_QUALIFIED_NAMES


def _traced_functions(ctx: FileContext) -> frozenset[str]:
    """Names of the module's functions decorated with ``@mlflow.trace``."""
    cached = ctx.cache.get("traced-functions")
    if cached is None:
        module_scope = ctx.index.module_scope
        cached = frozenset(
            name
            for name, bindings in module_scope.bindings.items()
            for b in bindings
            if isinstance(b.node, cst.FunctionDef)
            and any(is_trace_decorator(ctx, d, module_scope) for d in b.node.decorators)
        )
        ctx.cache["traced-functions"] = cached
    return cached  # type: ignore[return-value]


def _is_none_literal(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _is_container(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Tuple, cst.List, cst.Dict, cst.Set, cst.Call, cst.Subscript))


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name) and test.value == "True":
        return True
    return isinstance(test, cst.Integer) and test.value not in ("0",)


def _irrefutable(pattern: cst.MatchPattern) -> bool:
    return isinstance(pattern, cst.MatchAs) and pattern.pattern is None


def _catches_everything(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    for name in names:
        last = name.attr.value if isinstance(name, cst.Attribute) else getattr(name, "value", None)
        if last in _CATCH_ALL:
            return True
    return False


def _is_context_manager(node: cst.CSTNode) -> bool:
    """``@contextmanager``/``@asynccontextmanager`` (``contextlib.``-qualified or not)."""
    if not isinstance(node, cst.FunctionDef):
        return False
    return any(
        _decorator_name(d) in ("contextmanager", "asynccontextmanager") for d in node.decorators
    )


def _catches_generator_exit(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """A bare ``except:``, or one that names ``BaseException`` or ``GeneratorExit``."""
    kind = handler.type
    if kind is None:
        return True
    names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return any(
        (name.attr.value if isinstance(name, cst.Attribute) else getattr(name, "value", None))
        in ("BaseException", "GeneratorExit")
        for name in names
    )


def _target_names(target: cst.BaseExpression | cst.CSTNode) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    if isinstance(target, cst.Del):
        return _target_names(target.target)
    return []


_EVALUATED_TYPES = frozenset({cst.Call, cst.Await, cst.Yield, cst.NamedExpr, cst.Lambda})
_NOT_ENTERED_TYPES = frozenset({cst.Lambda, cst.FunctionDef, cst.ClassDef})


def _evaluation_order(expr: cst.CSTNode) -> list[cst.CSTNode]:
    """Calls, awaits, yields, walruses and lambdas in ``expr``, inner ones first."""
    # Exact type tests: libcst's node classes are ABCs, and ``isinstance`` on them is slow.
    result: list[cst.CSTNode] = []
    # Post-order without recursion: (node, children_done)
    stack: list[tuple[cst.CSTNode, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if done:
            if type(node) in _EVALUATED_TYPES:
                result.append(node)
            continue
        stack.append((node, True))
        if type(node) in _NOT_ENTERED_TYPES:
            continue
        kids = children(node)
        kids.reverse()
        stack.extend((child, False) for child in kids)
    return result


def name_reads(node: cst.CSTNode) -> Iterator[cst.Name]:
    """Names read in ``node`` (not attribute names, keyword names or parameters)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        if isinstance(current, cst.Arg):
            stack.append(current.value)
            continue
        if isinstance(current, cst.Param):
            if current.default is not None:
                stack.append(current.default)
            continue
        stack.extend(children(current))


def _free_names(ctx: FileContext, node: cst.CSTNode) -> set[str]:
    """Names read inside a nested function, lambda or class that it takes from outside:
    not its own locals (a local `root_span` of another function is not the module's)."""
    cache: dict[int, set[str]] = ctx.cache.setdefault("free names", {})  # type: ignore[assignment]
    found = cache.get(id(node))
    if found is not None:
        return found
    index = ctx.index
    inner = index.scopes.get(node)
    own: list[Scope] = [inner] if inner is not None else []
    for scope in own:  # grows: the scopes nested inside, too
        own.extend(scope.children)
    found = set()
    for read in name_reads(node):
        bindings = index.lookup(read.value, index.scope_of(read))
        if not any(bindings is scope.bindings.get(read.value) for scope in own):
            found.add(read.value)
    cache[id(node)] = found
    return found


def _scope_body(node: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(node, cst.Module):
        return list(node.body)
    if isinstance(node, cst.FunctionDef):
        body = node.body
        if isinstance(body, cst.IndentedBlock):
            return list(body.body)
        return [body]
    return []


def _names_shared_outside(
    ctx: FileContext, scope: Scope
) -> tuple[set[str], dict[str, list[cst.CSTNode]]]:
    """Names whose span this scope does not keep to itself: globals and nonlocals; and,
    for each name a nested function, lambda or class reads, the nodes that define them
    (a span is handed over to a closure from the point the closure is made)."""
    shared = set(scope.global_names) | set(scope.nonlocal_names)
    closures: dict[str, list[cst.CSTNode]] = {}
    if not isinstance(scope.node, (cst.Module, cst.FunctionDef)):
        return shared, closures
    # The functions, lambdas and classes defined in the scope are its child scopes (the
    # index found them): no walk of the body. A lambda among the parameters' defaults is
    # a child too, but it runs before the body and reads nothing the body binds.
    params = scope.node.params if isinstance(scope.node, cst.FunctionDef) else None
    parents = ctx.index.parents
    for child in scope.children:
        if params is not None and _below(child.node, params, scope.node, parents):
            continue
        for name in _free_names(ctx, child.node):
            closures.setdefault(name, []).append(child.node)
    return shared, closures


def _below(
    node: cst.CSTNode,
    ancestor: cst.CSTNode,
    stop: cst.CSTNode,
    parents: dict[cst.CSTNode, cst.CSTNode],
) -> bool:
    """``ancestor`` is met climbing from ``node`` before ``stop``."""
    current = parents.get(node)
    while current is not None and current is not stop:
        if current is ancestor:
            return True
        current = parents.get(current)
    return False


def analyse_scope(ctx: FileContext, scope: Scope) -> ScopeFacts:
    """Two passes: the first finds which spans the scope ends itself (owns)."""
    shared = _names_shared_outside(ctx, scope)  # the same for both passes
    first_pass = ScopeAnalysis(ctx, scope, owned=None, shared_names=shared)
    first = first_pass.run()
    if first.skipped:
        return first
    owned = set(first.ended_sites)
    if first_pass.owned_asked <= owned:
        # Ownership is all that differs between the passes, and the first one asked only
        # about spans the scope does end (owned in both): the second would be the same.
        return first
    return ScopeAnalysis(ctx, scope, owned=owned, shared_names=shared).run()


def analyse_parameter(ctx: FileContext, scope: Scope, param: str) -> list[str] | None:
    """For a summary: the status, at each normal exit of the function, of the span its
    parameter ``param`` holds on entry (None when the function is too complex)."""
    # One pass, the parameter's span not owned: a call it is lent to takes it over. Owned or
    # not changes only paths that do not end it, which count the same for the caller.
    analysis = ScopeAnalysis(ctx, scope, owned=set(), param_span=param)
    if analysis.run().skipped:
        return None
    statuses = []
    for state in analysis.exit_states:
        fact = state.span(0)
        statuses.append(fact.status if fact is not None else HANDED)
    return statuses


def scopes_with_starts(ctx: FileContext) -> list[Scope]:
    """The scopes (module, functions) whose own body starts a span, or takes one out
    of ``self`` (``span = self._spans.pop(key)``) and ends spans."""
    found: dict[int, Scope] = {}
    ending: set[int] = set()
    for call in ctx.lifecycle_calls:
        scope = call.scope
        if scope.kind in ("lambda", "class"):
            continue
        if call.kind.is_start:
            found.setdefault(id(scope.node), scope)
        elif call.kind.is_end:
            ending.add(id(scope.node))
    pops: list[Scope] = []
    for node in ctx.index.calls:
        func = node.func
        if not isinstance(func, cst.Attribute):
            continue
        method = ctx.index.call_scopes.get(node)
        if method is None or method.self_name is None:
            continue
        if func.attr.value == facts.SPAN_END_METHOD:
            ending.add(id(method.node))  # ``span.end()`` on a taken span: not classified
        elif (
            func.attr.value == "pop"
            and isinstance(func.value, cst.Attribute)
            and isinstance(ctx.index.parents.get(node), cst.Assign)
        ):
            pops.append(method)
    for method in pops:
        if id(method.node) in ending:
            found.setdefault(id(method.node), method)
    for scope in ctx.knowledge.helper_start_scopes():
        if scope.kind not in ("lambda", "class"):
            found.setdefault(id(scope.node), scope)
    return list(found.values())
