"""The project index: what the other modules of the checked project define.

Real tracing code shares one client and a few helpers between modules
(``from .clients import client``, ``from app import tracing as t; t.client``,
``mlf = tracing.client_for(env)``). The index resolves such imports to the
project's own files and answers from their summaries: which module-level names
are clients, and the function summaries (lifecycle_lint.summaries) of their
module-level functions.

- The project root is the nearest folder above the checked file holding
  ``pyproject.toml``, ``setup.cfg``, ``setup.py`` or ``.git``. Absolute imports are
  looked up from the folder above the checked file's top package, from the root,
  and from ``root/src``; relative imports from the file's package.
- A module is read only when a question about a name imported from it is asked,
  and at most once per run (per process): its summary is kept in memory, keyed by
  path, size and modification time, and is plain data (``ModuleSummary.to_json``)
  so that a results cache can store it.
- A module with no sign of the tracing API (no lifecycle token, no ``Client``, no
  ``.end(``, no ``span``) can still re-export a client or a helper: only its
  imports are read (with ``ast``, cheaply); it defines nothing the linter needs.
- The command and the flake8 plugin both reach this module through the engine, so
  they resolve the same names and report the same findings.
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    from lifecycle_lint.settings import Settings
    from lifecycle_lint.summaries import FunctionSummary

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
#: A module holding none of these defines no client, starter or ending helper.
_RELEVANT = (*facts.LIFECYCLE_TOKENS, "Client", ".end(", "span")
#: Imports followed through re-exports before giving up.
_MAX_HOPS = 8


@functools.lru_cache(maxsize=1024)
def project_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` that holds a project marker."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return None


def _top_package_parent(folder: Path) -> Path:
    """The folder above the outermost package holding ``folder``."""
    current = folder
    while (current / "__init__.py").is_file() and current.parent != current:
        current = current.parent
    return current


@dataclass
class ModuleSummary:
    """What one module defines, in plain data."""

    path: str
    #: Module-level names bound (only) to clients.
    clients: tuple[str, ...] = ()
    #: Module-level functions: name -> summary.
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    #: Names bound by imports: name -> the import's qualified name (maybe relative).
    imports: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "clients": list(self.clients),
            "functions": {name: f.to_json() for name, f in self.functions.items()},
            "imports": dict(self.imports),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleSummary:
        from lifecycle_lint.summaries import FunctionSummary

        return cls(
            path=data["path"],
            clients=tuple(data["clients"]),
            functions={
                name: FunctionSummary.from_json(f) for name, f in data["functions"].items()
            },
            imports=dict(data["imports"]),
        )


@dataclass(frozen=True)
class Resolved:
    """What a qualified name stands for in the project."""

    kind: str  # "client" | "function" | "module"
    where: str  # the module file, relative to the root when inside it
    summary: FunctionSummary | None = None


#: Module summaries of this process: (path, size, mtime, settings key) -> summary.
_MODULES: dict[tuple[str, int, int, tuple[object, ...]], ModuleSummary] = {}
_BUSY: set[str] = set()


def cache_key(path: Path, settings: Settings) -> tuple[str, int, int, tuple[object, ...]] | None:
    """The key a module's summary is stored under (serialisable)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_size, stat.st_mtime_ns, settings.knowledge_key())


def clear_cache() -> None:
    _MODULES.clear()
    project_root.cache_clear()


class ProjectIndex:
    """Resolves imports of one checked file to the project's modules."""

    def __init__(self, checked: Path, settings: Settings) -> None:
        self.checked = checked
        self.settings = settings
        folder = checked.parent
        self.root = project_root(folder)
        bases = [_top_package_parent(folder)]
        if self.root is not None:
            bases += [self.root, self.root / "src"]
        self.bases = [b for i, b in enumerate(bases) if b not in bases[:i] and b.is_dir()]

    # --- files -----------------------------------------------------------------------

    def _module_file(self, base: Path, parts: list[str]) -> Path | None:
        target = base.joinpath(*parts) if parts else base
        if parts:
            candidate = target.with_name(target.name + ".py")
            if candidate.is_file():
                return candidate
        init = target / "__init__.py"
        if init.is_file():
            return init
        return None

    def _split(self, qualified: str, from_file: Path) -> tuple[Path, list[str]] | None:
        """The module file a qualified name starts in, and the attribute names after it."""
        if qualified.startswith("."):
            dots = len(qualified) - len(qualified.lstrip("."))
            base = from_file.parent
            for _ in range(dots - 1):
                base = base.parent
            rest = [p for p in qualified[dots:].split(".") if p]
            bases = [base]
            if not rest:
                return None
        else:
            rest = qualified.split(".")
            if rest[0] == facts.AUTOLOG_ROOT and not self._is_own_project("mlflow"):
                return None  # MLflow itself: facts, not the project
            bases = self.bases
        lowest = 0 if qualified.startswith(".") else 1  # ``from . import x``: the package
        for base in bases:
            for cut in range(len(rest), lowest - 1, -1):
                found = self._module_file(base, rest[:cut])
                if found is not None:
                    return found, rest[cut:]
        return None

    def _is_own_project(self, top: str) -> bool:
        return any((b / top).is_dir() for b in self.bases)

    # --- names -------------------------------------------------------------------------

    def resolve(self, qualified: str, from_file: Path | None = None, hops: int = 0) -> Resolved | None:
        if hops > _MAX_HOPS:
            return None
        split = self._split(qualified, from_file or self.checked)
        if split is None:
            return None
        path, attrs = split
        where = self._shown(path)
        if not attrs:
            return Resolved("module", where)
        if len(attrs) != 1:
            return None  # a class attribute or a submodule's name: not followed
        summary = self.module(path)
        if summary is None:
            return None
        name = attrs[0]
        if name in summary.clients:
            return Resolved("client", where)
        if name in summary.functions:
            return Resolved("function", where, summary.functions[name])
        if name in summary.imports:
            return self.resolve(summary.imports[name], path, hops + 1)
        return None

    def _shown(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.as_posix()

    # --- modules -------------------------------------------------------------------

    def module(self, path: Path) -> ModuleSummary | None:
        key = cache_key(path, self.settings)
        if key is None:
            return None
        cached = _MODULES.get(key)
        if cached is not None:
            return cached
        if key[0] in _BUSY:
            return None  # an import cycle: unknown for now
        _BUSY.add(key[0])
        try:
            summary = self._summarise(path)
        finally:
            _BUSY.discard(key[0])
        if summary is not None:
            _MODULES[key] = summary
        return summary

    def _summarise(self, path: Path) -> ModuleSummary | None:
        from lifecycle_lint.engine import decode_source

        try:
            text = decode_source(path.read_bytes())
        except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
            return None
        if not any(token in text for token in _RELEVANT):
            return _imports_only(path, text)
        import libcst as cst

        try:
            module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        from lifecycle_lint.context import FileContext

        ctx = FileContext(str(path), module, self.settings, text)
        return ctx.knowledge.module_summary()


def _imports_only(path: Path, text: str) -> ModuleSummary | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    imports: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                dot = "" if base.endswith(".") else "."
                imports[alias.asname or alias.name] = f"{base}{dot}{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.asname] = alias.name
    return ModuleSummary(str(path), imports=imports)


_INDEXES: dict[tuple[str, tuple[object, ...]], ProjectIndex] = {}


def index_for(path: str, settings: Settings) -> ProjectIndex | None:
    """The project index for a checked file (None for stdin and paths not on disk)."""
    if path in ("", "-", "stdin", "<stdin>"):
        return None
    absolute = Path(os.path.abspath(path))
    if not absolute.parent.is_dir():
        return None
    key = (str(absolute), settings.knowledge_key())
    found = _INDEXES.get(key)
    if found is None:
        found = ProjectIndex(absolute, settings)
        _INDEXES[key] = found
    return found
