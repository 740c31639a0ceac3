"""lifecycle-lint against its peers, on one corpus, measured in one run.

    python -m pip install -e ".[bench]"
    python benchmarks/peers.py [FOLDER] [--rounds N] [--slow-rounds N]

FOLDER defaults to MLflow's installed package (corpus M), copied to a temporary
folder outside any repository. The in-process baselines use the command's
garbage-collector setting (``cli.tune_gc``). Every figure is the least of N rounds,
the runs of a round taken in turn so that a slow spell of a shared machine hits
all of them, as wall time and as CPU time (user + system): on a loaded machine
the CPU ratios of one-process runs are the steadier figure, while the speed-up of
``-j2`` only shows in wall time on two free cores (the load average is printed).
Whole processes, except the in-process baselines:

- text check + bare parse: read every file, look for a lifecycle token, and
  ``libcst.parse_module`` the files that hold one: the work no run can skip.
- in-process pipeline: ``lint_file`` over every file in this process.
- lifecycle-lint cold ``-j1`` / ``-j2`` (``--no-cache``), warm (every result cached).
- flake8 ``-j1 --select=E9,TLC`` against ``--select=E9``: what the plugin adds.
- ruff ``--select E9,F63 --no-cache`` on one thread (``RAYON_NUM_THREADS=1``).
- Fixit with one trivial rule (NoRedundantFString), in one process.
- pylint with one checker (``--disable=all --enable=unreachable``), one process.

Fixit and pylint parse every file and take minutes: ``--slow-rounds`` (default 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FIXIT = """\
import sys
from pathlib import Path
from fixit.api import fixit_paths
from fixit.config import parse_rule
from fixit.ftypes import Options
rules = [parse_rule("fixit.rules:NoRedundantFString", Path.cwd())]
results = fixit_paths([Path(sys.argv[1])], options=Options(rules=rules), parallel=False)
print(sum(1 for result in results if result.violation))
"""


def default_folder() -> str:
    spec = importlib.util.find_spec("mlflow")
    if spec is None or spec.origin is None:
        raise SystemExit("give a folder: mlflow is not installed")
    return str(Path(spec.origin).parent)


#: As on a user's machine, modules are compiled once and read from ``__pycache__``.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def process(*command: str, env: dict[str, str] | None = None) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(
            command,
            env={**BASE_ENV, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")

    return run


def in_process(folder: str) -> tuple[Callable[[], None], Callable[[], None]]:
    import libcst

    from lifecycle_lint.discovery import discover
    from lifecycle_lint.engine import LintOptions, has_lifecycle_token, lint_file

    files = discover([folder])
    options = LintOptions()
    # The command collects cycles less often while parsing: the baselines do the same.
    from lifecycle_lint.cli import tune_gc

    tune_gc()

    def text_and_parse() -> None:
        for path in files:
            data = path.read_bytes()
            if has_lifecycle_token(data):
                libcst.parse_module(data.decode("utf-8"))

    def pipeline() -> None:
        for path in files:
            lint_file(path, options)

    return text_and_parse, pipeline


def measure(runs: dict[str, Callable[[], None]], rounds: int) -> dict[str, tuple[float, float]]:
    """The least wall time and the least CPU time (user + system, the process's own or
    its children's) of each run over ``rounds`` rounds."""
    best = dict.fromkeys(runs, (float("inf"), float("inf")))
    for _ in range(rounds):
        for name, run in runs.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = time.process_time()
            start = time.perf_counter()
            run()
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = time.process_time() - cpu
            cpu += after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slow-rounds", type=int, default=1)
    parser.add_argument("--skip-slow", action="store_true", help="leave Fixit and pylint out")
    args = parser.parse_args()
    load = os.getloadavg()
    source = args.folder or default_folder()
    # A plain copy, outside any repository: every tool checks the same files, whatever
    # .gitignore files lie above the original (Fixit obeys them; MLflow's package often
    # sits in a git-ignored .venv).
    workspace = tempfile.mkdtemp(prefix="peers-")
    folder = os.path.join(workspace, os.path.basename(source.rstrip("/")))
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__"))
    files = sum(1 for _ in Path(folder).rglob("*.py"))
    python = sys.executable
    lint = (python, "-m", "lifecycle_lint", "--format", "json")
    cache = os.path.join(workspace, "cache")
    try:
        process(*lint, "-j1", "--cache-dir", cache, folder)()  # fills the cache, writes .pyc
        text_and_parse, pipeline = in_process(folder)
        one_thread = {"RAYON_NUM_THREADS": "1"}
        fast = {
            "text check + bare parse": text_and_parse,
            "in-process pipeline": pipeline,
            "lifecycle-lint cold -j1": process(*lint, "-j1", "--no-cache", folder),
            "lifecycle-lint cold -j2": process(*lint, "-j2", "--no-cache", folder),
            "lifecycle-lint warm": process(*lint, "-j1", "--cache-dir", cache, folder),
            "flake8 -j1 E9,TLC": process(
                python, "-m", "flake8", "-j1", "--select=E9,TLC", "--isolated", folder
            ),
            "flake8 -j1 E9": process(
                python, "-m", "flake8", "-j1", "--select=E9", "--isolated", folder
            ),
            "ruff E9,F63 one thread": process(
                shutil.which("ruff") or "ruff",
                "check",
                "--select",
                "E9,F63",
                "--no-cache",
                "--isolated",
                "--quiet",
                folder,
                env=one_thread,
            ),
        }
        times = measure(fast, args.rounds)
        if not args.skip_slow:
            slow = {
                "Fixit, one rule": process(python, "-c", FIXIT, folder),
                "pylint, one checker": process(
                    python,
                    "-m",
                    "pylint",
                    "-j1",
                    "--disable=all",
                    "--enable=unreachable",
                    "--score=n",
                    folder,
                ),
            }
            times |= measure(slow, args.slow_rounds)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)

    wall = {name: value[0] for name, value in times.items()}
    cpu = {name: value[1] for name, value in times.items()}
    rows = [
        ("text check + bare parse", None, ""),
        ("in-process pipeline", "text check + bare parse", "<= 1.30"),
        ("lifecycle-lint cold -j1", "text check + bare parse", "<= 1.30"),
        ("lifecycle-lint cold -j2", "lifecycle-lint cold -j1", "wall <= 0.59 (1.7x faster)"),
        ("lifecycle-lint warm", "ruff E9,F63 one thread", "<= 2.00"),
        ("flake8 -j1 E9,TLC", "flake8 -j1 E9", "<= 1.15"),
        ("flake8 -j1 E9", None, ""),
        ("ruff E9,F63 one thread", None, ""),
    ]
    if "Fixit, one rule" in times:
        rows += [
            ("Fixit, one rule", "lifecycle-lint cold -j1", ""),
            ("pylint, one checker", "lifecycle-lint cold -j1", ""),
        ]
    print(f"corpus: {folder} ({files} files)")
    print(f"least of {args.rounds} rounds (Fixit, pylint: {args.slow_rounds}); seconds")
    print(
        f"load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f} (2 free cores: < 1)"
    )
    print(f"{'run':<26}{'wall':>8}{'cpu':>8}{'wall x':>8}{'cpu x':>8}  of / target")
    for name, base, target in rows:
        ratios = (
            f"{wall[name] / wall[base]:8.2f}{cpu[name] / cpu[base]:8.2f}  {base} {target}"
            if base
            else ""
        )
        print(f"{name:<26}{wall[name]:8.3f}{cpu[name]:8.3f}{ratios}")
    for label, a, b, target in (
        ("whole process / in-process", "lifecycle-lint cold -j1", "in-process pipeline", "<= 1.10"),
        ("-j1 / -j2 (speed-up)", "lifecycle-lint cold -j1", "lifecycle-lint cold -j2", ">= 1.70"),
    ):
        print(
            f"{label:<28} wall {wall[a] / wall[b]:.2f}  cpu {cpu[a] / cpu[b]:.2f}  target {target}"
        )


if __name__ == "__main__":
    main()
