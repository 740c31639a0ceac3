"""Which MLflow the checked code targets, when ``mlflow-version`` is not configured.

In order, the first that names MLflow decides:

1. the nearest ``pyproject.toml`` above the file: ``[project]`` dependencies and
   optional dependencies, Poetry's ``[tool.poetry.*dependencies]`` (groups included)
   and PDM's ``[tool.pdm.dev-dependencies]``;
2. ``requirements*.txt`` and ``setup.cfg`` (``install_requires``) beside it;
3. the MLflow installed where the linter runs;
4. else MLflow 3.

A requirement on ``mlflow``, ``mlflow-skinny`` or ``mlflow-tracing`` whose versions
exclude every 3.x release (``<3``, ``==2.*``, ``~=2.19``) means 2; any other means 3
(code that may run on MLflow 3 gets its deprecations). Version specifiers are read
with the ``packaging`` library (Poetry's ``^``/``~`` are translated first).

No libcst here: the command imports this module at start.
"""

from __future__ import annotations

import configparser
import functools
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

MLFLOW_DISTRIBUTIONS = frozenset({"mlflow", "mlflow-skinny", "mlflow-tracing"})
DEFAULT_MAJOR = 3
#: Versions probed against a specifier: does it admit some 2.x, some 3.x?
_PROBES = {
    2: [Version(v) for v in ("2.0", "2.9", "2.14.3", "2.19.0", "2.22.2", "2.99.99")],
    3: [Version(v) for v in ("3.0.0", "3.1", "3.5", "3.17.2", "3.99.99")],
}


@dataclass(frozen=True)
class Inferred:
    major: int
    #: Where it came from, in words (for ``--show-settings``).
    source: str


def major_of(specifier: SpecifierSet) -> int:
    """2 when the specifier excludes every MLflow 3 and admits an MLflow 2; else 3."""
    probes = {major: list(versions) for major, versions in _PROBES.items()}
    for spec in specifier:  # the versions it names: an exact pin admits only itself
        try:
            named = Version(spec.version.removesuffix(".*"))
        except ValueError:
            continue
        probes.setdefault(named.major, []).append(named)
    admits = {
        major: any(specifier.contains(v, prereleases=True) for v in versions)
        for major, versions in probes.items()
    }
    return 2 if admits.get(2) and not any(v for m, v in admits.items() if m >= 3) else 3


def _load_toml(path: Path) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError):
        return None  # an unreadable file says nothing about MLflow; config.py reports it


def _pep508(text: str) -> tuple[str, SpecifierSet] | None:
    # Imported here: it brings in markers and tags (about 15 ms), and most runs find no
    # requirement to read.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    return canonicalize_name(requirement.name), requirement.specifier


_CARET = re.compile(r"^\^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_TILDE = re.compile(r"^~\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def _poetry_specifier(text: str) -> SpecifierSet | None:
    """Poetry's constraint syntax, translated to a PEP 440 specifier set."""
    parts: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece or piece == "*":
            continue
        caret, tilde = _CARET.match(piece), _TILDE.match(piece)
        if caret:
            numbers = [int(n) for n in caret.groups() if n is not None]
            upper = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
            bound = numbers[: upper + 1]
            bound[-1] += 1
            parts += [f">={'.'.join(map(str, numbers))}", f"<{'.'.join(map(str, bound))}"]
        elif tilde:
            numbers = [int(n) for n in tilde.groups() if n is not None]
            bound = numbers[:2] if len(numbers) > 1 else numbers[:1]
            bound[-1] += 1
            parts += [f">={'.'.join(map(str, numbers))}", f"<{'.'.join(map(str, bound))}"]
        elif piece[0].isdigit():
            parts.append(f"=={piece}")
        else:
            parts.append(piece)
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier:
        return None


def _pyproject_requirements(data: dict[str, Any]) -> Iterator[tuple[str, SpecifierSet]]:
    project = data.get("project")
    if isinstance(project, dict):
        texts = list(project.get("dependencies") or [])
        for group in (project.get("optional-dependencies") or {}).values():
            texts += list(group or [])
        for text in texts:
            parsed = _pep508(text) if isinstance(text, str) else None
            if parsed is not None:
                yield parsed
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    for group in (poetry.get("group") or {}).values():
        if isinstance(group, dict):
            tables.append(group.get("dependencies"))
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, constraint in table.items():
            if isinstance(constraint, dict):
                constraint = constraint.get("version", "*")
            if isinstance(constraint, str):
                specifier = _poetry_specifier(constraint)
                if specifier is not None:
                    yield canonicalize_name(name), specifier
    pdm = tool.get("pdm") if isinstance(tool.get("pdm"), dict) else {}
    for group in (pdm.get("dev-dependencies") or {}).values():
        for text in group or []:
            parsed = _pep508(text) if isinstance(text, str) else None
            if parsed is not None:
                yield parsed


def _text_requirements(lines: list[str]) -> Iterator[tuple[str, SpecifierSet]]:
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        parsed = _pep508(line)
        if parsed is not None:
            yield parsed


def _mlflow_pin(requirements: Iterator[tuple[str, SpecifierSet]]) -> tuple[int, str] | None:
    for name, specifier in requirements:
        if name in MLFLOW_DISTRIBUTIONS:
            shown = f"{name}{specifier}" if str(specifier) else name
            return major_of(specifier), shown
    return None


def _from_folder(folder: Path) -> Inferred | None:
    pyproject = folder / "pyproject.toml"
    data = _load_toml(pyproject)
    if data is not None:
        found = _mlflow_pin(_pyproject_requirements(data))
        if found is not None:
            return Inferred(found[0], f"{pyproject}: requires {found[1]}")
    for requirements in sorted(folder.glob("requirements*.txt")):
        try:
            lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        found = _mlflow_pin(_text_requirements(lines))
        if found is not None:
            return Inferred(found[0], f"{requirements}: requires {found[1]}")
    setup_cfg = folder / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(setup_cfg, encoding="utf-8")
            text = parser.get("options", "install_requires", fallback="")
        except (configparser.Error, OSError, UnicodeDecodeError):
            text = ""
        found = _mlflow_pin(_text_requirements(text.splitlines()))
        if found is not None:
            return Inferred(found[0], f"{setup_cfg}: requires {found[1]}")
    return None


@functools.lru_cache(maxsize=512)
def _decided_in(candidate: Path) -> tuple[Inferred | None, bool]:
    """What ``candidate`` itself pins, and whether it holds a ``pyproject.toml`` (once per
    folder: the folders of one project share their parents)."""
    if (candidate / "pyproject.toml").is_file():
        return _from_folder(candidate), True
    listed = (candidate / "setup.cfg").is_file() or any(candidate.glob("requirements*.txt"))
    return (_from_folder(candidate) if listed else None), False


@functools.lru_cache(maxsize=1)
def _installed() -> Inferred | None:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("mlflow", "mlflow-skinny", "mlflow-tracing"):
        try:
            installed = Version(version(name))
        except (PackageNotFoundError, ValueError):
            continue
        return Inferred(2 if installed.major < 3 else 3, f"installed {name} {installed}")
    return None


@functools.lru_cache(maxsize=512)
def infer(folder: Path) -> Inferred:
    """The MLflow major version code in ``folder`` targets, and why."""
    for candidate in (folder, *folder.parents):
        found, nearest_project = _decided_in(candidate)
        if found is not None:
            return found
        if nearest_project:
            break  # the nearest project decides; its requirements files are beside it
    installed = _installed()
    if installed is not None:
        return installed
    return Inferred(DEFAULT_MAJOR, "default")


def clear_cache() -> None:
    infer.cache_clear()
    _decided_in.cache_clear()
    _installed.cache_clear()
