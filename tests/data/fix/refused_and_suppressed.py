from mlflow import MlflowClient

client = MlflowClient()


def run() -> None:
    root = client.start_trace("agent")
    old = client.start_trace("old")
    # Renaming would repeat the keyword: the fixed file would not compile.
    client.end_trace(request_id=old.trace_id, status="ok", trace_id=old.trace_id)
    client.end_trace(request_id=root.trace_id, status="ok")  # noqa: TLC204
