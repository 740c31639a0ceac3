"""Positions found per statement are exactly libcst's whole-module positions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange

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


def _parsed(path: Path) -> tuple[str, cst.Module, dict[cst.CSTNode, CodeRange], Positions]:
    """The file's text and tree, libcst's whole-module positions, and a fresh ``Positions``
    (the test is skipped for a file that does not parse)."""
    try:
        text = decode_source(path.read_bytes())
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, UnicodeDecodeError, SyntaxError):
        pytest.skip("not parseable: no positions to compare")
    return text, module, whole_module_positions(module), _positions(module, text)


def _positions(module: cst.Module, text: str) -> Positions:
    return Positions(module, text, ModuleIndex(module).parents)


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_statement_positions_equal_whole_module_positions(path: Path) -> None:
    _, _, expected, positions = _parsed(path)
    compared = 0
    for node, where in expected.items():
        if node not in positions.parents:
            continue  # whitespace and tokens: never the subject of a finding
        assert positions[node] == where, (path, type(node).__name__)
        compared += 1
    assert compared > 0
    assert not positions._whole, "fell back to the whole-module pass"


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_first_lines_without_code_generation_equal_whole_module_lines(path: Path) -> None:
    """``Positions.line`` skips generating code for a node on a one-line statement."""
    _, _, expected, positions = _parsed(path)
    lines = {node: positions.line(node) for node in expected if node in positions.parents}
    assert lines == {node: expected[node].start.line for node in lines}
    assert lines


def _calls_first_positions(text: str) -> tuple[int, int]:
    """Every call's position asked first (before any other node of its line), compared
    with libcst's; returns how many calls were compared and how many were read from the
    standard parser's tree without generating code."""
    module = cst.parse_module(text)
    expected = whole_module_positions(module)
    positions = _positions(module, text)
    compared = direct = 0
    for node, where in expected.items():
        if type(node) is not cst.Call or node not in positions.parents:
            continue
        line = positions._inner_line(node)
        if line is not None and positions._statement_call(node, line) is not None:
            direct += 1
        assert positions[node] == where, positions.module.code_for_node(node)
        compared += 1
    return compared, direct


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_a_statement_call_read_from_the_standard_parser_is_where_libcst_puts_it(
    path: Path,
) -> None:
    text, _, _, _ = _parsed(path)
    compared, _ = _calls_first_positions(text)
    assert compared > 0


def test_statement_call_columns_count_characters_not_bytes() -> None:
    text = (
        "def f(client, t, p):\n"
        "    span = client.start_span('héllo ✓', t, p)  # é\n"
        "    \f\n"
        "    x: object = (client.start_trace('x'))\n"
        "    return client.start_trace(name='名前',\n"
        "                              tags={'✓': 1})\n"
        "def g(client, t):\n"
        "\tif t:\n"
        "\t\tclient.end_span('ü', t.span_id)\n"
    )
    compared, direct = _calls_first_positions(text)
    assert (compared, direct) == (4, 4)
