"""The pure state core: traces, spans, parent links, open/ended, order policy.

No I/O and one lock. Every lifecycle call goes through the same three steps, all
under :attr:`LifecycleState.lock`:

1. ``check_*``: read-only validation. It returns the violation (an unraised
   :class:`~lifecycle_runtime.errors.LifecycleError`) or ``None``, and whether the
   call could still go ahead the way real MLflow would (warn mode).
2. the backend hook (forwarding to MLflow); if a start's hook raises, nothing has
   changed yet (:func:`plan_end` shows an end's hook what the end will change; an end
   is valid, so the client applies it even when its hook fails, see ``keep_unsaved``).
3. ``add_trace``, ``add_span``, ``end`` (and ``keep_unsaved``/``saved``, which pin a
   trace a backend failed to record): the only methods that change state. They read
   their arguments before changing anything.

So a refused call leaves the state exactly as it was; a backend failure never leaves it
half-changed.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any, NamedTuple

from .errors import (
    AlreadyEndedError,
    ClosedParentError,
    CrossTraceError,
    InvalidStatusError,
    LifecycleError,
    MissingParentError,
    OpenChildrenError,
    OrderViolationError,
    UnknownSpanError,
    UnknownTraceError,
)
from .inputs import quote, type_name
from .mlflow_facts import (
    SPAN_ID_HEX_DIGITS,
    TRACE_ID_HEX_DIGITS,
    TRACE_ID_PREFIX,
    VALID_STATUSES,
)
from .model import EVICTED, FINISHED, ROOT_ENDED, Span, Trace

__all__ = ["EndPlan", "LifecycleState", "normalize_status", "plan_end", "will_finish"]

POLICIES = ("nesting", "lifo")

_rng = random.Random()
if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's IDs
    os.register_at_fork(after_in_child=_rng.seed)

_SPAN_BITS = SPAN_ID_HEX_DIGITS * 4
_TRACE_BITS = TRACE_ID_HEX_DIGITS * 4
_SPAN_FMT = f"%0{SPAN_ID_HEX_DIGITS}x"
_TRACE_FMT = f"{TRACE_ID_PREFIX}%0{TRACE_ID_HEX_DIGITS}x"
_ZERO_SPAN_ID = "0" * SPAN_ID_HEX_DIGITS
_now = time.time_ns
_STATUS_FIX = {s.lower(): s for s in VALID_STATUSES}
_CANONICAL = {s: s for s in VALID_STATUSES}
# Generated trace IDs carry a 32-bit tag (the low 8 hex digits: the 32 bits above them XOR a
# random per-client salt), so that an ID this client generated and has since forgotten can be
# told from a foreign one (which passes by chance once in 2**32) at no memory cost.
_TAG_BITS = 32
_TAG_MASK = (1 << _TAG_BITS) - 1
_HEX_DIGITS = frozenset("0123456789abcdef")


def normalize_status(status: Any) -> tuple[str, str] | InvalidStatusError:
    """``(status, description)`` from a string, an MLflow ``SpanStatus`` or a
    ``SpanStatusCode`` (duck-typed: mlflow is never imported), else the error."""
    extra = ""
    if type(status) is str:
        if status in VALID_STATUSES:
            return status, ""
        hint = _STATUS_FIX.get(status.lower()) if len(status) < 10 else None
        if hint:
            extra = f" (did you mean {hint!r}?)"
    else:
        try:
            description = ""
            code = status
            if hasattr(status, "status_code"):  # SpanStatus(status_code, description)
                code = status.status_code
                description = getattr(status, "description", "") or ""
            value = getattr(code, "value", code)  # SpanStatusCode (a str Enum)
            canonical = _CANONICAL.get(value) if isinstance(value, str) else None
            if canonical is None:
                name = getattr(code, "name", None)
                canonical = _CANONICAL.get(name) if isinstance(name, str) else None
            if canonical is not None:
                return canonical, str(description)
        except Exception as exc:  # noqa: BLE001 - a hostile object: refused, never leaked
            extra = f" (reading it raised {type(exc).__name__})"
    return InvalidStatusError(
        f"invalid status {quote(status)}: use 'OK', 'ERROR' or 'UNSET' (case matters), "
        f"an MLflow SpanStatus or SpanStatusCode{extra}"
    )


def _describe(span: Span) -> str:
    return f"{quote(span.name)} ({span.span_id})"


def _id_hint(value: Any) -> str:
    """Why an ID that is not a known one may be wrong in itself (error messages only)."""
    if isinstance(value, str):
        return ""
    hint = f" (type {type_name(value)}, not str"
    if getattr(type(value), "__hash__", None) is not None:
        try:
            hash(value)
        except Exception as exc:  # noqa: BLE001 - the ID's own __hash__ failed
            hint += f"; its __hash__ raised {type(exc).__name__}"
    return hint + ")"


class EndPlan(NamedTuple):
    """Everything an end call will change, computed before the change (backends read it)."""

    method: str  # "end_span" or "end_trace"
    trace: Trace
    span: Span
    outputs: Any
    attributes: dict[str, Any] | None
    status: str
    description: str
    end_time_ns: int
    finishes_trace: bool

    def span_dict(self) -> dict[str, Any]:
        """The ended span as :meth:`Span.to_dict` will show it after the change."""
        d = self.span.to_dict()
        d.update(
            outputs=self.outputs,
            attributes=dict(self.attributes or {}),
            status=self.status,
            status_description=self.description,
            end_time_ns=self.end_time_ns,
        )
        return d

    def trace_dict(self) -> dict[str, Any]:
        """The trace as :meth:`Trace.to_dict` will show it after the change."""
        d = self.trace.to_dict()
        sd = self.span_dict()
        d["spans"] = [sd if s["span_id"] == sd["span_id"] else s for s in d["spans"]]
        if self.span is self.trace.root:
            d.update(status=self.status, end_time_ns=self.end_time_ns)
        if self.finishes_trace:
            d["state"] = FINISHED
        elif self.span is self.trace.root:
            d["state"] = ROOT_ENDED
        return d


def will_finish(trace: Trace, span: Span) -> bool:
    """Whether ending ``span`` (open, checked) finishes ``trace``."""
    return len(trace.open) == 1 and (span is trace.root or trace.state is ROOT_ENDED)


def plan_end(
    trace: Trace,
    span: Span,
    method: str,
    outputs: Any,
    attributes: dict[str, Any] | None,
    status: str,
    description: str,
    end_time_ns: int,
) -> EndPlan:
    """What :meth:`LifecycleState.end` will do with these arguments, before it does it."""
    attrs = span._attributes
    if attributes:
        attrs = {**attrs, **attributes} if attrs else dict(attributes)
    return EndPlan(
        method,
        trace,
        span,
        span.outputs if outputs is None else outputs,
        attrs,
        status,
        description,
        end_time_ns,
        will_finish(trace, span),
    )


class LifecycleState:
    """Traces, spans and their links, guarded by :attr:`lock` (held by the caller)."""

    def __init__(
        self,
        policy: str = "nesting",
        max_open_traces: int = 10_000,
        max_finished_traces: int = 1_000,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {quote(policy)}")
        if max_open_traces < 1 or max_finished_traces < 0:
            raise ValueError("max_open_traces must be >= 1 and max_finished_traces >= 0")
        self._tag_salt = _rng.getrandbits(_TAG_BITS) | 1  # "tr-000...0" is never tagged
        self.lock = threading.Lock()
        self.policy = policy
        self.lifo = policy == "lifo"
        self.max_open_traces = max_open_traces
        self.max_finished_traces = max_finished_traces
        #: traces not finished yet (OPEN or ROOT_ENDED), oldest first
        self.open_traces: dict[str, Trace] = {}
        #: finished or evicted traces still remembered (bounded), oldest first, so that
        #: a late second end is reported as TLC104 rather than as an unknown ID
        self.done_traces: dict[str, Trace] = {}
        #: every span of an open, remembered or unsaved trace, by span ID
        self.spans: dict[str, Span] = {}
        #: traces a backend failed to record, kept (not bounded) until saved
        self.unsaved: dict[str, Trace] = {}
        #: how many finished traces were forgotten (pushed out of ``done_traces``)
        self.forgotten = 0

    # --- IDs -------------------------------------------------------------------------

    def new_trace_id(self) -> str:
        salt = self._tag_salt
        while True:
            r = _rng.getrandbits(_TRACE_BITS - _TAG_BITS)
            tid = _TRACE_FMT % ((r << _TAG_BITS) | ((r ^ salt) & _TAG_MASK))
            if tid not in self.open_traces and tid not in self.done_traces:
                return tid

    def issued_here(self, trace_id: Any) -> bool:
        """Whether ``trace_id`` is one :meth:`new_trace_id` of this state generated (its tag
        matches)."""
        if type(trace_id) is not str or len(trace_id) != len(_TRACE_FMT % 0):
            return False
        digits = trace_id[len(TRACE_ID_PREFIX) :]
        if not trace_id.startswith(TRACE_ID_PREFIX) or not _HEX_DIGITS.issuperset(digits):
            return False
        v = int(digits, 16)
        r = v >> _TAG_BITS
        return v & _TAG_MASK == (r ^ self._tag_salt) & _TAG_MASK

    def new_span_id(self) -> str:
        spans = self.spans
        while True:
            sid = _SPAN_FMT % _rng.getrandbits(_SPAN_BITS)
            if sid not in spans and sid != _ZERO_SPAN_ID:
                return sid

    # --- checks (read only) ----------------------------------------------------------

    def find_trace(self, trace_id: Any) -> Trace | None:
        try:
            return (
                self.open_traces.get(trace_id)
                or self.done_traces.get(trace_id)
                or (self.unsaved.get(trace_id) if self.unsaved else None)
            )
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            return None

    def _unknown_trace(self, trace_id: Any, trace: Trace | None) -> UnknownTraceError:
        if trace is not None and trace.state is EVICTED:
            return UnknownTraceError(
                f"trace {quote(trace_id)} ({quote(trace.root.name)}) was evicted from the "
                f"open-trace table (limit {self.max_open_traces}) and reported as a leak"
            )
        if self.forgotten and self.issued_here(trace_id):
            return UnknownTraceError(
                f"trace {quote(trace_id)} was started by this client and has been forgotten: "
                f"it remembers the last {self.max_finished_traces} finished traces "
                f"(max_finished_traces) and has forgotten {self.forgotten}; pass a larger "
                "max_finished_traces, or a backend that keeps every trace (InMemoryBackend(), "
                "JsonlBackend(..., keep_in_memory=True)), to keep more"
            )
        return UnknownTraceError(
            f"unknown trace_id {quote(trace_id)}{_id_hint(trace_id)}: this client started no "
            "such trace (hard-coded, stale or foreign ID?)"
        )

    def check_start_span(
        self, name: str, trace_id: Any, parent_id: Any
    ) -> tuple[Trace | None, Span | None, LifecycleError | None, bool]:
        """``(trace, parent, violation, can_go_ahead)`` for ``start_span``."""
        if parent_id is None:
            return (
                None,
                None,
                MissingParentError(
                    f"start_span({quote(name)}) without parent_id: pass the parent span's span_id "
                    "(the root's for a top-level span)"
                ),
                False,
            )
        try:
            trace = self.open_traces.get(trace_id)
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            trace = None
        if trace is None:
            trace = self.find_trace(trace_id)
            if trace is None or trace.state is EVICTED:
                return None, None, self._unknown_trace(trace_id, trace), False
        try:
            parent = self.spans.get(parent_id)
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            parent = None
        if parent is None:
            return (
                trace,
                None,
                UnknownSpanError(
                    f"start_span({quote(name)}): unknown parent_id {quote(parent_id)}"
                    f"{_id_hint(parent_id)} in trace {trace.trace_id!r} "
                    f"({quote(trace.root.name)})"
                ),
                False,
            )
        if parent.trace_id != trace.trace_id:
            other = self.find_trace(parent.trace_id)
            other_name = other.root.name if other is not None else "?"
            return (
                trace,
                parent,
                CrossTraceError(
                    f"start_span({quote(name)}): parent {_describe(parent)} belongs to trace "
                    f"{parent.trace_id!r} ({quote(other_name)}), not to trace "
                    f"{trace.trace_id!r} ({quote(trace.root.name)})"
                ),
                False,
            )
        if parent.end_time_ns is not None:
            finished = trace.state is FINISHED
            what = "its trace already finished" if finished else "the parent already ended"
            return (
                trace,
                parent,
                ClosedParentError(
                    f"start_span({quote(name)}) under parent {_describe(parent)} of trace "
                    f"{trace.trace_id!r}: {what}"
                ),
                not finished,
            )
        return trace, parent, None, True

    def _open_descendants(self, trace: Trace, span: Span) -> list[Span]:
        out = []
        for s in trace.open.values():
            p = s._parent
            while p is not None:
                if p is span:
                    out.append(s)
                    break
                p = p._parent
        return out

    def _open_children_error(self, what: str, trace: Trace, span: Span) -> OpenChildrenError:
        desc = self._open_descendants(trace, span)
        listed = ", ".join(_describe(s) for s in desc[:5])
        more = f" and {len(desc) - 5} more" if len(desc) > 5 else ""
        return OpenChildrenError(
            f"{what}: {len(desc)} descendant span(s) still open: {listed}{more}; end them first"
        )

    # The checks below inline their dictionary lookups on purpose: folding them into
    # helper methods measured 0.3 us slower per start+end pair (15% of the whole cost).
    def check_end_span(
        self, trace_id: Any, span_id: Any
    ) -> tuple[Trace | None, Span | None, LifecycleError | None, bool]:
        """``(trace, span, violation, can_go_ahead)`` for ``end_span``."""
        try:
            trace = self.open_traces.get(trace_id)
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            trace = None
        if trace is None:
            trace = self.find_trace(trace_id)
            if trace is None or trace.state is EVICTED:
                return None, None, self._unknown_trace(trace_id, trace), False
        try:
            span = self.spans.get(span_id)
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            span = None
        if span is None:
            return (
                trace,
                None,
                UnknownSpanError(
                    f"end_span: unknown span_id {quote(span_id)}{_id_hint(span_id)} in trace "
                    f"{trace.trace_id!r} ({quote(trace.root.name)})"
                ),
                False,
            )
        if span.trace_id != trace.trace_id:
            other = self.find_trace(span.trace_id)
            other_name = other.root.name if other is not None else "?"
            return (
                trace,
                span,
                CrossTraceError(
                    f"end_span: span {_describe(span)} belongs to trace {span.trace_id!r} "
                    f"({quote(other_name)}), not to trace {trace.trace_id!r} "
                    f"({quote(trace.root.name)})"
                ),
                False,
            )
        if span.end_time_ns is not None:
            return (
                trace,
                span,
                AlreadyEndedError(
                    f"end_span: span {_describe(span)} of trace {trace.trace_id!r} already "
                    f"ended (status {span.status})"
                ),
                False,
            )
        if span._open_desc:
            return (
                trace,
                span,
                self._open_children_error(
                    f"end_span: cannot end span {_describe(span)}", trace, span
                ),
                True,
            )
        if self.lifo:
            last = trace.open[next(reversed(trace.open))]
            if last is not span:
                return (
                    trace,
                    span,
                    OrderViolationError(
                        f"end_span: policy 'lifo' ends spans in reverse start order: span "
                        f"{_describe(span)} ended while {_describe(last)}, started after it, "
                        "is still open"
                    ),
                    True,
                )
        return trace, span, None, True

    def check_end_trace(self, trace_id: Any) -> tuple[Trace | None, LifecycleError | None, bool]:
        """``(trace, violation, can_go_ahead)`` for ``end_trace``."""
        try:
            trace = self.open_traces.get(trace_id)
        except Exception:  # noqa: BLE001 - unhashable ID, or its __hash__/__eq__ raised
            trace = None
        if trace is None:
            trace = self.find_trace(trace_id)
            if trace is None or trace.state is EVICTED:
                return None, self._unknown_trace(trace_id, trace), False
        root = trace.root
        if root.end_time_ns is not None:
            return (
                trace,
                AlreadyEndedError(
                    f"end_trace: trace {trace.trace_id!r} ({quote(root.name)}) already ended "
                    f"(status {root.status})"
                ),
                False,
            )
        if root._open_desc:
            return (
                trace,
                self._open_children_error(
                    f"end_trace: cannot end trace {trace.trace_id!r} ({quote(root.name)})",
                    trace,
                    root,
                ),
                True,
            )
        return trace, None, True

    # --- changes (the only place state changes) -------------------------------------

    def add_trace(
        self,
        name: str,
        trace_id: str | None,
        span_id: str | None,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        start_time_ns: int | None,
        links: Any,
        experiment_id: str | None,
        tags: dict[str, str] | None,
        run_id: str | None,
    ) -> tuple[Span, list[Trace]]:
        """Create and register a trace (IDs generated when ``None``); returns its root and
        the traces evicted to stay within ``max_open_traces``."""
        if trace_id is None:
            trace_id = self.new_trace_id()
        if span_id is None:
            span_id = self.new_span_id()
        root = Span(
            name,
            trace_id,
            span_id,
            None,
            span_type,
            inputs,
            attributes,
            _now() if start_time_ns is None else start_time_ns,
            links,
        )
        trace = Trace(root, experiment_id, tags, run_id)  # may raise (odd tags): nothing changed
        evicted = []
        open_traces = self.open_traces
        while len(open_traces) >= self.max_open_traces:
            old = open_traces.pop(next(iter(open_traces)))
            old.state = EVICTED
            self._remember(old)
            evicted.append(old)
        open_traces[trace_id] = trace
        self.spans[span_id] = root
        return root, evicted

    def add_span(
        self,
        trace: Trace,
        parent: Span,
        name: str,
        span_id: str | None,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        start_time_ns: int | None,
        links: Any,
    ) -> Span:
        """Create and register a child of ``parent`` (ID generated when ``None``)."""
        spans = self.spans
        if span_id is None:
            span_id = _SPAN_FMT % _rng.getrandbits(_SPAN_BITS)
            if span_id in spans or span_id == _ZERO_SPAN_ID:
                span_id = self.new_span_id()
        span = Span(
            name,
            trace.trace_id,
            span_id,
            parent,
            span_type,
            inputs,
            attributes,
            _now() if start_time_ns is None else start_time_ns,
            links,
        )
        spans[span_id] = span
        trace.open[span_id] = span
        trace.spans.append(span)
        p: Span | None = parent
        while p is not None:
            p._open_desc += 1
            p = p._parent
        return span

    def end(
        self,
        trace: Trace,
        span: Span,
        outputs: Any,
        attributes: dict[str, Any] | None,
        status: str,
        description: str,
        end_time_ns: int,
    ) -> bool:
        """End ``span`` (checked before); returns whether its trace finished with it."""
        if attributes:  # first: reading an odd mapping may raise, before any change
            a = span._attributes
            if a is None:
                span._attributes = dict(attributes)
            else:
                a.update(attributes if attributes.__class__ is dict else dict(attributes))
        if outputs is not None:
            span.outputs = outputs
        span.status = status
        span.status_description = description
        span.end_time_ns = end_time_ns
        open_spans = trace.open
        del open_spans[span.span_id]
        p = span._parent
        while p is not None:
            p._open_desc -= 1
            p = p._parent
        if not open_spans and (span is trace.root or trace.state is ROOT_ENDED):
            trace.state = FINISHED
            del self.open_traces[trace.trace_id]
            self._remember(trace)
            return True
        if span is trace.root:
            trace.state = ROOT_ENDED
        return False

    def _remember(self, trace: Trace) -> None:
        done = self.done_traces
        done[trace.trace_id] = trace
        spans = self.spans
        while len(done) > self.max_finished_traces:
            old = done.pop(next(iter(done)))
            if self.unsaved and old.trace_id in self.unsaved:  # an unsaved trace stays whole
                continue
            for s in old.spans:
                if spans.get(s.span_id) is s:
                    del spans[s.span_id]
            self.forgotten += 1

    def _forget_spans(self, trace: Trace) -> None:
        spans = self.spans
        for s in trace.spans:
            if spans.get(s.span_id) is s:
                del spans[s.span_id]

    def keep_unsaved(self, trace: Trace) -> bool:
        """Pin ``trace`` in memory: a backend failed to record it. ``False`` when it was
        pinned already (its failure has been reported)."""
        if trace.trace_id in self.unsaved:
            return False
        self.unsaved[trace.trace_id] = trace
        return True

    def saved(self, trace: Trace) -> None:
        """A pinned trace was recorded after all: unpin it (forget it if nothing else
        remembers it)."""
        tid = trace.trace_id
        if self.unsaved.pop(tid, None) is not None and (
            tid not in self.done_traces and tid not in self.open_traces
        ):
            self._forget_spans(trace)
            self.forgotten += 1

    # --- reading -----------------------------------------------------------------------

    def open_spans(self) -> list[Span]:
        return [s for t in self.open_traces.values() for s in t.open.values()]

    def snapshot(self) -> tuple[Any, ...]:
        """A deep, comparable picture of the whole state (tests: a refused call changes
        nothing)."""

        def span_state(s: Span) -> tuple[Any, ...]:
            return (
                s.name,
                s.trace_id,
                s.span_id,
                s.parent_id,
                s.span_type,
                repr(s.inputs),
                repr(s.outputs),
                repr(sorted((s._attributes or {}).items(), key=repr)),
                s.status,
                s.status_description,
                s.start_time_ns,
                s.end_time_ns,
                s._open_desc,
            )

        def trace_state(t: Trace) -> tuple[Any, ...]:
            return (
                t.trace_id,
                t.state,
                t.root.span_id,
                tuple(span_state(s) for s in t.spans),
                tuple(t.open),
            )

        return (
            tuple(trace_state(t) for t in self.open_traces.values()),
            tuple(trace_state(t) for t in self.done_traces.values()),
            tuple(sorted(self.spans)),
            tuple(self.unsaved),
        )
