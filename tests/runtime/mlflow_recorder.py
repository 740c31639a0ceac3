"""A recorder installed beneath ``lifecycle_runtime.guard()``: it sees exactly the calls that
reach MLflow's tracing entry points, with MLflow's IDs replaced by symbols (``T0``, ``S0``...)
in the order MLflow handed them out, so that two runs of one program compare equal."""

from __future__ import annotations

import inspect
import threading
from typing import Any

import pytest


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
        self._symbols: dict[str, str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    # --- symbols ------------------------------------------------------------------------

    def _sym(self, value: Any, prefix: str) -> str:
        with self._lock:
            s = self._symbols.get(value)
            if s is None:
                s = self._symbols[value] = (
                    f"{prefix}{sum(1 for v in self._symbols.values() if v[0] == prefix)}"
                )
            return s

    def _norm(self, value: Any) -> Any:
        if isinstance(value, str) and value in self._symbols:
            return self._symbols[value]
        if hasattr(value, "span_id") and hasattr(value, "trace_id"):
            return ("span", self._norm(value.span_id))
        return value

    def _learn(self, result: Any) -> None:
        tid, sid = getattr(result, "trace_id", None), getattr(result, "span_id", None)
        if isinstance(tid, str) and tid not in self._symbols:
            self._sym(tid, "T")
        if isinstance(sid, str) and sid not in self._symbols:
            self._sym(sid, "S")

    # --- wrapping -----------------------------------------------------------------------

    def _wrap(self, label: str, original: Any, has_self: bool) -> Any:
        sig = inspect.signature(original)
        recorder = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            local = recorder._local
            depth = getattr(local, "depth", 0)
            if depth == 0:
                try:
                    bound = sig.bind(*args, **kwargs).arguments
                except TypeError:
                    bound = dict(kwargs)
                items = []
                for k, v in bound.items():
                    if k == "self" and label != "LiveSpan.end":
                        continue
                    items.append((k, recorder._norm(v)))
                recorder.calls.append((label, tuple(items)))
            local.depth = depth + 1
            try:
                result = original(*args, **kwargs)
            finally:
                local.depth = depth
            if depth == 0 and label in ("start_trace", "start_span", "start_span_no_context"):
                recorder._learn(result)
            return result

        return wrapper

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import mlflow
        import mlflow.tracing.fluent as fluent
        from mlflow.entities.span import LiveSpan
        from mlflow.tracking.client import MlflowClient

        for name in ("start_trace", "start_span", "end_span", "end_trace"):
            monkeypatch.setattr(
                MlflowClient, name, self._wrap(name, MlflowClient.__dict__[name], True)
            )
        monkeypatch.setattr(
            LiveSpan, "end", self._wrap("LiveSpan.end", LiveSpan.__dict__["end"], True)
        )
        nc = self._wrap("start_span_no_context", fluent.start_span_no_context, False)
        monkeypatch.setattr(fluent, "start_span_no_context", nc)
        monkeypatch.setattr(mlflow, "start_span_no_context", nc)
