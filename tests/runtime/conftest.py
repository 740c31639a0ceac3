"""Shared fixtures of the runtime tests: pytester, and one local MLflow store per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest_plugins = ["pytester"]`` is refused in a conftest below the rootdir when the
    # whole suite runs from the root; registering the built-in plugin here works both ways.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A real ``MlflowClient`` on a local file store in a temp folder (no server), with
    synchronous trace logging so that ``get_trace`` sees a trace as soon as it ends. One
    per session: creating it takes ~10 ms, importing mlflow ~1 s."""
    folder = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        mp.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
        mp.setenv("MLFLOW_TRACKING_URI", (folder / "mlruns").as_uri())
        mlflow = pytest.importorskip("mlflow")
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri((folder / "mlruns").as_uri())
        client = mlflow.MlflowClient()
        experiment_id = client.create_experiment("lifecycle-runtime-tests")
        try:
            yield client, experiment_id
        finally:
            mlflow.set_tracking_uri(previous)


@pytest.fixture
def fluent_experiment(
    mlflow_store: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``mlflow.set_experiment`` for MLflow's fluent spans, undone after the test (it sets a
    module global and the MLFLOW_EXPERIMENT_ID environment variable, which subprocesses of
    later tests would inherit)."""
    import mlflow.tracking.fluent as tracking_fluent

    _, exp = mlflow_store
    monkeypatch.setattr(tracking_fluent, "_active_experiment_id", None)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", exp)
    tracking_fluent.set_experiment(experiment_id=exp)
    yield exp
