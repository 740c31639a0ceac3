"""``# noqa`` and ``# noqa: TLC101,TLC102`` comments, read exactly as flake8 reads them.

flake8 looks for the comment in the text of the finding's line joined with the
other lines of the same token range: a statement continued with a backslash, or
a string spanning lines, counts as one line for ``noqa`` (``# noqa`` at the end
of its last line covers every line of it). ``NoqaMap`` builds the same ranges
from Python's tokenizer, and also tells ``--add-noqa`` where a comment may go.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from lifecycle_lint.lines import python_lines

# flake8's NOQA_INLINE_REGEXP (flake8/defaults.py) and its matching rule
# (flake8/violation.py), so the command and the flake8 plugin agree.
NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,\s]")
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


def suppressed(line_text: str, code: str) -> bool:
    """Whether a finding with ``code`` on a line with this text is suppressed."""
    if "#" not in line_text:
        return False
    match = NOQA.search(line_text)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = noqa_codes(codes_text)
    return code in codes or code.startswith(tuple(codes))


def noqa_codes(codes_text: str) -> list[str]:
    """The codes of a ``# noqa:`` list, in their order, without repeats."""
    codes: list[str] = []
    for part in _SEPARATOR.split(codes_text):
        if part.strip() and part.strip() not in codes:
            codes.append(part.strip())
    return codes


@dataclass(frozen=True)
class LineEnd:
    """The end of the last line of a token range: where a comment may go."""

    line: int  # 1-based
    column: int  # where the line's newline token starts (characters)
    comment: tuple[int, str] | None  # (column, text) of the line's comment, if any


class NoqaMap:
    """flake8's noqa line ranges of one source text.

    When the text does not tokenize, every line is its own range (flake8 then
    finds no range at all; the command still honours a comment on the line).
    """

    def __init__(self, text: str) -> None:
        self.lines = python_lines(text)
        #: line -> (first, last) line of its range, for lines in a multi-line range.
        self._ranges: dict[int, tuple[int, int]] = {}
        #: last line of a range -> where a comment may go on it.
        self._ends: dict[int, LineEnd] = {}
        self.tokenized = self._tokenize()

    def _tokenize(self) -> bool:
        # Line ends as ``\n`` for the tokenizer: line numbers do not change.
        normalised = "".join(line + "\n" for line in self.lines)
        first = last = 0
        comments: dict[int, tuple[int, str]] = {}
        f_strings = 0  # Python 3.12+ tokenizes inside f-strings, and ends lines there
        try:
            for token in tokenize.generate_tokens(io.StringIO(normalised).readline):
                kind, string, (start_line, start_col), (end_line, _), _ = token
                if kind in (tokenize.ENDMARKER, tokenize.DEDENT):
                    continue
                if kind == _FSTRING_START:
                    f_strings += 1
                elif kind == _FSTRING_END:
                    f_strings -= 1
                if kind == tokenize.COMMENT:
                    comments[start_line] = (start_col, string)
                first = start_line if not first else min(first, start_line)
                last = max(last, end_line)
                if kind in (tokenize.NL, tokenize.NEWLINE):
                    if last > first:
                        for number in range(first, last + 1):
                            self._ranges[number] = (first, last)
                    if not f_strings:  # a comment there would need Python 3.12
                        comment = comments.get(start_line)
                        self._ends[start_line] = LineEnd(start_line, start_col, comment)
                    first = last = 0
        except (tokenize.TokenError, SyntaxError, IndentationError):
            self._ranges.clear()
            self._ends.clear()
            return False
        return True

    def range_of(self, line: int) -> tuple[int, int]:
        return self._ranges.get(line, (line, line))

    def text_for(self, line: int) -> str:
        """The text flake8 searches for ``# noqa`` for a finding on ``line``."""
        first, last = self.range_of(line)
        return "\n".join(self.lines[first - 1 : last])

    def suppresses(self, line: int, code: str) -> bool:
        if not 0 < line <= len(self.lines):
            return False
        return suppressed(self.text_for(line), code)

    def comment_place(self, line: int) -> LineEnd | None:
        """Where a ``# noqa`` comment covering ``line`` may go; None if nowhere."""
        if not self.tokenized or not 0 < line <= len(self.lines):
            return None
        return self._ends.get(self.range_of(line)[1])
