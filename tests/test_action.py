"""The GitHub Action (issue 13 item 4): ``action.yml`` is read as GitHub reads it and
its steps' commands are run here, with the inputs a workflow would give; nothing
calls GitHub (the ``uses:`` steps are GitHub's own and are only checked by name)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lifecycle_lint.cli import EXIT_CLEAN, EXIT_FINDINGS
from tests.test_formats import validate_sarif

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
_CONDITION = re.compile(r"^inputs\.([\w-]+) == '([^']*)'$")

BAD = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace("tr-1")
"""


def inputs(**given: str) -> dict[str, str]:
    declared = ACTION["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, unknown
    return {name: given.get(name, spec.get("default", "")) for name, spec in declared.items()}


def resolve(value: str, values: dict[str, str]) -> str:
    resolved = _INPUT.sub(lambda m: values[m.group(1)], value)
    assert "${{" not in resolved, f"an expression this test cannot resolve: {value}"
    return resolved


def step(step_id: str) -> dict:  # type: ignore[type-arg]
    (found,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == step_id]
    return found


def runs(found: dict, values: dict[str, str]) -> bool:  # type: ignore[type-arg]
    condition = found.get("if")
    if condition is None:
        return True
    match = _CONDITION.match(condition)
    assert match, f"a condition this test cannot evaluate: {condition}"
    return values[match.group(1)] == match.group(2)


def run_step(step_id: str, cwd: Path, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The step's script as GitHub runs a ``shell: bash`` step (``bash -eo pipefail``)."""
    found = step(step_id)
    assert found["shell"] == "bash"
    env = {name: resolve(str(v), values) for name, v in found.get("env", {}).items()}
    # The environment GitHub gives: the action's own folder; lifecycle-lint on PATH.
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        **env,
        "GITHUB_ACTION_PATH": str(ROOT),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", found["run"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_the_action_is_composite_and_its_scripts_take_inputs_from_the_environment() -> None:
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    assert [s.get("uses", "").split("@")[0] for s in steps if "uses" in s] == [
        "actions/setup-python",
        "github/codeql-action/upload-sarif",
    ]
    for found in steps:
        if "run" in found:
            # Inputs reach a script through env only: never pasted into it (injection).
            assert "${{" not in found["run"], found["name"]
        for value in (*found.get("with", {}).values(), *found.get("env", {}).values()):
            resolve(str(value), inputs())  # every expression names a declared input
    assert '"$GITHUB_ACTION_PATH"' in step("install")["run"]  # the action's own copy


def test_the_lint_step_annotates_and_fails_on_findings(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "src" / "good.py").write_text("x = 1\n", encoding="utf-8")
    values = inputs()
    assert runs(step("lint"), values)
    done = run_step("lint", tmp_path, values)
    assert done.returncode == EXIT_FINDINGS, done.stderr
    assert done.stdout.startswith(
        "::error file=src/bad.py,line=5,col=18,endLine=5,endColumn=24,title=TLC201 hardcoded-id::"
    )
    # Paths and options from the inputs, split at spaces, never globbed.
    values = inputs(paths="src/good.py *.py", args="--select TLC1")
    done = run_step("lint", tmp_path, values)
    assert done.returncode != EXIT_CLEAN
    assert done.stderr == "lifecycle-lint: error: no such file or folder: *.py\n"
    done = run_step("lint", tmp_path, inputs(paths="src", args="--select TLC1"))
    assert (done.returncode, done.stdout) == (EXIT_CLEAN, "")


def test_the_sarif_steps_run_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    assert not runs(step("sarif"), inputs())
    values = inputs(sarif="true", **{"sarif-file": "out/report.sarif"})
    assert runs(step("sarif"), values)
    (tmp_path / "out").mkdir()
    done = run_step("sarif", tmp_path, values)
    assert done.returncode == EXIT_CLEAN, done.stderr  # the lint step fails the job, not this
    log = json.loads((tmp_path / "out" / "report.sarif").read_text(encoding="utf-8"))
    validate_sarif(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["TLC201"]
    (upload,) = [s for s in ACTION["runs"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert runs(upload, values)
    assert resolve(upload["with"]["sarif_file"], values) == "out/report.sarif"
