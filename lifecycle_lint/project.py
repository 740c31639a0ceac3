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
- A module with no sign of the tracing API (no lifecycle token, no ``MlflowClient``
  or ``TraceClient``, no ``.end(``) can still re-export a client or a helper: only
  its imports are read (with ``ast``, cheaply); it defines nothing else the linter
  needs (a helper there that only reads a span stays unknown: a hand-over).
- The command and the flake8 plugin both reach this module through the engine, so
  they resolve the same names and report the same findings.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle_runtime import mlflow_facts as facts

if TYPE_CHECKING:
    from lifecycle_lint.settings import Settings
    from lifecycle_lint.summaries import FunctionSummary

#: Attributes and methods that show a name holds a span (``set_*`` methods too).
SPAN_ATTRIBUTES = frozenset({"end", "span_id", "trace_id", "request_id", "parent_id"})
ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
#: A module holding none of these defines no client, starter or ending helper.
_RELEVANT = (*facts.LIFECYCLE_TOKENS, facts.CLIENT_CLASS, "TraceClient", ".end(")
#: Imports followed through re-exports before giving up.
_MAX_HOPS = 8


@functools.lru_cache(maxsize=1024)
def project_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` that holds a project marker."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return None


@functools.lru_cache(maxsize=8192)
def _module_file(base: Path, parts: tuple[str, ...]) -> Path | None:
    target = base.joinpath(*parts) if parts else base
    if parts:
        candidate = target.with_name(target.name + ".py")
        if candidate.is_file():
            return candidate
    init = target / "__init__.py"
    if init.is_file():
        return init
    return None


def _top_package_parent(folder: Path) -> Path:
    """The folder above the outermost package holding ``folder``."""
    current = folder
    while (current / "__init__.py").is_file() and current.parent != current:
        current = current.parent
    return current


@dataclass
class ModuleSummary:
    """What one module defines, in plain data: filled in as questions are asked (a
    function's summary is computed the first time a checked file calls it)."""

    path: str
    #: Module-level names bound (only) to clients.
    clients: tuple[str, ...] = ()
    #: Module-level functions summarised so far: name -> summary.
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    #: Names bound by imports: name -> the import's qualified name (maybe relative).
    imports: dict[str, str] = field(default_factory=dict)
    #: Every module-level function's name (summarised or not yet).
    defined: frozenset[str] = frozenset()
    #: Computes a function's summary on demand (this run only; not stored).
    compute: Callable[[str], FunctionSummary | None] | None = field(
        default=None, compare=False, repr=False
    )

    def function(self, name: str) -> FunctionSummary | None:
        found = self.functions.get(name)
        if found is None and name in self.defined and self.compute is not None:
            found = self.compute(name)
            if found is not None:
                self.functions[name] = found
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "clients": list(self.clients),
            "functions": {name: f.to_json() for name, f in self.functions.items()},
            "imports": dict(self.imports),
            "defined": sorted(self.defined),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleSummary:
        from lifecycle_lint.summaries import FunctionSummary

        return cls(
            path=data["path"],
            clients=tuple(data["clients"]),
            functions={name: FunctionSummary.from_json(f) for name, f in data["functions"].items()},
            imports=dict(data["imports"]),
            defined=frozenset(data["defined"]),
        )


@dataclass(frozen=True)
class Resolved:
    """What a qualified name stands for in the project."""

    kind: str  # "client" | "function" | "module"
    where: str  # the module file, relative to the root when inside it
    summary: FunctionSummary | None = None


#: Module summaries of this process: (path, size, mtime, settings key) -> summary.
_MODULES: dict[tuple[str, int, int, tuple[object, ...]], ModuleSummary] = {}
_RESOLVED: dict[tuple[object, ...], tuple[Resolved | None, tuple[Path, ...]]] = {}
_BUSY: set[str] = set()


def cache_key(path: Path, settings: Settings) -> tuple[str, int, int, tuple[object, ...]] | None:
    """The key a module's summary is stored under (serialisable)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_size, stat.st_mtime_ns, settings.knowledge_key())


#: Trees parsed here for a summary, by source text, until the run checks that file too:
#: a module of the project that the run also checks is parsed once, not twice.
_TREES: dict[str, object] = {}
_MAX_TREES = 32


def take_tree(text: str) -> object | None:
    """The tree the index parsed for ``text``, if any (given out once)."""
    return _TREES.pop(text, None) if _TREES else None


def clear_cache() -> None:
    _INDEXES.clear()
    _TREES.clear()
    _MODULES.clear()
    _RESOLVED.clear()
    _SKETCHES.clear()
    _module_file.cache_clear()
    project_root.cache_clear()


class ProjectIndex:
    """Resolves imports of one checked file to the project's modules."""

    def __init__(self, checked: Path, settings: Settings) -> None:
        self.checked = checked
        self.settings = settings
        folder = checked.parent
        self.root = project_root(folder)
        top = _top_package_parent(folder)
        #: The checked file's own top-level package (``app`` for ``app/jobs.py``).
        self.package = folder.relative_to(top).parts[0] if folder != top else None
        bases = [top]
        if self.root is not None:
            bases += [self.root, self.root / "src"]
        self.bases = [b for i, b in enumerate(bases) if b not in bases[:i] and b.is_dir()]
        self._top = top
        #: The project's modules this file's findings depend on (for a results cache:
        #: with ``cache_key`` of each, it says when a stored result is stale).
        self.dependencies: set[Path] = set()
        self._trail: list[Path] = []

    # --- files -----------------------------------------------------------------------

    def _module_file(self, base: Path, parts: list[str]) -> Path | None:
        return _module_file(base, tuple(parts))

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
            # Beside the file's own package, only top-level modules of the project: an
            # installed library next to the package (site-packages) is not the project.
            bases = [b for b in self.bases if b != self._top or rest[0] == self.package]
            if self.root is not None and self._top == self.root:
                bases = self.bases
        lowest = 0 if qualified.startswith(".") else 1  # ``from . import x``: the package
        for base in bases:
            for cut in range(len(rest), lowest - 1, -1):
                found = self._module_file(base, rest[:cut])
                if found is not None:
                    return found, rest[cut:]
        return None

    # --- names -------------------------------------------------------------------------

    def resolve(
        self,
        qualified: str,
        from_file: Path | None = None,
        hops: int = 0,
        *,
        want: str = "any",
    ) -> Resolved | None:
        """What ``qualified`` names in the project. ``want``: ``"starter"`` (a function that
        may return a span it starts), ``"client"`` (a client or a factory) and ``"span-user"``
        (a function that uses a parameter as a span) look cheaply first (text, ``ast``) and
        read the module only when the name may be one; ``"any"`` reads the module."""
        if hops > _MAX_HOPS:
            return None
        origin = from_file or self.checked
        # The same name means the same thing to every file of a package: asked once.
        key = (
            tuple(self.bases),
            self.package,
            str(origin.parent) if qualified.startswith(".") else "",
            qualified,
            want,
            self.settings.knowledge_key(),
        )
        cached = _RESOLVED.get(key)
        if cached is not None:
            self.dependencies.update(cached[1])
            return cached[0]
        mark = len(self._trail)
        result = self._resolve(qualified, origin, hops, want)
        touched = tuple(self._trail[mark:])
        _RESOLVED[key] = (result, touched)
        self.dependencies.update(touched)
        return result

    def _resolve(self, qualified: str, origin: Path, hops: int, want: str) -> Resolved | None:
        split = self._split(qualified, origin)
        if split is None:
            return None
        path, attrs = split
        self._trail.append(path)
        where = self._shown(path)
        if not attrs:
            return Resolved("module", where)
        if len(attrs) != 1:
            return None  # a class attribute or a submodule's name: not followed
        if want != "any":
            sketch = _sketch(path)
            if sketch is None:
                return None
            imported = sketch.imported(attrs[0], want)
            if imported is not None:
                return self.resolve(imported, path, hops + 1, want=want)
            if not sketch.may_be(attrs[0], want):
                return None
        summary = self.module(path)
        if summary is None:
            return None
        name = attrs[0]
        if name in summary.clients:
            return Resolved("client", where)
        function = summary.function(name)
        if function is not None:
            return Resolved("function", where, function)
        if name in summary.imports:
            return self.resolve(summary.imports[name], path, hops + 1, want=want)
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
            if path.name != "__init__.py":
                return ModuleSummary(str(path))  # defines nothing of interest, re-exports aside
            return _imports_only(path, text)
        import libcst as cst

        try:
            module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        if len(_TREES) >= _MAX_TREES:
            _TREES.pop(next(iter(_TREES)))  # the oldest: a long run holds only a few
        _TREES[text] = module
        from lifecycle_lint.context import FileContext

        ctx = FileContext(str(path), module, self.settings, text)
        return ctx.knowledge.module_summary()


class _Sketch:
    """A module read cheaply: its text is searched for the tokens each question needs,
    and only then parsed with ``ast`` (once): its imports (re-exports), its functions
    that may return a span they start, build a client, or use a parameter as a span."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.data = data
        self._tree: ast.Module | None | bool = False

    def _has(self, tokens: tuple[str, ...]) -> bool:
        return any(token.encode() in self.data for token in tokens)

    @property
    def tree(self) -> ast.Module | None:
        if self._tree is False:
            from lifecycle_lint.engine import decode_source

            try:
                self._tree = ast.parse(decode_source(self.data))
            except (UnicodeDecodeError, SyntaxError, LookupError, ValueError, RecursionError):
                self._tree = None
        return self._tree  # type: ignore[return-value]

    @functools.cached_property
    def imports(self) -> dict[str, str]:
        """Names the module binds by import (its re-exports): only its import statements
        are parsed, not the whole module."""
        text = self.data.decode("utf-8", errors="replace")
        kept: list[str] = []
        open_paren = False
        for line in text.splitlines():
            stripped = line.strip()
            if open_paren:
                kept.append(stripped)
                open_paren = ")" not in stripped
            elif stripped.startswith(("from ", "import ")):
                kept.append(stripped)
                open_paren = "(" in stripped and ")" not in stripped
        try:
            return _imports_of(ast.parse("\n".join(kept)))
        except (SyntaxError, ValueError, RecursionError):
            return {}

    def imported(self, name: str, want: str) -> str | None:
        if re.search(rb"def\s+" + name.encode() + rb"\s*\(", self.data):
            return None  # defined here (a re-export by the same name is not looked for)
        return self.imports.get(name)

    def may_be(self, name: str, want: str) -> bool:
        if not self._has(_WANT_TOKENS[want]):
            return False
        if want == "starter" and not self._may_return_a_start:
            return False  # no `return ...start_span(` nor `return x` after `x = ...start_span(`
        return name in self._names(want)

    @functools.cached_property
    def _may_return_a_start(self) -> bool:
        if _RETURNS_A_START.search(self.data):
            return True
        names = {m.group(1) for m in _ASSIGNS_A_START.finditer(self.data)}
        return any(re.search(rb"return\s+" + name + rb"\b", self.data) for name in names)

    @functools.lru_cache(maxsize=3)  # noqa: B019 - one sketch per module, kept for the run
    def _names(self, want: str) -> frozenset[str]:
        tree = self.tree
        if tree is None:
            return frozenset()
        if want == "starter":
            lines = self.data.decode("utf-8", errors="replace").splitlines(keepends=True)
            return _starters(tree, lines)
        if want == "client":
            return _client_names(tree)
        return _span_users(tree)


_SKETCHES: dict[tuple[str, int, int], _Sketch | None] = {}
_CLIENT_NAMES = (facts.CLIENT_CLASS, "TraceClient")
_START_NAMES = frozenset(
    {facts.START_SPAN, facts.START_TRACE, facts.START_SPAN_NO_CONTEXT.rsplit(".", 1)[1]}
)
_STARTS = rb"(?:start_span|start_trace|start_span_no_context)\("
#: ``return client.start_span(...)``, or ``span = client.start_span(...)`` and later
#: ``return span``: the text a wrapper starter cannot lack.
_RETURNS_A_START = re.compile(rb"return\s+[\w.]*" + _STARTS)
_ASSIGNS_A_START = re.compile(rb"(\w+)\s*=\s*[\w.]*" + _STARTS)
#: The text a module must hold to answer each question positively.
_WANT_TOKENS = {
    "starter": tuple(sorted(_START_NAMES)),
    "client": _CLIENT_NAMES,
    "span-user": (".end(", ".set_", ".span_id", ".trace_id", ".request_id", ".parent_id"),
}


def _sketch(path: Path) -> _Sketch | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SKETCHES:
        try:
            _SKETCHES[key] = _Sketch(path, path.read_bytes())
        except OSError:
            _SKETCHES[key] = None
    return _SKETCHES[key]


def _starters(tree: ast.Module, lines: list[str]) -> frozenset[str]:
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.end_lineno is None:
            continue
        source = "".join(lines[node.lineno - 1 : node.end_lineno])
        if any(name in source for name in _START_NAMES) and _may_return_a_start(node):
            found.add(node.name)
    return frozenset(found)


def _builds_client(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and (getattr(n.func, "attr", None) or getattr(n.func, "id", None)) in _CLIENT_NAMES
        for n in ast.walk(node)
    )


def _client_names(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _builds_client(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef) and _builds_client(node):
            names.add(node.name)
    return frozenset(names)


def _span_users(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        params = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Attribute)
                and isinstance(inner.value, ast.Name)
                and inner.value.id in params
                and (inner.attr in SPAN_ATTRIBUTES or inner.attr.startswith("set_"))
            ):
                names.add(node.name)
                break
    return frozenset(names)


def _is_start_call(node: ast.AST | None) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in _START_NAMES


def _may_return_a_start(function: ast.FunctionDef) -> bool:
    """A ``return`` of a start call, or of a name bound to one (a cheap over-approximation
    of the summary's wrapper starter)."""
    started = {
        target.id
        for node in ast.walk(function)
        if isinstance(node, ast.Assign) and _is_start_call(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return any(
        isinstance(node, ast.Return)
        and (
            _is_start_call(node.value)
            or (isinstance(node.value, ast.Name) and node.value.id in started)
        )
        for node in ast.walk(function)
    )


def _imports_only(path: Path, text: str) -> ModuleSummary | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    return ModuleSummary(str(path), imports=_imports_of(tree))


def _imports_of(tree: ast.Module) -> dict[str, str]:
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
    return imports


_INDEXES: dict[tuple[str, tuple[object, ...]], ProjectIndex] = {}


def dependencies_of(path: str, settings: Settings) -> tuple[str, ...]:
    """The other project modules a checked file's findings rest on (none when the check
    never consulted the project index)."""
    found = _INDEXES.get((os.path.abspath(path), settings.knowledge_key()))
    if found is None:
        return ()
    checked = str(found.checked)
    return tuple(sorted(str(p) for p in found.dependencies if str(p) != checked))


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
