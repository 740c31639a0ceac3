"""``--add-noqa`` (issue 13 item 1): golden files (``tests/data/add_noqa/CASE.py``
becomes ``CASE.noqa``), the comment placed where Python allows it and where both the
command and flake8 read it, and the file linted again afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_lint import add_noqa
from lifecycle_lint.add_noqa import NoqaEdit, add_noqa_source, checked_edit
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main
from lifecycle_lint.engine import LintOptions, lint_source

CASES = Path(__file__).resolve().parent / "data" / "add_noqa"


def cases() -> list[Path]:
    return sorted(CASES.glob("*.py"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["-j", "1", "--no-color", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_add_noqa_matches_the_golden_file(case: Path, tmp_path: Path, capsys) -> None:
    expected = case.with_suffix(".noqa").read_text(encoding="utf-8")
    target = tmp_path / case.name
    target.write_text(case.read_text(encoding="utf-8"), encoding="utf-8")
    run(capsys, "--add-noqa", str(target))
    assert target.read_text(encoding="utf-8") == expected
    # Nothing is left but what no comment can silence, and a second run changes nothing.
    status, out, _ = run(capsys, str(target))
    left = [line.split(": ", 1)[1][:6] for line in out.splitlines()]
    assert left == (["TLC001"] if case.stem == "broken" else [])
    assert status == (EXIT_FINDINGS if left else EXIT_CLEAN)
    run(capsys, "--add-noqa", str(target))
    assert target.read_text(encoding="utf-8") == expected


def test_summary_exit_status_and_what_is_left(tmp_path: Path, capsys) -> None:
    good = tmp_path / "comments.py"
    good.write_text((CASES / "comments.py").read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text((CASES / "broken.py").read_text(encoding="utf-8"), encoding="utf-8")
    status, out, err = run(capsys, "--add-noqa", str(tmp_path))
    assert status == EXIT_FINDINGS
    assert out.startswith(f"{broken}:4:1: TLC001 syntax error")
    assert out.count("\n") == 1
    assert err == "lifecycle-lint: noqa added for 7 finding(s) in 1 file(s), 1 finding(s) left\n"
    status, out, err = run(capsys, "--add-noqa", "--quiet", "--exit-zero", str(good))
    assert (status, out, err) == (EXIT_CLEAN, "", "")


def test_flake8_reads_the_comments_where_they_were_put(tmp_path: Path) -> None:
    for case in cases():
        if case.stem != "broken":
            (tmp_path / case.name).write_text(case.with_suffix(".noqa").read_text("utf-8"))
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=TLC", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=TLC", str(CASES / "comments.py")],
        capture_output=True,
        text=True,
    )
    assert done.stdout.count("TLC") == 7  # the plugin does report them without the comments


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_and_encoding_are_kept(tmp_path: Path, capsys, newline: str) -> None:
    source = (CASES / "comments.py").read_text(encoding="utf-8")
    expected = (CASES / "comments.noqa").read_text(encoding="utf-8")
    header = "# -*- coding: latin-1 -*-\n# café\n"
    target = tmp_path / "x.py"
    target.write_bytes((header + source).replace("\n", newline).encode("latin-1"))
    run(capsys, "--add-noqa", str(target))
    assert target.read_bytes() == (header + expected).replace("\n", newline).encode("latin-1")


def test_an_edit_that_would_break_the_file_is_refused(monkeypatch) -> None:
    text = (CASES / "comments.py").read_text(encoding="utf-8")
    options = LintOptions()
    findings = lint_source("x.py", text, options).findings
    real = add_noqa_source

    def breaking(source: str, found: list) -> NoqaEdit:  # type: ignore[type-arg]
        edit = real(source, found)
        edit.edited = edit.edited.replace("# noqa: TLC201\n", "(\n", 1)
        return edit

    monkeypatch.setattr(add_noqa, "add_noqa_source", breaking)
    edit = checked_edit("x.py", text, findings, options)
    assert edit.edited == text
    assert (edit.added, edit.left) == ([], findings)


def test_add_noqa_with_fix_or_stdin_is_a_usage_error(tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.py"
    target.write_text("x = 1\n", encoding="utf-8")
    status, _, err = run(capsys, "--add-noqa", "--fix", str(target))
    assert (status, err) == (
        EXIT_ERROR,
        "lifecycle-lint: error: --add-noqa and --fix cannot be used together\n",
    )
    status, _, err = run(capsys, "--add-noqa", "-")
    assert status == EXIT_ERROR
    assert err == "lifecycle-lint: error: --add-noqa changes files: it cannot read standard input\n"


def test_no_comment_inside_an_f_string() -> None:
    """Python 3.12 ends token lines inside an f-string's replacement field, where a
    comment would not compile on older Pythons: such a finding is left and reported."""
    from lifecycle_lint.noqa import NoqaMap

    text = 'x = f"""a {1}\nb {2\n}\nc"""\ny = 1 + \\\n  2\n'
    places = NoqaMap(text)
    inside = [places.comment_place(line) for line in (1, 2)]
    if sys.version_info >= (3, 12):
        assert inside == [None, None]
    else:  # one string token: the comment goes after it
        assert [p.line if p else None for p in inside] == [4, 4]
    assert [places.comment_place(line).line for line in (3, 4, 5, 6)] == [4, 4, 6, 6]
