"""Reading the source of a file to check.

Only regular files are read: a FIFO, a socket or a device named on the command
line would block the run or never end (``/dev/zero``), so it is refused with an
``OSError`` whose reason is "not a regular file" (reported as TLC002), without
waiting for a writer.
"""

from __future__ import annotations

import errno
import os
import stat
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
