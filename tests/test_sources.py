"""Reading files to check (issue 15 item 6): a FIFO or another non-regular file named
on the command line is reported as TLC002 and the run goes on, without waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_lint.cli import EXIT_FINDINGS
from lifecycle_lint.sources import NotRegularFileError, read_source_bytes

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

BAD = (
    "from mlflow import MlflowClient\nclient = MlflowClient()\n"
    'client.end_trace("tr-1", status="ok")\n'
)


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.py"
    os.mkfifo(path)
    return path


def test_read_source_bytes_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    with pytest.raises(NotRegularFileError) as caught:
        read_source_bytes(_fifo(tmp_path))
    assert caught.value.strerror == "not a regular file"
    regular = tmp_path / "x.py"
    regular.write_bytes(b"x = 1\r\n")
    assert read_source_bytes(regular) == b"x = 1\r\n"


@pytest.mark.parametrize("mode", [[], ["--fix"], ["--diff"], ["--format", "full"]])
def test_a_named_fifo_is_reported_and_the_run_goes_on(tmp_path: Path, mode: list[str]) -> None:
    fifo = _fifo(tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text(BAD, encoding="utf-8")
    command = [sys.executable, "-m", "lifecycle_lint", "-j", "1", "--no-color", *mode]
    # A subprocess with a timeout: a regression would hang, not fail, in-process.
    done = subprocess.run(
        [*command, str(fifo), str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EXIT_FINDINGS
    if mode == ["--diff"]:
        assert done.stdout.startswith(f"--- a/{bad}")  # nothing to fix in the FIFO
        return
    assert f"{fifo}:1:1: TLC002 cannot read the file, it is not checked: not a regular file\n" in (
        done.stdout
    )
    assert f"{bad}:3:18: TLC201 " in done.stdout


def test_a_named_fifo_in_json(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    command = [sys.executable, "-m", "lifecycle_lint", "-j", "1", "--format", "json", str(fifo)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    found = [(f["path"], f["line"], f["code"]) for f in json.loads(done.stdout)]
    assert (done.returncode, found) == (EXIT_FINDINGS, [(str(fifo), 1, "TLC002")])
