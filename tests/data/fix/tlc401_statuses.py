# fmt: off
# (the single quotes below are kept by the fix)
from mlflow import MlflowClient

client = MlflowClient()
CUSTOM = "ok"


def run(tool) -> None:
    root = client.start_trace("agent")
    a = client.start_span("a", root.trace_id, root.span_id)
    client.end_span(root.trace_id, a.span_id, status="ok")
    b = client.start_span("b", root.trace_id, root.span_id)
    client.end_span(root.trace_id, b.span_id, status='failed')
    c = client.start_span("c", root.trace_id, root.span_id)
    client.end_span(root.trace_id, c.span_id, status="Unset")
    d = client.start_span("d", root.trace_id, root.span_id)
    client.end_span(root.trace_id, d.span_id, status="weird")  # intent unknown: left
    e = client.start_span("e", root.trace_id, root.span_id)
    client.end_span(root.trace_id, e.span_id, status=CUSTOM)  # behind a constant: left
    f = client.start_span("f", root.trace_id, root.span_id)
    client.end_span(root.trace_id, f.span_id, "success")
    client.end_trace(root.trace_id, status="error")
