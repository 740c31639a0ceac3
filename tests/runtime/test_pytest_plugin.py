"""The pytest plugin's ``trace_client`` fixture, run in inner pytest sessions (pytester)."""

from __future__ import annotations

import pytest

TESTS = """
import pytest
from lifecycle_runtime import OrderViolationError, TraceClient

def test_clean(trace_client):
    assert isinstance(trace_client, TraceClient)
    with trace_client.trace("root") as root:
        with trace_client.span("child", parent=root):
            pass

def test_leaks_a_span(trace_client):
    root = trace_client.start_trace("root")
    trace_client.start_span("forgotten", root.trace_id, root.span_id)

def test_fails_on_its_own(trace_client):
    trace_client.start_trace("never ended")
    assert 1 == 2

@pytest.mark.trace_client(policy="lifo")
def test_marker_configures_the_client(trace_client):
    assert trace_client.policy == "lifo"
    root = trace_client.start_trace("root")
    a = trace_client.start_span("a", root.trace_id, root.span_id)
    b = trace_client.start_span("b", root.trace_id, root.span_id)
    with pytest.raises(OrderViolationError):
        trace_client.end_span(root.trace_id, a.span_id)
    trace_client.end_span(root.trace_id, b.span_id)
    trace_client.end_span(root.trace_id, a.span_id)
    trace_client.end_trace(root.trace_id)

def test_without_the_fixture():
    TraceClient().start_trace("not watched")
"""


def check(result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    assert "lifecycle leak (TLC101/TLC102)" in out
    assert "'forgotten'" in out
    result.stdout.fnmatch_lines(["*_ test_leaks_a_span _*", "lifecycle leak (TLC101/TLC102)*"])
    result.stdout.fnmatch_lines(["FAILED *test_leaks_a_span*", "FAILED *test_fails_on_its_own*"])
    # the test that failed on its own is reported for its own assertion only
    assert "E       assert 1 == 2" in out and "'never ended'" not in out
    assert "error" not in result.stdout.lines[-1]  # failures in the call phase, no teardown errors


def test_fixture_via_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    check(pytester.runpytest("-p", "no:cacheprovider"))


def test_fixture_via_dash_p_alongside_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    check(pytester.runpytest("-p", "lifecycle_runtime.pytest_plugin", "-p", "no:cacheprovider"))


def test_fixture_via_dash_p_without_autoload(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(TESTS)
    check(
        pytester.runpytest_subprocess(
            "-p", "lifecycle_runtime.pytest_plugin", "-p", "no:cacheprovider"
        )
    )


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.trace_client(**kwargs)*"])
