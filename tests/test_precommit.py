"""The pre-commit hooks, run by real ``pre-commit try-repo`` on a throwaway repository.

``try-repo`` clones the hook repository at its HEAD, so the project's working tree
(committed or not) is copied into a temporary git repository and committed there:
the hooks under test are the ones in this checkout. pre-commit then builds the hook's
environment by pip-installing that copy, as it would for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BAD = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace("tr-1")
"""
GOOD = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace(root.trace_id)
"""
FIXABLE = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace(request_id=root.request_id, status="ok")
"""

pytestmark = pytest.mark.slow

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _project_files() -> list[str]:
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted({name for name in listed.split("\0") if name})


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree of this checkout, committed in a repository of its own."""
    copy = tmp_path_factory.mktemp("hook-repo")
    for name in _project_files():
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "snapshot of the working tree")
    return copy


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by this module's runs: the hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "user"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "bad.py").write_text(BAD, encoding="utf-8")
    (repo / "good.py").write_text(GOOD, encoding="utf-8")
    (repo / "fixable.py").write_text(FIXABLE, encoding="utf-8")
    (repo / "notes.txt").write_text("client.end_trace('tr-1')\n", encoding="utf-8")
    _git(repo, "add", "-A")
    return repo


def _try_repo(
    hook_repo: Path, home: Path, user_repo: Path, hook: str, *files: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(home),
        "PRE_COMMIT_COLOR": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hook_repo),
            hook,
            "--verbose",
            "--files",
            *files,
        ],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_definitions_are_valid() -> None:
    import yaml  # pre-commit's own dependency

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"lifecycle-lint", "lifecycle-lint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["entry"].split()[0] == "lifecycle-lint"
        # pre-commit names every file: the configured exclusions must still hold.
        assert "--force-exclude" in hook["entry"].split()
    assert "--fix" in hooks["lifecycle-lint-fix"]["entry"].split()


def test_hook_fails_on_a_bad_file_and_passes_on_a_good_one(
    hook_repo: Path, pre_commit_home: Path, user_repo: Path
) -> None:
    bad = _try_repo(hook_repo, pre_commit_home, user_repo, "lifecycle-lint", "bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.py:5:18: TLC201" in bad.stdout

    good = _try_repo(
        hook_repo, pre_commit_home, user_repo, "lifecycle-lint", "good.py", "notes.txt"
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


def test_hook_skips_the_files_the_configuration_excludes(
    hook_repo: Path, pre_commit_home: Path, user_repo: Path
) -> None:
    (user_repo / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nextend-exclude = ["generated"]\n', encoding="utf-8"
    )
    (user_repo / "generated").mkdir()
    (user_repo / "generated" / "client.py").write_text(BAD, encoding="utf-8")
    _git(user_repo, "add", "-A")
    done = _try_repo(
        hook_repo, pre_commit_home, user_repo, "lifecycle-lint", "generated/client.py", "good.py"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "TLC201" not in done.stdout


def test_fix_hook_rewrites_the_file(
    hook_repo: Path, pre_commit_home: Path, user_repo: Path
) -> None:
    done = _try_repo(hook_repo, pre_commit_home, user_repo, "lifecycle-lint-fix", "fixable.py")
    # pre-commit fails a hook that changed files, so the user reviews the fix.
    assert done.returncode == 1, done.stdout + done.stderr
    assert "files were modified by this hook" in done.stdout
    fixed = (user_repo / "fixable.py").read_text(encoding="utf-8")
    assert fixed == FIXABLE.replace("request_id=root.request_id", "trace_id=root.trace_id").replace(
        '"ok"', '"OK"'
    )
    again = _try_repo(hook_repo, pre_commit_home, user_repo, "lifecycle-lint-fix", "fixable.py")
    assert again.returncode == 0, again.stdout + again.stderr
