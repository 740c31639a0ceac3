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
    excludes: bool  # False: a "!" pattern
    by_name: bool  # a glob asked about the entry's name only (no inner "/")
    suffix: str | None = None  # "*.egg-info": a name ending so, not compiled either


@dataclass(frozen=True)
class PathPattern:
    """One glob, relative to the folder of the file that holds it."""

    pattern: str

    @functools.cached_property
    def _text(self) -> str:
        return _normalise(self.pattern)

    @functools.cached_property
    def _parts(self) -> _Parts:
        """What the pattern is, read from its text without compiling it."""
        text = self._text
        name = _plain_name(text)
        if name is not None:
            return _Parts(name, text.endswith("/"), True, True)
        body = text.removeprefix("!").rstrip("/")
        by_name = "/" not in body and "**" not in body
        rest = text[1:].removesuffix("/")
        if text.startswith("*") and rest and _plain_name(rest) == rest:
            return _Parts(None, text.endswith("/"), True, True, rest)
        return _Parts(None, False, not text.startswith("!"), by_name)

    @functools.cached_property
    def _regex(self) -> re.Pattern[str] | None:
        """pathspec's regex, compiled the first time a glob is asked (None: matches nothing)."""
        if self._parts.name is not None or self._parts.suffix is not None:
            return None
        compiled = _compile(self._text)
        return None if compiled is None else compiled[0]

    @property
    def negated(self) -> bool:
        return not self._parts.excludes

    def matches(self, relative: str) -> bool:
        """Whether the path (relative, ``/``-separated) or one of its folders matches."""
        name, folders_only, _, _, suffix = self._parts
        if name is not None or suffix is not None:
            parts = relative.split("/")
            if folders_only:
                parts = parts[:-1]
            if suffix is not None:
                return any(part.endswith(suffix) for part in parts)
            return name in parts
        regex = self._regex
        if regex is None:
            return False
        # A file is asked as itself; its folders match through the regex's "below" group.
        return regex.match(relative) is not None

    def matches_entry(self, relative: str, is_dir: bool) -> bool:
        """Whether the entry itself matches (not only a folder above it)."""
        name, folders_only, _, by_name, suffix = self._parts
        if name is not None or suffix is not None:
            if folders_only and not is_dir:
                return False
            last = relative.rpartition("/")[2]
            if suffix is not None:
                return last.endswith(suffix)
            return last == name
        regex = self._regex
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
        if not self._ordered:
            parts = relative.split("/")
            for index, part in enumerate(parts):
                folders_only = self._names.get(part)
                if folders_only is not None and (index < len(parts) - 1 or not folders_only):
                    return True
            return any(pattern.matches(relative) for pattern in self._globs)
        verdict = False
        for pattern in self.patterns:
            if pattern.matches(relative):
                verdict = not pattern.negated
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
