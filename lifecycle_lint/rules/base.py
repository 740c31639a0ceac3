"""What a rule is: its metadata (the doc page is rendered from it) and its check."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext


@dataclass(frozen=True)
class Replacement:
    """A safe autofix: put ``new`` where ``old`` stands."""

    old: cst.CSTNode
    new: cst.CSTNode
    description: str


@dataclass(frozen=True)
class Report:
    """A rule's raw finding, before positions and suppression are applied."""

    node: cst.CSTNode
    message: str
    fix: Replacement | None = None


class Rule:
    """One rule. Subclasses fill in the metadata and ``check``.

    ``bad`` and ``good`` are both the doc page's examples and test cases: the
    rule must report on ``bad`` and stay silent on ``good``.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line: what it flags
    default_enabled: ClassVar[bool] = True
    what: ClassVar[str]
    why: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]
    fix_safety: ClassVar[str] = "There is no autofix for this rule."
    #: Extra test cases beyond ``bad``/``good`` (same contract).
    more_bad: ClassVar[tuple[str, ...]] = ()
    more_good: ClassVar[tuple[str, ...]] = ()
    #: The runtime client's error for the same defect, if any.
    runtime_error: ClassVar[str | None] = None

    def check(self, ctx: FileContext) -> Iterator[Report]:
        raise NotImplementedError

    @classmethod
    def doc_page(cls) -> str:
        """The rule's documentation page (Markdown), in the style of ruff's."""
        default = "on by default" if cls.default_enabled else "off unless selected"
        parts = [
            f"# {cls.code} {cls.name}",
            "",
            f"*{default}*. {cls.summary}",
            "",
            "## What it does",
            "",
            _dedent(cls.what),
            "",
            "## Why is this bad?",
            "",
            _dedent(cls.why),
            "",
            "## Example",
            "",
            "```python",
            _dedent(cls.bad),
            "```",
            "",
            "## Use instead",
            "",
            "```python",
            _dedent(cls.good),
            "```",
            "",
            "## Fix safety",
            "",
            _dedent(cls.fix_safety),
        ]
        if cls.runtime_error:
            parts += ["", "## At run time", "", _dedent(cls.runtime_error)]
        parts += [
            "",
            "## Suppression",
            "",
            f"Add `# noqa: {cls.code}` to the reported line.",
            "",
        ]
        return "\n".join(parts)


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")
