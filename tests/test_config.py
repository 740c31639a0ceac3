"""``[tool.lifecycle-lint]`` in pyproject.toml: lookup, every key, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifecycle_lint import config as config_module
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, main
from lifecycle_lint.config import KNOWN_KEYS, ConfigError, PathPattern, find_config, load_config
from lifecycle_lint.rules import RULES

SOURCE = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
child = client.start_span("c", trace_id=root.trace_id, parent_id=root.span_id)
client.end_span(request_id=root.trace_id, span_id="s-1", status="ok")
client.end_span(root.trace_id, child.span_id)
client.end_trace(root.trace_id)
"""
# line 6: TLC204 (col 17), TLC201 (col 59), TLC401 (col 72)


@pytest.fixture(autouse=True)
def _fresh_cache():
    config_module.clear_cache()
    yield
    config_module.clear_cache()


def project(tmp_path: Path, table: str | None, files=("app/main.py",)) -> Path:
    if table is not None:
        (tmp_path / "pyproject.toml").write_text(
            f'[project]\nname = "x"\n\n[tool.lifecycle-lint]\n{table}', encoding="utf-8"
        )
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SOURCE, encoding="utf-8")
    return tmp_path


def run(capsys, *args: str) -> tuple[int, list[tuple[str, int, str]], str]:
    status = main(["--format", "json", "-j", "1", *args])
    out, err = capsys.readouterr()
    rows = json.loads(out) if out.strip() else []
    return status, [(Path(f["path"]).as_posix(), f["line"], f["code"]) for f in rows], err


def codes(rows) -> list[str]:
    return sorted(code for _, _, code in rows)


def test_no_configuration_means_the_defaults(tmp_path, capsys) -> None:
    root = project(tmp_path, None)
    status, rows, _ = run(capsys, str(root))
    assert status == EXIT_FINDINGS
    assert codes(rows) == ["TLC201", "TLC204", "TLC401"]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('select = ["TLC4"]\n', ["TLC401"]),
        ('ignore = ["TLC201", "TLC204"]\n', ["TLC401"]),
        ('select = ["TLC201"]\nextend-select = ["TLC401"]\n', ["TLC201", "TLC401"]),
        ("mlflow-version = 2\n", ["TLC201", "TLC401"]),
        ('mlflow-version = "2.14"\n', ["TLC201", "TLC401"]),
        ('ignore = "TLC2"\n', ["TLC401"]),
    ],
)
def test_selection_keys(tmp_path, capsys, table, expected) -> None:
    root = project(tmp_path, table)
    _, rows, _ = run(capsys, str(root / "app"))
    assert codes(rows) == expected


def test_configuration_is_found_walking_up_from_the_checked_file(tmp_path, capsys) -> None:
    root = project(tmp_path, 'select = ["TLC401"]\n', files=("a/b/c/deep.py",))
    _, rows, _ = run(capsys, str(root / "a" / "b" / "c" / "deep.py"))
    assert codes(rows) == ["TLC401"]
    # A nearer pyproject.toml without the table is not a configuration.
    (root / "a" / "pyproject.toml").write_text('[project]\nname = "a"\n', encoding="utf-8")
    config_module.clear_cache()
    _, rows, _ = run(capsys, str(root / "a" / "b" / "c" / "deep.py"))
    assert codes(rows) == ["TLC401"]
    # A nearer one with the table wins for the files below it.
    (root / "a" / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nselect = ["TLC204"]\n', encoding="utf-8"
    )
    config_module.clear_cache()
    _, rows, _ = run(capsys, str(root))
    assert codes(rows) == ["TLC204"]


def test_command_line_overrides_the_configuration(tmp_path, capsys) -> None:
    root = project(tmp_path, 'select = ["TLC401"]\nmlflow-version = 2\n')
    _, rows, _ = run(capsys, "--extend-select", "TLC201", str(root))
    assert codes(rows) == ["TLC201", "TLC401"]
    _, rows, _ = run(capsys, "--select", "TLC2", "--mlflow-version", "3", str(root))
    assert codes(rows) == ["TLC201", "TLC204"]
    _, rows, _ = run(capsys, "--ignore", "TLC401", str(root))
    assert rows == []


def test_explicit_config_file(tmp_path, capsys) -> None:
    root = project(tmp_path, 'select = ["TLC401"]\n')
    other = tmp_path / "strict.toml"
    other.write_text('select = ["TLC201"]\n', encoding="utf-8")
    _, rows, _ = run(capsys, "--config", str(other), str(root))
    assert codes(rows) == ["TLC201"]
    _, rows, _ = run(capsys, "--config", str(root / "pyproject.toml"), str(root))
    assert codes(rows) == ["TLC401"]


def test_per_file_ignores_and_excludes(tmp_path, capsys) -> None:
    table = (
        'extend-exclude = ["generated", "*_pb2.py"]\n'
        "[tool.lifecycle-lint.per-file-ignores]\n"
        '"tests/**" = ["TLC201"]\n'
        '"app/legacy_*.py" = ["TLC2", "TLC401"]\n'
    )
    files = (
        "app/main.py",
        "app/legacy_one.py",
        "tests/unit/test_x.py",
        "generated/client.py",
        "app/model_pb2.py",
    )
    root = project(tmp_path, table, files)
    _, rows, _ = run(capsys, str(root))
    by_file: dict[str, list[str]] = {}
    for path, _, code in rows:
        by_file.setdefault(Path(path).relative_to(root).as_posix(), []).append(code)
    assert {k: sorted(v) for k, v in by_file.items()} == {
        "app/main.py": ["TLC201", "TLC204", "TLC401"],
        "tests/unit/test_x.py": ["TLC204", "TLC401"],
    }
    # A file named on the command line is checked, excluded or not (as ruff does) ...
    named = root / "generated" / "client.py"
    status, rows, _ = run(capsys, str(named))
    assert status == EXIT_FINDINGS and codes(rows) == ["TLC201", "TLC204", "TLC401"]
    # ... unless --force-exclude says so (pre-commit names every file).
    status, rows, err = run(capsys, "--force-exclude", str(named))
    assert (status, rows) == (EXIT_CLEAN, [])
    assert err == f"lifecycle-lint: no Python files found under {named}\n"
    status, rows, _ = run(capsys, "--force-exclude", str(root / "app" / "model_pb2.py"))
    assert (status, rows) == (EXIT_CLEAN, [])


def test_exclude_replaces_the_defaults_extend_exclude_adds(tmp_path, capsys) -> None:
    files = ("app/main.py", "lib/main.py", "build/gen.py")
    root = project(tmp_path, 'exclude = ["app"]\n', files)
    _, rows, _ = run(capsys, str(root))
    assert {Path(p).parent.name for p, _, _ in rows} == {"lib", "build"}
    root = project(tmp_path, 'extend-exclude = ["app"]\n', files)
    config_module.clear_cache()
    _, rows, _ = run(capsys, str(root))
    assert {Path(p).parent.name for p, _, _ in rows} == {"lib"}


def test_lifo_turns_on_tlc106(tmp_path, capsys) -> None:
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "TLC106_non_lifo_end.py"
    root = project(tmp_path, "lifo = true\n", files=())
    target = root / "lifo.py"
    target.write_bytes(fixture.read_bytes())
    _, rows, _ = run(capsys, str(target))
    assert "TLC106" in codes(rows)
    (root / "pyproject.toml").write_text("[tool.lifecycle-lint]\nlifo = false\n")
    config_module.clear_cache()
    _, rows, _ = run(capsys, str(target))
    assert "TLC106" not in codes(rows)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('selct = ["TLC401"]\n', "selct"),
        ('select = ["TLC999"]\n', "select"),
        ('ignore = ["E501"]\n', "ignore"),
        ("extend-select = 3\n", "extend-select"),
        ("mlflow-version = 4\n", "mlflow-version"),
        ('lifo = "yes"\n', "lifo"),
        ('per-file-ignores = ["x"]\n', "per-file-ignores"),
        ('per-file-ignores = { "x.py" = ["NOPE1"] }\n', "per-file-ignores"),
        ("exclude = [1]\n", "exclude"),
        ('force-exclude = "yes"\n', "force-exclude"),
        ("respect-gitignore = 0\n", "respect-gitignore"),
        ('strict-exceptions = "yes"\n', "strict-exceptions"),
        ("non-raising = [1]\n", "non-raising"),
        ('non-raising = ["my app.log"]\n', "non-raising"),
        ('non-raising = ["myapp..log"]\n', "non-raising"),
    ],
)
def test_invalid_configuration_is_a_usage_error(tmp_path, capsys, table, key) -> None:
    root = project(tmp_path, table)
    status, rows, err = run(capsys, str(root))
    assert status == EXIT_ERROR and rows == []
    assert str(root / "pyproject.toml") in err
    assert key in err
    assert err.count("\n") == 1


def test_invalid_toml_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lifecycle-lint\nselect = 1\n")
    (tmp_path / "x.py").write_text(SOURCE)
    status, _, err = run(capsys, str(tmp_path))
    assert status == EXIT_ERROR and "invalid TOML" in err and "pyproject.toml" in err


def test_missing_config_file_is_a_usage_error(tmp_path, capsys) -> None:
    status, _, err = run(capsys, "--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert status == EXIT_ERROR and "nope.toml" in err


def test_every_documented_key_is_accepted(tmp_path) -> None:
    values = {
        "select": '["TLC1"]',
        "ignore": '["TLC106"]',
        "extend-select": '["TLC501"]',
        "per-file-ignores": '{ "tests/*" = ["TLC201"] }',
        "exclude": '["build"]',
        "extend-exclude": '["gen"]',
        "mlflow-version": "3",
        "lifo": "true",
        "force-exclude": "true",
        "respect-gitignore": "false",
        "client-factories": '["vendor.make_client", "vendor.*.client_for"]',
        "span-starters": '["vendor.tracing.begin"]',
        "span-enders": '["vendor.tracing.finish_*"]',
        "non-raising": '["myapp.log.*", "emit_metric"]',
        "strict-exceptions": "true",
    }
    assert set(values) == set(KNOWN_KEYS)
    body = "".join(f"{k} = {v}\n" for k, v in values.items())
    (tmp_path / "pyproject.toml").write_text(f"[tool.lifecycle-lint]\n{body}")
    loaded = load_config(tmp_path / "pyproject.toml")
    assert loaded.lifo and loaded.mlflow_version == 3
    assert loaded.force_exclude and not loaded.respect_gitignore
    assert loaded.non_raising == ("myapp.log.*", "emit_metric") and loaded.strict_exceptions
    assert find_config(tmp_path / "sub" / "file.py") == loaded


def test_every_rule_code_is_a_valid_selector(tmp_path) -> None:
    codes_list = ", ".join(f'"{code}"' for code in RULES)
    (tmp_path / "pyproject.toml").write_text(f"[tool.lifecycle-lint]\nselect = [{codes_list}]\n")
    assert set(load_config(tmp_path / "pyproject.toml").select or ()) == set(RULES)


def test_errors_name_the_file_and_key(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lifecycle-lint]\nwhat = 1\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: \[tool\.lifecycle-lint\] what"):
        load_config(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("tests/*", "tests/test_a.py", True),
        ("tests/*", "tests/sub/test_a.py", True),  # the folder matches: all below it
        ("tests/*.py", "src/tests/test_a.py", False),  # anchored at the root
        ("*_pb2.py", "deep/down/x_pb2.py", True),  # no slash: any depth
        ("**/migrations/*.py", "app/migrations/0001.py", True),
        ("**/migrations/*.py", "migrations/0001.py", True),
        ("generated", "generated/a/b.py", True),
        ("generated", "src/generated/b.py", True),
        ("generated", "src/generated_x.py", False),
        ("src/[ab].py", "src/a.py", True),
        ("src/[ab].py", "src/c.py", False),
        ("./scripts/", "scripts/run.py", True),
    ],
)
def test_path_patterns(pattern, path, expected) -> None:
    assert PathPattern(pattern).matches(path) is expected


def test_no_configuration_and_no_findings_is_clean(tmp_path, capsys) -> None:
    (tmp_path / "x.py").write_text("import mlflow\n")
    assert run(capsys, str(tmp_path))[0] == EXIT_CLEAN


def test_the_readme_configuration_snippet_is_valid(tmp_path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(snippet, encoding="utf-8")
    loaded = load_config(tmp_path / "pyproject.toml")
    assert loaded.select == ("TLC",) and loaded.per_file_ignores


EXCEPTION_SOURCE = """\
import time
from mlflow import MlflowClient
from myapp.metrics import emit

client = MlflowClient()


def f(root):
    step = client.start_span("s", root.trace_id, root.span_id)
    started = time.time()
    emit("calls", started)
    client.end_span(root.trace_id, step.span_id)
"""


@pytest.mark.parametrize(
    ("table", "args", "expected"),
    [
        ("", (), [(9, "TLC103")]),  # emit(...) may raise; time.time() does not
        ('non-raising = ["myapp.metrics.*"]\n', (), []),
        ('non-raising = ["emit"]\n', (), []),
        ('non-raising = ["emit"]\nstrict-exceptions = true\n', (), [(9, "TLC103")]),
        ('non-raising = ["emit"]\n', ("--strict-exceptions",), [(9, "TLC103")]),
        ("", ("--non-raising", "emit"), []),
        ("strict-exceptions = false\n", ("--non-raising", "myapp.*,time.time"), []),
    ],
)
def test_exception_model_keys(tmp_path, capsys, table, args, expected) -> None:
    project(tmp_path, table, files=())
    (tmp_path / "m.py").write_text(EXCEPTION_SOURCE, encoding="utf-8")
    status, rows, err = run(capsys, *args, str(tmp_path / "m.py"))
    assert [(line, code) for _, line, code in rows] == expected, err
    assert status == (EXIT_FINDINGS if expected else EXIT_CLEAN)


def test_invalid_non_raising_on_the_command_line_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "m.py").write_text(EXCEPTION_SOURCE, encoding="utf-8")
    status, rows, err = run(capsys, "--non-raising", "emit()", str(tmp_path / "m.py"))
    assert status == EXIT_ERROR and rows == []
    assert err == "lifecycle-lint: error: not a qualified name or a glob of one: 'emit()'\n"
