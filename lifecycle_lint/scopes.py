"""Which names mean what: a light, flow-insensitive binding index.

libcst's ScopeProvider and QualifiedNameProvider cost about twelve times a bare
parse; the rules need only a few answers (is this an ``MlflowClient``? a span? a
literal? which mlflow name is this?), so one walk records every binding of
every name per scope and the questions are answered on demand.

"No finding without certainty": a name counts as a client, a span or a
literal only when *every* binding of it in its scope says so (``None`` aside).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import libcst as cst

from lifecycle_lint.walk import children
from lifecycle_runtime import mlflow_facts as facts


class BindingKind(enum.Enum):
    VALUE = "value"  # name = <value>   (also walrus, annotated assignment)
    PARAM = "param"  # a function parameter (annotation may say what it is)
    IMPORT = "import"  # import / from-import (qualified name known)
    WITH = "with"  # with <value> as name
    DEFINITION = "definition"  # def / class
    OTHER = "other"  # loop targets, except-as, del, augmented assignment...


@dataclass(frozen=True, eq=False)
class Binding:
    kind: BindingKind
    node: cst.CSTNode
    value: cst.BaseExpression | None = None
    annotation: cst.BaseExpression | None = None
    qualified: str | None = None


ScopeKind = str  # "module" | "function" | "class" | "lambda"


class KnowledgeHook(Protocol):
    """Knowledge beyond the bindings (lifecycle_lint.knowledge): summaries, the project
    index, usage evidence, declared semantics. A true answer is the reason, as text."""

    def client_reason(self, expr: cst.BaseExpression, scope: Scope) -> str | None: ...


@dataclass(eq=False)
class Scope:
    node: cst.CSTNode
    kind: ScopeKind
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)
    children: list[Scope] = field(default_factory=list)
    #: For a method: the name of its first parameter (``self``) and its class.
    self_name: str | None = None
    owner_class: cst.ClassDef | None = None

    def add(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    @property
    def is_function(self) -> bool:
        return self.kind in ("function", "lambda")


@dataclass
class ClassInfo:
    node: cst.ClassDef
    scope: Scope
    #: ``self.attr = value`` anywhere in the class's methods.
    attr_assignments: dict[str, list[Binding]] = field(default_factory=dict)
    #: ``self.attr[key] = value``: values stored in a container attribute.
    item_assignments: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


class ModuleIndex:
    """Scopes, bindings and parent links of one module, built in one walk."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.scopes: dict[cst.CSTNode, Scope] = {}
        self.classes: dict[cst.ClassDef, ClassInfo] = {}
        self.calls: list[cst.Call] = []
        #: The scope each call runs in (known during the walk; saves a climb later).
        self.call_scopes: dict[cst.Call, Scope] = {}
        #: Attribute reads of the span ID attributes (``x.trace_id``), by attribute name.
        self.attributes: dict[str, list[cst.Attribute]] = {}
        self.module_scope = Scope(module, "module", None)
        #: What other functions, modules and usage say a name is (set by FileContext).
        self.knowledge: KnowledgeHook | None = None
        self.scopes[module] = self.module_scope
        self._build(module, self.module_scope)

    # --- building ---------------------------------------------------------

    def _build(self, root: cst.CSTNode, root_scope: Scope) -> None:
        # Iterative walk: deep nesting must not exhaust the interpreter stack.
        # Most nodes bind nothing: one set lookup by type skips them.
        stack: list[tuple[cst.CSTNode, Scope]] = [(root, root_scope)]
        parents = self.parents
        recorded = _RECORDED_TYPES
        while stack:
            node, scope = stack.pop()
            if type(node) in recorded:
                inner = self._record(node, scope)
                if inner is not None:
                    for kid in children(node):
                        parents[kid] = node
                        stack.append((kid, self._scope_for_child(node, kid, scope, inner)))
                    continue
            for kid in children(node):
                parents[kid] = node
                stack.append((kid, scope))

    def _scope_for_child(
        self, node: cst.CSTNode, kid: cst.CSTNode, scope: Scope, inner: Scope | None
    ) -> Scope:
        if inner is None:
            return scope
        # Decorators, defaults, annotations and base classes run in the outer scope.
        if isinstance(node, cst.FunctionDef):
            return inner if kid is node.body or kid is node.params else scope
        if isinstance(node, cst.ClassDef):
            return inner if kid is node.body else scope
        if isinstance(node, cst.Lambda):
            return inner
        return scope

    def _record(self, node: cst.CSTNode, scope: Scope) -> Scope | None:
        """Record what ``node`` binds; return the new scope it opens, if any."""
        if isinstance(node, cst.Call):
            self.calls.append(node)
            self.call_scopes[node] = scope
        elif isinstance(node, cst.Attribute):
            if node.attr.value in facts.SPAN_ID_ATTRS:
                self.attributes.setdefault(node.attr.value, []).append(node)
        elif isinstance(node, cst.FunctionDef):
            scope.add(node.name.value, Binding(BindingKind.DEFINITION, node))
            inner = Scope(node, "function", scope)
            params = node.params
            all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
            for extra in (params.star_arg, params.star_kwarg):
                if isinstance(extra, cst.Param):
                    all_params.append(extra)
            for param in all_params:
                annotation = param.annotation.annotation if param.annotation else None
                inner.add(param.name.value, Binding(BindingKind.PARAM, param, None, annotation))
            if scope.kind == "class":
                positional = [*params.posonly_params, *params.params]
                if positional and not _is_staticmethod(node):
                    inner.self_name = positional[0].name.value
                    inner.owner_class = scope.node  # type: ignore[assignment]
            self._open(scope, inner)
            return inner
        elif isinstance(node, cst.ClassDef):
            scope.add(node.name.value, Binding(BindingKind.DEFINITION, node))
            inner = Scope(node, "class", scope)
            self.classes[node] = ClassInfo(node, inner)
            self._open(scope, inner)
            return inner
        elif isinstance(node, cst.Lambda):
            inner = Scope(node, "lambda", scope)
            for param in node.params.params:
                inner.add(param.name.value, Binding(BindingKind.PARAM, param))
            self._open(scope, inner)
            return inner
        elif isinstance(node, cst.Assign):
            for target in node.targets:
                self._bind(target.target, node.value, scope, node)
        elif isinstance(node, cst.AnnAssign):
            ann = node.annotation.annotation
            if isinstance(node.target, cst.Name):
                scope.add(node.target.value, Binding(BindingKind.VALUE, node, node.value, ann))
            else:
                self._bind(node.target, node.value, scope, node)
        elif isinstance(node, cst.NamedExpr):
            self._bind(node.target, node.value, scope, node)
        elif isinstance(node, cst.AugAssign):
            self._bind_other(node.target, scope, node)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self._bind_other(node.target, scope, node)
        elif isinstance(node, cst.WithItem):
            if node.asname is not None:
                bound = node.asname.name
                if isinstance(bound, cst.Name):
                    scope.add(bound.value, Binding(BindingKind.WITH, node, node.item))
                else:
                    self._bind_other(bound, scope, node)
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            if node.name is not None and isinstance(node.name.name, cst.Name):
                scope.add(node.name.name.value, Binding(BindingKind.OTHER, node))
        elif isinstance(node, cst.Del):
            self._bind_other(node.target, scope, node)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                full = _dotted(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    scope.add(
                        alias.asname.name.value, Binding(BindingKind.IMPORT, node, qualified=full)
                    )
                else:
                    top = full.split(".")[0]
                    scope.add(top, Binding(BindingKind.IMPORT, node, qualified=top))
        elif isinstance(node, cst.ImportFrom):
            base = _dotted(node.module) if node.module is not None else None
            if node.relative:
                # ``from .clients import client``: kept as ``.clients.client`` for the
                # project index (lifecycle_lint.project), which knows the package.
                base = "." * len(node.relative) + (base or "")
            if base is None or isinstance(node.names, cst.ImportStar):
                return None
            for alias in node.names:
                name = _dotted(alias.name)
                if name is None:
                    continue
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                dot = "" if base.endswith(".") else "."
                scope.add(local, Binding(BindingKind.IMPORT, node, qualified=f"{base}{dot}{name}"))
        elif isinstance(node, cst.Global):
            scope.global_names.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Nonlocal):
            scope.nonlocal_names.update(n.name.value for n in node.names)
        elif isinstance(node, (cst.MatchAs, cst.MatchStar)):
            if node.name is not None:
                scope.add(node.name.value, Binding(BindingKind.OTHER, node))
        return None

    def _open(self, scope: Scope, inner: Scope) -> None:
        scope.children.append(inner)
        self.scopes[inner.node] = inner

    def _bind(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression | None,
        scope: Scope,
        node: cst.CSTNode,
    ) -> None:
        if isinstance(target, cst.Name):
            scope.add(target.value, Binding(BindingKind.VALUE, node, value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if (
                isinstance(value, (cst.Tuple, cst.List))
                and len(value.elements) == len(elements)
                and not any(isinstance(e, cst.StarredElement) for e in target.elements)
                and not any(isinstance(e, cst.StarredElement) for e in value.elements)
            ):
                for t, v in zip(elements, value.elements, strict=True):
                    self._bind(t, v.value, scope, node)
            else:
                for t in elements:
                    self._bind_other(t, scope, node)
        elif isinstance(target, cst.Attribute):
            info = self._self_class(target.value, scope)
            if info is not None and value is not None:
                info.attr_assignments.setdefault(target.attr.value, []).append(
                    Binding(BindingKind.VALUE, node, value)
                )
        elif isinstance(target, cst.Subscript):
            container = target.value
            if isinstance(container, cst.Attribute) and value is not None:
                info = self._self_class(container.value, scope)
                if info is not None:
                    info.item_assignments.setdefault(container.attr.value, []).append(value)
        elif isinstance(target, cst.StarredElement):
            self._bind_other(target.value, scope, node)

    def _bind_other(self, target: cst.BaseExpression, scope: Scope, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            scope.add(target.value, Binding(BindingKind.OTHER, node))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_other(element.value, scope, node)
        elif isinstance(target, cst.StarredElement):
            self._bind_other(target.value, scope, node)
        elif isinstance(target, cst.Attribute):
            info = self._self_class(target.value, scope)
            if info is not None:
                info.attr_assignments.setdefault(target.attr.value, []).append(
                    Binding(BindingKind.OTHER, node)
                )

    def _self_class(self, receiver: cst.BaseExpression, scope: Scope) -> ClassInfo | None:
        """The class whose instance ``receiver`` is, when it is a method's ``self``
        (read in the method, or in a lambda or function nested in it)."""
        method: Scope | None = scope
        while method is not None and method.self_name is None and method.is_function:
            if (
                method.kind == "function"
                and isinstance(receiver, cst.Name)
                and receiver.value in method.bindings
            ):
                return None  # the nested function binds the name itself
            method = method.parent
        if (
            method is not None
            and method.self_name is not None
            and isinstance(receiver, cst.Name)
            and receiver.value == method.self_name
            and method.owner_class is not None
        ):
            return self.classes.get(method.owner_class)
        return None

    # --- queries ----------------------------------------------------------

    def scope_of(self, node: cst.CSTNode) -> Scope:
        """The innermost scope whose body holds ``node``."""
        child = node
        parent = self.parents.get(child)
        while parent is not None:
            scope = self.scopes.get(parent)
            if scope is not None:
                if isinstance(parent, cst.FunctionDef) and child not in (
                    parent.body,
                    parent.params,
                ):
                    pass  # a decorator or annotation: the outer scope
                elif isinstance(parent, cst.ClassDef) and child is not parent.body:
                    pass
                else:
                    return scope
            child = parent
            parent = self.parents.get(child)
        return self.module_scope

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parents.get(node)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def lookup(self, name: str, scope: Scope) -> list[Binding]:
        """Every binding of ``name`` in the scope that resolves it from ``scope``."""
        current: Scope | None = scope
        if name in scope.global_names:
            return self.module_scope.bindings.get(name, [])
        start = scope
        while current is not None:
            if current.kind == "class" and current is not start:
                current = current.parent
                continue
            if name in current.bindings and name not in current.nonlocal_names:
                return current.bindings[name]
            current = current.parent
        return []

    def self_class(self, receiver: cst.BaseExpression, scope: Scope) -> ClassInfo | None:
        return self._self_class(receiver, scope)

    def qualify(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> str | None:
        """The dotted import path ``expr`` stands for (``mlflow.MlflowClient``), if known."""
        if _depth > 8:
            return None
        if isinstance(expr, cst.Name):
            bindings = self.lookup(expr.value, scope)
            if not bindings:
                return None
            names: set[str | None] = set()
            for b in bindings:
                if b.kind is BindingKind.IMPORT:
                    names.add(b.qualified)
                elif b.kind is BindingKind.VALUE and isinstance(b.value, (cst.Name, cst.Attribute)):
                    names.add(self.qualify(b.value, scope, _depth + 1))
                else:
                    return None
            if len(names) == 1:
                return names.pop()
            return _one_object(names)
        if isinstance(expr, cst.Attribute):
            base = self.qualify(expr.value, scope, _depth + 1)
            return None if base is None else f"{base}.{expr.attr.value}"
        return None

    # --- what a value is --------------------------------------------------

    def is_client(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> bool:
        """``expr`` is certainly an ``MlflowClient`` (or the runtime's ``TraceClient``)."""
        if _depth > 6:
            return False
        if isinstance(expr, cst.Call):
            qualified = self.qualify(expr.func, scope)
            if qualified in facts.CLIENT_QUALIFIED_NAMES:
                return True
            func = expr.func
            if (
                qualified is None
                and isinstance(func, cst.Attribute)
                and func.attr.value == _CLIENT_CLASS
                and self.qualify(func.value, scope) is None
            ):
                # ``mlflow_module.MlflowClient()``: MLflow's module handed in at run time
                # (a parameter, a lazy import), whose name the file cannot resolve.
                return True
            return self._known_client(expr, scope)
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            # ``client or MlflowClient()``: an injected client or a new one.
            return self.is_client(expr.right, scope, _depth + 1)
        if isinstance(expr, cst.IfExp):
            return all(
                _is_none(side) or self.is_client(side, scope, _depth + 1)
                for side in (expr.body, expr.orelse)
            ) and not (_is_none(expr.body) and _is_none(expr.orelse))
        if isinstance(expr, cst.Name):
            if self._bindings_are(
                _defaulted_parameter(self.lookup(expr.value, scope), expr.value, self.parents),
                scope,
                lambda v, s: self.is_client(v, s, _depth + 1),
                self.is_client_annotation,
            ):
                return True
            return self._known_client(expr, scope)
        if isinstance(expr, cst.Attribute):
            info = self.self_class(expr.value, scope)
            if info is None:
                return self._known_client(expr, scope)
            attr = expr.attr.value
            bindings = list(info.attr_assignments.get(attr, []))
            bindings += [b for b in info.scope.bindings.get(attr, []) if b.annotation is not None]
            method_scope = self.scopes.get(info.node)
            if self._bindings_are(
                bindings,
                method_scope or scope,
                lambda v, s: self.is_client(v, self._value_scope(v, s), _depth + 1),
                self.is_client_annotation,
            ):
                return True
            return self._known_client(expr, scope)
        return False

    def _known_client(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """A client by what lies beyond this scope's bindings (lifecycle_lint.knowledge)."""
        return self.knowledge is not None and self.knowledge.client_reason(expr, scope) is not None

    def _value_scope(self, value: cst.CSTNode, fallback: Scope) -> Scope:
        return self.scope_of(value) if value in self.parents else fallback

    def _bindings_are(self, bindings, scope, value_test, annotation_test) -> bool:  # type: ignore[no-untyped-def]
        if not bindings:
            return False
        seen_positive = False
        for b in bindings:
            s = self._value_scope(b.node, scope)
            if b.annotation is not None and annotation_test(b.annotation, s):
                seen_positive = True
                continue
            if b.kind is BindingKind.VALUE and b.value is not None:
                if _is_none(b.value):
                    continue
                if value_test(b.value, s):
                    seen_positive = True
                    continue
            return False
        return seen_positive

    def is_client_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if not isinstance(text, str):
                return False
            text = text.replace(" ", "")
            parts = [p for p in text.split("|") if p != "None"]
            if len(parts) != 1:
                return False
            text = parts[0]
            if text.startswith("Optional[") and text.endswith("]"):
                text = text[len("Optional[") : -1]
            if text in facts.CLIENT_QUALIFIED_NAMES:
                return True
            bindings = self.lookup(text, scope) if text.isidentifier() else []
            return any(
                b.kind is BindingKind.IMPORT and b.qualified in facts.CLIENT_QUALIFIED_NAMES
                for b in bindings
            )
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            sides = [annotation.left, annotation.right]
            non_none = [s for s in sides if not _is_none(s)]
            return len(non_none) == 1 and self.is_client_annotation(non_none[0], scope)
        if isinstance(annotation, cst.Subscript):
            outer = self.qualify(annotation.value, scope)
            if outer in ("typing.Optional", "Optional") and len(annotation.slice) == 1:
                element = annotation.slice[0].slice
                if isinstance(element, cst.Index):
                    return self.is_client_annotation(element.value, scope)
            return False
        return self.qualify(annotation, scope) in facts.CLIENT_QUALIFIED_NAMES

    def literal_of(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> bool:
        """``expr`` is a literal, or a name bound only to literals (constants included)."""
        if _depth > 6:
            return False
        if isinstance(expr, (cst.SimpleString, cst.Integer, cst.ConcatenatedString)):
            return not isinstance(expr, cst.ConcatenatedString) or (
                self.literal_of(expr.left, scope, _depth + 1)
                and self.literal_of(expr.right, scope, _depth + 1)
            )
        if isinstance(expr, cst.FormattedString):
            return all(
                isinstance(part, cst.FormattedStringText)
                or (
                    isinstance(part, cst.FormattedStringExpression)
                    and self.literal_of(part.expression, scope, _depth + 1)
                )
                for part in expr.parts
            )
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.expression, cst.Integer):
            return True
        if isinstance(expr, cst.Name):
            bindings = self.lookup(expr.value, scope)
            return bool(bindings) and all(
                b.kind is BindingKind.VALUE
                and b.value is not None
                and not _is_none(b.value)
                and self.literal_of(b.value, self._value_scope(b.node, scope), _depth + 1)
                for b in bindings
            )
        return False

    def string_value(self, expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> str | None:
        """The text of a string literal, or of a name bound only to one such literal."""
        if _depth > 6:
            return None
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            value = expr.evaluated_value
            return value if isinstance(value, str) else None
        if isinstance(expr, cst.Name):
            values = {
                self.string_value(b.value, self._value_scope(b.node, scope), _depth + 1)
                if b.kind is BindingKind.VALUE and b.value is not None
                else None
                for b in self.lookup(expr.value, scope)
            }
            if len(values) == 1:
                return values.pop()
        return None


_RECORDED_TYPES = frozenset(
    {
        cst.Call,
        cst.Attribute,
        cst.FunctionDef,
        cst.ClassDef,
        cst.Lambda,
        cst.Assign,
        cst.AnnAssign,
        cst.NamedExpr,
        cst.AugAssign,
        cst.For,
        cst.CompFor,
        cst.WithItem,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Del,
        cst.Import,
        cst.ImportFrom,
        cst.Global,
        cst.Nonlocal,
        cst.MatchAs,
        cst.MatchStar,
    }
)


_CLIENT_CLASS = "MlflowClient"

#: Names that stand for one object, whichever module it is imported from
#: (``try: from mlflow import MlflowClient`` / ``except ImportError: from
#: mlflow.tracking import MlflowClient``).
_ALIAS_GROUPS: tuple[frozenset[str], ...] = (
    facts.CLIENT_QUALIFIED_NAMES,
    facts.START_SPAN_NO_CONTEXT_QUALIFIED_NAMES,
    facts.FLUENT_START_SPAN_QUALIFIED_NAMES,
    facts.FLUENT_TRACE_DECORATOR_QUALIFIED_NAMES,
    facts.FLUENT_SPAN_GETTER_QUALIFIED_NAMES,
)


def _one_object(names: set[str | None]) -> str | None:
    """The name several imports of one object agree on (the first in order), else None."""
    if None in names:
        return None
    for group in _ALIAS_GROUPS:
        if names <= group:
            return min(names)  # type: ignore[type-var]
    return None


def _defaulted_parameter(
    bindings: list[Binding], name: str, parents: dict[cst.CSTNode, cst.CSTNode]
) -> list[Binding]:
    """Without an unannotated parameter that the function replaces when it is not given:
    ``client = client or MlflowClient()``, ``client = client if client else ...``, or
    ``if client is None: client = MlflowClient()``. What the name holds then is either
    what the caller injected in its place or the default, and says what the name is."""
    params = [b for b in bindings if b.kind is BindingKind.PARAM and b.annotation is None]
    if not params or len(params) == len(bindings):
        return bindings
    values = [b for b in bindings if b.kind is BindingKind.VALUE and b.value is not None]
    if not any(_replaces_when_missing(b, name, parents) for b in values):
        return bindings
    return [b for b in bindings if b not in params]


def _replaces_when_missing(
    binding: Binding, name: str, parents: dict[cst.CSTNode, cst.CSTNode]
) -> bool:
    value = binding.value
    if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
        return isinstance(value.left, cst.Name) and value.left.value == name
    if isinstance(value, cst.IfExp):
        return _tests_name(value.test, name)
    current = parents.get(binding.node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
        if isinstance(current, cst.If) and _tests_name(current.test, name):
            return True
        current = parents.get(current)
    return False


def _tests_name(test: cst.BaseExpression, name: str) -> bool:
    """``name``, ``not name``, ``name is None``, ``name is not None``."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, (cst.Is, cst.IsNot)) and _is_none(target.comparator):
            test = test.left
    return isinstance(test, cst.Name) and test.value == name


def _is_staticmethod(node: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in node.decorators
    )
