from mlflow import MlflowClient

client = MlflowClient()


def run() -> None:
    client.end_trace("tr-1")
    client.end_trace("tr-2", status="ok")  # two findings, one comment
    client.end_trace("tr-3")  # noqa: E501
    client.end_trace("tr-4")  # type: ignore[arg-type]  # noqa:E501,W291 trailing words
    client.end_trace("tr-5", status="ok")  # noqa: TLC401
    client.end_trace("tr-6")  # already suppressed  # noqa: TLC201
    client.end_trace("tr-7")   
