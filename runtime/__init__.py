"""Reference runtime client for MLflow's low-level tracing lifecycle.

``TraceClient`` has ``MlflowClient``'s four tracing methods (same parameter names
and positions) and enforces the lifecycle contract of RULES.md while the code runs.
Importing this package imports neither mlflow nor libcst.

``guard()`` checks the process's own ``MlflowClient`` and ``mlflow.start_span_no_context``
calls in place (it imports mlflow); ``report()`` returns what it saw.
"""

from .backends import Backend, InMemoryBackend, JsonlBackend, MlflowBackend, read_jsonl
from .client import TraceClient, TraceNotFinishedError
from .errors import (
    AlreadyEndedError,
    BackendError,
    BackendWarning,
    ClosedParentError,
    CrossTraceError,
    InvalidStatusError,
    LeakError,
    LifecycleError,
    LifecycleWarning,
    MissingParentError,
    OpenChildrenError,
    OrderViolationError,
    UnknownSpanError,
    UnknownTraceError,
)
from .guard import Guard, Violation, active_guard, guard, guarded, report, unguard
from .model import Span, Trace

__all__ = [
    "AlreadyEndedError",
    "Backend",
    "BackendError",
    "BackendWarning",
    "ClosedParentError",
    "CrossTraceError",
    "Guard",
    "InMemoryBackend",
    "InvalidStatusError",
    "JsonlBackend",
    "LeakError",
    "LifecycleError",
    "LifecycleWarning",
    "MissingParentError",
    "MlflowBackend",
    "OpenChildrenError",
    "OrderViolationError",
    "Span",
    "Trace",
    "TraceClient",
    "TraceNotFinishedError",
    "UnknownSpanError",
    "UnknownTraceError",
    "Violation",
    "active_guard",
    "guard",
    "guarded",
    "read_jsonl",
    "report",
    "unguard",
]
