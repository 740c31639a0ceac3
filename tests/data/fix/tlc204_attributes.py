import mlflow
from mlflow import MlflowClient

client = MlflowClient()


def run(query: str) -> str:
    root = client.start_trace("agent")
    step = client.start_span("step", root.request_id, root.span_id)
    client.end_span(step.request_id, step.span_id)
    trace = mlflow.get_trace(root.trace_id)
    client.end_trace(root.request_id)
    return trace.info.request_id  # not a span: left alone
