"""``lifecycle_runtime.guard()`` over a real ``MlflowClient`` (local file store, no server):
installing and restoring, each mode, spans it did not see start, MLflow's own spans, the
record file and its report command."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lifecycle_runtime as lr
from lifecycle_runtime import (
    AlreadyEndedError,
    ClosedParentError,
    CrossTraceError,
    InvalidStatusError,
    LeakError,
    LifecycleWarning,
    MissingParentError,
    OpenChildrenError,
    OrderViolationError,
    UnknownSpanError,
    UnknownTraceError,
)

from .mlflow_recorder import Recorder

mlflow = pytest.importorskip("mlflow")

HERE = __file__


@pytest.fixture
def store(mlflow_store: tuple[Any, str]) -> Iterator[tuple[Any, str]]:
    yield mlflow_store
    lr.unguard(check_leaks=False)


@pytest.fixture
def rec(monkeypatch: pytest.MonkeyPatch, store: tuple[Any, str]) -> Iterator[Recorder]:
    r = Recorder()
    r.install(monkeypatch)
    yield r
    lr.unguard(check_leaks=False)  # before the recorder is taken away


def line_of(marker: str) -> int:
    """The line of this file that carries ``# <marker>``."""
    for i, text in enumerate(Path(HERE).read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return i
    raise AssertionError(marker)


# --- installing -------------------------------------------------------------------------


def targets() -> list[tuple[Any, str]]:
    import mlflow.tracing.fluent as fluent
    from mlflow.entities.span import LiveSpan

    return [
        (mlflow.MlflowClient, "start_trace"),
        (mlflow.MlflowClient, "start_span"),
        (mlflow.MlflowClient, "end_span"),
        (mlflow.MlflowClient, "end_trace"),
        (LiveSpan, "end"),
        (mlflow, "start_span_no_context"),
        (fluent, "start_span_no_context"),
    ]


def test_guard_patches_and_unguard_restores_everything(store: tuple[Any, str]) -> None:
    before = [owner.__dict__[name] for owner, name in targets()]
    g = lr.guard()
    assert lr.active_guard() is g
    during = [owner.__dict__[name] for owner, name in targets()]
    assert all(a is not b for a, b in zip(before, during, strict=True))
    assert lr.guard() is g  # guarding twice: the same guard, nothing wrapped twice
    assert [owner.__dict__[name] for owner, name in targets()] == during
    with pytest.warns(RuntimeWarning, match="already installed"):
        assert lr.guard(policy="lifo") is g
    assert lr.unguard() is g
    assert [owner.__dict__[name] for owner, name in targets()] == before
    assert lr.active_guard() is None and lr.unguard() is None


def test_guard_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="on_violation"):
        lr.guard(on_violation="ignore")
    with pytest.raises(ValueError, match="policy"):
        lr.guard(policy="fifo")
    assert lr.active_guard() is None


def test_importing_the_package_does_not_import_mlflow_but_guard_does() -> None:
    code = (
        "import sys, lifecycle_runtime\n"
        "assert 'mlflow' not in sys.modules\n"
        "lifecycle_runtime.guard()\n"
        "assert 'mlflow' in sys.modules\n"
        "lifecycle_runtime.unguard()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- raise mode -------------------------------------------------------------------------


def test_raise_mode_refuses_before_mlflow_and_changes_nothing(
    rec: Recorder, store: tuple[Any, str]
) -> None:
    client, exp = store
    g = lr.guard()
    root = client.start_trace("root", experiment_id=exp)
    a = client.start_span("a", root.trace_id, root.span_id)
    other = client.start_trace("other", experiment_id=exp)
    calls = len(rec.calls)
    refused = [
        (OpenChildrenError, lambda: client.end_trace(root.trace_id)),
        (OpenChildrenError, lambda: client.end_span(root.trace_id, root.span_id)),
        (MissingParentError, lambda: client.start_span("x", root.trace_id, None)),
        (UnknownSpanError, lambda: client.start_span("x", root.trace_id, "e" * 16)),
        (UnknownTraceError, lambda: client.end_span("tr-" + "f" * 32, a.span_id)),
        (CrossTraceError, lambda: client.end_span(other.trace_id, a.span_id)),
        (CrossTraceError, lambda: client.start_span("x", other.trace_id, a.span_id)),
        (InvalidStatusError, lambda: client.end_span(root.trace_id, a.span_id, status="ok")),
    ]
    for cls, call in refused:
        snap = g.core.snapshot()
        with pytest.raises(cls):
            call()
        assert g.core.snapshot() == snap
    assert len(rec.calls) == calls  # none of them reached MLflow
    client.end_span(root.trace_id, a.span_id)
    with pytest.raises(AlreadyEndedError):
        client.end_span(root.trace_id, a.span_id)
    with pytest.raises(ClosedParentError):
        client.start_span("late", root.trace_id, a.span_id)
    client.end_trace(root.trace_id, outputs=1)
    client.end_trace(other.trace_id)
    assert [c[0] for c in rec.calls[calls:]] == ["end_span", "end_trace", "end_trace"]
    assert [s.name for s in client.get_trace(root.trace_id).data.spans] == ["root", "a"]
    assert [v.code for v in lr.report()] == [
        "TLC105",
        "TLC105",
        "TLC203",
        "TLC201",
        "TLC201",
        "TLC202",
        "TLC202",
        "TLC401",
        "TLC104",
        "TLC105",
    ]
    assert lr.unguard() is g  # nothing open: no leak


def test_lifo_policy(store: tuple[Any, str]) -> None:
    client, exp = store
    lr.guard(policy="lifo")
    root = client.start_trace("root", experiment_id=exp)
    a = client.start_span("a", root.trace_id, root.span_id)
    b = client.start_span("b", root.trace_id, root.span_id)
    with pytest.raises(OrderViolationError):
        client.end_span(root.trace_id, a.span_id)
    client.end_span(root.trace_id, b.span_id)
    client.end_span(root.trace_id, a.span_id)
    client.end_trace(root.trace_id)


def test_start_span_no_context_and_span_end(rec: Recorder, store: tuple[Any, str]) -> None:
    _, exp = store
    lr.guard()
    root = mlflow.start_span_no_context("root", experiment_id=exp)
    child = mlflow.start_span_no_context("child", parent_span=root, inputs={"x": 1})
    with pytest.raises(OpenChildrenError, match="'child'"):
        root.end()
    child.end(outputs=2)
    with pytest.raises(AlreadyEndedError):
        child.end()
    with pytest.raises(ClosedParentError):
        mlflow.start_span_no_context("late", parent_span=child)
    root.end()
    labels = [c[0] for c in rec.calls]
    assert labels == [
        "start_span_no_context",
        "start_span_no_context",
        "LiveSpan.end",
        "LiveSpan.end",
    ]
    assert lr.unguard() is not None


def test_a_root_from_start_span_no_context_ends_with_end_trace(store: tuple[Any, str]) -> None:
    client, exp = store
    lr.guard()
    root = mlflow.start_span_no_context("root", experiment_id=exp)
    child = mlflow.start_span_no_context("child", parent_span=root)
    with pytest.raises(OpenChildrenError):
        client.end_trace(root.trace_id)
    child.end()
    client.end_trace(root.trace_id)
    with pytest.raises(AlreadyEndedError):
        root.end()
    lr.unguard()


def test_request_id_keyword_is_checked_too(store: tuple[Any, str]) -> None:
    client, exp = store
    lr.guard()
    root = client.start_trace("root", experiment_id=exp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own FutureWarning about request_id
        child = client.start_span("c", request_id=root.trace_id, parent_id=root.span_id)
        client.end_span(request_id=root.trace_id, span_id=child.span_id)
        with pytest.raises(AlreadyEndedError):
            client.end_span(request_id=root.trace_id, span_id=child.span_id)
        client.end_trace(request_id=root.trace_id)
    lr.unguard()


# --- leaks --------------------------------------------------------------------------------


def test_guarded_reports_spans_left_open_with_where_they_started(store: tuple[Any, str]) -> None:
    client, exp = store
    with pytest.raises(LeakError) as info:
        with lr.guarded():
            root = client.start_trace("job", experiment_id=exp)
            client.start_span("forgotten", root.trace_id, root.span_id)  # started-here
    assert info.value.code == "TLC101"
    msg = str(info.value)
    assert "'forgotten'" in msg and f"{HERE}:{line_of('started-here')}" in msg
    assert lr.active_guard() is None


def test_guarded_only_warns_about_leaks_while_an_exception_propagates(
    store: tuple[Any, str],
) -> None:
    client, exp = store
    with pytest.warns(LifecycleWarning, match="TLC102"), pytest.raises(KeyError):
        with lr.guarded():
            client.start_trace("abandoned", experiment_id=exp)
            raise KeyError("boom")
    assert lr.active_guard() is None


# --- warn and record modes ----------------------------------------------------------------


def test_warn_mode_warns_at_the_callers_line_and_forwards(
    rec: Recorder, store: tuple[Any, str]
) -> None:
    client, exp = store
    lr.guard(on_violation="warn")
    root = client.start_trace("root", experiment_id=exp)
    a = client.start_span("a", root.trace_id, root.span_id)
    with pytest.warns(LifecycleWarning) as w:
        client.end_span(root.trace_id, root.span_id)  # warn-line
    assert [x.message.code for x in w] == ["TLC105"]  # type: ignore[union-attr]
    assert (w[0].filename, w[0].lineno) == (HERE, line_of("warn-line"))
    assert rec.calls[-1][0] == "end_span"  # forwarded unchanged
    client.end_span(root.trace_id, a.span_id)
    lr.unguard()


def test_record_mode_report_and_record_file(
    rec: Recorder, store: tuple[Any, str], tmp_path: Path
) -> None:
    client, exp = store
    path = tmp_path / "guard.jsonl"
    g = lr.guard(on_violation="record", record_path=path)
    root = client.start_trace("root", experiment_id=exp)
    client.end_trace(root.trace_id)
    try:
        client.end_trace(root.trace_id)  # double-end
    except Exception:  # noqa: BLE001 - MLflow raises on a second end_trace
        pass
    kid = client.start_trace("second", experiment_id=exp)
    client.start_span("open", kid.trace_id, kid.span_id)  # leaked-here
    (v,) = lr.report()
    assert (v.code, v.file, v.line, v.call) == (
        "TLC104",
        HERE,
        line_of("double-end"),
        "MlflowClient.end_trace",
    )
    assert [c[0] for c in rec.calls].count("end_trace") == 2  # forwarded
    assert lr.unguard() is g
    assert [x.code for x in lr.report()] == ["TLC104", "TLC102", "TLC101"]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["violation"] * 3 + ["summary"]
    assert records[2]["line"] == line_of("leaked-here")
    assert records[-1]["violations"] == 3 and records[-1]["checked"] == 5

    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_runtime.report", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout.splitlines()
    assert (
        out[0]
        == "3 violation(s) (TLC101: 1, TLC102: 1, TLC104: 1) in 1 guarded run(s), 5 call(s) checked"
    )
    assert f"{HERE}:{line_of('double-end')}: TLC104 end_trace: trace" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "lifecycle_runtime.report", str(tmp_path / "none.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_report_stays_callable_after_importing_the_report_module() -> None:
    import lifecycle_runtime.report as report_module  # noqa: F401 - the import is the test

    assert isinstance(lr.report(), list)


# --- spans the guard did not see start, and MLflow's own spans ------------------------------


def test_spans_started_before_the_guard_are_unguarded_never_errors(
    store: tuple[Any, str],
) -> None:
    client, exp = store
    old = client.start_trace("before", experiment_id=exp)
    old_child = client.start_span("before-child", old.trace_id, old.span_id)
    g = lr.guard()
    new = client.start_span("after", old.trace_id, old_child.span_id)
    with pytest.raises(OpenChildrenError, match="'after'"):
        client.end_span(old.trace_id, old_child.span_id)  # a guarded child is open
    client.end_span(old.trace_id, new.span_id)
    with pytest.raises(AlreadyEndedError):
        client.end_span(old.trace_id, new.span_id)
    client.end_span(old.trace_id, old_child.span_id)
    client.end_trace(old.trace_id)
    # four calls named a span started before the guard (one of them refused)
    assert g.unguarded == 4 and g.unguarded_names == {"before-child": 3, "before": 1}
    assert [v.code for v in g.violations] == ["TLC105", "TLC104"]
    assert lr.unguard() is g


def test_an_unguarded_span_left_open_is_not_a_leak(store: tuple[Any, str]) -> None:
    client, exp = store
    old = client.start_trace("before", experiment_id=exp)
    with lr.guarded() as g:
        client.start_span("x", old.trace_id, old.span_id)
        assert len(g.open_spans()) == 1  # the guarded child only
        ((span, _),) = g.open_spans()
        client.end_span(old.trace_id, span.span_id)
    client.end_trace(old.trace_id)


def test_mlflows_own_spans_are_never_reported(
    rec: Recorder, store: tuple[Any, str], fluent_experiment: str
) -> None:
    client, exp = store

    @mlflow.trace
    def traced(x: int) -> int:
        return x + 1

    g = lr.guard()
    with mlflow.start_span("fluent") as parent:
        assert traced(1) == 2
        child = client.start_span("client-child", parent.trace_id, parent.span_id)
        client.end_span(parent.trace_id, child.span_id)
        with pytest.raises(AlreadyEndedError):
            client.end_span(parent.trace_id, child.span_id)
    assert traced(2) == 3
    assert [v.code for v in g.violations] == ["TLC104"]
    assert g.open_spans() == []
    assert g.unguarded == 1 and g.unguarded_names == {"fluent": 1}  # the child's start
    assert lr.unguard() is g


def test_a_client_span_under_a_fluent_parent_left_open_is_a_leak(
    store: tuple[Any, str], fluent_experiment: str
) -> None:
    client, exp = store
    with pytest.raises(LeakError, match="'orphan'"):
        with lr.guarded():
            with mlflow.start_span("fluent") as parent:
                client.start_span("orphan", parent.trace_id, parent.span_id)


def test_tracing_disabled_no_op_spans_pass_through(store: tuple[Any, str]) -> None:
    client, exp = store
    g = lr.guard()
    mlflow.tracing.disable()
    try:
        root = client.start_trace("off", experiment_id=exp)
        child = client.start_span("c", root.trace_id, root.span_id)
        client.end_span(root.trace_id, child.span_id)
        client.end_trace(root.trace_id)
        client.end_trace(root.trace_id)
    finally:
        mlflow.tracing.enable()
    assert g.violations == [] and g.open_spans() == []
    lr.unguard()


# --- running a program under the guard, record then read ----------------------------------

APP = """
import sys
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
c = mlflow.MlflowClient()
root = c.start_trace("app")
step = c.start_span("step", root.trace_id, root.span_id)
c.end_span(root.trace_id, step.span_id)
c.end_span(root.trace_id, step.span_id)  # second end
c.start_span("left open", root.trace_id, root.span_id)  # never ended
sys.exit(3)
"""


def lines_of(text: str, *markers: str) -> list[int]:
    lines = text.splitlines()
    return [next(i for i, t in enumerate(lines, 1) if t.endswith(f"# {m}")) for m in markers]


def test_a_program_runs_under_the_guard_unchanged_and_its_record_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    record = tmp_path / "guard.jsonl"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_runtime", "--record", str(record), str(app)]
        + [(tmp_path / "mlruns").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr  # the program's own exit status
    second, left = lines_of(APP, "second end", "never ended")
    report = subprocess.run(
        [sys.executable, "-m", "lifecycle_runtime.report", str(record)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 1
    out = report.stdout.splitlines()
    assert out[0] == (
        "3 violation(s) (TLC101: 1, TLC102: 1, TLC104: 1) in 1 guarded run(s), 5 call(s) checked"
    )
    assert f"{app}:{second}: TLC104 end_span: span 'step'" in report.stdout
    assert f"{app}:{left}: TLC101 span 'left open'" in report.stdout


def test_a_record_guard_still_installed_at_exit_writes_its_leaks_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "guard.jsonl"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    code = (
        "import sys, lifecycle_runtime, mlflow\n"
        f"mlflow.set_tracking_uri({(tmp_path / 'mlruns').as_uri()!r})\n"
        f"lifecycle_runtime.guard(on_violation='record', record_path={str(record)!r})\n"
        "mlflow.MlflowClient().start_trace('abandoned')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    records = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(r["kind"], r.get("code")) for r in records] == [
        ("violation", "TLC102"),
        ("summary", None),
    ]
    assert records[0]["line"] == 4 and records[-1]["open"] == 1


def test_guarded_inside_an_active_guard_leaves_it_installed(store: tuple[Any, str]) -> None:
    g = lr.guard()
    with lr.guarded() as inner:
        assert inner is g
    assert lr.active_guard() is g
    lr.unguard()


def test_unguard_leaves_a_patch_installed_on_top_alone(store: tuple[Any, str]) -> None:
    client, exp = store
    real = mlflow.MlflowClient.__dict__["start_trace"]
    lr.guard()
    ours = mlflow.MlflowClient.__dict__["start_trace"]
    on_top = functools.wraps(ours)(lambda self, *a, **k: ours(self, *a, **k))
    mlflow.MlflowClient.start_trace = on_top
    try:
        lr.unguard()
        assert mlflow.MlflowClient.__dict__["start_trace"] is on_top
        root = client.start_trace("through", experiment_id=exp)  # the guard passes it through
        client.end_trace(root.trace_id)
    finally:
        mlflow.MlflowClient.start_trace = real


AUTOLOG_LIKE = """
def instrumented_call(client, parent):
    # what an integration inside MLflow's package does with the same functions
    span = client.start_span("llm", parent.trace_id, parent.span_id)
    client.end_span(parent.trace_id, span.span_id)
    client.end_span(parent.trace_id, span.span_id)  # a double end, MLflow's own business
    child = mlflow.start_span_no_context("tool", parent_span=parent)
    return child
"""


def test_calls_made_from_mlflows_own_modules_are_not_checked(store: tuple[Any, str]) -> None:
    client, exp = store
    ns: dict[str, Any] = {"__name__": "mlflow.fake_autolog", "mlflow": mlflow}
    exec(compile(AUTOLOG_LIKE, "mlflow/fake_autolog.py", "exec"), ns)
    g = lr.guard()
    root = client.start_trace("app", experiment_id=exp)
    left_open = ns["instrumented_call"](client, root)
    # the user's own end of its root is checked; MLflow's open child of it is not its doing
    client.end_trace(root.trace_id)
    assert g.violations == [] and g.open_spans() == []
    left_open.end()  # MLflow's own span, ended by the user: counted, not reported
    assert g.violations == [] and g.unguarded_names == {"tool": 1}
    assert lr.unguard() is g
