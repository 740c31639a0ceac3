"""Which files a run checks: the given files, and Python files under given folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

#: Folders never entered: VCS data, caches, build output, virtual environments.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        ".eggs",
        ".venv",
        "venv",
        "build",
        "dist",
        "node_modules",
        "site-packages",
    }
)


class MissingPathError(FileNotFoundError):
    pass


def _skip_dir(entry: os.DirEntry[str], by_name: bool = True) -> bool:
    name = entry.name
    if by_name and (name in SKIPPED_DIRS or name.endswith(".egg-info")):
        return True
    # Any virtual environment, whatever its name.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _walk(folder: Path, excluded: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if excluded is not None:
                        if not _skip_dir(entry, by_name=False) and not excluded(Path(entry.path)):
                            stack.append(entry.path)
                    elif not _skip_dir(entry):
                        stack.append(entry.path)
                elif entry.name.endswith((".py", ".pyi")) and entry.is_file():
                    if excluded is None or not excluded(Path(entry.path)):
                        yield Path(entry.path)
            except OSError:
                continue


def discover(paths: Iterable[str], excluded: Callable[[Path], bool] | None = None) -> list[Path]:
    """Files to check, sorted, without duplicates.

    A named file is checked whatever its extension (pre-commit passes Python
    scripts without one); a named folder is searched for ``.py``/``.pyi`` files.
    A path that does not exist raises ``MissingPathError``. ``excluded`` (the
    configuration's ``exclude``, which holds ``SKIPPED_DIRS`` unless replaced)
    is asked about every folder entered and every file, named ones included, as
    flake8 does: a pre-commit hook passes files by name and the configured
    exclusions must hold there too. Virtual environments are never entered.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if excluded is None or not excluded(path):
                found.update(_walk(path, excluded))
        elif path.exists() or path.is_symlink():
            if excluded is None or not excluded(path):
                found.add(path)
        else:
            raise MissingPathError(raw)
    return sorted(found, key=lambda p: str(p))
