"""``--add-noqa``: a ``# noqa: TLCnnn`` comment for every finding, as ruff's.

The comment goes where flake8 (and this command) reads it for the finding's line
and where Python allows a comment: at the end of the last line of the token range
(the line itself, or the last line of a string spanning lines or of a statement
continued with a backslash). An existing ``# noqa: ...`` list there is extended;
another comment is kept, the directive is appended after it. A finding with no
such place (a file that does not tokenize, TLC001/TLC002) is left and reported.

The file is linted again afterwards, as ``--fix`` does: the edit is kept only when
the file still parses (and compiles, if it did) and no new finding appears.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle_lint.engine import LintOptions, decode_source, lint_file, lint_source
from lifecycle_lint.findings import Finding
from lifecycle_lint.fixer import compiles
from lifecycle_lint.lines import python_lines
from lifecycle_lint.noqa import NOQA, NoqaMap, noqa_codes
from lifecycle_lint.sources import encode_like, read_source_bytes

#: Findings about the file as a whole: a comment cannot silence them.
FILE_CODES = frozenset({"TLC001", "TLC002"})


@dataclass
class NoqaEdit:
    source: str
    edited: str
    #: The findings that got a comment.
    added: list[Finding] = field(default_factory=list)
    #: The findings no comment could be placed for.
    left: list[Finding] = field(default_factory=list)


def _directive(codes: list[str]) -> str:
    return "# noqa: " + ", ".join(codes)


def _with_codes(comment: str, codes: list[str]) -> str | None:
    """``comment`` with ``codes`` added to its ``# noqa:`` list; None without one."""
    match = NOQA.search(comment)
    if match is None or match.group("codes") is None:
        return None
    existing = noqa_codes(match.group("codes"))
    merged = existing + [code for code in codes if code not in existing]
    matched = match.group(0)
    trailing = re.sub(r"[^\s]", "", matched[len(matched.rstrip(", \t")) :])
    return comment[: match.start()] + _directive(merged) + trailing + comment[match.end() :]


def add_noqa_source(text: str, findings: list[Finding]) -> NoqaEdit:
    """``text`` with a ``# noqa`` comment for each of ``findings`` (those of ``text``)."""
    edit = NoqaEdit(text, text)
    noqa = NoqaMap(text)
    by_line: dict[int, list[Finding]] = defaultdict(list)
    places = {}
    for finding in findings:
        place = None if finding.code in FILE_CODES else noqa.comment_place(finding.line)
        if place is None:
            edit.left.append(finding)
            continue
        by_line[place.line].append(finding)
        places[place.line] = place
    if not by_line:
        return edit
    lines = python_lines(text, keepends=True)
    for number, found in by_line.items():
        place = places[number]
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        codes = sorted({f.code for f in found})
        if place.comment is not None:
            column, comment = place.comment
            merged = _with_codes(comment, codes)
            if merged is not None:
                end = column + len(comment)
                lines[number - 1] = body[:column] + merged + body[end:] + ending
                edit.added += found
                continue
        lines[number - 1] = body[: place.column].rstrip() + "  " + _directive(codes) + ending
        edit.added += found
    edit.edited = "".join(lines)
    return edit


def _key(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.code, finding.line, finding.column, finding.message)


def checked_edit(path: str, text: str, findings: list[Finding], options: LintOptions) -> NoqaEdit:
    """``add_noqa_source``, kept only if the result lints as expected (else no edit)."""
    edit = add_noqa_source(text, findings)
    if not edit.added:
        return edit
    again = lint_source(path, edit.edited, options)
    broke = again.error is not None or (compiles(text, path) and not compiles(edit.edited, path))
    # Before noqa on both sides: a comment never moves code, so keys stay the same.
    before = {_key(f) for f in lint_source(path, text, options).findings}
    if broke or any(_key(f) not in before for f in again.findings):
        return NoqaEdit(text, text, [], list(findings))  # refused: the comments would break it
    return edit


@dataclass
class FileNoqa:
    path: str
    #: The findings still reported after the comments were added.
    findings: list[Finding]
    added: int = 0
    error: str | None = None


def add_noqa_file(path: Path, options: LintOptions) -> FileNoqa:
    """Add the comments to one file in place, then lint what is left."""
    shown = str(path)
    before = lint_file(path, options)
    if before.error is not None or not before.findings:
        return FileNoqa(shown, before.findings, 0, before.error)
    try:
        data = read_source_bytes(path)
        text = decode_source(data)
    except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
        return FileNoqa(shown, before.findings)
    edit = checked_edit(shown, text, before.findings, options)
    if edit.edited != text:
        path.write_bytes(encode_like(edit.edited, data))
    after = lint_file(path, options)
    return FileNoqa(shown, after.findings, len(edit.added), after.error)
