"""``[tool.lifecycle-lint]`` in ``pyproject.toml``: found, read, checked.

The nearest ``pyproject.toml`` with a ``[tool.lifecycle-lint]`` table, walking up
from a checked file's folder, configures that file (as ruff does); ``--config``
names one file for every checked file. The command and the flake8 plugin read
the configuration through this module, so both report the same findings.

No libcst here: the command imports this module at start.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle_lint.discovery import SKIPPED_DIRS
from lifecycle_lint.patterns import PathPattern, PatternSet
from lifecycle_lint.rules import RULES
from lifecycle_lint.selection import Layer, SelectionError, layered_codes, validate_selectors
from lifecycle_lint.settings import Settings

if TYPE_CHECKING:
    from lifecycle_lint.settings import Settings

TABLE = "lifecycle-lint"
#: The option that opts in to strict LIFO order.
LIFO_CODE = "TLC106"

KNOWN_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "mlflow-version",
    "lifo",
    "force-exclude",
    "respect-gitignore",
    "non-raising",
    "strict-exceptions",
    "client-factories",
    "span-starters",
    "span-enders",
)
#: Declared semantics for code the project index cannot see (installed libraries,
#: generated code): configuration key -> Settings field.
DECLARED_KEYS = {
    "client-factories": "client_factories",
    "span-starters": "span_starters",
    "span-enders": "span_enders",
}
_QUALIFIED = re.compile(r"[A-Za-z_*][\w*]*(\.[A-Za-z_*][\w*]*)*")


class ConfigError(ValueError):
    """An invalid configuration: the message names the file and the key."""


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


#: What ``exclude`` holds unless the configuration replaces it (``extend-exclude`` adds).
DEFAULT_EXCLUDE = (*(PathPattern(name) for name in sorted(SKIPPED_DIRS)), PathPattern("*.egg-info"))


@dataclass(frozen=True)
class Config:
    """One configuration file's settings (every field optional)."""

    path: Path | None = None  # the file read; None: built-in defaults
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[PathPattern, tuple[str, ...]], ...] = ()
    exclude: tuple[PathPattern, ...] | None = None
    extend_exclude: tuple[PathPattern, ...] = ()
    mlflow_version: int | None = None
    lifo: bool = False
    force_exclude: bool = False
    respect_gitignore: bool = True
    non_raising: tuple[str, ...] = ()
    strict_exceptions: bool = False
    client_factories: tuple[str, ...] = ()
    span_starters: tuple[str, ...] = ()
    span_enders: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The folder that relative patterns are read from."""
        return self.path.parent if self.path is not None else Path.cwd().resolve()

    def layer(self) -> Layer:
        extend = self.extend_select + ((LIFO_CODE,) if self.lifo else ())
        return Layer(self.select, extend, self.ignore)

    def relative(self, path: Path | str) -> str | None:
        """``path`` relative to the root, ``/``-separated; None when outside the root."""
        resolved = Path(os.path.abspath(path))
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _relative_or_name(self, path: Path | str) -> str:
        relative = self.relative(path)
        return relative if relative is not None else Path(path).name

    @functools.cached_property
    def exclusions(self) -> PatternSet:
        """``exclude`` (or its defaults) then ``extend-exclude``, compiled once."""
        patterns = (DEFAULT_EXCLUDE if self.exclude is None else self.exclude) + self.extend_exclude
        return PatternSet(patterns)

    def is_excluded(self, path: Path | str, is_dir: bool = False) -> bool:
        """Whether the path or a folder above it (below the root) is excluded."""
        relative = self._relative_or_name(path)
        return self.exclusions.matches(relative + "/" if is_dir else relative)

    def ignored_for(self, path: Path | str) -> frozenset[str]:
        """Selectors that ``per-file-ignores`` applies to this file."""
        if not self.per_file_ignores:
            return frozenset()
        relative = self._relative_or_name(path)
        found: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if pattern.matches(relative):
                found.update(codes)
        return frozenset(found)


DEFAULT = Config()


def _error(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: [tool.{TABLE}] {key}: {message}")


def _string_list(path: Path, key: str, value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(path, key, "expected a list of strings")
    return value


def _codes(path: Path, key: str, value: object) -> tuple[str, ...]:
    raw = [part for item in _string_list(path, key, value) for part in item.split(",")]
    try:
        return tuple(validate_selectors(raw))
    except SelectionError as error:
        raise _error(path, key, str(error)) from None


def _qualified_names(path: Path, key: str, value: object) -> tuple[str, ...]:
    """``["mylib.tracing.make_client", "mylib.*.finish_*"]``: dotted names, ``*`` globs."""
    names = [n.strip() for n in _string_list(path, key, value)]
    for name in names:
        if not _QUALIFIED.fullmatch(name):
            raise _error(
                path, key, f"expected qualified names such as `mylib.tracing.start`, got {name!r}"
            )
    return tuple(names)


def _patterns(path: Path, key: str, value: object) -> tuple[PathPattern, ...]:
    return tuple(PathPattern(p) for p in _string_list(path, key, value) if p.strip())


#: A qualified name or a glob of one: ``myapp.log.*``, ``emit_metric``, ``*.send_metric``.
_NON_RAISING_PATTERN = re.compile(r"[A-Za-z_*?\[][\w*?\[\]!.-]*")


def parse_non_raising(values: Iterable[str]) -> tuple[str, ...]:
    """Check ``non-raising`` entries; ConfigError names the first invalid one."""
    found = []
    for value in values:
        value = value.strip()
        if not _NON_RAISING_PATTERN.fullmatch(value) or ".." in value or value.endswith("."):
            raise ConfigError(f"not a qualified name or a glob of one: {value!r}")
        found.append(value)
    return tuple(found)


def parse_mlflow_version(value: object) -> int:
    """2 or 3, from ``3``, ``"3"``, ``"2.14"`` and the like; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        major = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)*\s*", value):
        major = int(value.strip().split(".")[0])
    else:
        raise ValueError(value)
    if major not in (2, 3):
        raise ValueError(value)
    return major


def config_from_table(path: Path, table: Mapping[str, object]) -> Config:
    """Check every key and value of a ``[tool.lifecycle-lint]`` table."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            raise _error(path, key, f"unknown key (known: {', '.join(KNOWN_KEYS)})")
        if key == "select":
            values["select"] = _codes(path, key, value)
        elif key == "extend-select":
            values["extend_select"] = _codes(path, key, value)
        elif key == "ignore":
            values["ignore"] = _codes(path, key, value)
        elif key == "per-file-ignores":
            if not isinstance(value, Mapping):
                raise _error(path, key, 'expected a table of glob = ["CODE", ...]')
            values["per_file_ignores"] = tuple(
                (PathPattern(glob), _codes(path, f"{key}.{glob!r}", codes))
                for glob, codes in value.items()
            )
        elif key == "exclude":
            values["exclude"] = _patterns(path, key, value)
        elif key == "extend-exclude":
            values["extend_exclude"] = _patterns(path, key, value)
        elif key == "mlflow-version":
            try:
                values["mlflow_version"] = parse_mlflow_version(value)
            except ValueError:
                raise _error(path, key, f"expected 2 or 3, got {value!r}") from None
        elif key in ("lifo", "strict-exceptions", "force-exclude", "respect-gitignore"):
            if not isinstance(value, bool):
                raise _error(path, key, f"expected true or false, got {value!r}")
            values[key.replace("-", "_")] = value
        elif key == "non-raising":
            try:
                values["non_raising"] = parse_non_raising(_string_list(path, key, value))
            except ConfigError as error:
                raise _error(path, key, str(error)) from None
        elif key in DECLARED_KEYS:
            values[DECLARED_KEYS[key]] = _qualified_names(path, key, value)
    if values.get("lifo") and LIFO_CODE not in RULES:  # pragma: no cover - registry guard
        raise _error(path, "lifo", f"rule {LIFO_CODE} is not available")
    return Config(path=path.resolve(), **values)


def load_config(path: Path | str) -> Config:
    """Read a configuration file named explicitly (``--config``).

    A ``pyproject.toml`` is read from its ``[tool.lifecycle-lint]`` table; any
    other TOML file (``lifecycle-lint.toml``) is the table itself.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = _load_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get(TABLE)
        if table is None:
            raise ConfigError(f"{path}: no [tool.{TABLE}] table")
        return config_from_table(path, table)
    return config_from_table(path, data)


@functools.lru_cache(maxsize=256)
def _config_in(folder: Path) -> Config | None:
    candidate = folder / "pyproject.toml"
    if not candidate.is_file():
        return None
    data = _load_toml(candidate)
    table = data.get("tool", {}).get(TABLE) if isinstance(data.get("tool"), dict) else None
    if table is None:
        return None
    return config_from_table(candidate, table)


def find_config(start: Path | str) -> Config:
    """The configuration of a file or folder: the nearest ``pyproject.toml`` holding
    ``[tool.lifecycle-lint]``, walking up; the built-in defaults when there is none."""
    folder = os.path.abspath(start)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    return _config_from(folder)


@functools.lru_cache(maxsize=4096)
def _config_from(folder: str) -> Config:
    """``find_config`` of a folder: its own, else its parent's (each folder asked once)."""
    found = _config_in(Path(folder))
    if found is not None:
        return found
    parent = os.path.dirname(folder)
    return DEFAULT if parent == folder else _config_from(parent)


def clear_cache() -> None:
    _config_in.cache_clear()
    _config_from.cache_clear()


@dataclass(frozen=True)
class Overrides:
    """Settings given on the command line (or as flake8 ``--tlc-...`` options)."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    mlflow_version: int | None = None
    lifo: bool = False
    extra_layers: tuple[Layer, ...] = field(default=())
    strict_exceptions: bool = False
    non_raising: tuple[str, ...] = ()

    def layers(self) -> tuple[Layer, ...]:
        extend = self.extend_select + ((LIFO_CODE,) if self.lifo else ())
        return (*self.extra_layers, Layer(self.select or None, extend, self.ignore))


def file_codes(config: Config, overrides: Overrides, path: Path | str | None) -> frozenset[str]:
    """The codes enabled for one file: defaults, the file's configuration, the
    command line, then ``per-file-ignores``."""
    codes = layered_codes((config.layer(), *overrides.layers()))
    if path is not None:
        ignored = config.ignored_for(path)
        if ignored:
            codes = layered_codes((Layer(None, (), tuple(ignored)),), base=codes)
    return codes


def mlflow_major(config: Config, overrides: Overrides, path: Path | str | None = None) -> int:
    return mlflow_major_and_source(config, overrides, path)[0]


def mlflow_major_and_source(
    config: Config, overrides: Overrides, path: Path | str | None = None
) -> tuple[int, str]:
    """The MLflow major version for a file, and where it comes from (in words)."""
    if overrides.mlflow_version is not None:
        return overrides.mlflow_version, "command line"
    if config.mlflow_version is not None:
        return config.mlflow_version, f"{config.path}: mlflow-version"
    from lifecycle_lint.mlflow_version import infer

    folder = Path(os.path.abspath(path)).parent if path is not None else Path(os.getcwd())
    inferred = infer(folder)
    return inferred.major, inferred.source


def settings_for(config: Config, overrides: Overrides, path: Path | str | None) -> Settings:
    """The analysis settings of one file: its configuration, then the command line
    (``non-raising`` entries of both apply); the MLflow version inferred for the file
    when neither sets it. The command and the flake8 plugin share this."""
    from lifecycle_lint.settings import Settings

    return Settings(
        mlflow_major=mlflow_major(config, overrides, path),  # type: ignore[arg-type]
        non_raising=config.non_raising + overrides.non_raising,
        strict_exceptions=config.strict_exceptions or overrides.strict_exceptions,
        client_factories=config.client_factories,
        span_starters=config.span_starters,
        span_enders=config.span_enders,
    )


def analysis_settings(
    config: Config, overrides: Overrides, path: Path | str | None = None
) -> Settings:
    return settings_for(config, overrides, path)


def configs_for(paths: Iterable[Path]) -> dict[Path, Config]:
    return {path: find_config(path) for path in paths}
