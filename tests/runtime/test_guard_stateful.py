"""Hypothesis stateful test of ``guard()`` over a real ``MlflowClient`` (local file store).

The rules, the independent model of the contract and the invariants are those of
``test_stateful`` (random interleavings of valid and invalid calls over several traces);
here every call goes through the guarded ``MlflowClient`` instead of ``TraceClient``. On top:
a refused call reaches MLflow not at all (a recorder sits beneath the guard), and after every
step the spans MLflow holds open are exactly those the guard holds open. Modest budget: the
whole file runs in well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant

import lifecycle_runtime as lr
from lifecycle_runtime import TraceNotFinishedError
from lifecycle_runtime.model import FINISHED

from .mlflow_recorder import Recorder
from .test_api import FakeCode, FakeStatus
from .test_stateful import LifecycleMachine

mlflow = pytest.importorskip("mlflow")


class GuardedClient:
    """The four calls through the guarded real ``MlflowClient``; reading from the guard."""

    def __init__(self, client: Any, experiment_id: str, guard: lr.Guard) -> None:
        self.client = client
        self.exp = experiment_id
        self.guard = guard

    @staticmethod
    def _status(status: Any) -> Any:
        from mlflow.entities import SpanStatus, SpanStatusCode

        if isinstance(status, FakeStatus):
            return SpanStatus(SpanStatusCode(status.status_code.value), status.description)
        if isinstance(status, FakeCode):
            return SpanStatusCode(status.value)
        return status

    def start_trace(self, name: str) -> Any:
        return self.client.start_trace(name, experiment_id=self.exp)

    def start_span(self, name: str, trace_id: Any, parent_id: Any) -> Any:
        return self.client.start_span(name, trace_id, parent_id)

    def end_span(self, trace_id: Any, span_id: Any, status: Any = "OK") -> None:
        self.client.end_span(trace_id, span_id, status=self._status(status))

    def end_trace(self, trace_id: Any, status: Any = "OK") -> None:
        self.client.end_trace(trace_id, status=self._status(status))

    def snapshot(self) -> Any:
        core = self.guard.core
        with core.lock:
            return core.snapshot()

    def open_spans(self) -> list[Any]:
        return [s for s, _ in self.guard.open_spans()]

    def get_trace(self, trace_id: str) -> Any:
        core = self.guard.core
        with core.lock:
            t = core.find_trace(trace_id)
        assert t is not None
        if t.state is not FINISHED:
            raise TraceNotFinishedError(trace_id)
        return t


class GuardMachine(LifecycleMachine):
    MODE = "raise"
    store: tuple[Any, str]
    recorder: Recorder

    def __init__(self) -> None:
        super().__init__()
        lr.unguard(check_leaks=False)
        self.guard = lr.guard(on_violation="raise", policy=self.POLICY)
        client, exp = self.store
        self.client = GuardedClient(client, exp, self.guard)  # type: ignore[assignment]

    def teardown(self) -> None:
        lr.unguard(check_leaks=False)

    def call(self, fn: Any, predicted: Any, start: bool = False) -> Any:
        calls = len(self.recorder.calls)
        result = super().call(fn, predicted, start)
        if predicted[0] is not None:  # raise mode: refused before MLflow
            assert len(self.recorder.calls) == calls
        else:
            assert len(self.recorder.calls) == calls + 1
        return result

    # TraceClient's argument checks (a name that is not a str, a bad time, an end before the
    # start) are its own; the guard forwards such arguments to MLflow unchanged. Plain
    # methods of the same names take these rules out of this machine.
    def bad_name(self) -> None:  # type: ignore[override]
        """Not a rule here."""

    def bad_time(self) -> None:  # type: ignore[override]
        """Not a rule here."""

    def end_before_start(self) -> None:  # type: ignore[override]
        """Not a rule here."""

    @invariant()
    def mlflow_holds_the_same_spans_open(self) -> None:
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        tm = InMemoryTraceManager.get_instance()
        open_in_mlflow = set()
        for tid in self.model.traces:
            with tm.get_trace(tid) as t:
                if t is not None:
                    open_in_mlflow |= {
                        sid for sid, s in t.span_dict.items() if s.end_time_ns is None
                    }
        assert open_in_mlflow == {s.span_id for s in self.client.open_spans()}


SETTINGS = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture
def machine_env(monkeypatch: pytest.MonkeyPatch, mlflow_store: tuple[Any, str]) -> Any:
    rec = Recorder()
    rec.install(monkeypatch)
    GuardMachine.store = mlflow_store
    GuardMachine.recorder = rec
    yield
    lr.unguard(check_leaks=False)


class NestingGuard(GuardMachine):
    POLICY = "nesting"


class LifoGuard(GuardMachine):
    POLICY = "lifo"


@pytest.mark.parametrize("machine", [NestingGuard, LifoGuard], ids=["nesting", "lifo"])
def test_guard_over_real_mlflow(machine: type[GuardMachine], machine_env: Any) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(machine, settings=SETTINGS)
