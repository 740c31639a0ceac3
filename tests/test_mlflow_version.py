"""Which MLflow the code targets, when `mlflow-version` is not configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from lifecycle_lint import mlflow_version
from lifecycle_lint.mlflow_version import infer, major_of


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    mlflow_version.clear_cache()
    yield
    monkeypatch.undo()  # the real ``_installed`` back before its cache is cleared
    mlflow_version.clear_cache()


@pytest.mark.parametrize(
    ("spec", "major"),
    [
        ("<3", 2),
        ("==2.*", 2),
        ("~=2.19", 2),
        (">=2.14,<3.0", 2),
        ("==2.22.2", 2),
        (">=2.14", 3),
        ("", 3),
        ("==3.17.2", 3),
        (">=3", 3),
    ],
)
def test_major_of_a_specifier(spec: str, major: int) -> None:
    assert major_of(SpecifierSet(spec)) == major


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize(
    ("files", "major", "source"),
    [
        ({"pyproject.toml": '[project]\ndependencies = ["mlflow<3"]\n'}, 2, "mlflow<3"),
        (
            {"pyproject.toml": '[project.optional-dependencies]\ntr = ["mlflow-tracing~=2.19"]\n'},
            2,
            "mlflow-tracing~=2.19",
        ),
        ({"pyproject.toml": '[tool.poetry.dependencies]\nmlflow = "^2.19"\n'}, 2, "<3"),
        (
            {"pyproject.toml": '[tool.poetry.group.dev.dependencies]\nmlflow = {version="~2.9"}\n'},
            2,
            "mlflow",
        ),
        ({"pyproject.toml": '[tool.pdm.dev-dependencies]\nt = ["mlflow-skinny==2.*"]\n'}, 2, "2.*"),
        ({"pyproject.toml": '[project]\ndependencies = ["mlflow>=3.1"]\n'}, 3, "mlflow>=3.1"),
        (
            {"pyproject.toml": "[project]\n", "requirements-dev.txt": "mlflow==2.14.0  # pin\n"},
            2,
            "requirements-dev.txt",
        ),
        (
            {"setup.cfg": "[options]\ninstall_requires =\n    mlflow<3\n    numpy\n"},
            2,
            "setup.cfg",
        ),
    ],
)
def test_inferred_from_the_project(tmp_path, files, major, source) -> None:
    folder = write(tmp_path, {**files, "pkg/x.py": ""})
    found = infer(folder)
    assert found.major == major and source in found.source


def test_installed_mlflow_then_the_default(tmp_path, monkeypatch) -> None:
    folder = write(tmp_path, {"pkg/x.py": ""})
    found = infer(folder)
    assert found.source.startswith("installed ") or found.source == "default"
    monkeypatch.setattr(mlflow_version, "_installed", lambda: None)
    mlflow_version.infer.cache_clear()
    assert infer(folder) == mlflow_version.Inferred(3, "default")


def test_an_unreadable_pyproject_says_nothing(tmp_path, monkeypatch) -> None:
    folder = write(tmp_path, {"pyproject.toml": "[project\n", "pkg/x.py": ""})
    monkeypatch.setattr(mlflow_version, "_installed", lambda: None)
    assert infer(folder).major == 3
