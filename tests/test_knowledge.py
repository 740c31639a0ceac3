"""Knowledge beyond one function: the project index, declared semantics, --show-settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifecycle_lint import config as config_module
from lifecycle_lint import mlflow_version, project
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main
from lifecycle_lint.settings import Settings
from tests.fixture_markers import FIXTURES


@pytest.fixture(autouse=True)
def _fresh_caches():
    project.clear_cache()
    config_module.clear_cache()
    mlflow_version.clear_cache()
    yield
    project.clear_cache()
    config_module.clear_cache()
    mlflow_version.clear_cache()


def run(capsys, *args: str) -> tuple[int, list[dict]]:
    status = main(["--format", "json", "-j", "1", *args])
    return status, json.loads(capsys.readouterr().out)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


PACKAGE = {
    "pyproject.toml": '[project]\nname = "app"\n',
    "app/__init__.py": "",
    "app/clients.py": "from mlflow import MlflowClient\n\nclient = MlflowClient()\n",
    "app/helpers.py": (
        "def finish(span):\n    span.end()\n\n\ndef peek(span):\n    span.set_attribute('k', 1)\n"
    ),
    "app/a.py": (
        "from .clients import client\nfrom .helpers import finish, peek\n\n\n"
        "def f(root):\n"
        "    span = client.start_span('a', root.trace_id, root.span_id)\n"
        "    peek(span)\n"
    ),
    "app/b.py": (
        "from app.clients import client\nfrom app.helpers import finish\n\n\n"
        "def g(root):\n"
        "    span = client.start_span('b', root.trace_id, root.span_id)\n"
        "    finish(span)\n"
        "    finish(span)\n"
    ),
    "app/plain.py": "from mlflow import MlflowClient\n\nc = MlflowClient()\nc.start_trace('x')\n",
}


def test_imported_client_and_helpers_are_resolved(tmp_path, capsys) -> None:
    root = write(tmp_path, PACKAGE)
    status, findings = run(capsys, str(root / "app"))
    found = sorted((Path(f["path"]).name, f["line"], f["code"]) for f in findings)
    assert found == [("a.py", 6, "TLC101"), ("b.py", 8, "TLC104"), ("plain.py", 4, "TLC102")]
    assert status == EXIT_FINDINGS
    a = next(f for f in findings if f["path"].endswith("a.py"))
    assert "`peek(...)` on line 7 only reads it" in a["message"]
    assert "`client` is the client defined in app/clients.py" in a["message"]


def test_modules_are_read_once_and_only_when_imported(tmp_path, capsys, monkeypatch) -> None:
    root = write(tmp_path, PACKAGE)
    read: list[str] = []
    original = project.ProjectIndex._summarise

    def counting(self, path):  # type: ignore[no-untyped-def]
        read.append(Path(path).name)
        return original(self, path)

    monkeypatch.setattr(project.ProjectIndex, "_summarise", counting)
    run(capsys, str(root / "app" / "plain.py"))
    assert read == []  # imports nothing of the project
    run(capsys, str(root / "app" / "a.py"), str(root / "app" / "b.py"))
    assert sorted(read) == ["clients.py", "helpers.py"]  # each once, for both files


def test_module_summaries_are_plain_data(tmp_path) -> None:
    root = write(tmp_path, PACKAGE)
    index = project.index_for(str(root / "app" / "a.py"), Settings())
    assert index is not None and index.root == root
    summary = index.module(root / "app" / "helpers.py")
    assert summary is not None
    assert summary.functions == {}  # summarised when first asked, not before
    assert summary.function("finish") is not None and summary.function("peek") is not None
    data = json.loads(json.dumps(summary.to_json()))
    assert project.ModuleSummary.from_json(data) == summary
    assert data["functions"]["finish"]["effects"] == {"span": "ends it"}
    assert data["functions"]["peek"]["effects"] == {"span": "only reads it"}
    key = project.cache_key(root / "app" / "helpers.py", Settings())
    assert key is not None and json.loads(json.dumps(key))[0].endswith("helpers.py")


def test_a_file_lists_the_modules_its_findings_depend_on(tmp_path, capsys) -> None:
    root = write(tmp_path, PACKAGE)
    run(capsys, str(root / "app" / "b.py"))
    index = project.index_for(str(root / "app" / "b.py"), Settings())
    assert index is not None
    assert {p.name for p in index.dependencies} == {"clients.py", "helpers.py"}


DECLARED = {
    "pyproject.toml": (
        "[tool.lifecycle-lint]\n"
        'client-factories = ["vendor.tracing.make_*"]\n'
        'span-starters = ["vendor.tracing.begin"]\n'
        'span-enders = ["vendor.tracing.finish"]\n'
    ),
    "main.py": (
        "from vendor.tracing import begin, finish, make_client\n\n\n"
        "def f(root, work):\n"
        "    mlf = make_client()\n"
        "    mlf.start_span('x', root.trace_id, root.span_id)\n"
        "\n\n"
        "def g(root, work):\n"
        "    span = begin(root)\n"
        "    work()\n"
        "    finish(span)\n"
        "\n\n"
        "def h(root):\n"
        "    span = begin(root)\n"
        "    finish(span)\n"
    ),
}


def test_declared_semantics_for_code_the_index_cannot_see(tmp_path, capsys) -> None:
    root = write(tmp_path, DECLARED)
    status, findings = run(capsys, str(root / "main.py"))
    assert [(f["line"], f["code"]) for f in findings] == [(6, "TLC101"), (10, "TLC103")]
    assert "declared in `client-factories`" in findings[0]["message"]
    assert status == EXIT_FINDINGS


@pytest.mark.parametrize("value", ['["not a name!"]', "3", '["a..b"]'])
def test_declared_semantics_are_checked(tmp_path, capsys, value) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lifecycle-lint]\nspan-enders = {value}\n")
    (tmp_path / "x.py").write_text("client.start_trace('x')\n")
    status = main([str(tmp_path / "x.py")])
    err = capsys.readouterr().err
    assert status == EXIT_ERROR and "span-enders" in err


def test_show_settings_names_each_source(tmp_path, capsys) -> None:
    root = write(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "x"\ndependencies = ["mlflow-skinny==2.*"]\n\n'
                '[tool.lifecycle-lint]\nignore = ["TLC401"]\nspan-enders = ["lib.done"]\n'
            ),
            "src/x.py": "",
        },
    )
    status = main(["--show-settings", "--lifo", str(root / "src" / "x.py")])
    out = capsys.readouterr().out
    assert status == EXIT_CLEAN
    assert f"configuration: {root / 'pyproject.toml'}" in out
    assert f"mlflow-version: 2  ({root / 'pyproject.toml'}: requires mlflow-skinny==2.*)" in out
    assert "TLC401" not in out.split("rules:", 1)[1].split("\n", 1)[0]
    assert "lifo: true  (command line)" in out
    assert f"span-enders: lib.done  ({root / 'pyproject.toml'})" in out
    assert main(["--show-settings", str(root / "missing.py")]) == EXIT_ERROR


def test_package_fixture_is_checked_as_a_folder(capsys) -> None:
    status, findings = run(capsys, str(FIXTURES / "project_index"))
    assert status == EXIT_FINDINGS
    assert {Path(f["path"]).name for f in findings} == {"jobs.py"}


def test_a_very_long_chain_of_helpers_is_bounded_not_crashed(tmp_path, capsys) -> None:
    lines = ["from mlflow import MlflowClient\n\nclient = MlflowClient()\n"]
    for i in range(80):
        body = f"f{i + 1}(span)" if i < 79 else "span.end()"
        lines.append(f"\n\ndef f{i}(span):\n    {body}\n")
    lines.append(
        "\n\ndef top(root):\n    span = client.start_span('x', root.trace_id, root.span_id)\n"
        "    f0(span)\n"
    )
    (tmp_path / "deep.py").write_text("".join(lines), encoding="utf-8")
    status, findings = run(capsys, str(tmp_path / "deep.py"))
    # Beyond the nesting bound the chain is unknown: a hand-over, no finding, no error.
    assert (status, findings) == (EXIT_CLEAN, [])
