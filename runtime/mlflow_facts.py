"""MLflow facts shared by the static checker and the runtime client.

This is the single source of truth for method names, parameter names and
positions, span ID attributes, status values, fluent API names and autolog
spellings (checked against MLflow 2.x and 3.17). The linter imports these; it
keeps no copy of its own. The module has no imports beyond the standard library
so that importing the runtime stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MlflowMajor = Literal[2, 3]
DEFAULT_MLFLOW_MAJOR: MlflowMajor = 3

# --- The client's lifecycle methods -------------------------------------------------

START_TRACE = "start_trace"
START_SPAN = "start_span"
END_SPAN = "end_span"
END_TRACE = "end_trace"
CLIENT_LIFECYCLE_METHODS: frozenset[str] = frozenset({START_TRACE, START_SPAN, END_SPAN, END_TRACE})
CLIENT_START_METHODS: frozenset[str] = frozenset({START_TRACE, START_SPAN})
CLIENT_END_METHODS: frozenset[str] = frozenset({END_SPAN, END_TRACE})

#: Methods on a span object that do not raise and do not end it (RULES.md,
#: "Analysis conventions": `span.set_*` is a lifecycle call).
SPAN_SETTER_PREFIX = "set_"
#: Method that ends a span returned by ``start_span_no_context`` (or any live span).
SPAN_END_METHOD = "end"

#: The ID parameter is ``trace_id`` in MLflow 3.x and ``request_id`` in 2.x.
TRACE_ID_PARAM = "trace_id"
REQUEST_ID_PARAM = "request_id"


def trace_id_param(major: MlflowMajor) -> str:
    """Name of the first ID parameter in the given MLflow major version."""
    return TRACE_ID_PARAM if major >= 3 else REQUEST_ID_PARAM


@dataclass(frozen=True)
class MethodSignature:
    """Parameter names of a client method in positional order (``self`` excluded).

    The first ID parameter is spelled ``trace_id``; in MLflow 2.x the same
    position is named ``request_id`` (see :func:`params_for`).
    """

    name: str
    params: tuple[str, ...]

    def params_for(self, major: MlflowMajor) -> tuple[str, ...]:
        if major >= 3:
            return self.params
        return tuple(REQUEST_ID_PARAM if p == TRACE_ID_PARAM else p for p in self.params)

    def position_of(self, param: str) -> int | None:
        """0-based position of ``param`` (``request_id`` maps to ``trace_id``)."""
        if param == REQUEST_ID_PARAM:
            param = TRACE_ID_PARAM
        try:
            return self.params.index(param)
        except ValueError:
            return None


START_TRACE_SIGNATURE = MethodSignature(
    START_TRACE,
    (
        "name",
        "span_type",
        "inputs",
        "attributes",
        "tags",
        "experiment_id",
        "start_time_ns",
        "run_id",
        "links",
    ),
)
START_SPAN_SIGNATURE = MethodSignature(
    START_SPAN,
    (
        "name",
        "trace_id",
        "parent_id",
        "span_type",
        "inputs",
        "attributes",
        "start_time_ns",
        "links",
    ),
)
END_SPAN_SIGNATURE = MethodSignature(
    END_SPAN,
    ("trace_id", "span_id", "outputs", "attributes", "status", "end_time_ns"),
)
END_TRACE_SIGNATURE = MethodSignature(
    END_TRACE,
    ("trace_id", "outputs", "attributes", "status", "end_time_ns"),
)
CLIENT_SIGNATURES: dict[str, MethodSignature] = {
    s.name: s
    for s in (
        START_TRACE_SIGNATURE,
        START_SPAN_SIGNATURE,
        END_SPAN_SIGNATURE,
        END_TRACE_SIGNATURE,
    )
}

#: Parameters of lifecycle calls that carry an ID taken from a span.
ID_PARAMS: frozenset[str] = frozenset({TRACE_ID_PARAM, REQUEST_ID_PARAM, "span_id", "parent_id"})

# --- Span objects ---------------------------------------------------------------

#: Attributes of a span object that hold an ID.
SPAN_TRACE_ID_ATTRS: frozenset[str] = frozenset({TRACE_ID_PARAM, REQUEST_ID_PARAM})
SPAN_ID_ATTRS: frozenset[str] = frozenset(
    {TRACE_ID_PARAM, REQUEST_ID_PARAM, "span_id", "parent_id"}
)

# --- Status -------------------------------------------------------------------

STATUS_OK = "OK"
STATUS_ERROR = "ERROR"
STATUS_UNSET = "UNSET"
VALID_STATUSES: frozenset[str] = frozenset({STATUS_OK, STATUS_ERROR, STATUS_UNSET})
DEFAULT_STATUS = STATUS_OK
STATUS_PARAM = "status"
#: Class names whose attributes are statuses: ``SpanStatusCode.ERROR``.
STATUS_CODE_CLASSES: frozenset[str] = frozenset({"SpanStatusCode"})
STATUS_CLASS = "SpanStatus"

# --- Client class and module spellings ----------------------------------------

CLIENT_CLASS = "MlflowClient"
#: Fully qualified names under which ``MlflowClient`` can be imported.
CLIENT_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {
        "mlflow.MlflowClient",
        "mlflow.tracking.MlflowClient",
        "mlflow.client.MlflowClient",
        "mlflow.tracking.client.MlflowClient",
        # The project's own runtime client is signature-compatible.
        "lifecycle_runtime.TraceClient",
        "lifecycle_runtime.client.TraceClient",
    }
)

# --- Fluent API ---------------------------------------------------------------

#: ``mlflow.start_span_no_context(...)`` returns a live span ended with ``.end()``.
START_SPAN_NO_CONTEXT = "mlflow.start_span_no_context"
START_SPAN_NO_CONTEXT_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {
        START_SPAN_NO_CONTEXT,
        "mlflow.tracing.start_span_no_context",
        "mlflow.tracing.fluent.start_span_no_context",
    }
)
START_SPAN_NO_CONTEXT_PARAMS: tuple[str, ...] = (
    "name",
    "span_type",
    "parent_span",
    "inputs",
    "attributes",
    "tags",
    "metadata",
    "experiment_id",
    "start_time_ns",
    "log_level",
    "links",
    "description",
)
#: Context manager that opens a fluent span: ``with mlflow.start_span(...) as s``.
FLUENT_START_SPAN = "mlflow.start_span"
FLUENT_START_SPAN_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {FLUENT_START_SPAN, "mlflow.tracing.fluent.start_span"}
)
#: Decorator that wraps a function in a fluent span (with or without arguments).
FLUENT_TRACE_DECORATOR = "mlflow.trace"
FLUENT_TRACE_DECORATOR_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {FLUENT_TRACE_DECORATOR, "mlflow.tracing.fluent.trace"}
)
#: Fluent calls that act on the active fluent span or trace.
FLUENT_CONTEXT_FUNCTIONS: frozenset[str] = frozenset(
    {
        "mlflow.update_current_trace",
        "mlflow.get_current_active_span",
    }
)

#: Fluent getters that return the active span (never owned by the caller: not ended there).
FLUENT_SPAN_GETTER_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {"mlflow.get_current_active_span", "mlflow.tracing.fluent.get_current_active_span"}
)

#: MLflow's helpers that set attributes on the span they are given and do nothing
#: else with it (not ending it, not keeping it): passing a span to them lends it.
#: ``set_span_chat_messages`` is MLflow 2.x's; the others are in 3.x too.
SPAN_READING_QUALIFIED_NAMES: frozenset[str] = frozenset(
    {
        f"{module}.{name}"
        for module in ("mlflow.tracing", "mlflow.tracing.utils")
        for name in (
            "set_span_chat_messages",
            "set_span_chat_tools",
            "set_span_model_attribute",
            "set_span_cost_attribute",
        )
    }
    # Making a span the active one (until ``detach_span_from_context``) does not end it
    # nor take it over: the caller still ends it.
    | {
        "mlflow.tracing.provider.set_span_in_context",
        "mlflow.tracing.provider.safe_set_span_in_context",
    }
)

# --- Autolog ------------------------------------------------------------------

AUTOLOG = "autolog"
#: ``mlflow.autolog()`` and ``mlflow.<flavor>.autolog()``: any qualified name
#: starting with ``mlflow.`` and ending with ``.autolog``.
AUTOLOG_ROOT = "mlflow"


def is_autolog_name(qualified_name: str) -> bool:
    parts = qualified_name.split(".")
    return len(parts) >= 2 and parts[0] == AUTOLOG_ROOT and parts[-1] == AUTOLOG


# --- Text tokens --------------------------------------------------------------

#: A file without any of these cannot drive the lifecycle API; the linter skips
#: it without parsing (``start_span_no_context`` contains ``start_span``).
LIFECYCLE_TOKENS: tuple[str, ...] = (START_TRACE, START_SPAN, END_SPAN, END_TRACE)

# --- ID shapes ----------------------------------------------------------------

TRACE_ID_PREFIX = "tr-"
TRACE_ID_HEX_DIGITS = 32
SPAN_ID_HEX_DIGITS = 16

# --- Span defaults and end behaviour (used by the runtime client) -----------------------

#: ``span_type`` default of ``start_trace`` and ``start_span``.
DEFAULT_SPAN_TYPE = "UNKNOWN"
#: MLflow's ``span.end()`` records a span ended with (or still at) ``"UNSET"`` as ``"OK"``:
#: only ``"ERROR"`` survives as such (checked against MLflow 3.17.2).
ENDED_UNSET_STATUS = STATUS_OK
#: MLflow 3.x warns with ``FutureWarning`` on ``request_id=``; the runtime client raises the
#: stricter ``DeprecationWarning`` (RULES.md, TLC204).
MLFLOW_REQUEST_ID_WARNING = "FutureWarning"
