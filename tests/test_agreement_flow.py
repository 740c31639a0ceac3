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

import pytest
from hypothesis import event, given, note

from tests.fixture_markers import FIXTURES, read_fixture
from tests.flow_oracle import STATS, Program, compare, program_from_source, programs


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
    program = program_from_source(path.read_text())
    found, verdict = compare(program)
    missing, extra = verdict.mismatches(found)
    assert (missing, extra) == (set(), set())
    marked = set(read_fixture(path).expected)
    assert marked == found
