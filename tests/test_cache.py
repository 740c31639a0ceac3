"""The results cache: hits, misses after a change, damaged entries, concurrent runs, pruning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifecycle_lint import cache as cache_module
from lifecycle_lint import cli
from lifecycle_lint.cache import CACHE_DIR_NAME, ENV_VAR, Cache, entry_key
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_FINDINGS, main
from lifecycle_lint.engine import LintOptions
from lifecycle_lint.findings import Finding

BAD = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace("tr-1", status="ok")
"""
# line 5: TLC201 (col 18), TLC401 (col 33)
PLAIN = "import mlflow\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text(BAD, encoding="utf-8")
    (root / "pkg" / "b.py").write_text(BAD.replace("agent", "other"), encoding="utf-8")
    (root / "pkg" / "plain.py").write_text(PLAIN, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def lint(capsys, *args: str) -> tuple[int, list[tuple[str, int, int, str]]]:
    status = main(["--format", "json", "-j", "1", *args])
    out = capsys.readouterr().out
    rows = [
        (Path(f["path"]).as_posix(), f["line"], f["column"], f["code"]) for f in json.loads(out)
    ]
    return status, rows


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / cache_module.__version__).rglob("*") if p.is_file())


def test_a_second_run_takes_every_result_from_the_cache(project, capsys, monkeypatch) -> None:
    folder = Path(os.environ[ENV_VAR])
    first = lint(capsys, ".")
    assert first[0] == EXIT_FINDINGS and len(first[1]) == 4
    assert len(entries(folder)) == 2  # the two files with a lifecycle call, not plain.py
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (folder / ".gitignore").read_text() == "*\n"

    def refuse(task):
        raise AssertionError(f"{task.path} was linted, not taken from the cache")

    monkeypatch.setattr(cli, "run_task", refuse)
    assert lint(capsys, ".") == first
    assert lint(capsys, "pkg/a.py")[1] == [r for r in first[1] if r[0] == "pkg/a.py"]


def test_the_default_cache_is_at_the_project_root(project, capsys, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    monkeypatch.chdir(project / "pkg")
    lint(capsys, ".")
    folder = project / CACHE_DIR_NAME
    assert len(entries(folder)) == 2 and (folder / "CACHEDIR.TAG").is_file()
    assert not (project / "pkg" / CACHE_DIR_NAME).exists()
    # The run never checks its own cache, nor does git see it.
    assert (folder / ".gitignore").read_text() == "*\n"


def test_no_cache_and_cache_dir(project, capsys, tmp_path) -> None:
    folder = Path(os.environ[ENV_VAR])
    lint(capsys, "--no-cache", ".")
    assert not folder.exists() or entries(folder) == []
    chosen = tmp_path / "elsewhere"
    lint(capsys, "--cache-dir", str(chosen), ".")
    assert len(entries(chosen)) == 2
    assert not folder.exists() or entries(folder) == []


def test_a_changed_file_is_checked_again(project, capsys) -> None:
    before = lint(capsys, ".")
    (project / "pkg" / "a.py").write_text(BAD.replace('"ok"', '"OK"'), encoding="utf-8")
    after = lint(capsys, ".")
    assert ("pkg/a.py", 5, 33, "TLC401") in before[1]
    assert ("pkg/a.py", 5, 33, "TLC401") not in after[1]
    assert ("pkg/b.py", 5, 33, "TLC401") in after[1]
    assert len(entries(Path(os.environ[ENV_VAR]))) == 2  # replaced, not added


def test_changed_settings_are_checked_again(project, capsys) -> None:
    everything = lint(capsys, ".")[1]
    assert {code for *_, code in lint(capsys, "--select", "TLC401", ".")[1]} == {"TLC401"}
    (project / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\n[tool.lifecycle-lint.per-file-ignores]\n"pkg/a.py" = ["TLC4"]\n'
    )
    from lifecycle_lint import config

    config.clear_cache()
    rows = lint(capsys, ".")[1]
    assert ("pkg/a.py", 5, 33, "TLC401") not in rows and ("pkg/b.py", 5, 33, "TLC401") in rows
    (project / "pyproject.toml").unlink()
    config.clear_cache()
    assert lint(capsys, ".")[1] == everything


def test_another_version_of_the_tool_does_not_read_the_entries(
    project, capsys, monkeypatch
) -> None:
    first = lint(capsys, ".")
    # Poison the entries as the current version: the run reads them ...
    folder = Path(os.environ[ENV_VAR])
    options = LintOptions()
    cache = Cache(folder)
    for name in ("a.py", "b.py"):
        data = (project / "pkg" / name).read_bytes()
        fake = Finding(f"pkg/{name}", 1, 1, 1, 1, "TLC304", "client-api-with-autolog", "fake")
        cache.put(f"pkg/{name}", options, entry_key(data, options), [fake])
    assert {code for *_, code in lint(capsys, ".")[1]} == {"TLC304"}
    # ... and another version (or an edited checkout) does not.
    monkeypatch.setattr(cache_module, "tool_fingerprint", lambda: "another version")
    settings = cache_module.settings_digest
    assert lint(capsys, ".") == first
    assert settings is cache_module.settings_digest


def test_fix_and_diff_never_trust_a_cached_result(project, capsys) -> None:
    options = LintOptions()
    cache = Cache(Path(os.environ[ENV_VAR]))
    data = (project / "pkg" / "a.py").read_bytes()
    cache.put("pkg/a.py", options, entry_key(data, options), [])  # "nothing to fix"
    assert lint(capsys, "pkg/a.py") == (EXIT_CLEAN, [])  # the check trusts it ...
    assert main(["--diff", "pkg/a.py"]) == EXIT_FINDINGS  # ... the diff does not
    assert '+client.end_trace("tr-1", status="OK")' in capsys.readouterr().out
    main(["--fix", "--format", "json", "pkg/a.py"])
    capsys.readouterr()
    assert '"OK"' in (project / "pkg" / "a.py").read_text()


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"key": null, "findings": []}',
        b"\xff\xfe\x00garbage",
        "KEY_WITH_ROWS",  # the right key, rows of the wrong shape
        "KEY_WITH_TYPES",  # the right key, a line that is not a number
    ],
)
def test_a_damaged_entry_is_ignored_and_rewritten(project, capsys, damage) -> None:
    first = lint(capsys, ".")
    folder = Path(os.environ[ENV_VAR])
    for entry in entries(folder):
        key = json.loads(entry.read_bytes())["key"]
        if damage == "KEY_WITH_ROWS":
            body = json.dumps({"key": key, "findings": [[1, 2, 3]]}).encode()
        elif damage == "KEY_WITH_TYPES":
            row = ["5", 1, 5, 2, "TLC201", "hardcoded-id", "m", None]
            body = json.dumps({"key": key, "findings": [row]}).encode()
        else:
            assert isinstance(damage, bytes)
            body = damage
        entry.write_bytes(body)
    assert lint(capsys, ".") == first
    for entry in entries(folder):
        assert json.loads(entry.read_bytes())["findings"]  # rewritten whole


def test_an_unwritable_cache_changes_nothing(project, capsys, tmp_path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    expected = lint(capsys, "--no-cache", ".")
    assert lint(capsys, "--cache-dir", str(blocked), ".") == expected
    assert lint(capsys, "--cache-dir", str(blocked / "below"), ".") == expected


def test_parallel_runs_fill_the_same_entries(project, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "MIN_BYTES_PER_WORKER", 1)
    monkeypatch.setattr(cli, "MIN_FILES_PER_WORKER", 1)
    for n in range(6):
        (project / "pkg" / f"c{n}.py").write_text(BAD.replace("agent", f"a{n}"))
    parallel = lint(capsys, "-j", "2", ".")
    folder = Path(os.environ[ENV_VAR])
    assert len(entries(folder)) == 8

    def refuse(task):
        raise AssertionError("linted again")

    monkeypatch.setattr(cli, "run_task", refuse)
    assert lint(capsys, ".") == parallel


def test_concurrent_runs_share_the_cache(project, tmp_path) -> None:
    """Runs started together on files that change between rounds: every run reports the
    findings of the bytes it read, and the cache stays readable."""
    for n in range(20):
        (project / "pkg" / f"c{n}.py").write_text(BAD.replace("agent", f"a{n}"))
    folder = tmp_path / "shared-cache"
    command = [sys.executable, "-m", "lifecycle_lint", "--format", "json", "-j", "1"]
    env = {**os.environ, ENV_VAR: str(folder)}

    def expected() -> str:
        done = subprocess.run(
            [*command, "--no-cache", "."], cwd=project, env=env, capture_output=True, text=True
        )
        return done.stdout

    for status in ('"ok"', '"OK"', '"ok"'):
        for n in range(20):
            path = project / "pkg" / f"c{n}.py"
            path.write_text(BAD.replace("agent", f"a{n}").replace('"ok"', status))
        want = expected()
        runs = [
            subprocess.Popen([*command, "."], cwd=project, env=env, stdout=subprocess.PIPE)
            for _ in range(4)
        ]
        outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
        assert outputs == [want] * 4
    assert all(json.loads(e.read_bytes())["key"] for e in entries(folder))
    assert not [p for p in folder.rglob(".tmp-*")]  # no temporary file left behind


def test_pruning_removes_entries_not_used_for_a_month(project, capsys) -> None:
    folder = Path(os.environ[ENV_VAR])
    lint(capsys, ".")
    cache = Cache(folder)
    assert cache.prune() == 0  # the first run only starts the clock
    old, recent = entries(folder)
    month_ago = time.time() - cache_module.PRUNE_AFTER - 60
    os.utime(old, (month_ago, month_ago))
    leftover = recent.parent / ".tmp-dead"
    leftover.write_text("{")
    hour_ago = time.time() - cache_module.STALE_TEMP - 60
    os.utime(leftover, (hour_ago, hour_ago))
    assert cache.prune() == 0  # pruned less than a day ago: not again
    assert cache.prune(force=True) == 2
    assert entries(folder) == [recent]
    # A hit refreshes an entry's time, so an entry in use is never pruned.
    os.utime(recent, (month_ago, month_ago))
    lint(capsys, ".")
    assert recent.stat().st_mtime > month_ago + 3600
    assert cache.prune(force=True) == 0 and len(entries(folder)) == 2


CLIENTS = """\
from mlflow import MlflowClient

client = MlflowClient()
"""
USER = """\
from .clients import client


def run(root):
    span = client.start_span("step", root.trace_id, root.span_id)
"""
# line 5: TLC101 while ``client`` in the other module is an MlflowClient


def test_a_changed_module_in_the_project_rechecks_its_users(tmp_path, capsys, monkeypatch):
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n", encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    clients = root / "app" / "clients.py"
    clients.write_text(CLIENTS, encoding="utf-8")
    (root / "app" / "user.py").write_text(USER, encoding="utf-8")
    monkeypatch.chdir(root)
    folder = Path(os.environ[ENV_VAR])
    finding = ("app/user.py", 5, 12, "TLC101")

    assert lint(capsys, "app/user.py") == (EXIT_FINDINGS, [finding])
    entry = json.loads(entries(folder)[0].read_text(encoding="utf-8"))
    assert str(clients.resolve()) in entry["dependencies"]
    assert lint(capsys, "app/user.py") == (EXIT_FINDINGS, [finding])  # a hit

    # The user's bytes are the same; the module it imports its client from is not.
    clients.write_text("client = object()\n", encoding="utf-8")
    from lifecycle_lint import project as project_module

    project_module.clear_cache()  # a new run in the same process: nothing remembered
    assert lint(capsys, "app/user.py") == (EXIT_CLEAN, [])
    clients.unlink()
    project_module.clear_cache()
    assert lint(capsys, "app/user.py") == (EXIT_CLEAN, [])
