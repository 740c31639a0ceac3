"""Each rule's own examples (its doc page's) are test cases: bad reports, good does not."""

from __future__ import annotations

import textwrap

import pytest

from lifecycle_lint.docs import write_all
from lifecycle_lint.engine import LintOptions, lint_bytes
from lifecycle_lint.rules import RULES
from lifecycle_lint.settings import Settings

# The examples use `client`, `root`, `span`... as a reader would; give them meaning.
PRELUDE = "import mlflow\nfrom mlflow import MlflowClient\nclient = MlflowClient()\n"


def codes_in(code: str, example: str) -> list[str]:
    example = textwrap.dedent(example)
    if code == "TLC002":  # the example is about the file's bytes
        source = example.encode("utf-8")
    elif code == "TLC001":
        source = example.encode()
    else:
        source = (PRELUDE + example).encode()
    options = LintOptions(Settings(), frozenset({code}))
    return [f.code for f in lint_bytes("example.py", source, options).findings]


CASES = [
    (code, kind, example)
    for code, rule in RULES.items()
    for kind, examples in (
        ("bad", (rule.bad, *rule.more_bad)),
        ("good", (rule.good, *rule.more_good)),
    )
    for example in examples
]


@pytest.mark.parametrize(("code", "kind", "example"), CASES, ids=[f"{c}-{k}" for c, k, _ in CASES])
def test_rule_example(code: str, kind: str, example: str) -> None:
    found = codes_in(code, example)
    if kind == "bad":
        assert code in found
    else:
        assert found == []


def test_every_rule_has_complete_metadata() -> None:
    for code, rule in RULES.items():
        assert rule.code == code and code.startswith("TLC") and len(code) == 6
        assert rule.name and rule.name == rule.name.lower() and " " not in rule.name
        for attribute in ("summary", "what", "why", "bad", "good", "fix_safety"):
            assert getattr(rule, attribute).strip(), f"{code} has no {attribute}"


def test_doc_pages_and_readme_table_are_up_to_date(tmp_path) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for code, rule in RULES.items():
        page = root / "docs" / "rules" / f"{code}.md"
        assert page.exists(), f"run `python -m lifecycle_lint.docs` to write {page}"
        assert page.read_text(encoding="utf-8") == rule.doc_page(), f"{page} is out of date"
    readme = (root / "README.md").read_text(encoding="utf-8")
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    changed = write_all(tmp_path)
    assert tmp_path / "README.md" not in changed, "README rule table is out of date"
