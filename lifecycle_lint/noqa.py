"""``# noqa`` and ``# noqa: TLC101,TLC102`` comments, read exactly as flake8 reads them."""

from __future__ import annotations

import re

# flake8's NOQA_INLINE_REGEXP (flake8/defaults.py) and its matching rule
# (flake8/violation.py), so the command and the flake8 plugin agree.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,\s]")


def suppressed(line_text: str, code: str) -> bool:
    """Whether a finding with ``code`` on a line with this text is suppressed."""
    if "#" not in line_text:
        return False
    match = _NOQA.search(line_text)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = {c.strip() for c in _SEPARATOR.split(codes_text) if c.strip()}
    return code in codes or code.startswith(tuple(codes))
