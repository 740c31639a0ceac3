"""Guard mode: check the application's own MLflow tracing calls in place, no code change.

:func:`guard` patches, in this process, ``mlflow.MlflowClient.start_trace / start_span /
end_span / end_trace``, ``mlflow.start_span_no_context`` and ``end()`` on MLflow's live
spans. Every call made by code outside MLflow's own package is checked by the same state
core as :class:`~lifecycle_runtime.TraceClient` (:class:`~lifecycle_runtime.core.
LifecycleState`), with MLflow's own trace and span IDs, before it reaches MLflow:

- ``on_violation="raise"``: a violating call raises its :class:`LifecycleError`, never
  reaches MLflow and changes no state;
- ``"warn"``: a :class:`LifecycleWarning` at the caller's line, then the call is forwarded
  unchanged;
- ``"record"``: the violation is recorded (code, message, the caller's file and line; also
  appended to ``record_path`` as a JSON line when given), then the call is forwarded
  unchanged. :func:`report` returns the violations.

Calls that MLflow makes itself (the fluent API, ``@mlflow.trace``, autologging, and the
client calling its own methods) are recognised by the calling frame's module (``mlflow`` or
``mlflow.*``) and forwarded unchecked; the guard only keeps its picture of them in step
(an MLflow-made end of a span the guard knows ends it there too).

Spans the guard did not see start (started before :func:`guard`, or by MLflow itself) are
looked up in MLflow's in-memory trace manager the first time a checked call names them:
their trace is imported into the guard's state as it is in MLflow ("adopted"), they are
never the subject of a violation nor reported as a leak, and such calls are counted as
``unguarded``. An ID that neither the guard nor MLflow knows is TLC201.

Locking: the core's one lock is held for each check and each state change, never while
MLflow runs. An end is applied to the state before it is forwarded (so that a concurrent
second end is refused), a child start reserves its parent while MLflow creates it (so that a
concurrent end of the parent is TLC105) and is applied when MLflow returns its IDs.

Importing this module does not import mlflow: :func:`guard` does.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any

from .core import POLICIES, LifecycleState, normalize_status
from .errors import (
    LeakError,
    LifecycleError,
    LifecycleWarning,
    OpenChildrenError,
    OrderViolationError,
    UnknownSpanError,
    UnknownTraceError,
)
from .mlflow_facts import ENDED_UNSET_STATUS
from .model import Span, Trace

__all__ = [
    "GUARD_MODES",
    "Guard",
    "Violation",
    "active_guard",
    "guard",
    "guarded",
    "report",
    "unguard",
]

GUARD_MODES = ("raise", "warn", "record")
#: attribute set on the MLflow ``LiveSpan`` objects whose ``end()`` MLflow itself may call
#: (spans from ``start_span_no_context``, adopted spans): their span ID
_TAG = "_lifecycle_guard_id"
#: violations kept in memory per guard (all of them go to ``record_path``)
MAX_KEPT_VIOLATIONS = 10_000
#: distinct names of unguarded spans remembered for the summary
_MAX_UNGUARDED_NAMES = 20
_now = time.time_ns
_getframe = sys._getframe
_UNKNOWN = (UnknownTraceError, UnknownSpanError)
_MISSING: Any = object()
_NO_SELF: Any = object()  # a forwarded function without ``self``
# what Guard._adopt found
_IMPORTED, _UNKNOWN_TO_MLFLOW, _UNTRACKED = 1, 0, -1


def _is_mlflow(module: Any) -> bool:
    return isinstance(module, str) and (module == "mlflow" or module.startswith("mlflow."))


Site = tuple[str, int, str]  # (file, line, function)


def _site(frame: Any) -> Site:
    code = frame.f_code
    return code.co_filename, frame.f_lineno, code.co_name


#: where a span was started, kept cheaply: (code object, instruction offset)
RawSite = tuple[Any, int]


def _resolve(raw: RawSite | None) -> Site | None:
    """``(file, line, function)`` of a :data:`RawSite` (the line found only when needed)."""
    if raw is None:
        return None
    code, lasti = raw
    line = code.co_firstlineno
    for start, end, lineno in code.co_lines():
        if start <= lasti < end:
            if lineno is not None:
                line = lineno
            break
    return code.co_filename, line, code.co_name


def _where(site: Site | None) -> str:
    return "?" if site is None else f"{site[0]}:{site[1]}"


@dataclass(frozen=True)
class Violation:
    """One contract violation seen by the guard (``file``/``line``: the caller's)."""

    code: str
    message: str
    file: str
    line: int
    function: str
    call: str  # "MlflowClient.end_span", "LiveSpan.end", "leak" ...
    thread: str
    time_ns: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "violation", **asdict(self)}


class Guard:
    """The state and settings of one installed guard (see :func:`guard`)."""

    def __init__(
        self,
        on_violation: str = "raise",
        policy: str = "nesting",
        record_path: str | os.PathLike[str] | None = None,
        max_open_traces: int = 10_000,
        max_finished_traces: int = 1_000,
    ) -> None:
        if on_violation not in GUARD_MODES:
            raise ValueError(f"on_violation must be one of {GUARD_MODES}, not {on_violation!r}")
        self.core = LifecycleState(policy, max_open_traces, max_finished_traces)
        self.on_violation = on_violation
        self.policy = policy
        self.record_path = None if record_path is None else os.fspath(record_path)
        self._raise = on_violation == "raise"
        self._lifo = policy == "lifo"
        #: every violation seen (the first MAX_KEPT_VIOLATIONS), in order
        self.violations: list[Violation] = []
        self.violation_count = 0
        #: checked calls (made by code outside MLflow)
        self.checked = 0
        #: checked calls that named a span the guard did not see start (adopted)
        self.unguarded = 0
        self.unguarded_names: dict[str, int] = {}
        self._sites: dict[str, RawSite] = {}  # span ID -> where a guarded span was started
        self._adopted: set[str] = set()  # span IDs imported from MLflow
        self._pending: dict[str, int] = {}  # parent span ID -> child starts in flight
        self._file: IO[str] | None = None
        self._file_lock = threading.Lock()
        self._finished = False
        self._trace_manager: Any = None  # MLflow's InMemoryTraceManager class, set by install

    # --- reporting -------------------------------------------------------------------

    def _report(self, err: LifecycleError, site: Site, call: str, may_raise: bool = True) -> None:
        """Record ``err`` (every mode), then raise it, warn or only record."""
        v = Violation(
            err.code,
            err.message,
            site[0],
            site[1],
            site[2],
            call,
            threading.current_thread().name,
            _now(),
        )
        with self._file_lock:
            self.violation_count += 1
            if len(self.violations) < MAX_KEPT_VIOLATIONS:
                self.violations.append(v)
            if self.record_path is not None:
                self._write(v.to_dict())
        if self.on_violation == "record":
            return
        if self._raise and may_raise:
            raise err
        warnings.warn_explicit(
            LifecycleWarning(err.message, err.code),
            LifecycleWarning,
            site[0],
            site[1],
        )

    def _write(self, record: dict[str, Any]) -> None:
        """One JSON line, flushed at once (caller holds ``_file_lock``)."""
        f = self._file
        if f is None:
            assert self.record_path is not None
            f = self._file = open(self.record_path, "a", encoding="utf-8")  # noqa: SIM115
        f.write(json.dumps(record, default=repr, separators=(",", ":")) + "\n")
        f.flush()

    def _count_unguarded(self, names: list[str]) -> None:
        """Caller holds the core's lock."""
        self.unguarded += 1
        seen = self.unguarded_names
        for n in names:
            if n in seen:
                seen[n] += 1
            elif len(seen) < _MAX_UNGUARDED_NAMES:
                seen[n] = 1

    def _report_evicted(self, evicted: list[Trace]) -> None:
        for old in evicted:
            mine = [s for s in old.open.values() if s.span_id not in self._adopted]
            if mine:
                err = LeakError(
                    f"open trace {old.trace_id} ({old.root.name!r}) evicted from the guard's "
                    f"open-trace table (limit {self.core.max_open_traces}): never ended; "
                    + self._describe_open(mine),
                    mine,
                    "TLC102",
                )
                site = _resolve(self._sites.get(mine[0].span_id)) or ("?", 0, "?")
                self._report(err, site, "evict", False)

    # --- reading ---------------------------------------------------------------------

    def open_spans(self) -> list[tuple[Span, Site | None]]:
        """Spans started through the guard and still open, with where each was started
        (spans it adopted from MLflow are not listed)."""
        with self.core.lock:
            adopted, sites = self._adopted, self._sites
            raw = [
                (s, sites.get(s.span_id))
                for s in self.core.open_spans()
                if s.span_id not in adopted
            ]
        return [(s, _resolve(r)) for s, r in raw]

    def _describe_open(self, spans: list[Span]) -> str:
        by_trace: dict[str, list[Span]] = {}
        for s in spans:
            by_trace.setdefault(s.trace_id, []).append(s)
        parts = []
        for tid, ss in by_trace.items():
            listed = ", ".join(
                f"{s.name!r} ({s.span_id}, started at "
                f"{_where(_resolve(self._sites.get(s.span_id)))})"
                for s in ss[:10]
            )
            more = f" and {len(ss) - 10} more" if len(ss) > 10 else ""
            parts.append(f"trace {tid}: {listed}{more}")
        return f"{len(spans)} span(s) still open in {len(by_trace)} trace(s): " + "; ".join(parts)

    def leak_error(self, spans: list[Span] | None = None) -> LeakError | None:
        """A :class:`LeakError` naming the guarded spans still open (and where each was
        started), or ``None``."""
        if spans is None:
            spans = [s for s, _ in self.open_spans()]
        if not spans:
            return None
        code = "TLC102" if all(s.parent_id is None for s in spans) else "TLC101"
        return LeakError(self._describe_open(spans), spans, code)

    def check_leaks(self) -> None:
        """The leak check: report the guarded spans still open (raise mode: raise
        :class:`LeakError`; warn: warn; record: one TLC101/TLC102 record per span, at the
        line that started it)."""
        open_ = self.open_spans()
        if not open_:
            return
        if self.on_violation == "record":
            for s, site in open_:
                code = "TLC102" if s.parent_id is None else "TLC101"
                one = LeakError(
                    f"span {s.name!r} ({s.span_id}) of trace {s.trace_id} never ended", [s], code
                )
                self._report(one, site or ("?", 0, "?"), "leak")
            return
        err = self.leak_error([s for s, _ in open_])
        assert err is not None
        first = open_[0][1] or ("?", 0, "?")
        self._report(err, first, "leak")

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v.code] = counts.get(v.code, 0) + 1
        return {
            "kind": "summary",
            "on_violation": self.on_violation,
            "policy": self.policy,
            "checked": self.checked,
            "violations": self.violation_count,
            "by_code": counts,
            "unguarded": self.unguarded,
            "unguarded_names": dict(self.unguarded_names),
            "open": len(self.open_spans()),
        }

    def finish(self) -> None:
        """Leak check, then the summary line of ``record_path``; once per guard."""
        if self._finished:
            return
        self._finished = True
        try:
            self.check_leaks()
        finally:
            with self._file_lock:
                if self.record_path is not None:
                    self._write(self.summary())
                if self._file is not None:
                    self._file.close()
                    self._file = None

    # --- adopting what MLflow knows --------------------------------------------------

    def _adopt(self, trace_id: Any, span_id: Any) -> int:
        """Import ``trace_id``'s spans from MLflow's trace manager (when it knows
        ``span_id``, or the trace when ``span_id`` is None). Called without the lock.

        Returns :data:`_IMPORTED`, :data:`_UNKNOWN_TO_MLFLOW`, or :data:`_UNTRACKED` when
        MLflow knows the span but the guard cannot follow it (its trace already finished
        here while MLflow still holds a span of it open: made by MLflow, never reported)."""
        tm = self._trace_manager
        if tm is None:
            return _UNKNOWN_TO_MLFLOW
        try:
            with tm.get_instance().get_trace(trace_id) as t:
                lives = list(t.span_dict.values()) if t is not None else []
        except Exception:  # noqa: BLE001 - unhashable or odd ID: MLflow does not know it
            return _UNKNOWN_TO_MLFLOW
        if not lives:
            return _UNKNOWN_TO_MLFLOW
        rows = []
        for live in lives:
            try:
                rows.append(
                    (
                        live.span_id,
                        live.parent_id,
                        live.name,
                        live.span_type,
                        live.start_time_ns,
                        live.end_time_ns,
                        live,
                    )
                )
            except Exception:  # noqa: BLE001 - a span MLflow cannot describe: skip it
                continue
        if span_id is not None and span_id not in {r[0] for r in rows}:
            return _UNKNOWN_TO_MLFLOW
        rows.sort(key=lambda r: r[4] or 0)
        core = self.core
        imported: list[Any] = []
        with core.lock:
            trace = core.open_traces.get(trace_id)
            evicted: list[Trace] = []
            if trace is None:
                if core.find_trace(trace_id) is not None:
                    return _UNTRACKED  # finished or evicted here: not re-imported
                roots = [r for r in rows if r[1] is None]
                if not roots:
                    return _UNTRACKED
                r = roots[0]
                root, evicted = core.add_trace(
                    r[2], trace_id, r[0], r[3], None, None, r[4], None, None, None, None
                )
                trace = core.open_traces[trace_id]
                self._adopted.add(r[0])
                imported.append(r)
            spans = core.spans
            progress = True
            while progress:  # parents before children, whatever the start times say
                progress = False
                for r in rows:
                    if r[0] in spans or r[1] not in spans:
                        continue
                    parent = spans[r[1]]
                    if parent.trace_id != trace_id:
                        continue
                    core.add_span(trace, parent, r[2], r[0], r[3], None, None, r[4], None)
                    self._adopted.add(r[0])
                    imported.append(r)
                    progress = True
            for r in sorted(imported, key=lambda r: -(r[5] or 0)):
                if r[5] is not None:
                    s = spans[r[0]]
                    if s.end_time_ns is None and core.open_traces.get(trace_id) is trace:
                        core.end(trace, s, None, None, "OK", "", r[5])
        for r in imported:
            _tag(r[6], r[0])
        if evicted:
            self._report_evicted(evicted)
        return _IMPORTED

    # --- the checked calls -----------------------------------------------------------
    # ``orig(obj, *args, **kwargs)`` (``orig(*args, **kwargs)`` when ``obj`` is _NO_SELF)
    # forwards the call unchanged; ``frame`` is the caller's.

    def start_trace(
        self,
        name: Any,
        span_type: Any,
        frame: Any,
        orig: Any,
        obj: Any,
        args: Any,
        kwargs: Any,
        tag: bool = False,
    ) -> Any:
        site = (frame.f_code, frame.f_lasti)
        # nothing to check before a new trace
        live = orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)
        try:
            tid, sid = live.trace_id, live.span_id
            t0 = live.start_time_ns
        except Exception:  # noqa: BLE001 - not a live span: nothing to track
            return live
        if sid is None or tid is None or tid == self._noop_trace_id:
            return live
        core = self.core
        with core.lock:
            self.checked += 1
            if tid in core.open_traces:  # MLflow hands out new IDs: never happens
                return live
            _, evicted = core.add_trace(
                name, tid, sid, span_type, None, None, t0, None, None, None, None
            )
            self._sites[sid] = site
        if tag:
            _tag(live, sid)
        if evicted:
            self._report_evicted(evicted)
        return live

    def start_child(
        self,
        name: Any,
        trace_id: Any,
        parent_id: Any,
        span_type: Any,
        frame: Any,
        call: str,
        orig: Any,
        obj: Any,
        args: Any,
        kwargs: Any,
        tag: bool = False,
    ) -> Any:
        site = (frame.f_code, frame.f_lasti)
        core = self.core
        adopted = reserved = False
        while True:
            with core.lock:
                if not adopted:
                    self.checked += 1
                trace, parent, err, ok = core.check_start_span(name, trace_id, parent_id)
                if adopted or not isinstance(err, _UNKNOWN):
                    if parent is not None:
                        pid = parent.span_id
                        if pid in self._adopted:
                            self._count_unguarded([parent.name])
                        if err is None or (ok and not self._raise):
                            pending = self._pending
                            pending[pid] = pending.get(pid, 0) + 1
                            reserved = True
                    break
            adopted = True
            if self._adopt(trace_id, parent_id) == _UNTRACKED:
                return self._untracked(trace_id, parent_id, orig, obj, args, kwargs)
            # then checked again
        if err is not None:
            self._report(err, _site(frame), call)  # raise mode: raises, nothing reserved
        if not reserved:
            return orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)
        assert trace is not None and parent is not None
        live = sid = None
        try:
            live = orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)
            # (not live.trace_id: MLflow decodes it from the span's attributes on first use)
            sid = live.span_id
            t0 = live.start_time_ns
        except BaseException:
            sid = None
            if live is None:
                raise
        finally:
            with core.lock:
                pending = self._pending
                left = pending[pid] - 1
                if left:
                    pending[pid] = left
                else:
                    del pending[pid]
                if sid is not None and core.open_traces.get(trace.trace_id) is trace:
                    if sid not in core.spans:
                        core.add_span(trace, parent, name, sid, span_type, None, None, t0, None)
                        self._sites[sid] = site
                    else:
                        sid = None
        if tag and sid is not None:
            _tag(live, sid)
        return live

    def end(
        self,
        trace_id: Any,
        span_id: Any,
        is_trace: bool,
        status: Any,
        end_time_ns: Any,
        frame: Any,
        call: str,
        orig: Any,
        obj: Any,
        args: Any,
        kwargs: Any,
    ) -> Any:
        if status is None:  # LiveSpan.end's default: keep the status, OK unless ERROR
            status, description = "OK", ""
        elif status.__class__ is str and (status == "OK" or status == "ERROR"):
            description = ""
        else:
            st = normalize_status(status)
            if not isinstance(st, tuple):
                with self.core.lock:
                    self.checked += 1
                # raise mode: refused; else MLflow logs it and leaves the span open
                self._report(st, _site(frame), call)
                return orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)
            status, description = st
            if status == "UNSET":
                status = ENDED_UNSET_STATUS
        if end_time_ns is None or type(end_time_ns) is not int:
            end_time_ns = _now()
        core = self.core
        adopted = False
        while True:
            with core.lock:
                if not adopted:
                    self.checked += 1
                if is_trace:
                    trace, err, ok = core.check_end_trace(trace_id)
                    span = None if trace is None else trace.root
                else:
                    trace, span, err, ok = core.check_end_span(trace_id, span_id)
                if adopted or not isinstance(err, _UNKNOWN):
                    if span is not None:
                        sid = span.span_id
                        if err is None:
                            if self._pending and self._pending.get(sid):
                                err = OpenChildrenError(
                                    f"{call}: span {span.name!r} ({sid}) ended while a child "
                                    "span of it is being started in another thread"
                                )
                        elif self._adopted:
                            err = self._unless_only_adopted(err, trace, span)
                        if err is None or (ok and not self._raise):
                            assert trace is not None
                            core.end(trace, span, None, None, status, description, end_time_ns)
                            self._sites.pop(sid, None)
                            if self._adopted and sid in self._adopted:
                                self._adopted.discard(sid)
                                self._count_unguarded([span.name])
                        elif sid in self._adopted:
                            self._count_unguarded([span.name])
                    break
            adopted = True
            if self._adopt(trace_id, None if is_trace else span_id) == _UNTRACKED:
                return self._untracked(trace_id, span_id, orig, obj, args, kwargs)
            # then checked again
        if err is not None:
            self._report(err, _site(frame), call)  # raise mode: raises, nothing changed
        return orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)

    def _untracked(
        self, trace_id: Any, span_id: Any, orig: Any, obj: Any, args: Any, kwargs: Any
    ) -> Any:
        """A call on a span MLflow holds that the guard cannot follow: counted, forwarded."""
        name = "?"
        try:
            live = self._trace_manager.get_instance().get_span_from_id(trace_id, span_id)
            name = live.name if live is not None else name
        except Exception:  # noqa: BLE001 - only a name for the summary
            pass
        with self.core.lock:
            self._count_unguarded([name])
        return orig(*args, **kwargs) if obj is _NO_SELF else orig(obj, *args, **kwargs)

    def _unless_only_adopted(
        self, err: LifecycleError, trace: Trace | None, span: Span
    ) -> LifecycleError | None:
        """Drop an open-children or lifo violation caused only by spans MLflow made or
        that were started before the guard (caller holds the lock)."""
        if trace is None:
            return err
        adopted = self._adopted
        if isinstance(err, OrderViolationError):
            for s in reversed(trace.open.values()):
                if s is span:
                    return None
                if s.span_id not in adopted:
                    return err
            return err
        if isinstance(err, OpenChildrenError) and span.end_time_ns is None:
            spans = self.core.spans
            target = span.span_id
            for s in trace.open.values():
                if s.span_id in adopted or s is span:
                    continue
                p = s.parent_id
                while p is not None:
                    if p == target:
                        return err
                    ps = spans.get(p)
                    p = None if ps is None else ps.parent_id
            return None
        return err

    def mirror_end(self, span_id: str) -> None:
        """MLflow itself ended a span the guard knows: end it here too (unchecked)."""
        core = self.core
        span = core.spans.get(span_id)
        if span is None or span.end_time_ns is not None:
            return
        with core.lock:
            span = core.spans.get(span_id)
            if span is None or span.end_time_ns is not None:
                return
            trace = core.open_traces.get(span.trace_id)
            if trace is None or span.span_id not in trace.open:
                return
            core.end(trace, span, None, None, "OK", "", _now())
            self._sites.pop(span_id, None)
            self._adopted.discard(span_id)

    _noop_trace_id: Any = None


def _tag(live: Any, span_id: str) -> None:
    try:
        live.__dict__[_TAG] = span_id
    except Exception:  # noqa: BLE001 - an object without a __dict__: not tagged
        pass


# --- installing ------------------------------------------------------------------------

_install_lock = threading.Lock()
_active: Guard | None = None
_last: Guard | None = None
_patches: list[tuple[Any, str, Any, Any]] = []  # (owner, name, original, wrapper)
_atexit_registered = False


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], pos: int, name: str, default: Any) -> Any:
    if len(args) > pos:
        return args[pos]
    return kwargs.get(name, default)


def _trace_id_arg(args: tuple[Any, ...], kwargs: dict[str, Any], pos: int) -> Any:
    if len(args) > pos:
        return args[pos]
    tid = kwargs.get("trace_id", _MISSING)
    if tid is _MISSING:
        tid = kwargs.get("request_id", _MISSING)  # MLflow 2.x name, still accepted
    return tid


#: module name -> whether it is MLflow's own (``mlflow`` or ``mlflow.*``), filled as seen
_INTERNAL: dict[Any, bool] = {}


def _classify(module: Any) -> bool:
    internal = _INTERNAL[module] = _is_mlflow(module)
    return internal


def _make_wrappers(originals: dict[str, Any], noop_trace_id: str) -> dict[str, Callable[..., Any]]:
    o_start_trace = originals["start_trace"]
    o_start_span = originals["start_span"]
    o_end_span = originals["end_span"]
    o_end_trace = originals["end_trace"]
    o_no_context = originals["start_span_no_context"]
    o_live_end = originals["LiveSpan.end"]
    internal_of = _INTERNAL.get

    # Each wrapper: not guarded, or called from MLflow's own code -> straight through.
    # The positional fast paths avoid helper calls on the hot path.

    def start_trace(self: Any, *args: Any, **kwargs: Any) -> Any:
        g = _active
        if g is None:
            return o_start_trace(self, *args, **kwargs)
        frame = _getframe(1)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            return o_start_trace(self, *args, **kwargs)
        if args:
            name = args[0]
            span_type = args[1] if len(args) > 1 else kwargs.get("span_type", "UNKNOWN")
        else:
            name = kwargs.get("name")
            span_type = kwargs.get("span_type", "UNKNOWN")
        return g.start_trace(name, span_type, frame, o_start_trace, self, args, kwargs)

    def start_span(self: Any, *args: Any, **kwargs: Any) -> Any:
        g = _active
        if g is None:
            return o_start_span(self, *args, **kwargs)
        frame = _getframe(1)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            return o_start_span(self, *args, **kwargs)
        n = len(args)
        if n >= 3 and not kwargs:
            name, tid, pid = args[0], args[1], args[2]
            span_type = args[3] if n > 3 else "UNKNOWN"
        else:
            name = _arg(args, kwargs, 0, "name", None)
            tid = _trace_id_arg(args, kwargs, 1)
            pid = _arg(args, kwargs, 2, "parent_id", None)
            span_type = _arg(args, kwargs, 3, "span_type", "UNKNOWN")
        if tid is _MISSING or tid == noop_trace_id:
            return o_start_span(self, *args, **kwargs)
        return g.start_child(
            name,
            tid,
            pid,
            span_type,
            frame,
            "MlflowClient.start_span",
            o_start_span,
            self,
            args,
            kwargs,
        )

    def end_span(self: Any, *args: Any, **kwargs: Any) -> Any:
        g = _active
        if g is None:
            return o_end_span(self, *args, **kwargs)
        frame = _getframe(1)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            return o_end_span(self, *args, **kwargs)
        n = len(args)
        if n >= 2 and not kwargs:
            tid, sid = args[0], args[1]
            status = args[4] if n > 4 else "OK"
            end_ns = args[5] if n > 5 else None
        else:
            tid = _trace_id_arg(args, kwargs, 0)
            sid = _arg(args, kwargs, 1, "span_id", _MISSING)
            status = _arg(args, kwargs, 4, "status", "OK")
            end_ns = _arg(args, kwargs, 5, "end_time_ns", None)
        if tid is _MISSING or sid is _MISSING or tid == noop_trace_id:
            return o_end_span(self, *args, **kwargs)
        return g.end(
            tid,
            sid,
            False,
            status,
            end_ns,
            frame,
            "MlflowClient.end_span",
            o_end_span,
            self,
            args,
            kwargs,
        )

    def end_trace(self: Any, *args: Any, **kwargs: Any) -> Any:
        g = _active
        if g is None:
            return o_end_trace(self, *args, **kwargs)
        frame = _getframe(1)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            return o_end_trace(self, *args, **kwargs)
        tid = _trace_id_arg(args, kwargs, 0)
        if tid is _MISSING or tid == noop_trace_id:
            return o_end_trace(self, *args, **kwargs)
        return g.end(
            tid,
            None,
            True,
            _arg(args, kwargs, 3, "status", "OK"),
            _arg(args, kwargs, 4, "end_time_ns", None),
            frame,
            "MlflowClient.end_trace",
            o_end_trace,
            self,
            args,
            kwargs,
        )

    def start_span_no_context(*args: Any, **kwargs: Any) -> Any:
        g = _active
        if g is None:
            return o_no_context(*args, **kwargs)
        frame = _getframe(1)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            return o_no_context(*args, **kwargs)
        name = _arg(args, kwargs, 0, "name", None)
        span_type = _arg(args, kwargs, 1, "span_type", "UNKNOWN")
        parent = _arg(args, kwargs, 2, "parent_span", None)
        if parent is None:
            return g.start_trace(name, span_type, frame, o_no_context, _NO_SELF, args, kwargs, True)
        try:
            tid = parent.trace_id
            pid = parent.__dict__.get(_TAG) or parent.span_id
        except Exception:  # noqa: BLE001 - not a span: MLflow decides
            return o_no_context(*args, **kwargs)
        if tid == noop_trace_id or pid is None:
            return o_no_context(*args, **kwargs)
        return g.start_child(
            name,
            tid,
            pid,
            span_type,
            frame,
            "mlflow.start_span_no_context",
            o_no_context,
            _NO_SELF,
            args,
            kwargs,
            True,
        )

    def end(
        self: Any,
        outputs: Any = None,
        attributes: Any = None,
        status: Any = None,
        end_time_ns: Any = None,
    ) -> Any:
        g = _active
        if g is None:
            return o_live_end(self, outputs, attributes, status, end_time_ns)
        frame = _getframe(1)
        sid = self.__dict__.get(_TAG)
        mod = frame.f_globals.get("__name__")
        if internal_of(mod) or (mod not in _INTERNAL and _classify(mod)):
            result = o_live_end(self, outputs, attributes, status, end_time_ns)
            if sid is not None:  # MLflow ended a span the guard knows: keep in step
                span = g.core.spans.get(sid)
                if span is not None and span.end_time_ns is None and self.end_time_ns is not None:
                    g.mirror_end(sid)
            return result
        try:
            tid = self.trace_id
            if sid is None:
                sid = self.span_id
        except Exception:  # noqa: BLE001 - a span MLflow cannot describe: MLflow decides
            return o_live_end(self, outputs, attributes, status, end_time_ns)
        if tid == noop_trace_id or sid is None:
            return o_live_end(self, outputs, attributes, status, end_time_ns)
        return g.end(
            tid,
            sid,
            False,
            status,
            end_time_ns,
            frame,
            "LiveSpan.end",
            o_live_end,
            self,
            (outputs, attributes, status, end_time_ns),
            {},
        )

    return {
        "start_trace": start_trace,
        "start_span": start_span,
        "end_span": end_span,
        "end_trace": end_trace,
        "start_span_no_context": start_span_no_context,
        "LiveSpan.end": end,
    }


def _install(g: Guard) -> None:
    """Patch MLflow (caller holds ``_install_lock``)."""
    import functools

    import mlflow
    import mlflow.tracing.fluent as fluent
    from mlflow.entities.span import NO_OP_SPAN_TRACE_ID, LiveSpan
    from mlflow.tracing.trace_manager import InMemoryTraceManager
    from mlflow.tracking.client import MlflowClient

    g._trace_manager = InMemoryTraceManager
    g._noop_trace_id = NO_OP_SPAN_TRACE_ID
    # The originals are whatever is installed now (another patch, a test's recorder...)
    no_context = fluent.start_span_no_context
    originals = {
        "start_trace": MlflowClient.__dict__["start_trace"],
        "start_span": MlflowClient.__dict__["start_span"],
        "end_span": MlflowClient.__dict__["end_span"],
        "end_trace": MlflowClient.__dict__["end_trace"],
        "start_span_no_context": no_context,
        "LiveSpan.end": LiveSpan.__dict__["end"],
    }
    wrappers = _make_wrappers(originals, NO_OP_SPAN_TRACE_ID)
    targets: list[tuple[Any, str, str]] = [
        (MlflowClient, "start_trace", "start_trace"),
        (MlflowClient, "start_span", "start_span"),
        (MlflowClient, "end_span", "end_span"),
        (MlflowClient, "end_trace", "end_trace"),
        (LiveSpan, "end", "LiveSpan.end"),
    ]
    # ``mlflow.start_span_no_context`` and the modules users import it from; MLflow's own
    # callers in mlflow.tracing.fluent then reach the wrapper too and pass through unchecked
    for module in (mlflow, sys.modules.get("mlflow.tracing"), fluent):
        if module is not None and getattr(module, "start_span_no_context", None) is no_context:
            targets.append((module, "start_span_no_context", "start_span_no_context"))
    _patches.clear()
    for owner, name, key in targets:
        wrapper = functools.wraps(originals[key])(wrappers[key])
        _patches.append((owner, name, originals[key], wrapper))
        setattr(owner, name, wrapper)


def _restore() -> None:
    for owner, name, original, wrapper in _patches:
        if owner.__dict__.get(name) is wrapper:  # leave a later patch on top alone
            setattr(owner, name, original)


def _atexit() -> None:
    g = _active
    if g is not None and g.record_path is not None:
        try:
            g.finish()
        except LifecycleError:
            pass


def guard(
    on_violation: str = "raise",
    policy: str = "nesting",
    record_path: str | os.PathLike[str] | None = None,
    max_open_traces: int = 10_000,
    max_finished_traces: int = 1_000,
) -> Guard:
    """Check this process's MLflow tracing calls in place (imports mlflow).

    ``on_violation``: ``"raise"`` (refuse: the call never reaches MLflow), ``"warn"`` or
    ``"record"`` (report, then forward unchanged). ``policy``: ``"nesting"`` or ``"lifo"``.
    ``record_path``: append each violation, then a summary at :func:`unguard` or at exit,
    as JSON lines (``python -m lifecycle_runtime.report FILE`` reads it).

    Returns the :class:`Guard`. Guarding again while guarded returns the active guard
    unchanged (a :class:`RuntimeWarning` says so when the arguments differ).
    """
    global _active, _last, _atexit_registered
    if on_violation not in GUARD_MODES:
        raise ValueError(f"on_violation must be one of {GUARD_MODES}, not {on_violation!r}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    with _install_lock:
        g = _active
        if g is not None:
            wanted = (on_violation, policy, None if record_path is None else os.fspath(record_path))
            if wanted != (g.on_violation, g.policy, g.record_path):
                warnings.warn(
                    f"lifecycle_runtime.guard() is already installed (on_violation="
                    f"{g.on_violation!r}, policy={g.policy!r}); keeping it",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return g
        g = Guard(on_violation, policy, record_path, max_open_traces, max_finished_traces)
        _install(g)
        _active = _last = g
        if record_path is not None and not _atexit_registered:
            atexit.register(_atexit)
            _atexit_registered = True
        return g


def unguard(check_leaks: bool = True) -> Guard | None:
    """Restore everything :func:`guard` patched; then (``check_leaks``) the leak check in
    the guard's mode and, with ``record_path``, the summary line. Returns the guard that
    was active (``None`` if none was)."""
    global _active
    with _install_lock:
        g = _active
        if g is None:
            return None
        _restore()
        _active = None
    if check_leaks:
        g.finish()
    else:
        g._finished = True
        with g._file_lock:
            if g.record_path is not None:
                g._write(g.summary())
            if g._file is not None:
                g._file.close()
                g._file = None
    return g


@contextmanager
def guarded(
    on_violation: str = "raise",
    policy: str = "nesting",
    record_path: str | os.PathLike[str] | None = None,
    max_open_traces: int = 10_000,
    max_finished_traces: int = 1_000,
) -> Iterator[Guard]:
    """``with guarded(...) as g:`` -- :func:`guard` for the block, then :func:`unguard`
    with its leak check (if an exception is leaving the block, a leak is only warned
    about). Inside an active guard it yields that guard and leaves it installed."""
    owner = _active is None
    g = guard(on_violation, policy, record_path, max_open_traces, max_finished_traces)
    try:
        yield g
    except BaseException:
        if owner:
            unguard(check_leaks=False)
            leak = g.leak_error()
            if leak is not None:
                warnings.warn(LifecycleWarning(leak.message, leak.code), stacklevel=3)
        raise
    if owner:
        unguard()


def active_guard() -> Guard | None:
    """The installed guard, if any."""
    return _active


def report() -> list[Violation]:
    """The violations of the active guard (or of the last one), in order."""
    g = _active or _last
    return [] if g is None else list(g.violations)


# --- running a program under the guard ---------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m lifecycle_runtime [options] (script.py | -m module) [args...]``:
    run a program under :func:`guard` with no change to it, then :func:`unguard` (its leak
    check in the chosen mode, and the summary line of ``--record``)."""
    import argparse
    import runpy

    ap = argparse.ArgumentParser(
        prog="python -m lifecycle_runtime",
        description="Run a Python program with its MLflow tracing calls checked in place.",
    )
    ap.add_argument("--on-violation", choices=GUARD_MODES, default=None)
    ap.add_argument("--policy", choices=POLICIES, default="nesting")
    ap.add_argument(
        "--record",
        metavar="FILE.jsonl",
        default=None,
        help="append violations and a summary as JSON lines (implies --on-violation record)",
    )
    ap.add_argument("-m", dest="module", default=None, help="run a module, as python -m does")
    ap.add_argument("target", nargs=argparse.REMAINDER, help="script.py [args...]")
    args = ap.parse_args(argv)
    if args.module is None and not args.target:
        ap.error("give a script or -m module")
    mode = args.on_violation or ("record" if args.record else "raise")
    code = 0
    with guarded(on_violation=mode, policy=args.policy, record_path=args.record):
        try:
            if args.module is not None:
                sys.argv = [args.module, *args.target]
                runpy.run_module(args.module, run_name="__main__", alter_sys=True)
            else:
                sys.argv = list(args.target)
                runpy.run_path(args.target[0], run_name="__main__")
        except SystemExit as e:
            if isinstance(e.code, int) or e.code is None:
                code = e.code or 0
            else:  # a message, as sys.exit("...") prints it
                print(e.code, file=sys.stderr)
                code = 1
    return code
