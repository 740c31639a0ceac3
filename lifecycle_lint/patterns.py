"""Path patterns: ``exclude``, ``extend-exclude``, ``per-file-ignores``, ``.gitignore``.

Globs are read as git reads ``.gitignore`` lines (``pathspec``'s gitignore
patterns, the library black uses): ``*`` and ``?`` stay within a folder, ``**``
crosses folders, a pattern without a ``/`` (a trailing one aside) matches a
name at any depth, a trailing ``/`` matches folders only, ``!`` re-includes, and
a pattern that matches a folder covers everything in it.

Two questions are asked of a set of patterns:

- ``matches(path)``: does the path, or a folder above it, match? (per-file
  ignores; a file named on the command line with ``--force-exclude``).
- ``decides(path, is_dir)``: does the entry *itself* match? A folder walk asks
  this of every entry it meets and never enters an excluded folder, so the
  folders above an entry have been asked already, or were named on the command
  line, and a named folder is searched even inside an excluded one (as ruff does).

Patterns that are plain names (``.venv``, ``build``: the defaults) are looked
up in a set without compiling anything; ``pathspec`` is imported only for globs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

_GLOB_CHARS = frozenset("*?[]\\!")
#: The group pathspec's regexes use for "the rest is below a matching folder".
_BELOW = "ps_d"


def _normalise(pattern: str) -> str:
    pattern = pattern.strip()
    # "./scripts" is anchored at the root, as "/scripts" is in a .gitignore.
    if pattern.startswith("./"):
        pattern = "/" + pattern[2:].lstrip("/")
    return pattern


def _plain_name(pattern: str) -> str | None:
    """The name a pattern stands for when it is a plain name (no glob, no inner ``/``)."""
    name = pattern[:-1] if pattern.endswith("/") else pattern
    if not name or "/" in name or _GLOB_CHARS.intersection(name) or name.startswith("#"):
        return None
    return name


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> tuple[re.Pattern[str], bool] | None:
    """pathspec's regex for one gitignore line and whether it excludes (``!`` re-includes)."""
    from pathspec import GitIgnoreSpec

    compiled = GitIgnoreSpec.from_lines([pattern]).patterns
    if not compiled:
        return None
    first = compiled[0]
    regex = getattr(first, "regex", None)
    if regex is None or first.include is None:
        return None  # a comment or a blank line
    return regex, bool(first.include)


class _Parts(NamedTuple):
    name: str | None  # a plain name: looked up, not compiled
    folders_only: bool
    regex: re.Pattern[str] | None
    excludes: bool  # False: a "!" pattern
    by_name: bool  # the regex is asked about the entry's name only


@dataclass(frozen=True)
class PathPattern:
    """One glob, relative to the folder of the file that holds it."""

    pattern: str

    @functools.cached_property
    def _parts(self) -> _Parts:
        text = _normalise(self.pattern)
        name = _plain_name(text)
        if name is not None:
            return _Parts(name, text.endswith("/"), None, True, True)
        compiled = _compile(text)
        if compiled is None:
            return _Parts(None, False, None, True, False)
        body = text.removeprefix("!").rstrip("/")
        # A glob without an inner "/" is matched against the entry's name alone.
        by_name = "/" not in body and "**" not in body
        return _Parts(None, False, compiled[0], compiled[1], by_name)

    @property
    def negated(self) -> bool:
        return not self._parts.excludes

    def matches(self, relative: str) -> bool:
        """Whether the path (relative, ``/``-separated) or one of its folders matches."""
        name, folders_only, regex, _, _ = self._parts
        if name is not None:
            parts = relative.split("/")
            if folders_only:
                parts = parts[:-1]
            return name in parts
        if regex is None:
            return False
        # A file is asked as itself; its folders match through the regex's "below" group.
        return regex.match(relative) is not None

    def matches_entry(self, relative: str, is_dir: bool) -> bool:
        """Whether the entry itself matches (not only a folder above it)."""
        name, folders_only, regex, _, by_name = self._parts
        if name is not None:
            if folders_only and not is_dir:
                return False
            return relative.rpartition("/")[2] == name
        if regex is None:
            return False
        subject = relative.rpartition("/")[2] if by_name else relative
        if is_dir:
            subject += "/"
        found = regex.match(subject)
        if found is None:
            return False
        below = found.re.groupindex.get(_BELOW)
        return below is None or found.start(below) == -1 or found.end() == len(subject)


class PatternSet:
    """Patterns in order; the last one that matches decides (``!`` re-includes)."""

    def __init__(self, patterns: Iterable[PathPattern]) -> None:
        self.patterns: tuple[PathPattern, ...] = tuple(patterns)
        self._ordered = any(p.negated for p in self.patterns)
        names: dict[str, bool] = {}
        globs: list[PathPattern] = []
        for pattern in self.patterns:
            name, folders_only = pattern._parts.name, pattern._parts.folders_only
            if name is not None and not self._ordered:
                # folders-only wins only if every spelling of the name is folders-only
                names[name] = names.get(name, True) and folders_only
            else:
                globs.append(pattern)
        self._names = names
        self._globs = tuple(globs)

    @classmethod
    def of(cls, patterns: Sequence[str]) -> PatternSet:
        return cls(PathPattern(p) for p in patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def decides(self, relative: str, is_dir: bool) -> bool | None:
        """True: the entry itself is excluded; False: re-included by ``!``; None: no match."""
        if not self._ordered:
            name = relative.rpartition("/")[2]
            folders_only = self._names.get(name)
            if folders_only is not None and (is_dir or not folders_only):
                return True
            for pattern in self._globs:
                if pattern.matches_entry(relative, is_dir):
                    return True
            return None
        verdict: bool | None = None
        for pattern in self.patterns:
            if pattern.matches_entry(relative, is_dir):
                verdict = not pattern.negated
        return verdict

    def excludes_entry(self, relative: str, is_dir: bool) -> bool:
        return self.decides(relative, is_dir) is True

    def matches(self, relative: str) -> bool:
        """Whether the path or a folder above it is excluded."""
        verdict = False
        for pattern in self.patterns:
            if pattern.matches(relative):
                verdict = not pattern.negated
                if not self._ordered:
                    return True
        return verdict


def read_ignore_file(path: str) -> PatternSet | None:
    """The patterns of a ``.gitignore`` or ``.ignore`` file; None when unreadable or empty."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    # Blank lines and comments would compile to nothing: skip them here.
    patterns = [line for line in lines if line.strip() and not line.startswith("#")]
    return PatternSet.of(patterns) or None
