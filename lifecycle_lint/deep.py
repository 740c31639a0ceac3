"""Deeply nested but valid Python: finish the work on a thread with a large stack.

libcst builds, generates (for positions) and compares its trees recursively, so an
expression a few hundred levels deep (``a and b and ...``, ``x + y + ...``, a chain
of attribute calls) or a long ``elif`` chain exceeds Python's default recursion
limit although CPython compiles the file. The fast path stays as it is; when it
runs out of recursion, the same work runs again once on a thread whose C stack is
large enough for a much higher limit. The main thread only waits meanwhile.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: The C stack of the retry thread, and the recursion limit it allows.
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 100_000

_lock = threading.Lock()


def caused_by_recursion(error: BaseException) -> bool:
    """``error`` is, or was raised while handling, a ``RecursionError``.

    libcst's position generation turns a ``RecursionError`` into a ``KeyError``
    in its clean-up; the chain still says what happened.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def call_with_deep_stack(function: Callable[[], T]) -> T:
    """``function()`` on a thread with a large stack and a high recursion limit.

    Raises what ``function`` raises. The recursion limit is the interpreter's (one
    for all threads), so it is raised only while the call runs, one call at a time.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = error

    with _lock:
        old_limit = sys.getrecursionlimit()
        old_size = threading.stack_size()
        try:
            threading.stack_size(STACK_BYTES)
            sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
            worker = threading.Thread(target=run, name="lifecycle-lint-deep")
            worker.start()
        finally:
            threading.stack_size(old_size)
        try:
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def safe_text(error: BaseException) -> str:
    """``str(error)``, which itself recurses for an error that quotes a deep node."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - any failure: name the type only
        return type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
