"""Line and column of the nodes a finding names, without generating the whole file.

libcst computes positions by generating the code of the whole module with position
tracking, which costs about as much as parsing it again. A finding only needs the
positions inside the few top-level statements it names. The standard library's
parser (about a tenth of libcst's cost) gives the first line of every top-level
statement; generating just the statements that hold findings gives the rest,
shifted by that line. Any disagreement between the two parsers falls back to the
whole-module pass, so the result is always libcst's own.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from lifecycle_lint.lines import line_count


def whole_module_positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    """Positions of every node: one code generation pass with position tracking.

    ``MetadataWrapper.resolve(PositionProvider)`` does the same generation plus a
    full visit of the tree for its dependency machinery; the provider's own
    generation step is called directly, with the public route as the fallback.
    """
    try:
        return _generate(module, module)
    except (ImportError, AttributeError, TypeError):
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        return dict(wrapper.resolve(PositionProvider))


def _generate(module: cst.Module, node: cst.CSTNode) -> dict[cst.CSTNode, CodeRange]:
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    provider = PositionProvider()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,
    )
    node._codegen(state)
    computed = provider._computed
    if not computed:
        raise AttributeError("no positions generated")
    return computed  # type: ignore[return-value]


class Positions:
    """Positions computed per top-level statement, on demand."""

    def __init__(
        self, module: cst.Module, text: str | None, parents: dict[cst.CSTNode, cst.CSTNode]
    ) -> None:
        self.module = module
        self.text = text
        self.parents = parents
        self._known: dict[cst.CSTNode, CodeRange] = {}
        self._done: set[int] = set()
        self._statement_lines: dict[int, int] | None = None
        self._whole = False

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._known.get(node)
        if found is not None:
            return found
        if node is self.module:
            lines = line_count(self.text or self.module.code)
            return CodeRange(CodePosition(1, 0), CodePosition(max(lines, 1), 0))
        statement = self._top_level_statement(node)
        if statement is not None and not self._whole and id(statement) not in self._done:
            self._add_statement(statement)
            found = self._known.get(node)
            if found is not None:
                return found
        self._whole = True
        self._known = whole_module_positions(self.module)
        return self._known[node]

    def _top_level_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current = node
        parent = self.parents.get(current)
        while parent is not None and parent is not self.module:
            current = parent
            parent = self.parents.get(current)
        return current if parent is self.module else None

    def _add_statement(self, statement: cst.CSTNode) -> None:
        self._done.add(id(statement))
        first_line = self._first_lines().get(id(statement))
        if first_line is None:
            return
        try:
            local = _generate(self.module, statement)
        except (ImportError, AttributeError, TypeError):
            return
        shift = first_line - local[statement].start.line
        for node, where in local.items():
            self._known[node] = CodeRange(
                CodePosition(where.start.line + shift, where.start.column),
                CodePosition(where.end.line + shift, where.end.column),
            )

    def _first_lines(self) -> dict[int, int]:
        """Line of each top-level libcst statement, from the standard parser."""
        if self._statement_lines is None:
            self._statement_lines = {}
            if self.text is None:
                return self._statement_lines
            try:
                tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return self._statement_lines
            statements = tree.body
            index = 0
            for statement in self.module.body:
                if index >= len(statements):
                    self._statement_lines = {}
                    break
                self._statement_lines[id(statement)] = statements[index].lineno
                index += (
                    len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
                )
            if index != len(statements):
                self._statement_lines = {}  # the parsers disagree: use the whole-module pass
        return self._statement_lines
