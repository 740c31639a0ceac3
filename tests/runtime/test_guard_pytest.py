"""``pytest --lifecycle-guard`` and the ``lifecycle_guard`` ini option, in inner sessions."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow")

CONFTEST = """
import os, pytest

@pytest.fixture(autouse=True, scope="session")
def _local_mlflow(tmp_path_factory):
    import mlflow
    folder = tmp_path_factory.mktemp("mlruns")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(folder.as_uri())
    yield
    mlflow.set_tracking_uri(previous)
"""

TESTS = """
import mlflow
import pytest


def test_clean():
    c = mlflow.MlflowClient()
    root = c.start_trace("root")
    child = c.start_span("child", root.trace_id, root.span_id)
    c.end_span(root.trace_id, child.span_id)
    c.end_trace(root.trace_id)


def test_double_end():
    c = mlflow.MlflowClient()
    root = c.start_trace("root")
    c.end_trace(root.trace_id)
    with pytest.raises(Exception):  # MLflow itself raises on a second end_trace
        c.end_trace(root.trace_id)  # second-end


def test_leaves_spans_open():
    c = mlflow.MlflowClient()
    root = c.start_trace("job")  # root-start
    c.start_span("forgotten", root.trace_id, root.span_id)  # child-start


def test_fails_on_its_own():
    c = mlflow.MlflowClient()
    root = c.start_trace("never ended")
    assert 1 == 2


def test_lifo_order():
    c = mlflow.MlflowClient()
    root = c.start_trace("root")
    a = c.start_span("a", root.trace_id, root.span_id)
    b = c.start_span("b", root.trace_id, root.span_id)
    c.end_span(root.trace_id, a.span_id)  # lifo-line
    c.end_span(root.trace_id, b.span_id)
    c.end_trace(root.trace_id)


def test_fluent_spans_are_not_reported():
    @mlflow.trace
    def step(x):
        return x

    with mlflow.start_span("outer"):
        step(1)


def test_trace_client_fixture_still_works(trace_client):
    with trace_client.trace("root") as root:
        with trace_client.span("child", parent=root):
            pass
"""


def line(pytester: pytest.Pytester, marker: str) -> int:
    text = (pytester.path / "test_app.py").read_text().splitlines()
    return next(i for i, t in enumerate(text, 1) if t.rstrip().endswith(f"# {marker}"))


def check_nesting(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=4, failed=3)
    path = pytester.path / "test_app.py"
    result.stdout.fnmatch_lines(
        [
            "*_ test_double_end _*",
            "lifecycle guard: 1 violation(s) (MLflow tracing lifecycle contract)",
            f"  {path}:{line(pytester, 'second-end')}: TLC104 end_trace: trace * already ended*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_leaves_spans_open _*",
            "lifecycle guard: 2 span(s) left open (MLflow tracing lifecycle contract)",
            f"  {path}:{line(pytester, 'root-start')}: TLC102 span 'job' * left open (started*",
            f"  {path}:{line(pytester, 'child-start')}: TLC101 span 'forgotten' * left open*",
        ]
    )
    out = result.stdout.str()
    # the test that failed on its own is reported for its own assertion only...
    assert "E       assert 1 == 2" in out
    # ...and its leak is listed in the summary, per test
    result.stdout.fnmatch_lines(
        [
            "*= lifecycle guard =*",
            "test_app.py::test_double_end",
            "  *: TLC104 *",
            "test_app.py::test_leaves_spans_open",
            "  *: TLC102 span 'job'*",
            "  *: TLC101 span 'forgotten'*",
            "test_app.py::test_fails_on_its_own",
            "  *: TLC102 span 'never ended'*",
            "* call(s) checked, 1 violation(s) and 3 leak(s) in 3 test(s); *",
        ]
    )
    assert "outer" not in out and "step" not in out  # MLflow's own spans


def test_command_line_option(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest("--lifecycle-guard", "-p", "no:cacheprovider")
    check_nesting(pytester, result)


def test_ini_option_and_lifo_policy(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    pytester.makeini("[pytest]\nlifecycle_guard = true\nlifecycle_guard_policy = lifo\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=4)
    path = pytester.path / "test_app.py"
    result.stdout.fnmatch_lines(
        [
            "*_ test_lifo_order _*",
            f"  {path}:{line(pytester, 'lifo-line')}: TLC106 end_span: policy 'lifo' *",
        ]
    )
    result.stdout.fnmatch_lines(["*(policy lifo)"])


def test_command_line_policy_overrides_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    pytester.makeini("[pytest]\nlifecycle_guard_policy = lifo\n")
    result = pytester.runpytest(
        "--lifecycle-guard", "--lifecycle-guard-policy", "nesting", "-p", "no:cacheprovider"
    )
    check_nesting(pytester, result)


def test_without_the_option_nothing_is_guarded(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, failed=1)
    assert "lifecycle guard" not in result.stdout.str()


def test_bad_policy_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_x():\n    pass\n")
    pytester.makeini("[pytest]\nlifecycle_guard = true\nlifecycle_guard_policy = fifo\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lifecycle_guard_policy must be nesting or lifo, not 'fifo'*"])


FIXTURE_TESTS = """
import mlflow
import pytest


@pytest.fixture
def traced():
    c = mlflow.MlflowClient()
    root = c.start_trace("fixture")
    yield root
    c.end_trace(root.trace_id)
    try:
        c.end_trace(root.trace_id)  # teardown-double-end
    except Exception:
        pass


def test_uses_a_fixture_that_breaks_the_contract_in_teardown(traced):
    assert traced.name == "fixture"
"""


def test_fixture_violations_are_listed_under_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_fix=FIXTURE_TESTS)
    result = pytester.runpytest("--lifecycle-guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)  # the call itself was clean
    text = (pytester.path / "test_fix.py").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.endswith("# teardown-double-end"))
    result.stdout.fnmatch_lines(
        [
            "*= lifecycle guard =*",
            "test_fix.py::test_uses_a_fixture_that_breaks_the_contract_in_teardown",
            f"  {pytester.path / 'test_fix.py'}:{line}: TLC104 end_trace: *",
            "* 1 violation(s) and 0 leak(s) in 1 test(s);*",
        ]
    )
