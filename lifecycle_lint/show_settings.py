"""``lifecycle-lint --show-settings FILE``: the effective settings of a file, and their source.

As ruff's ``--show-settings``: one block per file, each setting with where it
comes from (the command line, a configuration file, inference, the default).
No libcst here.
"""

from __future__ import annotations

from pathlib import Path

from lifecycle_lint.config import Config, Overrides, file_codes, mlflow_major_and_source


def _source(config: Config, configured: bool) -> str:
    return str(config.path) if configured and config.path is not None else "default"


def describe(path: Path, config: Config, overrides: Overrides) -> str:
    from lifecycle_lint.project import project_root

    absolute = path.resolve()
    lines = [f"{path}:"]
    lines.append(
        f"  configuration: {config.path}" if config.path else "  configuration: none (defaults)"
    )
    excluded = config.is_excluded(path)
    lines.append(f"  excluded: {'yes' if excluded else 'no'}")
    major, source = mlflow_major_and_source(config, overrides, path)
    lines.append(f"  mlflow-version: {major}  ({source})")
    codes = sorted(file_codes(config, overrides, path))
    lines.append(f"  rules: {', '.join(codes) if codes else '(none)'}")
    for key, value, given in (
        ("select", config.select, config.select is not None),
        ("extend-select", config.extend_select, bool(config.extend_select)),
        ("ignore", config.ignore, bool(config.ignore)),
    ):
        if given:
            lines.append(f"    {key}: {', '.join(value or ())}  ({_source(config, True)})")
    ignored = sorted(config.ignored_for(path))
    if ignored:
        lines.append(f"    per-file-ignores: {', '.join(ignored)}  ({config.path})")
    command = [
        f"{key}: {', '.join(value)}"
        for key, value in (
            ("select", overrides.select or ()),
            ("extend-select", overrides.extend_select),
            ("ignore", overrides.ignore),
        )
        if value
    ]
    if command:
        lines.append(f"    command line: {'; '.join(command)}")
    lifo_source = "command line" if overrides.lifo else _source(config, config.lifo)
    lines.append(f"  lifo: {'true' if overrides.lifo or config.lifo else 'false'}  ({lifo_source})")
    for key, value in (
        ("client-factories", config.client_factories),
        ("span-starters", config.span_starters),
        ("span-enders", config.span_enders),
    ):
        shown = ", ".join(value) if value else "(none)"
        lines.append(f"  {key}: {shown}  ({_source(config, bool(value))})")
    root = project_root(absolute.parent)
    lines.append(f"  project root (for imports between files): {root if root else '(none)'}")
    return "\n".join(lines) + "\n"
