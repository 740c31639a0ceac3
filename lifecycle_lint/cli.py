"""The ``lifecycle-lint`` command.

Nothing imported here imports libcst: a run over files without a lifecycle
token never loads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from lifecycle_lint import __version__
from lifecycle_lint.cache import Cache, default_cache_dir, entry_key
from lifecycle_lint.config import (
    Config,
    ConfigError,
    Overrides,
    file_codes,
    find_config,
    load_config,
    parse_non_raising,
    settings_for,
)
from lifecycle_lint.discovery import MissingPathError, discover
from lifecycle_lint.engine import LintOptions, has_lifecycle_token, lint_file
from lifecycle_lint.findings import Finding
from lifecycle_lint.output import OutputError, check_output_file, write_report, write_stdout
from lifecycle_lint.reporting import FORMATS, format_statistics, render, shown_path, use_color
from lifecycle_lint.rules import RULES
from lifecycle_lint.selection import SelectionError, validate_selectors
from lifecycle_lint.settings import Settings
from lifecycle_lint.sources import read_source_bytes
from lifecycle_lint.stdin import StdinUsageError, check_stdin, read_stdin, stdin_requested

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(ValueError):
    """Options that cannot be used together."""


#: A worker process is worth starting only for this many files that need parsing ...
MIN_FILES_PER_WORKER = 8
#: ... holding this much source (bytes) together: about half a second of work.
MIN_BYTES_PER_WORKER = 128 * 1024


def _codes(value: str) -> list[str]:
    return [part for part in value.replace(" ", ",").split(",") if part]


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 (the CPU count) or more")
    return number or (os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle-lint",
        description="Check code that drives MLflow's low-level tracing client.",
    )
    parser.add_argument(
        "paths", nargs="*", default=["."], help="files and folders to check (`-`: standard input)"
    )
    parser.add_argument(
        "--select",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="rule codes or prefixes to run (replaces the configured or default set)",
    )
    parser.add_argument(
        "--extend-select",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="rule codes or prefixes to run in addition",
    )
    parser.add_argument(
        "--ignore",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="rule codes or prefixes not to run",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--mlflow-version",
        type=int,
        choices=(2, 3),
        default=None,
        help="major version of MLflow the code targets (default: configured, else 3)",
    )
    parser.add_argument(
        "--lifo", action="store_true", help="require strict LIFO end order (enables TLC106)"
    )
    parser.add_argument(
        "--strict-exceptions",
        action="store_true",
        help="every call but lifecycle calls may raise (the exception model's table is off)",
    )
    parser.add_argument(
        "--non-raising",
        type=_codes,
        action="extend",
        default=[],
        metavar="NAMES",
        help="calls that do not raise, in addition to the configured ones "
        "(qualified names or globs: myapp.log.*,emit_metric)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (pyproject.toml or a TOML file holding the table); "
        "default: the nearest pyproject.toml with [tool.lifecycle-lint]",
    )
    parser.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    parser.add_argument(
        "--diff", action="store_true", help="print the safe fixes as a diff, change nothing"
    )
    parser.add_argument(
        "--add-noqa",
        action="store_true",
        help="add a `# noqa: CODE` comment for every finding (to adopt on existing code)",
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="read the source from standard input (the path `-`) and name it PATH: "
        "for messages, the configuration and per-file ignores",
    )
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when there are findings (errors still exit 2)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print the findings only, no summary"
    )
    parser.add_argument(
        "--show-files",
        action="store_true",
        help="print the files a run would check (after exclusions), then exit",
    )
    parser.add_argument(
        "--statistics", action="store_true", help="print the number of findings per code"
    )
    parser.add_argument("--output-file", "-o", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--no-color", action="store_true", help="no colours in the output")
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: the CPU count; 1 checks in this process)",
    )
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the configured exclusions to paths named on the command line too "
        "(the pre-commit hooks pass it)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the results cache"
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the results cache's folder (default: $LIFECYCLE_LINT_CACHE_DIR, else "
        ".lifecycle_lint_cache at the project root)",
    )
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation")
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the effective settings of each given file and where each comes from",
    )
    parser.add_argument("--version", action="version", version=f"lifecycle-lint {__version__}")
    return parser


def format_text(finding: Finding) -> str:
    from lifecycle_lint.reporting import text_line

    return text_line(finding)


@dataclass
class Outcome:
    """What checking (or fixing) one file produced."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    diff: str = ""
    fixed: int = 0
    worker: int = 0  # the process that did the work (tests check the pool is used)
    #: Other project modules the findings rest on (read by the project index).
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    path: Path
    options: LintOptions
    mode: str = "check"  # check | fix | diff
    data: bytes | None = field(default=None, repr=False, compare=False)  # read already


def run_task(task: Task) -> Outcome:
    if task.mode == "check":
        result = lint_file(task.path, task.options, data=task.data)
        from lifecycle_lint.project import dependencies_of

        return Outcome(
            result.path,
            result.findings,
            result.error,
            worker=os.getpid(),
            dependencies=dependencies_of(str(task.path), task.options.settings),
        )
    if task.mode == "add-noqa":
        from lifecycle_lint.add_noqa import add_noqa_file

        noqa = add_noqa_file(task.path, task.options)
        return Outcome(noqa.path, noqa.findings, noqa.error, fixed=noqa.added, worker=os.getpid())
    from lifecycle_lint.fixer import fix_file

    done = fix_file(task.path, task.options, write=task.mode == "fix")
    fix = done.fix
    return Outcome(
        done.path,
        done.findings,
        done.error,
        diff=fix.diff() if fix is not None and fix.changed else "",
        fixed=len(fix.applied) if fix is not None and fix.changed else 0,
        worker=os.getpid(),
    )


def plan_workers(jobs: int, sizes: Sequence[int]) -> int:
    """Worker processes for files of these sizes that need parsing (0: in this process).

    A pool pays off only when each worker gets enough source to parse to outweigh
    starting it (a process, libcst's import): ``MIN_BYTES_PER_WORKER`` each, and
    ``MIN_FILES_PER_WORKER`` files each.
    """
    workers = min(jobs, len(sizes) // MIN_FILES_PER_WORKER, sum(sizes) // MIN_BYTES_PER_WORKER)
    return workers if workers >= 2 else 0


def _dependencies(task: Task) -> str:
    """What a file's verdict depends on beyond its bytes and settings, known before the
    check, for the cache key (nothing today: the project modules a check reads are only
    known after it, and the entry lists them, see ``Outcome.dependencies``)."""
    return ""


def _pool_context():  # type: ignore[no-untyped-def]
    import multiprocessing
    import threading

    # fork is cheap and safe here on Linux (no threads of ours); elsewhere the default.
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def tune_gc() -> None:
    """Collect cycles less often while parsing: libcst allocates millions of objects that
    live until the file is done, and the default thresholds rescan them over and over
    (about a fifth of the CPU of a check). Only garbage in cycles waits longer."""
    import gc

    gc.set_threshold(100_000, 50, 100)


@contextmanager
def _tuned_gc(freeze: bool = False) -> Iterator[None]:
    """``tune_gc`` for a block (``main`` may run in a caller's process, tests included);
    ``freeze``: before forking, so that the workers share the pages of what is loaded."""
    import gc

    before = gc.get_threshold()
    tune_gc()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*before)


def _load_analysis() -> None:
    """Import the parser and the analysis once, before forking: the workers share them
    instead of each importing them again (about half a second of CPU each)."""
    import libcst

    import lifecycle_lint.context  # noqa: F401

    libcst.parse_module("pass\n")  # loads the native parser


def run_tasks(tasks: Sequence[Task], jobs: int, cache: Cache | None = None) -> list[Outcome]:
    """Outcomes in the order of ``tasks``, the same whatever ``jobs`` is.

    Each file is read once, here: a file without a lifecycle token is done; a check
    whose cache entry matches the file's bytes and settings is done; the rest is
    linted from the bytes read (so a cache entry always describes the bytes it is
    keyed by), the largest files first so that the workers finish together.
    """
    outcomes: list[Outcome | None] = [None] * len(tasks)
    work = list(tasks)
    pending: list[int] = []
    sizes: dict[int, int] = {}
    keys: dict[int, str] = {}
    for i, task in enumerate(tasks):
        try:
            data = read_source_bytes(task.path)
        except OSError:
            pending.append(i)  # reported as TLC002 by the check
            continue
        if not has_lifecycle_token(data):
            outcomes[i] = Outcome(str(task.path))
            continue
        if task.mode == "check":
            if cache is not None:
                key = entry_key(data, task.options, _dependencies(task))
                found = cache.get(str(task.path), task.options, key)
                if found is not None:
                    outcomes[i] = Outcome(str(task.path), found)
                    continue
                keys[i] = key
            work[i] = replace(task, data=data)
        sizes[i] = len(data)
        pending.append(i)
    pending.sort(key=lambda i: -sizes.get(i, 0))
    workers = plan_workers(jobs, [sizes.get(i, 0) for i in pending])
    if workers:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        context = _pool_context()
        forking = context.get_start_method() == "fork"
        if forking:
            _load_analysis()
        try:
            with (
                _tuned_gc(freeze=forking),
                ProcessPoolExecutor(workers, mp_context=context, initializer=tune_gc) as pool,
            ):
                done = pool.map(run_task, [work[i] for i in pending])
                for i, outcome in zip(pending, done, strict=True):
                    outcomes[i] = outcome
        except BrokenProcessPool:
            for i in pending:
                if outcomes[i] is None:
                    outcomes[i] = Outcome(
                        str(tasks[i].path), error="internal error: a worker process died"
                    )
    else:
        with _tuned_gc():
            for i in pending:
                outcomes[i] = run_task(work[i])
    if cache is not None:
        for i, key in keys.items():
            outcome = outcomes[i]
            if outcome is not None and outcome.error is None:
                cache.put(
                    str(tasks[i].path),
                    tasks[i].options,
                    key,
                    outcome.findings,
                    outcome.dependencies,
                )
    return [o for o in outcomes if o is not None]


def _explain(code: str) -> int:
    rule = RULES.get(code.strip().upper())
    if rule is None:
        print(
            f"lifecycle-lint: error: unknown rule code {code!r} (known: {', '.join(RULES)})",
            file=sys.stderr,
        )
        return EXIT_ERROR
    write_stdout(rule.doc_page())
    return EXIT_CLEAN


def _options_factory(
    config_for: Callable[[Path], Config], overrides: Overrides
) -> Callable[[Path], LintOptions]:
    cache: dict[tuple[frozenset[str], Settings], LintOptions] = {}
    # A file's configuration depends on its folder only; its codes and settings on the
    # configuration only, unless per-file ignores apply.
    configs: dict[Path, Config] = {}
    codes: dict[int, frozenset[str]] = {}
    settings: dict[Path, Settings] = {}

    def options_for(path: Path) -> LintOptions:
        config = configs.get(path.parent)
        if config is None:
            config = configs[path.parent] = config_for(path)
        if config.per_file_ignores:
            enabled = file_codes(config, overrides, path)
        else:
            enabled = codes.get(id(config)) or codes.setdefault(
                id(config), file_codes(config, overrides, None)
            )
        # The inferred MLflow version depends on the file's folder (its nearest
        # pyproject.toml or requirements), so settings are kept per folder.
        folder_settings = settings.get(path.parent)
        if folder_settings is None:
            folder_settings = settings[path.parent] = settings_for(config, overrides, path)
        key = (enabled, folder_settings)
        if key not in cache:
            cache[key] = LintOptions(key[1], key[0])
        return cache[key]

    return options_for


def _forced_out_of_stdin(
    path: Path, config_for: Callable[[Path], Config], force_exclude: bool
) -> bool:
    """``--force-exclude`` holds for the name ``--stdin-filename`` gives (an editor
    passes every buffer: the configured exclusions must hold there too)."""
    config = config_for(path)
    return (force_exclude or config.force_exclude) and config.is_excluded(path)


def _show_settings(
    paths: Sequence[str], config_for: Callable[[Path], Config], overrides: Overrides
) -> int:
    from lifecycle_lint.show_settings import describe

    for name in paths:
        path = Path(name)
        if not path.exists():
            raise MissingPathError(name)
        sys.stdout.write(describe(path, config_for(path), overrides))
    return EXIT_CLEAN


def _write(text: str, output_file: str | None, *, to_stderr: bool = False) -> bool:
    """Whether the report was written (or its reader left); if not, says why."""
    try:
        if to_stderr and not output_file:
            if sys.stderr is not None:
                sys.stderr.write(text)
        else:
            write_report(text, output_file)
    except OutputError as error:
        print(f"lifecycle-lint: error: {error}", file=sys.stderr)
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_ERROR
    if args.explain:
        return _explain(args.explain)
    try:
        overrides = Overrides(
            select=tuple(validate_selectors(args.select)) or None,
            extend_select=tuple(validate_selectors(args.extend_select)),
            ignore=tuple(validate_selectors(args.ignore)),
            mlflow_version=args.mlflow_version,
            lifo=args.lifo,
            strict_exceptions=args.strict_exceptions,
            non_raising=parse_non_raising(args.non_raising),
        )
        if args.output_file:
            check_output_file(args.output_file)
        mode = _mode(args)
        use_stdin = _stdin(args, mode)
        if args.config:
            explicit = load_config(args.config)
            config_for: Callable[[Path], Config] = lambda _path: explicit  # noqa: E731
        else:
            config_for = find_config
        if args.show_settings:
            return _show_settings(args.paths, config_for, overrides)
        files = (
            [] if use_stdin else discover(args.paths, config_for, force_exclude=args.force_exclude)
        )
        if not files and not use_stdin:
            print(
                f"lifecycle-lint: no Python files found under {', '.join(args.paths)}",
                file=sys.stderr,
            )
        if args.show_files:
            shown = [args.stdin_filename or "-"] if use_stdin else [str(path) for path in files]
            write_stdout("".join(shown_path(name) + "\n" for name in shown))
            return EXIT_CLEAN
        options_for = _options_factory(config_for, overrides)
        tasks = [Task(path, options_for(path), mode) for path in files]
        stdin = read_stdin(args.stdin_filename) if use_stdin else None
    except (SelectionError, ConfigError, OutputError, StdinUsageError, UsageError) as error:
        print(f"lifecycle-lint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except MissingPathError as error:
        print(f"lifecycle-lint: error: no such file or folder: {error}", file=sys.stderr)
        return EXIT_ERROR

    lines_of: Callable[[str], list[str]] | None = None
    cache = None
    if stdin is not None:
        if args.stdin_filename and _forced_out_of_stdin(stdin.path, config_for, args.force_exclude):
            stdin_outcome, source_out = Outcome(stdin.name), stdin.data  # as ruff: not checked
        else:
            stdin_outcome, source_out = check_stdin(stdin, options_for(stdin.path), mode)
        outcomes = [stdin_outcome]
        lines_of = _lines_of(source_out if mode == "fix" else stdin.data)
        if mode == "fix":  # the source goes back to stdout, the report to stderr
            write_stdout(source_out)
    else:
        if mode == "check" and not args.no_cache:  # --fix, --diff: never a cached fix
            cache = Cache(args.cache_dir or default_cache_dir())
        outcomes = run_tasks(tasks, args.jobs, cache)
        if cache is not None:
            cache.prune()
    findings: list[Finding] = []
    internal_errors = 0
    for outcome in outcomes:
        findings.extend(outcome.findings)
        if outcome.error is not None:
            internal_errors += 1
            print(f"lifecycle-lint: {outcome.path}: {outcome.error}", file=sys.stderr)
    findings.sort(key=Finding.sort_key)

    if mode == "diff":
        diffs = "".join(o.diff for o in outcomes)
        if not _write(diffs, args.output_file):
            return EXIT_ERROR
        count = sum(o.fixed for o in outcomes)
        files_changed = sum(1 for o in outcomes if o.diff)
        if count and not args.quiet:
            print(
                f"lifecycle-lint: {count} fix(es) available in {files_changed} file(s)",
                file=sys.stderr,
            )
        if internal_errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if diffs and not args.exit_zero else EXIT_CLEAN

    stdin_fix = stdin is not None and mode == "fix"
    color = (
        not args.output_file
        and not stdin_fix
        and args.format in ("text", "full")
        and use_color(sys.stdout, args.no_color)
    )
    if args.statistics:
        report = format_statistics(findings, "json" if args.format == "json" else "text")
    else:
        report = render(findings, args.format, color=color, lines_of=lines_of)
    if not _write(report, args.output_file, to_stderr=stdin_fix):
        return EXIT_ERROR
    if mode in ("add-noqa", "fix") and not args.quiet:
        count = sum(o.fixed for o in outcomes)
        files_changed = sum(1 for o in outcomes if o.fixed)
        done, left = (
            ("noqa added for", "finding(s) left") if mode == "add-noqa" else ("fixed", "remaining")
        )
        print(
            f"lifecycle-lint: {done} {count} finding(s) in {files_changed} file(s), "
            f"{len(findings)} {left}",
            file=sys.stderr,
        )
    if internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN


def _mode(args: argparse.Namespace) -> str:
    """check, fix, diff (``--diff`` wins over ``--fix``: it changes nothing) or add-noqa."""
    if args.add_noqa and (args.fix or args.diff):
        other = "--diff" if args.diff else "--fix"
        raise UsageError(f"--add-noqa and {other} cannot be used together")
    return "diff" if args.diff else "fix" if args.fix else "add-noqa" if args.add_noqa else "check"


def _stdin(args: argparse.Namespace, mode: str) -> bool:
    if not stdin_requested(args.paths, args.stdin_filename):
        return False
    if mode == "add-noqa":
        raise StdinUsageError("--add-noqa changes files: it cannot read standard input")
    return True


def _lines_of(source: bytes) -> Callable[[str], list[str]]:
    """The ``full`` format's source lines for standard input: those checked."""
    from lifecycle_lint.engine import decode_source
    from lifecycle_lint.lines import python_lines

    try:
        text = decode_source(source)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        text = source.decode("utf-8", errors="replace")
    lines = python_lines(text)
    return lambda _path: lines
