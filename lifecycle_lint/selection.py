"""Which rules run: ``--select``/``--ignore`` by code or code prefix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lifecycle_lint.rules import RULES


class SelectionError(ValueError):
    """A selector that matches no rule code."""


def _matches(selector: str, code: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def validate_selectors(selectors: Iterable[str]) -> list[str]:
    result = []
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        if not any(_matches(selector, code) for code in RULES):
            known = ", ".join(RULES)
            raise SelectionError(f"unknown rule code or prefix {raw!r} (known: {known})")
        result.append(selector)
    return result


@dataclass(frozen=True)
class RuleSelection:
    """Rules on by default, replaced by ``select``, extended, then reduced by ``ignore``.

    Rules that are off by default (TLC106, TLC501) run only when a selector
    names them (their code or a prefix of it).
    """

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def enabled_codes(self) -> frozenset[str]:
        if self.select:
            base = {c for c in RULES if any(_matches(s, c) for s in self.select)}
        else:
            base = {c for c, rule in RULES.items() if rule.default_enabled}
        base |= {c for c in RULES if any(_matches(s, c) for s in self.extend_select)}
        return frozenset(c for c in base if not any(_matches(s, c) for s in self.ignore))


@dataclass(frozen=True)
class Layer:
    """One source of selectors (the configuration file, the command line).

    Layers apply in order: a layer's ``select`` (when given) replaces what the
    earlier layers chose, its ``extend_select`` adds, its ``ignore`` removes.
    """

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def layered_codes(layers: Iterable[Layer], base: frozenset[str] | None = None) -> frozenset[str]:
    codes = set(RuleSelection().enabled_codes() if base is None else base)
    for layer in layers:
        if layer.select:
            codes = {c for c in RULES if any(_matches(s, c) for s in layer.select)}
        codes |= {c for c in RULES if any(_matches(s, c) for s in layer.extend_select)}
        codes = {c for c in codes if not any(_matches(s, c) for s in layer.ignore)}
    return frozenset(codes)
