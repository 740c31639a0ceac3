"""flake8 adapter: the same pipeline as the command, from the lines flake8 hands over.

flake8 runs every installed plugin on every file whatever ``--select`` says,
so the text check comes first and libcst is only reached for files that hold a
lifecycle token. ``noqa`` is left to flake8 itself, which reads it the same way.

The configuration is the command's: the nearest ``pyproject.toml`` with
``[tool.lifecycle-lint]`` above the checked file (above the current folder for
stdin), or ``--tlc-config``; then the ``--tlc-...`` options. So an editor that
runs flake8 reports what ``lifecycle-lint`` reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifecycle_lint import __version__

_options: Any = None

#: Reported (at line 1) when the configuration is invalid: flake8 has no way to stop
#: a run from a plugin, and an invalid configuration must never go unnoticed.
CONFIG_ERROR_CODE = "TLC000"


def _flake8_explicit_codes() -> tuple[str, ...]:
    """Off-by-default rules that flake8's ``--select``/``--extend-select`` name in full.

    flake8 selects plugin codes by default and ``--select=TLC`` is the usual way to
    show only this plugin, so prefixes there filter the output but do not turn on
    opt-in rules (TLC106, TLC501); a full code such as ``--extend-select=TLC106`` does.
    """
    from lifecycle_lint.rules import RULES

    explicit: list[str] = []
    for attr in ("select", "extend_select"):
        for selector in getattr(_options, attr, None) or ():
            code = selector.strip().upper()
            if code in RULES:
                explicit.append(code)
    return tuple(explicit)


def _codes_option(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(part.strip() for item in value for part in str(item).split(",") if part.strip())


def _overrides() -> Any:
    from lifecycle_lint.config import Overrides, parse_mlflow_version, parse_non_raising
    from lifecycle_lint.selection import Layer, validate_selectors

    major = getattr(_options, "tlc_mlflow_version", None)
    return Overrides(
        select=tuple(validate_selectors(_codes_option(getattr(_options, "tlc_select", None))))
        or None,
        extend_select=tuple(
            validate_selectors(_codes_option(getattr(_options, "tlc_extend_select", None)))
        ),
        ignore=tuple(validate_selectors(_codes_option(getattr(_options, "tlc_ignore", None)))),
        mlflow_version=parse_mlflow_version(major) if major not in (None, "") else None,
        lifo=bool(getattr(_options, "tlc_lifo", False)),
        extra_layers=(Layer(None, _flake8_explicit_codes(), ()),),
        strict_exceptions=bool(getattr(_options, "tlc_strict_exceptions", False)),
        non_raising=parse_non_raising(_codes_option(getattr(_options, "tlc_non_raising", None))),
    )


def _config_for(filename: str) -> tuple[Any, Path | None]:
    """The configuration of the checked file, and the file's path (None for stdin)."""
    from lifecycle_lint.config import find_config, load_config

    path: Path | None = None
    if filename not in ("stdin", "-", "") and Path(filename).parent.is_dir():
        path = Path(filename)
    explicit = getattr(_options, "tlc_config", None)
    if explicit:
        return load_config(explicit), path
    return find_config(path if path is not None else Path(os.getcwd())), path


class LifecycleChecker:
    name = "lifecycle-lint"
    version = __version__

    def __init__(self, tree: Any, lines: list[str], filename: str = "stdin") -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--tlc-mlflow-version",
            default=None,
            parse_from_config=True,
            help="major version of MLflow the code targets (2 or 3; default: the "
            "lifecycle-lint configuration, else 3)",
        )
        manager.add_option(
            "--tlc-config",
            default=None,
            parse_from_config=True,
            help="lifecycle-lint configuration file (default: the nearest pyproject.toml "
            "with [tool.lifecycle-lint])",
        )
        manager.add_option(
            "--tlc-lifo",
            action="store_true",
            default=False,
            parse_from_config=True,
            help="require strict LIFO end order (enables TLC106)",
        )
        manager.add_option(
            "--tlc-strict-exceptions",
            action="store_true",
            default=False,
            parse_from_config=True,
            help="every call but lifecycle calls may raise (lifecycle-lint's exception "
            "model is off)",
        )
        manager.add_option(
            "--tlc-non-raising",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="calls that do not raise (qualified names or globs), in addition to the "
            "lifecycle-lint configuration's non-raising",
        )
        for option, what in (
            ("--tlc-select", "lifecycle-lint rules to run (replaces the configured set)"),
            ("--tlc-extend-select", "lifecycle-lint rules to run in addition"),
            ("--tlc-ignore", "lifecycle-lint rules not to run"),
        ):
            manager.add_option(
                option,
                default=None,
                parse_from_config=True,
                comma_separated_list=True,
                help=what,
            )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        global _options
        _options = options

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        try:
            found = self._check()
        except Exception as error:  # noqa: BLE001 - never raise inside flake8
            found = self._config_error(error)
        yield from found

    def _config_error(self, error: Exception) -> list[tuple[int, int, str, type]]:
        from lifecycle_lint.config import ConfigError
        from lifecycle_lint.selection import SelectionError

        if isinstance(error, ConfigError | SelectionError | ValueError):
            message = f"{CONFIG_ERROR_CODE} invalid lifecycle-lint configuration: {error}"
            return [(1, 0, message, type(self))]
        return []

    def _check(self) -> list[tuple[int, int, str, type]]:
        text = "".join(self.lines)
        from lifecycle_lint.engine import has_lifecycle_token

        if not has_lifecycle_token(text):
            return []
        from lifecycle_lint.config import file_codes, settings_for
        from lifecycle_lint.engine import LintOptions, lint_source

        config, path = _config_for(self.filename)
        if path is not None and config.is_excluded(path):
            return []
        overrides = _overrides()
        options = LintOptions(
            settings_for(config, overrides, path), file_codes(config, overrides, path)
        )
        try:
            result = lint_source(self.filename, text, options)
        except Exception:  # noqa: BLE001 - never raise inside flake8
            return []
        return [
            (finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self))
            for finding in result.findings
        ]
