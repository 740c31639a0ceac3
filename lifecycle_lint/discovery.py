"""Which files a run checks: the given files, and Python files under given folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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


def _skip_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    # Any virtual environment, whatever its name.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _walk(folder: Path) -> Iterator[Path]:
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
                    if not _skip_dir(entry):
                        stack.append(entry.path)
                elif entry.name.endswith((".py", ".pyi")) and entry.is_file():
                    yield Path(entry.path)
            except OSError:
                continue


def discover(paths: Iterable[str]) -> list[Path]:
    """Files to check, sorted, without duplicates.

    A named file is checked whatever its extension (pre-commit passes Python
    scripts without one); a named folder is searched for ``.py``/``.pyi`` files.
    A path that does not exist raises ``MissingPathError``.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(_walk(path))
        elif path.exists() or path.is_symlink():
            found.add(path)
        else:
            raise MissingPathError(raw)
    return sorted(found, key=lambda p: str(p))
