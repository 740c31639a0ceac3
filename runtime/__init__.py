"""Reference runtime client for MLflow's low-level tracing lifecycle.

``TraceClient`` has ``MlflowClient``'s four tracing methods (same parameter names
and positions) and enforces the lifecycle contract of RULES.md while the code runs.
Importing this package imports neither mlflow nor libcst.
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
from .model import Span, Trace

__all__ = [
    "AlreadyEndedError",
    "Backend",
    "BackendError",
    "BackendWarning",
    "ClosedParentError",
    "CrossTraceError",
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
    "read_jsonl",
]
