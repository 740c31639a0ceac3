"""The command: exit codes, bad input, selection, noqa, formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_lint import __version__
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main

BAD = 'from mlflow import MlflowClient\nclient = MlflowClient()\nclient.end_trace("tr-1")\n'
GOOD = "from mlflow import MlflowClient\nclient = MlflowClient()\n"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_exit_codes(tmp_path, capsys) -> None:
    good = write(tmp_path, "good.py", GOOD)
    bad = write(tmp_path, "bad.py", BAD)
    assert main([str(good)]) == EXIT_CLEAN
    assert main([str(bad)]) == EXIT_FINDINGS
    out = capsys.readouterr().out
    assert f"{bad}:3:18: TLC201 " in out


def test_missing_path_is_a_usage_error(tmp_path, capsys) -> None:
    assert main([str(tmp_path / "nope.py")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "nope.py" in err and err.count("\n") == 1


def test_unknown_option_and_code_are_usage_errors(capsys) -> None:
    assert main(["--no-such-option"]) == EXIT_ERROR
    assert main(["--select", "XYZ9", "."]) == EXIT_ERROR
    assert "XYZ9" in capsys.readouterr().err


def test_version(capsys) -> None:
    assert main(["--version"]) == EXIT_CLEAN
    assert __version__ in capsys.readouterr().out


def test_folder_without_python_files_is_fine(tmp_path) -> None:
    write(tmp_path, "notes.txt", "start_trace")
    assert main([str(tmp_path)]) == EXIT_CLEAN


def test_skipped_folders(tmp_path, capsys) -> None:
    for folder in (".git", "build", "dist", "__pycache__", ".venv", "node_modules"):
        write(tmp_path, f"{folder}/bad.py", BAD)
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "myenv/lib/bad.py", BAD)
    write(tmp_path, "pkg/sub/bad.py", BAD)
    assert main(["--format", "json", str(tmp_path)]) == EXIT_FINDINGS
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)}
    assert paths == {str(tmp_path / "pkg/sub/bad.py")}


def test_broken_files_do_not_stop_the_others(tmp_path, capsys) -> None:
    write(tmp_path, "a_syntax.py", "client.start_trace(\n")
    write(tmp_path, "b_bytes.py", b"x = '\xff\xfe'  # start_trace\n")
    write(tmp_path, "c_bad.py", BAD)
    assert main(["--format", "json", str(tmp_path)]) == EXIT_FINDINGS
    codes = [(Path(f["path"]).name, f["code"]) for f in json.loads(capsys.readouterr().out)]
    assert codes == [("a_syntax.py", "TLC001"), ("b_bytes.py", "TLC002"), ("c_bad.py", "TLC201")]


def test_deep_nesting_is_reported_not_crashed(tmp_path, capsys) -> None:
    deep = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\nclient.start_trace('a')\n"
    write(tmp_path, "deep.py", deep)
    write(tmp_path, "z_bad.py", BAD)
    status = main(["--format", "json", str(tmp_path)])
    findings = json.loads(capsys.readouterr().out)
    assert ("z_bad.py", "TLC201") in [(Path(f["path"]).name, f["code"]) for f in findings]
    assert ("deep.py", "TLC001") in [(Path(f["path"]).name, f["code"]) for f in findings]
    assert status == EXIT_FINDINGS


def test_select_and_ignore(tmp_path, capsys) -> None:
    bad = write(tmp_path, "bad.py", BAD.replace('"tr-1"', '"tr-1", status="ok"'))
    main(["--format", "json", "--select", "TLC401", str(bad)])
    assert [f["code"] for f in json.loads(capsys.readouterr().out)] == ["TLC401"]
    main(["--format", "json", "--ignore", "TLC4", str(bad)])
    assert [f["code"] for f in json.loads(capsys.readouterr().out)] == ["TLC201"]


def test_json_schema_keys(tmp_path, capsys) -> None:
    bad = write(tmp_path, "bad.py", BAD)
    main(["--format", "json", str(bad)])
    (finding,) = json.loads(capsys.readouterr().out)
    assert finding == {
        "path": str(bad),
        "line": 3,
        "column": 18,
        "end_line": 3,
        "end_column": 24,
        "code": "TLC201",
        "name": "hardcoded-id",
        "message": finding["message"],
        "fix": None,
    }


def test_files_without_tokens_are_not_parsed_and_libcst_not_imported(tmp_path) -> None:
    for i in range(5):
        write(tmp_path, f"plain{i}.py", "import mlflow\ndef broken(:\n")
    code = (
        "import sys\nfrom lifecycle_lint.cli import main\n"
        f"status = main([{str(tmp_path)!r}])\n"
        "assert 'libcst' not in sys.modules, 'libcst was imported'\n"
        "raise SystemExit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout


def test_python_dash_m(tmp_path) -> None:
    bad = write(tmp_path, "bad.py", BAD)
    result = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == EXIT_FINDINGS
    assert "TLC201" in result.stdout


@pytest.mark.parametrize("args", [["--mlflow-version", "2"], []])
def test_mlflow_version_switches_tlc204(tmp_path, capsys, args) -> None:
    src = GOOD + "root = client.start_trace('a')\nclient.end_trace(request_id=root.trace_id)\n"
    path = write(tmp_path, "v.py", src)
    main(["--format", "json", *args, str(path)])
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)]
    assert codes == ([] if args else ["TLC204"])


def test_internal_error_in_one_file_is_reported_and_the_run_goes_on(
    tmp_path, capsys, monkeypatch
) -> None:
    from lifecycle_lint.rules import RULES

    write(tmp_path, "a_boom.py", BAD.replace('"tr-1"', '"tr-boom"'))
    write(tmp_path, "b_bad.py", BAD)
    original = RULES["TLC201"].check

    def explode(self, ctx):  # type: ignore[no-untyped-def]
        if ctx.path.endswith("a_boom.py"):
            raise RuntimeError("simulated bug")
        return original(self, ctx)

    monkeypatch.setattr(RULES["TLC201"], "check", explode)
    status = main(["--format", "json", "-j", "1", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == EXIT_ERROR
    assert "a_boom.py" in captured.err and "simulated bug" in captured.err
    assert "Traceback" not in captured.err
    assert [Path(f["path"]).name for f in json.loads(captured.out)] == ["b_bad.py"]


def test_a_nul_byte_is_a_syntax_error_as_cpython_says(tmp_path, capsys) -> None:
    source = (
        "from mlflow import MlflowClient\nc = MlflowClient()\n\ndef f():\n"
        '    x = 1\x00\n    leaked = c.start_trace("a")\n'
    )
    path = tmp_path / "nul.py"
    path.write_bytes(source.encode())
    status = main(["--no-cache", "--format", "json", str(path)])
    rows = [
        (f["line"], f["column"], f["code"], f["message"])
        for f in json.loads(capsys.readouterr().out)
    ]
    assert status == 1
    assert rows == [
        (
            5,
            10,
            "TLC001",
            "syntax error, the file is not checked: source code cannot contain null bytes",
        )
    ]
