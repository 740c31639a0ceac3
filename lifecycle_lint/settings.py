"""The analysis settings that change what rules report (no libcst here)."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle_runtime import mlflow_facts as facts


@dataclass(frozen=True)
class Settings:
    mlflow_major: facts.MlflowMajor = facts.DEFAULT_MLFLOW_MAJOR
    #: Calls the user declares not raising (qualified names, globs; ``non-raising``).
    non_raising: tuple[str, ...] = ()
    #: Only lifecycle calls (and ``non_raising``) do not raise (``strict-exceptions``).
    strict_exceptions: bool = False
    #: Declared semantics (``[tool.lifecycle-lint]``): qualified names, ``*`` globs.
    client_factories: tuple[str, ...] = ()
    span_starters: tuple[str, ...] = ()
    span_enders: tuple[str, ...] = ()

    def knowledge_key(self) -> tuple[object, ...]:
        """What function and module summaries depend on (for their caches)."""
        return (
            self.client_factories,
            self.span_starters,
            self.span_enders,
            self.non_raising,
            self.strict_exceptions,
        )
