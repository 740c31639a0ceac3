"""The ``lifecycle-lint`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lifecycle_lint import __version__
from lifecycle_lint.discovery import MissingPathError, discover
from lifecycle_lint.engine import LintOptions, lint_file
from lifecycle_lint.findings import Finding
from lifecycle_lint.selection import RuleSelection, SelectionError, validate_selectors
from lifecycle_lint.settings import Settings

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def _codes(value: str) -> list[str]:
    return [part for part in value.replace(" ", ",").split(",") if part]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle-lint",
        description="Check code that drives MLflow's low-level tracing client.",
    )
    parser.add_argument("paths", nargs="*", default=["."], help="files and folders to check")
    parser.add_argument(
        "--select",
        type=_codes,
        action="extend",
        default=[],
        help="rule codes or prefixes to run (replaces the default set)",
    )
    parser.add_argument(
        "--extend-select",
        type=_codes,
        action="extend",
        default=[],
        help="rule codes or prefixes to run in addition",
    )
    parser.add_argument(
        "--ignore",
        type=_codes,
        action="extend",
        default=[],
        help="rule codes or prefixes not to run",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--mlflow-version",
        type=int,
        choices=(2, 3),
        default=3,
        help="major version of MLflow the code targets (default 3)",
    )
    parser.add_argument("--version", action="version", version=f"lifecycle-lint {__version__}")
    return parser


def format_text(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_ERROR
    try:
        selection = RuleSelection(
            tuple(validate_selectors(args.select)),
            tuple(validate_selectors(args.extend_select)),
            tuple(validate_selectors(args.ignore)),
        )
        files = discover(args.paths)
    except SelectionError as error:
        print(f"lifecycle-lint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except MissingPathError as error:
        print(f"lifecycle-lint: error: no such file or folder: {error}", file=sys.stderr)
        return EXIT_ERROR

    options = LintOptions(Settings(mlflow_major=args.mlflow_version), selection.enabled_codes())
    findings: list[Finding] = []
    internal_errors = 0
    for path in files:
        result = lint_file(path, options)
        findings.extend(result.findings)
        if result.error is not None:
            internal_errors += 1
            print(f"lifecycle-lint: {result.path}: {result.error}", file=sys.stderr)
    findings.sort(key=Finding.sort_key)

    if args.format == "json":
        json.dump([f.as_dict() for f in findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for finding in findings:
            print(format_text(finding))
    if internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if findings else EXIT_CLEAN
