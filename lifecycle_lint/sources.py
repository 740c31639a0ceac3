"""Reading the source of a file to check.

Only regular files are read: a FIFO, a socket or a device named on the command
line would block the run or never end (``/dev/zero``), so it is refused with an
``OSError`` whose reason is "not a regular file" (reported as TLC002), without
waiting for a writer.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tokenize
from pathlib import Path


class NotRegularFileError(OSError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", str(path))


def read_source_bytes(path: Path | str) -> bytes:
    """The bytes of a regular file; ``OSError`` for anything else or any failure."""
    # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotRegularFileError(path)
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return stream.read()
    finally:
        os.close(descriptor)


def detect_encoding(data: bytes) -> str:
    """The encoding Python reads ``data`` with (BOM, PEP 263 coding line, else UTF-8).

    ``tokenize.detect_encoding`` reads lines at ``\n`` only; the compiler also ends
    them at a lone ``\r``, so the first two lines are given to it that way.
    """
    first_two = re.split(rb"\r\n?|\n", data, maxsplit=2)[:2]
    encoding, _ = tokenize.detect_encoding(iter(line + b"\n" for line in first_two).__next__)
    return encoding


def encoding_of(data: bytes) -> tuple[str, bool]:
    """The encoding Python reads ``data`` with, and whether it starts with a UTF-8 BOM."""
    encoding = detect_encoding(data)
    bom = data.startswith(b"\xef\xbb\xbf")
    return ("utf-8" if encoding == "utf-8-sig" else encoding), bom


def encode_like(text: str, original: bytes) -> bytes:
    """``text`` encoded as ``original`` was: its encoding and its BOM kept."""
    encoding, bom = encoding_of(original)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
