"""``TraceClient``: MlflowClient's four tracing methods, with the lifecycle contract enforced.

Every call checks its arguments (before the lock), then runs, under the state core's one
lock: check (read only) -> backend hook -> apply. A refused call changes nothing. A backend
that fails a start refuses it (nothing changes); a backend that fails to record an end does
not undo the end: the trace is pinned in memory and the failure reported once
(:class:`BackendWarning`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .backends import Backend, InMemoryBackend
from .core import LifecycleState, normalize_status
from .errors import (
    BackendError,
    BackendWarning,
    InvalidStatusError,
    LeakError,
    LifecycleError,
    LifecycleWarning,
)
from .inputs import (
    check_end_after_start,
    check_mapping,
    check_name,
    check_time_ns,
    quote,
    type_name,
)
from .mlflow_facts import (
    DEFAULT_SPAN_TYPE,
    ENDED_UNSET_STATUS,
    REQUEST_ID_PARAM,
    TRACE_ID_PARAM,
    VALID_STATUSES,
)
from .model import EVICTED, FINISHED, Span, Trace

__all__ = ["TraceClient", "TraceNotFinishedError"]

DEFAULT_MAX_OPEN_TRACES = 10_000
DEFAULT_MAX_FINISHED_TRACES = 1_000
VIOLATION_MODES = ("raise", "warn")
_VALID_STATUSES = VALID_STATUSES
_now = time.time_ns


class TraceNotFinishedError(LifecycleError):
    """``get_trace`` on a trace that has not ended yet (the trace-not-ended rule)."""

    code = "TLC102"


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_MISSING: Any = _Missing()


class _ErrorStatus:
    """A ``SpanStatus``-shaped ERROR status carrying an exception's text."""

    __slots__ = ("status_code", "description")

    def __init__(self, exc: BaseException) -> None:
        self.status_code = "ERROR"
        self.description = f"{type(exc).__name__}: {exc}"


def _resolve_trace_id(method: str, trace_id: Any, request_id: Any) -> Any:
    if request_id is not None:
        if trace_id is not _MISSING:
            raise TypeError(
                f"{method}() got both {TRACE_ID_PARAM!r} and {REQUEST_ID_PARAM!r}; "
                f"{REQUEST_ID_PARAM!r} is the deprecated MLflow 2.x name of {TRACE_ID_PARAM!r}"
            )
        warnings.warn(
            f"{method}({REQUEST_ID_PARAM}=...) is deprecated since MLflow 3: "
            f"use {TRACE_ID_PARAM}= (TLC204)",
            DeprecationWarning,
            stacklevel=3,
        )
        return request_id
    if trace_id is _MISSING:
        raise TypeError(f"{method}() missing required argument: {TRACE_ID_PARAM!r}")
    return trace_id


def _describe_leaks(spans: list[Span]) -> str:
    by_trace: dict[str, list[Span]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    parts = []
    for tid, ss in by_trace.items():
        listed = ", ".join(f"{quote(s.name)} ({s.span_id})" for s in ss[:10])
        more = f" and {len(ss) - 10} more" if len(ss) > 10 else ""
        parts.append(f"trace {tid}: {listed}{more}")
    return f"{len(spans)} span(s) still open in {len(by_trace)} trace(s): " + "; ".join(parts)


class TraceClient:
    """A drop-in for ``MlflowClient``'s tracing methods that enforces the lifecycle contract.

    ``policy``: ``"nesting"`` (a span ends before its parent, nothing of a trace is open
    when it ends) or ``"lifo"`` (spans of a trace end in exact reverse start order).
    ``on_violation``: ``"raise"`` a :class:`LifecycleError`, or ``"warn"`` with a
    :class:`LifecycleWarning` and then behave as MLflow does (ignore a double end or an end
    on an unknown ID, end a parent with open children anyway, start a child under an
    ended parent; a start that cannot be created still raises).
    ``max_open_traces``: past it the oldest open trace is evicted and reported as a leak.
    ``max_finished_traces``: how many finished traces the client remembers (for
    :meth:`get_trace` and to tell a late double end from an unknown ID).
    """

    def __init__(
        self,
        backend: Backend | None = None,
        policy: str = "nesting",
        on_violation: str = "raise",
        max_open_traces: int = DEFAULT_MAX_OPEN_TRACES,
        max_finished_traces: int = DEFAULT_MAX_FINISHED_TRACES,
    ) -> None:
        if on_violation not in VIOLATION_MODES:
            raise ValueError(
                f"on_violation must be one of {VIOLATION_MODES}, not {quote(on_violation)}"
            )
        self._core = LifecycleState(policy, max_open_traces, max_finished_traces)
        self._backend: Backend = InMemoryBackend() if backend is None else backend
        self._forward = self._backend.forwards_starts
        self._raise = on_violation == "raise"
        self.on_violation = on_violation

    @property
    def policy(self) -> str:
        return self._core.policy

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def max_open_traces(self) -> int:
        return self._core.max_open_traces

    # --- violations --------------------------------------------------------------------

    @staticmethod
    def _warn(err: LifecycleError | LifecycleWarning, stacklevel: int = 3) -> None:
        if isinstance(err, LifecycleError):
            err = LifecycleWarning(err.message, err.code)
        warnings.warn(err, stacklevel=stacklevel)

    # --- MlflowClient's methods --------------------------------------------------------

    def start_trace(
        self,
        name: str,
        span_type: str = DEFAULT_SPAN_TYPE,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
        start_time_ns: int | None = None,
        run_id: str | None = None,
        links: Any = None,
    ) -> Span:
        """Start a trace; returns its root span."""
        if name.__class__ is not str:
            name = check_name("start_trace", name)
        if start_time_ns is not None:
            start_time_ns = check_time_ns("start_trace", "start_time_ns", start_time_ns)
        if attributes is not None and attributes.__class__ is not dict:
            attributes = check_mapping("start_trace", "attributes", attributes)
        if tags is not None and tags.__class__ is not dict:
            tags = check_mapping("start_trace", "tags", tags)
        core = self._core
        with core.lock:
            tid = sid = None
            t0 = start_time_ns
            if self._forward:
                tid, sid, t0 = self._backend.start_trace(
                    name,
                    span_type,
                    inputs,
                    attributes,
                    tags,
                    experiment_id,
                    start_time_ns,
                    run_id,
                    links,
                )
                if (
                    tid.__class__ is not str
                    or sid.__class__ is not str
                    or (t0 is not None and t0.__class__ is not int)
                    or not (tid and sid)
                    or tid in core.open_traces
                    or tid in core.done_traces
                    or tid in core.unsaved
                    or sid in core.spans
                ):
                    self._check_started("start_trace", tid, sid, t0)
            root, evicted = core.add_trace(
                name,
                tid,
                sid,
                span_type,
                inputs,
                attributes,
                t0,
                links,
                experiment_id,
                tags,
                run_id,
            )
        for old in evicted:
            self._warn(
                LifecycleWarning(
                    f"open trace {old.trace_id} ({quote(old.root.name)}) evicted from the "
                    f"open-trace table (limit {core.max_open_traces}): never ended; "
                    + _describe_leaks(list(old.open.values())),
                    "TLC102",
                )
            )
        return root

    def start_span(
        self,
        name: str,
        trace_id: str = _MISSING,
        parent_id: str | None = None,
        span_type: str = DEFAULT_SPAN_TYPE,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        start_time_ns: int | None = None,
        links: Any = None,
        *,
        request_id: str | None = None,
    ) -> Span:
        """Start a child span of ``parent_id`` in trace ``trace_id``."""
        if request_id is not None or trace_id is _MISSING:
            trace_id = _resolve_trace_id("start_span", trace_id, request_id)
        if name.__class__ is not str:
            name = check_name("start_span", name)
        if start_time_ns is not None:
            start_time_ns = check_time_ns("start_span", "start_time_ns", start_time_ns)
        if attributes is not None and attributes.__class__ is not dict:
            attributes = check_mapping("start_span", "attributes", attributes)
        core = self._core
        with core.lock:
            trace, parent, err, ok = core.check_start_span(name, trace_id, parent_id)
            if err is not None and (self._raise or not ok):
                raise err
            assert trace is not None and parent is not None  # the check let it go ahead
            sid = None
            t0 = start_time_ns
            if self._forward:
                sid, t0 = self._backend.start_span(
                    name,
                    trace_id,
                    parent.span_id,
                    span_type,
                    inputs,
                    attributes,
                    start_time_ns,
                    links,
                )
                if (
                    sid.__class__ is not str
                    or (t0 is not None and t0.__class__ is not int)
                    or not sid
                    or sid in core.spans
                ):
                    self._check_started("start_span", trace.trace_id, sid, t0)
            span = core.add_span(trace, parent, name, sid, span_type, inputs, attributes, t0, links)
        if err is not None:
            self._warn(err)
        return span

    def end_span(
        self,
        trace_id: str = _MISSING,
        span_id: str = _MISSING,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: Any = "OK",
        end_time_ns: int | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        """End a span. Ending the root span ends the trace."""
        if request_id is not None or trace_id is _MISSING:
            trace_id = _resolve_trace_id("end_span", trace_id, request_id)
        if span_id is _MISSING:
            raise TypeError("end_span() missing required argument: 'span_id'")
        if end_time_ns is not None:
            end_time_ns = check_time_ns("end_span", "end_time_ns", end_time_ns)
        if attributes is not None and attributes.__class__ is not dict:
            attributes = check_mapping("end_span", "attributes", attributes)
        if status.__class__ is str and status in _VALID_STATUSES:
            description = ""
        else:
            st = normalize_status(status)
            if not isinstance(st, tuple):
                return self._bad_status(st)
            status, description = st
        core = self._core
        with core.lock:
            trace, span, err, ok = core.check_end_span(trace_id, span_id)
            if err is not None:
                if self._raise:
                    raise err
                if not ok:
                    span = None  # MLflow ignores it
            failed = None
            if span is not None:
                assert trace is not None  # a span was found, so was its trace
                failed = self._end(
                    trace, span, "end_span", outputs, attributes, status, description, end_time_ns
                )
        if err is not None:
            self._warn(err)
        if failed is not None:
            warnings.warn(failed, stacklevel=2)

    def end_trace(
        self,
        trace_id: str = _MISSING,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: Any = "OK",
        end_time_ns: int | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        """End a trace (its root span). Every other span of it must have ended."""
        if request_id is not None or trace_id is _MISSING:
            trace_id = _resolve_trace_id("end_trace", trace_id, request_id)
        if end_time_ns is not None:
            end_time_ns = check_time_ns("end_trace", "end_time_ns", end_time_ns)
        if attributes is not None and attributes.__class__ is not dict:
            attributes = check_mapping("end_trace", "attributes", attributes)
        if status.__class__ is str and status in _VALID_STATUSES:
            description = ""
        else:
            st = normalize_status(status)
            if not isinstance(st, tuple):
                return self._bad_status(st)
            status, description = st
        core = self._core
        with core.lock:
            trace, err, ok = core.check_end_trace(trace_id)
            if err is not None:
                if self._raise:
                    raise err
                if not ok:
                    trace = None
            failed = None
            if trace is not None:
                failed = self._end(
                    trace,
                    trace.root,
                    "end_trace",
                    outputs,
                    attributes,
                    status,
                    description,
                    end_time_ns,
                )
        if err is not None:
            self._warn(err)
        if failed is not None:
            warnings.warn(failed, stacklevel=2)

    def _end(
        self,
        trace: Trace,
        span: Span,
        method: str,
        outputs: Any,
        attributes: dict[str, Any] | None,
        status: str,
        description: str,
        end_time_ns: int | None,
    ) -> BackendWarning | None:
        """Backend hook, then the change (caller holds the lock, the call was checked; an
        end time before the span's start is refused here, before anything changes).

        The call is valid, so the change is applied even when the backend fails (it would
        otherwise stay open for good, and its trace be reported as a leak): the trace is
        pinned in memory instead and the warning returned, for the caller to emit after
        releasing the lock (once per trace)."""
        if status == "UNSET":  # as MLflow's span.end(): an ended span is OK unless ERROR
            status = ENDED_UNSET_STATUS
        if end_time_ns is None:
            end_time_ns = _now()
        elif end_time_ns < span.start_time_ns:  # refused: nothing changed yet
            what = (
                f"span {quote(span.name)}"
                if method == "end_span"
                else f"trace {trace.trace_id} ({quote(span.name)})"
            )
            check_end_after_start(method, end_time_ns, span.start_time_ns, what)
        backend = self._backend
        failure: Exception | None = None
        if backend.hooks_ends:
            try:
                backend.end(
                    trace, span, method, outputs, attributes, status, description, end_time_ns
                )
            except Exception as exc:  # noqa: BLE001 - reported, never corrupts the state
                failure = exc
        if self._core.end(trace, span, outputs, attributes, status, description, end_time_ns):
            try:
                backend.trace_finished(trace)
            except Exception as exc:  # noqa: BLE001 - reported, never corrupts the state
                return self._backend_failed(trace, method, failure or exc)
            except BaseException:  # KeyboardInterrupt while writing: keep the trace
                self._core.keep_unsaved(trace)
                raise
        return None if failure is None else self._backend_failed(trace, method, failure)

    def _backend_failed(self, trace: Trace, method: str, exc: Exception) -> BackendWarning | None:
        if not self._core.keep_unsaved(trace):
            return None  # reported already
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001
            text = "<unprintable>"
        if len(text) > 300:
            text = text[:300] + "..."
        return BackendWarning(
            f"{type(self._backend).__name__} failed to record trace {trace.trace_id} "
            f"({quote(trace.root.name)}) at {method}: {type_name(exc)}: {text}. The "
            f"{method} was applied and the trace is kept in memory: "
            f"get_trace({trace.trace_id!r}), unsaved_traces()",
            trace.trace_id,
            exc,
        )

    def _check_started(self, method: str, trace_id: Any, span_id: Any, start_time_ns: Any) -> None:
        """A forwarding backend's answer must be new non-empty string IDs and an int (or
        ``None``) start time; the callers test the common case inline. Raises: nothing
        changed yet."""
        core = self._core
        problem = ""
        if method == "start_trace" and (
            type(trace_id) is not str or not trace_id or core.find_trace(trace_id) is not None
        ):
            problem = f"trace ID {quote(trace_id)} (not a new non-empty str)"
        elif type(span_id) is not str or not span_id or span_id in core.spans:
            problem = f"span ID {quote(span_id)} (not a new non-empty str)"
        elif start_time_ns is not None and type(start_time_ns) is not int:
            problem = f"start time {quote(start_time_ns)} (not an int or None)"
        if problem:
            raise BackendError(
                f"{method}: backend {type(self._backend).__name__} returned {problem}; "
                "nothing was started"
            )

    def _bad_status(self, err: InvalidStatusError) -> None:
        if self._raise:
            raise err
        self._warn(err, stacklevel=4)  # MLflow logs it and leaves the span open

    # --- reading -----------------------------------------------------------------------

    def get_trace(self, trace_id: str) -> Trace:
        """A finished trace: its spans (start order) with parent links, statuses, times."""
        core = self._core
        with core.lock:
            trace = None
            if isinstance(trace_id, str):  # any other ID is unknown (as in the other calls)
                key = str.__str__(trace_id)  # a plain str: a subclass's hooks never run
                trace = core.find_trace(key) or self._backend.get_trace(key)
            if trace is None:
                raise core._unknown_trace(trace_id, None)
            if trace.state is FINISHED:
                return trace
            if trace.state is EVICTED:
                raise core._unknown_trace(trace_id, trace)
            raise TraceNotFinishedError(
                f"trace {quote(trace_id)} ({quote(trace.root.name)}) has not ended: "
                + _describe_leaks(list(trace.open.values()))
            )

    def unsaved_traces(self, release: bool = False) -> list[Trace]:
        """Traces a backend failed to record (oldest first), kept in memory since, each
        reported once with a :class:`BackendWarning`; a finished one is also served by
        :meth:`get_trace`. ``release=True`` hands them over: the client stops pinning them
        (it then remembers them as any finished trace, within ``max_finished_traces``)."""
        core = self._core
        with core.lock:
            traces = list(core.unsaved.values())
            if release:
                for t in traces:
                    core.saved(t)
            return traces

    def open_spans(self) -> list[Span]:
        """Every span still open, in all traces (oldest trace first, start order)."""
        with self._core.lock:
            return self._core.open_spans()

    def snapshot(self) -> tuple[Any, ...]:
        """A comparable picture of the whole state (equal before and after a refused call)."""
        with self._core.lock:
            return self._core.snapshot()

    def close(self) -> None:
        """The leak check: raise :class:`LeakError` (or warn) listing spans still open.

        Also closes the backend. The client stays usable.
        """
        with self._core.lock:
            leaks = self._core.open_spans()
        self._backend.close()
        if leaks:
            code = "TLC102" if all(s.parent_id is None for s in leaks) else "TLC101"
            err = LeakError(_describe_leaks(leaks), leaks, code)
            if self._raise:
                raise err
            self._warn(err)

    def __enter__(self) -> TraceClient:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except LeakError as leak:  # do not hide the exception that is propagating
            self._warn(leak)

    # --- context managers --------------------------------------------------------------

    @contextmanager
    def trace(
        self,
        name: str,
        span_type: str = DEFAULT_SPAN_TYPE,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
        start_time_ns: int | None = None,
        run_id: str | None = None,
        links: Any = None,
    ) -> Iterator[Span]:
        """``with client.trace(...) as root``: ends the trace OK, or ERROR on an exception
        (``root.set_outputs(...)`` sets the outputs it ends with)."""
        root = self.start_trace(
            name, span_type, inputs, attributes, tags, experiment_id, start_time_ns, run_id, links
        )
        try:
            yield root
        except BaseException as exc:
            self._end_after_error(exc, root.trace_id, None)
            raise
        self.end_trace(root.trace_id)

    @contextmanager
    def span(
        self,
        name: str,
        parent: Span | Any,
        span_type: str = DEFAULT_SPAN_TYPE,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        start_time_ns: int | None = None,
        links: Any = None,
    ) -> Iterator[Span]:
        """``with client.span(name, parent=root) as span``: a child of ``parent`` (a span),
        ended OK, or ERROR on an exception."""
        # No parent: a ``None`` parent ID lets the core raise its MissingParentError.
        trace_id = parent.trace_id if parent is not None else ""
        parent_id = parent.span_id if parent is not None else None
        span = self.start_span(
            name, trace_id, parent_id, span_type, inputs, attributes, start_time_ns, links
        )
        try:
            yield span
        except BaseException as exc:
            self._end_after_error(exc, span.trace_id, span.span_id)
            raise
        self.end_span(span.trace_id, span.span_id)

    def _end_after_error(self, exc: BaseException, trace_id: str, span_id: str | None) -> None:
        """End with ERROR while ``exc`` propagates; a lifecycle error here becomes a
        warning so that it does not replace the exception the caller sees."""
        try:
            if span_id is None:
                self.end_trace(trace_id, status=_ErrorStatus(exc))
            else:
                self.end_span(trace_id, span_id, status=_ErrorStatus(exc))
        except LifecycleError as err:
            self._warn(err, stacklevel=5)
