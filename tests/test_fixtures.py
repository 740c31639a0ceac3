"""Every fixture yields exactly the findings its markers expect (bugbear style)."""

from __future__ import annotations

import json

import pytest

from lifecycle_lint.cli import main
from tests.fixture_markers import FIXTURES, all_fixtures, read_fixture


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    status = main(["--format", "json", *args])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", all_fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_are_exactly_the_expected_ones(path, capsys) -> None:
    expectation = read_fixture(path)
    status, findings = run_json(capsys, *expectation.options, str(path))
    found = sorted((f["line"], f["code"]) for f in findings)
    assert found == list(expectation.expected)
    assert status == (1 if expectation.expected else 0)
    for line, code in expectation.known_misses:
        assert (line, code) not in found, f"{code} at line {line} is now found: update the marker"


def test_whole_fixture_folder_lists_every_expected_finding_and_nothing_else(capsys) -> None:
    expected = []
    for path in all_fixtures():
        expectation = read_fixture(path)
        if expectation.options:
            continue  # run with their own options above
        expected += [(str(path), line, code) for line, code in expectation.expected]
    status, findings = run_json(capsys, str(FIXTURES))
    plain = {str(p) for p in all_fixtures() if not read_fixture(p).options}
    found = [(f["path"], f["line"], f["code"]) for f in findings if f["path"] in plain]
    assert sorted(found) == sorted(expected)
    assert status == 1
    keys = [(f["path"], f["line"], f["column"], f["code"]) for f in findings]
    assert keys == sorted(keys)
