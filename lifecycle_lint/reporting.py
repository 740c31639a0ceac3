"""Output formats: text, full, json, sarif, github; and ``--statistics``.

Every format is built from the findings and the rule registry alone, so a new
rule needs nothing here. No libcst here.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from lifecycle_lint import __version__
from lifecycle_lint.findings import Finding
from lifecycle_lint.lines import python_lines
from lifecycle_lint.rules import RULES
from lifecycle_lint.sources import read_source_bytes

FORMATS = ("text", "full", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_RESET = "\033[0m"
_BOLD = "\033[1m"
_RED = "\033[31m"
_CYAN = "\033[36m"
_BLUE = "\033[34m"
_DIM = "\033[2m"


def use_color(stream: object, no_color: bool) -> bool:
    """Colour on a terminal, unless ``--no-color`` or ``NO_COLOR`` (https://no-color.org)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except (OSError, ValueError):
        return False


def shown_path(path: str) -> str:
    """A path as valid text for any output.

    A file name whose bytes do not decode in the file system's encoding holds lone
    surrogates (``os.fsdecode``), which are not valid UTF-8: those bytes are
    written as ``\\xNN`` escapes instead (``bad\\xff.py``).
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return os.fsencode(path).decode("utf-8", "backslashreplace")
        except UnicodeError:
            return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return path


def _paint(text: str, *styles: str, color: bool) -> str:
    return f"{''.join(styles)}{text}{_RESET}" if color else text


def text_line(finding: Finding, color: bool = False) -> str:
    """``path:line:col: CODE message``."""
    path = shown_path(finding.path)
    if not color:
        return f"{path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"
    sep = _paint(":", _CYAN, color=True)
    return (
        f"{_paint(path, _BOLD, color=True)}{sep}{finding.line}{sep}{finding.column}{sep} "
        f"{_paint(finding.code, _BOLD, _RED, color=True)} {finding.message}"
    )


def format_text(findings: Sequence[Finding], color: bool = False) -> str:
    return "".join(text_line(f, color) + "\n" for f in findings)


def _caret_prefix(line: str, column: int) -> str:
    # Keep tabs so the caret lines up with the source line however tabs render.
    return "".join("\t" if ch == "\t" else " " for ch in line[: column - 1])


def format_full(
    findings: Sequence[Finding], lines_of: Callable[[str], list[str]], color: bool = False
) -> str:
    """Each finding with its source line and a caret under the reported span."""
    out: list[str] = []
    for finding in findings:
        out.append(text_line(finding, color))
        lines = lines_of(finding.path)
        if 0 < finding.line <= len(lines):
            source = lines[finding.line - 1].rstrip("\r\n")
            number = str(finding.line)
            gutter = " " * len(number)
            start = max(finding.column, 1)
            if finding.end_line == finding.line:
                width = max(finding.end_column - start, 1)
            else:  # a span over several lines: underline to the end of the first
                width = max(len(source) - start + 1, 1)
            carets = _paint("^" * width, _BOLD, _RED, color=color)
            bar = _paint("|", _BLUE, color=color)
            out.append(f"{gutter} {bar}")
            out.append(f"{_paint(number, _BLUE, color=color)} {bar} {source}")
            out.append(f"{gutter} {bar} {_caret_prefix(source, start)}{carets}")
        if finding.fix:
            out.append(f"  {_paint('fix:', _DIM, color=color)} {finding.fix}")
        out.append("")
    return "".join(line + "\n" for line in out)


def format_json(findings: Sequence[Finding]) -> str:
    rows = [{**f.as_dict(), "path": shown_path(f.path)} for f in findings]
    return json.dumps(rows, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: an annotation per finding."""
    out = []
    for f in findings:
        props = (
            f"file={_escape_property(shown_path(f.path))},line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},"
            f"title={_escape_property(f'{f.code} {f.name}')}"
        )
        out.append(f"::error {props}::{_escape_data(f'{f.code} {f.message}')}\n")
    return "".join(out)


def _first_paragraph(markdown: str) -> str:
    return " ".join(markdown.strip().split("\n\n")[0].split())


def sarif_rules() -> list[dict[str, object]]:
    """Every registered rule, as SARIF ``reportingDescriptor`` objects."""
    rules: list[dict[str, object]] = []
    for code, rule in RULES.items():
        page = rule.doc_page()
        what = getattr(rule, "what", "") or rule.summary
        rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": _first_paragraph(what)},
                "help": {"text": page, "markdown": page},
                "defaultConfiguration": {
                    "level": "error",
                    "enabled": bool(rule.default_enabled),
                },
                "properties": {"tags": ["lifecycle", "mlflow-tracing"]},
            }
        )
    return rules


def _artifact(path: str, base: Path) -> dict[str, str]:
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(base)
    except ValueError:
        return {"uri": absolute.as_uri()}  # percent-encodes the file system's bytes
    # A URI reference: the file system's bytes, percent-encoded as ``as_uri`` does.
    uri = quote(os.fsencode(relative.as_posix()), safe="/")
    return {"uri": uri, "uriBaseId": "%SRCROOT%"}


def sarif_log(findings: Sequence[Finding], base: Path | None = None) -> dict[str, object]:
    """A SARIF 2.1.0 log for GitHub code scanning; paths relative to ``base`` (cwd)."""
    base = Path(os.path.abspath(base or Path.cwd()))
    rules = sarif_rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f in findings:
        region: dict[str, int] = {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)}
        if f.end_line >= f.line:
            region["endLine"] = max(f.end_line, 1)
            end_column = f.end_column if f.end_column > f.column or f.end_line > f.line else 0
            if end_column:
                region["endColumn"] = end_column
        location = {"artifactLocation": _artifact(f.path, base), "region": region}
        result: dict[str, object] = {
            "ruleId": f.code,
            "level": "error",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": location}],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        if f.fix:
            result["properties"] = {"fix": f.fix}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lifecycle-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def format_sarif(findings: Sequence[Finding], base: Path | None = None) -> str:
    return json.dumps(sarif_log(findings, base), indent=2) + "\n"


def statistics(findings: Iterable[Finding]) -> list[tuple[str, str, int]]:
    """(code, name, count), most frequent first, then by code."""
    counts = Counter(f.code for f in findings)
    names = {code: rule.name for code, rule in RULES.items()}
    return sorted(
        ((code, names.get(code, ""), n) for code, n in counts.items()),
        key=lambda row: (-row[2], row[0]),
    )


def format_statistics(findings: Sequence[Finding], fmt: str) -> str:
    rows = statistics(findings)
    if fmt == "json":
        data = [{"code": c, "name": n, "count": k} for c, n, k in rows]
        return json.dumps(data, indent=2) + "\n"
    width = max((len(str(k)) for _, _, k in rows), default=1)
    return "".join(f"{k:>{width}}\t{c}\t{n}\n" for c, n, k in rows)


def render(
    findings: Sequence[Finding],
    fmt: str,
    *,
    color: bool = False,
    lines_of: Callable[[str], list[str]] | None = None,
) -> str:
    if fmt == "json":
        return format_json(findings)
    if fmt == "sarif":
        return format_sarif(findings)
    if fmt == "github":
        return format_github(findings)
    if fmt == "full":
        return format_full(findings, lines_of or read_lines, color)
    return format_text(findings, color)


def read_lines(path: str) -> list[str]:
    try:
        data = read_source_bytes(path)
    except OSError:
        return []
    try:
        from lifecycle_lint.engine import decode_source

        return python_lines(decode_source(data))
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return python_lines(data.decode("utf-8", errors="replace"))
