"""Rule documentation, rendered from the rule classes (the single source).

``python -m lifecycle_lint.docs`` rewrites ``docs/rules/*.md`` and the rule
table in ``README.md``; a test fails when either is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lifecycle_lint.rules import RULES

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def rules_table() -> str:
    rows = ["| code | name | default | what it flags |", "|---|---|---|---|"]
    for code, rule in RULES.items():
        default = "on" if rule.default_enabled else "off"
        rows.append(
            f"| [{code}](docs/rules/{code}.md) | {rule.name} | {default} | {rule.summary} |"
        )
    return "\n".join(rows)


def render_readme(readme: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    return pattern.sub(f"{TABLE_START}\n{rules_table()}\n{TABLE_END}", readme)


def write_all(root: Path) -> list[Path]:
    """Regenerate the doc pages and README table under ``root``; return changed files."""
    changed = []
    folder = root / "docs" / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    for code, rule in RULES.items():
        page = folder / f"{code}.md"
        text = rule.doc_page()
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")
            changed.append(page)
    readme = root / "README.md"
    if readme.exists():
        old = readme.read_text(encoding="utf-8")
        new = render_readme(old)
        if new != old:
            readme.write_text(new, encoding="utf-8")
            changed.append(readme)
    return changed


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path in write_all(root):
        print(f"wrote {path}")
