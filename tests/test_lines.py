"""Lines as Python counts them (issue 14 item 3): only ``\\n``, ``\\r\\n`` and ``\\r``
end a line, wherever a line number is mapped: noqa, positions, fixes, ``full``."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from lifecycle_lint.cli import main
from lifecycle_lint.engine import LintOptions
from lifecycle_lint.fixer import fix_source
from lifecycle_lint.lines import line_count, python_lines

#: Characters ``str.splitlines()`` splits on and Python's tokenizer does not.
NOT_LINE_ENDS = ["\f", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

HEAD = "from mlflow import MlflowClient\nclient = MlflowClient()\n"


def test_python_lines_splits_only_where_python_does() -> None:
    text = "a\fb\r\nc\rd\n\ne\u2028f"
    assert python_lines(text, keepends=True) == ["a\fb\r\n", "c\r", "d\n", "\n", "e\u2028f"]
    assert python_lines(text) == ["a\fb", "c", "d", "", "e\u2028f"]
    assert python_lines("") == []
    assert (line_count("x\n"), line_count("x\ny"), line_count("")) == (1, 2, 0)


@pytest.mark.parametrize("char", NOT_LINE_ENDS, ids=ascii)
def test_python_lines_agree_with_the_compiler(char: str) -> None:
    source = f"x = 1  # {char}\ny = 2\n'{char}'\nz = 3\n"
    assert [n.lineno for n in ast.parse(source).body] == [1, 2, 3, 4]
    assert len(python_lines(source)) == 4


def run_json(capsys, *args: str) -> list[tuple[int, int, str]]:
    main(["-j", "1", "--format", "json", *args])
    return [(f["line"], f["column"], f["code"]) for f in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize("char", NOT_LINE_ENDS, ids=ascii)
def test_noqa_after_a_character_splitlines_breaks_on(tmp_path: Path, capsys, char: str) -> None:
    target = tmp_path / "x.py"
    target.write_text(
        HEAD
        + f"{char}\n" * (char == "\f")
        + f"# a comment {char} here\n"
        + 'client.end_trace("tr-1")  # noqa: TLC201\n'
        + 'client.end_trace("tr-2")\n',
        encoding="utf-8",
    )
    last = 5 + (char == "\f")
    assert run_json(capsys, str(target)) == [(last, 18, "TLC201")]


def test_full_format_shows_the_line_python_counts(tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.py"
    target.write_text(HEAD + '\f\nlabel = "a\u2028b"\nclient.end_trace("tr-2")\n', "utf-8")
    main(["-j", "1", "--no-color", "--format", "full", str(target)])
    out = capsys.readouterr().out
    assert out.splitlines()[:4] == [
        f'{target}:5:18: TLC201 hardcoded trace_id "tr-2" passed to `end_trace`: read the ID '
        "from the span that started it",
        "  |",
        '5 | client.end_trace("tr-2")',
        "  |                  ^^^^^^",
    ]


def test_fix_reads_noqa_on_the_line_python_counts() -> None:
    source = HEAD + (
        '\f\nclient.end_trace(x, status="ok")  # noqa: TLC401\nclient.end_trace(x, status="ok")\n'
    )
    result = fix_source("x.py", source, LintOptions())
    assert result.fixed == source[: source.rindex('"ok"')] + '"OK")\n'
    assert [(f.code, f.line) for f in result.applied] == [("TLC401", 5)]
