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
from lifecycle_lint.rules.mixing import (
    ClientApiWithAutolog,
    ClientEndsFluentSpan,
    ClientTraceUnderFluentSpan,
    CrossTraceParent,
    FluentUnderClientSpan,
)
from lifecycle_lint.rules.notices import NotAnalysed
from lifecycle_lint.rules.status import ErrorRecordedAsOk, InvalidStatus
from lifecycle_lint.rules.threads import ClientSharedAcrossThreads

RULE_CLASSES: tuple[type[Rule], ...] = (
    SyntaxErrorRule,
    UnreadableFile,
    NotAnalysed,
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
    CrossTraceParent,
    FluentUnderClientSpan,
    ClientTraceUnderFluentSpan,
    ClientEndsFluentSpan,
    ClientApiWithAutolog,
    ClientSharedAcrossThreads,
)

RULES: dict[str, type[Rule]] = {cls.code: cls for cls in sorted(RULE_CLASSES, key=lambda c: c.code)}

__all__ = ["RULES", "RULE_CLASSES", "Replacement", "Report", "Rule"]
