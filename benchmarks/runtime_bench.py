"""Speed and memory of the reference runtime client, against baselines measured in the same run.

    python benchmarks/runtime_bench.py            # full run (about a minute)
    python benchmarks/runtime_bench.py --quick    # smoke run

Measures microseconds per start+end pair and bytes held per open span for:

- ``bare``: the floor, a ~70-line dict-and-lock checker (below), nesting contract only;
- ``TraceClient``: ``lifecycle_runtime.TraceClient()`` (in-memory backend);
- ``otel``: the raw OpenTelemetry SDK tracer with an in-memory exporter;
- ``MlflowClient``: raw ``mlflow.MlflowClient`` on a local file store in a temp folder;
- ``MlflowBackend``: ``TraceClient(backend=MlflowBackend(that client))``;
- ``guard``: that raw ``MlflowClient`` under ``lifecycle_runtime.guard()`` (its own cost
  isolated over do-nothing MLflow methods, and end to end against MlflowClient unguarded).

Scenarios: ``wide`` (one root, thousands of children) and ``small`` (many traces of a
root and 4 children). Each figure is the best of several repeats; the two MLflow variants
are run alternately so that drift affects both alike. Targets (issue 4): TraceClient within
1.5x of ``bare``, at most 0.5 KB per open span, MlflowBackend adding under 2% to
MlflowClient; (issue 11) the guard's own cost under 2% of MlflowClient's.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

# --- the floor: a bare dict-and-lock checker --------------------------------------------


class BareChecker:
    """Nesting contract only (unknown/cross-trace IDs, closed parent, double end, open
    children, bad status), span records as dicts, one lock. No API compatibility."""

    VALID = frozenset({"OK", "ERROR", "UNSET"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, list[dict[str, Any]]] = {}  # trace_id -> its spans
        self._spans: dict[str, dict[str, Any]] = {}  # span_id -> record (open traces)
        self.finished: dict[str, list[dict[str, Any]]] = {}

    def _new(self, name: str, tid: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        sid = f"{random.getrandbits(64):016x}"
        rec = {
            "name": name,
            "trace_id": tid,
            "span_id": sid,
            "parent": parent,
            "start": time.time_ns(),
            "end": None,
            "status": "UNSET",
            "open_children": 0,
        }
        self._spans[sid] = rec
        self._open[tid].append(rec)
        return rec

    def start_trace(self, name: str) -> dict[str, Any]:
        with self._lock:
            tid = f"tr-{random.getrandbits(128):032x}"
            self._open[tid] = []
            return self._new(name, tid, None)

    def start_span(self, name: str, trace_id: str, parent_id: str) -> dict[str, Any]:
        with self._lock:
            if trace_id not in self._open:
                raise LookupError(f"unknown trace {trace_id}")
            parent = self._spans.get(parent_id)
            if parent is None or parent["trace_id"] != trace_id:
                raise LookupError(f"bad parent {parent_id}")
            if parent["end"] is not None:
                raise RuntimeError(f"parent {parent_id} ended")
            parent["open_children"] += 1
            return self._new(name, trace_id, parent)

    def end_span(self, trace_id: str, span_id: str, status: str = "OK") -> None:
        if status not in self.VALID:
            raise ValueError(status)
        with self._lock:
            rec = self._spans.get(span_id)
            if rec is None or rec["trace_id"] != trace_id:
                raise LookupError(f"unknown span {span_id}")
            if rec["end"] is not None:
                raise RuntimeError(f"span {span_id} already ended")
            if rec["open_children"]:
                raise RuntimeError(f"span {span_id} has open children")
            rec["end"] = time.time_ns()
            rec["status"] = status
            parent = rec["parent"]
            if parent is not None:
                parent["open_children"] -= 1
            else:
                spans = self.finished[trace_id] = self._open.pop(trace_id)
                for s in spans:
                    del self._spans[s["span_id"]]

    def end_trace(self, trace_id: str, status: str = "OK") -> None:
        spans = self._open.get(trace_id)
        if spans is None:
            raise LookupError(f"unknown trace {trace_id}")
        self.end_span(trace_id, spans[0]["span_id"], status)


# --- adapters: one (start_trace, start_span, end_span, end_trace) shape per subject -------


class Subject:
    """``root = st(name)``, ``s = ss(name, root)``, ``es(root, s)``, ``et(root)``."""

    name = ""

    def st(self, name: str) -> Any:
        raise NotImplementedError

    def ss(self, name: str, root: Any, parent: Any) -> Any:
        raise NotImplementedError

    def es(self, root: Any, span: Any) -> None:
        raise NotImplementedError

    def et(self, root: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Drop finished data between repeats."""


class Bare(Subject):
    name = "bare"

    def __init__(self) -> None:
        self.c = BareChecker()

    def st(self, name: str) -> Any:
        return self.c.start_trace(name)

    def ss(self, name: str, root: Any, parent: Any) -> Any:
        return self.c.start_span(name, root["trace_id"], parent["span_id"])

    def es(self, root: Any, span: Any) -> None:
        self.c.end_span(root["trace_id"], span["span_id"])

    def et(self, root: Any) -> None:
        self.c.end_trace(root["trace_id"])

    def reset(self) -> None:
        self.c = BareChecker()


class Runtime(Subject):
    name = "TraceClient"

    def __init__(self, backend: Any = None) -> None:
        from lifecycle_runtime import TraceClient

        self._mk = lambda: TraceClient(backend=backend)
        self.c = self._mk()

    def st(self, name: str) -> Any:
        return self.c.start_trace(name)

    def ss(self, name: str, root: Any, parent: Any) -> Any:
        return self.c.start_span(name, root.trace_id, parent.span_id)

    def es(self, root: Any, span: Any) -> None:
        self.c.end_span(root.trace_id, span.span_id)

    def et(self, root: Any) -> None:
        self.c.end_trace(root.trace_id)

    def reset(self) -> None:
        self.c = self._mk()


class Otel(Subject):
    name = "otel"

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("bench")
        self._ctx = trace.set_span_in_context

    def st(self, name: str) -> Any:
        return self.tracer.start_span(name)

    def ss(self, name: str, root: Any, parent: Any) -> Any:
        return self.tracer.start_span(name, context=self._ctx(parent))

    def es(self, root: Any, span: Any) -> None:
        span.end()

    def et(self, root: Any) -> None:
        root.end()

    def reset(self) -> None:
        self.exporter.clear()


class Mlflow(Subject):
    name = "MlflowClient"

    def __init__(self, client: Any, experiment_id: str) -> None:
        self.c = client
        self.exp = experiment_id

    def st(self, name: str) -> Any:
        return self.c.start_trace(name, experiment_id=self.exp)

    def ss(self, name: str, root: Any, parent: Any) -> Any:
        return self.c.start_span(name, root.trace_id, parent.span_id)

    def es(self, root: Any, span: Any) -> None:
        self.c.end_span(root.trace_id, span.span_id)

    def et(self, root: Any) -> None:
        self.c.end_trace(root.trace_id)


class MlflowWrapped(Runtime):
    name = "MlflowBackend"

    def __init__(self, client: Any, experiment_id: str) -> None:
        from lifecycle_runtime import MlflowBackend

        super().__init__(MlflowBackend(client))
        self.exp = experiment_id

    def st(self, name: str) -> Any:
        return self.c.start_trace(name, experiment_id=self.exp)


class _NullSpan:
    __slots__ = ("trace_id", "span_id", "start_time_ns")

    def __init__(self, trace_id: str, span_id: str) -> None:
        self.trace_id, self.span_id, self.start_time_ns = trace_id, span_id, 0


class NullMlflowClient:
    """MlflowClient's four tracing methods doing nothing: isolates MlflowBackend's own cost
    (the runtime's checks plus the forwarding glue) from MLflow's."""

    def __init__(self) -> None:
        self.n = 0

    def start_trace(self, name: str, *a: Any, **kw: Any) -> _NullSpan:
        self.n += 1
        return _NullSpan(f"tr-{self.n:032x}", f"{self.n:016x}")

    def start_span(self, name: str, trace_id: str, parent_id: str, *a: Any, **kw: Any) -> _NullSpan:
        self.n += 1
        return _NullSpan(trace_id, f"{self.n:016x}")

    def end_span(self, trace_id: str, span_id: str, *a: Any, **kw: Any) -> None:
        pass

    def end_trace(self, trace_id: str, *a: Any, **kw: Any) -> None:
        pass


# The guard patches MlflowClient's class and LiveSpan.end in place. To isolate its own cost,
# those are replaced for a while by do-nothing versions shaped like MLflow's: spans are
# LiveSpan instances (with a __dict__, as the guard tags them), and end_span/end_trace call
# ``span.end()`` from a module named ``mlflow.*``, as MLflow's client does, so that the
# guard's pass-through of MLflow's own end is measured too.
_NULL_MLFLOW_SOURCE = """
def start_trace(self, name, *a, **kw):
    self.n += 1
    span = NullLiveSpan("tr-%032x" % self.n, "%016x" % self.n, None)
    self.spans[span.span_id] = span
    return span

def start_span(self, name, trace_id, parent_id, *a, **kw):
    self.n += 1
    span = NullLiveSpan(trace_id, "%016x" % self.n, parent_id)
    self.spans[span.span_id] = span
    self.roots.setdefault(trace_id, parent_id)
    return span

def end_span(self, trace_id, span_id, *a, **kw):
    span = self.spans.pop(span_id, None)
    if span is not None:
        span.end()

def end_trace(self, trace_id, *a, **kw):
    span = self.spans.pop(self.roots.pop(trace_id, None) or "", None)
    if span is not None:
        span.end()

def live_end(self, outputs=None, attributes=None, status=None, end_time_ns=None):
    self.end_time_ns = 1
"""


class NullMlflowPatch:
    """``with NullMlflowPatch():`` MlflowClient's four methods and LiveSpan.end do nothing
    (see above); restored at exit."""

    def __enter__(self) -> NullMlflowPatch:
        from mlflow.entities.span import LiveSpan
        from mlflow.tracking.client import MlflowClient

        class NullLiveSpan(LiveSpan):
            trace_id = span_id = parent_id = start_time_ns = end_time_ns = None

            def __init__(self, trace_id: str, span_id: str, parent_id: str | None) -> None:
                self.trace_id, self.span_id, self.parent_id = trace_id, span_id, parent_id
                self.start_time_ns = 0

        ns: dict[str, Any] = {"__name__": "mlflow.bench_null", "NullLiveSpan": NullLiveSpan}
        exec(_NULL_MLFLOW_SOURCE, ns)  # noqa: S102 - a module named mlflow.*, on purpose
        self._saved = [(MlflowClient, n, MlflowClient.__dict__[n]) for n in _CLIENT_METHODS]
        self._saved.append((LiveSpan, "end", LiveSpan.__dict__["end"]))
        for n in _CLIENT_METHODS:
            setattr(MlflowClient, n, ns[n])
        LiveSpan.end = ns["live_end"]  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)


_CLIENT_METHODS = ("start_trace", "start_span", "end_span", "end_trace")


def null_mlflow_client() -> Any:
    from mlflow.tracking.client import MlflowClient

    c = object.__new__(MlflowClient)  # no tracking URI resolution: its methods are null
    c.n, c.spans, c.roots = 0, {}, {}  # type: ignore[attr-defined]
    return c


def guard_end_to_end(
    client: Any, exp: str, scenarios: dict[str, Any], n: int, repeats: int
) -> dict[str, float]:
    """Median over alternating runs of (guarded / unguarded - 1) on the real client."""
    import lifecycle_runtime as lr

    subj = Mlflow(client, exp)
    out: dict[str, float] = {}
    for sc_name, sc in scenarios.items():
        raw: list[float] = []
        guarded: list[float] = []
        for i in range(repeats):
            for with_guard in (False, True) if i % 2 == 0 else (True, False):
                if with_guard:
                    lr.guard()
                gc.collect()
                try:
                    secs, pairs = sc(subj, n)
                finally:
                    if with_guard:
                        lr.unguard(check_leaks=False)
                (guarded if with_guard else raw).append(secs / pairs * 1e6)
        out[sc_name] = statistics.median(guarded) / statistics.median(raw) - 1
    return out


def guard_own_cost(scenarios: dict[str, Any], n: int, repeats: int) -> dict[str, float]:
    """us per pair the guard adds over the do-nothing MLflow methods (best of ``repeats``,
    guarded and unguarded runs alternating)."""
    import lifecycle_runtime as lr

    out: dict[str, float] = {}
    with NullMlflowPatch():
        for sc_name, sc in scenarios.items():
            raw_best = guarded_best = float("inf")
            for _ in range(repeats):
                raw_best = min(raw_best, best_us(Mlflow(null_mlflow_client(), "0"), sc, n, 1))
                lr.guard()
                try:
                    subj = Mlflow(null_mlflow_client(), "0")
                    guarded_best = min(guarded_best, best_us(subj, sc, n, 1))
                finally:
                    lr.unguard(check_leaks=False)
            out[sc_name] = guarded_best - raw_best
    return out


# --- scenarios ---------------------------------------------------------------------------


def wide(subj: Subject, n: int) -> tuple[float, int]:
    """One root, ``n`` children each started and ended; returns (seconds, pairs)."""
    t0 = time.perf_counter()
    root = subj.st("root")
    ss, es = subj.ss, subj.es
    for _ in range(n):
        es(root, ss("child", root, root))
    subj.et(root)
    return time.perf_counter() - t0, n + 1


def small(subj: Subject, n: int) -> tuple[float, int]:
    """``n // 5`` traces of a root and 4 children; returns (seconds, pairs)."""
    t0 = time.perf_counter()
    st, ss, es, et = subj.st, subj.ss, subj.es, subj.et
    traces = max(1, n // 5)
    for _ in range(traces):
        root = st("root")
        for _ in range(4):
            es(root, ss("child", root, root))
        et(root)
    return time.perf_counter() - t0, traces * 5


def bytes_per_open_span(subj: Subject, n: int) -> float:
    """Memory held by ``n`` open children of one open root, per child."""
    root = subj.st("root")
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kids = [subj.ss("child", root, root) for _ in range(n)]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    for k in kids:
        subj.es(root, k)
    subj.et(root)
    subj.reset()
    return held / n


def best_us(
    subj: Subject, scenario: Callable[[Subject, int], tuple[float, int]], n: int, repeats: int
) -> float:
    best = float("inf")
    for _ in range(repeats):
        subj.reset()
        gc.collect()
        secs, pairs = scenario(subj, n)
        best = min(best, secs / pairs * 1e6)
    subj.reset()
    return best


def setup_mlflow(tmp: str, storage: bool) -> tuple[Any, str] | None:
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    os.environ["MLFLOW_TRACKING_URI"] = f"file://{tmp}/mlruns"
    try:
        import mlflow
    except ImportError:
        return None
    if not storage:
        # Drop the trace's storage write at export (the file store's disk I/O is noisy and
        # is not what the wrapper adds to); everything before it still runs.
        from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter

        MlflowV3SpanExporter._log_trace = lambda self, *a, **k: None  # type: ignore[method-assign]
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    client = mlflow.MlflowClient()
    return client, client.create_experiment("runtime-bench")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    ap.add_argument("--n", type=int, default=5000, help="pairs per run, fast subjects")
    ap.add_argument("--mlflow-n", type=int, default=400, help="pairs per run, MLflow")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--mlflow-repeats", type=int, default=15)
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument(
        "--mlflow-storage",
        action="store_true",
        help="keep MLflow's storage write of each finished trace (file store in a temp dir)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.mlflow_n, args.repeats, args.mlflow_repeats = 1000, 50, 2, 2

    tmp = tempfile.mkdtemp(prefix="runtime-bench-")
    ml = None if args.no_mlflow else setup_mlflow(tmp, args.mlflow_storage)
    print(
        f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s); n={args.n}, "
        f"mlflow n={args.mlflow_n}; best of {args.repeats} (MLflow: median of "
        f"{args.mlflow_repeats}, alternating); MLflow storage writes "
        f"{'kept' if args.mlflow_storage else 'removed'}"
    )

    fast: list[Subject] = [Bare(), Runtime(), Otel()]
    us: dict[tuple[str, str], float] = {}
    mem: dict[str, float] = {}
    scenarios = {"wide": wide, "small": small}
    for sc_name, sc in scenarios.items():
        # interleave subjects per repeat round, so drift hits all alike
        for _ in range(args.repeats):
            for s in fast:
                v = best_us(s, sc, args.n, 1)
                us[(s.name, sc_name)] = min(us.get((s.name, sc_name), float("inf")), v)
    for s in fast:
        mem[s.name] = bytes_per_open_span(s, args.n)
    # MlflowBackend's own cost: over a do-nothing client, minus that client called directly
    glue: dict[str, float] = {}
    null_raw, null_wrapped = Mlflow(NullMlflowClient(), "0"), MlflowWrapped(NullMlflowClient(), "0")
    for sc_name, sc in scenarios.items():
        raw_best = wrapped_best = float("inf")
        for _ in range(args.repeats):
            raw_best = min(raw_best, best_us(null_raw, sc, args.n, 1))
            wrapped_best = min(wrapped_best, best_us(null_wrapped, sc, args.n, 1))
        glue[sc_name] = wrapped_best - raw_best

    guard_glue: dict[str, float] = {}
    guard_e2e: dict[str, float] = {}
    if ml is not None:
        guard_glue = guard_own_cost(scenarios, args.n, args.repeats)
        client, exp = ml
        mls: list[Subject] = [Mlflow(client, exp), MlflowWrapped(client, exp)]
        for s in mls:  # warm up (imports, first export)
            small(s, 10)
        for sc_name, sc in scenarios.items():
            samples: dict[str, list[float]] = {s.name: [] for s in mls}
            for i in range(args.mlflow_repeats):
                order = mls if i % 2 == 0 else mls[::-1]
                for s in order:
                    gc.collect()
                    secs, pairs = sc(s, args.mlflow_n)
                    samples[s.name].append(secs / pairs * 1e6)
            for name, vals in samples.items():
                us[(name, sc_name)] = statistics.median(vals)
        for s in mls:
            mem[s.name] = bytes_per_open_span(s, min(args.mlflow_n, 500))
        guard_e2e = guard_end_to_end(client, exp, scenarios, args.mlflow_n, args.mlflow_repeats)

    names = [s.name for s in fast] + (["MlflowClient", "MlflowBackend"] if ml else [])
    print()
    print(
        f"{'subject':<15}{'wide us/pair':>14}{'small us/pair':>15}{'x bare (w/s)':>16}"
        f"{'bytes/open span':>17}"
    )
    for name in names:
        w, s = us[(name, "wide")], us[(name, "small")]
        bw, bs = us[("bare", "wide")], us[("bare", "small")]
        print(f"{name:<15}{w:>14.2f}{s:>15.2f}{w / bw:>8.2f}/{s / bs:<7.2f}{mem[name]:>17.0f}")
    print()
    for sc_name in scenarios:
        rt = us[("TraceClient", sc_name)]
        line = (
            f"{sc_name}: TraceClient/bare = {rt / us[('bare', sc_name)]:.2f}x (target <= 1.5), "
            f"otel/TraceClient = {us[('otel', sc_name)] / rt:.1f}x"
        )
        if ml:
            raw, wrapped = us[("MlflowClient", sc_name)], us[("MlflowBackend", sc_name)]
            line += (
                f", MlflowClient/TraceClient = {raw / rt:.0f}x\n  MlflowBackend's own cost "
                f"{glue[sc_name]:.2f} us/pair = {glue[sc_name] / raw * 100:.2f}% of MlflowClient "
                f"(target < 2%); end to end {(wrapped / raw - 1) * 100:+.1f}% "
                f"({wrapped - raw:+.1f} us/pair, MLflow's run-to-run noise included)"
            )
        else:
            line += f"; MlflowBackend's own cost {glue[sc_name]:.2f} us/pair"
        print(line)
    print(f"TraceClient bytes per open span: {mem['TraceClient']:.0f} (target <= 512)")
    if ml:
        print()
        for sc_name in scenarios:
            raw = us[("MlflowClient", sc_name)]
            print(
                f"guard, {sc_name}: own cost {guard_glue[sc_name]:.2f} us/pair = "
                f"{guard_glue[sc_name] / raw * 100:.2f}% of MlflowClient's {raw:.1f} us/pair "
                f"(target < 2%); end to end {guard_e2e[sc_name] * 100:+.1f}% (median of "
                f"{args.mlflow_repeats} alternating runs, MLflow's run-to-run noise included)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
