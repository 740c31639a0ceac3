"""Which files a run checks: the named files, and Python files under named folders.

A path named on the command line is always checked, as ruff does, even inside a
folder that is skipped or excluded (``lifecycle-lint .venv/.../site-packages/mlflow``
checks MLflow's package); with ``force_exclude`` (``--force-exclude``, which the
pre-commit hooks pass) the configuration's exclusions apply to named paths too.
Inside a named folder, every entry is asked once, on its own path relative to the
configuration's folder: the configuration's ``exclude``/``extend-exclude``, the
``.gitignore`` and ``.ignore`` files (unless ``respect-gitignore = false``), and
virtual environments (a folder holding ``pyvenv.cfg``) are never entered.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lifecycle_lint.config import Config
    from lifecycle_lint.patterns import PatternSet

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
        ".lifecycle_lint_cache",
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
IGNORE_FILES = (".gitignore", ".ignore")
PYTHON_SUFFIXES = (".py", ".pyi")

#: An ignore file's patterns with the length of its folder's path (with the separator):
#: the path of an entry below that folder, relative to it, is ``entry[length:]``.
_Level = tuple[int, "PatternSet"]


class MissingPathError(FileNotFoundError):
    pass


def _posix(relative: str) -> str:
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


def _prefix(folder: str) -> str:
    return folder if folder.endswith(os.sep) else folder + os.sep


def _read_ignores(folder: str, names: Iterable[str]) -> list[_Level]:
    from lifecycle_lint.patterns import read_ignore_file

    levels: list[_Level] = []
    for name in IGNORE_FILES:
        if name in names:
            patterns = read_ignore_file(os.path.join(folder, name))
            if patterns is not None:
                levels.append((len(_prefix(folder)), patterns))
    return levels


@functools.lru_cache(maxsize=256)
def _ancestor_ignores(folder: str) -> tuple[_Level, ...]:
    """The ignore files of ``folder`` and the folders above it, up to the repository's
    top (the folder holding ``.git``); none outside a repository."""
    chain: list[str] = []
    current = folder
    while True:
        chain.append(current)
        if os.path.exists(os.path.join(current, ".git")):
            break
        parent = os.path.dirname(current)
        if parent == current:
            return ()
        current = parent
    levels: list[_Level] = []
    for candidate in reversed(chain):  # outermost first: deeper files decide first
        present = [n for n in IGNORE_FILES if os.path.isfile(os.path.join(candidate, n))]
        if present:
            levels.extend(_read_ignores(candidate, present))
    return tuple(levels)


def _ignored(levels: Sequence[_Level], path: str, is_dir: bool, *, itself: bool) -> bool:
    """Whether the ignore files (outermost first) exclude the entry at ``path`` (absolute);
    ``itself``: ask about the entry alone, else about it or a folder above it."""
    for length, patterns in reversed(levels):
        relative = _posix(path[length:])
        if itself:
            verdict = patterns.decides(relative, is_dir)
            if verdict is not None:
                return verdict
        elif patterns.matches(relative + "/" if is_dir else relative):
            return True
    return False


def _relative(config: Config, path: str) -> str | None:
    relative = config.relative(path)
    return "" if relative == "." else relative


def _forced_out(config: Config, path: str, is_dir: bool) -> bool:
    """``--force-exclude``: the configuration's exclusions, asked of a named path."""
    if config.is_excluded(path, is_dir):
        return True
    if config.respect_gitignore:
        folder = path if is_dir else os.path.dirname(path)
        levels = _ancestor_ignores(folder)
        if is_dir:  # the folder's own ignore files speak about what is in it, not of it
            levels = tuple(lv for lv in levels if lv[0] != len(_prefix(path)))
        return _ignored(levels, path, is_dir, itself=False)
    return False


def _walk(root: str, config_for: Callable[[Path], Config], fixed_config: bool) -> Iterable[str]:
    """Python files below ``root`` (absolute), as absolute paths."""
    config = config_for(Path(root))
    ancestors: tuple[_Level, ...] = ()
    if config.respect_gitignore:
        ancestors = _ancestor_ignores(os.path.dirname(root)) if os.path.dirname(root) else ()
        if ancestors and _ignored(ancestors, root, True, itself=False):
            ancestors = ()  # an ignored folder named on the command line: searched anyway
    stack: list[tuple[str, Config, str | None, tuple[_Level, ...]]] = [
        (root, config, _relative(config, root), ancestors)
    ]
    while stack:
        current, config, relative, levels = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        names = {entry.name for entry in entries}
        if not fixed_config and "pyproject.toml" in names:
            nearer = config_for(Path(current))
            if nearer is not config:
                config, relative = nearer, _relative(nearer, current)
        if config.respect_gitignore:
            if not names.isdisjoint(IGNORE_FILES):
                levels = levels + tuple(_read_ignores(current, names))
        else:
            levels = ()
        exclusions = config.exclusions
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not (name.endswith(PYTHON_SUFFIXES) and entry.is_file()):
                    continue
            except OSError:
                continue
            below = f"{relative}/{name}" if relative else name
            if exclusions.excludes_entry(below, is_dir):
                continue
            if levels and _ignored(levels, entry.path, is_dir, itself=True):
                continue
            if is_dir:
                # Any virtual environment, whatever its name.
                if not os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    stack.append(
                        (entry.path, config, below if relative is not None else None, levels)
                    )
            else:
                yield entry.path


def discover(
    paths: Iterable[str],
    config_for: Callable[[Path], Config] | None = None,
    *,
    force_exclude: bool = False,
) -> list[Path]:
    """Files to check, sorted, without duplicates, spelled as the paths were given.

    A named file is checked whatever its extension (pre-commit passes Python
    scripts without one); a named folder is searched for ``.py``/``.pyi`` files.
    A path that does not exist raises ``MissingPathError``. ``config_for`` gives
    a folder's configuration (default: the built-in one); ``force_exclude``
    (or ``force-exclude = true`` in the named path's configuration) applies its
    exclusions to the named paths themselves.
    """
    _ancestor_ignores.cache_clear()  # ignore files are read afresh by every run
    fixed_config = config_for is None
    if config_for is None:
        from lifecycle_lint.config import DEFAULT

        config_for = lambda _path: DEFAULT  # noqa: E731
    found: set[Path] = set()
    for raw in paths:
        shown = str(Path(raw))
        absolute = os.path.abspath(shown)
        is_dir = os.path.isdir(absolute)
        if not is_dir and not os.path.lexists(absolute):
            raise MissingPathError(raw)
        config = config_for(Path(absolute))
        if (force_exclude or config.force_exclude) and _forced_out(config, absolute, is_dir):
            continue
        if not is_dir:
            found.add(Path(shown))
            continue
        start = len(_prefix(absolute))
        for path in _walk(absolute, config_for, fixed_config):
            found.add(Path(shown, path[start:]))
    return sorted(found, key=str)
