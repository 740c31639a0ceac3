"""Where validated calls go: memory (default), JSON lines on disk, or a real MLflow client.

A backend's hooks run under the client's lock, after the call was validated and
before the state changes. A hook that raises makes the call fail with that
exception and leaves the client's state unchanged.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from .core import plan_end, will_finish
from .mlflow_facts import TRACE_ID_PARAM

if TYPE_CHECKING:
    from .model import Span, Trace

__all__ = ["Backend", "InMemoryBackend", "JsonlBackend", "MlflowBackend", "read_jsonl"]


class Backend:
    """Base class: accepts everything, stores nothing."""

    #: whether :meth:`start_trace`/:meth:`start_span` must be called (they assign IDs)
    forwards_starts = False
    #: whether :meth:`end` must be called (before each end is applied)
    hooks_ends = False

    def start_trace(
        self,
        name: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        tags: dict[str, str] | None,
        experiment_id: str | None,
        start_time_ns: int | None,
        run_id: str | None,
        links: Any,
    ) -> tuple[str, str, int]:
        """Start a trace elsewhere; return its ``(trace_id, root span_id, start_time_ns)``."""
        raise NotImplementedError

    def start_span(
        self,
        name: str,
        trace_id: str,
        parent_id: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        start_time_ns: int | None,
        links: Any,
    ) -> tuple[str, int]:
        """Start a span elsewhere; return its ``(span_id, start_time_ns)``."""
        raise NotImplementedError

    def end(
        self,
        trace: Trace,
        span: Span,
        method: str,
        outputs: Any,
        attributes: dict[str, Any] | None,
        status: str,
        description: str,
        end_time_ns: int,
    ) -> None:
        """An ``end_span``/``end_trace`` (``method``) of ``span``, checked and about to be
        applied; ``outputs``/``attributes`` as the caller passed them, ``status`` final.
        :func:`lifecycle_runtime.core.plan_end` gives what it will change. Raising refuses
        the call."""

    def trace_finished(self, trace: Trace) -> None:
        """A trace finished (called after the change: must not fail)."""

    def get_trace(self, trace_id: str) -> Trace | None:
        return None

    def close(self) -> None:
        """Release resources (files). Called by :meth:`TraceClient.close`."""


class InMemoryBackend(Backend):
    """Keeps every finished trace in memory (``max_traces`` bounds it, oldest dropped)."""

    def __init__(self, max_traces: int | None = None) -> None:
        self.max_traces = max_traces
        self._traces: dict[str, Trace] = {}

    def trace_finished(self, trace: Trace) -> None:
        traces = self._traces
        traces[trace.trace_id] = trace
        if self.max_traces is not None and len(traces) > self.max_traces:
            del traces[next(iter(traces))]

    def get_trace(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    @property
    def traces(self) -> list[Trace]:
        """Finished traces, in the order they finished."""
        return list(self._traces.values())

    def clear(self) -> None:
        self._traces.clear()


def _json_default(obj: Any) -> Any:
    for attr in ("to_dict", "model_dump", "dict"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            try:
                return fn()
            except Exception:  # noqa: BLE001 - fall back to a string
                break
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return repr(obj)


class JsonlBackend(Backend):
    """Appends each finished trace to ``path`` as one JSON line, flushed at once.

    A crash loses no finished trace (``fsync=True`` also survives an OS crash).
    Several clients may share one backend. ``keep_in_memory=True`` also serves
    :meth:`TraceClient.get_trace` for every trace (otherwise the client's own
    bounded memory of recent traces serves it).
    """

    def __init__(
        self, path: str | os.PathLike[str], fsync: bool = False, keep_in_memory: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync
        self._memory = InMemoryBackend() if keep_in_memory else None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    hooks_ends = True

    def end(
        self,
        trace: Trace,
        span: Span,
        method: str,
        outputs: Any,
        attributes: dict[str, Any] | None,
        status: str,
        description: str,
        end_time_ns: int,
    ) -> None:
        if not will_finish(trace, span):
            return
        plan = plan_end(trace, span, method, outputs, attributes, status, description, end_time_ns)
        line = json.dumps(plan.trace_dict(), default=_json_default, separators=(",", ":"))
        with self._lock:
            f = self._file
            if f is None:
                f = self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            f.write(line + "\n")
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())

    def trace_finished(self, trace: Trace) -> None:
        if self._memory is not None:
            self._memory.trace_finished(trace)

    def get_trace(self, trace_id: str) -> Trace | None:
        return self._memory.get_trace(trace_id) if self._memory is not None else None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The traces a :class:`JsonlBackend` wrote, as dicts (a torn last line is skipped)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class MlflowBackend(Backend):
    """Forwards each validated call to a real ``MlflowClient``; IDs are MLflow's own.

    ``client=None`` creates ``mlflow.MlflowClient()`` on first use, so importing
    this module (and ``lifecycle_runtime``) never imports mlflow. Ends are forwarded
    with the runtime's own ``end_time_ns``, so both records agree.
    """

    forwards_starts = True
    hooks_ends = True

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient  # deferred: mlflow is optional

            self._client = MlflowClient()
        return self._client

    def start_trace(
        self,
        name: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        tags: dict[str, str] | None,
        experiment_id: str | None,
        start_time_ns: int | None,
        run_id: str | None,
        links: Any,
    ) -> tuple[str, str, int]:
        kw: dict[str, Any] = {}
        if run_id is not None:
            kw["run_id"] = run_id
        if links is not None:
            kw["links"] = links
        live = (self._client or self.client).start_trace(
            name,
            span_type=span_type,
            inputs=inputs,
            attributes=attributes,
            tags=tags,
            experiment_id=experiment_id,
            start_time_ns=start_time_ns,
            **kw,
        )
        tid = getattr(live, TRACE_ID_PARAM, None) or live.request_id
        return tid, live.span_id, live.start_time_ns

    def start_span(
        self,
        name: str,
        trace_id: str,
        parent_id: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        start_time_ns: int | None,
        links: Any,
    ) -> tuple[str, int]:
        client = self._client or self.client
        if links is None:  # positional: the same position in MLflow 2.x and 3.x
            live = client.start_span(
                name, trace_id, parent_id, span_type, inputs, attributes, start_time_ns
            )
        else:
            live = client.start_span(
                name, trace_id, parent_id, span_type, inputs, attributes, start_time_ns, links
            )
        return live.span_id, live.start_time_ns

    def end(
        self,
        trace: Trace,
        span: Span,
        method: str,
        outputs: Any,
        attributes: dict[str, Any] | None,
        status: str,
        description: str,
        end_time_ns: int,
    ) -> None:
        if outputs is None:
            outputs = span.outputs  # set with span.set_outputs()
        local = span._attributes  # includes those set with span.set_attribute()
        if local:
            attributes = {**local, **attributes} if attributes else local
        if description:
            from mlflow.entities import SpanStatus, SpanStatusCode

            status = SpanStatus(SpanStatusCode(status), description)  # type: ignore[assignment]
        client = self._client or self.client
        # positional: the trace ID's position is the same in MLflow 2.x and 3.x
        if method == "end_trace":
            client.end_trace(trace.trace_id, outputs, attributes, status, end_time_ns)
        else:
            client.end_span(trace.trace_id, span.span_id, outputs, attributes, status, end_time_ns)
