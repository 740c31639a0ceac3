"""The runtime client's public API, contract errors, warn mode, backends, bounds."""

from __future__ import annotations

import enum
import inspect
import json
import re
import subprocess
import sys
import warnings
from typing import Any

import pytest

import lifecycle_runtime as lr
from lifecycle_runtime import (
    AlreadyEndedError,
    Backend,
    BackendWarning,
    ClosedParentError,
    CrossTraceError,
    InMemoryBackend,
    InvalidStatusError,
    JsonlBackend,
    LeakError,
    LifecycleError,
    LifecycleWarning,
    MissingParentError,
    MlflowBackend,
    OpenChildrenError,
    OrderViolationError,
    TraceClient,
    TraceNotFinishedError,
    UnknownSpanError,
    UnknownTraceError,
    read_jsonl,
)
from lifecycle_runtime import mlflow_facts as facts

TRACE_ID = re.compile(r"^tr-[0-9a-f]{32}$")
SPAN_ID = re.compile(r"^[0-9a-f]{16}$")


class FakeCode(str, enum.Enum):
    """Shaped like mlflow.entities.SpanStatusCode."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


class FakeStatus:
    """Shaped like mlflow.entities.SpanStatus."""

    def __init__(self, code: FakeCode, description: str = "") -> None:
        self.status_code = code
        self.description = description


def tree(client: TraceClient, trace_id: str) -> list[tuple[str, str | None, str]]:
    t = client.get_trace(trace_id)
    names = {s.span_id: s.name for s in t.spans}
    return [(s.name, names.get(s.parent_id) if s.parent_id else None, s.status) for s in t.spans]


# --- import and signatures -------------------------------------------------------------


def test_import_is_light() -> None:
    code = (
        "import sys, lifecycle_runtime\n"
        "heavy = [m for m in ('mlflow', 'libcst', 'flake8', 'lifecycle_lint', 'pytest')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names() -> None:
    for name in (
        "TraceClient LifecycleError LifecycleWarning InMemoryBackend JsonlBackend "
        "MlflowBackend UnknownTraceError UnknownSpanError AlreadyEndedError "
        "OpenChildrenError OrderViolationError CrossTraceError MissingParentError "
        "ClosedParentError InvalidStatusError"
    ).split():
        assert hasattr(lr, name), name
    assert issubclass(LifecycleWarning, Warning)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (UnknownTraceError, "TLC201"),
        (UnknownSpanError, "TLC201"),
        (AlreadyEndedError, "TLC104"),
        (OpenChildrenError, "TLC105"),
        (ClosedParentError, "TLC105"),
        (OrderViolationError, "TLC106"),
        (CrossTraceError, "TLC202"),
        (MissingParentError, "TLC203"),
        (InvalidStatusError, "TLC401"),
        (LeakError, "TLC101"),
    ],
)
def test_error_codes(cls: type[LifecycleError], code: str) -> None:
    assert issubclass(cls, LifecycleError)
    assert cls.code == code


@pytest.mark.parametrize("sig", list(facts.CLIENT_SIGNATURES.values()), ids=lambda s: s.name)
def test_signatures_follow_the_facts_module(sig: facts.MethodSignature) -> None:
    params = inspect.signature(getattr(TraceClient, sig.name)).parameters
    positional = [
        p.name for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    assert tuple(positional) == sig.params
    if facts.TRACE_ID_PARAM in sig.params:
        assert params[facts.REQUEST_ID_PARAM].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("method", sorted(facts.CLIENT_LIFECYCLE_METHODS))
def test_signatures_match_real_mlflow(method: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    theirs = [
        p.name
        for p in inspect.signature(getattr(mlflow.MlflowClient, method)).parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    ours = [
        p.name
        for p in inspect.signature(getattr(TraceClient, method)).parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    assert ours == theirs
    for name in ours:  # same defaults where MLflow has one
        d = inspect.signature(getattr(mlflow.MlflowClient, method)).parameters[name].default
        if d is not inspect.Parameter.empty:
            assert inspect.signature(getattr(TraceClient, method)).parameters[name].default == d


# --- the happy path ---------------------------------------------------------------------


def test_positional_and_keyword_forms() -> None:
    c = TraceClient()
    root = c.start_trace("root", "CHAIN", {"q": 1}, {"a": 1}, {"t": "v"}, "0", None, None, None)
    a = c.start_span("a", root.trace_id, root.span_id, "LLM", {"x": 1}, {"k": 2}, None, None)
    b = c.start_span(name="b", trace_id=root.trace_id, parent_id=a.span_id, inputs=[1])
    c.end_span(root.trace_id, b.span_id, {"out": 1}, {"z": 3}, "ERROR", None)
    c.end_span(trace_id=root.trace_id, span_id=a.span_id, outputs="done", status="UNSET")
    c.end_trace(root.trace_id, "final", {"r": 1}, "OK", None)
    t = c.get_trace(root.trace_id)
    assert [(s.name, s.status) for s in t.spans] == [
        ("root", "OK"),
        ("a", "OK"),  # UNSET at the end becomes OK, as in MLflow
        ("b", "ERROR"),
    ]
    assert t.root.outputs == "final" and t.root.inputs == {"q": 1}
    assert t.root.attributes == {"a": 1, "r": 1}
    assert b.outputs == {"out": 1} and b.attributes == {"z": 3} and b.inputs == [1]
    assert a.span_type == "LLM" and root.span_type == "CHAIN" and b.span_type == "UNKNOWN"
    assert t.tags == {"t": "v"} and t.experiment_id == "0"
    assert t.data.spans == t.spans and t.info.trace_id == root.trace_id
    assert t.info.state == "OK"


def test_span_attributes_and_ids() -> None:
    c = TraceClient()
    seen: set[str] = set()
    for _ in range(200):
        root = c.start_trace("r", start_time_ns=5)
        s = c.start_span("s", root.trace_id, root.span_id, start_time_ns=7)
        assert TRACE_ID.match(root.trace_id) and SPAN_ID.match(root.span_id)
        assert SPAN_ID.match(s.span_id) and s.trace_id == root.trace_id
        assert s.request_id == s.trace_id and s.parent_id == root.span_id
        assert root.parent_id is None and root.start_time_ns == 5 and s.start_time_ns == 7
        assert s.status == "UNSET" and s.end_time_ns is None and s.is_open
        c.end_span(root.trace_id, s.span_id, end_time_ns=8)
        c.end_trace(root.trace_id, end_time_ns=9)
        assert (s.end_time_ns, root.end_time_ns) == (8, 9) and not s.is_open
        for x in (root.trace_id, root.span_id, s.span_id):
            assert x not in seen
            seen.add(x)


def test_ending_the_root_span_ends_the_trace() -> None:
    c = TraceClient()
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    c.end_span(root.trace_id, s.span_id)
    c.end_span(root.trace_id, root.span_id, outputs=1)
    assert c.get_trace(root.trace_id).root.outputs == 1
    assert c.open_spans() == []
    with pytest.raises(AlreadyEndedError):
        c.end_trace(root.trace_id)


@pytest.mark.parametrize(
    ("status", "expected", "description"),
    [
        ("OK", "OK", ""),
        ("ERROR", "ERROR", ""),
        ("UNSET", "OK", ""),  # MLflow's span.end() turns UNSET into OK
        (FakeCode.ERROR, "ERROR", ""),
        (FakeStatus(FakeCode.ERROR, "boom"), "ERROR", "boom"),
        (FakeStatus(FakeCode.OK), "OK", ""),
    ],
)
def test_status_forms(status: Any, expected: str, description: str) -> None:
    c = TraceClient()
    root = c.start_trace("r")
    c.end_trace(root.trace_id, status=status)
    assert (root.status, root.status_description) == (expected, description)


def test_real_mlflow_status_objects() -> None:
    pytest.importorskip("mlflow")
    from mlflow.entities import SpanStatus, SpanStatusCode

    c = TraceClient()
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    c.end_span(root.trace_id, s.span_id, status=SpanStatus(SpanStatusCode.ERROR, "bad"))
    c.end_trace(root.trace_id, status=SpanStatusCode.UNSET)
    assert (s.status, s.status_description, root.status) == ("ERROR", "bad", "OK")


@pytest.mark.parametrize("bad", ["ok", "Error", "FAILED", 3, None])
def test_invalid_status(bad: Any) -> None:
    c = TraceClient()
    root = c.start_trace("r")
    before = c.snapshot()
    with pytest.raises(InvalidStatusError) as ei:
        c.end_trace(root.trace_id, status=bad)
    assert c.snapshot() == before
    assert ei.value.code == "TLC401" and repr(bad) in str(ei.value)
    if bad == "ok":
        assert "did you mean 'OK'" in str(ei.value)


# --- request_id ---------------------------------------------------------------------------


def test_request_id_alias_warns() -> None:
    c = TraceClient()
    root = c.start_trace("r")
    with pytest.warns(DeprecationWarning, match="request_id"):
        s = c.start_span("s", request_id=root.trace_id, parent_id=root.span_id)
    with pytest.warns(DeprecationWarning, match="request_id"):
        c.end_span(request_id=root.trace_id, span_id=s.span_id)
    with pytest.warns(DeprecationWarning, match="request_id"):
        c.end_trace(request_id=root.trace_id)
    assert c.get_trace(root.trace_id).info.request_id == root.trace_id


def test_request_id_and_trace_id_together_is_a_type_error() -> None:
    c = TraceClient()
    root = c.start_trace("r")
    before = c.snapshot()
    with pytest.raises(TypeError, match="both"):
        c.start_span("s", root.trace_id, root.span_id, request_id=root.trace_id)
    with pytest.raises(TypeError, match="both"):
        c.end_trace(root.trace_id, request_id=root.trace_id)
    with pytest.raises(TypeError, match="trace_id"):
        c.end_trace()
    with pytest.raises(TypeError, match="span_id"):
        c.end_span(root.trace_id)
    assert c.snapshot() == before


# --- violations, raise mode ------------------------------------------------------------------


def test_each_violation_raises_its_error_and_changes_nothing() -> None:
    c = TraceClient()
    r1 = c.start_trace("first")
    r2 = c.start_trace("second")
    a = c.start_span("a", r1.trace_id, r1.span_id)
    b = c.start_span("b", r1.trace_id, a.span_id)
    x = c.start_span("x", r2.trace_id, r2.span_id)
    c.end_span(r2.trace_id, x.span_id)
    cases: list[tuple[type[LifecycleError], Any, list[str]]] = [
        (UnknownTraceError, lambda: c.end_trace("tr-" + "0" * 32), ["tr-" + "0" * 32]),
        (UnknownTraceError, lambda: c.start_span("n", "nope", r1.span_id), ["nope"]),
        (UnknownSpanError, lambda: c.end_span(r1.trace_id, "f" * 16), ["f" * 16, "first"]),
        (UnknownSpanError, lambda: c.start_span("n", r1.trace_id, "e" * 16), ["e" * 16]),
        (CrossTraceError, lambda: c.start_span("n", r2.trace_id, a.span_id), ["'a'", "second"]),
        (CrossTraceError, lambda: c.end_span(r2.trace_id, b.span_id), ["'b'", "first"]),
        (MissingParentError, lambda: c.start_span("n", r1.trace_id), ["'n'"]),
        (MissingParentError, lambda: c.start_span("n", r1.trace_id, None), ["parent_id"]),
        (AlreadyEndedError, lambda: c.end_span(r2.trace_id, x.span_id), ["'x'", x.span_id]),
        (OpenChildrenError, lambda: c.end_span(r1.trace_id, a.span_id), ["'a'", "'b'"]),
        (OpenChildrenError, lambda: c.end_trace(r1.trace_id), ["'a'", "'b'", "first"]),
        (OpenChildrenError, lambda: c.end_span(r1.trace_id, r1.span_id), ["'a'", "'b'"]),
        (ClosedParentError, lambda: c.start_span("n", r2.trace_id, x.span_id), ["'x'"]),
    ]
    for cls, call, words in cases:
        before = c.snapshot()
        with pytest.raises(cls) as ei:
            call()
        assert type(ei.value) is cls
        assert c.snapshot() == before, cls
        msg = str(ei.value)
        assert msg.startswith(cls.code)
        for w in words:
            assert w in msg, (cls, w, msg)


def test_finished_trace_refuses_new_children_and_second_ends() -> None:
    c = TraceClient()
    root = c.start_trace("r")
    c.end_trace(root.trace_id)
    with pytest.raises(ClosedParentError, match="finished"):
        c.start_span("late", root.trace_id, root.span_id)
    with pytest.raises(AlreadyEndedError):
        c.end_span(root.trace_id, root.span_id)


def test_lifo_policy() -> None:
    c = TraceClient(policy="lifo")
    root = c.start_trace("r")
    a = c.start_span("a", root.trace_id, root.span_id)
    b = c.start_span("b", root.trace_id, root.span_id)
    before = c.snapshot()
    with pytest.raises(OrderViolationError, match="'a'.*'b'"):
        c.end_span(root.trace_id, a.span_id)
    assert c.snapshot() == before
    c.end_span(root.trace_id, b.span_id)
    c.end_span(root.trace_id, a.span_id)
    c.end_trace(root.trace_id)
    # the same sibling order is fine under "nesting"
    n = TraceClient()
    root = n.start_trace("r")
    a = n.start_span("a", root.trace_id, root.span_id)
    b = n.start_span("b", root.trace_id, root.span_id)
    n.end_span(root.trace_id, a.span_id)
    n.end_span(root.trace_id, b.span_id)
    n.end_trace(root.trace_id)


def test_constructor_validates() -> None:
    with pytest.raises(ValueError):
        TraceClient(policy="stack")
    with pytest.raises(ValueError):
        TraceClient(on_violation="ignore")
    with pytest.raises(ValueError):
        TraceClient(max_open_traces=0)


# --- warn mode ----------------------------------------------------------------------------


def _warned(fn: Any) -> list[LifecycleWarning]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [w.message for w in rec if isinstance(w.message, LifecycleWarning)]


def test_warn_mode_behaves_like_mlflow() -> None:
    c = TraceClient(on_violation="warn")
    root = c.start_trace("r")
    a = c.start_span("a", root.trace_id, root.span_id)
    b = c.start_span("b", root.trace_id, a.span_id)
    # a parent with open children is ended anyway
    (w,) = _warned(lambda: c.end_span(root.trace_id, a.span_id))
    assert w.code == "TLC105" and "'b'" in str(w) and not a.is_open and b.is_open
    # a child under an ended parent is started anyway
    (w,) = _warned(lambda: c.start_span("late", root.trace_id, a.span_id))
    assert w.code == "TLC105"
    late = [s for s in c.open_spans() if s.name == "late"][0]
    # double end and unknown IDs are ignored
    before = c.snapshot()
    assert [w.code for w in _warned(lambda: c.end_span(root.trace_id, a.span_id))] == ["TLC104"]
    assert [w.code for w in _warned(lambda: c.end_span(root.trace_id, "1" * 16))] == ["TLC201"]
    assert [w.code for w in _warned(lambda: c.end_trace("tr-x"))] == ["TLC201"]
    assert [w.code for w in _warned(lambda: c.end_trace(root.trace_id, status="ok"))] == ["TLC401"]
    assert c.snapshot() == before
    # a start that cannot be created still raises
    with pytest.raises(MissingParentError):
        c.start_span("n", root.trace_id, None)
    with pytest.raises(UnknownSpanError):
        c.start_span("n", root.trace_id, "2" * 16)
    # the trace ended with open children is held back until they end, as MLflow does
    (w,) = _warned(lambda: c.end_trace(root.trace_id))
    assert w.code == "TLC105"
    with pytest.raises(TraceNotFinishedError):
        c.get_trace(root.trace_id)
    assert _warned(lambda: c.end_span(root.trace_id, b.span_id)) == []
    assert _warned(lambda: c.end_span(root.trace_id, late.span_id)) == []
    assert c.get_trace(root.trace_id).is_finished
    with pytest.raises(ClosedParentError):  # finished: cannot be created even in warn mode
        c.start_span("n", root.trace_id, root.span_id)


def test_warning_points_at_the_caller() -> None:
    c = TraceClient(on_violation="warn")
    with pytest.warns(LifecycleWarning) as rec:
        c.end_trace("tr-missing")
    assert rec[0].filename == __file__


# --- context managers --------------------------------------------------------------------


def test_context_managers_end_ok_or_error() -> None:
    c = TraceClient()
    with c.trace("root", inputs={"q": 1}) as root:
        with c.span("child", parent=root, inputs=2) as child:
            child.set_outputs(3)
            child.set_attribute("k", "v")
        root.set_outputs("answer")
    t = c.get_trace(root.trace_id)
    assert [(s.name, s.status, s.outputs) for s in t.spans] == [
        ("root", "OK", "answer"),
        ("child", "OK", 3),
    ]
    assert child.attributes == {"k": "v"}
    with pytest.raises(KeyError):
        with c.trace("root") as root:
            with c.span("child", root):
                raise KeyError("missing")
    t = c.get_trace(root.trace_id)
    assert [(s.name, s.status) for s in t.spans] == [("root", "ERROR"), ("child", "ERROR")]
    assert "KeyError" in t.spans[1].status_description
    with pytest.raises(MissingParentError):
        with c.span("orphan", parent=None):
            pass
    assert c.open_spans() == []


def test_context_manager_keeps_the_callers_exception() -> None:
    c = TraceClient()
    with pytest.warns(LifecycleWarning, match="TLC105"), pytest.raises(ZeroDivisionError):
        with c.trace("root") as root:
            c.start_span("left open", root.trace_id, root.span_id)
            1 / 0  # noqa: B018
    with pytest.raises(OpenChildrenError):  # without an exception the error is raised
        with c.trace("root2") as root2:
            c.start_span("left open", root2.trace_id, root2.span_id)


# --- get_trace, open_spans, close -----------------------------------------------------------


def test_get_trace_and_open_spans() -> None:
    c = TraceClient()
    r1 = c.start_trace("one")
    s = c.start_span("s", r1.trace_id, r1.span_id)
    r2 = c.start_trace("two")
    assert [x.name for x in c.open_spans()] == ["one", "s", "two"]
    with pytest.raises(TraceNotFinishedError, match="'s'"):
        c.get_trace(r1.trace_id)
    with pytest.raises(UnknownTraceError):
        c.get_trace("tr-nope")
    c.end_span(r1.trace_id, s.span_id)
    c.end_trace(r1.trace_id)
    c.end_trace(r2.trace_id)
    assert tree(c, r1.trace_id) == [("one", None, "OK"), ("s", "one", "OK")]
    assert [t.name for t in c.backend.traces] == ["one", "two"]  # type: ignore[attr-defined]


def test_close_is_the_leak_check() -> None:
    c = TraceClient()
    root = c.start_trace("root")
    c.start_span("forgotten", root.trace_id, root.span_id)
    with pytest.raises(LeakError) as ei:
        c.close()
    assert ei.value.code == "TLC101" and "'forgotten'" in str(ei.value)
    assert {s.name for s in ei.value.open_spans} == {"root", "forgotten"}
    only_roots = TraceClient()
    only_roots.start_trace("lonely")
    with pytest.raises(LeakError) as ei:
        only_roots.close()
    assert ei.value.code == "TLC102"
    w = TraceClient(on_violation="warn")
    w.start_trace("lonely")
    with pytest.warns(LifecycleWarning, match="lonely"):
        w.close()
    TraceClient().close()  # nothing open: silent


def test_client_as_context_manager() -> None:
    with pytest.raises(LeakError):
        with TraceClient() as c:
            c.start_trace("r")
    with pytest.warns(LifecycleWarning), pytest.raises(RuntimeError):
        with TraceClient() as c:
            c.start_trace("r")
            raise RuntimeError


# --- bounded table ------------------------------------------------------------------------


def test_oldest_open_trace_is_evicted_and_reported() -> None:
    c = TraceClient(max_open_traces=3)
    roots = [c.start_trace(f"t{i}") for i in range(3)]
    c.start_span("inner", roots[0].trace_id, roots[0].span_id)
    with pytest.warns(LifecycleWarning) as rec:
        c.start_trace("t3")
    (w,) = [x.message for x in rec]
    assert w.code == "TLC102"  # type: ignore[union-attr]
    assert "'t0'" in str(w) and "'inner'" in str(w) and roots[0].trace_id in str(w)
    assert len({s.trace_id for s in c.open_spans()}) == 3
    with pytest.raises(UnknownTraceError, match="evicted"):
        c.end_trace(roots[0].trace_id)
    for r in roots[1:]:
        c.end_trace(r.trace_id)


def test_finished_memory_is_bounded() -> None:
    c = TraceClient(max_finished_traces=5, backend=JsonlBackend("/dev/null"))
    roots = []
    for i in range(20):
        with c.trace(f"t{i}") as r:
            roots.append(r)
    core = c._core
    assert len(core.done_traces) == 5 and len(core.spans) == 5
    with pytest.raises(AlreadyEndedError):
        c.end_trace(roots[-1].trace_id)
    with pytest.raises(UnknownTraceError):  # forgotten long ago
        c.end_trace(roots[0].trace_id)
    c.backend.close()  # else its file's ResourceWarning may land in a later pytest.warns


# --- backends -------------------------------------------------------------------------------


def test_jsonl_backend_appends_one_line_per_finished_trace(tmp_path: Any) -> None:
    path = tmp_path / "traces.jsonl"
    c = TraceClient(backend=JsonlBackend(path))
    with c.trace("one", inputs={"q": object()}) as root:
        with c.span("child", root) as s:
            s.set_outputs({1, 2})
    assert len(path.read_text().splitlines()) == 1  # flushed at trace end, file still open
    r2 = c.start_trace("two")
    c.end_trace(r2.trace_id, status="ERROR", outputs=b"x")
    c.close()
    lines = list(read_jsonl(path))
    assert [d["name"] for d in lines] == ["one", "two"]
    assert [s["name"] for s in lines[0]["spans"]] == ["one", "child"]
    assert lines[0]["spans"][1]["parent_id"] == lines[0]["spans"][0]["span_id"]
    assert lines[0]["spans"][1]["outputs"] == [1, 2]
    assert lines[0]["state"] == "FINISHED" and lines[1]["status"] == "ERROR"
    assert all(s["end_time_ns"] for d in lines for s in d["spans"])
    assert lines[1]["spans"][0]["outputs"] == "x"
    json.dumps(lines)  # plain JSON
    assert c.get_trace(root.trace_id).name == "one"  # from the client's own memory


class FailingBackend(Backend):
    forwards_starts = True
    hooks_ends = True

    def __init__(self) -> None:
        self.fail = False
        self.n = 0

    def _maybe_fail(self) -> None:
        if self.fail:
            raise ConnectionError("backend down")

    def start_trace(self, *args: Any) -> tuple[str, str, int]:
        self._maybe_fail()
        self.n += 1
        return f"tr-{self.n:032x}", f"{self.n:016x}", self.n

    def start_span(self, *args: Any) -> tuple[str, int]:
        self._maybe_fail()
        self.n += 1
        return f"{self.n:016x}", self.n

    def end(self, *args: Any) -> None:
        self._maybe_fail()


def test_backend_failure_on_start_reaches_caller_and_changes_nothing() -> None:
    be = FailingBackend()
    c = TraceClient(backend=be)
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    assert (root.trace_id, s.span_id) == ("tr-" + "0" * 31 + "1", "0" * 15 + "2")
    be.fail = True
    before = c.snapshot()
    for call in (
        lambda: c.start_trace("x"),
        lambda: c.start_span("x", root.trace_id, root.span_id),
    ):
        with pytest.raises(ConnectionError):
            call()
        assert c.snapshot() == before
    be.fail = False
    c.end_span(root.trace_id, s.span_id)
    c.end_trace(root.trace_id)
    assert c.unsaved_traces() == []


def test_backend_failure_on_end_is_applied_kept_and_reported_once() -> None:
    be = FailingBackend()
    c = TraceClient(backend=be)
    root = c.start_trace("r")
    s = c.start_span("s", root.trace_id, root.span_id)
    be.fail = True
    with pytest.warns(BackendWarning) as rec:
        c.end_span(root.trace_id, s.span_id, outputs=1)
    (w,) = [x.message for x in rec]
    assert isinstance(w, BackendWarning) and w.trace_id == root.trace_id
    assert isinstance(w.error, ConnectionError)
    assert f"FailingBackend failed to record trace {root.trace_id} ('r') at end_span" in str(w)
    assert not s.is_open and s.outputs == 1  # the valid end was applied
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once per trace: no second warning
        c.end_trace(root.trace_id)
    assert c.get_trace(root.trace_id).status == "OK"  # kept in memory
    assert c.unsaved_traces() == [c.get_trace(root.trace_id)]
    c.close()  # finished: not a leak
    assert c.unsaved_traces(release=True)[0].trace_id == root.trace_id
    assert c.unsaved_traces() == []


def test_jsonl_write_failure_keeps_the_trace(tmp_path: Any) -> None:
    folder = tmp_path / "no-such-dir"
    c = TraceClient(backend=JsonlBackend(folder / "t.jsonl"))
    root = c.start_trace("r")
    with pytest.warns(BackendWarning, match=f"JsonlBackend failed to record trace {root.trace_id}"):
        c.end_trace(root.trace_id)
    assert c.get_trace(root.trace_id).is_finished
    c.close()  # no LeakError
    folder.mkdir()
    with c.trace("next"):
        pass
    assert [d["name"] for d in read_jsonl(folder / "t.jsonl")] == ["next"]
    assert [t.name for t in c.unsaved_traces()] == ["r"]


def test_in_memory_backend_bound() -> None:
    be = InMemoryBackend(max_traces=2)
    c = TraceClient(backend=be)
    for i in range(4):
        with c.trace(f"t{i}"):
            pass
    assert [t.name for t in be.traces] == ["t2", "t3"]


def test_mlflow_backend_does_not_import_mlflow_until_used() -> None:
    code = (
        "import sys\n"
        "from lifecycle_runtime import TraceClient, MlflowBackend\n"
        "c = TraceClient(backend=MlflowBackend())\n"
        "print('mlflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert MlflowBackend.forwards_starts
