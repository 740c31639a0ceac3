"""Differential tests of ``guard()`` over a real ``MlflowClient`` (local file store in a temp
folder, no server) against ``TraceClient`` on the same programs, valid and invalid.

- raise mode: the guard reports the codes ``TraceClient(on_violation="raise")`` raises, and
  MLflow receives exactly the calls an unguarded run of the accepted calls makes (IDs compared
  as the order MLflow handed them out), none of the refused ones;
- record mode: the guard records the codes ``TraceClient(on_violation="warn")`` reports (its
  warn mode behaves as MLflow does), and MLflow receives exactly the calls of the unguarded run
  of the whole program.
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, given, settings

import lifecycle_runtime as lr
from lifecycle_runtime import LifecycleError, LifecycleWarning, TraceClient

from .mlflow_recorder import Recorder

pytest.importorskip("mlflow")

BOGUS_SPAN = "e" * 16
STATUSES = ["OK", "ERROR", "UNSET", "ok"]

Op = tuple[Any, ...]
ops_strategy = st.lists(
    st.one_of(
        st.just(("trace",)),
        st.tuples(
            st.just("start"),
            st.integers(0, 30),
            st.sampled_from(["ok", "ok", "ok", "ok", "cross", "none", "bogus"]),
        ),
        st.tuples(
            st.just("end"),
            st.integers(0, 30),
            st.sampled_from(STATUSES[:3] * 3 + STATUSES[3:]),
            st.sampled_from(["ok", "ok", "ok", "cross", "bogus"]),
        ),
        st.tuples(st.just("end_trace"), st.integers(0, 30), st.sampled_from(STATUSES[:3])),
    ),
    max_size=22,
).map(lambda ops: [("trace",), *ops])


def run(client: Any, ops: list[Op], exp: str, guard: lr.Guard | None = None) -> list[Any]:
    """Run ``ops`` through an MlflowClient-shaped client; per op: ``None`` (accepted), the
    codes reported (raised, warned or recorded by ``guard``), or ``"mlflow"`` when only
    MLflow itself raised."""
    random.seed(os.urandom(16))  # Hypothesis seeds ``random``; MLflow draws its IDs from it
    spans: list[tuple[str, str]] = []  # (trace_id, span_id) of every span started
    roots: list[tuple[str, str]] = []
    out: list[Any] = []
    for op in ops:
        mark = 0 if guard is None else len(guard.violations)
        codes: list[str] = []
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                if op[0] == "trace":
                    r = client.start_trace(f"t{len(roots)}", experiment_id=exp)
                    roots.append((r.trace_id, r.span_id))
                    spans.append((r.trace_id, r.span_id))
                elif op[0] == "start":
                    tid, pid = spans[op[1] % len(spans)]
                    if op[2] == "cross":
                        tid = roots[(op[1] + 1) % len(roots)][0]
                    elif op[2] == "none":
                        pid = None  # type: ignore[assignment]
                    elif op[2] == "bogus":
                        pid = BOGUS_SPAN
                    s = client.start_span(f"s{len(spans)}", tid, pid)
                    spans.append((s.trace_id, s.span_id))
                elif op[0] == "end":
                    tid, sid = spans[op[1] % len(spans)]
                    if op[3] == "cross":
                        tid = roots[(op[1] + 1) % len(roots)][0]
                    elif op[3] == "bogus":
                        sid = BOGUS_SPAN
                    client.end_span(tid, sid, status=op[2])
                else:
                    client.end_trace(roots[op[1] % len(roots)][0], status=op[2])
            except LifecycleError as e:
                codes.append(e.code)
            except Exception:  # noqa: BLE001 - MLflow's own refusal
                codes.append("mlflow")
        codes[:0] = [w.message.code for w in rec if isinstance(w.message, LifecycleWarning)]
        if guard is not None:
            codes[:0] = [v.code for v in guard.violations[mark:]]
        out.append(codes or None)
    return out


def lifecycle_codes(result: list[Any]) -> list[Any]:
    """The lifecycle codes per op, MLflow's own refusals left out."""
    out = []
    for codes in result:
        kept = [c for c in codes or () if c != "mlflow"]
        out.append(kept or None)
    return out


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, mlflow_store: tuple[Any, str]) -> Iterator[Recorder]:
    rec = Recorder()
    rec.install(monkeypatch)
    yield rec
    lr.unguard(check_leaks=False)


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(ops=ops_strategy)
def test_raise_mode_refuses_what_trace_client_refuses_and_forwards_the_rest(
    ops: list[Op], recorder: Recorder, mlflow_store: tuple[Any, str]
) -> None:
    client, exp = mlflow_store
    expected = run(TraceClient(), ops, exp)

    recorder.calls.clear()
    recorder._symbols.clear()
    g = lr.guard(on_violation="raise")
    try:
        got = run(client, ops, exp)
    finally:
        lr.unguard(check_leaks=False)
    assert got == expected
    for codes in got:
        event(f"codes {codes}")
    assert [v.code for v in g.violations] == [c for codes in got if codes for c in codes]
    guarded_calls = list(recorder.calls)

    # the same program unguarded, without the refused calls: MLflow gets the same calls
    recorder.calls.clear()
    recorder._symbols.clear()
    accepted = [op for op, codes in zip(ops, got, strict=True) if codes is None]
    assert run(client, accepted, exp) == [None] * len(accepted)
    assert guarded_calls == recorder.calls


@SETTINGS
@given(ops=ops_strategy)
def test_record_mode_reports_what_trace_client_warns_and_forwards_everything(
    ops: list[Op], recorder: Recorder, mlflow_store: tuple[Any, str]
) -> None:
    client, exp = mlflow_store
    expected = run(TraceClient(on_violation="warn"), ops, exp)

    recorder.calls.clear()
    recorder._symbols.clear()
    g = lr.guard(on_violation="record")
    try:
        got = run(client, ops, exp, guard=g)
    finally:
        lr.unguard(check_leaks=False)
    assert lifecycle_codes(got) == lifecycle_codes(expected)
    guarded_calls = list(recorder.calls)

    recorder.calls.clear()
    recorder._symbols.clear()
    unguarded = run(client, ops, exp)
    assert all(codes in (None, ["mlflow"]) for codes in unguarded)
    assert guarded_calls == recorder.calls
    # MLflow refused the same calls with and without the guard
    assert [c is not None and "mlflow" in c for c in got] == [c is not None for c in unguarded]
