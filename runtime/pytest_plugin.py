"""Pytest plugin: a ``trace_client`` fixture that fails the test which leaves spans open.

Installed with the package (entry point ``pytest11``), or load it explicitly with
``pytest -p lifecycle_runtime.pytest_plugin``. Configure the client per test with a
marker::

    @pytest.mark.trace_client(policy="lifo", on_violation="warn")
    def test_pipeline(trace_client): ...

A test that returns with spans still open fails (in its call phase, so the report is
a FAILED test naming the open spans, not a teardown error). A test that already failed
is not reported twice. Spans the client still holds are not forwarded anywhere.

Guard mode: ``pytest --lifecycle-guard`` (or the ini option ``lifecycle_guard = true``;
the policy with ``--lifecycle-guard-policy`` / ``lifecycle_guard_policy``) installs
:func:`lifecycle_runtime.guard` in record mode for the whole session: the code under test
talks to real MLflow unchanged, and a test during which a contract violation happened, or
whose call left spans open, fails with the rule codes, the span names and where each was
started. The terminal summary lists the violations per test.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .client import TraceClient, _describe_leaks
from .guard import Guard, Site, Violation, active_guard, guard, unguard

_KEY = pytest.StashKey[TraceClient]()
_GUARD = pytest.StashKey[Guard]()
_OWNS_GUARD = pytest.StashKey[bool]()
_FINDINGS = pytest.StashKey[dict[str, "_Findings"]]()
_MARK = pytest.StashKey[int]()
MARKER = "trace_client"
#: the name of the ``pytest11`` entry point that installs this module
ENTRY_POINT_NAME = "lifecycle_runtime"


def pytest_plugin_registered(plugin: object, plugin_name: str, manager: Any) -> None:
    # Loaded early with ``-p lifecycle_runtime.pytest_plugin`` while the entry point is
    # installed too: pluggy would refuse to register this same module a second time under
    # the entry point's name ("Plugin already registered under a different name").
    if (
        plugin is sys.modules[__name__]
        and plugin_name != ENTRY_POINT_NAME
        and manager.get_plugin(ENTRY_POINT_NAME) is None
    ):
        manager.set_blocked(ENTRY_POINT_NAME)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lifecycle", "MLflow tracing lifecycle (lifecycle_runtime)")
    group.addoption(
        "--lifecycle-guard",
        action="store_true",
        default=None,
        help="check the MLflow tracing calls of the code under test in place (needs mlflow): "
        "a test that breaks the lifecycle contract or leaves spans open fails",
    )
    group.addoption(
        "--lifecycle-guard-policy",
        choices=["nesting", "lifo"],
        default=None,
        help="end-order policy of --lifecycle-guard (default: nesting)",
    )
    parser.addini(
        "lifecycle_guard", "like --lifecycle-guard (true/false)", type="bool", default=False
    )
    parser.addini(
        "lifecycle_guard_policy", "end-order policy of the guard: nesting or lifo", default=""
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the lifecycle_runtime TraceClient of the "
        "`trace_client` fixture (policy=, on_violation=, backend=, max_open_traces=)",
    )
    enabled = config.getoption("lifecycle_guard", None)
    if enabled is None:
        enabled = config.getini("lifecycle_guard")
    if not enabled:
        return
    policy = config.getoption("lifecycle_guard_policy", None) or (
        config.getini("lifecycle_guard_policy") or "nesting"
    )
    if policy not in ("nesting", "lifo"):
        raise pytest.UsageError(f"lifecycle_guard_policy must be nesting or lifo, not {policy!r}")
    owner = active_guard() is None
    try:
        g = guard(on_violation="record", policy=policy)
    except ImportError as e:
        raise pytest.UsageError(f"--lifecycle-guard needs mlflow installed: {e}") from e
    config.stash[_GUARD] = g
    config.stash[_OWNS_GUARD] = owner
    config.stash[_FINDINGS] = {}


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_OWNS_GUARD, False):
        config.stash[_OWNS_GUARD] = False
        unguard(check_leaks=False)


class _Findings:
    """What the guard saw during one test."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.leaks: list[tuple[Any, Site | None]] = []

    def render(self, indent: str = "  ") -> list[str]:
        out = [f"{indent}{v}" for v in self.violations]
        for span, site in self.leaks:
            code = "TLC102" if span.parent_id is None else "TLC101"
            where = "?" if site is None else f"{site[0]}:{site[1]}"
            out.append(
                f"{indent}{where}: {code} span {span.name!r} ({span.span_id}) of trace "
                f"{span.trace_id} left open (started here)"
            )
        return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Generator[None, Any, Any]:
    g = item.config.stash.get(_GUARD, None)
    if g is None:
        return (yield)
    item.stash[_MARK] = len(g.violations)
    try:
        return (yield)
    finally:
        seen = g.violations[item.stash[_MARK] :]
        findings = item.config.stash[_FINDINGS]
        f = findings.get(item.nodeid)
        if seen:
            if f is None:
                f = findings[item.nodeid] = _Findings()
            f.violations.extend(v for v in seen if v not in f.violations)


def _guard_failure(g: Guard, item: pytest.Item, before: set[str], mark: int) -> str | None:
    seen = g.violations[mark:]
    leaks = [(s, site) for s, site in g.open_spans() if s.span_id not in before]
    if not seen and not leaks:
        return None
    findings = item.config.stash[_FINDINGS]
    f = findings.setdefault(item.nodeid, _Findings())
    f.leaks.extend(leaks)
    head = []
    if seen:
        head.append(f"{len(seen)} violation(s)")
    if leaks:
        head.append(f"{len(leaks)} span(s) left open")
    probe = _Findings()
    probe.violations, probe.leaks = list(seen), leaks
    return "\n".join(
        ["lifecycle guard: " + ", ".join(head) + " (MLflow tracing lifecycle contract)"]
        + probe.render()
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    g = config.stash.get(_GUARD, None)
    if g is None:
        return
    findings = config.stash[_FINDINGS]
    tr = terminalreporter
    tr.write_sep("=", "lifecycle guard")
    for nodeid, f in findings.items():
        tr.write_line(nodeid)
        for line in f.render():
            tr.write_line(line)
    reported = {s.span_id for f in findings.values() for s, _ in f.leaks}
    rest = [(s, site) for s, site in g.open_spans() if s.span_id not in reported]
    if rest:
        tr.write_line("left open outside any test's call (fixtures, collection):")
        probe = _Findings()
        probe.leaks = rest
        for line in probe.render():
            tr.write_line(line)
    tests = sum(1 for f in findings.values() if f.violations or f.leaks)
    tr.write_line(
        f"{g.checked} call(s) checked, {g.violation_count} violation(s) and "
        f"{sum(len(f.leaks) for f in findings.values())} leak(s) in {tests} test(s); "
        f"{g.unguarded} call(s) on unguarded spans (policy {g.policy})"
    )


@pytest.fixture
def trace_client(request: pytest.FixtureRequest) -> Iterator[TraceClient]:
    """A fresh :class:`lifecycle_runtime.TraceClient`; the test fails if it leaves spans open."""
    kwargs: dict[str, Any] = {}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        kwargs.update(marker.kwargs)
    client = TraceClient(**kwargs)
    request.node.stash[_KEY] = client
    yield client
    client.backend.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    g = item.config.stash.get(_GUARD, None)
    if g is not None:
        before = {s.span_id for s, _ in g.open_spans()}
        mark = len(g.violations)
    try:
        result = yield  # the test's own failure propagates unchanged
    except BaseException:
        if g is not None:
            _guard_failure(g, item, before, mark)  # listed in the summary only
        raise
    if g is not None:
        failure = _guard_failure(g, item, before, mark)
        if failure is not None:
            pytest.fail(failure, pytrace=False)
    client = item.stash.get(_KEY, None)
    if client is not None:
        leaks = client.open_spans()
        if leaks:
            pytest.fail(
                "lifecycle leak (TLC101/TLC102): the test left " + _describe_leaks(leaks),
                pytrace=False,
            )
    return result
