"""Differential tests against real MLflow (mlflow-skinny, local file store, no server).

Hypothesis generates valid call sequences (random trees, random valid end orders, inputs,
outputs, statuses); each runs through ``TraceClient()``, through ``MlflowClient`` and
through ``TraceClient(backend=MlflowBackend(client))``; the resulting trace trees (names,
parent links, statuses, inputs, outputs) must be the same.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from lifecycle_runtime import MlflowBackend, TraceClient

pytest.importorskip("mlflow")

json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(max_size=8),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text("abcxyz", min_size=1, max_size=3), st.integers(0, 9), max_size=2),
)
statuses = st.sampled_from(["OK", "ERROR", "UNSET"])


@dataclass
class Program:
    """``ops``: ("start", i, parent i, inputs) | ("end", i, outputs, status); span 0 is the
    root, ended last by ``root_end`` ("end_trace" or "end_span")."""

    root_inputs: Any
    ops: list[tuple[Any, ...]]
    root_end: str
    root_outputs: Any
    root_status: str


@st.composite
def programs(draw: st.DrawFn) -> Program:
    n = draw(st.integers(0, 10))
    ops: list[tuple[Any, ...]] = []
    open_ = [0]
    parent: dict[int, int | None] = {0: None}
    created = 0
    while created < n or len(open_) > 1:
        leaves = [s for s in open_[1:] if not any(parent[o] == s for o in open_)]
        if created < n and (not leaves or draw(st.booleans())):
            created += 1
            p = draw(st.sampled_from(open_))
            parent[created] = p
            open_.append(created)
            ops.append(("start", created, p, draw(json_values)))
        else:
            s = draw(st.sampled_from(leaves))
            open_.remove(s)
            ops.append(("end", s, draw(json_values), draw(statuses)))
    return Program(
        draw(json_values),
        ops,
        draw(st.sampled_from(["end_trace", "end_span"])),
        draw(json_values),
        draw(statuses),
    )


def run(client: Any, prog: Program, experiment_id: str) -> tuple[str, dict[int, str]]:
    """Run ``prog`` through any MlflowClient-shaped client; returns the trace ID and the
    span ID of each span index."""
    # Hypothesis seeds the global ``random`` identically for every example, and MLflow (via
    # OpenTelemetry) draws its trace and span IDs from it: without this every example would
    # reuse the same IDs. (The runtime client has its own generator.)
    random.seed(os.urandom(16))
    root = client.start_trace("span0", inputs=prog.root_inputs, experiment_id=experiment_id)
    tid = root.trace_id
    ids = {0: root.span_id}
    for op in prog.ops:
        if op[0] == "start":
            _, i, p, inputs = op
            ids[i] = client.start_span(f"span{i}", tid, ids[p], inputs=inputs).span_id
        else:
            _, i, outputs, status = op
            client.end_span(tid, ids[i], outputs=outputs, status=status)
    if prog.root_end == "end_trace":
        client.end_trace(tid, outputs=prog.root_outputs, status=prog.root_status)
    else:
        client.end_span(tid, ids[0], outputs=prog.root_outputs, status=prog.root_status)
    return tid, ids


def status_str(status: Any) -> str:
    code = getattr(status, "status_code", status)
    return str(getattr(code, "value", code))


def shape(spans: list[Any]) -> dict[str, tuple[Any, ...]]:
    """``{name: (parent name, status, inputs, outputs)}``."""
    names = {s.span_id: s.name for s in spans}
    return {
        s.name: (
            names.get(s.parent_id) if s.parent_id else None,
            status_str(s.status),
            s.inputs,
            s.outputs,
        )
        for s in spans
    }


SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(prog=programs())
def test_trace_client_builds_the_trees_mlflow_builds(
    prog: Program, mlflow_store: tuple[Any, str]
) -> None:
    mlflow_client, exp = mlflow_store
    ours = TraceClient()
    our_tid, _ = run(ours, prog, exp)
    ml_tid, _ = run(mlflow_client, prog, exp)
    our_trace = ours.get_trace(our_tid)
    ml_trace = mlflow_client.get_trace(ml_tid)
    assert shape(our_trace.spans) == shape(ml_trace.data.spans)
    assert ours.open_spans() == []
    ours.close()


@SETTINGS
@given(prog=programs())
def test_mlflow_backend_forwards_every_call(prog: Program, mlflow_store: tuple[Any, str]) -> None:
    mlflow_client, exp = mlflow_store
    wrapped = TraceClient(backend=MlflowBackend(mlflow_client))
    tid, ids = run(wrapped, prog, exp)
    ours = wrapped.get_trace(tid)
    theirs = mlflow_client.get_trace(tid)  # MLflow's own trace ID
    assert shape(ours.spans) == shape(theirs.data.spans)
    # the runtime's spans carry MLflow's own IDs and parent links
    assert {s.span_id: s.parent_id for s in ours.spans} == {
        s.span_id: s.parent_id for s in theirs.data.spans
    }
    assert set(ids.values()) == {s.span_id for s in theirs.data.spans}
    wrapped.close()


def test_mlflow_backend_refuses_before_forwarding(mlflow_store: tuple[Any, str]) -> None:
    from lifecycle_runtime import AlreadyEndedError, OpenChildrenError

    mlflow_client, exp = mlflow_store
    c = TraceClient(backend=MlflowBackend(mlflow_client))
    root = c.start_trace("root", experiment_id=exp)
    child = c.start_span("child", root.trace_id, root.span_id)
    before = c.snapshot()
    with pytest.raises(OpenChildrenError):
        c.end_trace(root.trace_id)  # MLflow would accept it and hold the trace back
    assert c.snapshot() == before
    c.end_span(root.trace_id, child.span_id, outputs=1)
    c.end_trace(root.trace_id, outputs=2)
    with pytest.raises(AlreadyEndedError):
        c.end_trace(root.trace_id)
    t = mlflow_client.get_trace(root.trace_id)
    assert [(s.name, s.outputs) for s in t.data.spans] == [("root", 2), ("child", 1)]


def test_mlflow_backend_error_status_and_context_managers(mlflow_store: tuple[Any, str]) -> None:
    mlflow_client, exp = mlflow_store
    c = TraceClient(backend=MlflowBackend(mlflow_client))
    with pytest.raises(ValueError):
        with c.trace("root", experiment_id=exp) as root:
            with c.span("child", root, inputs={"x": 1}) as child:
                child.set_outputs("partial")
                raise ValueError("bad input")
    t = mlflow_client.get_trace(root.trace_id)
    got = {s.name: (s.status.status_code.value, s.status.description) for s in t.data.spans}
    assert got["child"][0] == got["root"][0] == "ERROR"
    assert "ValueError: bad input" in got["child"][1]
    assert [s.outputs for s in t.data.spans if s.name == "child"] == ["partial"]


def test_mlflow_backend_creates_a_client_lazily(mlflow_store: tuple[Any, str]) -> None:
    _, exp = mlflow_store
    c = TraceClient(backend=MlflowBackend())
    with c.trace("lazy", experiment_id=exp) as root:
        pass
    assert c.backend.client.get_trace(root.trace_id).data.spans[0].name == "lazy"  # type: ignore[attr-defined]
