"""Positions found per statement are exactly libcst's whole-module positions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst as cst
import pytest

from lifecycle_lint.engine import decode_source, has_lifecycle_token
from lifecycle_lint.positions import Positions, whole_module_positions
from lifecycle_lint.scopes import ModuleIndex
from tests.fixture_markers import all_fixtures


def corpus() -> list[Path]:
    files = [p for p in all_fixtures() if has_lifecycle_token(p.read_bytes())]
    spec = importlib.util.find_spec("mlflow")
    if spec is not None and spec.origin is not None:
        root = Path(spec.origin).parent
        files += sorted(p for p in root.rglob("*.py") if has_lifecycle_token(p.read_bytes()))[:20]
    return files


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_statement_positions_equal_whole_module_positions(path: Path) -> None:
    try:
        text = decode_source(path.read_bytes())
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, UnicodeDecodeError, SyntaxError):
        pytest.skip("not parseable: no positions to compare")
    expected = whole_module_positions(module)
    parents = ModuleIndex(module).parents
    positions = Positions(module, text, parents)
    compared = 0
    for node, where in expected.items():
        if node not in parents:
            continue  # whitespace and tokens: never the subject of a finding
        assert positions[node] == where, (path, type(node).__name__)
        compared += 1
    assert compared > 0
    assert not positions._whole, "fell back to the whole-module pass"
