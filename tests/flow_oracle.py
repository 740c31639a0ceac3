"""The control-flow oracle: generated programs, run on every path, against the linter.

Three parts, used by ``tests/test_agreement_flow.py`` and by the oracle fixtures
(``fixtures/oracle_*.py``):

- :func:`programs`, a Hypothesis strategy writing a module that drives
  ``lifecycle_runtime.TraceClient`` from ``main()`` with control flow: ``if``/``else``
  on opaque flags ``c[k]``, ``for`` over ``range(2)``, ``while`` with a counter, ``try``/
  ``except Exception``/``else``/``finally``, ``return`` and ``break`` in the middle,
  opaque calls ``f1()``... that may raise, helpers of the same module that start and
  return a span or end the span they are given, and the ID forms (positional and
  keyword, ``trace_id=``/``request_id=``, ``.trace_id``/``.request_id``).
- :func:`explore`, the exhaustive executor: it runs ``main()`` once per path, a path
  being one choice at every flag evaluation (``c[k]`` is a fresh choice each time it is
  read, as the linter assumes) and at every opaque call (returns, or raises, at most
  ``raise_bound`` times on one path), catching what escapes ``main()`` as its caller
  would. The client records every contract violation (code and line) and, at the end
  of the path, the spans still open (the leak check).
- :func:`expected_findings`, the contract's mapping from what the runtime saw on some
  path to the lifecycle finding the linter must report, with the exceptions the
  linter cannot know (each named, counted in :class:`Verdict`).

Flags are read through a subscript (``c[0]``) and not a call, because a subscript
cannot raise in the linter's model while a call can; ``c`` and ``f1``... are free
names of the module, bound by the executor.
"""

from __future__ import annotations

import ast
import dis
import inspect
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from lifecycle_runtime import LifecycleError, LifecycleWarning, TraceClient

#: Totals over a test session, printed at its end (tests/conftest.py).
STATS = {"programs": 0, "paths": 0, "findings": 0, "excused": 0}

#: The lifecycle rules the oracle holds the linter to.
LIFECYCLE_CODES = frozenset(
    {"TLC101", "TLC102", "TLC103", "TLC104", "TLC105", "TLC201", "TLC202", "TLC203"}
)
FILENAME = "<oracle>"
HEADER = [
    "from lifecycle_runtime import TraceClient",
    "",
    "client = TraceClient()",
]
HELPER_START = "start_step"
HELPER_END = "end_step"
HELPERS = {
    HELPER_START: [
        f"def {HELPER_START}(parent):",
        "    f0()",
        f'    return client.start_span("{HELPER_START}", parent.trace_id, parent.span_id)',
    ],
    HELPER_END: [
        f"def {HELPER_END}(span):",
        "    client.end_span(span.trace_id, span.span_id)",
        "    f0()",
    ],
}
LOOP_TRIPS = 2  # ``for _ in range(2)``; ``while`` runs at most this many times


# --- programs ---------------------------------------------------------------------------


@dataclass
class Line:
    """One rendered line of ``main()``'s body (relative indentation)."""

    depth: int
    text: str


@dataclass
class _Gen:
    draw: st.DrawFn
    max_depth: int
    lines: list[Line] = field(default_factory=list)
    spans: int = 0
    flags: int = 0
    calls: int = 0
    loops: int = 0
    helpers: set[str] = field(default_factory=set)
    handlers: int = 0  # depth of ``except`` blocks around the statement being written
    budget: int = 0  # statements left

    def emit(self, depth: int, text: str) -> None:
        self.lines.append(Line(depth, text))

    def flag(self) -> str:
        self.flags += 1
        return f"c[{self.flags - 1}]"


Bound = list[tuple[str, str]]  # (variable, "trace" | "span" | "helper") bound on every path


def _ids(g: _Gen, trace: str, span: str, span_param: str) -> str:
    """The trace ID and a span/parent ID, in one of MLflow's spellings."""
    form = g.draw(st.sampled_from(["pos", "pos", "kw", "request_kw", "request_attr"]))
    if form == "pos":
        return f"{trace}.trace_id, {span}.span_id"
    if form == "kw":
        return f"trace_id={trace}.trace_id, {span_param}={span}.span_id"
    if form == "request_kw":
        return f"request_id={trace}.trace_id, {span_param}={span}.span_id"
    return f"{trace}.request_id, {span}.span_id"


def _statement(g: _Gen, depth: int, bound: Bound, loop: int, in_try: int) -> tuple[Bound, bool]:
    """Emit one statement; returns the names bound after it and whether it ends the block
    (a ``return`` or ``break``: nothing after it in this block)."""
    g.budget -= 1
    kinds = ["start_trace", "call", "call"]
    if bound:
        kinds += ["start_span", "start_span", "end", "end", "end", "end_trace"]
        kinds += ["helper_start", "helper_end", "odd_id"]
    if depth < g.max_depth and g.budget > 2:
        kinds += ["if", "if", "try", "scoped", "scoped", "scoped"]
        if loop <= LOOP_TRIPS:  # loops nest two deep at most: the paths multiply
            kinds += ["for", "while"]
    kinds += ["return"] if depth > 0 else []
    kinds += ["break"] if loop else []
    kinds += ["raise"] if g.handlers else []
    kind = g.draw(st.sampled_from(kinds))
    if kind == "scoped":
        return _scoped(g, depth, bound, loop, in_try)
    if kind == "start_trace":
        name = f"s{g.spans}"
        g.spans += 1
        g.emit(depth, f'{name} = client.start_trace("{name}")')
        return bound + [(name, "trace")], False
    if kind == "start_span":
        name = f"s{g.spans}"
        g.spans += 1
        parent = g.draw(st.sampled_from(bound))[0]
        trace = parent
        if len(bound) > 1 and g.draw(st.integers(0, 9)) == 0:
            trace = g.draw(st.sampled_from(bound))[0]  # maybe another trace: TLC202
        ids = _ids(g, trace, parent, "parent_id")
        g.emit(depth, f'{name} = client.start_span("{name}", {ids})')
        return bound + [(name, "span")], False
    if kind == "helper_start":
        name = f"s{g.spans}"
        g.spans += 1
        g.helpers.add(HELPER_START)
        parent = g.draw(st.sampled_from(bound))[0]
        g.emit(depth, f"{name} = {HELPER_START}({parent})")
        return bound + [(name, "helper")], False
    if kind == "end":
        var, what = g.draw(st.sampled_from(bound))
        trace = var
        if len(bound) > 1 and g.draw(st.integers(0, 9)) == 0:
            trace = g.draw(st.sampled_from(bound))[0]
        status = ', status="ERROR"' if in_try and g.draw(st.booleans()) else ""
        g.emit(depth, f"client.end_span({_ids(g, trace, var, 'span_id')}{status})")
        return bound, False
    if kind == "end_trace":
        var = g.draw(st.sampled_from(bound))[0]
        keyword = g.draw(st.sampled_from(["", "", "trace_id=", "request_id="]))
        g.emit(depth, f"client.end_trace({keyword}{var}.trace_id)")
        return bound, False
    if kind == "helper_end":
        var = g.draw(st.sampled_from(bound))[0]
        g.helpers.add(HELPER_END)
        g.emit(depth, f"{HELPER_END}({var})")
        return bound, False
    if kind == "odd_id":
        var = g.draw(st.sampled_from(bound))[0]
        form = g.draw(st.sampled_from(["hard_trace", "hard_span", "no_parent"]))
        if form == "hard_trace":  # TLC201 (the runtime ignores the end in warn mode)
            g.emit(depth, 'client.end_trace("tr-0123456789abcdef0123456789abcdef")')
            return bound, False
        if form == "hard_span":  # TLC201
            g.emit(depth, f'client.end_span({var}.trace_id, "0123456789abcdef")')
            return bound, False
        name = f"s{g.spans}"  # TLC203: the runtime refuses to start it
        g.spans += 1
        g.emit(depth, f'{name} = client.start_span("{name}", {var}.trace_id, None)')
        return bound + [(name, "span")], False
    if kind == "call":
        g.calls += 1
        g.emit(depth, f"f{g.calls}()")
        return bound, False
    if kind == "return":
        g.emit(depth, "return")
        return bound, True
    if kind == "break":
        g.emit(depth, "break")
        return bound, True
    if kind == "raise":  # in a handler: the exception goes on
        g.emit(depth, "raise")
        return bound, True
    if kind == "if":
        g.emit(depth, f"if {g.flag()}:")
        then = _block(g, depth + 1, bound, loop, in_try)
        if g.draw(st.booleans()):
            g.emit(depth, "else:")
            other = _block(g, depth + 1, bound, loop, in_try)
            return [b for b in then if b in other], False
        return bound, False
    if kind == "for":
        g.loops += 1
        g.emit(depth, f"for i{g.loops} in range({LOOP_TRIPS}):")
        _block(g, depth + 1, bound, loop * LOOP_TRIPS or LOOP_TRIPS, in_try)
        return bound, False
    if kind == "while":
        g.loops += 1
        counter = f"w{g.loops}"
        g.emit(depth, f"{counter} = 0")
        g.emit(depth, f"while {counter} < {LOOP_TRIPS} and {g.flag()}:")
        g.emit(depth + 1, f"{counter} += 1")
        _block(g, depth + 1, bound, loop * LOOP_TRIPS or LOOP_TRIPS, in_try)
        return bound, False
    assert kind == "try"
    g.emit(depth, "try:")
    body = _block(g, depth + 1, bound, loop, in_try + 1)
    g.emit(depth, "except Exception:")
    g.handlers += 1
    _block(g, depth + 1, bound, loop, in_try + 1)
    g.handlers -= 1
    if g.draw(st.booleans()):
        g.emit(depth, "else:")
        _block(g, depth + 1, body, loop, in_try + 1)
    if g.draw(st.booleans()):
        g.emit(depth, "finally:")
        _block(g, depth + 1, bound, loop, in_try + 1)
    return bound, False


def _end_of(g: _Gen, name: str, what: str, status: str = "") -> str:
    if what == "trace" and g.draw(st.booleans()):
        return f"client.end_trace({name}.trace_id{status})"
    return f"client.end_span({_ids(g, name, name, 'span_id')}{status})"


def _scoped(g: _Gen, depth: int, bound: Bound, loop: int, in_try: int) -> tuple[Bound, bool]:
    """A span started and then ended in one of the usual shapes (with ``try`` or not),
    around a block of anything: the shapes real code uses, so that subtle defects show."""
    name = f"s{g.spans}"
    g.spans += 1
    if bound and g.draw(st.booleans()):
        parent = g.draw(st.sampled_from(bound))[0]
        ids = _ids(g, parent, parent, "parent_id")
        g.emit(depth, f'{name} = client.start_span("{name}", {ids})')
        what = "span"
    else:
        g.emit(depth, f'{name} = client.start_trace("{name}")')
        what = "trace"
    inner = bound + [(name, what)]
    shape = g.draw(st.sampled_from(["after", "finally", "reraise", "carry_on"]))
    if shape == "after":
        _, ended = _block(g, depth, inner, loop, in_try, ends=True)
        if not ended:
            g.emit(depth, _end_of(g, name, what))
        return inner, ended
    g.emit(depth, "try:")
    _block(g, depth + 1, inner, loop, in_try + 1)
    if shape == "finally":
        g.emit(depth, "finally:")
        g.emit(depth + 1, _end_of(g, name, what))
        return inner, False
    g.emit(depth, "except Exception:")
    g.emit(depth + 1, _end_of(g, name, what, ', status="ERROR"'))
    if shape == "reraise":
        g.emit(depth + 1, "raise")
    g.emit(depth, "else:")
    g.emit(depth + 1, _end_of(g, name, what))
    return inner, False


def _block(g: _Gen, depth: int, bound: Bound, loop: int, in_try: int, ends: bool = False) -> Any:
    count = g.draw(st.integers(1, 4 if depth else 8))
    before = len(g.lines)
    for _ in range(count):
        if g.budget <= 0 and len(g.lines) > before:
            break
        bound, ended = _statement(g, depth, bound, loop, in_try)
        if ended:
            return (bound, True) if ends else bound
    return (bound, False) if ends else bound


@dataclass(frozen=True)
class Program:
    source: str
    starts: dict[str, int]  # span name -> line of its start call
    helper_lines: frozenset[int]  # lines inside the helper functions
    traces: frozenset[str]  # names of the spans started by start_trace
    lent: frozenset[str]  # names of the spans passed to a helper
    literal_ids: frozenset[int]  # lines with a literal or None ID
    blind_lines: frozenset[int]  # lifecycle calls in main() with an ID from a helper span
    finally_jumps: bool  # a return/break in a ``finally`` (it swallows an exception)
    helper_calls: frozenset[int]  # lines of main() that call a helper
    flags: int
    calls: int
    raise_bound: int

    def __str__(self) -> str:
        return self.source


def render(g: _Gen) -> Program:
    out = list(HEADER)
    for name in sorted(g.helpers):
        out += ["", ""] + HELPERS[name]
    out += ["", "", "def main():"]
    out += ["    " * (line.depth + 1) + line.text for line in g.lines]
    return program_from_source("\n".join(out) + "\n")


_ID_POSITIONS = {"start_span": (1, 3), "end_span": (0, 2), "end_trace": (0, 1)}
_ID_KEYWORDS = ("trace_id", "request_id", "parent_id", "span_id")


def program_from_source(source: str) -> Program:
    """What the oracle needs to know of a program: read from its text, so that a fixture
    (the same program with markers in comments) is read the same way."""
    tree = ast.parse(source)
    starts: dict[str, int] = {}
    traces: set[str] = set()
    lent: set[str] = set()
    helper_lines: set[int] = set()
    literal_ids: set[int] = set()
    from_helper: set[str] = set()
    ends: list[tuple[int, set[str]]] = []
    calls = flags = 0
    for function in tree.body:
        if isinstance(function, ast.FunctionDef) and function.name != "main":
            end = function.end_lineno or function.lineno
            helper_lines |= set(range(function.lineno, end + 1))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            method = func.attr if isinstance(func, ast.Attribute) else None
            name = func.id if isinstance(func, ast.Name) else None
            if method in ("start_trace", "start_span") and node.args:
                first = node.args[0]
                assert isinstance(first, ast.Constant)
                starts[first.value] = node.lineno
                if method == "start_trace":
                    traces.add(first.value)
            if name == HELPER_START:
                lent |= {a.id for a in node.args if isinstance(a, ast.Name)}
            if method in ("start_span", "end_span", "end_trace"):
                ends.append(
                    (node.lineno, {n.id for n in ast.walk(node) if isinstance(n, ast.Name)})
                )
            if name is not None and name[0] == "f" and name[1:].isdigit():
                calls = max(calls, int(name[1:]))
            ids = _ID_POSITIONS.get(method or "")
            if ids is not None and any(
                isinstance(v, ast.Constant)
                for v in [*node.args[ids[0] : ids[1]]]
                + [k.value for k in node.keywords if k.arg in _ID_KEYWORDS]
            ):
                literal_ids.add(node.lineno)
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "c":
            flags += 1
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if getattr(node.value.func, "id", None) == HELPER_START:
                from_helper |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    # A span started with an ID from such a span is of a trace the linter cannot see too.
    assigned = [
        ({t.id for t in n.targets if isinstance(t, ast.Name)}, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
    ]
    grown = True
    while grown:
        grown = False
        for targets, value in assigned:
            names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if names & from_helper and not targets <= from_helper:
                from_helper |= targets
                grown = True
    blind_lines = {line for line, names in ends if names & from_helper}
    return Program(
        source,
        starts,
        frozenset(helper_lines),
        frozenset(traces),
        frozenset(lent),
        frozenset(literal_ids),
        frozenset(blind_lines),
        any(
            isinstance(jump, (ast.Return, ast.Break, ast.Continue))
            for t in ast.walk(tree)
            if isinstance(t, ast.Try)
            for statement in t.finalbody
            for jump in ast.walk(statement)
        ),
        frozenset(
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) in HELPERS
        ),
        flags,
        calls,
        1 + _weighted_tries(tree, 1),
    )


def _weighted_tries(node: ast.AST, trips: int) -> int:
    """``try`` statements, each counted once per round of the loops around it: an upper
    bound on the exceptions one path can catch, so on the raises it needs."""
    count = 0
    for child in ast.iter_child_nodes(node):
        inner = trips * LOOP_TRIPS if isinstance(child, (ast.For, ast.While)) else trips
        if isinstance(child, ast.Try):
            count += trips
        count += _weighted_tries(child, inner)
    return count


@st.composite
def programs(draw: st.DrawFn, max_statements: int = 14, max_depth: int = 3) -> Program:
    g = _Gen(draw, max_depth, budget=draw(st.integers(3, max_statements)))
    bound: Bound = []
    while g.budget > 0:
        bound, ends = _statement(g, 0, bound, 0, 0)
        assert not ends
    return render(g)


# --- the executor -----------------------------------------------------------------------


class Boom(Exception):
    """What an opaque call raises."""


class Choices:
    """The choices of one path, replayed from a prefix; the rest default to the first."""

    def __init__(self, prefix: list[int], raise_bound: int) -> None:
        self.prefix = prefix
        self.taken: list[tuple[int, int]] = []  # (choice, number of options)
        self.raises_left = raise_bound
        self.raise_seqs: list[int] = []  # the client's clock whenever an exception passed
        self.clock: Callable[[], int] = lambda: 0

    def choose(self, options: int) -> int:
        position = len(self.taken)
        value = self.prefix[position] if position < len(self.prefix) else 0
        self.taken.append((value, options))
        return value

    def next_prefix(self) -> list[int] | None:
        """Depth first: the last choice with an option left, moved on by one."""
        taken = list(self.taken)
        while taken:
            value, options = taken.pop()
            if value + 1 < options:
                return [v for v, _ in taken] + [value + 1]
        return None


class Flags:
    def __init__(self, choices: Choices) -> None:
        self.choices = choices

    def __getitem__(self, key: object) -> bool:
        return bool(self.choices.choose(2))


def _opaque_call(holder: list[Choices], name: str) -> Callable[[], None]:
    """``fK()``: returns, or raises (a choice), on the current path of ``holder[0]``."""

    def call() -> None:
        choices = holder[0]
        if choices.raises_left > 0 and choices.choose(2):
            choices.raises_left -= 1
            raise Boom(name)

    return call


@dataclass(frozen=True)
class Event:
    """A contract violation the runtime reported on a path."""

    code: str
    line: int
    seq: int
    #: TLC105 at an end: the span IDs of the descendants still open then.
    open_children: frozenset[str] = frozenset()
    #: TLC105 at a start under an ended parent: the line where the parent ended.
    parent_end_line: int | None = None
    #: TLC104: the line of the first end.
    first_end_line: int | None = None
    #: The span IDs involved, for the exceptions about helpers.
    span_ids: frozenset[str] = frozenset()


_SIGNATURES = {
    name: inspect.signature(getattr(TraceClient, name))
    for name in ("start_span", "end_span", "end_trace")
}


class Phantom:
    """A span the runtime refused to create (as MLflow does, by raising), kept on the side.

    The linter's model has lifecycle calls never raise: the program goes on with a span.
    The oracle does the same, so that what follows on the path is still observed: the
    phantom is open until an end names its ID, a second end is a double end, and one
    still open at the end of the path is a leak.
    """

    def __init__(self, name: str, trace_id: Any, parent_id: Any, number: int) -> None:
        self.name = name
        self.trace_id = self.request_id = trace_id
        self.parent_id = parent_id
        self.span_id = f"phantom-{number}"
        self.is_open = True
        self.parentless = False  # refused for a missing parent (TLC203)


class RecordingClient(TraceClient):
    """A warn-mode ``TraceClient`` that records each violation with its line and code.

    Warn mode goes on as MLflow does after a violation (a second end is ignored, a parent
    with open children is ended anyway), as the linter's model does; a span that cannot be
    created (no parent, a foreign parent, a parent in a finished trace) is a
    :class:`Phantom`.
    """

    def __init__(
        self,
        helper_lines: frozenset[int] = frozenset(),
        blind_lines: frozenset[int] = frozenset(),
        literal_lines: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(on_violation="warn")
        self.helper_lines = helper_lines
        self.helper_ids: set[str] = set()  # spans started inside a helper
        self.events: list[Event] = []
        self.seq = 0
        self.spans_by_id: dict[str, Any] = {}
        self.phantoms: dict[str, Phantom] = {}
        self.started_seq: dict[str, int] = {}
        self.start_lines: dict[str, int] = {}
        self.ended: dict[str, tuple[int, int]] = {}  # span ID -> (line, seq) of its end
        self.reached: set[int] = set()  # lines of the lifecycle calls made
        self.end_lines: dict[Any, list[int]] = {}  # span ID -> the lines of its ends
        self.blind_lines = blind_lines
        self.blind: set[str] = set()  # names of the spans open at a blind end
        self.literal_lines = literal_lines
        self.meant: set[str] = set()  # names of spans an end with a literal ID may mean

    def _line(self) -> int:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != FILENAME:
            frame = frame.f_back  # type: ignore[assignment]
        line = frame.f_lineno if frame is not None else 0
        self.reached.add(line)
        return line

    def clock(self) -> int:
        return self.seq

    def _tick(self) -> int:
        self.seq += 1
        return self.seq

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = method(*args, **kwargs)
        return result, [w.message for w in caught if isinstance(w.message, LifecycleWarning)]

    def _started(self, span: Any, line: int, seq: int) -> None:
        self.spans_by_id[span.span_id] = span
        self.start_lines[span.span_id] = line
        self.started_seq[span.span_id] = seq
        if line in self.helper_lines:
            self.helper_ids.add(span.span_id)

    def start_trace(self, name: str, *args: Any, **kwargs: Any) -> Any:
        line, seq = self._line(), self._tick()
        root = super().start_trace(name, *args, **kwargs)
        self._started(root, line, seq)
        return root

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        line, seq = self._line(), self._tick()
        bound = _SIGNATURES["start_span"].bind(self, name, *args, **kwargs).arguments
        parent_id = bound.get("parent_id")
        trace_id = bound.get("trace_id", bound.get("request_id"))
        if parent_id in self.phantoms:  # refused before: reported there
            span: Any = Phantom(name, trace_id, parent_id, len(self.phantoms))
            self.phantoms[span.span_id] = span
            # The runtime's order of checks: a foreign parent before an ended one.
            if self.phantoms[parent_id].trace_id != trace_id:
                self.events.append(self._event("TLC202", line, seq, parent_id, None))
            elif not self.phantoms[parent_id].is_open:
                self.events.append(self._event("TLC105", line, seq, parent_id, None))
        else:
            try:
                span, caught = self._call(super().start_span, name, *args, **kwargs)
            except LifecycleError as error:
                self.events.append(self._event(error.code, line, seq, parent_id, None))
                parentless = parent_id is None
                if parentless:  # TLC203: nested under the trace's root, as the linter
                    # reads it (the span it would be once given its parent)
                    parent_id = self._root_of(trace_id)
                span = Phantom(name, trace_id, parent_id, len(self.phantoms))
                span.parentless = parentless
                self.phantoms[span.span_id] = span
            else:
                for warning in caught:
                    self.events.append(self._event(warning.code, line, seq, parent_id, None))
        self._started(span, line, seq)
        return span

    def _root_of(self, trace_id: Any) -> str | None:
        for span in self.spans_by_id.values():
            if span.trace_id == trace_id and span.parent_id is None:
                return span.span_id
        return None

    def _event(
        self, code: str, line: int, seq: int, parent_id: Any, target: Any, children=frozenset()
    ) -> Event:
        ended = self.ended.get(parent_id) if isinstance(parent_id, str) else None
        first = self.ended.get(target) if isinstance(target, str) else None
        ids = {i for i in (parent_id, target) if isinstance(i, str)} | set(children)
        return Event(
            code,
            line,
            seq,
            frozenset(children),
            ended[0] if ended and code == "TLC105" else None,
            first[0] if first and code == "TLC104" else None,
            frozenset(ids),
        )

    def open_spans(self) -> list[Any]:
        return super().open_spans() + [p for p in self.phantoms.values() if p.is_open]

    def _open_descendants(self, target: Any) -> frozenset[str]:
        found = set()
        for span in self.open_spans():
            parent = span.parent_id
            while parent is not None:
                if parent == target:
                    found.add(span.span_id)
                    break
                parent = getattr(self.spans_by_id.get(parent), "parent_id", None)
        return frozenset(found)

    def _recorded_end(self, method: str, target: Any, *args: Any, **kwargs: Any) -> None:
        line, seq = self._line(), self._tick()
        children = self._open_descendants(target)
        phantom = self.phantoms.get(target) if isinstance(target, str) else None
        if line in self.blind_lines:
            self.blind |= {span.name for span in self.open_spans()}
        if line in self.literal_lines:
            self.meant |= self._meant(method, target, *args, **kwargs)
        self.end_lines.setdefault(target, []).append(line)
        if phantom is not None:  # the runtime's checks, in its order
            bound = _SIGNATURES[method].bind(self, *args, **kwargs).arguments
            if bound.get("trace_id", bound.get("request_id")) != phantom.trace_id:
                codes = ["TLC202"]  # and MLflow ends nothing
            elif not phantom.is_open:
                codes = ["TLC104"]
            else:
                codes = ["TLC105"] if children else []
                phantom.is_open = False
        else:
            _, caught = self._call(getattr(super(), method), *args, **kwargs)
            codes = [w.code for w in caught]
            if not codes and children & set(self.phantoms):
                codes = ["TLC105"]  # what the runtime would say, had it made the phantom
        for code in codes:
            self.events.append(self._event(code, line, seq, None, target, children))
        if isinstance(target, str) and target not in self.ended:
            span = self.spans_by_id.get(target)
            if span is not None and not span.is_open:
                self.ended[target] = (line, seq)

    def _meant(self, method: str, target: Any, *args: Any, **kwargs: Any) -> set[str]:
        """The spans an end with a hard-coded ID may have been meant for (as the linter
        reads it: a known span ID names it, else any open span of the trace, or root)."""
        open_spans = self.open_spans()
        if target in self.spans_by_id:
            return {self.spans_by_id[target].name}
        bound = _SIGNATURES[method].bind(self, *args, **kwargs).arguments
        trace_id = bound.get("trace_id", bound.get("request_id"))
        known = any(s.trace_id == trace_id for s in open_spans)
        if method == "end_trace":  # the spans the linter sees without a parent: roots,
            # spans started without one, spans under a helper's span
            return {
                s.name
                for s in open_spans
                if s.parent_id is None
                or getattr(s, "parentless", False)
                or s.parent_id in self.helper_ids
            }
        return {s.name for s in open_spans if not known or s.trace_id == trace_id}

    def end_span(self, *args: Any, **kwargs: Any) -> None:
        bound = _SIGNATURES["end_span"].bind(self, *args, **kwargs).arguments
        self._recorded_end("end_span", bound.get("span_id"), *args, **kwargs)

    def end_trace(self, *args: Any, **kwargs: Any) -> None:
        bound = _SIGNATURES["end_trace"].bind(self, *args, **kwargs).arguments
        trace_id = bound.get("trace_id", bound.get("request_id"))
        roots = [
            s.span_id
            for s in self.spans_by_id.values()
            if s.trace_id == trace_id and s.parent_id is None and s.span_id not in self.phantoms
        ]
        self._recorded_end("end_trace", roots[0] if roots else None, *args, **kwargs)


@dataclass
class PathResult:
    events: list[Event]
    #: Span names still open at the end of the path, each with whether an opaque call
    #: raised while it was open.
    leaked: list[tuple[str, bool]]
    escaped: bool  # an exception escaped main()
    reached: set[int]  # lines of the lifecycle calls made on this path
    ended: dict[str, tuple[int, int]]
    started: set[str]  # span names started on this path
    helper_ids: set[str]  # IDs of the spans started by a helper
    end_lines: dict[Any, list[int]]  # span ID -> the lines of its ends
    blind: set[str]  # names of the spans open at an end the linter cannot place
    meant: set[str]  # names of the spans an end with a literal ID may have been meant for
    start_lines: dict[str, int]  # span ID -> the line of its start
    #: Names with more than one span open at the end: the start ran again (a loop)
    #: while its last span was open.
    restarted: set[str] = field(default_factory=set)


_RERAISE = dis.opmap["RERAISE"]


def _exception_tracer(choices: Choices) -> Callable[..., Any]:
    """Notes the client's clock whenever an exception passes through the program's code
    (an opaque call's, a ``raise``, a re-raise), caught there or not: a span open then
    is on an exception path."""

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "exception":
            choices.raise_seqs.append(choices.clock())
        elif event == "opcode" and frame.f_code.co_code[frame.f_lasti] == _RERAISE:
            # A bare ``raise``, or the end of a ``finally`` on the way out: Python 3.11
            # sends no "exception" event for a re-raise.
            choices.raise_seqs.append(choices.clock())
        return local

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None
        frame.f_trace_opcodes = True
        return local

    return tracer


class TooManyPaths(Exception):
    pass


def explore(program: Program, max_paths: int = 20_000) -> list[PathResult]:
    """Run ``main()`` on every path (see the module's docstring)."""
    code = compile(program.source, FILENAME, "exec")
    namespace: dict[str, Any] = {}
    holder: list[Choices] = []
    namespace["c"] = Flags.__new__(Flags)
    for k in range(program.calls + 1):
        namespace[f"f{k}"] = _opaque_call(holder, f"f{k}")
    exec(code, namespace)
    results = []
    prefix: list[int] | None = []
    while prefix is not None:
        if len(results) >= max_paths:
            raise TooManyPaths(f"more than {max_paths} paths")
        choices = Choices(prefix, program.raise_bound)
        holder[:] = [choices]
        namespace["c"].choices = choices
        client = RecordingClient(program.helper_lines, program.blind_lines, program.literal_ids)
        namespace["client"] = client
        choices.clock = client.clock
        escaped = False
        previous = sys.gettrace()
        sys.settrace(_exception_tracer(choices))
        try:
            namespace["main"]()
        except Exception:  # what escapes main(), as its caller would
            escaped = True
        finally:
            sys.settrace(previous)
        leaked = client.open_spans()
        results.append(
            PathResult(
                client.events,
                [
                    (s.name, any(r >= client.started_seq[s.span_id] for r in choices.raise_seqs))
                    for s in leaked
                ],
                escaped,
                client.reached,
                dict(client.ended),
                {s.name for s in client.spans_by_id.values()},
                client.helper_ids,
                client.end_lines,
                client.blind,
                client.meant,
                client.start_lines,
                {
                    name
                    for name in {s.name for s in leaked}
                    if [x.name for x in leaked].count(name) > 1
                },
            )
        )
        prefix = choices.next_prefix()
    return results


# --- the mapping --------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the linter must report, and what the oracle excuses (each with its reason)."""

    #: Each expected finding, with the findings accepted in its place (and why).
    expected: dict[tuple[int, str], dict[tuple[int, str], str]] = field(default_factory=dict)
    #: Findings the linter may report or not: (line, code) -> reason.
    excused: dict[tuple[int, str], str] = field(default_factory=dict)
    paths: int = 0

    def expect(self, key: tuple[int, str]) -> None:
        self.expected.setdefault(key, {})

    def excuse(self, key: tuple[int, str], reason: str) -> None:
        self.excused.setdefault(key, reason)

    def mismatches(
        self, found: set[tuple[int, str]]
    ) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
        """(expected but not found, found but neither expected nor excused)."""
        missing = set()
        accepted = set()
        for key, alternatives in self.expected.items():
            if key in self.excused:
                continue
            if key in found:
                accepted.add(key)
            elif found & set(alternatives):
                accepted |= found & set(alternatives)
            else:
                missing.add(key)
        return missing, found - accepted - set(self.excused)


HELPER_SPAN = "a span started by a helper is not followed into its caller (issue 9: summaries)"
HELPER_ENDED = "an end inside a helper is a hand-over for the caller (issue 9: summaries)"
LENT = "a span lent to a helper of the module is handed over (issue 9: summaries)"
UNREACHED = "TLC201/TLC203 look at the call alone, reachable or not"
RESTARTED = (
    "started again (a loop) while its last span was open, then an exception escaped: the "
    "linter's one finding is the restart (TLC101/TLC102), where the span was lost"
)
FINALLY_SWALLOWS = (
    "leaked after a `return`/`break` in `finally` swallowed the exception: RULES.md says "
    "TLC103, the linter TLC101/TLC102 (fixtures/oracle_finally_return_swallows.py)"
)
MEANT = (
    "the end that names it has a hard-coded ID: TLC201 is the one finding for that defect "
    "(the linter takes it as the intended end)"
)
BLIND = (
    "open at an end of a span from a helper: the linter cannot tell which span that ends, "
    "so it excuses them all (issue 9: summaries)"
)


def expected_findings(program: Program, paths: list[PathResult]) -> Verdict:
    """The contract's mapping from the runtime's verdicts on all paths to findings."""
    verdict = Verdict(paths=len(paths))
    lines = program.starts
    normal_leak: set[str] = set()  # leaked on a path where nothing raised while it was open
    escaped_leak: set[str] = set()  # ... where an exception escaped main() while it was open
    caught_leak: set[str] = set()  # ... where only a handler that carried on saw one
    restarted: set[str] = set()  # ... and started again while open on some path
    reached: set[int] = set()
    for path in paths:
        restarted |= path.restarted
        for name, raised in path.leaked:
            if path.escaped:  # left main() by an exception, with the span open
                escaped_leak.add(name)
            elif raised:  # an exception passed while it was open; a handler carried on
                caught_leak.add(name)
            else:
                normal_leak.add(name)
        for event in path.events:
            _map_event(verdict, path, event, program)
        for name in path.blind & set(lines):
            for code in ("TLC101", "TLC102", "TLC103"):
                verdict.excuse((lines[name], code), BLIND)
        for name in path.meant & set(lines):
            for code in ("TLC101", "TLC102", "TLC103"):
                verdict.excuse((lines[name], code), MEANT)
        reached |= path.reached
    for name in normal_leak | escaped_leak | caught_leak:
        line = lines[name]
        if name == HELPER_START:  # reported (if at all) at the helper's calls in main()
            for at in (line, *program.helper_calls):
                for code in ("TLC101", "TLC103"):
                    verdict.excuse((at, code), HELPER_SPAN)
            continue
        not_ended = (line, "TLC102" if name in program.traces else "TLC101")
        if name in program.lent:
            for code in (not_ended[1], "TLC103"):
                verdict.excuse((line, code), LENT)
            continue
        if name in normal_leak:
            verdict.expect(not_ended)
        else:
            verdict.expect((line, "TLC103"))
            if name in caught_leak and program.finally_jumps:
                verdict.expected[(line, "TLC103")][not_ended] = FINALLY_SWALLOWS
            if name in restarted:
                verdict.expected[(line, "TLC103")][not_ended] = RESTARTED

    for line in program.literal_ids - reached:
        for code in ("TLC201", "TLC203"):
            verdict.excuse((line, code), UNREACHED)
    return verdict


def _map_event(verdict: Verdict, path: PathResult, event: Event, program: Program) -> None:
    # Ends the linter cannot place: inside a helper, or of a span from a helper.
    helper_lines = program.helper_lines | program.blind_lines
    key = (event.line, event.code)
    if event.line in program.blind_lines:
        # An ID from a helper's span: the runtime's first verdict there may rest on what
        # the linter cannot see (a foreign trace), so it may see another defect there.
        for code in ("TLC104", "TLC105", "TLC202"):
            verdict.excuse((event.line, code), HELPER_SPAN)
    if event.code == "TLC105" and event.parent_end_line is not None:
        # A child started under a parent that had ended: TLC105 at that end.
        if event.parent_end_line in helper_lines:
            # The linter places it at an end of that parent it can see, if any.
            for at in program.helper_calls:
                verdict.excuse((at, "TLC105"), HELPER_ENDED)
            for parent in event.span_ids:
                for line in path.end_lines.get(parent, []):
                    verdict.excuse((line, "TLC105"), HELPER_ENDED)
            return
        if event.line in helper_lines or event.span_ids & path.helper_ids:
            verdict.excuse((event.parent_end_line, "TLC105"), HELPER_SPAN)
        else:
            verdict.expect((event.parent_end_line, "TLC105"))
        return
    if event.line in helper_lines:
        # Inside a helper, which the linter does not follow: it sees the target ended
        # only at a later end in main(), if any, and places what it finds there.
        verdict.excuse(key, HELPER_ENDED)
        for at in program.helper_calls:  # with summaries, it is placed at the call
            verdict.excuse((at, event.code), HELPER_ENDED)
        for target in event.span_ids:
            for line in path.end_lines.get(target, []):
                verdict.excuse((line, event.code), HELPER_ENDED)
                # A start refused for a foreign trace the linter cannot see: it may take
                # the ended parent for the defect (TLC105 at that end).
                verdict.excuse((line, "TLC105"), HELPER_ENDED)
        return
    if event.code == "TLC105":
        later = [
            child
            for child in event.open_children
            if child in path.ended and path.ended[child][1] > event.seq
        ]
        if not later:
            return  # the child is never ended: TLC101 alone (one defect, one finding)
        # Spans the linter took as ended at a blind end or at an end with a literal ID.
        handed = {program.starts[n] for n in path.blind | path.meant if n in program.starts}
        if all(
            child in path.helper_ids
            or path.start_lines[child] in program.blind_lines
            or path.start_lines[child] in handed
            for child in later
        ):
            verdict.excuse(key, HELPER_SPAN)
        elif any(path.ended[child][0] in helper_lines for child in later):
            verdict.excuse(key, HELPER_ENDED)
        else:
            verdict.expect(key)
        return
    if event.code == "TLC104" and event.first_end_line in helper_lines:
        verdict.excuse(key, HELPER_ENDED)
    elif event.span_ids & path.helper_ids:
        verdict.excuse(key, HELPER_SPAN)
    else:
        verdict.expect(key)


def lint(source: str) -> set[tuple[int, str]]:
    from lifecycle_lint.engine import LintOptions, lint_source

    findings = lint_source("oracle.py", source, LintOptions()).findings
    return {(f.line, f.code) for f in findings if f.code in LIFECYCLE_CODES}


def compare(program: Program) -> tuple[set[tuple[int, str]], Verdict]:
    return lint(program.source), expected_findings(program, explore(program))
