"""Argument checks of the client's calls, and bounded quoting of values in messages.

The checks run before anything else (before the state core's lock): a refused argument
changes nothing. The hot path calls them only when a value is not of the plain expected
type (``name.__class__ is not str``, ``end_time_ns is not None``), so a valid call pays a
class comparison. Nothing here imports beyond the standard library.
"""

from __future__ import annotations

import operator
import reprlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_QUOTE",
    "MAX_TIME_NS",
    "check_end_after_start",
    "check_mapping",
    "check_name",
    "check_time_ns",
    "quote",
    "type_name",
]

#: Longest text of one quoted value in a message (a 10 MB ID makes a ~100-character quote).
MAX_QUOTE = 100
#: Times are unsigned 64-bit nanoseconds since the epoch (OTLP's ``fixed64``): up to 2554.
MAX_TIME_NS = 2**64 - 1

_repr = reprlib.Repr()
_repr.maxstring = MAX_QUOTE
_repr.maxother = MAX_QUOTE
_repr.maxlevel = 3
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = _repr.maxdeque = 5
_repr.maxdict = 5


def quote(value: Any) -> str:
    """``repr(value)`` for a message: at most about :data:`MAX_QUOTE` characters (the middle
    cut, as :mod:`reprlib` does), and never an exception (a ``__repr__`` that raises gives
    ``<unprintable T object>``)."""
    try:
        text = _repr.repr(value)
    except Exception:  # noqa: BLE001 - reprlib guards instances, not every container
        text = ""
    if not text or text.startswith("<") and " instance at 0x" in text:
        return f"<unprintable {type_name(value)} object>"
    if len(text) > MAX_QUOTE + 10:  # a str subclass or a container's own repr
        half = MAX_QUOTE // 2
        text = text[:half] + "..." + text[-half:]
    return text


def type_name(value: Any) -> str:
    """The name of ``value``'s type, module-qualified unless it is a builtin."""
    cls = type(value)
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", None) or cls.__name__
    return qualname if module in (None, "builtins") else f"{module}.{qualname}"


def _what(value: Any) -> str:
    return "None" if value is None else f"{type_name(value)} {quote(value)}"


def check_name(method: str, name: Any) -> str:
    """MLflow names spans with strings (``name: str``); anything else is refused. A ``str``
    subclass is copied into a plain ``str`` (its own hooks never run again)."""
    if not isinstance(name, str):
        raise TypeError(f"{method}(): 'name' must be a str, not {_what(name)}")
    return str.__str__(name)


def check_time_ns(method: str, param: str, value: Any) -> int:
    """An ``int`` of nanoseconds since the epoch in ``[0, 2**64)`` (``__index__`` types such
    as NumPy integers are converted); ``bool``, ``float`` and strings are refused."""
    if value.__class__ is not int:
        if isinstance(value, bool) or not hasattr(type(value), "__index__"):
            raise TypeError(
                f"{method}(): {param!r} must be an int of nanoseconds since the epoch, "
                f"not {_what(value)}"
            )
        try:
            value = operator.index(value)
        except Exception as exc:  # noqa: BLE001 - a broken __index__
            raise TypeError(
                f"{method}(): {param!r} must be an int of nanoseconds since the epoch: "
                f"{type_name(value)}.__index__ raised {type(exc).__name__}"
            ) from None
    if not 0 <= value <= MAX_TIME_NS:
        raise ValueError(
            f"{method}(): {param!r} = {quote(value)} is out of range: nanoseconds since the "
            "epoch are 0 to 2**64-1"
        )
    return int(value)


def check_mapping(method: str, param: str, value: Any) -> dict[str, Any]:
    """``attributes``/``tags`` (not ``None``, not a plain ``dict``): a mapping, copied into a
    plain ``dict`` here, so that nothing later (a backend, the state core) reads an object
    whose ``keys()`` or ``__getitem__`` may raise half-way through a change."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{method}(): {param!r} must be a dict (or None), not {_what(value)}")
    try:
        return dict(value)
    except Exception as exc:  # noqa: BLE001 - refused, never leaked half-way
        raise TypeError(
            f"{method}(): {param!r} could not be read as a dict: {type(exc).__name__} "
            f"from {type_name(value)}"
        ) from None


def check_end_after_start(method: str, end_time_ns: int, start_time_ns: int, what: str) -> None:
    if end_time_ns < start_time_ns:
        raise ValueError(
            f"{method}(): 'end_time_ns' = {end_time_ns} is before the start of {what} "
            f"({start_time_ns}, {start_time_ns - end_time_ns} ns later)"
        )
