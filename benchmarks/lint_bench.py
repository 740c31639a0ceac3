"""Cost of the whole lint against the parse it cannot avoid, measured in one run.

    python benchmarks/lint_bench.py [FOLDER] [--repeat N]

FOLDER defaults to MLflow's installed package. Prints (a) the text check over
every file, (b) a bare ``libcst.parse_module`` of the files that pass it, and
(c) the full ``lifecycle-lint`` pipeline over every file in this process (all
rules on, positions included), then the ratio c / (a + b). The target is
c <= 1.3 x (a + b): every rule together costs under a third of the parse.
Each figure is the best of N alternating rounds (default 5), to damp the machine's noise.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import libcst

from lifecycle_lint.discovery import discover
from lifecycle_lint.engine import LintOptions, has_lifecycle_token, lint_file
from lifecycle_lint.project import clear_cache as clear_project_cache
from lifecycle_lint.rules import RULES


def default_folder() -> str:
    spec = importlib.util.find_spec("mlflow")
    if spec is None or spec.origin is None:
        raise SystemExit("give a folder: mlflow is not installed")
    return str(Path(spec.origin).parent)


def best(repeat: int, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = discover([args.folder or default_folder()])
    passing: list[str] = []

    def text_check() -> None:
        passing.clear()
        for path in files:
            data = path.read_bytes()
            if has_lifecycle_token(data):
                passing.append(data.decode("utf-8"))

    def bare_parse() -> None:
        for text in passing:
            libcst.parse_module(text)

    options = LintOptions(enabled=frozenset(RULES))
    findings = 0

    def full_run() -> None:
        nonlocal findings
        clear_project_cache()  # each round reads the project's modules afresh, as a run does
        findings = sum(len(lint_file(path, options).findings) for path in files)

    # Rounds alternate the three runs, so that a slow spell of the machine hits all of them.
    a = b = c = float("inf")
    for _ in range(args.repeat):
        a = min(a, best(1, text_check))
        b = min(b, best(1, bare_parse))
        c = min(c, best(1, full_run))
    print(f"files: {len(files)}, with a lifecycle token: {len(passing)}, findings: {findings}")
    print(f"(a) text check      {a:8.3f} s")
    print(f"(b) bare parse      {b:8.3f} s")
    print(f"(c) full lint       {c:8.3f} s")
    print(f"c / (a + b) = {c / (a + b):.2f}   (target <= 1.30)")
    print(f"everything but reading and parsing: {(c - a - b) / b:.0%} of the parse")


if __name__ == "__main__":
    main()
