"""The built wheel works on its own: both import packages, the command, the entry points.

The wheel is built from a copy of the working tree (so the checkout gets no
``build/`` or egg-info of the test's making) and installed without dependencies
into a fresh virtual environment; the dependencies (libcst, flake8) come from the
environment running the tests, through a ``.pth`` line, so the test needs no
network beyond the build backend. The pre-commit test installs the project with
its dependencies from the package index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.test_precommit import ROOT, _project_files

pytestmark = pytest.mark.slow

BAD = 'from mlflow import MlflowClient\nclient = MlflowClient()\nclient.end_trace("tr-1")\n'


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in _project_files():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-w",
        out,
        source,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("lifecycle_lint-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    done = _run(sys.executable, "-m", "venv", "--without-pip", root)
    assert done.returncode == 0, done.stderr
    python = root / "bin" / "python"
    if not python.exists():  # Windows layout
        python = root / "Scripts" / "python.exe"
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        "-q",
        wheel,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The dependencies, from the environment running the tests.
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    site = Path(purelib.stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return root


def _bin(venv: Path, name: str) -> Path:
    for folder in ("bin", "Scripts"):
        for candidate in (venv / folder / name, venv / folder / f"{name}.exe"):
            if candidate.exists():
                return candidate
    raise AssertionError(f"{name} not installed in {venv}")


def test_wheel_holds_both_packages_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("lifecycle_lint", "lifecycle_lint"), ("runtime", "lifecycle_runtime")):
        for module in (ROOT / folder).rglob("*.py"):
            relative = module.relative_to(ROOT / folder).as_posix()
            assert f"{package}/{relative}" in names, f"{package}/{relative} missing from the wheel"
    assert "lifecycle_lint/py.typed" in names and "lifecycle_runtime/py.typed" in names


def test_installed_wheel_imports_both_packages_from_the_venv(venv: Path) -> None:
    code = (
        "import json, lifecycle_lint, lifecycle_runtime, importlib.metadata as md\n"
        "from lifecycle_runtime import mlflow_facts\n"
        "dist = md.distribution('lifecycle-lint')\n"
        "eps = {(e.group, e.name): e.value for e in dist.entry_points}\n"
        "print(json.dumps({'lint': lifecycle_lint.__file__, "
        "'runtime': lifecycle_runtime.__file__, 'eps': [list(k) + [v] for k, v in eps.items()]}))"
    )
    done = _run(_bin(venv, "python"), "-c", code, cwd=venv)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    for key in ("lint", "runtime"):
        assert Path(info[key]).resolve().is_relative_to(venv.resolve()), info[key]
    eps = {(group, name): value for group, name, value in info["eps"]}
    assert eps[("console_scripts", "lifecycle-lint")] == "lifecycle_lint.cli:main"
    assert eps[("flake8.extension", "TLC")] == "lifecycle_lint.flake8_plugin:LifecycleChecker"


def test_installed_command_runs(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    command = _bin(venv, "lifecycle-lint")
    done = _run(command, "--no-color", "bad.py", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("bad.py:3:18: TLC201 ")

    done = _run(command, "--explain", "TLC101", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("# TLC101 span-not-ended")

    done = _run(_bin(venv, "python"), "-m", "lifecycle_lint", "--version", cwd=tmp_path)
    assert done.returncode == 0 and "lifecycle-lint" in done.stdout
