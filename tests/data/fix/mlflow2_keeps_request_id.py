# lifecycle-lint: --mlflow-version 2
from mlflow import MlflowClient

client = MlflowClient()
root = client.start_trace("agent")
client.end_trace(request_id=root.request_id, status="ok")
