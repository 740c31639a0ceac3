"""Lines as Python counts them: only ``\\n``, ``\\r\\n`` and ``\\r`` end a line.

``str.splitlines()`` also splits on form feeds, vertical tabs, ``\\x1c``-``\\x1e``,
``\\x85``, ``\\u2028`` and ``\\u2029``, which Python's tokenizer treats as ordinary
characters: every line number a finding carries is counted this way instead.
"""

from __future__ import annotations

import io


def python_lines(text: str, *, keepends: bool = False) -> list[str]:
    """``text`` split at ``\\n``, ``\\r\\n`` and ``\\r`` only."""
    # A StringIO with newline="" splits on exactly these and keeps them as they are.
    lines = io.StringIO(text, newline="").readlines()
    if keepends:
        return lines
    return [line.rstrip("\r\n") for line in lines]


def line_count(text: str) -> int:
    """The number of lines of ``text`` (a last line without an end counts)."""
    return len(python_lines(text, keepends=True))
