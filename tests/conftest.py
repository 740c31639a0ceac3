"""Shared by every test: the results cache lives in each test's own folder.

The command caches results at the project root by default; a test that runs it
must neither write a cache into the repository nor read one left by another test.
"""

from __future__ import annotations

import pytest

from lifecycle_lint.cache import ENV_VAR


@pytest.fixture(autouse=True)
def _private_results_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path_factory.mktemp("lifecycle-lint-cache")))
