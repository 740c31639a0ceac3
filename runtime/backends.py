"""Where validated calls go: memory (default), JSON lines on disk, or a real MLflow client.

A backend's hooks run under the client's lock, after the call was validated. A start
hook that raises makes the call fail with that exception and leaves the client's state
unchanged. An end hook (before the change) or ``trace_finished`` (after it) that raises
does not undo the end: the client applies it, keeps the trace in memory and reports the
failure once per trace with a :class:`~lifecycle_runtime.errors.BackendWarning`.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from .errors import BackendError
from .inputs import quote, type_name
from .mlflow_facts import TRACE_ID_PARAM

if TYPE_CHECKING:
    from .model import Span, Trace

__all__ = [
    "Backend",
    "InMemoryBackend",
    "JsonlBackend",
    "MlflowBackend",
    "read_jsonl",
    "to_json_line",
]


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
        :func:`lifecycle_runtime.core.plan_end` gives what it will change. Raising does not
        refuse the call (it is valid): it is applied, and the trace pinned and reported."""

    def trace_finished(self, trace: Trace) -> None:
        """A trace finished (called after the change). Raising pins the trace in the
        client's memory and reports the failure once (a ``BackendWarning``)."""

    def get_trace(self, trace_id: str) -> Trace | None:
        return None

    def close(self) -> None:
        """Release resources (files). Called by :meth:`TraceClient.close`."""


class InMemoryBackend(Backend):
    """Keeps every finished trace in memory (``max_traces`` bounds it, oldest dropped)."""

    def __init__(self, max_traces: int | None = None) -> None:
        self.max_traces = max_traces
        self._traces: dict[str, Trace] = {}
        self._lock = threading.Lock()  # for the bound: clients may share one backend

    def trace_finished(self, trace: Trace) -> None:
        traces = self._traces
        if self.max_traces is None:
            traces[trace.trace_id] = trace  # one store: atomic
            return
        with self._lock:
            traces[trace.trace_id] = trace
            while len(traces) > self.max_traces:
                del traces[next(iter(traces))]

    def get_trace(self, trace_id: str) -> Trace | None:
        return self._traces.get(trace_id)

    @property
    def traces(self) -> list[Trace]:
        """Finished traces, in the order they finished."""
        return list(self._traces.values())

    def clear(self) -> None:
        self._traces.clear()


#: Deepest nesting written as such; deeper values become placeholders.
MAX_JSON_DEPTH = 100
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _json_default(obj: Any) -> Any:
    """Fast path: what ``json.dumps`` cannot encode by itself (may raise: then the careful
    path, :func:`_to_json`, takes over and gives the same result or a placeholder)."""
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


def _careful_default(obj: Any) -> Any:
    """:func:`_json_default`, except that what raises is a placeholder."""
    for attr in ("to_dict", "model_dump", "dict"):
        try:
            fn = getattr(obj, attr, None)
        except Exception:  # noqa: BLE001 - a hostile __getattr__
            fn = None
        if callable(fn):
            try:
                return fn()
            except Exception:  # noqa: BLE001 - fall back to a string
                break
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    try:
        return repr(obj)
    except Exception as exc:  # noqa: BLE001
        return _placeholder(obj, f"repr() raised {type(exc).__name__}")


def _placeholder(obj: Any, reason: str) -> str:
    return f"<unencodable {type_name(obj)}: {reason}>"


def _float(x: float) -> Any:
    if x != x:
        return "NaN"
    return _NON_FINITE.get(x, x)


def _key(k: Any) -> str:
    """A dict key as ``json`` writes it (str, int, float, bool, None), else its repr."""
    if isinstance(k, str):
        return str.__str__(k)
    if k is True or k is False or k is None:
        return json.dumps(k)
    if isinstance(k, int):
        return int.__repr__(k)
    if isinstance(k, float):
        v = _float(k)
        return v if isinstance(v, str) else float.__repr__(k)
    return quote(k)


def _to_json(obj: Any, path: set[int], depth: int) -> Any:
    """``obj`` as plain JSON values: never raises; a value that cannot be encoded (a cycle,
    a ``repr`` that raises, nesting deeper than :data:`MAX_JSON_DEPTH`) becomes a
    placeholder string naming its type and the reason; NaN and infinities become the strings
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    try:
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, int):
            try:
                int.__repr__(obj)  # Python refuses ints of more than 4,300 digits
            except ValueError:
                return _placeholder(obj, "too many digits to write")
            return int(obj)
        if isinstance(obj, float):
            return _float(float(obj))
        if depth >= MAX_JSON_DEPTH:
            return _placeholder(obj, f"nested deeper than {MAX_JSON_DEPTH} levels")
        oid = id(obj)
        if oid in path:
            return _placeholder(obj, "circular reference")
        path.add(oid)
        try:
            if isinstance(obj, dict):
                return {_key(k): _to_json(v, path, depth + 1) for k, v in obj.items()}
            if isinstance(obj, (list, tuple, set, frozenset)):
                return [_to_json(v, path, depth + 1) for v in obj]
            return _to_json(_careful_default(obj), path, depth + 1)
        finally:
            path.discard(oid)
    except RecursionError:
        return _placeholder(obj, "nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a repr, to_dict or iteration that raises
        return _placeholder(obj, f"{type(exc).__name__} while encoding")


def to_json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of strict JSON (RFC 8259: no NaN or Infinity), never raising:
    see :func:`_to_json` for what becomes a placeholder."""
    try:
        return json.dumps(record, default=_json_default, separators=(",", ":"), allow_nan=False)
    except Exception:  # noqa: BLE001 - a cycle, NaN, a repr that raises, an odd key...
        pass  # the careful path: per value, same result where the fast path would work
    return json.dumps(_to_json(record, set(), 0), separators=(",", ":"), allow_nan=False)


class JsonlBackend(Backend):
    """Appends each finished trace to ``path`` as one JSON line, flushed at once.

    A crash loses no finished trace (``fsync=True`` also survives an OS crash).
    Several clients may share one backend. ``keep_in_memory=True`` also serves
    :meth:`TraceClient.get_trace` for every trace (otherwise the client's own
    bounded memory of recent traces serves it). Values JSON cannot encode are written
    as placeholders (:func:`to_json_line`); a write that fails (a missing folder, a full
    disk) raises to the client, which keeps the trace and reports it.
    """

    def __init__(
        self, path: str | os.PathLike[str], fsync: bool = False, keep_in_memory: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync
        self._memory = InMemoryBackend() if keep_in_memory else None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self._torn = False  # a write failed: the file may end in a partial line

    def trace_finished(self, trace: Trace) -> None:
        if self._memory is not None:
            self._memory.trace_finished(trace)
        line = to_json_line(trace.to_dict()) + "\n"
        with self._lock:
            try:
                f = self._file
                if f is None:
                    f = self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                if self._torn:  # end a partial line left by a failed write (read_jsonl skips it)
                    line = "\n" + line
                f.write(line)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
                self._torn = False
            except BaseException:
                self._torn = self._file is not None
                self._drop_file()
                raise

    def _drop_file(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - a buffer that cannot be flushed: dropped
                pass

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


_NO_OP = (
    "MLflow did not start the {what}: it returned a no-op span (tracing disabled, e.g. by "
    "mlflow.tracing.disable(), or MLflow failed: see its log); nothing was started"
)


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
        sid = live.span_id
        if not sid:  # MLflow's NoOpSpan has no span ID
            raise BackendError(_NO_OP.format(what=f"trace {quote(name)}"))
        tid = getattr(live, TRACE_ID_PARAM, None) or live.request_id
        return tid, sid, live.start_time_ns

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
        sid = live.span_id
        if not sid:  # MLflow's NoOpSpan has no span ID
            raise BackendError(_NO_OP.format(what=f"span {quote(name)} of trace {trace_id}"))
        return sid, live.start_time_ns

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
