"""Output formats, --statistics, --output-file, --explain, colours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main
from lifecycle_lint.findings import Finding
from lifecycle_lint.reporting import format_full, format_github, sarif_log, use_color
from lifecycle_lint.rules import RULES
from tests.fixture_markers import FIXTURES

DATA = Path(__file__).resolve().parent / "data"
#: The OASIS SARIF 2.1.0 schema (errata 01), as published with the standard.
SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

SOURCE = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace("tr-1", status="ok")
"""


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(SOURCE, encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["-j", "1", *args])
    out, err = capsys.readouterr()
    return status, out, err


def validate_sarif(log: object) -> None:
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_text_format(bad, capsys) -> None:
    status, out, _ = run(capsys, str(bad))
    assert status == EXIT_FINDINGS
    assert out.splitlines() == [
        f"{bad}:5:18: TLC201 " + out.splitlines()[0].split(" TLC201 ", 1)[1],
        f"{bad}:5:33: TLC401 " + out.splitlines()[1].split(" TLC401 ", 1)[1],
    ]
    assert "\033[" not in out  # not a terminal


def test_full_format_shows_the_line_and_a_caret_under_the_span(bad, capsys) -> None:
    _, out, _ = run(capsys, "--format", "full", str(bad))
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if " TLC201 " in line))
    assert lines[start + 1 : start + 4] == [
        "  |",
        '5 | client.end_trace("tr-1", status="ok")',
        "  |                  ^^^^^^",
    ]
    tlc401 = lines.index(next(line for line in lines if " TLC401 " in line))
    assert lines[tlc401 + 3] == "  |                                 ^^^^"
    assert any(line.strip().startswith("fix:") for line in lines[tlc401:])


def test_full_format_keeps_tabs_and_handles_multiline_and_missing_lines() -> None:
    source = ["\tclient.end_span('x',", "\t\t'y')"]
    finding = Finding("f.py", 1, 18, 2, 6, "TLC201", "hardcoded-id", "msg")
    out = format_full([finding], lambda _path: source)
    assert out.splitlines()[3] == "  | \t" + " " * 16 + "^" * 4
    gone = Finding("f.py", 9, 1, 9, 2, "TLC201", "hardcoded-id", "msg")
    assert format_full([gone], lambda _path: source) == "f.py:9:1: TLC201 msg\n\n"


def test_json_format_is_the_documented_schema(bad, capsys) -> None:
    _, out, _ = run(capsys, "--format", "json", str(bad))
    findings = json.loads(out)
    assert [f["code"] for f in findings] == ["TLC201", "TLC401"]
    assert set(findings[0]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "name",
        "message",
        "fix",
    }
    assert findings[1]["fix"] == 'replace "ok" with "OK"'


def test_sarif_of_the_fixtures_validates_against_the_schema(capsys) -> None:
    status, out, _ = run(capsys, "--format", "sarif", str(FIXTURES))
    assert status == EXIT_FINDINGS
    log = json.loads(out)
    validate_sarif(log)
    (sarif_run,) = log["runs"]
    driver = sarif_run["tool"]["driver"]
    assert "informationUri" not in driver
    assert [rule["id"] for rule in driver["rules"]] == list(RULES)
    for rule in driver["rules"]:
        cls = RULES[rule["id"]]
        assert rule["name"] == cls.name
        assert rule["shortDescription"]["text"] == cls.summary
        assert "helpUri" not in rule  # the project has no published home to point at
        assert rule["help"]["markdown"] == cls.doc_page()
    results = sarif_run["results"]
    assert results
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        location = result["locations"][0]["physicalLocation"]
        assert location["region"]["startLine"] >= 1
        assert location["artifactLocation"]["uri"]


def test_sarif_uris_are_relative_to_the_current_folder(bad, capsys, monkeypatch) -> None:
    monkeypatch.chdir(bad.parent)
    _, out, _ = run(capsys, "--format", "sarif", "bad.py")
    log = json.loads(out)
    validate_sarif(log)
    result = log["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "bad.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 5, "startColumn": 18, "endLine": 5, "endColumn": 24}
    assert result["message"]["text"]


def test_sarif_without_findings_and_outside_the_base(tmp_path) -> None:
    validate_sarif(sarif_log([]))
    elsewhere = Finding("/somewhere/else.py", 1, 1, 1, 1, "TLC001", "syntax-error", "m")
    log = sarif_log([elsewhere], base=tmp_path)
    validate_sarif(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "file:///somewhere/else.py"}


def test_github_format(bad, capsys) -> None:
    _, out, _ = run(capsys, "--format", "github", str(bad))
    first = out.splitlines()[0]
    assert first.startswith(
        f"::error file={bad},line=5,col=18,endLine=5,endColumn=24,"
        "title=TLC201 hardcoded-id::TLC201 "
    )


def test_github_format_escapes() -> None:
    finding = Finding("a,b:c.py", 1, 1, 1, 2, "TLC201", "hardcoded-id", "50% done\nnext")
    assert format_github([finding]) == (
        "::error file=a%2Cb%3Ac.py,line=1,col=1,endLine=1,endColumn=2,"
        "title=TLC201 hardcoded-id::TLC201 50%25 done%0Anext\n"
    )


def test_statistics(tmp_path, capsys) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(SOURCE, encoding="utf-8")
    status, out, _ = run(capsys, "--statistics", str(tmp_path))
    assert status == EXIT_FINDINGS
    assert out.splitlines() == ["2\tTLC201\thardcoded-id", "2\tTLC401\tinvalid-status"]
    _, out, _ = run(capsys, "--statistics", "--format", "json", str(tmp_path))
    assert json.loads(out) == [
        {"code": "TLC201", "name": "hardcoded-id", "count": 2},
        {"code": "TLC401", "name": "invalid-status", "count": 2},
    ]


def test_output_file(bad, tmp_path, capsys) -> None:
    target = tmp_path / "report.sarif"
    status, out, _ = run(capsys, "--format", "sarif", "--output-file", str(target), str(bad))
    assert status == EXIT_FINDINGS and out == ""
    validate_sarif(json.loads(target.read_text(encoding="utf-8")))


@pytest.mark.parametrize("code", list(RULES))
def test_explain_prints_the_doc_page(code, capsys) -> None:
    status, out, _ = run(capsys, "--explain", code.lower())
    assert status == EXIT_CLEAN
    assert out == RULES[code].doc_page()
    page = Path(__file__).resolve().parent.parent / "docs" / "rules" / f"{code}.md"
    assert out == page.read_text(encoding="utf-8")


def test_explain_unknown_code(capsys) -> None:
    status, out, err = run(capsys, "--explain", "TLC999")
    assert status == EXIT_ERROR and out == "" and "TLC999" in err


class _Tty:
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_asked_not_to(monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(_Tty(), no_color=False)
    assert not use_color(_Tty(), no_color=True)
    assert not use_color(sys.stderr if not sys.stderr.isatty() else object(), no_color=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Tty(), no_color=False)


def test_coloured_text_and_no_color_flag(bad) -> None:
    env_code = (
        "import sys, os\n"
        "from lifecycle_lint import cli\n"
        "sys.stdout.isatty = lambda: True\n"
        "raise SystemExit(cli.main(sys.argv[1:]))\n"
    )
    base = {"PATH": "/usr/bin:/bin", "TERM": "xterm"}
    coloured = subprocess.run(
        [sys.executable, "-c", env_code, str(bad)], capture_output=True, text=True, env=base
    )
    assert "\033[" in coloured.stdout and "TLC201" in coloured.stdout
    for extra_args, env in ((["--no-color"], base), ([], {**base, "NO_COLOR": "1"})):
        plain = subprocess.run(
            [sys.executable, "-c", env_code, *extra_args, str(bad)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert "\033[" not in plain.stdout and "TLC201" in plain.stdout


def test_unknown_format_is_a_usage_error(bad, capsys) -> None:
    status, _, _ = run(capsys, "--format", "xml", str(bad))
    assert status == EXIT_ERROR


@pytest.fixture
def undecodable_name(tmp_path: Path) -> Path:
    """Issue 15 item 8: a file name whose bytes are not UTF-8."""
    folder = tmp_path / "src"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"bad\xff.py")
    try:
        with open(raw, "wb") as stream:
            stream.write(SOURCE.encode())
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    return folder


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("text", "src/bad\\xff.py:5:18: TLC201 "),
        ("full", "src/bad\\xff.py:5:18: TLC201 "),
        ("github", "::error file=src/bad\\xff.py,line=5,"),
        ("json", '"path": "src/bad\\\\xff.py"'),
        ("sarif", '"uri": "src/bad%FF.py"'),
    ],
)
def test_file_names_that_are_not_utf8_are_escaped(undecodable_name, fmt, shown) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", "--no-color", "--format", fmt, "src"],
        cwd=undecodable_name.parent,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # strict, as most terminals are
    )
    assert done.returncode == EXIT_FINDINGS, done.stderr
    out = done.stdout.decode("utf-8")  # valid UTF-8: no lone surrogate, no raw byte
    assert shown in out
    assert "\\udcff" not in out
    if fmt == "full":
        assert '5 | client.end_trace("tr-1", status="ok")' in out  # the source line is read
    if fmt == "sarif":
        validate_sarif(json.loads(out))


def test_diff_of_a_file_name_that_is_not_utf8(undecodable_name) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", "--diff", "src"],
        cwd=undecodable_name.parent,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == EXIT_FINDINGS, done.stderr
    assert done.stdout.decode("utf-8").splitlines()[:2] == [
        "--- a/src/bad\\xff.py",
        "+++ b/src/bad\\xff.py",
    ]
