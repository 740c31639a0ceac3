"""Issue 15, items 2, 7 and 8 (first part): what a hostile user's sweep broke in the runtime.

Item 2: a value JSON cannot encode never loses a trace (placeholders, strict JSON), and no
backend failure corrupts the client's state. Item 7: bad IDs, names, times and huge values are
refused with clear, bounded messages and change nothing. Item 8: a forgotten trace is named so.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from lifecycle_runtime import (
    AlreadyEndedError,
    Backend,
    BackendError,
    BackendWarning,
    InMemoryBackend,
    InvalidStatusError,
    JsonlBackend,
    LifecycleError,
    LifecycleWarning,
    MlflowBackend,
    TraceClient,
    UnknownSpanError,
    UnknownTraceError,
    read_jsonl,
)
from lifecycle_runtime.backends import _to_json, to_json_line
from lifecycle_runtime.core import LifecycleState

BIG = "x" * 10_000_000  # 10 MB


def strict_loads(line: str) -> Any:
    """RFC 8259 JSON only: NaN, Infinity and -Infinity are refused."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(line, parse_constant=refuse)


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class HashRaises:
    def __hash__(self) -> int:
        raise ValueError("no hash for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


class ToDictRaises:
    def to_dict(self) -> dict[str, Any]:
        raise KeyError("broken")

    def __repr__(self) -> str:
        return "ToDictRaises()"


class Index:
    """Shaped like a NumPy integer: ``__index__``, not an ``int``."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


# --- item 2: the JSONL backend never loses a trace ----------------------------------------


def test_issue_reproducer_self_containing_list_is_written(tmp_path: Any) -> None:
    path = tmp_path / "t.jsonl"
    c = TraceClient(backend=JsonlBackend(path))
    r = c.start_trace("a")
    s = c.start_span("b", r.trace_id, r.span_id)
    x: list[Any] = []
    x.append(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.end_span(r.trace_id, s.span_id, outputs=x)
        c.end_trace(r.trace_id)
    c.close()  # no leak
    (line,) = path.read_text().splitlines()
    d = strict_loads(line)
    assert d["trace_id"] == r.trace_id and [sp["name"] for sp in d["spans"]] == ["a", "b"]
    assert d["spans"][1]["outputs"] == ["<unencodable list: circular reference>"]
    assert c.get_trace(r.trace_id).spans[1].outputs is x  # the client keeps the real value


def test_unencodable_values_become_placeholders(tmp_path: Any) -> None:
    path = tmp_path / "t.jsonl"
    c = TraceClient(backend=JsonlBackend(path))
    d: dict[str, Any] = {"k": 1}
    d["self"] = d
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    one = [1]
    outputs = {
        "repr": ReprRaises(),
        "dict": d,
        "to_dict": ToDictRaises(),
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "huge": 10**5000,
        "deep": deep,
        "shared": [one, one],  # a value seen twice is not a cycle
        (1, 2): "tuple key",
        math.nan: "nan key",
    }
    with c.trace("t", inputs={"x": math.nan}) as root:
        root.set_outputs(outputs)
        root.set_attribute("a", math.inf)
    c.close()
    (line,) = path.read_text().splitlines()
    span = strict_loads(line)["spans"][0]
    out = span["outputs"]
    assert (
        out["repr"] == "<unencodable tests.runtime.test_robustness.ReprRaises: repr() raised "
        "RuntimeError>"
    )
    assert out["dict"] == {"k": 1, "self": "<unencodable dict: circular reference>"}
    assert out["to_dict"] == "ToDictRaises()"  # to_dict() failed: its repr
    assert out["nan"] == "NaN" and out["inf"] == ["Infinity", "-Infinity"]
    assert out["huge"] == "<unencodable int: too many digits to write>"
    level, depth = out["deep"], 0
    while isinstance(level, list):
        level, depth = level[0], depth + 1
    # 100 levels from the top of the line: trace, spans, span, outputs, then 96 of ``deep``
    assert depth == 96 and level == "<unencodable list: nested deeper than 100 levels>"
    assert out["shared"] == [[1], [1]]
    assert out["(1, 2)"] == "tuple key" and out["NaN"] == "nan key"
    assert span["inputs"] == {"x": "NaN"} and span["attributes"] == {"a": "Infinity"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_careful_path_writes_what_the_fast_path_writes(value: Any) -> None:
    """Where plain ``json`` can encode a value, the careful path gives the same JSON."""
    fast = to_json_line({"v": value})
    assert strict_loads(fast) == strict_loads(json.dumps(_to_json({"v": value}, set(), 0)))


def hostile_leaf(i: int) -> Any:
    return (math.nan, math.inf, -math.inf, ReprRaises(), HashRaises(), ToDictRaises(), 10**5000)[i]


hostile_leaves = st.integers(0, 6).map(hostile_leaf)  # (a sampled_from would repr them)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        json_values | hostile_leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=15,
    ),
    st.data(),
)
def test_any_value_makes_one_strict_json_line(value: Any, data: st.DataObject) -> None:
    """Hostile leaves anywhere, and a cycle back to the top from some list or dict in it."""
    containers: list[Any] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list | dict):
            containers.append(v)
            stack.extend(v.values() if isinstance(v, dict) else v)
    if containers:
        target = data.draw(st.sampled_from(containers))
        if isinstance(target, list):
            target.append(value)
        else:
            target["cycle"] = value
    line = to_json_line({"v": value})
    assert "\n" not in line
    strict_loads(line)


def test_to_json_line_never_raises_and_is_strict() -> None:
    x: list[Any] = []
    x.append(x)
    for value in (x, ReprRaises(), math.nan, {ReprRaises(): 1}, HashRaises(), b"\xff", {1, 2}):
        strict_loads(to_json_line({"v": value}))


class FailingWriter:
    """A file that writes half of what it is given, then fails (a full disk)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, text: str) -> int:
        self.real.write(text[: len(text) // 2])
        self.real.flush()
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        self.real.close()


def test_a_torn_write_does_not_spoil_the_next_line(tmp_path: Any) -> None:
    path = tmp_path / "t.jsonl"
    be = JsonlBackend(path)
    c = TraceClient(backend=be)
    with c.trace("first"):
        pass
    assert be._file is not None
    be._file = FailingWriter(be._file)  # type: ignore[assignment]
    with pytest.warns(BackendWarning, match="No space left on device"):
        with c.trace("torn"):
            pass
    with c.trace("after"):
        pass
    c.close()
    assert [d["name"] for d in read_jsonl(path)] == ["first", "after"]
    assert [t.name for t in c.unsaved_traces()] == ["torn"]


class Down(Backend):
    """Records in memory, fails every ``trace_finished`` while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.saved: list[str] = []

    def trace_finished(self, trace: Any) -> None:
        if self.down:
            raise RuntimeError("storage down")
        self.saved.append(trace.trace_id)


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_unsaved_traces_are_pinned_beyond_the_memory_bound(mode: str) -> None:
    be = Down()
    c = TraceClient(backend=be, max_finished_traces=2, on_violation=mode)
    with pytest.warns(BackendWarning) as rec:
        lost = [c.start_trace(f"t{i}") for i in range(3)]
        for r in lost:
            c.end_trace(r.trace_id)
    assert sorted(w.message.trace_id for w in rec) == sorted(r.trace_id for r in lost)  # type: ignore[union-attr]
    be.down = False
    for i in range(5):  # push them out of the bounded memory of finished traces
        with c.trace(f"ok{i}"):
            pass
    for r in lost:
        assert c.get_trace(r.trace_id).name == r.name  # still there
        # a late second end is still a double end
        with (
            pytest.raises(AlreadyEndedError)
            if mode == "raise"
            else pytest.warns(LifecycleWarning, match="TLC104")
        ):
            c.end_trace(r.trace_id)
    assert [t.name for t in c.unsaved_traces(release=True)] == ["t0", "t1", "t2"]
    with pytest.raises(UnknownTraceError, match="has been forgotten"):
        c.get_trace(lost[0].trace_id)
    c.close()


class FakeLive:
    def __init__(self, trace_id: Any, span_id: Any, t: Any = 1) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.start_time_ns = t


class FakeMlflow:
    """Shaped like ``MlflowClient``: IDs from a counter; ``noop``: MLflow's ``NoOpSpan``
    answer (tracing disabled); ``fail_ends``: every end raises."""

    def __init__(self) -> None:
        self.n = 0
        self.noop = False
        self.fail_ends = False
        self.ended: list[str] = []

    def _live(self, tid: str | None = None) -> FakeLive:
        if self.noop:
            return FakeLive("MLFLOW_NO_OP_SPAN_TRACE_ID", None, None)
        self.n += 1
        return FakeLive(tid or f"tr-{self.n:032x}", f"{self.n:016x}", self.n)

    def start_trace(self, name: str, **kw: Any) -> FakeLive:
        return self._live()

    def start_span(self, name: str, trace_id: str, *args: Any) -> FakeLive:
        return self._live(trace_id)

    def end_span(self, trace_id: str, span_id: str, *args: Any) -> None:
        if self.fail_ends:
            raise ConnectionError("tracking server unreachable")
        self.ended.append(span_id)

    def end_trace(self, trace_id: str, *args: Any) -> None:
        self.end_span(trace_id, "root")


def test_mlflow_no_op_span_is_refused_and_changes_nothing() -> None:
    fake = FakeMlflow()
    c = TraceClient(backend=MlflowBackend(fake))
    root = c.start_trace("r")
    fake.noop = True
    before = c.snapshot()
    with pytest.raises(BackendError, match="MLflow did not start the trace 'x'.*no-op span"):
        c.start_trace("x")
    with pytest.raises(BackendError, match="MLflow did not start the span 'y'"):
        c.start_span("y", root.trace_id, root.span_id)
    assert c.snapshot() == before
    fake.noop = False
    c.end_trace(root.trace_id)
    c.close()


def test_mlflow_end_failure_is_applied_kept_and_reported_once() -> None:
    fake = FakeMlflow()
    c = TraceClient(backend=MlflowBackend(fake))
    root = c.start_trace("r")
    a = c.start_span("a", root.trace_id, root.span_id)
    b = c.start_span("b", root.trace_id, root.span_id)
    fake.fail_ends = True
    with pytest.warns(BackendWarning, match="tracking server unreachable") as rec:
        c.end_span(root.trace_id, a.span_id)
        c.end_span(root.trace_id, b.span_id)
        c.end_trace(root.trace_id)
    assert len(rec) == 1 and rec[0].message.trace_id == root.trace_id  # type: ignore[union-attr]
    assert c.get_trace(root.trace_id).is_finished
    assert c.open_spans() == []
    c.close()
    assert [t.trace_id for t in c.unsaved_traces()] == [root.trace_id]


def test_real_mlflow_with_tracing_disabled_refuses_starts(mlflow_store: tuple[Any, str]) -> None:
    import mlflow

    client, experiment_id = mlflow_store
    c = TraceClient(backend=MlflowBackend(client))
    root = c.start_trace("kept", experiment_id=experiment_id)
    before = c.snapshot()
    mlflow.tracing.disable()
    try:
        with pytest.raises(BackendError, match="MLflow did not start the trace 'x'"):
            c.start_trace("x", experiment_id=experiment_id)
        with pytest.raises(BackendError, match="MLflow did not start the span 'y'"):
            c.start_span("y", root.trace_id, root.span_id)
    finally:
        mlflow.tracing.enable()
    assert c.snapshot() == before
    c.end_trace(root.trace_id)
    c.close()


class DuplicateIds(Backend):
    forwards_starts = True

    def start_trace(self, *args: Any) -> tuple[str, str, int]:
        return "tr-" + "1" * 32, "1" * 16, 1

    def start_span(self, *args: Any) -> tuple[str, int]:
        return "1" * 16, 2


def test_a_backend_that_repeats_an_id_is_refused() -> None:
    c = TraceClient(backend=DuplicateIds())
    root = c.start_trace("r")
    before = c.snapshot()
    with pytest.raises(BackendError, match="returned trace ID 'tr-1+' .*nothing was started"):
        c.start_trace("again")
    with pytest.raises(BackendError, match="returned span ID '1+'"):
        c.start_span("child", root.trace_id, root.span_id)
    assert c.snapshot() == before
    c.end_trace(root.trace_id)
    before = c.snapshot()
    with pytest.raises(BackendError, match="returned trace ID 'tr-1+'"):  # a finished one
        c.start_trace("again")
    assert c.snapshot() == before


# --- item 7: inputs --------------------------------------------------------------------------


def calls_with_id(c: TraceClient, root: Any, bad: Any) -> list[tuple[str, Any, type[Exception]]]:
    return [
        ("get_trace", lambda: c.get_trace(bad), UnknownTraceError),
        ("end_trace", lambda: c.end_trace(bad), UnknownTraceError),
        ("end_span trace_id", lambda: c.end_span(bad, root.span_id), UnknownTraceError),
        ("end_span span_id", lambda: c.end_span(root.trace_id, bad), UnknownSpanError),
        ("start_span trace_id", lambda: c.start_span("s", bad, root.span_id), UnknownTraceError),
        ("start_span parent_id", lambda: c.start_span("s", root.trace_id, bad), UnknownSpanError),
    ]


@pytest.mark.parametrize("mode", ["raise", "warn"])
@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ([], "[] (type list, not str)"),
        ({"a": 1}, "{'a': 1} (type dict, not str)"),
        (HashRaises(), "its __hash__ raised ValueError"),
        (ReprRaises(), "<unprintable tests.runtime.test_robustness.ReprRaises object>"),
        (3, "3 (type int, not str)"),
    ],
)
def test_odd_ids_are_unknown_ids_named_by_parameter(mode: str, bad: Any, shown: str) -> None:
    c = TraceClient(on_violation=mode)
    root = c.start_trace("r")
    for what, call, error in calls_with_id(c, root, bad):
        before = c.snapshot()
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                call()
            except LifecycleError as e:
                err: BaseException = e
            else:
                (w,) = rec  # warn mode: the ignored end is reported as a warning
                err = w.message  # type: ignore[assignment]
        assert error.code in str(err), what
        param = what.split()[-1] if " " in what else "trace_id"
        assert f"{param} " in str(err) and shown in str(err), (what, str(err))
        assert c.snapshot() == before, what


def test_a_10_mb_id_status_or_name_makes_a_short_message() -> None:
    c = TraceClient()
    root = c.start_trace(BIG)
    child = c.start_span(BIG, root.trace_id, root.span_id)
    calls = [
        lambda: c.end_trace(BIG),
        lambda: c.get_trace(BIG),
        lambda: c.end_span(root.trace_id, BIG),
        lambda: c.start_span("s", root.trace_id, BIG),
        lambda: c.end_trace(root.trace_id, status=BIG),
        lambda: c.end_trace(root.trace_id),  # open child named BIG, root named BIG
        lambda: c.get_trace(root.trace_id),
        lambda: c.close(),
    ]
    for call in calls:
        with pytest.raises(LifecycleError) as ei:
            call()
        assert len(str(ei.value)) < 600, str(ei.value)[:300]
        assert "xxx...xxx" in str(ei.value)
    c.end_span(root.trace_id, child.span_id)
    c.end_trace(root.trace_id)


def test_hostile_status_objects_are_invalid_statuses() -> None:
    class Prop:
        @property
        def status_code(self) -> str:
            raise RuntimeError("boom")

    c = TraceClient()
    root = c.start_trace("r")
    before = c.snapshot()
    for status in (Prop(), HashRaises(), ReprRaises(), ["OK"]):
        with pytest.raises(InvalidStatusError):
            c.end_trace(root.trace_id, status=status)
    assert c.snapshot() == before


@pytest.mark.parametrize("mode", ["raise", "warn"])
@pytest.mark.parametrize("name", [None, 123, b"x", ["a"]])
def test_a_name_that_is_not_a_str_is_refused(mode: str, name: Any) -> None:
    c = TraceClient(on_violation=mode)
    root = c.start_trace("r")
    before = c.snapshot()
    with pytest.raises(TypeError, match=r"start_trace\(\): 'name' must be a str, not "):
        c.start_trace(name)
    with pytest.raises(TypeError, match=r"start_span\(\): 'name' must be a str"):
        c.start_span(name, root.trace_id, root.span_id)
    with pytest.raises(TypeError, match="'name' must be a str"):
        with c.span(name, root):
            pass
    assert c.snapshot() == before
    c.start_span("", root.trace_id, root.span_id)  # an empty name is a str: MLflow takes it

    class Name(str):
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    s = c.start_span(Name("sub"), root.trace_id, root.span_id)
    assert type(s.name) is str and s.name == "sub"  # a plain str: its hooks never run again


BAD_TIMES = [
    ("x", TypeError, "must be an int of nanoseconds since the epoch, not str 'x'"),
    (1.5, TypeError, "not float 1.5"),
    (True, TypeError, "not bool True"),
    (None.__class__, TypeError, "not type"),
    (-1, ValueError, "= -1 is out of range"),
    (2**64, ValueError, "is out of range"),
]


@pytest.mark.parametrize("mode", ["raise", "warn"])
@pytest.mark.parametrize(("value", "error", "text"), BAD_TIMES)
def test_bad_times_are_refused_naming_the_parameter(
    mode: str, value: Any, error: type[Exception], text: str
) -> None:
    c = TraceClient(on_violation=mode)
    root = c.start_trace("r")
    child = c.start_span("c", root.trace_id, root.span_id)
    before = c.snapshot()
    calls = {
        "start_trace(): 'start_time_ns'": lambda: c.start_trace("t", start_time_ns=value),
        "start_span(): 'start_time_ns'": lambda: c.start_span(
            "s", root.trace_id, root.span_id, start_time_ns=value
        ),
        "end_span(): 'end_time_ns'": lambda: c.end_span(
            root.trace_id, child.span_id, end_time_ns=value
        ),
        "end_trace(): 'end_time_ns'": lambda: c.end_trace(root.trace_id, end_time_ns=value),
    }
    for where, call in calls.items():
        with pytest.raises(error) as ei:
            call()
        assert str(ei.value).startswith(where) and text in str(ei.value), str(ei.value)
        assert c.snapshot() == before


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_an_end_before_the_start_is_refused(mode: str) -> None:
    c = TraceClient(on_violation=mode)
    root = c.start_trace("r", start_time_ns=1_000)
    child = c.start_span("c", root.trace_id, root.span_id, start_time_ns=Index(2_000))
    assert child.start_time_ns == 2_000 and type(child.start_time_ns) is int
    before = c.snapshot()
    with pytest.raises(ValueError, match=r"end_span\(\): 'end_time_ns' = 1999 is before the start"):
        c.end_span(root.trace_id, child.span_id, end_time_ns=1_999)
    c.end_span(root.trace_id, child.span_id, end_time_ns=2_000)  # zero length is fine
    with pytest.raises(ValueError, match=r"end_trace\(\): 'end_time_ns' = 999 is before"):
        c.end_trace(root.trace_id, end_time_ns=999)
    c.end_trace(root.trace_id, end_time_ns=Index(5_000))
    assert c.get_trace(root.trace_id).end_time_ns == 5_000
    assert before != c.snapshot()


def test_attributes_and_tags_that_are_not_mappings_are_refused() -> None:
    """Found while checking validate-before-change: ``attributes=123`` on an end set the
    outputs, then failed, leaving the span open with the new outputs."""
    c = TraceClient()
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    before = c.snapshot()
    for call in (
        lambda: c.end_span(root.trace_id, s.span_id, outputs="new", attributes=123),
        lambda: c.end_trace(root.trace_id, outputs="new", attributes=["a"]),
        lambda: c.start_span("t", root.trace_id, root.span_id, attributes="ab"),
        lambda: c.start_trace("t", attributes=1),
        lambda: c.start_trace("t", tags=1),
    ):
        with pytest.raises(TypeError, match="must be a dict"):
            call()
        assert c.snapshot() == before
    assert s.outputs is None and s.is_open


# --- item 8: a forgotten trace ----------------------------------------------------------------


def test_a_forgotten_trace_is_named_forgotten() -> None:
    c = TraceClient(max_finished_traces=2, backend=InMemoryBackend(max_traces=2))
    roots = []
    for i in range(4):
        with c.trace(f"t{i}") as r:
            roots.append(r)
    for call in (lambda: c.get_trace(roots[0].trace_id), lambda: c.end_trace(roots[0].trace_id)):
        with pytest.raises(UnknownTraceError) as ei:
            call()
        msg = str(ei.value)
        assert (
            f"trace {roots[0].trace_id!r} was started by this client and has been forgotten" in msg
        )
        assert "remembers the last 2 finished traces (max_finished_traces)" in msg
        assert "has forgotten 2" in msg
    other = TraceClient()
    foreign = other.start_trace("elsewhere")
    with pytest.raises(UnknownTraceError, match="this client started no such trace"):
        c.get_trace(foreign.trace_id)
    with pytest.raises(UnknownTraceError, match="this client started no such trace"):
        c.get_trace("tr-" + "0" * 32)


# --- thread-safety review: one lock, changes in one place, validate before change ---------


class OddMapping(Mapping[str, Any]):
    """A mapping whose iteration fails half-way (after one key)."""

    def __getitem__(self, key: str) -> Any:
        return 1

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Iterator[str]:
        yield "a"
        raise RuntimeError("half-way")


def test_a_mapping_that_fails_half_way_is_refused_before_any_change() -> None:
    c = TraceClient(max_open_traces=1)
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    s.set_attribute("kept", 0)
    before = c.snapshot()
    for call in (
        lambda: c.end_span(root.trace_id, s.span_id, outputs="new", attributes=OddMapping()),
        lambda: c.start_trace("t", tags=OddMapping()),  # would evict 'r' first
        lambda: c.start_trace("t", attributes=OddMapping()),
    ):
        with pytest.raises(TypeError, match="could not be read as a dict: RuntimeError"):
            call()
        assert c.snapshot() == before
    assert s.outputs is None and s.attributes == {"kept": 0}


def test_the_core_reads_odd_arguments_before_changing_anything() -> None:
    """The state core itself (which guard code may drive directly) changes nothing when a
    mapping it is handed fails: tags before evicting, attributes before the outputs."""
    core = LifecycleState(max_open_traces=1)
    root, _ = core.add_trace("r", None, None, "UNKNOWN", None, None, None, None, None, None, None)
    before = core.snapshot()
    with pytest.raises(RuntimeError, match="half-way"):
        core.add_trace("t", None, None, "UNKNOWN", None, None, None, None, None, OddMapping(), None)
    assert core.snapshot() == before and root.trace_id in core.open_traces
    trace = core.open_traces[root.trace_id]
    for existing in (None, {"kept": 0}):
        root._attributes = existing
        before = core.snapshot()
        with pytest.raises(RuntimeError, match="half-way"):
            core.end(trace, root, "new", OddMapping(), "OK", "", 5)  # type: ignore[arg-type]
        assert core.snapshot() == before and root.outputs is None


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(n: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.usefixtures("fast_switching")
def test_a_bounded_in_memory_backend_shared_by_clients_across_threads() -> None:
    """Found in the review: two clients finishing traces at once into one bounded
    InMemoryBackend could both drop the same oldest trace (KeyError, or "dictionary changed
    size during iteration"), after the end had been applied."""
    be = InMemoryBackend(max_traces=10)
    problems: list[BaseException | Warning] = []

    def work(i: int) -> None:
        c = TraceClient(backend=be)
        for _ in range(1500):
            try:
                with c.trace(f"t{i}"):
                    pass
            except Exception as e:  # noqa: BLE001 - collected, asserted below
                problems.append(e)

    with warnings.catch_warnings(record=True) as rec:  # not thread-safe: around the threads
        warnings.simplefilter("always")
        run_threads(8, work)
    assert problems == [] and [w.message for w in rec] == []
    assert len(be.traces) == 10 and all(t.is_finished for t in be.traces)


@pytest.mark.usefixtures("fast_switching")
def test_backend_failures_across_threads_lose_nothing() -> None:
    be = Down()
    c = TraceClient(backend=be, max_finished_traces=5)
    started: list[str] = []

    def work(i: int) -> None:
        for j in range(200):
            with c.trace(f"t{i}.{j}") as root:
                started.append(root.trace_id)
                with c.span("child", root):
                    pass

    with warnings.catch_warnings(record=True) as rec:  # not thread-safe: around the threads
        warnings.simplefilter("always")
        run_threads(6, work)
    reported = [w.message.trace_id for w in rec]  # type: ignore[union-attr]
    assert sorted(reported) == sorted(started)  # each failure reported once
    assert sorted(t.trace_id for t in c.unsaved_traces()) == sorted(started)
    assert all(len(c.get_trace(t).spans) == 2 for t in started)
    c.close()  # nothing open
