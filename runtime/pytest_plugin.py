"""Pytest plugin: a ``trace_client`` fixture that fails the test which leaves spans open.

Installed with the package (entry point ``pytest11``), or load it explicitly with
``pytest -p lifecycle_runtime.pytest_plugin``. Configure the client per test with a
marker::

    @pytest.mark.trace_client(policy="lifo", on_violation="warn")
    def test_pipeline(trace_client): ...

A test that returns with spans still open fails (in its call phase, so the report is
a FAILED test naming the open spans, not a teardown error). A test that already failed
is not reported twice. Spans the client still holds are not forwarded anywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from .client import TraceClient, _describe_leaks

_KEY = pytest.StashKey[TraceClient]()
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments for the lifecycle_runtime TraceClient of the "
        "`trace_client` fixture (policy=, on_violation=, backend=, max_open_traces=)",
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
    result = yield  # the test's own failure propagates unchanged
    client = item.stash.get(_KEY, None)
    if client is not None:
        leaks = client.open_spans()
        if leaks:
            pytest.fail(
                "lifecycle leak (TLC101/TLC102): the test left " + _describe_leaks(leaks),
                pytrace=False,
            )
    return result
