"""``guard()`` with many threads and asyncio tasks tracing at once through real MLflow."""

from __future__ import annotations

import asyncio
import functools
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import lifecycle_runtime as lr
from lifecycle_runtime import ClosedParentError, OpenChildrenError

from .mlflow_recorder import Recorder

mlflow = pytest.importorskip("mlflow")

THREADS = 8
TRACES_PER_THREAD = 12


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # many more thread switches inside the guard's calls
    yield
    sys.setswitchinterval(old)


@pytest.fixture
def store(mlflow_store: tuple[Any, str]) -> Iterator[tuple[Any, str]]:
    yield mlflow_store
    lr.unguard(check_leaks=False)


def build(client: Any, exp: str, rng: random.Random, tag: str) -> tuple[str, dict[str, Any]]:
    """One random tree through the client, ended in a random valid order; returns the trace
    ID and ``{name: parent name}``."""
    root = client.start_trace(tag, experiment_id=exp)
    expected: dict[str, Any] = {tag: None}
    open_: list[Any] = [root]
    names = {root.span_id: tag}
    for n in range(rng.randint(2, 8)):
        parent = rng.choice(open_)
        name = f"{tag}/{n}"
        child = client.start_span(name, root.trace_id, parent.span_id)
        names[child.span_id] = name
        expected[name] = names[parent.span_id]
        open_.append(child)
        if rng.random() < 0.4:  # end an open leaf
            leaves = [s for s in open_[1:] if not any(o.parent_id == s.span_id for o in open_)]
            s = rng.choice(leaves)
            client.end_span(root.trace_id, s.span_id)
            open_.remove(s)
    while len(open_) > 1:
        client.end_span(root.trace_id, open_.pop().span_id)
    client.end_trace(root.trace_id)
    return root.trace_id, expected


def shape(client: Any, trace_id: str) -> dict[str, Any]:
    spans = client.get_trace(trace_id).data.spans
    names = {s.span_id: s.name for s in spans}
    return {s.name: names.get(s.parent_id) for s in spans}


def test_threads_trace_at_once_without_violations(
    store: tuple[Any, str], fast_switching: None
) -> None:
    client, exp = store
    g = lr.guard()
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        rng = random.Random(i)
        try:
            for j in range(TRACES_PER_THREAD):
                tid, expected = build(client, exp, rng, f"w{i}-{j}")
                results[tid] = expected
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert g.violations == [] and g.open_spans() == []
    assert len(results) == THREADS * TRACES_PER_THREAD
    for tid, expected in results.items():
        assert shape(client, tid) == expected
    assert lr.unguard() is g


def race(*fns: Any) -> list[Any]:
    """Run ``fns`` in threads released together; each one's result or LifecycleError."""
    barrier = threading.Barrier(len(fns))
    out: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fns[i]()
        except lr.LifecycleError as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def test_concurrent_double_end_reaches_mlflow_once(
    monkeypatch: pytest.MonkeyPatch, store: tuple[Any, str], fast_switching: None
) -> None:
    client, exp = store
    rec = Recorder()
    rec.install(monkeypatch)
    lr.guard()
    for _ in range(30):
        root = client.start_trace("race", experiment_id=exp)
        child = client.start_span("child", root.trace_id, root.span_id)
        before = len(rec.calls)
        end = functools.partial(client.end_span, root.trace_id, child.span_id)
        outcomes = race(end, end)
        assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyEndedError", "NoneType"]
        assert [c[0] for c in rec.calls[before:]] == ["end_span"]  # MLflow got one
        client.end_trace(root.trace_id)
    lr.unguard()


def test_child_start_racing_its_parents_end_never_both_succeed(
    store: tuple[Any, str], fast_switching: None
) -> None:
    client, exp = store
    g = lr.guard()
    for _ in range(30):
        root = client.start_trace("race", experiment_id=exp)
        parent = client.start_span("parent", root.trace_id, root.span_id)
        child, ended = race(
            functools.partial(client.start_span, "child", root.trace_id, parent.span_id),
            functools.partial(client.end_span, root.trace_id, parent.span_id),
        )
        # exactly one of the two went ahead: never a child under an ended parent
        assert isinstance(child, ClosedParentError) != isinstance(ended, OpenChildrenError)
        if isinstance(ended, OpenChildrenError):
            client.end_span(root.trace_id, child.span_id)
            client.end_span(root.trace_id, parent.span_id)
        else:
            assert ended is None
        client.end_trace(root.trace_id)
        assert g.open_spans() == []
    lr.unguard()


def test_asyncio_tasks_interleave_their_traces(store: tuple[Any, str]) -> None:
    client, exp = store
    g = lr.guard()

    async def task(i: int) -> tuple[str, dict[str, Any]]:
        root = client.start_trace(f"task{i}", experiment_id=exp)
        await asyncio.sleep(0)
        a = client.start_span("a", root.trace_id, root.span_id)
        await asyncio.sleep(0)
        b = mlflow.start_span_no_context("b", parent_span=a)
        await asyncio.sleep(0)
        b.end()
        await asyncio.sleep(0)
        client.end_span(root.trace_id, a.span_id)
        client.end_trace(root.trace_id)
        return root.trace_id, {f"task{i}": None, "a": f"task{i}", "b": "a"}

    async def main() -> list[tuple[str, dict[str, Any]]]:
        return await asyncio.gather(*(task(i) for i in range(20)))

    for tid, expected in asyncio.run(main()):
        assert shape(client, tid) == expected
    assert g.violations == [] and g.open_spans() == []
    lr.unguard()


def test_asyncio_task_that_breaks_the_contract_is_reported_at_its_line(
    store: tuple[Any, str], fluent_experiment: str
) -> None:
    client, exp = store
    g = lr.guard(on_violation="record")

    async def good() -> None:
        with mlflow.start_span("fluent-in-task"):  # MLflow's own: never reported
            await asyncio.sleep(0)

    async def bad() -> None:
        root = client.start_trace("bad", experiment_id=exp)
        await asyncio.sleep(0)
        client.end_trace(root.trace_id)
        await asyncio.sleep(0)
        try:
            client.end_trace(root.trace_id)  # second end in a task
        except Exception:  # noqa: BLE001 - MLflow raises on it
            pass

    async def main() -> None:
        await asyncio.gather(good(), bad(), good())

    asyncio.run(main())
    (v,) = g.violations
    assert v.code == "TLC104" and v.function == "bad" and v.file == __file__
    lr.unguard()
