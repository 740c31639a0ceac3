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
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from lifecycle_lint.lines import line_count, python_lines


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


def _generate(
    module: cst.Module, node: cst.CSTNode, indents: list[str] | None = None
) -> dict[cst.CSTNode, CodeRange]:
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    provider = PositionProvider()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,
    )
    # A statement inside blocks is generated with its blocks' indentation, so that its
    # columns (continuation lines included) are the file's.
    state.indent_tokens.extend(indents or ())
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
        line = self._inner_line(node)
        if line is not None and not self._whole:
            direct = self._statement_call(node, line)
            if direct is not None:
                return direct
        if line is not None and not self._whole and id(line) not in self._done:
            self._add_inner(line)
            found = self._known.get(node)
            if found is not None:
                return found
        statement = self._top_level_statement(node)
        if statement is not None and not self._whole and id(statement) not in self._done:
            self._add_statement(statement)
            found = self._known.get(node)
            if found is not None:
                return found
        self._whole = True
        self._known = whole_module_positions(self.module)
        return self._known[node]

    def line(self, node: cst.CSTNode) -> int:
        """The first line of ``node``. Inside a statement line that the standard parser
        places on one physical line, that is the statement's line: no code is generated
        (a message naming the line of a start costs nothing more than the start itself)."""
        found = self._known.get(node)
        if found is not None:
            return found.start.line
        line = self._inner_line(node) if not self._whole else None
        if line is not None:
            placed = self._placement(line)
            if placed is not None and placed[2]:
                return placed[0]
        return self[node].start.line

    def _statement_call(self, node: cst.CSTNode, line: cst.SimpleStatementLine) -> CodeRange | None:
        """The position of a call that is a statement's whole value (``client.end_span(...)``,
        ``span = client.start_span(...)``, ``return ...``), the node most findings name,
        read from the standard parser's tree: no code is generated. Its columns count
        UTF-8 bytes; libcst's count characters."""
        if type(node) is not cst.Call or len(line.body) != 1:
            return None
        statement = line.body[0]
        pair = _VALUE_STATEMENTS.get(type(statement))
        if pair is None or getattr(statement, "value", None) is not node:
            return None
        placed = self._placement(line)
        if placed is None or type(placed[3]) is not pair:
            return None
        call = getattr(placed[3], "value", None)
        if type(call) is not ast.Call or call.end_lineno is None or call.end_col_offset is None:
            return None
        return CodeRange(
            CodePosition(call.lineno, self._characters(call.lineno, call.col_offset)),
            CodePosition(call.end_lineno, self._characters(call.end_lineno, call.end_col_offset)),
        )

    def _characters(self, line_number: int, offset: int) -> int:
        """A UTF-8 byte offset on a line, as a count of characters."""
        lines: list[str] = self.__dict__.get("_lines") or self.__dict__.setdefault(
            "_lines", python_lines(self.text or "")
        )
        text = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        if text.isascii():
            return offset
        return len(text.encode("utf-8")[:offset].decode("utf-8", errors="replace"))

    def _top_level_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current = node
        parent = self.parents.get(current)
        while parent is not None and parent is not self.module:
            current = parent
            parent = self.parents.get(current)
        return current if parent is self.module else None

    def _inner_line(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The statement line holding ``node`` when it is inside a block (a function's
        body, say): generating it alone costs one line, not the whole function."""
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            current = self.parents.get(current)
        if current is None or self.parents.get(current) is self.module:
            return None
        return current

    def _add_inner(self, line: cst.SimpleStatementLine) -> None:
        """Positions of the nodes of one statement line inside blocks: its first line is
        found by walking the standard parser's tree along the same path."""
        self._done.add(id(line))
        placed = self._placement(line)
        if placed is None:
            return
        first_line, indents, _, _ = placed
        try:
            local = _generate(self.module, line, indents)
        except (ImportError, AttributeError, TypeError):
            return
        self._place(local, line, first_line)

    def _placement(
        self, line: cst.SimpleStatementLine
    ) -> tuple[int, list[str], bool, ast.stmt] | None:
        """``_inner_first_line``, computed once per statement line."""
        cache: dict[int, tuple[int, list[str], bool, ast.stmt] | None] = self.__dict__.setdefault(
            "_placements", {}
        )
        key = id(line)
        if key not in cache:
            cache[key] = self._inner_first_line(line)
        return cache[key]

    def _inner_first_line(
        self, line: cst.SimpleStatementLine
    ) -> tuple[int, list[str], bool, ast.stmt] | None:
        """The line of ``line``'s first statement (from ``ast``), the indentation of its
        blocks, and whether all its statements are on that one physical line; ``None``
        where the two trees do not line up (then the caller falls back to generating the
        whole top-level statement)."""
        path: list[cst.CSTNode] = [line]
        current = self.parents.get(line)
        while current is not None and current is not self.module:
            path.append(current)
            current = self.parents.get(current)
        if current is None or self.text is None:
            return None
        path.reverse()  # top-level statement first
        tree = self._ast_tree()
        if tree is None:
            return None
        indents: list[str] = []
        statements: list[ast.stmt] = tree.body
        siblings: Sequence[cst.CSTNode] = self.module.body
        found: ast.stmt | None = None
        last: ast.stmt | None = None
        for position, node in enumerate(path):
            if not isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                continue
            index = self._ast_indices(siblings).get(id(node))
            if index is None or index >= len(statements):
                return None
            found = statements[index]
            if node is line:
                ends = index + len(line.body) - 1
                last = statements[ends] if ends < len(statements) else None
                break
            block = _block_of(path, position)
            if block is None:
                return None
            lists = _ast_block(found, node, block)
            if lists is None:
                return None
            statements, siblings = lists
            indents.append(self.module.default_indent if block.indent is None else block.indent)
        if found is None:
            return None
        one_line = last is not None and last.end_lineno == found.lineno
        return found.lineno, indents, one_line, found

    def _ast_indices(self, siblings: Sequence[cst.CSTNode]) -> dict[int, int]:
        """Index in the ``ast`` statement list of each libcst statement of one block
        (a line ``a; b`` is two ``ast`` statements), computed once per block."""
        cache: dict[int, tuple[Sequence[cst.CSTNode], dict[int, int]]] = self.__dict__.setdefault(
            "_indices", {}
        )
        known = cache.get(id(siblings))
        if known is None:
            indices: dict[int, int] = {}
            index = 0
            for sibling in siblings:
                indices[id(sibling)] = index
                index += len(sibling.body) if isinstance(sibling, cst.SimpleStatementLine) else 1
            known = cache[id(siblings)] = (siblings, indices)
        return known[1]

    def _ast_tree(self) -> ast.Module | None:
        if not hasattr(self, "_tree"):
            try:
                self._tree: ast.Module | None = ast.parse(self.text or "")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._tree = None
        return self._tree

    def _add_statement(self, statement: cst.CSTNode) -> None:
        self._done.add(id(statement))
        first_line = self._first_lines().get(id(statement))
        if first_line is None:
            return
        try:
            local = _generate(self.module, statement)
        except (ImportError, AttributeError, TypeError):
            return
        self._place(local, statement, first_line)

    def _place(
        self, local: dict[cst.CSTNode, CodeRange], root: cst.CSTNode, first_line: int
    ) -> None:
        """Positions generated for ``root`` alone, moved to where ``root`` starts."""
        shift = first_line - local[root].start.line
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


def _block_of(path: list[cst.CSTNode], position: int) -> cst.IndentedBlock | None:
    """The indented block below ``path[position]`` that the path goes through."""
    for node in path[position + 1 :]:
        if isinstance(node, cst.IndentedBlock):
            return node
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return None
    return None


def _ast_block(
    found: ast.stmt, node: cst.CSTNode, block: cst.IndentedBlock
) -> tuple[list[ast.stmt], Sequence[cst.CSTNode]] | None:
    """The ``ast`` statements that correspond to ``block`` (a block of ``node``)."""
    pairs: list[tuple[object, object]] = []
    if isinstance(node, cst.If) and isinstance(found, ast.If):
        pairs.append((node.body, found.body))
        orelse = node.orelse
        if isinstance(orelse, cst.Else):
            pairs.append((orelse.body, found.orelse))
    elif isinstance(node, (cst.For, cst.While)) and isinstance(
        found, (ast.For, ast.AsyncFor, ast.While)
    ):
        pairs.append((node.body, found.body))
        if node.orelse is not None:
            pairs.append((node.orelse.body, found.orelse))
    elif isinstance(node, (cst.Try, cst.TryStar)) and isinstance(
        found, (ast.Try, getattr(ast, "TryStar", ast.Try))
    ):
        pairs.append((node.body, found.body))
        for handler, ast_handler in zip(node.handlers, found.handlers, strict=False):
            pairs.append((handler.body, ast_handler.body))
        if node.orelse is not None:
            pairs.append((node.orelse.body, found.orelse))
        if node.finalbody is not None:
            pairs.append((node.finalbody.body, found.finalbody))
    elif isinstance(node, (cst.With, cst.FunctionDef, cst.ClassDef)) and isinstance(
        found,
        (ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
    ):
        pairs.append((node.body, found.body))
    elif isinstance(node, cst.Match) and isinstance(found, ast.Match):
        for case, ast_case in zip(node.cases, found.cases, strict=False):
            pairs.append((case.body, ast_case.body))
    for cst_block, statements in pairs:
        if cst_block is block:
            return statements, block.body  # type: ignore[return-value]
    return None


#: Statements whose ``value`` a finding may name, and the standard parser's node for each.
_VALUE_STATEMENTS: dict[type, type] = {
    cst.Expr: ast.Expr,
    cst.Assign: ast.Assign,
    cst.AnnAssign: ast.AnnAssign,
    cst.AugAssign: ast.AugAssign,
    cst.Return: ast.Return,
}
