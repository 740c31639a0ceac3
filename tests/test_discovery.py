"""Which files a run checks: named paths, exclusions, ``--force-exclude``, ``.gitignore``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifecycle_lint import config as config_module
from lifecycle_lint.cli import EXIT_CLEAN, EXIT_FINDINGS, main
from lifecycle_lint.discovery import discover
from lifecycle_lint.patterns import PathPattern, PatternSet

BAD = 'from mlflow import MlflowClient\nclient = MlflowClient()\nclient.end_trace("tr-1")\n'


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    config_module.clear_cache()
    yield
    config_module.clear_cache()


def tree(root: Path, *names: str, text: str = BAD) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def checked(capsys, *args: str | Path) -> tuple[int, list[str], str]:
    """Exit status, the files with a finding (relative to the current folder), stderr."""
    status = main(["--format", "json", "-j", "1", "--no-cache", *map(str, args)])
    out, err = capsys.readouterr()
    paths = sorted({Path(f["path"]).as_posix() for f in json.loads(out)})
    return status, paths, err


def test_a_folder_named_inside_a_skipped_folder_is_checked(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    tree(
        tmp_path,
        ".venv/lib/python3.11/site-packages/pkg/mod.py",
        ".venv/lib/python3.11/site-packages/pkg/sub/deep.py",
        # still skipped below the named folder: they are entries of the walk
        ".venv/lib/python3.11/site-packages/pkg/build/gen.py",
        ".venv/lib/python3.11/site-packages/pkg/__pycache__/x.py",
        "app/main.py",
    )
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    named = ".venv/lib/python3.11/site-packages/pkg"
    assert checked(capsys, named) == (
        EXIT_FINDINGS,
        [f"{named}/mod.py", f"{named}/sub/deep.py"],
        "",
    )
    # The project as a whole still skips the environment.
    assert checked(capsys, ".")[1] == ["app/main.py"]
    # A file named inside it is checked too.
    assert checked(capsys, f"{named}/build/gen.py")[1] == [f"{named}/build/gen.py"]


def test_named_paths_and_force_exclude(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nextend-exclude = ["generated", "*_pb2.py", "legacy/old/"]\n'
    )
    tree(tmp_path, "generated/a.py", "app/x_pb2.py", "legacy/old/b.py", "app/main.py")
    assert checked(capsys, ".")[1] == ["app/main.py"]
    for named, found in [
        ("generated", ["generated/a.py"]),
        ("generated/a.py", ["generated/a.py"]),
        ("app/x_pb2.py", ["app/x_pb2.py"]),
        ("legacy/old", ["legacy/old/b.py"]),
    ]:
        assert checked(capsys, named)[:2] == (EXIT_FINDINGS, found)
        status, paths, err = checked(capsys, "--force-exclude", named)
        assert (status, paths) == (EXIT_CLEAN, [])
        assert err == f"lifecycle-lint: no Python files found under {named}\n"
    # Paths not excluded are checked as usual with --force-exclude.
    assert checked(capsys, "--force-exclude", "app", "generated/a.py")[1] == ["app/main.py"]
    # A folder inside an excluded one, named: excluded too with --force-exclude.
    tree(tmp_path, "generated/deep/c.py")
    assert checked(capsys, "--force-exclude", "generated/deep")[1] == []
    assert checked(capsys, "generated/deep")[1] == ["generated/deep/c.py"]


def test_force_exclude_in_the_configuration(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nforce-exclude = true\nextend-exclude = ["generated"]\n'
    )
    tree(tmp_path, "generated/a.py", "app/main.py")
    assert checked(capsys, "generated/a.py", "app/main.py")[1] == ["app/main.py"]


def test_no_python_files_is_said_and_clean(tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("client.end_trace('tr-1')\n")
    status, paths, err = checked(capsys, tmp_path)
    assert (status, paths) == (EXIT_CLEAN, [])
    assert err == f"lifecycle-lint: no Python files found under {tmp_path}\n"
    # A run that checks a file says nothing of the kind.
    tree(tmp_path, "good.py", text="import mlflow\n")
    assert checked(capsys, tmp_path) == (EXIT_CLEAN, [], "")


def test_gitignore_and_ignore_files_are_respected(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("# generated code\nout/\n*_local.py\n!keep_local.py\n")
    (tmp_path / "app" / "sub").mkdir(parents=True)
    (tmp_path / "app" / ".gitignore").write_text("/scratch.py\n")
    (tmp_path / "app" / "sub" / ".ignore").write_text("tmp_*.py\n")
    tree(
        tmp_path,
        "app/main.py",
        "app/out/gen.py",
        "app/conf_local.py",
        "app/keep_local.py",
        "app/scratch.py",
        "app/sub/scratch.py",  # "/scratch.py" is anchored at app/
        "app/sub/tmp_1.py",
        "tmp_2.py",  # .ignore of app/sub does not reach up
    )
    expected = ["app/keep_local.py", "app/main.py", "app/sub/scratch.py", "tmp_2.py"]
    assert checked(capsys, ".")[1] == expected
    # The ignore files above a named folder apply, up to the repository's top.
    assert checked(capsys, "app")[1] == ["app/keep_local.py", "app/main.py", "app/sub/scratch.py"]
    # A git-ignored folder named on the command line is searched (as any named path) ...
    assert checked(capsys, "app/out")[1] == ["app/out/gen.py"]
    # ... unless --force-exclude: then git's verdict holds for named paths too.
    assert checked(capsys, "--force-exclude", "app/out", "app/conf_local.py")[1] == []
    assert checked(capsys, "--force-exclude", "app/keep_local.py")[1] == ["app/keep_local.py"]
    # respect-gitignore = false: every file is checked.
    (tmp_path / "pyproject.toml").write_text("[tool.lifecycle-lint]\nrespect-gitignore = false\n")
    config_module.clear_cache()
    assert len(checked(capsys, ".")[1]) == 8


def test_gitignore_of_a_folder_named_inside_an_ignored_one(tmp_path, capsys, monkeypatch) -> None:
    """Python 3.13's venv writes a ``.gitignore`` of ``*`` at its top: naming a package in it
    still checks the package."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text(".venv/\n")
    tree(tmp_path, ".venv/lib/site-packages/pkg/mod.py", ".venv/lib/site-packages/pkg/t/a.py")
    (tmp_path / ".venv" / ".gitignore").write_text("*\n")
    named = ".venv/lib/site-packages/pkg"
    assert checked(capsys, named)[1] == [f"{named}/mod.py", f"{named}/t/a.py"]
    # An ignore file inside the named folder still applies below it.
    (tmp_path / named / ".gitignore").write_text("t/\n")
    assert checked(capsys, named)[1] == [f"{named}/mod.py"]


def test_a_nested_configuration_reads_its_patterns_from_its_own_folder(
    tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.lifecycle-lint]\nextend-exclude = ["a/*"]\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text(
        '[tool.lifecycle-lint]\nextend-exclude = ["b/*"]\n'
    )
    tree(tmp_path, "a/x.py", "b/x.py", "sub/a/x.py", "sub/b/x.py")
    assert checked(capsys, ".")[1] == ["b/x.py", "sub/a/x.py"]


def test_discover_spells_files_as_named(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    tree(tmp_path, "pkg/a.py", "pkg/b.pyi", "pkg/c.txt", "script")
    assert discover(["pkg/", "./script"]) == [Path("pkg/a.py"), Path("pkg/b.pyi"), Path("script")]
    assert discover([str(tmp_path / "pkg")]) == [tmp_path / "pkg/a.py", tmp_path / "pkg/b.pyi"]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "itself"),
    [
        ("generated", "generated", True, True),
        ("generated", "generated/x.py", False, False),  # only through its folder
        ("tests/*", "tests/sub", True, True),
        ("tests/*", "tests/sub/a.py", False, False),
        ("tests/**", "tests/sub/a.py", False, True),
        ("build/", "build", True, True),
        ("build/", "build", False, False),  # folders only
        ("*.egg-info", "src/x.egg-info", True, True),
        ("./scripts", "scripts", True, True),
        ("./scripts", "src/scripts", True, False),  # anchored
    ],
)
def test_an_entry_matches_itself(pattern, path, is_dir, itself) -> None:
    assert PathPattern(pattern).matches_entry(path, is_dir) is itself


def test_last_matching_pattern_decides() -> None:
    patterns = PatternSet.of(["*.py", "!keep.py", "tests/"])
    assert patterns.decides("a/b.py", False) is True
    assert patterns.decides("a/keep.py", False) is False
    assert patterns.decides("a/tests", True) is True
    assert patterns.decides("a/notes.txt", False) is None
    assert patterns.matches("tests/x/y.txt") and not patterns.matches("a/keep.py")


NAMES = ["x.egg-info", ".egg-info", "build", "a.py", "keep.py", "x_pb2.py", "tests", "b"]


@pytest.mark.parametrize("pattern", ["*.egg-info", "*.egg-info/", "build", "build/", "*_pb2.py"])
def test_patterns_read_without_pathspec_agree_with_it(pattern) -> None:
    """Plain names and ``*suffix`` globs are matched without compiling: as pathspec would."""
    from lifecycle_lint.patterns import _compile

    compiled = _compile(pattern)
    assert compiled is not None
    regex = compiled[0]
    for parent in ("", "src/", "a/b/"):
        for name in NAMES:
            for is_dir in (True, False):
                path = parent + name
                subject = path + "/" if is_dir else path
                expected = regex.match(subject) is not None
                assert PathPattern(pattern).matches_entry(path, is_dir) is expected, (path, is_dir)
                assert PathPattern(pattern).matches(subject) is expected, subject
                below = f"{path}/inner.py"
                assert PathPattern(pattern).matches(below) is (regex.match(below) is not None)


def test_the_default_exclusions_need_no_glob_library(tmp_path) -> None:
    import subprocess
    import sys

    tree(tmp_path, "pkg/a.py", "pkg/x.egg-info/b.py", "build/c.py")
    code = (
        "import sys\nfrom lifecycle_lint.cli import main\n"
        f"status = main(['--no-cache', {str(tmp_path)!r}])\n"
        "assert 'pathspec' not in sys.modules, 'pathspec was imported'\n"
        "raise SystemExit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == EXIT_FINDINGS, done.stderr
    assert done.stdout.count("TLC201") == 1  # pkg/a.py only


def test_force_exclude_holds_for_the_stdin_filename(tmp_path) -> None:
    """An editor pipes every buffer with its name: with --force-exclude an excluded name is
    not checked, and --fix gives the source back as it came (as ruff does)."""
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text('[tool.lifecycle-lint]\nextend-exclude = ["gen"]\n')
    source = BAD.replace('"tr-1")', '"tr-1", status="ok")').encode()

    def run(*args: str) -> tuple[int, bytes]:
        done = subprocess.run(
            [sys.executable, "-m", "lifecycle_lint", "--no-cache", *args],
            input=source,
            capture_output=True,
            cwd=tmp_path,
        )
        return done.returncode, done.stdout

    assert run("--stdin-filename", "gen/x.py", "-")[0] == EXIT_FINDINGS
    assert run("--force-exclude", "--stdin-filename", "gen/x.py", "-") == (EXIT_CLEAN, b"")
    assert run("--force-exclude", "--fix", "--stdin-filename", "gen/x.py", "-") == (
        EXIT_CLEAN,
        source,
    )
    status, fixed = run("--force-exclude", "--fix", "--stdin-filename", "app/x.py", "-")
    assert b'status="OK"' in fixed and status == EXIT_FINDINGS  # TLC201 is left
