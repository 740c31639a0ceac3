"""Safe autofixes: apply the rules' ``Replacement`` nodes, then check the result.

A fix is kept only when the fixed file still parses (and still compiles, when the
original did) and linting it again finds nothing that was not found before: a fix
never creates a finding. Fixes that fail together are tried one at a time.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lifecycle_lint.engine import (
    LintOptions,
    decode_source,
    filter_noqa,
    has_lifecycle_token,
    lint_file,
    rule_reports,
)
from lifecycle_lint.findings import Finding
from lifecycle_lint.lines import python_lines
from lifecycle_lint.reporting import shown_path
from lifecycle_lint.sources import encode_like, read_source_bytes

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.rules import Replacement

#: Rounds of fixing per file (a fix may reveal another).
MAX_ROUNDS = 5


@dataclass
class FixResult:
    path: str
    source: str
    fixed: str
    #: The findings whose fixes were applied.
    applied: list[Finding] = field(default_factory=list)
    #: Fixable findings whose fix was refused (it would create a finding or break the file).
    refused: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.source

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                python_lines(self.source, keepends=True),
                python_lines(self.fixed, keepends=True),
                fromfile=f"a/{shown_path(self.path)}",
                tofile=f"b/{shown_path(self.path)}",
            )
        )


def _apply(module: cst.Module, replacements: list[Replacement]) -> str:
    import libcst as cst

    by_node = {id(r.old): r.new for r in replacements}
    keep_alive = [r.old for r in replacements]  # ids stay valid while the nodes live

    class _Replace(cst.CSTTransformer):
        def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
            new = by_node.get(id(original_node))
            return updated_node if new is None else new

    result = module.visit(_Replace()).code
    del keep_alive
    return result


def compiles(text: str, path: str) -> bool:
    """Whether CPython compiles ``text`` (a fix or a noqa comment must keep that true)."""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _key(finding: Finding) -> tuple[str, int, str]:
    # Columns move when a name on the line gets shorter; lines never move.
    return (finding.code, finding.line, finding.message)


class _Checker:
    """Lints candidate texts and says whether a fix is acceptable."""

    def __init__(self, path: str, options: LintOptions, original: str, tail: str) -> None:
        self.path = path
        self.options = options
        self.must_compile = compiles(original, path)
        #: What libcst's code generation drops at the end of the file (a last ``\r``).
        self.tail = tail

    def findings(self, module: cst.Module, text: str) -> list[Finding]:
        found = [f for f, _ in rule_reports(self.path, module, self.options)]
        return filter_noqa(found, text)

    def accept(self, text: str, before: list[Finding]) -> cst.Module | None:
        import libcst as cst

        try:
            module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        if self.must_compile and not compiles(text, self.path):
            return None
        try:
            after = self.findings(module, text)
        except Exception:  # noqa: BLE001 - a fix that breaks the analysis is refused
            return None
        new = Counter(_key(f) for f in after) - Counter(_key(f) for f in before)
        return None if new else module


_Fixes = list[tuple[Finding, "Replacement"]]


def fix_source(path: str, text: str, options: LintOptions) -> FixResult:
    """Apply every safe fix of the enabled rules to ``text``.

    Each round applies together as many of the pending fixes as re-lint clean
    (found by halving the set when they fail together, so one refused fix costs
    a few extra lints, not a round per fix); a fix that fails on its own is
    refused and never tried again. A new round only looks for fixes that the
    previous round revealed or that clashed with another one.
    """
    result = FixResult(path, text, text)
    if not has_lifecycle_token(text):
        return result
    import libcst as cst

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return result
    if not text.startswith(module.code):
        return result  # libcst would not give the file back as it is: leave it alone
    checker = _Checker(path, options, text, text[len(module.code) :])
    refused: set[tuple[str, int, str]] = set()
    current = text
    for _ in range(MAX_ROUNDS):
        reports = rule_reports(path, module, options)
        findings = filter_noqa([f for f, _ in reports], current)
        kept = set(map(id, findings))
        fixable: _Fixes = [
            (f, fix)
            for f, fix in reports
            if fix is not None and id(f) in kept and _key(f) not in refused
        ]
        if not fixable:
            break
        trial = _Trial(checker, module, current, findings)
        applied, done = trial.accepted(fixable)
        for finding in trial.refused:
            refused.add(_key(finding))
            result.refused.append(finding)
        if done is None:
            break
        result.applied += [f for f, _ in applied]
        module, current = done
    result.fixed = current
    return result


class _Trial:
    """One round: a largest set of fixes, applied to one tree, that re-lints clean."""

    def __init__(
        self, checker: _Checker, module: cst.Module, text: str, findings: list[Finding]
    ) -> None:
        self.checker = checker
        self.original = module
        self.original_text = text
        self.findings = findings
        #: Fixes that fail on their own: never tried again.
        self.refused: list[Finding] = []

    def _try(self, fixes: _Fixes) -> tuple[cst.Module, str] | None:
        candidate = _apply(self.original, [fix for _, fix in fixes]) + self.checker.tail
        if candidate == self.original_text:
            return None
        accepted = self.checker.accept(candidate, self.findings)
        return None if accepted is None else (accepted, candidate)

    def accepted(self, fixes: _Fixes) -> tuple[_Fixes, tuple[cst.Module, str] | None]:
        """The fixes kept and the fixed tree and text (None when none is kept)."""
        done = self._try(fixes)
        if done is not None:
            return fixes, done
        if len(fixes) == 1:
            self.refused.append(fixes[0][0])
            return [], None
        middle = len(fixes) // 2
        left, left_done = self.accepted(fixes[:middle])
        right, right_done = self.accepted(fixes[middle:])
        if left and right:
            both = self._try(left + right)
            if both is not None:
                return left + right, both
            # They clash: keep the larger half, the other is tried again next round.
        if len(left) >= len(right):
            return left, left_done
        return right, right_done


@dataclass
class FileFix:
    """The outcome of fixing one file: its remaining findings and the fix applied."""

    path: str
    findings: list[Finding]
    error: str | None = None
    fix: FixResult | None = None


def fix_file(path: Path, options: LintOptions, *, write: bool) -> FileFix:
    """Fix one file (in place when ``write``), then lint what is left."""
    shown = str(path)
    fix: FixResult | None = None
    try:
        data = read_source_bytes(path)
    except OSError:
        data = None
    if data is not None and has_lifecycle_token(data):
        try:
            text = decode_source(data)
        except (UnicodeDecodeError, SyntaxError, LookupError):
            text = None
        if text is not None:
            try:
                fix = fix_source(shown, text, options)
            except Exception as error:  # noqa: BLE001 - one file's bug must not stop the run
                result = lint_file(path, options)
                return FileFix(shown, result.findings, f"internal error while fixing: {error}")
            if fix.changed and write:
                path.write_bytes(encode_like(fix.fixed, data))
    # With ``write`` the findings left after fixing, else those of the file as it is.
    result = lint_file(path, options)
    return FileFix(shown, result.findings, result.error, fix)
