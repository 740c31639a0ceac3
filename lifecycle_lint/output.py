"""Writing the report: to a file (``--output-file``) or to standard output.

A report that cannot be written is a usage error with a one-line message (exit
status 2), never a traceback. A reader that goes away (``| head``) or a closed
standard output ends the output quietly, as other command-line tools do: the
exit status still says whether there were findings.
"""

from __future__ import annotations

import os
import sys


class OutputError(Exception):
    """The report cannot be written; the message says where and why."""


def _reason(error: OSError) -> str:
    if isinstance(error, IsADirectoryError):
        return "it is a folder"
    if isinstance(error, FileNotFoundError):
        return "its folder does not exist"
    return error.strerror or type(error).__name__


def check_output_file(path: str) -> None:
    """Refuse, before any work is done, a report file that cannot be written."""
    if os.path.isdir(path):
        raise OutputError(f"cannot write the report to {path}: it is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write the report to {path}: its folder does not exist")


def _silence_stdout() -> None:
    """After a broken pipe: point standard output at /dev/null so that the
    interpreter's last flush at exit does not report the pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass


def write_stdout(text: str | bytes) -> None:
    """Write to standard output (bytes as they are, for a source written back);
    quietly nothing when it is closed or its reader left."""
    stream = sys.stdout
    if stream is None or not text:
        return
    try:
        if isinstance(text, bytes):
            stream.flush()
            buffer = getattr(stream, "buffer", None)
            if buffer is None:  # a text-only stream (pytest's capture): decode as written
                stream.write(text.decode("utf-8", "surrogateescape"))
            else:
                buffer.write(text)
                buffer.flush()
            return
        try:
            stream.write(text)
        except UnicodeEncodeError:  # a strict encoding that cannot show some character
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
    except BrokenPipeError:
        _silence_stdout()
    except ValueError:
        if not getattr(stream, "closed", False):
            raise
        return  # "I/O operation on closed file"
    except OSError as error:
        raise OutputError(f"cannot write the report: {_reason(error)}") from None


def write_report(text: str, output_file: str | None) -> None:
    """The report to ``output_file``, else to standard output."""
    if not output_file:
        write_stdout(text)
        return
    try:
        with open(output_file, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise OutputError(f"cannot write the report to {output_file}: {_reason(error)}") from None
