"""Shared fixtures of the runtime tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest_plugins = ["pytester"]`` is refused in a conftest below the rootdir when the
    # whole suite runs from the root; registering the built-in plugin here works both ways.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
