"""How the analysis scales with the size of one scope, measured in one run.

    python benchmarks/scale_bench.py [--size N] [--repeat R]

For each generated input, times (a) the bare ``libcst.parse_module`` and (b) the
whole lint (all rules, positions included) of size N and 2N, best of R rounds, and
prints the ratios: ``lint/parse`` (what the analysis costs on top of the parse it
cannot avoid) and ``time(2N)/time(N)`` (2 for linear work, 4 for quadratic, 8 for
cubic). Inputs (issue 15 item 1, issue 12 items 5-6):

- chained: N spans, each the child of the one before, ended in start order (the
  reproducer of issue 15: every end but the last is a TLC105);
- statements: one span, then N statements that may raise, then its end;
- flags: N independent ``if flags[i]: span = client.start_span(...)`` blocks, no end;
- branches: N sequential branches, each starting and ending its span;
- elifs: a span, then an ``if`` with N ``elif``s;
- deep-and: a span, then an expression of N/4 ``and``-ed calls (deep in libcst's tree).

Figures depend on the machine's load: compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import libcst

from lifecycle_lint.engine import LintOptions, lint_source
from lifecycle_lint.rules import RULES

HEADER = "from mlflow import MlflowClient\nc = MlflowClient()\n"


def chained(n: int) -> str:
    lines = ["def f(t, p):", "    s0 = c.start_span('x', t, p)"]
    lines += [f"    s{i} = c.start_span('x', t, s{i - 1}.span_id)" for i in range(1, n)]
    lines += [f"    c.end_span(t, s{i}.span_id)" for i in range(n)]
    return HEADER + "\n".join(lines) + "\n"


def statements(n: int) -> str:
    lines = ["def f(t, p):", "    s = c.start_span('x', t, p)"]
    lines += [f"    x{i} = g({i})" for i in range(n)]
    lines.append("    c.end_span(t, s.span_id)")
    return HEADER + "\n".join(lines) + "\n"


def flags(n: int) -> str:
    lines = ["def f(root, flags):"]
    for i in range(n):
        lines += [
            f"    if flags[{i}]:",
            "        span = c.start_span('x', root.trace_id, root.span_id)",
        ]
    return HEADER + "\n".join(lines) + "\n"


def branches(n: int) -> str:
    lines = ["def f(root, flags):"]
    for i in range(n):
        lines += [
            f"    if flags[{i}]:",
            f"        s{i} = c.start_span('x', root.trace_id, root.span_id)",
            f"        c.end_span(root.trace_id, s{i}.span_id)",
        ]
    return HEADER + "\n".join(lines) + "\n"


def elifs(n: int) -> str:
    lines = ["def f(t, p, v):", "    s = c.start_span('x', t, p)", "    if v == 0:", "        g()"]
    for i in range(1, n):
        lines += [f"    elif v == {i}:", f"        g{i}()"]
    lines.append("    c.end_span(t, s.span_id)")
    return HEADER + "\n".join(lines) + "\n"


def deep_and(n: int) -> str:
    expression = " and ".join(f"g{i}()" for i in range(max(n // 4, 2)))
    return HEADER + (
        f"def f(t, p):\n    s = c.start_span('x', t, p)\n    x = {expression}\n"
        "    c.end_span(t, s.span_id)\n"
    )


INPUTS: dict[str, tuple[Callable[[int], str], int]] = {
    # name: (generator, size factor relative to --size)
    "chained": (chained, 1),
    "statements": (statements, 2),
    "flags": (flags, 1),
    "branches": (branches, 1),
    "elifs": (elifs, 1),
    "deep-and": (deep_and, 1),
}


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    options = LintOptions(enabled=frozenset(RULES))
    print(
        f"{'input':<12}{'N':>7}{'parse N':>10}{'lint N':>10}{'lint 2N':>10}"
        f"{'lint/parse':>12}{'2N/N':>8}  findings(N)"
    )
    for name, (generate, factor) in INPUTS.items():
        n = args.size * factor
        small, large = generate(n), generate(2 * n)
        result = lint_source("bench.py", small, options)
        assert result.error is None, result.error
        parse = best(args.repeat, lambda text=small: libcst.parse_module(text))
        lint_small = best(args.repeat, lambda text=small: lint_source("bench.py", text, options))
        lint_large = best(args.repeat, lambda text=large: lint_source("bench.py", text, options))
        codes: dict[str, int] = {}
        for finding in result.findings:
            codes[finding.code] = codes.get(finding.code, 0) + 1
        print(
            f"{name:<12}{n:>7}{parse:>9.2f}s{lint_small:>9.2f}s{lint_large:>9.2f}s"
            f"{lint_small / parse:>12.2f}{lint_large / lint_small:>8.2f}  {codes}"
        )


if __name__ == "__main__":
    main()
