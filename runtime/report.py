"""Read what a record-mode guard wrote: ``python -m lifecycle_runtime.report FILE.jsonl``.

``guard(on_violation="record", record_path=FILE)`` appends one JSON line per violation
(``{"kind": "violation", "code", "message", "file", "line", "function", "call", "thread",
"time_ns"}``) and, at :func:`~lifecycle_runtime.unguard` or at interpreter exit, leaks as
violations and then one ``{"kind": "summary", ...}`` line. Several runs may append to one
file. This command prints the violations grouped by code and location, and the summaries.

Exit status: 0 no violation, 1 violations found, 2 unreadable input.

``lifecycle_runtime.report()`` (the function returning the active guard's violations) stays
callable after this module is imported: the module object forwards calls to it.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from .backends import read_jsonl

__all__ = ["main", "read_records", "summarize"]


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """The records of a guard's JSONL file (a torn last line is skipped)."""
    return (rec for rec in read_jsonl(path) if isinstance(rec, dict))


def summarize(records: Iterable[dict[str, Any]]) -> tuple[str, int]:
    """The printed summary and the number of violations."""
    recs = list(records)
    return _render(
        [r for r in recs if r.get("kind") == "violation"],
        [r for r in recs if r.get("kind") == "summary"],
    )


def _render(violations: list[dict[str, Any]], summaries: list[dict[str, Any]]) -> tuple[str, int]:
    lines: list[str] = []
    by_code = Counter(str(v.get("code")) for v in violations)
    runs = len(summaries)
    checked = sum(int(s.get("checked", 0)) for s in summaries)
    unguarded = sum(int(s.get("unguarded", 0)) for s in summaries)
    names: Counter[str] = Counter()
    for s in summaries:
        names.update({str(k): int(v) for k, v in (s.get("unguarded_names") or {}).items()})
    head = f"{len(violations)} violation(s)"
    if by_code:
        head += " (" + ", ".join(f"{c}: {n}" for c, n in sorted(by_code.items())) + ")"
    if runs:
        head += f" in {runs} guarded run(s), {checked} call(s) checked"
    lines.append(head)
    by_site: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for v in violations:
        key = (str(v.get("file")), int(v.get("line") or 0), str(v.get("code")))
        by_site.setdefault(key, []).append(v)
    for (file, line, code), vs in sorted(by_site.items()):
        times = f" (x{len(vs)})" if len(vs) > 1 else ""
        lines.append(f"{file}:{line}: {code} {vs[0].get('message')}{times}")
    if unguarded:
        listed = ", ".join(f"{n!r}" for n, _ in names.most_common(10))
        lines.append(
            f"{unguarded} call(s) on unguarded spans (started before the guard or by MLflow"
            f" itself; not checked for their own lifecycle): {listed}"
        )
    return "\n".join(lines), len(violations)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m lifecycle_runtime.report",
        description="Summarize the violations a record-mode lifecycle_runtime.guard() wrote.",
    )
    ap.add_argument("files", nargs="+", metavar="FILE.jsonl")
    args = ap.parse_args(argv)
    records: list[dict[str, Any]] = []
    for path in args.files:
        try:
            records.extend(read_records(path))
        except (OSError, UnicodeDecodeError) as e:
            print(f"lifecycle_runtime.report: cannot read {path}: {e}", file=sys.stderr)
            return 2
    text, n = summarize(records)
    print(text)
    return 1 if n else 0


class _CallableModule(types.ModuleType):
    """Importing ``lifecycle_runtime.report`` replaces the package's ``report`` function
    with this module: calling the module still calls the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .guard import report

        return report(*args, **kwargs)


if __name__ == "__main__":
    raise SystemExit(main())
else:
    sys.modules[__name__].__class__ = _CallableModule
