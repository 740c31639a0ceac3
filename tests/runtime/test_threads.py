"""One client shared by many threads loses and mixes nothing."""

from __future__ import annotations

import random
import sys
import threading
import time
from typing import Any

import pytest

from lifecycle_runtime import (
    InMemoryBackend,
    JsonlBackend,
    LifecycleError,
    TraceClient,
    read_jsonl,
)

THREADS = 12
TRACES_PER_THREAD = 150


def build(
    client: TraceClient, rng: random.Random, tag: str, lifo: bool = False
) -> tuple[str, dict[str, str | None]]:
    """One random tree, ended in a random valid order (nesting; or reverse start order when
    ``lifo``); returns the trace ID and the expected ``{name: parent name}``."""
    root = client.start_trace(tag, inputs={"tag": tag})
    expected: dict[str, str | None] = {tag: None}
    open_: list[Any] = [root]
    n = 0
    for _ in range(rng.randint(3, 25)):
        if open_ and (rng.random() < 0.6 or len(open_) == 1):
            parent = rng.choice(open_)
            n += 1
            name = f"{tag}/{n}"
            child = client.start_span(name, root.trace_id, parent.span_id)
            expected[name] = parent.name
            open_.append(child)
        else:  # end an open leaf (not the root)
            leaves = [
                s
                for s in open_[1:]
                if not any(o.parent_id == s.span_id for o in open_ if o is not s)
            ]
            s = open_[-1] if lifo else rng.choice(leaves)
            client.end_span(root.trace_id, s.span_id, outputs=s.name)
            open_.remove(s)
    while len(open_) > 1:  # end the rest, leaves first
        s = open_.pop()
        assert not any(o.parent_id == s.span_id for o in open_)
        client.end_span(root.trace_id, s.span_id, outputs=s.name)
    client.end_trace(root.trace_id, outputs=tag)
    return root.trace_id, expected


def check_tree(client: TraceClient, trace_id: str, expected: dict[str, str | None]) -> None:
    t = client.get_trace(trace_id)
    by_id = {s.span_id: s for s in t.spans}
    got = {s.name: (by_id[s.parent_id].name if s.parent_id else None) for s in t.spans}
    assert got == expected
    for s in t.spans:
        assert s.trace_id == trace_id and not s.is_open and s.status == "OK"
        assert s.outputs == s.name
        if s.parent_id:
            p = by_id[s.parent_id]
            assert p.start_time_ns <= s.start_time_ns <= s.end_time_ns <= p.end_time_ns  # type: ignore[operator]


@pytest.fixture
def fast_switching() -> Any:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # many more thread switches inside the client's calls
    yield
    sys.setswitchinterval(old)


@pytest.mark.parametrize("policy", ["nesting", "lifo"])
def test_many_threads_own_traces(policy: str, fast_switching: Any) -> None:
    client = TraceClient(policy=policy)
    results: list[tuple[str, dict[str, str | None]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        rng = random.Random(i)
        mine = []
        try:
            barrier.wait()
            for j in range(TRACES_PER_THREAD):
                mine.append(build(client, rng, f"w{i}.t{j}", lifo=policy == "lifo"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == THREADS * TRACES_PER_THREAD
    assert client.open_spans() == []
    spans = 0
    for trace_id, expected in results:
        check_tree(client, trace_id, expected)
        spans += len(expected)
    assert spans > 5000
    ids = [s.span_id for tid, _ in results for s in client.get_trace(tid).spans]
    assert len(ids) == len(set(ids)) == spans
    client.close()


def test_threads_share_one_trace(fast_switching: Any) -> None:
    client = TraceClient()
    root = client.start_trace("shared")
    per_thread = 400
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            mid = client.start_span(f"mid{i}", root.trace_id, root.span_id)
            for j in range(per_thread):
                leaf = client.start_span(f"leaf{i}.{j}", root.trace_id, mid.span_id)
                client.end_span(root.trace_id, leaf.span_id)
            client.end_span(root.trace_id, mid.span_id)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    client.end_trace(root.trace_id)
    t = client.get_trace(root.trace_id)
    assert len(t.spans) == 1 + THREADS * (1 + per_thread)
    names = {s.span_id: s.name for s in t.spans}
    for s in t.spans:
        if s.name.startswith("leaf"):
            assert names[s.parent_id] == "mid" + s.name[4:].split(".")[0]  # type: ignore[index]
        elif s.name.startswith("mid"):
            assert s.parent_id == root.span_id


class SlowBackend(InMemoryBackend):
    """Sleeps between the check and the change: without the client's lock, other threads
    would pass the same check meanwhile."""

    hooks_ends = True

    def end(self, *args: Any) -> None:
        time.sleep(0.0002)


@pytest.mark.parametrize("slow", [False, True], ids=["memory", "slow-backend"])
def test_concurrent_violations_are_all_refused(slow: bool, fast_switching: Any) -> None:
    """Many threads race to end the same spans: exactly one end of each wins."""
    client = TraceClient(backend=SlowBackend() if slow else None)
    root = client.start_trace("race")
    kids = [client.start_span(f"k{i}", root.trace_id, root.span_id) for i in range(100)]
    wins: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for k in kids:
            try:
                client.end_span(root.trace_id, k.span_id)
            except LifecycleError as e:
                assert e.code == "TLC104"
                with lock:
                    refused.append(k.span_id)
            else:
                with lock:
                    wins.append(k.span_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(k.span_id for k in kids)
    assert len(refused) == 7 * len(kids)
    client.end_trace(root.trace_id)
    assert len(client.get_trace(root.trace_id).spans) == 1 + len(kids)


def test_jsonl_lines_from_many_threads_do_not_interleave(tmp_path: Any) -> None:
    path = tmp_path / "t.jsonl"
    client = TraceClient(backend=JsonlBackend(path))

    def worker(i: int) -> None:
        rng = random.Random(100 + i)
        for j in range(20):
            build(client, rng, f"w{i}.t{j}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    lines = list(read_jsonl(path))
    assert len(lines) == 6 * 20 == len(path.read_text().splitlines())
    for d in lines:
        assert {s["trace_id"] for s in d["spans"]} == {d["trace_id"]}
        assert all(s["name"].startswith(d["name"]) for s in d["spans"])
