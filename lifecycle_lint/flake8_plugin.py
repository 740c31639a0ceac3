"""flake8 adapter: the same pipeline as the command, from the lines flake8 hands over.

flake8 runs every installed plugin on every file whatever ``--select`` says,
so the text check comes first and libcst is only reached for files that hold a
lifecycle token. ``noqa`` is left to flake8 itself, which reads it the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lifecycle_lint import __version__

_options: Any = None


def _enabled_codes() -> frozenset[str]:
    """The command's default rules, plus off-by-default rules flake8 was told to select.

    flake8 selects plugin codes by default, so without this TLC106 and TLC501
    would show in editors but not in the command.
    """
    from lifecycle_lint.selection import RuleSelection

    explicit: list[str] = []
    for attr in ("select", "extend_select"):
        for selector in getattr(_options, attr, None) or ():
            if selector.upper().startswith("TLC"):
                explicit.append(selector.upper())
    return RuleSelection(extend_select=tuple(explicit)).enabled_codes()


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
            type=int,
            default=3,
            parse_from_config=True,
            help="major version of MLflow the code targets (2 or 3, default 3)",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        global _options
        _options = options

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        text = "".join(self.lines)
        from lifecycle_lint.engine import has_lifecycle_token

        if not has_lifecycle_token(text):
            return
        from lifecycle_lint.engine import LintOptions, lint_source
        from lifecycle_lint.settings import Settings

        major = getattr(_options, "tlc_mlflow_version", 3) if _options is not None else 3
        options = LintOptions(Settings(mlflow_major=3 if major != 2 else 2), _enabled_codes())
        try:
            result = lint_source(self.filename, text, options)
        except Exception:  # noqa: BLE001 - never raise inside flake8
            return
        for finding in result.findings:
            yield (
                finding.line,
                finding.column - 1,
                f"{finding.code} {finding.message}",
                type(self),
            )
