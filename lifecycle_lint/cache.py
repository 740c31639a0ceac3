"""The results cache: a file whose bytes and settings did not change is not parsed again.

Layout, as ruff's cache has it: ``.lifecycle_lint_cache/`` at the project root (the
nearest folder above the current one holding ``pyproject.toml`` or ``.git``, else
the current folder), or ``--cache-dir`` / ``LIFECYCLE_LINT_CACHE_DIR``; a
``CACHEDIR.TAG`` and a ``.gitignore`` of ``*`` in it; then one folder per tool
version holding one small JSON entry per checked file and effective settings.

An entry records the key it was computed for: a digest of

- the file's bytes,
- the tool: its version and the size and time of each of its modules (so an
  edited checkout never reads an old verdict),
- the effective settings for that file (enabled codes after per-file ignores,
  MLflow major version, every other analysis setting),
- ``dependencies``: what the file's verdict depends on beyond its own bytes, when
  known before the check (nothing today).

Beside the key, an entry lists the project modules the file's verdict was drawn
from (the project index reads them for helper summaries and imported clients),
each with a digest of its bytes: a lookup is a miss when any of them changed or
is gone, so a change to a helper re-checks the files that use it.

A lookup whose key differs is a miss, an entry that cannot be read or does not
hold what an entry holds is a miss (and is rewritten), so the cache never gives
a wrong result. Writes go to a temporary file then ``os.replace``: two runs that
share the cache see either the old entry or the new one, whole. Entries not used
for 30 days are pruned (at most once a day); a file's entry is replaced in place
when the file changes. Only checks use the cache: ``--fix`` and ``--diff`` never
trust a cached result. No libcst here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lifecycle_lint import __version__
from lifecycle_lint.findings import Finding

if TYPE_CHECKING:
    from lifecycle_lint.engine import LintOptions

CACHE_DIR_NAME = ".lifecycle_lint_cache"
ENV_VAR = "LIFECYCLE_LINT_CACHE_DIR"
#: Entries not used for this long are removed; pruning runs at most once per PRUNE_EVERY.
PRUNE_AFTER = 30 * 24 * 3600.0
PRUNE_EVERY = 24 * 3600.0
#: A hit refreshes its entry's time at most this often (the time is what pruning reads).
TOUCH_EVERY = 24 * 3600.0
#: Temporary files older than this were left by a run that died: pruned.
STALE_TEMP = 3600.0

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by lifecycle-lint.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n"
)
_PRUNED_MARK = ".last-prune"
_TEMP_PREFIX = ".tmp-"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``pyproject.toml`` or ``.git``."""
    here = Path(os.path.abspath(start if start is not None else os.getcwd()))
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return here


def default_cache_dir(start: Path | None = None) -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    return project_root(start) / CACHE_DIR_NAME


@functools.lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """The version and the modules of lifecycle-lint and of the MLflow facts it reads."""
    import lifecycle_lint
    import lifecycle_runtime

    digest = hashlib.sha256(__version__.encode())
    for package in (lifecycle_lint, lifecycle_runtime):
        folder = Path(package.__file__ or ".").parent
        for module in sorted(folder.rglob("*.py")):
            try:
                stat = module.stat()
            except OSError:
                continue
            digest.update(
                f"{module.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode()
            )
    return digest.hexdigest()


def _canonical(value: object) -> object:
    """A JSON-able form of a settings value that is the same in every process."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)} | {
            "__type__": type(value).__name__
        }
    if isinstance(value, frozenset | set):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=repr)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


@functools.lru_cache(maxsize=64)
def settings_digest(options: LintOptions) -> str:
    text = json.dumps(_canonical(options), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def entry_key(data: bytes, options: LintOptions, dependencies: str = "") -> str:
    """What an entry must have been computed from to be used for this file now."""
    digest = hashlib.sha256()
    for part in (tool_fingerprint(), settings_digest(options), dependencies):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def _finding_row(finding: Finding) -> list[object]:
    return [
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.code,
        finding.name,
        finding.message,
        finding.fix,
    ]


def _findings_from(path: str, rows: object) -> list[Finding] | None:
    """The findings of an entry, or None when it does not hold what an entry holds."""
    if not isinstance(rows, list):
        return None
    findings: list[Finding] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 8:
            return None
        line, column, end_line, end_column, code, name, message, fix = row
        if not all(type(n) is int and n >= 0 for n in (line, column, end_line, end_column)):
            return None
        if not all(isinstance(s, str) for s in (code, name, message)):
            return None
        if fix is not None and not isinstance(fix, str):
            return None
        findings.append(Finding(path, line, column, end_line, end_column, code, name, message, fix))
    return findings


def _file_digest(name: str) -> str | None:
    """A digest of a file's bytes, None when it cannot be read."""
    try:
        with open(name, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _dependencies_unchanged(recorded: object) -> bool:
    """Whether every file an entry rests on still has the bytes it had."""
    if not isinstance(recorded, dict):
        return False
    for name, digest in recorded.items():
        if not isinstance(name, str) or not isinstance(digest, str):
            return False
        if _file_digest(name) != digest:
            return False
    return True


class Cache:
    """One cache folder; every method swallows the file system's errors (a miss)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.entries = self.folder / __version__
        self._ready = False
        self.hits = 0
        self.writes = 0

    def _slot(self, path: str, options: LintOptions) -> Path:
        # fsencode: a file name that is not UTF-8 (surrogate escapes) has its own bytes.
        where = os.fsencode(os.path.abspath(path)) + b"\0" + settings_digest(options).encode()
        name = hashlib.sha256(where).hexdigest()[:40]
        return self.entries / name[:2] / name[2:]

    def get(self, path: str, options: LintOptions, key: str) -> list[Finding] | None:
        """The cached findings for this file's ``key``; None on a miss."""
        try:
            slot = self._slot(path, options)
            with open(slot, "rb") as handle:
                raw = handle.read()
                modified = os.fstat(handle.fileno()).st_mtime
        except (OSError, ValueError):
            return None
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        if not _dependencies_unchanged(entry.get("dependencies", {})):
            return None
        findings = _findings_from(path, entry.get("findings"))
        if findings is None:
            return None
        if time.time() - modified > TOUCH_EVERY:
            try:
                os.utime(slot)
            except OSError:
                pass
        self.hits += 1
        return findings

    def put(
        self,
        path: str,
        options: LintOptions,
        key: str,
        findings: Iterable[Finding],
        dependencies: Iterable[str] = (),
    ) -> None:
        """Store ``findings`` for ``key``; ``dependencies``: the other files they rest on."""
        try:
            slot = self._slot(path, options)
            depends: dict[str, str | None] = {
                name: _file_digest(name) for name in sorted(dependencies)
            }
            if any(digest is None for digest in depends.values()):
                return  # a module read during the check is gone already: not cacheable
            body = json.dumps(
                {
                    "key": key,
                    "path": os.path.abspath(path),
                    "findings": [_finding_row(f) for f in findings],
                    "dependencies": depends,
                },
                separators=(",", ":"),
            ).encode()
            self._prepare()
            slot.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(slot, body)
        except (OSError, ValueError):
            return
        self.writes += 1

    def _prepare(self) -> None:
        """The folder with its ``CACHEDIR.TAG`` and ``.gitignore``, made once."""
        if self._ready:
            return
        self.entries.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "*\n")):
            target = self.folder / name
            if not target.exists():
                _write_atomically(target, text.encode())
        self._ready = True

    def prune(self, *, now: float | None = None, force: bool = False) -> int:
        """Remove entries not used for ``PRUNE_AFTER``; at most once per ``PRUNE_EVERY``
        unless ``force``. Returns the number of files removed."""
        now = time.time() if now is None else now
        mark = self.folder / _PRUNED_MARK
        if not force:
            try:
                if now - mark.stat().st_mtime < PRUNE_EVERY:
                    return 0
            except FileNotFoundError:
                if not self.folder.is_dir():
                    return 0
                _touch(mark)  # a new cache: start counting from now
                return 0
            except OSError:
                return 0
        _touch(mark)
        removed = 0
        for version in _listdir(self.folder):
            if not version.is_dir() or version.name.startswith("."):
                continue
            for shard in _listdir(version):
                if not shard.is_dir():
                    continue
                for entry in _listdir(shard):
                    try:
                        age = now - entry.stat().st_mtime
                        limit = STALE_TEMP if entry.name.startswith(_TEMP_PREFIX) else PRUNE_AFTER
                        if age > limit:
                            entry.unlink()
                            removed += 1
                    except OSError:
                        continue
                _rmdir_if_empty(shard)
            if version.name != __version__:
                _rmdir_if_empty(version)
        return removed


def _listdir(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _touch(path: Path) -> None:
    try:
        path.touch()
    except OSError:
        pass


def _write_atomically(target: Path, body: bytes) -> None:
    import tempfile  # writes only: a warm run never imports it

    handle, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
