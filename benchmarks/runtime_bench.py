"""Speed and memory of the reference runtime client, against baselines measured in the same run.

    python benchmarks/runtime_bench.py            # full run (about a minute)
    python benchmarks/runtime_bench.py --quick    # smoke run

Measures microseconds per start+end pair and bytes held per open span for:

- ``bare``: the floor, a ~70-line dict-and-lock checker (below), nesting contract only;
- ``TraceClient``: ``lifecycle_runtime.TraceClient()`` (in-memory backend);
- ``otel``: the raw OpenTelemetry SDK tracer with an in-memory exporter;
- ``MlflowClient``: raw ``mlflow.MlflowClient`` on a local file store in a temp folder;
- ``MlflowBackend``: ``TraceClient(backend=MlflowBackend(that client))``.

Scenarios: ``wide`` (one root, thousands of children) and ``small`` (many traces of a
root and 4 children). Each figure is the best of several repeats; the two MLflow variants
are run alternately so that drift affects both alike. Targets (issue 4): TraceClient within
1.5x of ``bare``, at most 0.5 KB per open span, MlflowBackend adding under 2% to
MlflowClient.
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

    if ml is not None:
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
