"""Errors and warnings raised by the reference runtime client.

Every contract violation is a subclass of :class:`LifecycleError` whose ``code``
is the rule code of RULES.md that the static checker reports for the same
mistake. With ``on_violation="warn"`` the same violation is reported as a
:class:`LifecycleWarning` carrying the same code instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Span

__all__ = [
    "AlreadyEndedError",
    "BackendError",
    "BackendWarning",
    "ClosedParentError",
    "CrossTraceError",
    "InvalidStatusError",
    "LeakError",
    "LifecycleError",
    "LifecycleWarning",
    "MissingParentError",
    "OpenChildrenError",
    "OrderViolationError",
    "UnknownSpanError",
    "UnknownTraceError",
]


class LifecycleError(Exception):
    """A call that breaks the tracing lifecycle contract. ``code`` is the rule code."""

    code: str = "TLC000"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.code} {message}")
        self.message = message


class UnknownTraceError(LifecycleError):
    """The trace ID names no trace this client started (a hard-coded or stale ID)."""

    code = "TLC201"


class UnknownSpanError(LifecycleError):
    """The span or parent ID names no span this client started."""

    code = "TLC201"


class AlreadyEndedError(LifecycleError):
    """A span or trace ended a second time."""

    code = "TLC104"


class OpenChildrenError(LifecycleError):
    """A span or trace ended while one of its descendants is still open."""

    code = "TLC105"


class ClosedParentError(LifecycleError):
    """A child started under a parent span that has already ended.

    Same rule as :class:`OpenChildrenError` (TLC105, parent-ended-before-child), seen
    from the other side: the child's interval would not lie within its parent's.
    """

    code = "TLC105"


class OrderViolationError(LifecycleError):
    """Policy ``"lifo"``: a span ended before a span of the same trace started after it."""

    code = "TLC106"


class CrossTraceError(LifecycleError):
    """A parent or span ID that belongs to another trace than the trace ID given."""

    code = "TLC202"


class MissingParentError(LifecycleError):
    """``start_span`` without a parent, or with ``parent_id=None``."""

    code = "TLC203"


class InvalidStatusError(LifecycleError, ValueError):
    """A status outside ``"OK"``, ``"ERROR"``, ``"UNSET"`` (case matters)."""

    code = "TLC401"


class LeakError(LifecycleError):
    """``close()`` found spans still open (TLC101), or only unended roots (TLC102)."""

    code = "TLC101"

    def __init__(self, message: str, open_spans: Sequence[Span], code: str = "TLC101") -> None:
        self.code = code  # instance override: TLC101 or TLC102
        super().__init__(message)
        self.open_spans = list(open_spans)


class LifecycleWarning(UserWarning):
    """A contract violation reported as a warning (``on_violation="warn"``), or a leak
    found when an open trace is evicted from the bounded table. ``code`` is the rule code.
    """

    def __init__(self, message: str, code: str = "TLC000") -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


class BackendWarning(RuntimeWarning):
    """A backend failed to record a trace (a write error, an MLflow error): reported once
    per trace, in both modes, after the call was applied. Not a contract violation: the
    call itself was valid, so the client's state follows it and the trace is kept in
    memory (:meth:`TraceClient.get_trace`, :meth:`TraceClient.unsaved_traces`)."""

    def __init__(self, message: str, trace_id: str, error: BaseException) -> None:
        super().__init__(message)
        self.message = message
        self.trace_id = trace_id
        self.error = error


class BackendError(RuntimeError):
    """A backend could not start a span or trace in a usable way (MLflow returned a no-op
    span, or an ID the client already holds); nothing was started."""
