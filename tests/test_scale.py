"""Scale and robustness of the analysis: many spans in one scope, many paths, deep code.

Speed itself is measured by ``benchmarks/scale_bench.py``; these tests pin the
findings on the same reproducers (issue 15 items 1 and 4, issue 12 item 6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle_lint.cli import EXIT_CLEAN, EXIT_FINDINGS, main
from lifecycle_lint.engine import LintOptions, lint_source
from lifecycle_lint.flake8_plugin import LifecycleChecker
from lifecycle_lint.flow import MAX_STATES

HEADER = "from mlflow import MlflowClient\nc = MlflowClient()\n"


def chained(count: int) -> str:
    """Issue 15's reproducer: each span the child of the one before, ended in start order."""
    lines = ["def f(t, p):", "    s0 = c.start_span('x', t, p)"]
    lines += [f"    s{i} = c.start_span('x', t, s{i - 1}.span_id)" for i in range(1, count)]
    lines += [f"    c.end_span(t, s{i}.span_id)" for i in range(count)]
    return HEADER + "\n".join(lines) + "\n"


def findings(source: str) -> list[tuple[int, str]]:
    result = lint_source("m.py", source, LintOptions())
    assert result.error is None
    return [(f.line, f.code) for f in result.findings]


def test_chained_spans_each_end_but_the_last_ends_a_parent_with_an_open_child() -> None:
    count = 6
    source = chained(count)
    first_end = 4 + count  # header (2 lines), `def`, then `count` starts
    assert findings(source) == [(first_end + i, "TLC105") for i in range(count - 1)]
    result = lint_source("m.py", source, LintOptions())
    assert result.findings[0].message == (
        "span `s0` ended here while `s1` (started line 5) is still open; end the child first"
    )


def test_chained_spans_ended_in_reverse_order_are_clean() -> None:
    count = 40  # deeper than the ancestors the order check looks at
    lines = ["def f(t, p):", "    s0 = c.start_span('x', t, p)"]
    lines += [f"    s{i} = c.start_span('x', t, s{i - 1}.span_id)" for i in range(1, count)]
    lines += [f"    c.end_span(t, s{i}.span_id)" for i in reversed(range(count))]
    assert findings(HEADER + "\n".join(lines) + "\n") == []


def test_a_grandparent_ended_before_its_grandchild_is_reported() -> None:
    source = HEADER + (
        "def f(t, p):\n"
        "    a = c.start_span('a', t, p)\n"
        "    b = c.start_span('b', t, a.span_id)\n"
        "    x = c.start_span('x', t, b.span_id)\n"
        "    c.end_span(t, b.span_id)\n"  # line 7: x open
        "    c.end_span(t, a.span_id)\n"  # line 8: x open (b already ended)
        "    c.end_span(t, x.span_id)\n"
    )
    assert findings(source) == [(7, "TLC105"), (8, "TLC105")]


def branchy(count: int) -> str:
    body = "def f(root):\n    s = c.start_span('s', root.trace_id, root.span_id)\n"
    for i in range(count):
        body += (
            f"    if c{i}:\n"
            f"        s{i} = c.start_span('t', root.trace_id, root.span_id)\n"
            f"        c.end_span(root.trace_id, s{i}.span_id)\n"
        )
    return HEADER + body  # `s` is never ended


@pytest.mark.parametrize("count", [4, 12, 100])
def test_many_paths_are_joined_and_the_leak_is_found(count: int) -> None:
    assert findings(branchy(count)) == [(4, "TLC101")]


def guarded(count: int) -> str:
    """Optional spans ended later under their own guards: the guards need every combination."""
    body = "def f(root, flags):\n"
    for i in range(count):
        body += (
            f"    s{i} = c.start_span('x', root.trace_id, root.span_id) if flags[{i}] else None\n"
        )
    for i in range(count):
        body += f"    if s{i} is not None:\n        c.end_span(root.trace_id, s{i}.span_id)\n"
    return HEADER + body


def test_guards_keep_their_detail_while_the_budget_allows() -> None:
    assert findings(guarded(6)) == []  # 64 combinations: exact, and clean


def test_beyond_the_budget_the_function_is_reported_not_skipped() -> None:
    result = lint_source("m.py", guarded(10), LintOptions())
    assert [(f.line, f.column, f.code) for f in result.findings] == [(3, 5, "TLC003")]
    assert result.findings[0].message == (
        f"function `f` not analysed: too complex for the path budget (more than {MAX_STATES} "
        "path states at one point); its spans are not checked"
    )


def test_sequential_guarded_spans_are_joined_once_their_guard_is_behind() -> None:
    body = "def f(root, flags):\n"
    for i in range(30):
        body += (
            f"    s{i} = c.start_span('x', root.trace_id, root.span_id) if flags[{i}] else None\n"
            f"    if s{i} is not None:\n"
            f"        c.end_span(root.trace_id, s{i}.span_id)\n"
        )
    assert findings(HEADER + body) == []


# --- deep but valid Python (issue 15 item 4) -------------------------------------------

DEPTH = 500


def deep_expression(kind: str) -> str:
    if kind == "and":
        return " and ".join(f"g{i}()" for i in range(DEPTH))
    if kind == "plus":
        return " + ".join(f"g{i}()" for i in range(DEPTH))
    if kind == "ternary":
        return "".join(f"g{i}() if b{i} else " for i in range(DEPTH)) + "0"
    if kind == "lambda":
        return "lambda: " * DEPTH + "g()"
    assert kind == "attribute"
    return "a" + "".join(f".b{i}()" for i in range(DEPTH))


def deep_source(kind: str) -> str:
    return HEADER + (
        "def f(t, p):\n"
        "    s = c.start_span('x', t, p)\n"
        f"    x = {deep_expression(kind)}\n"
        "    c.end_span(t, s.span_id)\n"
    )


def elifs(count: int) -> str:
    lines = ["def f(t, p, v):", "    s = c.start_span('x', t, p)", "    if v == 0:", "        g()"]
    for i in range(1, count):
        lines += [f"    elif v == {i}:", f"        g{i}()"]
    lines.append("    c.end_span(t, s.span_id)")
    return HEADER + "\n".join(lines) + "\n"


DEEP_CASES = {
    "and": (deep_source("and"), [(4, "TLC103")]),
    "plus": (deep_source("plus"), [(4, "TLC103")]),
    "ternary": (deep_source("ternary"), [(4, "TLC103")]),
    # The lambdas' bodies are not run where they are defined: nothing may raise.
    "lambda": (deep_source("lambda"), []),
    "attribute": (deep_source("attribute"), [(4, "TLC103")]),
    "elifs": (elifs(1000), [(4, "TLC103")]),
}


@pytest.mark.parametrize("kind", sorted(DEEP_CASES))
def test_deep_valid_code_is_analysed(kind: str, tmp_path: Path, capsys) -> None:
    source, expected = DEEP_CASES[kind]
    compile(source, "m.py", "exec")  # valid Python: CPython compiles it
    assert findings(source) == expected
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    code = main([str(path), "--no-color"])
    out = capsys.readouterr()
    assert code == (EXIT_FINDINGS if expected else EXIT_CLEAN)
    assert out.err == ""
    # The flake8 plugin reports the same findings.
    checker = LifecycleChecker(None, source.splitlines(keepends=True), str(path))
    assert [(line, text.split()[0]) for line, _, text, _ in checker.run()] == expected


def test_code_too_deep_even_for_the_retry_gets_a_notice_not_an_internal_error(
    monkeypatch,
) -> None:
    import lifecycle_lint.deep
    import lifecycle_lint.engine

    def too_deep(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(lifecycle_lint.engine, "_run_rules", too_deep)
    monkeypatch.setattr(lifecycle_lint.deep, "call_with_deep_stack", lambda function: function())
    result = lint_source("m.py", deep_source("and"), LintOptions())
    assert result.error is None
    assert [(f.line, f.column, f.code, f.message) for f in result.findings] == [
        (1, 1, "TLC003", "not analysed: the file is nested too deeply to analyse")
    ]


def test_a_checked_file_leaves_no_cyclic_garbage() -> None:
    """The tree and the facts about it are freed when the file is done, not by the cyclic
    collector: dropped trees waiting for it made its full passes cost a sixth of a run.
    (The standard library's ``ast.literal_eval`` leaves a few closures of its own.)"""
    import gc

    source = (Path(__file__).parent.parent / "fixtures" / "crossfn_summaries.py").read_text()
    lint_source("m.py", source, LintOptions())  # warm: imports, caches
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = lint_source("m.py", source, LintOptions())
        gc.collect()
        ours = [
            type(thing).__qualname__
            for thing in gc.garbage
            if type(thing).__module__.startswith(("libcst", "lifecycle_lint"))
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert result.findings
    assert ours == []


def _both_passes(ctx, scope):  # type: ignore[no-untyped-def]
    """``analyse_scope`` as it was before the second pass could be skipped."""
    from lifecycle_lint.flow import ScopeAnalysis, _names_shared_outside

    shared = _names_shared_outside(ctx, scope)
    first = ScopeAnalysis(ctx, scope, owned=None, shared_names=shared).run()
    if first.skipped:
        return first
    owned = set(first.ended_sites)
    return ScopeAnalysis(ctx, scope, owned=owned, shared_names=shared).run()


def test_skipping_a_second_pass_that_would_repeat_the_first_changes_no_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lifecycle_lint import flow
    from lifecycle_lint.rules import RULES
    from tests.fixture_markers import all_fixtures

    options = LintOptions(enabled=frozenset(RULES))
    sources = [path.read_text("utf-8", errors="replace") for path in all_fixtures()]
    sources.append(chained(5))
    passes = [0]
    original_init = flow.ScopeAnalysis.__init__

    def counting_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        passes[0] += 1

    monkeypatch.setattr(flow.ScopeAnalysis, "__init__", counting_init)
    skipped = [lint_source("m.py", source, options).findings for source in sources]
    passes_skipping, passes[0] = passes[0], 0
    monkeypatch.setattr(flow, "analyse_scope", _both_passes)
    both = [lint_source("m.py", source, options).findings for source in sources]
    assert both == skipped
    assert sum(map(len, both)) > 100
    assert 0 < passes_skipping < passes[0]  # some second passes skipped, not all
