"""Findings for files that cannot be checked: TLC001, TLC002.

The engine reports these itself (there is no tree to check); the classes carry
the metadata and doc pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from lifecycle_lint.rules.base import Report, Rule

if TYPE_CHECKING:
    from lifecycle_lint.context import FileContext


class _FileRule(Rule):
    def check(self, ctx: FileContext) -> Iterator[Report]:
        return iter(())


class SyntaxErrorRule(_FileRule):
    code = "TLC001"
    name = "syntax-error"
    summary = "The file holds a lifecycle call but cannot be parsed."
    what = """
        Reported at the position of the syntax error of a file that contains a lifecycle
        token (`start_trace`, `start_span`, `end_span`, `end_trace`) but does not parse as
        Python 3. The other files are still checked.
        """
    why = """
        A file that does not parse cannot be checked: its lifecycle calls are not verified.
        Failing loudly keeps a typo from silently turning the linter off for that file.
        """
    bad = """
        root = client.start_trace("agent"
        """
    good = """
        root = client.start_trace("agent")
        """


class UnreadableFile(_FileRule):
    code = "TLC002"
    name = "unreadable-file"
    summary = "The file cannot be read or decoded."
    what = """
        Reported at line 1 of a file that cannot be read (permissions, a broken link) or whose
        bytes are not valid in its declared encoding (UTF-8 unless a PEP 263 coding line says
        otherwise). The other files are still checked.
        """
    why = """
        An unreadable file is an unchecked file; saying so is better than a silent pass.
        """
    bad = """
        # -*- coding: ascii -*-
        name = "café"  # not ASCII: the file cannot be decoded
        client.start_trace(name)
        """
    good = """
        # -*- coding: utf-8 -*-
        name = "café"
        client.start_trace(name)
        """
