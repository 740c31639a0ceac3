"""Options for adopting the linter (issue 13 items 2-3): standard input (``-``,
``--stdin-filename``, ``--fix`` writing the source back), ``--exit-zero``,
``--quiet`` and ``--show-files``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main

SOURCE = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace("tr-1", status="ok")
client.end_span(request_id=root.trace_id, span_id=root.span_id)
"""
FIXED = SOURCE.replace('"ok"', '"OK"').replace("request_id=", "trace_id=")


def lint(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", "-j", "1", "--no-color", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def codes(out: str) -> list[tuple[str, int, str]]:
    rows = []
    for line in out.splitlines():
        where, message = line.split(": ", 1)
        path, row, _ = where.rsplit(":", 2)
        rows.append((path, int(row), message.split()[0]))
    return rows


def test_dash_reads_standard_input() -> None:
    status, out, err = lint("-", stdin=SOURCE.encode())
    assert (status, err) == (EXIT_FINDINGS, "")
    assert codes(out) == [("-", 5, "TLC201"), ("-", 5, "TLC401"), ("-", 6, "TLC204")]


def test_stdin_filename_names_it_and_picks_its_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nignore = ["TLC401"]\n'
        '[tool.lifecycle-lint.per-file-ignores]\n"tests/**" = ["TLC201"]\n',
        encoding="utf-8",
    )
    sub = tmp_path / "legacy"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[tool.lifecycle-lint]\nmlflow-version = 2\n", "utf-8")
    # Neither file exists: the name alone decides the configuration.
    status, out, _ = lint(
        "--stdin-filename", "src/app.py", "-", stdin=SOURCE.encode(), cwd=tmp_path
    )
    assert (status, codes(out)) == (
        EXIT_FINDINGS,
        [("src/app.py", 5, "TLC201"), ("src/app.py", 6, "TLC204")],
    )
    status, out, _ = lint(
        "--stdin-filename", "tests/test_app.py", stdin=SOURCE.encode(), cwd=tmp_path
    )
    assert codes(out) == [("tests/test_app.py", 6, "TLC204")]  # no '-' needed without paths
    status, out, _ = lint(
        "--stdin-filename", "legacy/app.py", "-", stdin=SOURCE.encode(), cwd=tmp_path
    )
    assert codes(out) == [("legacy/app.py", 5, "TLC201"), ("legacy/app.py", 5, "TLC401")]


def test_noqa_and_full_format_read_the_source_from_stdin(tmp_path: Path) -> None:
    source = SOURCE.replace('status="ok")', 'status="ok")  # noqa: TLC201')
    (tmp_path / "app.py").write_text("# the file on disk differs from the buffer\n", "utf-8")
    status, out, _ = lint(
        "--format", "full", "--stdin-filename", "app.py", "-", stdin=source.encode(), cwd=tmp_path
    )
    assert status == EXIT_FINDINGS
    assert out.splitlines()[:4] == [
        'app.py:5:33: TLC401 invalid status "ok": MLflow accepts only "OK", "ERROR" or "UNSET"',
        "  |",
        '5 | client.end_trace("tr-1", status="ok")  # noqa: TLC201',
        "  |                                 ^^^^",
    ]


def test_fix_writes_the_fixed_source_to_stdout_and_the_report_to_stderr() -> None:
    status, out, err = lint("--fix", "-", stdin=SOURCE.encode())
    assert status == EXIT_FINDINGS
    assert out == FIXED
    assert err.splitlines() == [
        '-:5:18: TLC201 hardcoded trace_id "tr-1" passed to `end_trace`: read the ID from the '
        "span that started it",
        "lifecycle-lint: fixed 2 finding(s) in 1 file(s), 1 remaining",
    ]
    status, out, err = lint("--fix", "--quiet", "-", stdin=SOURCE.encode())
    assert (status, out) == (EXIT_FINDINGS, FIXED)
    assert err.splitlines() == [err.splitlines()[0]]  # the finding, no summary


def test_fix_keeps_the_bytes_it_does_not_fix() -> None:
    crlf = b"\xef\xbb\xbf" + SOURCE.replace("\n", "\r\n").encode()
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", "--fix", "-q", "-"],
        input=crlf,
        capture_output=True,
    )
    assert done.stdout == b"\xef\xbb\xbf" + FIXED.replace("\n", "\r\n").encode()
    # A source that cannot be decoded or parsed comes back as it was, for the editor's buffer.
    for broken in (b"x = '\xff'  # start_trace\n", b"client.end_trace(\n", b""):
        done = subprocess.run(
            [sys.executable, "-m", "lifecycle_lint", "--fix", "-"],
            input=broken,
            capture_output=True,
        )
        assert done.stdout == broken


def test_diff_of_stdin() -> None:
    status, out, _ = lint("--diff", "--stdin-filename", "app.py", "-", stdin=SOURCE.encode())
    assert status == EXIT_FINDINGS
    assert out.splitlines()[:2] == ["--- a/app.py", "+++ b/app.py"]
    assert '+client.end_trace("tr-1", status="OK")' in out.splitlines()


def test_dash_with_other_paths_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["-", str(tmp_path)]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "lifecycle-lint: error: '-' (standard input) cannot be combined with other paths\n"
    )


def test_exit_zero(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(SOURCE, encoding="utf-8")
    assert main(["-j", "1", "--exit-zero", str(bad)]) == EXIT_CLEAN
    assert len(capsys.readouterr().out.splitlines()) == 3  # the findings are still shown
    assert main(["-j", "1", "--exit-zero", "--diff", str(bad)]) == EXIT_CLEAN
    assert main(["--exit-zero", str(tmp_path / "missing.py")]) == EXIT_ERROR


def test_quiet_prints_the_findings_only(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(SOURCE, encoding="utf-8")
    assert main(["-j", "1", "--quiet", "--diff", str(bad)]) == EXIT_FINDINGS
    out, err = capsys.readouterr()
    assert out.startswith("---") and err == ""
    assert main(["-j", "1", "--quiet", "--fix", str(bad)]) == EXIT_FINDINGS
    out, err = capsys.readouterr()
    assert (out.count("\n"), err) == (1, "")


def test_show_files_lists_what_a_run_would_check(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nextend-exclude = ["generated"]\n', encoding="utf-8"
    )
    for name in ("b.py", "a.py", "pkg/c.pyi", "generated/d.py", "notes.txt", ".git/e.py"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SOURCE, encoding="utf-8")
    assert main(["--show-files", str(tmp_path)]) == EXIT_CLEAN  # findings or not
    out = capsys.readouterr().out
    assert out.splitlines() == [str(tmp_path / n) for n in ("a.py", "b.py", "pkg/c.pyi")]
    assert main(["--show-files", "--stdin-filename", "x.py", "-"]) == EXIT_CLEAN
    assert capsys.readouterr().out == "x.py\n"
