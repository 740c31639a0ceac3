"""Writing the report (issue 15 item 5): a report that cannot be written is a usage
error with one line on stderr; a closed or broken standard output ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_lint.cli import EXIT_ERROR, EXIT_FINDINGS, main

BAD = 'from mlflow import MlflowClient\nclient = MlflowClient()\nclient.end_trace("tr-1")\n'


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(BAD, encoding="utf-8")
    return path


def test_output_file_in_a_missing_folder(bad: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "nope" / "report.txt"
    assert main(["-j", "1", "-o", str(target), str(bad)]) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"lifecycle-lint: error: cannot write the report to {target}: its folder does not exist\n"
    )


@pytest.mark.parametrize("mode", ["check", "--diff"])
def test_output_file_that_is_a_folder(bad: Path, tmp_path: Path, capsys, mode: str) -> None:
    args = [] if mode == "check" else [mode]
    assert main(["-j", "1", *args, "-o", str(tmp_path), str(bad)]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        f"lifecycle-lint: error: cannot write the report to {tmp_path}: it is a folder\n"
    )


def test_output_file_that_vanishes_before_the_report_is_written(
    bad: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """The folder checked at the start is gone at the end: the same clear error."""
    folder = tmp_path / "out"
    folder.mkdir()
    import lifecycle_lint.cli as cli

    real = cli.run_tasks

    def run_then_remove(*args, **kwargs):  # type: ignore[no-untyped-def]
        outcomes = real(*args, **kwargs)
        folder.rmdir()
        return outcomes

    monkeypatch.setattr(cli, "run_tasks", run_then_remove)
    assert main(["-j", "1", "-o", str(folder / "r.txt"), str(bad)]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        f"lifecycle-lint: error: cannot write the report to {folder / 'r.txt'}: "
        "its folder does not exist\n"
    )


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lifecycle_lint", "-j", "1", *args]


def test_closed_stdout_ends_quietly(bad: Path) -> None:
    shell = 'exec "$@" >&-'
    done = subprocess.run(
        ["sh", "-c", shell, "sh", *_command(str(bad))], capture_output=False, stderr=subprocess.PIPE
    )
    assert (done.returncode, done.stderr) == (EXIT_FINDINGS, b"")


@pytest.mark.parametrize("copies", [1, 2000])
def test_a_reader_that_left_ends_quietly(tmp_path: Path, copies: int) -> None:
    path = tmp_path / "many.py"
    path.write_text(BAD + 'client.end_trace("tr-2")\n' * copies, encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has its lines
    try:
        done = subprocess.run(
            _command("--format", "full", str(path)), stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (EXIT_FINDINGS, b"")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_an_error(bad: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(_command(str(bad)), stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == EXIT_ERROR
    assert (
        done.stderr == "lifecycle-lint: error: cannot write the report: No space left on device\n"
    )


def test_characters_stdout_cannot_encode_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "café.py"
    path.write_text(BAD, encoding="utf-8")
    done = subprocess.run(
        _command(str(path)),
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )
    assert done.returncode == EXIT_FINDINGS
    assert done.stderr == b""
    assert done.stdout.startswith(str(tmp_path / "caf\\xe9.py:3:18: TLC201").encode())
