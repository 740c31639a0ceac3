"""Autofix: golden files per fix (``tests/data/fix/CASE.py`` becomes ``CASE.fixed``),
``--fix`` and ``--diff``, and the guards (a fix never creates a finding, never
breaks the file)."""

from __future__ import annotations

import difflib
import json
import shlex
from pathlib import Path

import pytest

from lifecycle_lint.cli import EXIT_CLEAN, EXIT_FINDINGS, main
from lifecycle_lint.engine import LintOptions
from lifecycle_lint.fixer import fix_source
from lifecycle_lint.rules import RULES, Replacement, Report, Rule

CASES = Path(__file__).resolve().parent / "data" / "fix"


def cases() -> list[Path]:
    return sorted(CASES.glob("*.py"))


def options_of(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# lifecycle-lint:"
    return shlex.split(first[len(prefix) :]) if first.startswith(prefix) else []


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["-j", "1", "--no-color", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fix_matches_the_golden_file(case: Path, tmp_path: Path, capsys) -> None:
    expected = case.with_suffix(".fixed").read_text(encoding="utf-8")
    target = tmp_path / case.name
    target.write_text(case.read_text(encoding="utf-8"), encoding="utf-8")
    run(capsys, "--fix", *options_of(case), str(target))
    assert target.read_text(encoding="utf-8") == expected
    # Fixing again changes nothing.
    status, out, _ = run(capsys, "--diff", *options_of(case), str(target))
    assert (status, out) == (EXIT_CLEAN, "")


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_diff_prints_the_fix_and_changes_nothing(case: Path, tmp_path: Path, capsys) -> None:
    before = case.read_text(encoding="utf-8")
    after = case.with_suffix(".fixed").read_text(encoding="utf-8")
    target = tmp_path / case.name
    target.write_text(before, encoding="utf-8")
    status, out, _ = run(capsys, "--diff", *options_of(case), str(target))
    assert status == EXIT_FINDINGS
    assert out == "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{target}",
            tofile=f"b/{target}",
        )
    )
    assert target.read_text(encoding="utf-8") == before


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fix_removes_exactly_the_fixed_findings(case: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / case.name
    target.write_text(case.read_text(encoding="utf-8"), encoding="utf-8")
    _, out, _ = run(capsys, "--format", "json", *options_of(case), str(target))
    before = json.loads(out)
    status, out, err = run(capsys, "--fix", "--format", "json", *options_of(case), str(target))
    after = json.loads(out)
    fixed = [f for f in before if f["fix"] is not None]
    key = lambda f: (f["line"], f["code"], f["message"])  # noqa: E731 - columns move
    assert sorted(map(key, after)) == sorted(
        map(key, [f for f in before if f not in fixed or _refused(case, f)])
    )
    assert status == (EXIT_FINDINGS if after else EXIT_CLEAN)
    assert "fixed" in err and f"{len(after)} remaining" in err


def _refused(case: Path, finding: dict) -> bool:
    """The keyword that would be repeated (see refused_and_suppressed.py)."""
    return case.stem == "refused_and_suppressed" and finding["code"] == "TLC204"


def test_encoding_bom_and_line_endings_are_kept(tmp_path: Path, capsys) -> None:
    source = (CASES / "tlc401_statuses.py").read_text(encoding="utf-8")
    expected = (CASES / "tlc401_statuses.fixed").read_text(encoding="utf-8")
    target = tmp_path / "crlf.py"
    target.write_bytes(b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode("utf-8"))
    run(capsys, "--fix", str(target))
    assert target.read_bytes() == b"\xef\xbb\xbf" + expected.replace("\n", "\r\n").encode()

    latin = tmp_path / "latin.py"
    header = "# -*- coding: latin-1 -*-\n# café\n"
    latin.write_bytes((header + source).encode("latin-1"))
    run(capsys, "--fix", str(latin))
    assert latin.read_bytes() == (header + expected).encode("latin-1")


def test_fix_only_applies_to_selected_rules(tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.py"
    target.write_text((CASES / "refused_and_suppressed.py").read_text(), encoding="utf-8")
    run(capsys, "--fix", "--ignore", "TLC401", str(target))
    assert '"ok"' in target.read_text(encoding="utf-8")


def test_files_that_do_not_parse_are_left_alone(tmp_path: Path, capsys) -> None:
    target = tmp_path / "broken.py"
    target.write_text('client.end_trace(request_id=x, status="ok"\n', encoding="utf-8")
    status, out, _ = run(capsys, "--fix", "--format", "json", str(target))
    assert [f["code"] for f in json.loads(out)] == ["TLC001"]
    assert target.read_text(encoding="utf-8").endswith('status="ok"\n')


SOURCE = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace(root.trace_id)
"""


class _BadFix(Rule):
    """A rule whose fix would create a finding of another rule (TLC201)."""

    code = "TLC999"
    name = "test-bad-fix"
    summary = "test"
    what = why = bad = good = "x"

    def check(self, ctx):  # type: ignore[no-untyped-def]
        import libcst as cst

        for call in ctx.index.calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "end_trace":
                arg = call.args[0].value
                yield Report(
                    call, "test", Replacement(arg, cst.SimpleString('"tr-1"'), "hard-code")
                )


class _BreakingFix(_BadFix):
    """A rule whose fix would not parse."""

    code = "TLC998"

    def check(self, ctx):  # type: ignore[no-untyped-def]
        import libcst as cst

        for report in super().check(ctx):
            assert report.fix is not None
            yield Report(report.node, "test", Replacement(report.fix.old, cst.Name("if"), "x"))


@pytest.mark.parametrize("rule", [_BadFix, _BreakingFix])
def test_a_fix_that_would_create_a_finding_or_break_the_file_is_refused(monkeypatch, rule) -> None:
    monkeypatch.setitem(RULES, rule.code, rule)
    options = LintOptions(enabled=frozenset({rule.code, "TLC201"}))
    result = fix_source("x.py", SOURCE, options)
    assert result.fixed == SOURCE
    assert not result.applied
    assert [f.code for f in result.refused] == [rule.code]


def test_good_fixes_are_kept_when_another_is_refused(monkeypatch) -> None:
    monkeypatch.setitem(RULES, _BadFix.code, _BadFix)
    source = SOURCE.replace(
        "client.end_trace(root.trace_id)", 'client.end_trace(root.trace_id, status="ok")'
    )
    options = LintOptions(enabled=frozenset({_BadFix.code, "TLC201", "TLC401"}))
    result = fix_source("x.py", source, options)
    assert result.fixed == source.replace('"ok"', '"OK"')
    assert [f.code for f in result.applied] == ["TLC401"]
    assert [f.code for f in result.refused] == [_BadFix.code]


def _many_fixes_and_one_refused(count: int) -> str:
    """Issue 15 item 3: ``count`` safe TLC204 fixes and one that would not compile."""
    body = "".join("    print(root.request_id)\n" for _ in range(count))
    return (
        "from mlflow import MlflowClient\n\nclient = MlflowClient()\n\n\n"
        'def run() -> None:\n    root = client.start_trace("agent")\n'
        + body
        + '    client.end_trace(request_id=root.trace_id, status="ok", trace_id=root.trace_id)\n'
    )


@pytest.mark.parametrize("count", [10, 60])
def test_a_refused_fix_does_not_hold_back_the_others(count: int) -> None:
    source = _many_fixes_and_one_refused(count)
    result = fix_source("x.py", source, LintOptions())
    assert result.fixed == source.replace("root.request_id)", "root.trace_id)").replace(
        '"ok"', '"OK"'
    )
    assert sorted(f.code for f in result.applied) == ["TLC204"] * count + ["TLC401"]
    refused_line = 8 + count
    assert [(f.code, f.line) for f in result.refused] == [("TLC204", refused_line)]


def test_fix_command_fixes_them_all(tmp_path: Path, capsys) -> None:
    target = tmp_path / "x.py"
    target.write_text(_many_fixes_and_one_refused(10), encoding="utf-8")
    status, out, err = run(capsys, "--fix", "--select", "TLC204,TLC401", str(target))
    assert status == EXIT_FINDINGS
    assert (
        out == f"{target}:18:22: TLC204 `request_id=` is deprecated in MLflow 3: use "
        "`trace_id=` in `end_trace`\n"
    )
    assert "fixed 11 finding(s) in 1 file(s), 1 remaining" in err


class _ClashingFix(_BadFix):
    """Fixes that pass one at a time but not together: both rename a keyword to ``x``."""

    code = "TLC997"

    def check(self, ctx):  # type: ignore[no-untyped-def]
        import libcst as cst

        for call in ctx.index.calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "end_trace":
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value in ("a", "b"):
                        yield Report(arg, "test", Replacement(arg.keyword, cst.Name("x"), "x"))


def test_fixes_that_clash_are_applied_one_and_the_other_refused(monkeypatch) -> None:
    monkeypatch.setitem(RULES, _ClashingFix.code, _ClashingFix)
    source = SOURCE.replace("client.end_trace(root.trace_id)", "client.end_trace(a=1, b=2)")
    result = fix_source("x.py", source, LintOptions(enabled=frozenset({_ClashingFix.code})))
    assert result.fixed == source.replace("a=1", "x=1")
    assert [f.column for f in result.applied] == [18]
    assert [f.column for f in result.refused] == [23]


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_line_endings_are_kept_to_the_last_one(tmp_path: Path, capsys, newline: str) -> None:
    """Issue 15 item 8: a file with ``\\r`` line endings only kept its last ``\\r``."""
    source = (CASES / "tlc401_statuses.py").read_text(encoding="utf-8")
    expected = (CASES / "tlc401_statuses.fixed").read_text(encoding="utf-8")
    target = tmp_path / "cr.py"
    target.write_bytes(source.replace("\n", newline).encode())
    run(capsys, "--fix", str(target))
    assert target.read_bytes() == expected.replace("\n", newline).encode()
