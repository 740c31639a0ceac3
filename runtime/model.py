"""Span and trace records of the runtime client (plain data, ``__slots__``, no I/O).

The attribute names follow MLflow's span objects: ``trace_id`` (``request_id`` is the
MLflow 2.x alias), ``span_id``, ``parent_id`` (``None`` for a root), ``name``,
``span_type``, ``inputs``, ``outputs``, ``attributes``, ``status`` (a string here:
``"OK"``, ``"ERROR"`` or ``"UNSET"``), ``start_time_ns``, ``end_time_ns``.

Spans are created and changed only by :class:`lifecycle_runtime.core.LifecycleState`
(under its lock); the ``set_*`` helpers touch only a span's own payload.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["Span", "Trace", "TraceData", "TraceInfo"]

# Trace states (module constants: compared by identity on the hot path).
OPEN = "OPEN"  #: root open
ROOT_ENDED = "ROOT_ENDED"  #: root ended, a descendant still open (warn mode only)
FINISHED = "FINISHED"  #: root ended and nothing open: handed to the backend
EVICTED = "EVICTED"  #: pushed out of the bounded open-trace table, reported as a leak


class Span:
    """One span. Open while ``end_time_ns`` is ``None``."""

    __slots__ = (
        "name",
        "trace_id",
        "span_id",
        "parent_id",
        "span_type",
        "inputs",
        "outputs",
        "_attributes",
        "status",
        "status_description",
        "start_time_ns",
        "end_time_ns",
        "links",
        "_parent",
        "_open_desc",
    )

    def __init__(
        self,
        name: str,
        trace_id: str,
        span_id: str,
        parent: Span | None,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None,
        start_time_ns: int,
        links: Any,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self._parent = parent
        self.parent_id: str | None = None if parent is None else parent.span_id
        self.span_type = span_type
        self.inputs = inputs
        self.outputs: Any = None
        self._attributes = None if not attributes else dict(attributes)
        self.status = "UNSET"
        self.status_description = ""
        self.start_time_ns = start_time_ns
        self.end_time_ns: int | None = None
        self.links = links
        self._open_desc = 0  # open descendants, kept by the state core

    @property
    def request_id(self) -> str:
        """MLflow 2.x name of :attr:`trace_id`."""
        return self.trace_id

    @property
    def attributes(self) -> dict[str, Any]:
        a = self._attributes
        if a is None:
            a = self._attributes = {}
        return a

    @property
    def is_open(self) -> bool:
        return self.end_time_ns is None

    @property
    def is_root(self) -> bool:
        return self._parent is None

    # Payload helpers, as on MLflow's LiveSpan. They do not end the span.
    def set_outputs(self, outputs: Any) -> None:
        self.outputs = outputs

    def set_inputs(self, inputs: Any) -> None:
        self.inputs = inputs

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        self.attributes.update(attributes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "span_type": self.span_type,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "attributes": dict(self._attributes or {}),
            "status": self.status,
            "status_description": self.status_description,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
        }

    def __repr__(self) -> str:
        state = "open" if self.end_time_ns is None else self.status
        return (
            f"Span(name={self.name!r}, span_id={self.span_id!r}, parent_id={self.parent_id!r}, "
            f"trace_id={self.trace_id!r}, {state})"
        )


class TraceInfo:
    """The few fields of MLflow's ``TraceInfo`` that tests commonly read."""

    __slots__ = ("_trace",)

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    @property
    def trace_id(self) -> str:
        return self._trace.trace_id

    @property
    def request_id(self) -> str:
        return self._trace.trace_id

    @property
    def state(self) -> str:
        """``"OK"``, ``"ERROR"`` or ``"IN_PROGRESS"`` as MLflow 3 reports it."""
        if self._trace.state is not FINISHED:
            return "IN_PROGRESS"
        return "ERROR" if self._trace.root.status == "ERROR" else "OK"

    @property
    def experiment_id(self) -> str | None:
        return self._trace.experiment_id

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._trace.tags or {})


class TraceData:
    """``trace.data.spans`` as in MLflow."""

    __slots__ = ("spans",)

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans


class Trace:
    """One trace: its root span, every span in start order, and the open ones."""

    __slots__ = ("trace_id", "root", "spans", "open", "experiment_id", "tags", "run_id", "state")

    def __init__(
        self,
        root: Span,
        experiment_id: str | None,
        tags: dict[str, str] | None,
        run_id: str | None,
    ) -> None:
        self.trace_id = root.trace_id
        self.root = root
        self.spans: list[Span] = [root]
        #: Open spans in start order (dicts keep insertion order): the "lifo" policy
        #: reads the last one.
        self.open: dict[str, Span] = {root.span_id: root}
        self.experiment_id = experiment_id
        self.tags = None if not tags else dict(tags)
        self.run_id = run_id
        self.state = OPEN

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def status(self) -> str:
        return self.root.status

    @property
    def start_time_ns(self) -> int:
        return self.root.start_time_ns

    @property
    def end_time_ns(self) -> int | None:
        return self.root.end_time_ns

    @property
    def is_finished(self) -> bool:
        return self.state is FINISHED

    @property
    def data(self) -> TraceData:
        return TraceData(list(self.spans))

    @property
    def info(self) -> TraceInfo:
        return TraceInfo(self)

    def children(self, span: Span) -> list[Span]:
        return [s for s in self.spans if s._parent is span]

    def walk(self) -> Iterator[tuple[int, Span]]:
        """Depth-first ``(depth, span)`` pairs from the root, children in start order."""
        kids: dict[str | None, list[Span]] = {}
        for s in self.spans:
            kids.setdefault(s.parent_id, []).append(s)
        stack: list[tuple[int, Span]] = [(0, self.root)]
        while stack:
            depth, s = stack.pop()
            yield depth, s
            stack.extend((depth + 1, c) for c in reversed(kids.get(s.span_id, ())))

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "name": self.root.name,
            "state": self.state,
            "status": self.root.status,
            "experiment_id": self.experiment_id,
            "run_id": self.run_id,
            "tags": dict(self.tags or {}),
            "start_time_ns": self.root.start_time_ns,
            "end_time_ns": self.root.end_time_ns,
            "spans": [s.to_dict() for s in self.spans],
        }

    def __repr__(self) -> str:
        return (
            f"Trace(trace_id={self.trace_id!r}, name={self.root.name!r}, "
            f"spans={len(self.spans)}, open={len(self.open)}, state={self.state})"
        )
