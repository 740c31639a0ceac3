"""``-j/--jobs``: worker processes give the same results, in the same order, as one."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
from pathlib import Path

import pytest

from lifecycle_lint import cli
from lifecycle_lint.cli import EXIT_ERROR, Task, main, plan_workers, run_tasks
from lifecycle_lint.engine import LintOptions
from tests.fixture_markers import all_fixtures, read_fixture

FIX_CASES = Path(__file__).resolve().parent / "data" / "fix"


def many_files(folder: Path, copies: int = 3) -> Path:
    """Every plain fixture, several times over, plus files without a token."""
    for n in range(copies):
        for path in all_fixtures():
            if read_fixture(path).options:
                continue
            target = folder / f"copy{n}" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for n in range(20):
        (folder / f"plain{n}.py").write_text("import mlflow\n", encoding="utf-8")
    return folder


def output(capsys, *args: str) -> tuple[int, str]:
    status = main(["--no-color", "--no-cache", *args])
    return status, capsys.readouterr().out


def test_plan_workers() -> None:
    kb = 1024
    assert plan_workers(jobs=8, sizes=[100 * kb] * 3) == 0  # not worth a process
    assert plan_workers(jobs=1, sizes=[kb] * 1000) == 0
    assert plan_workers(jobs=4, sizes=[kb] * 1000) == 4
    assert plan_workers(jobs=64, sizes=[100 * kb] * 40) == 40 // cli.MIN_FILES_PER_WORKER
    # Many files, little source: starting processes would cost more than it saves.
    assert plan_workers(jobs=2, sizes=[2 * kb] * 100) == 0
    assert plan_workers(jobs=4, sizes=[20 * kb] * 16) == 2  # 320 KB: two workers' worth


@pytest.fixture
def small_work_pays(monkeypatch) -> None:
    """The fixtures are small: let a pool start for them, as it would for real code."""
    monkeypatch.setattr(cli, "MIN_BYTES_PER_WORKER", 1)


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_parallel_output_is_identical_to_serial(tmp_path, capsys, fmt, small_work_pays) -> None:
    folder = str(many_files(tmp_path))
    serial = output(capsys, "-j", "1", "--format", fmt, folder)
    parallel = output(capsys, "-j", "4", "--format", fmt, folder)
    assert parallel == serial
    assert serial[0] == 1 and serial[1]


def test_worker_processes_are_used_for_many_files(tmp_path, small_work_pays) -> None:
    files = sorted(many_files(tmp_path).rglob("*.py"))
    tasks = [Task(path, LintOptions()) for path in files]
    outcomes = run_tasks(tasks, jobs=2)
    assert [o.path for o in outcomes] == [str(p) for p in files]
    parsed = [o for o in outcomes if o.worker]
    assert parsed and {o.worker for o in parsed} - {os.getpid()}
    serial = run_tasks(tasks, jobs=1)
    key = lambda f: (f.path, f.line, f.column, f.end_line, f.end_column, f.code)  # noqa: E731
    assert [list(map(key, o.findings)) for o in outcomes] == [
        list(map(key, o.findings)) for o in serial
    ]


def test_no_pool_for_a_few_files(tmp_path, capsys, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a process pool was started for three files")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    for n in range(3):
        shutil.copy2(all_fixtures()[5], tmp_path / f"f{n}.py")
    status, out = output(capsys, "-j", "8", str(tmp_path))
    assert status == 1 and out


def test_parallel_fix_is_identical_to_serial(
    tmp_path, capsys, monkeypatch, small_work_pays
) -> None:
    monkeypatch.chdir(tmp_path)
    for mode in ("serial", "parallel"):
        for n in range(8):
            for case in FIX_CASES.glob("*.py"):
                if "mlflow2" in case.name:
                    continue
                target = tmp_path / mode / f"{n}_{case.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(case, target)
    os.chdir(tmp_path / "serial")
    serial = output(capsys, "-j", "1", "--fix", "--format", "json", ".")
    os.chdir(tmp_path / "parallel")
    parallel = output(capsys, "-j", "4", "--fix", "--format", "json", ".")
    assert parallel == serial
    for fixed in (tmp_path / "serial").iterdir():
        expected = FIX_CASES / fixed.name.split("_", 1)[1]
        assert fixed.read_text() == expected.with_suffix(".fixed").read_text()
        assert (tmp_path / "parallel" / fixed.name).read_text() == fixed.read_text()


@pytest.mark.parametrize("value", ["-1", "many"])
def test_invalid_jobs(capsys, value) -> None:
    assert main(["-j", value, "."]) == EXIT_ERROR
    assert "jobs" in capsys.readouterr().err


def test_jobs_zero_means_the_cpu_count(tmp_path, capsys) -> None:
    folder = str(many_files(tmp_path, copies=1))
    assert output(capsys, "-j", "0", folder) == output(capsys, "-j", "1", folder)
