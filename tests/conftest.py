"""Shared by every test: the results cache lives in each test's own folder, and the
Hypothesis profiles ``ci`` (the default) and ``deep`` (``--hypothesis-profile=deep``).

The command caches results at the project root by default; a test that runs it
must neither write a cache into the repository nor read one left by another test.

Only tests that leave ``max_examples`` to the profile use the profiles: the control-flow
oracle of ``tests/test_agreement_flow.py``. ``ci`` keeps that test within about a minute
on a 2-core machine; ``deep`` is for long local runs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from lifecycle_lint.cache import ENV_VAR

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=400, derandomize=True, **_COMMON)
settings.register_profile("deep", max_examples=10_000, **_COMMON)
settings.load_profile("ci")  # the hypothesis plugin loads --hypothesis-profile after this


@pytest.fixture(autouse=True)
def _private_results_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path_factory.mktemp("lifecycle-lint-cache")))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.flow_oracle import STATS

    if STATS["programs"]:
        terminalreporter.write_line(
            "control-flow oracle: {programs} programs, {paths} paths, {findings} findings "
            "({excused} of them excused by a named exception)".format(**STATS)
        )
