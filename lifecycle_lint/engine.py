"""The pipeline for one file: text check, parse, facts, rules, findings.

libcst is imported only when a file holds a lifecycle token: the text check is
the fast path for the large majority of files in a real repository.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle_lint.findings import Finding
from lifecycle_lint.noqa import NOQA, NoqaMap
from lifecycle_lint.rules import RULES, Replacement, Rule
from lifecycle_lint.selection import RuleSelection
from lifecycle_lint.settings import Settings
from lifecycle_lint.sources import detect_encoding, read_source_bytes
from lifecycle_runtime import mlflow_facts as facts

_TOKENS_BYTES = tuple(t.encode() for t in facts.LIFECYCLE_TOKENS)


_BRACKETS = re.compile(r"[()\[\]{}]")
#: CPython refuses more than 200 nested brackets; libcst's native parser
#: crashes the process (a segmentation fault) on about 1,500.
_MAX_NESTING = 200


def _null_byte_error(text: str) -> SyntaxError | None:
    """CPython refuses a source with a NUL byte (libcst would parse it)."""
    offset = text.find("\x00")
    if offset < 0:
        return None
    from lifecycle_lint.lines import python_lines

    before = python_lines(text[:offset], keepends=True)
    last = before[-1] if before and not before[-1].endswith(("\n", "\r")) else ""
    line = len(before) + (0 if last else 1)
    error = SyntaxError("source code cannot contain null bytes")
    error.lineno, error.offset = line, len(last) + 1
    return error


def _nesting_error(text: str) -> SyntaxError | None:
    """CPython's own error for a file nested too deeply for libcst to parse safely."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "([{" else -1
        deepest = max(deepest, depth)
    if deepest <= _MAX_NESTING:
        return None
    try:
        ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError) as error:
        if isinstance(error, SyntaxError):
            return error
        return SyntaxError(f"too deeply nested ({type(error).__name__})")
    return None  # brackets inside strings: the real nesting is fine


def has_lifecycle_token(data: bytes | str) -> bool:
    """No rule can fire in a file without one of these tokens."""
    if isinstance(data, str):
        return any(token in data for token in facts.LIFECYCLE_TOKENS)
    return any(token in data for token in _TOKENS_BYTES)


@dataclass(frozen=True)
class LintOptions:
    settings: Settings = field(default_factory=Settings)
    enabled: frozenset[str] = field(default_factory=lambda: RuleSelection().enabled_codes())


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    #: An internal error while checking this file (a bug of ours, not the user's).
    error: str | None = None
    parsed: bool = False


def decode_source(data: bytes) -> str:
    """Decode as Python does: BOM, PEP 263 coding line, else UTF-8."""
    text = data.decode(detect_encoding(data))
    return text[1:] if text.startswith("\ufeff") else text


def _file_finding(path: str, code: str, line: int, column: int, message: str) -> Finding:
    rule = RULES[code]
    return Finding(path, line, column, line, column, code, rule.name, message)


def lint_source(path: str, text: str, options: LintOptions) -> FileResult:
    """Every finding in ``text`` (already decoded), before ``noqa`` is applied."""
    result = FileResult(path)
    if not has_lifecycle_token(text):
        return result
    nesting = _null_byte_error(text) or _nesting_error(text)
    if nesting is not None:
        if "TLC001" in options.enabled:
            message = f"syntax error, the file is not checked: {nesting.msg}"
            line, column = nesting.lineno or 1, nesting.offset or 1
            result.findings.append(_file_finding(path, "TLC001", line, column, message))
        return result
    import libcst as cst  # deferred: most files never get here

    from lifecycle_lint.deep import call_with_deep_stack, caused_by_recursion, safe_text
    from lifecycle_lint.project import take_tree

    try:
        try:
            module = take_tree(text) or cst.parse_module(text)
        except RecursionError:
            module = call_with_deep_stack(lambda: cst.parse_module(text))
    except cst.ParserSyntaxError as error:
        if "TLC001" in options.enabled:
            message = f"syntax error, the file is not checked: {error.message}"
            result.findings.append(
                _file_finding(path, "TLC001", error.raw_line, error.raw_column + 1, message)
            )
        return result
    except RecursionError:
        if "TLC001" in options.enabled:
            message = "nested too deeply to parse, the file is not checked"
            result.findings.append(_file_finding(path, "TLC001", 1, 1, message))
        return result
    result.parsed = True
    try:
        try:
            result.findings.extend(_run_rules(path, module, options, text))
        except Exception as error:  # noqa: BLE001 - retried below, or reported
            if not caused_by_recursion(error):
                raise
            # Valid but deeply nested code: the same run with room to recurse.
            result.findings = call_with_deep_stack(lambda: _run_rules(path, module, options, text))
    except Exception as error:  # noqa: BLE001 - one file's bug must not stop the run
        if caused_by_recursion(error) or isinstance(error, MemoryError):
            if "TLC003" in options.enabled:
                message = "not analysed: the file is nested too deeply to analyse"
                result.findings = [_file_finding(path, "TLC003", 1, 1, message)]
        else:
            result.error = f"internal error: {type(error).__name__}: {safe_text(error)}"
    return result


def _run_rules(
    path: str, module: object, options: LintOptions, text: str | None = None
) -> list[Finding]:
    return [finding for finding, _ in rule_reports(path, module, options, text)]


def rule_reports(
    path: str, module: object, options: LintOptions, text: str | None = None
) -> list[tuple[Finding, Replacement | None]]:
    """Every finding of the enabled rules on a parsed module, with its autofix if any.

    Sorted as findings are; ``noqa`` is not applied. The fixer uses the
    ``Replacement`` nodes, which belong to ``module``.
    """
    from lifecycle_lint.context import FileContext

    # ``text`` (the source libcst parsed) lets positions be found per statement.
    ctx = FileContext(path, module, options.settings, text)  # type: ignore[arg-type]
    ctx.enabled = options.enabled
    reports: list[tuple[Finding, Replacement | None]] = []
    try:
        for code in sorted(options.enabled):
            rule: Rule = RULES[code]()
            for report in rule.check(ctx):
                position = ctx.position(report.node)
                finding = Finding(
                    path,
                    position.start.line,
                    position.start.column + 1,
                    position.end.line,
                    position.end.column + 1,
                    rule.code,
                    rule.name,
                    report.message,
                    report.fix.description if report.fix else None,
                )
                reports.append((finding, report.fix))
    finally:
        ctx.close()
    reports.sort(key=lambda pair: pair[0].sort_key())
    return reports


def filter_noqa(findings: list[Finding], text: str | list[str]) -> list[Finding]:
    """The findings not suppressed by a ``# noqa`` comment on their line (as flake8 reads it).

    ``text`` is the file's source (a list of its lines is accepted too).
    """
    if not findings:
        return findings
    source = text if isinstance(text, str) else "\n".join(text)
    if NOQA.search(source) is None:
        return findings  # no comment to read: the tokenizer's line ranges are not needed
    noqa = NoqaMap(source)
    return [f for f in findings if not noqa.suppresses(f.line, f.code)]


def lint_bytes(path: str, data: bytes, options: LintOptions) -> FileResult:
    if not has_lifecycle_token(data):
        return FileResult(path)
    try:
        text = decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as error:
        result = FileResult(path)
        if "TLC002" in options.enabled:
            message = f"cannot decode the file, it is not checked: {error}"
            result.findings.append(_file_finding(path, "TLC002", 1, 1, message))
        return result
    return lint_source(path, text, options)


def lint_file(
    path: Path, options: LintOptions, *, apply_noqa: bool = True, data: bytes | None = None
) -> FileResult:
    """``data``: the file's bytes when the caller has read them already."""
    shown = str(path)
    try:
        if data is None:
            data = read_source_bytes(path)
    except OSError as error:
        result = FileResult(shown)
        if "TLC002" in options.enabled:
            reason = error.strerror or type(error).__name__
            message = f"cannot read the file, it is not checked: {reason}"
            result.findings.append(_file_finding(shown, "TLC002", 1, 1, message))
        return result
    return lint_data(shown, data, options, apply_noqa=apply_noqa)


def lint_data(
    path: str, data: bytes, options: LintOptions, *, apply_noqa: bool = True
) -> FileResult:
    """The findings of a file's bytes (read from disk or standard input)."""
    result = lint_bytes(path, data, options)
    if apply_noqa and result.findings:
        try:
            text = decode_source(data)
        except (UnicodeDecodeError, SyntaxError, LookupError):
            text = data.decode("utf-8", errors="replace")
        result.findings = filter_noqa(result.findings, text)
    return result
