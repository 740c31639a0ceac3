"""Hypothesis stateful tests: random interleavings of valid and invalid lifecycle calls over
several traces, against a small independent model of the contract.

After every step: the client's open spans and finished traces equal the model's; every
finished trace is a tree whose children lie within their parents' intervals (unless a warn
mode violation let a child outlive its parent) and has nothing open; under "lifo" the
accepted end order is the reverse of the start order; a refused call left the client's
state unchanged (also a call refused for a bad argument: a name that is not a str, a time that
is not an int of nanoseconds, an end before the start); a raised error or warning has the code
(and class) the model predicts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from lifecycle_runtime import (
    LifecycleError,
    LifecycleWarning,
    TraceClient,
    TraceNotFinishedError,
)

from .test_api import FakeCode, FakeStatus

VALID = ("OK", "ERROR", "UNSET")
BOGUS_TRACE = "tr-" + "f" * 32
BOGUS_SPAN = "e" * 16


@dataclass
class MSpan:
    name: str
    trace: str
    parent: str | None
    seq: int
    ended: bool = False
    status: str = "UNSET"
    end_seq: int = -1


@dataclass
class MTrace:
    root: str
    spans: list[str] = field(default_factory=list)  # start order
    ends: list[str] = field(default_factory=list)  # accepted end order
    lenient: bool = False  # a warn-mode violation let a child outlive its parent
    finished: bool = False


class Model:
    """The contract, written independently of the runtime (no counters, plain scans)."""

    def __init__(self, lifo: bool, warn: bool) -> None:
        self.lifo = lifo
        self.warn = warn
        self.spans: dict[str, MSpan] = {}
        self.traces: dict[str, MTrace] = {}
        self.seq = 0

    def open_in(self, tid: str) -> list[str]:
        return [s for s in self.traces[tid].spans if not self.spans[s].ended]

    def is_desc(self, sid: str, anc: str) -> bool:
        p = self.spans[sid].parent
        while p is not None:
            if p == anc:
                return True
            p = self.spans[p].parent
        return False

    def open_desc(self, sid: str) -> list[str]:
        return [s for s in self.open_in(self.spans[sid].trace) if self.is_desc(s, sid)]

    # predictions: (code, class name, proceeds) ; code None = valid
    def predict_start(self, tid: Any, pid: Any) -> tuple[str | None, str | None, bool]:
        if pid is None:
            return "TLC203", "MissingParentError", False
        if tid not in self.traces:
            return "TLC201", "UnknownTraceError", False
        if pid not in self.spans:
            return "TLC201", "UnknownSpanError", False
        if self.spans[pid].trace != tid:
            return "TLC202", "CrossTraceError", False
        if self.spans[pid].ended:
            return "TLC105", "ClosedParentError", self.warn and not self.traces[tid].finished
        return None, None, True

    def predict_end(
        self, tid: Any, sid: Any, status: Any, is_trace: bool
    ) -> tuple[str | None, str | None, bool]:
        if not (isinstance(status, (FakeStatus, FakeCode)) or status in VALID):
            return "TLC401", "InvalidStatusError", False
        if tid not in self.traces:
            return "TLC201", "UnknownTraceError", False
        if is_trace:
            sid = self.traces[tid].root
        elif sid not in self.spans:
            return "TLC201", "UnknownSpanError", False
        elif self.spans[sid].trace != tid:
            return "TLC202", "CrossTraceError", False
        if self.spans[sid].ended:
            return "TLC104", "AlreadyEndedError", False
        if self.open_desc(sid):
            return "TLC105", "OpenChildrenError", self.warn
        if self.lifo and self.open_in(tid)[-1] != sid:
            return "TLC106", "OrderViolationError", self.warn
        return None, None, True

    # effects
    def start_trace(self, tid: str, sid: str, name: str) -> None:
        self.traces[tid] = MTrace(root=sid, spans=[sid])
        self.spans[sid] = MSpan(name, tid, None, self.seq)
        self.seq += 1

    def start_span(self, tid: str, pid: str, sid: str, name: str, lenient: bool) -> None:
        self.traces[tid].spans.append(sid)
        self.traces[tid].lenient |= lenient
        self.spans[sid] = MSpan(name, tid, pid, self.seq)
        self.seq += 1

    def end(self, sid: str, status: str, lenient: bool) -> None:
        s = self.spans[sid]
        t = self.traces[s.trace]
        s.ended, s.status, s.end_seq = True, status, self.seq
        self.seq += 1
        t.ends.append(sid)
        t.lenient |= lenient
        if self.spans[t.root].ended and not self.open_in(s.trace):
            t.finished = True


def status_value(status: Any) -> str:
    """The status an ended span shows: UNSET becomes OK, as in MLflow's ``span.end()``."""
    if isinstance(status, FakeStatus):
        status = status.status_code.value
    elif isinstance(status, FakeCode):
        status = status.value
    return "OK" if status == "UNSET" else status


statuses = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(VALID).map(FakeCode),
    st.sampled_from(VALID).map(lambda v: FakeStatus(FakeCode(v), "why")),
    st.sampled_from(["ok", "error", "Ok", "DONE", ""]),
)
bad_names = st.one_of(
    st.none(), st.integers(), st.binary(max_size=3), st.lists(st.text(max_size=2), max_size=2)
)
bad_times = st.one_of(
    st.text(max_size=3),
    st.floats(),
    st.booleans(),
    st.integers(max_value=-1),
    st.integers(min_value=2**64),
)
mostly_valid_statuses = st.one_of(st.just("OK"), st.just("OK"), st.just("ERROR"), statuses)


class LifecycleMachine(RuleBasedStateMachine):
    POLICY = "nesting"
    MODE = "raise"

    def __init__(self) -> None:
        super().__init__()
        self.client = TraceClient(policy=self.POLICY, on_violation=self.MODE)
        self.model = Model(self.POLICY == "lifo", self.MODE == "warn")
        self.n = 0

    # --- running one call and checking the outcome --------------------------------------

    def call(
        self, fn: Any, predicted: tuple[str | None, str | None, bool], start: bool = False
    ) -> Any:
        code, cls, proceeds = predicted
        event(f"{cls or 'valid'}{' (proceeds)' if code and proceeds else ''}")
        before = self.client.snapshot()
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                result = fn()
            except LifecycleError as e:
                raised: LifecycleError | None = e
                result = None
            else:
                raised = None
        lw = [w.message for w in rec if isinstance(w.message, LifecycleWarning)]
        if code is None:
            assert raised is None, raised
            assert lw == [], lw
            return result
        # warn mode: a start that cannot be created still raises
        must_raise = self.MODE == "raise" or (start and not proceeds)
        if must_raise:
            assert raised is not None, f"expected {cls}"
            assert (raised.code, type(raised).__name__) == (code, cls), raised
            assert lw == []
            assert self.client.snapshot() == before, "a refused call changed the state"
            return None
        assert raised is None, raised
        assert [w.code for w in lw] == [code], lw
        if not proceeds:
            assert self.client.snapshot() == before, "an ignored call changed the state"
        return result

    def pick(self, data: st.DataObject, pool: list[Any], extra: list[Any]) -> Any:
        return data.draw(st.sampled_from(pool + extra) if pool else st.sampled_from(extra))

    # --- rules ------------------------------------------------------------------------------

    @initialize()
    def first_trace(self) -> None:
        self.start_trace()

    @precondition(lambda self: len(self.model.traces) < 6)
    @rule()
    def start_trace(self) -> None:
        self.n += 1
        name = f"t{self.n}"
        root = self.call(lambda: self.client.start_trace(name), (None, None, True))
        self.model.start_trace(root.trace_id, root.span_id, name)

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data())
    def start_span_valid(self, data: st.DataObject) -> None:
        """A child of a random open span (valid unless something else interferes)."""
        m = self.model
        opened = [s for s, v in m.spans.items() if not v.ended]
        if not opened:
            return
        pid = data.draw(st.sampled_from(opened))
        self._start(m.spans[pid].trace, pid)

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data())
    def start_span_any(self, data: st.DataObject) -> None:
        """Any trace ID and any parent ID: ended, foreign, None, unknown."""
        m = self.model
        tid = self.pick(data, list(m.traces), [BOGUS_TRACE])
        pid = self.pick(data, list(m.spans), [None, BOGUS_SPAN])
        if pid in m.spans and data.draw(st.booleans()):
            tid = m.spans[pid].trace  # mostly a matching trace
        self._start(tid, pid)

    def _start(self, tid: Any, pid: Any) -> None:
        self.n += 1
        name = f"s{self.n}"
        pred = self.model.predict_start(tid, pid)
        span = self.call(lambda: self.client.start_span(name, tid, pid), pred, start=True)
        if span is not None:
            assert pred[2]
            self.model.start_span(tid, pid, span.span_id, name, lenient=pred[0] is not None)

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data())
    def end_span_valid(self, data: st.DataObject) -> None:
        """End an open span that may end now (no open descendant; lifo: the last)."""
        m = self.model
        ok = [
            s
            for s, v in m.spans.items()
            if not v.ended and not m.open_desc(s) and (not m.lifo or m.open_in(v.trace)[-1] == s)
        ]
        if ok:
            sid = data.draw(st.sampled_from(ok))
            self._end(m.spans[sid].trace, sid, data.draw(mostly_valid_statuses), False)

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data(), status=statuses)
    def end_span_any(self, data: st.DataObject, status: Any) -> None:
        m = self.model
        sid = self.pick(data, list(m.spans), [BOGUS_SPAN])
        tid = self.pick(data, list(m.traces), [BOGUS_TRACE])
        if sid in m.spans and data.draw(st.booleans()):
            tid = m.spans[sid].trace
        self._end(tid, sid, status, False)

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data(), status=mostly_valid_statuses)
    def end_trace_any(self, data: st.DataObject, status: Any) -> None:
        tid = self.pick(data, list(self.model.traces), [BOGUS_TRACE])
        self._end(tid, None, status, True)

    def _end(self, tid: Any, sid: Any, status: Any, is_trace: bool) -> None:
        m = self.model
        pred = m.predict_end(tid, sid, status, is_trace)
        if is_trace:
            self.call(lambda: self.client.end_trace(tid, status=status), pred)
        else:
            self.call(lambda: self.client.end_span(tid, sid, status=status), pred)
        if pred[2]:
            target = m.traces[tid].root if is_trace else sid
            m.end(target, status_value(status), lenient=pred[0] is not None)

    # --- refused arguments (issue 15, item 7): TypeError/ValueError, nothing changes -------

    def refused(self, fn: Any, error: type[Exception], param: str) -> None:
        event(f"refused argument ({error.__name__})")
        before = self.client.snapshot()
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                fn()
            except error as e:
                assert not isinstance(e, LifecycleError), e
                assert f"{param!r}" in str(e), e
            else:
                raise AssertionError(f"expected {error.__name__} naming {param!r}")
        assert [w for w in rec if isinstance(w.message, LifecycleWarning)] == []
        assert self.client.snapshot() == before, "a refused call changed the state"

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data(), name=bad_names)
    def bad_name(self, data: st.DataObject, name: Any) -> None:
        """A name that is not a str, for a new trace or under any span (even a bogus one)."""
        m = self.model
        if data.draw(st.booleans()):
            self.refused(lambda: self.client.start_trace(name), TypeError, "name")
            return
        pid = self.pick(data, list(m.spans), [None, BOGUS_SPAN])
        tid = m.spans[pid].trace if pid in m.spans else BOGUS_TRACE
        self.refused(lambda: self.client.start_span(name, tid, pid), TypeError, "name")

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data(), t=bad_times)
    def bad_time(self, data: st.DataObject, t: Any) -> None:
        """A time that is not an int of nanoseconds in range, in any of the four calls."""
        m = self.model
        error = TypeError if isinstance(t, bool) or not isinstance(t, int) else ValueError
        sid = self.pick(data, list(m.spans), [BOGUS_SPAN])
        tid = m.spans[sid].trace if sid in m.spans else BOGUS_TRACE
        c = self.client
        which = data.draw(st.sampled_from(["start_trace", "start_span", "end_span", "end_trace"]))
        if which == "start_trace":
            self.refused(lambda: c.start_trace("t", start_time_ns=t), error, "start_time_ns")
        elif which == "start_span":
            fn = lambda: c.start_span("s", tid, sid, start_time_ns=t)  # noqa: E731
            self.refused(fn, error, "start_time_ns")
        elif which == "end_span":
            self.refused(lambda: c.end_span(tid, sid, end_time_ns=t), error, "end_time_ns")
        else:
            self.refused(lambda: c.end_trace(tid, end_time_ns=t), error, "end_time_ns")

    @precondition(lambda self: self.model.traces)
    @rule(data=st.data())
    def end_before_start(self, data: st.DataObject) -> None:
        """An end that would be accepted, but with an end time before the span's start."""
        m = self.model
        ok = [
            s
            for s in self.client.open_spans()
            if not m.open_desc(s.span_id) and (not m.lifo or m.open_in(s.trace_id)[-1] == s.span_id)
        ]
        if not ok:
            return
        s = data.draw(st.sampled_from(ok))
        t = s.start_time_ns - data.draw(st.integers(1, 10**9))
        if t < 0:
            return
        if s.parent_id is None and data.draw(st.booleans()):
            self.refused(
                lambda: self.client.end_trace(s.trace_id, end_time_ns=t), ValueError, "end_time_ns"
            )
        else:
            fn = lambda: self.client.end_span(s.trace_id, s.span_id, end_time_ns=t)  # noqa: E731
            self.refused(fn, ValueError, "end_time_ns")

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def same_open_spans(self) -> None:
        m = self.model
        want = sorted(s for s, v in m.spans.items() if not v.ended)
        got = self.client.open_spans()
        assert sorted(s.span_id for s in got) == want
        for s in got:
            v = m.spans[s.span_id]
            assert (s.name, s.trace_id) == (v.name, v.trace)
            assert s.parent_id == v.parent

    @invariant()
    def finished_traces_are_trees(self) -> None:
        m = self.model
        for tid, mt in m.traces.items():
            if not mt.finished:
                try:
                    self.client.get_trace(tid)
                except TraceNotFinishedError:
                    continue
                raise AssertionError(f"{tid} reported finished too early")
            t = self.client.get_trace(tid)
            spans = {s.span_id: s for s in t.spans}
            assert sorted(spans) == sorted(mt.spans)
            roots = [s for s in t.spans if s.parent_id is None]
            assert roots == [t.root] and t.root.span_id == mt.root
            for s in t.spans:
                v = m.spans[s.span_id]
                assert not s.is_open and s.status == v.status and s.name == v.name
                assert s.trace_id == tid
                # reachable from the root, no cycle
                seen, p = set(), s
                while p.parent_id is not None:
                    assert p.span_id not in seen
                    seen.add(p.span_id)
                    p = spans[p.parent_id]
                assert p is t.root
                if not mt.lenient and s.parent_id is not None:
                    parent = spans[s.parent_id]
                    assert parent.start_time_ns <= s.start_time_ns
                    assert s.end_time_ns <= parent.end_time_ns  # type: ignore[operator]
            if m.lifo and not mt.lenient:
                # reverse start order: a span started while x was open ends before x
                for x in mt.spans:
                    vx = m.spans[x]
                    for y in mt.spans:
                        vy = m.spans[y]
                        if vx.seq < vy.seq < vx.end_seq:
                            assert vy.end_seq < vx.end_seq, (x, y, mt.ends)


SETTINGS = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class NestingRaise(LifecycleMachine):
    POLICY, MODE = "nesting", "raise"


class NestingWarn(LifecycleMachine):
    POLICY, MODE = "nesting", "warn"


class LifoRaise(LifecycleMachine):
    POLICY, MODE = "lifo", "raise"


class LifoWarn(LifecycleMachine):
    POLICY, MODE = "lifo", "warn"


TestNestingRaise = NestingRaise.TestCase
TestNestingWarn = NestingWarn.TestCase
TestLifoRaise = LifoRaise.TestCase
TestLifoWarn = LifoWarn.TestCase
TestNestingRaise.settings = TestNestingWarn.settings = SETTINGS
TestLifoRaise.settings = TestLifoWarn.settings = SETTINGS
