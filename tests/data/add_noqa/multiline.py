from mlflow import MlflowClient

client = MlflowClient()


def strings_spanning_lines() -> None:
    client.end_trace("tr-1", outputs="""first line
    middle line
    last line""")
    client.end_trace("tr-2", outputs=f"""{1}
    """, status="ok")  # keep this


def backslash_continuation() -> None:
    client.end_trace("tr-3") if client \
        else None


def inside_brackets() -> None:
    client.end_trace(
        "tr-4",
        status="ok",  # a comment
    )
    client.end_trace(outputs=[
        1,
    ], trace_id="tr-5")
