from mlflow import MlflowClient

client = MlflowClient()
client.end_trace("tr-1"
