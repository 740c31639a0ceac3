"""Real ``flake8`` in a subprocess reports what the command reports: same findings,
same positions, same configuration, same ``noqa``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifecycle_lint.flake8_plugin import CONFIG_ERROR_CODE, LifecycleChecker
from tests.fixture_markers import FIXTURES, all_fixtures, read_fixture

pytestmark = pytest.mark.slow

FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"
#: flake8 itself reports files it cannot parse (E999) or decode (E902) and runs no
#: plugin on them, so the command's TLC001/TLC002 have no flake8 counterpart.
FILE_LEVEL = ("TLC001", "TLC002")
ENV = {**os.environ, "NO_COLOR": "1"}


def flake8(*args: str | Path, cwd: Path | None = None, stdin: str | None = None) -> list[tuple]:
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", f"--format={FORMAT}", *map(str, args)],
        cwd=cwd,
        env=ENV,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    rows = []
    for line in done.stdout.splitlines():
        path, row, col, code, text = line.split("\t", 4)
        rows.append((os.path.normpath(path), int(row), int(col), code, f"{code} {text}"))
    return sorted(rows)


def command(*args: str | Path, cwd: Path | None = None) -> list[tuple]:
    done = subprocess.run(
        [sys.executable, "-m", "lifecycle_lint", "--format", "json", "--no-cache", *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    return sorted(
        (
            os.path.normpath(f["path"]),
            f["line"],
            f["column"],
            f["code"],
            f"{f['code']} {f['message']}",
        )
        for f in json.loads(done.stdout)
    )


def assert_same(from_flake8: list[tuple], from_command: list[tuple], *args: object) -> None:
    """Same findings at the same positions with the same messages."""
    assert from_flake8 == from_command


def _flake8_args(options: tuple[str, ...]) -> list[str]:
    """A fixture's command-line options, spelled for flake8."""
    mapping = {
        "--mlflow-version": "--tlc-mlflow-version",
        "--extend-select": "--tlc-extend-select",
        "--select": "--tlc-select",
        "--ignore": "--tlc-ignore",
        "--lifo": "--tlc-lifo",
        "--strict-exceptions": "--tlc-strict-exceptions",
        "--non-raising": "--tlc-non-raising",
    }
    return [mapping.get(option, option) for option in options]


def test_flake8_matches_the_command_on_every_fixture() -> None:
    plain = [p for p in all_fixtures() if not read_fixture(p).options]
    expected = [r for r in command(*plain) if r[3] not in FILE_LEVEL]
    assert expected, "no findings at all: the fixtures are not being checked"
    assert_same(flake8("--select=TLC", *plain), expected, *plain)
    for path in all_fixtures():
        options = read_fixture(path).options
        if options:
            wanted = [r for r in command(*options, path) if r[3] not in FILE_LEVEL]
            found = flake8("--select=TLC", *_flake8_args(options), path)
            assert_same(found, wanted, *options, path)


def test_flake8_reports_broken_files_itself() -> None:
    rows = flake8("--select=E9,TLC", FIXTURES / "TLC001_syntax_error.py")
    assert [r[3] for r in rows] == ["E999"]
    # flake8 falls back to latin-1 for a file its coding line does not decode.
    rows = flake8("--select=E9,TLC", FIXTURES / "TLC002_undecodable.py")
    assert not [r for r in rows if r[3].startswith("TLC")]


def test_flake8_option_full_code_turns_on_an_opt_in_rule() -> None:
    path = FIXTURES / "TLC106_non_lifo_end.py"
    assert not [r for r in flake8("--select=TLC", path) if r[3] == "TLC106"]
    via_select = flake8("--select=TLC,TLC106", path)
    assert [r for r in via_select if r[3] == "TLC106"]
    assert via_select == flake8("--select=TLC", "--tlc-lifo", path)
    assert via_select == [r for r in command("--lifo", path) if r[3] not in FILE_LEVEL]


PROJECT_BAD = """\
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
child = client.start_span("c", trace_id=root.trace_id, parent_id=root.span_id)
client.end_span(request_id=root.trace_id, span_id="s-1", status="ok")
client.end_span(root.trace_id, child.span_id)  # noqa: TLC201
client.end_trace(root.request_id)  # noqa
"""


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lifecycle-lint]\n{table}", encoding="utf-8")
    for name in ("app/main.py", "app/tests/test_main.py", "generated/out.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(PROJECT_BAD, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "table",
    [
        "",
        'ignore = ["TLC401"]\n',
        'select = ["TLC2"]\nmlflow-version = 2\n',
        'per-file-ignores = { "**/tests/*" = ["TLC201"] }\nextend-exclude = ["generated"]\n',
        "lifo = true\n",
    ],
)
def test_flake8_honours_the_project_configuration(tmp_path: Path, table: str) -> None:
    project = _project(tmp_path, table)
    files = ["app/main.py", "app/tests/test_main.py", "generated/out.py"]
    # flake8 excludes named files itself, and the plugin the configured ones: --force-exclude.
    from_command = command("--force-exclude", *files, cwd=project)
    from_flake8 = flake8("--select=TLC", *files, cwd=project)
    assert from_flake8 == from_command
    assert from_command  # every variant leaves something to compare


EXCEPTIONS_SOURCE = """\
import logging

from mlflow import MlflowClient

client = MlflowClient()
log = logging.getLogger(__name__)


def f(root, metrics):
    step = client.start_span("s", root.trace_id, root.span_id)
    log.info("started")
    client.end_span(root.trace_id, step.span_id)


def g(root, metrics):
    step = client.start_span("s", root.trace_id, root.span_id)
    metrics.emit("calls", 1)
    client.end_span(root.trace_id, step.span_id)
"""


@pytest.mark.parametrize(
    ("table", "options", "lines"),
    [
        ("", (), [16]),
        ('non-raising = ["*.emit"]\n', (), []),
        ("strict-exceptions = true\n", (), [10, 16]),
        ('strict-exceptions = true\nnon-raising = ["emit"]\n', (), [10]),
        ("", ("--non-raising", "emit"), []),
        ("", ("--strict-exceptions",), [10, 16]),
    ],
)
def test_flake8_and_the_command_read_the_exception_model_settings(
    tmp_path: Path, table: str, options: tuple[str, ...], lines: list[int]
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lifecycle-lint]\n{table}", encoding="utf-8")
    (tmp_path / "m.py").write_text(EXCEPTIONS_SOURCE, encoding="utf-8")
    from_command = command(*options, "m.py", cwd=tmp_path)
    assert [(r[1], r[3]) for r in from_command] == [(line, "TLC103") for line in lines]
    assert flake8("--select=TLC", *_flake8_args(options), "m.py", cwd=tmp_path) == from_command


def test_flake8_on_stdin_uses_the_configuration_of_the_current_folder(tmp_path: Path) -> None:
    project = _project(tmp_path, 'select = ["TLC401"]\n')
    rows = flake8("--select=TLC", "-", cwd=project, stdin=PROJECT_BAD)
    assert [(r[1], r[2], r[3]) for r in rows] == [(6, 65, "TLC401")]


def test_invalid_configuration_is_reported_not_raised(tmp_path: Path) -> None:
    project = _project(tmp_path, 'selct = ["TLC401"]\n')
    rows = flake8("--select=TLC", "app/main.py", cwd=project)
    assert [r[3] for r in rows] == [CONFIG_ERROR_CODE]
    assert "selct" in rows[0][4] and "pyproject.toml" in rows[0][4]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["client.start_trace(\n"],
        ["\x00client.start_span\n"],
        ["x = " + "(" * 500 + "start_span" + ")" * 500 + "\n"],
        ["def f(:\n", "    start_trace\n"],
        ["client.end_span(trace_id=1, span_id=b'x', status='nope')\n"],
    ],
)
def test_plugin_never_raises(lines: list[str]) -> None:
    checker = LifecycleChecker(None, lines, "stdin")
    results = list(checker.run())
    assert all(isinstance(r[0], int) and isinstance(r[1], int) for r in results)


CROSS_MODULE = {
    "pyproject.toml": '[project]\nname = "app"\ndependencies = ["mlflow-skinny<3"]\n',
    "app/__init__.py": "",
    "app/clients.py": "from mlflow import MlflowClient\n\nclient = MlflowClient()\n",
    "app/tracing.py": (
        "from .clients import client\n\n\n"
        "def begin(root, name):\n"
        "    return client.start_span(name, root.trace_id, root.span_id)\n\n\n"
        "def finish(span):\n"
        "    client.end_span(span.request_id, span.span_id)\n"
    ),
    "app/jobs.py": (
        "from app import tracing as t\nfrom .clients import client\n\n\n"
        "def run(root, step):\n"
        "    span = t.begin(root, 'run')\n"
        "    step()\n"
        "    t.finish(span)\n\n\n"
        "def twice(root):\n"
        "    span = client.start_span('x', root.trace_id, root.span_id)\n"
        "    t.finish(span)\n"
        "    t.finish(span)\n"
        "    client.end_trace(request_id=root.trace_id)\n"
    ),
}


def test_flake8_uses_the_same_project_index_and_mlflow_version(tmp_path: Path) -> None:
    for name, text in CROSS_MODULE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    files = ["app/jobs.py", "app/tracing.py"]
    from_command = command(*files, cwd=tmp_path)
    assert [(r[0], r[1], r[3]) for r in from_command] == [
        ("app/jobs.py", 6, "TLC103"),  # a starter in another module; `step()` raises
        ("app/jobs.py", 14, "TLC104"),  # `t.finish(span)` ends it (another module's summary)
    ]  # and no TLC204: pyproject.toml pins MLflow 2
    assert flake8("--select=TLC", *files, cwd=tmp_path) == from_command
