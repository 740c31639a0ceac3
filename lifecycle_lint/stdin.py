"""Checking source read from standard input (``lifecycle-lint -``), as editors do.

``--stdin-filename PATH`` names the source: findings carry that name, and the
configuration and per-file ignores are those of ``PATH`` (which need not exist).
With ``--fix`` the source is written back to standard output, fixed or as it
came (so an editor's buffer is never lost), and the report goes to stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lifecycle_lint.engine import LintOptions, decode_source, lint_data
from lifecycle_lint.sources import encode_like

if TYPE_CHECKING:
    from lifecycle_lint.cli import Outcome

STDIN = "-"


class StdinUsageError(ValueError):
    pass


def stdin_requested(paths: list[str], stdin_filename: str | None) -> bool:
    """``-`` among the paths, or ``--stdin-filename`` without a path (the default ``.``)."""
    if STDIN in paths:
        if len(paths) > 1:
            raise StdinUsageError("'-' (standard input) cannot be combined with other paths")
        return True
    return stdin_filename is not None and paths == ["."]


@dataclass
class StdinSource:
    name: str  # shown in findings
    path: Path  # where configuration and per-file ignores are looked up
    data: bytes


def read_stdin(stdin_filename: str | None) -> StdinSource:
    stream = sys.stdin
    buffer = getattr(stream, "buffer", None) if stream is not None else None
    try:
        data = buffer.read() if buffer is not None else b""
    except OSError as error:
        reason = error.strerror or str(error)
        raise StdinUsageError(f"cannot read standard input: {reason}") from None
    name = stdin_filename or STDIN
    return StdinSource(name, Path(name), data)


def check_stdin(source: StdinSource, options: LintOptions, mode: str) -> tuple[Outcome, bytes]:
    """The outcome for ``source`` and the bytes to write back (``--fix``: the fixed source)."""
    from lifecycle_lint.cli import Outcome

    if mode == "check":
        result = lint_data(source.name, source.data, options)
        return Outcome(source.name, result.findings, result.error), source.data
    from lifecycle_lint.fixer import fix_source

    try:
        text: str | None = decode_source(source.data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        text = None
    fixed = source.data
    outcome = Outcome(source.name)
    if text is not None:
        try:
            fix = fix_source(source.name, text, options)
        except Exception as error:  # noqa: BLE001 - a bug of ours must not lose the source
            outcome.error = f"internal error while fixing: {error}"
        else:
            if fix.changed:
                fixed = encode_like(fix.fixed, source.data)
                outcome.diff = fix.diff()
                outcome.fixed = len(fix.applied)
    after = lint_data(source.name, fixed if mode == "fix" else source.data, options)
    outcome.findings = after.findings
    outcome.error = outcome.error or after.error
    return outcome, fixed
