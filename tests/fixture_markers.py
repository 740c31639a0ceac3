"""Reading the expected findings out of a fixture file.

A fixture marks each line where a finding is expected with ``!CODE`` in a
comment (``# !TLC101``, several allowed). Limits of the analysis are kept
visible: ``# known-miss: TLC103`` marks a real defect the analysis does not
report, ``# known-false-alarm: TLC101`` correct code it does report (expected
as a finding, so a fix of the analysis shows up as a failing test to update).
A line ``# lifecycle-lint: ARGS`` near the top gives command-line options.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from lifecycle_lint.lines import python_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

_EXPECTED = re.compile(r"!(TLC\d{3})\b")
_KNOWN_MISS = re.compile(r"known-miss:\s*(TLC\d{3})")
_KNOWN_FALSE_ALARM = re.compile(r"known-false-alarm:\s*(TLC\d{3})")
_OPTIONS = re.compile(r"^#\s*lifecycle-lint:\s*(.*)$")


@dataclass(frozen=True)
class FixtureExpectation:
    path: Path
    options: tuple[str, ...]
    expected: tuple[tuple[int, str], ...]  # (line, code), sorted, duplicates kept
    known_misses: tuple[tuple[int, str], ...]


def read_fixture(path: Path) -> FixtureExpectation:
    text = path.read_bytes().decode("utf-8", errors="replace")
    options: list[str] = []
    expected: list[tuple[int, str]] = []
    misses: list[tuple[int, str]] = []
    for number, line in enumerate(python_lines(text), start=1):
        if "#" not in line:
            continue
        comment = line[line.index("#") :]
        match = _OPTIONS.match(line.strip())
        if match:
            options.extend(shlex.split(match.group(1)))
        expected += [(number, code) for code in _EXPECTED.findall(comment)]
        expected += [(number, code) for code in _KNOWN_FALSE_ALARM.findall(comment)]
        misses += [(number, code) for code in _KNOWN_MISS.findall(comment)]
    return FixtureExpectation(path, tuple(options), tuple(sorted(expected)), tuple(misses))


def all_fixtures() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))
