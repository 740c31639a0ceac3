"""Crash sweeps: the linter on every file of an environment, on generated programs, and on
adversarial inputs. Nothing here asserts: it prints figures (and exits 1 when a sweep
finds an internal error, a traceback or an input over the time limit).

    python benchmarks/sweep.py [--site-packages DIR] [--programs N] [--skip-site]
                               [--skip-programs] [--skip-adversarial] [-j N] [--slowest K]

1. ``site-packages``: every ``.py`` file of DIR (default: this interpreter's), linted with
   every rule on (TLC106 and TLC501 included) and the lifecycle-token filter defeated, so
   that every file is parsed and analysed. Prints files, findings, internal errors (must
   be 0), TLC001 count and the slowest files with their times.
2. ``programs``: N programs written by hypothesmith (the ``sweep`` extra), each linted as
   it is and again between a prelude that starts a trace and a span at module level and
   their ends (so that the flow analysis walks the generated statements with spans open).
3. ``adversarial``: inputs written by this script (deep nesting, huge functions, many
   branches, odd bytes and line endings, an empty file, a directory named ``x.py``, a
   symlink loop, an unreadable file), each checked by the command line in a subprocess:
   every input must get a clear finding or message, no traceback, within ``--limit``
   seconds (default 2); all of them together in one run must check every file.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import lifecycle_lint.engine as engine
from lifecycle_lint.engine import LintOptions, lint_file, lint_source
from lifecycle_lint.rules import RULES

ALL_RULES = frozenset(RULES)
PER_FILE_TIMEOUT = 120  # seconds, in-process sweeps: a file past it is reported as a hang


@dataclass
class Tally:
    files: int = 0
    findings: int = 0
    tlc001: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # lifecycle findings, path:line: code
    times: list[tuple[float, str]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        path: str,
        seconds: float,
        codes: list[str],
        error: str | None,
        where: list[str] | None = None,
    ) -> None:
        self.files += 1
        self.shown += where or []
        self.findings += len(codes)
        self.tlc001 += codes.count("TLC001")
        for code in codes:
            self.codes[code] = self.codes.get(code, 0) + 1
        if error is not None:
            self.errors.append((path, error))
        self.times.append((seconds, path))

    def report(self, title: str, slowest: int) -> None:
        print(f"== {title}")
        print(
            f"files: {self.files}  findings: {self.findings}  internal errors: "
            f"{len(self.errors)}  TLC001: {self.tlc001}"
        )
        if self.codes:
            print("by code: " + ", ".join(f"{c} {n}" for c, n in sorted(self.codes.items())))
        total = sum(t for t, _ in self.times)
        print(f"total lint time: {total:.1f} s")
        for path, error in self.errors[:20]:
            print(f"  INTERNAL ERROR {path}: {error}")
        for line in self.shown[:40]:
            print(f"  finding: {line}")
        print(f"slowest {slowest}:")
        for seconds, path in sorted(self.times, reverse=True)[:slowest]:
            print(f"  {seconds:8.3f} s  {path}")


# --- in-process linting, the token filter defeated ----------------------------------------


def _defeat_token_filter() -> None:
    engine.has_lifecycle_token = lambda data: True  # type: ignore[assignment]


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _lint_one(path: str) -> tuple[str, float, list[str], str | None, list[str]]:
    """Lint one file (in a worker): (path, seconds, codes, internal error or None, the
    lifecycle findings as ``path:line: CODE message``)."""
    _defeat_token_filter()
    options = LintOptions(enabled=ALL_RULES)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(PER_FILE_TIMEOUT)
    start = time.perf_counter()
    try:
        result = lint_file(Path(path), options, apply_noqa=False)
        error = result.error
        codes = [f.code for f in result.findings]
        where = [
            f"{path}:{f.line}: {f.code} {f.message}"
            for f in result.findings
            if f.code not in ("TLC001", "TLC002")
        ]
    except _Timeout:
        error, codes, where = f"no result after {PER_FILE_TIMEOUT} s", [], []
    except BaseException as exc:  # noqa: BLE001 - a crash is what the sweep looks for
        error, codes, where = f"escaped: {type(exc).__name__}: {exc}", [], []
    finally:
        signal.alarm(0)
    return path, time.perf_counter() - start, codes, error, where


def python_files(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def sweep_files(paths: list[str], jobs: int) -> Tally:
    tally = Tally()
    remaining = list(paths)
    while remaining:
        done: set[str] = set()
        try:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for path, seconds, codes, error, where in pool.map(
                    _lint_one, remaining, chunksize=16
                ):
                    tally.add(path, seconds, codes, error, where)
                    done.add(path)
                    if tally.files % 500 == 0:
                        print(f"  ... {tally.files} of {len(paths)} files", file=sys.stderr)
        except BrokenProcessPool:
            # A worker died (a crash of the native parser, say): report the file it held,
            # then go on with the rest.
            left = [p for p in remaining if p not in done]
            crashed = left[0]
            tally.add(crashed, 0.0, [], "the worker process died (crash)")
            done.add(crashed)
        remaining = [p for p in remaining if p not in done]
    return tally


# --- generated programs -------------------------------------------------------------------

PRELUDE = (
    "from mlflow import MlflowClient\n"
    "client = MlflowClient()\n"
    'root = client.start_trace("sweep")\n'
    'span = client.start_span("step", root.trace_id, root.span_id)\n'
)
POSTLUDE = "\nclient.end_span(root.trace_id, span.span_id)\nclient.end_trace(root.trace_id)\n"


def sweep_programs(count: int) -> Tally:
    try:
        import hypothesmith
    except ImportError:
        raise SystemExit(
            "the programs sweep needs hypothesmith: pip install -e '.[sweep]'"
        ) from None
    from hypothesis import HealthCheck, given, settings

    _defeat_token_filter()
    options = LintOptions(enabled=ALL_RULES)
    tally = Tally()
    number = [0]

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hypothesmith.from_grammar())
    def lint_generated(source: str) -> None:
        number[0] += 1
        for label, text in (("plain", source), ("prelude", PRELUDE + source + POSTLUDE)):
            name = f"<hypothesmith #{number[0]} {label}>"
            start = time.perf_counter()
            try:
                result = lint_source(name, text, options)
                error = result.error
                codes = [f.code for f in result.findings]
            except Exception as exc:  # noqa: BLE001
                error, codes = f"escaped: {type(exc).__name__}: {exc}", []
            if error is not None:
                error += "\n" + text
            tally.add(name, time.perf_counter() - start, codes, error)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # hypothesmith's own compile()
        lint_generated()
    return tally


# --- adversarial inputs -------------------------------------------------------------------

LEAK = 'leaked = client.start_span("leak", root.trace_id, root.span_id)\n'
HEAD = "from mlflow import MlflowClient\n\nclient = MlflowClient()\n"


def _function(body: list[str], indent: str = "    ") -> str:
    return "def work(root, flag):\n" + "".join(indent + line + "\n" for line in body)


def adversarial_inputs(folder: Path) -> dict[str, tuple[str, str]]:
    """Write the inputs; returns name -> (the first code a good answer starts with, or
    "message" or "nothing"; what it is)."""
    files: dict[str, bytes] = {}
    expect: dict[str, tuple[str, str]] = {}
    depth = 1000
    files["deep_brackets.py"] = (
        HEAD + "value = " + "(" * depth + "1" + ")" * depth + "\n" + LEAK
    ).encode()
    expect["deep_brackets.py"] = ("TLC001", "TLC001 (CPython refuses over 200 nested brackets)")
    nested_ifs = "".join(" " * i + "if flag:\n" for i in range(depth)) + " " * depth + "pass\n"
    files["deep_ifs.py"] = (HEAD + nested_ifs + LEAK).encode()
    expect["deep_ifs.py"] = ("TLC001", "TLC001 (CPython allows 100 indentation levels)")
    blocks = "".join(
        " " * i + ("for _ in x:\n", "with x:\n", "try:\n", "while x:\n")[i % 4]
        for i in range(depth)
    )
    tail = "".join(
        " " * i + "finally:\n" + " " * (i + 1) + "pass\n"
        for i in reversed(range(depth))
        if i % 4 == 2
    )
    files["deep_blocks.py"] = (HEAD + blocks + " " * depth + "pass\n" + tail + LEAK).encode()
    expect["deep_blocks.py"] = ("TLC001", "TLC001 (CPython allows 100 indentation levels)")
    elifs = ["if flag == 0:", "    pass"]
    for i in range(1, depth):
        elifs += [f"elif flag == {i}:", "    pass"]
    files["long_elif_chain.py"] = (HEAD + _function(elifs + [LEAK.strip()])).encode()
    expect["long_elif_chain.py"] = ("TLC101", "TLC101 (1,000 elifs: a deep tree for libcst)")
    many = []
    for i in range(5000 // 3):
        many += [
            f"s{i} = client.start_span('s{i}', root.trace_id, root.span_id)",
            f"value{i} = len(str({i}))",
            f"client.end_span(root.trace_id, s{i}.span_id)",
        ]
    files["long_function.py"] = (HEAD + _function(many + [LEAK.strip()])).encode()
    expect["long_function.py"] = ("TLC101", "TLC101 at the last line (5,000 statements)")
    branches = []
    for i in range(100):
        branches += [
            f"if flag[{i}]:",
            f"    s{i} = client.start_span('s{i}', root.trace_id, root.span_id)",
            f"    client.end_span(root.trace_id, s{i}.span_id)",
        ]
    files["branches_100.py"] = (HEAD + _function(branches + [LEAK.strip()])).encode()
    expect["branches_100.py"] = (
        "TLC101",
        "TLC101 for `leaked` (100 branches: 2^100 paths without joins)",
    )
    body = HEAD + _function([LEAK.strip()])
    files["nul_byte.py"] = (body + "x = '\x00'\n").encode()
    expect["nul_byte.py"] = ("TLC001", "TLC001 (source code cannot contain null bytes)")
    files["bom.py"] = b"\xef\xbb\xbf" + body.encode()
    expect["bom.py"] = ("TLC101", "TLC101")
    files["crlf.py"] = body.replace("\n", "\r\n").encode()
    expect["crlf.py"] = ("TLC101", "TLC101")
    files["cr_only.py"] = body.replace("\n", "\r").encode()
    expect["cr_only.py"] = ("TLC101", "TLC101 (old Mac line endings)")
    files["form_feed.py"] = (HEAD + "\f\n" + _function([LEAK.strip()], indent="\f    ")).encode()
    expect["form_feed.py"] = ("TLC101", "TLC101")
    files["tabs.py"] = (HEAD + _function([LEAK.strip()], indent="\t")).encode()
    expect["tabs.py"] = ("TLC101", "TLC101")
    files["mixed_tabs.py"] = (
        HEAD + "def work(root):\n    x = 1\n\tleaked = client.start_span('l', root.trace_id,"
        " root.span_id)\n"
    ).encode()
    expect["mixed_tabs.py"] = ("TLC001", "TLC001 (inconsistent tabs and spaces)")
    files["latin1.py"] = ("# -*- coding: latin-1 -*-\n" + body + "name = 'caf\xe9'\n").encode(
        "latin-1"
    )
    expect["latin1.py"] = ("TLC101", "TLC101")
    files["latin1_without_coding.py"] = (body + "name = 'caf\xe9'\n").encode("latin-1")
    expect["latin1_without_coding.py"] = ("TLC002", "TLC002 (not UTF-8 and no coding line)")
    files["empty.py"] = b""
    expect["empty.py"] = ("nothing", "nothing (exit 0)")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "x.py").mkdir()
    (folder / "x.py" / "inner.py").write_bytes(body.encode())
    expect["x.py"] = (
        "TLC101",
        "a directory named x.py: its files are checked (TLC101 in inner.py)",
    )
    loop = folder / "loop.py"
    loop.symlink_to(loop)
    expect["loop.py"] = ("message", "a message: the symlink loops")
    (folder / "dangling.py").symlink_to(folder / "missing-target.py")
    expect["dangling.py"] = ("message", "a message: the link points nowhere")
    unreadable = folder / "unreadable.py"
    unreadable.write_bytes(body.encode())
    unreadable.chmod(0)
    if os.access(unreadable, os.R_OK):
        expect["unreadable.py"] = (
            "TLC101",
            "TLC101 (running as root: mode 000 does not stop reading)",
        )
    else:
        expect["unreadable.py"] = ("TLC002", "TLC002 (cannot read)")
    return expect


def sweep_adversarial(limit: float) -> bool:
    print("== adversarial inputs (command line, one subprocess per input)")
    folder = Path(tempfile.mkdtemp(prefix="lifecycle-sweep-"))
    ok = True
    try:
        expect = adversarial_inputs(folder)
        command = [sys.executable, "-m", "lifecycle_lint", "--extend-select", "TLC106,TLC501"]
        for name in sorted(expect):
            start = time.perf_counter()
            run = subprocess.run(
                [*command, str(folder / name)], capture_output=True, text=True, timeout=600
            )
            seconds = time.perf_counter() - start
            out = (run.stdout + run.stderr).strip().replace(str(folder) + "/", "")
            bad = []
            if "Traceback" in run.stderr:
                bad.append("TRACEBACK")
            if run.returncode not in (0, 1, 2):
                bad.append(f"EXIT {run.returncode}")
            code, described = expect[name]
            first = out.splitlines()[0] if out else ""
            got = re.search(r": (TLC\d{3}) ", first)
            if code == "nothing" and out:
                bad.append("UNEXPECTED OUTPUT")
            elif code == "message" and not out:
                bad.append("NO MESSAGE")
            elif code.startswith("TLC") and (got is None or got.group(1) != code):
                bad.append(f"EXPECTED {code}")
            if seconds > limit:
                bad.append(f"OVER {limit:g} s")
            ok = ok and not bad
            lines = out.splitlines()
            shown = "; ".join(line[:150] for line in lines[:3]) + (
                f" (+{len(lines) - 3} more lines)" if len(lines) > 3 else ""
            )
            verdict = " ".join(bad) if bad else "ok"
            print(f"  {name:26} exit {run.returncode}  {seconds:6.2f} s  {verdict}")
            print(f"      expected: {described}")
            print(f"      got:      {shown or '(nothing)'}")
        start = time.perf_counter()
        together = subprocess.run(
            [*command, str(folder)], capture_output=True, text=True, timeout=1200
        )
        seconds = time.perf_counter() - start
        reported = {
            Path(line.split(":", 1)[0]).name
            for line in together.stdout.splitlines()
            if line.startswith(str(folder))
        }
        print(
            f"  all together: exit {together.returncode}, {seconds:.2f} s, files with "
            f"findings: {len(reported)}, traceback: {'Traceback' in together.stderr}"
        )
        if together.stderr.strip():
            for line in together.stderr.strip().splitlines()[:10]:
                print(f"      stderr: {line.replace(str(folder) + '/', '')[:150]}")
        ok = ok and "Traceback" not in together.stderr
    finally:
        unreadable = folder / "unreadable.py"
        if unreadable.exists():
            unreadable.chmod(stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(folder, ignore_errors=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site-packages", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--programs", type=int, default=500, help="hypothesmith programs")
    parser.add_argument("--skip-site", action="store_true")
    parser.add_argument("--skip-programs", action="store_true")
    parser.add_argument("--skip-adversarial", action="store_true")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=10)
    parser.add_argument("--limit", type=float, default=2.0, help="seconds per adversarial input")
    args = parser.parse_args(argv)
    ok = True
    if not args.skip_site:
        paths = list(python_files(Path(args.site_packages)))
        tally = sweep_files(paths, args.jobs)
        tally.report(f"site-packages: {args.site_packages}", args.slowest)
        ok = ok and not tally.errors
    if not args.skip_programs:
        tally = sweep_programs(args.programs)
        tally.report(
            f"hypothesmith programs: {args.programs} (each plain and with a prelude)", args.slowest
        )
        ok = ok and not tally.errors
    if not args.skip_adversarial:
        ok = sweep_adversarial(args.limit) and ok
    print("result:", "clean" if ok else "PROBLEMS (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
