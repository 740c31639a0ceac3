"""The linter and the runtime agree under control flow (issue 12): every path explored.

Hypothesis writes programs with branches, loops, ``try``/``except``/``else``/``finally``,
early exits, opaque calls that may raise and helpers (``tests/flow_oracle.py``); the
executor runs each one on every path; the linter must report exactly the lifecycle
findings (TLC101-TLC105, TLC201-TLC203) that the runtime's verdicts on those paths call
for, by the contract's mapping, apart from the exceptions the oracle names (each with
its reason, listed in ``flow_oracle``). Counterexamples it found are kept as fixtures
(``fixtures/oracle_*.py``), checked here against the oracle as well.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import event, given, note

from tests.fixture_markers import FIXTURES, read_fixture
from tests.flow_oracle import (
    STATS,
    Program,
    compare,
    expected_findings,
    explore,
    program_from_source,
    programs,
)


@given(programs())
def test_linter_reports_what_some_path_does(program: Program) -> None:
    found, verdict = compare(program)
    missing, extra = verdict.mismatches(found)
    STATS["programs"] += 1
    STATS["paths"] += verdict.paths
    STATS["findings"] += len(found)
    STATS["excused"] += len(set(verdict.excused) & found)
    event(f"paths: {'1' if verdict.paths == 1 else '2-9' if verdict.paths < 10 else '10+'}")
    for reason in sorted({verdict.excused[key] for key in set(verdict.excused) & found}):
        event(f"excused: {reason[:60]}")
    note(f"paths: {verdict.paths}; found: {sorted(found)}")
    note(f"expected: {sorted(verdict.expected)}; excused: {verdict.excused}")
    assert (missing, extra) == (set(), set()), program.source


ORACLE_FIXTURES = sorted(FIXTURES.glob("oracle_*.py"))


@pytest.mark.parametrize("path", ORACLE_FIXTURES, ids=lambda p: p.name)
def test_oracle_fixture_markers_are_what_the_runtime_says(path) -> None:
    """Each counterexample's markers are the runtime's verdict, not a copy of the linter's."""
    text = path.read_text()
    program = program_from_source(text)
    found, verdict = compare(program)
    missing, extra = verdict.mismatches(found)
    expectation = read_fixture(path)
    # A known limit is marked as such: the oracle's disagreement is exactly that mark.
    false_alarms = {
        (number, code)
        for number, line in enumerate(text.splitlines(), start=1)
        for code in re.findall(r"known-false-alarm:\s*(TLC\d{3})", line)
    }
    assert missing <= set(expectation.known_misses)
    assert extra <= false_alarms
    assert set(expectation.expected) == found


def test_the_executor_runs_every_path_and_classifies_each_leak() -> None:
    source = "\n".join(
        [
            "from lifecycle_runtime import TraceClient",
            "",
            "client = TraceClient()",
            "",
            "",
            "def main():",
            '    s0 = client.start_trace("s0")',  # line 7
            "    if c[0]:",
            "        f1()",
            "        client.end_trace(s0.trace_id)",
            "        client.end_trace(s0.trace_id)",  # line 11: a double end
            '    s1 = client.start_trace("s1")',  # line 12
            "    try:",
            "        f2()",
            "    finally:",
            "        client.end_trace(s1.trace_id)",
            "",
        ]
    )
    program = program_from_source(source)
    paths = explore(program)
    # c[0] false: f2 returns or raises (2); c[0] true: f1 raises (1), or returns and then
    # f2 returns or raises (2).
    assert len(paths) == 5
    assert sorted((e.line, e.code) for p in paths for e in p.events) == [(11, "TLC104")] * 2
    verdict = expected_findings(program, paths)
    # s0 is open at the end of main() when c[0] is false (a normal path): TLC102.
    assert set(verdict.expected) == {(7, "TLC102"), (11, "TLC104")}
    assert verdict.mismatches({(7, "TLC102"), (11, "TLC104")}) == (set(), set())
