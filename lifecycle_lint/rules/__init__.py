"""The rule registry: every rule, by code."""

from __future__ import annotations

from lifecycle_lint.rules.base import Replacement, Report, Rule
from lifecycle_lint.rules.files import SyntaxErrorRule, UnreadableFile
from lifecycle_lint.rules.ids import DeprecatedRequestId, HardcodedId, MissingParent
from lifecycle_lint.rules.lifecycle import (
    DoubleEnd,
    NonLifoEnd,
    NotEndedOnException,
    ParentEndedBeforeChild,
    SpanNotEnded,
    TraceNotEnded,
)
from lifecycle_lint.rules.status import ErrorRecordedAsOk, InvalidStatus

RULE_CLASSES: tuple[type[Rule], ...] = (
    SyntaxErrorRule,
    UnreadableFile,
    SpanNotEnded,
    TraceNotEnded,
    NotEndedOnException,
    DoubleEnd,
    ParentEndedBeforeChild,
    NonLifoEnd,
    HardcodedId,
    MissingParent,
    DeprecatedRequestId,
    InvalidStatus,
    ErrorRecordedAsOk,
)

RULES: dict[str, type[Rule]] = {cls.code: cls for cls in sorted(RULE_CLASSES, key=lambda c: c.code)}

__all__ = ["RULES", "RULE_CLASSES", "Replacement", "Report", "Rule"]
