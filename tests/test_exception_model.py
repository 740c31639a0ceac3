"""The exception model: which calls may raise, resolved through the file's imports."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lifecycle_lint import exception_model as model
from lifecycle_lint.context import FileContext
from lifecycle_lint.settings import Settings


def _calls(
    source: str, settings: Settings | None = None
) -> tuple[FileContext, dict[str, cst.Call]]:
    text = textwrap.dedent(source)
    module = cst.parse_module(text)
    ctx = FileContext("m.py", module, settings or Settings(), text)
    return ctx, {module.code_for_node(call): call for call in ctx.index.calls}


IMPORTS = """\
import datetime
import json
import logging
import os
import random as r
import time
import uuid
from time import perf_counter
from mlflow import MlflowClient
client = MlflowClient()
_logger = logging.getLogger(__name__)
"""


@pytest.mark.parametrize(
    ("call", "may_raise"),
    [
        ("perf_counter()", False),  # from time import perf_counter
        ("r.uniform(0, 1)", False),  # import random as r
        ("time.sleep(1)", False),
        ("uuid.uuid4()", False),
        ("datetime.datetime.now()", False),
        ("os.environ.get('X', 'y')", False),
        ("_logger.info('x')", False),
        ("len(items)", False),
        ("int(end * 1e9)", False),
        ("int(header)", True),
        ("max(a, b + 1)", False),
        ("max(scores)", True),
        ("getattr(x, 'y', None)", False),
        ("getattr(x, 'y')", True),
        ("payload.get('k')", False),
        ("session.get(url, timeout=3)", True),
        ("', '.join(parts)", False),
        ("template.format(x)", True),
        ("json.dumps(payload)", True),
        ("os.remove(path)", True),
        ("tool(x)", True),
    ],
)
def test_calls_in_the_table_do_not_raise(call: str, may_raise: bool) -> None:
    ctx, calls = _calls(
        IMPORTS
        + "def f(items, end, header, a, b, scores, x, payload, session, url, parts, template,"
        + f" path, tool):\n    {call}\n"
    )
    assert model.call_may_raise(calls[call], ctx) is may_raise


def test_a_name_bound_in_the_file_is_not_the_builtin_or_the_module_function() -> None:
    ctx, calls = _calls(
        """
        def len(x):
            return x.size()
        time = object()
        def f(items):
            len(items)
            time.time()
        """
    )
    assert model.call_may_raise(calls["len(items)"], ctx)
    assert model.call_may_raise(calls["time.time()"], ctx)


def test_lifecycle_calls_and_their_arguments_do_not_raise() -> None:
    ctx, calls = _calls(
        IMPORTS
        + """
def f(root, compute):
    step = client.start_span("s", root.trace_id, root.span_id, inputs=compute())
    client.end_span(root.trace_id, step.span_id)
"""
    )
    assert not model.call_may_raise(calls["compute()"], ctx)
    assert not model.call_may_raise(calls["client.end_span(root.trace_id, step.span_id)"], ctx)


def test_user_entries_and_strict_mode() -> None:
    source = (
        IMPORTS
        + "from myapp.log import record\ndef f(m):\n"
        + "    record(1)\n    m.emit_metric(1)\n    time.time()\n"
    )
    ctx, calls = _calls(source, Settings(non_raising=("myapp.log.*", "emit_metric")))
    assert not model.call_may_raise(calls["record(1)"], ctx)
    assert not model.call_may_raise(calls["m.emit_metric(1)"], ctx)
    strict = Settings(strict_exceptions=True, non_raising=("emit_metric",))
    ctx, calls = _calls(source, strict)
    assert model.call_may_raise(calls["record(1)"], ctx)
    assert model.call_may_raise(calls["time.time()"], ctx)
    assert not model.call_may_raise(calls["m.emit_metric(1)"], ctx)


def test_failure_rank_orders_the_witnesses() -> None:
    ctx, calls = _calls(
        IMPORTS
        + "def f(db, helper, path, x):\n    db.execute(x)\n    helper(x)\n    x.timestamp()\n"
        + "    open(path)\n    json.dumps(x)\n    len(x)\n"
    )
    ranks = [
        model.failure_rank(calls[c], ctx)
        for c in (
            "db.execute(x)",
            "helper(x)",
            "x.timestamp()",
            "open(path)",
            "json.dumps(x)",
            "len(x)",
        )
    ]
    assert ranks == [
        model.RANK_OTHER_IO,
        model.RANK_OTHER,
        model.RANK_VALUE_METHOD,
        model.RANK_STDLIB_IO,
        model.RANK_STDLIB,
        model.RANK_NON_RAISING,
    ]


def test_every_entry_says_why() -> None:
    for entry in model.ENTRIES:
        assert entry.category and entry.reason and (entry.names or entry.methods)
    for category, reason in model.FORMS:
        assert category and reason
    page = model.markdown()
    assert "`warnings.warn`" in page and "`random.*`" in page and "lifecycle calls" in page
