"""The exception model: which calls and statements may raise (RULES.md, "Analysis conventions").

One declarative table, read by the flow analysis (and by function summaries): each
entry names calls that are treated as *not raising*, with the reason a maintainer
would give for not calling them a way the code fails in production. Everything
else may raise: user code, third-party calls, I/O, ``json.dumps``, ``await``,
``yield``, ``raise``, ``assert``, entering a ``with`` block, each step of a ``for``
loop. Names are resolved through the file's imports (``from time import
perf_counter``, ``import random as r``); a name bound in the file is never taken
for a builtin or a module function of the same name.

Users extend the table with ``non-raising = [...]`` (qualified names and globs)
and turn it off with ``strict-exceptions = true`` (then only lifecycle calls, and
the user's own ``non-raising`` entries, do not raise).

When several statements may raise, :func:`failure_rank` says which one a finding
names: the one most likely to fail (an explicit ``raise``; user or third-party code
over the standard library; I/O over computation).

No libcst at import time: the rules' documentation reads this table when the
command starts.
"""

from __future__ import annotations

import builtins
import fnmatch
import functools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst

    from lifecycle_lint.context import FileContext
    from lifecycle_lint.scopes import Scope
    from lifecycle_lint.settings import Settings

#: A call's arguments, as a condition on whether the entry applies.
Condition = Callable[["cst.Call"], bool]


@dataclass(frozen=True)
class Entry:
    """Calls treated as not raising, and why.

    ``names`` are qualified names or globs, resolved through the file's imports;
    builtins are spelled ``builtins.len``. ``methods`` are method names called on a
    receiver that is not an imported module or name (``mapping.get``): the receiver's
    type is not known, so ``condition`` checks the call's shape where that matters.
    """

    category: str
    reason: str
    names: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    condition: Condition | None = None
    #: For method entries: the receiver must look like this (a logger, a string literal).
    receiver: Callable[[cst.BaseExpression, FileContext, Scope], bool] | None = None


# --- conditions on a call's shape -------------------------------------------------


def _cst():  # type: ignore[no-untyped-def]
    import libcst

    return libcst


def _positional(call: cst.Call) -> list[cst.BaseExpression] | None:
    """The positional arguments, or None when there are keywords or ``*``/``**``."""
    values = []
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            return None
        values.append(arg.value)
    return values


def _args_between(low: int, high: int) -> Condition:
    def check(call: cst.Call) -> bool:
        values = _positional(call)
        return values is not None and low <= len(values) <= high

    return check


def _getattr_with_default(call: cst.Call) -> bool:
    return len(call.args) == 3 and not any(a.star for a in call.args)


_ARITHMETIC = (
    "Add",
    "Subtract",
    "Multiply",
    "Divide",
    "FloorDivide",
    "Modulo",
    "Power",
)
#: Calls whose result is a number (so ``int(time.time() * 1e9)`` is arithmetic).
_NUMERIC_CALLS = frozenset(
    {
        "builtins.len",
        "builtins.round",
        "builtins.abs",
        "builtins.int",
        "builtins.float",
        "builtins.min",
        "builtins.max",
        "time.time",
        "time.time_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "random.random",
        "random.uniform",
        "random.randint",
    }
)


def _is_arithmetic(expr: cst.BaseExpression, numeric_call: Callable[[cst.Call], bool]) -> bool:
    cst = _cst()
    if isinstance(expr, (cst.Integer, cst.Float)):
        return True
    if isinstance(expr, cst.UnaryOperation):
        return _is_arithmetic(expr.expression, numeric_call)
    if isinstance(expr, cst.BinaryOperation):
        # ``end_time * 1e9``: names are numbers here unless a side is a string.
        return type(expr.operator).__name__ in _ARITHMETIC and all(
            _is_arithmetic(side, numeric_call)
            or isinstance(side, (cst.Name, cst.Attribute, cst.Subscript))
            for side in (expr.left, expr.right)
        )
    if isinstance(expr, cst.Call):
        return numeric_call(expr)
    return False


def _is_string_literal(expr: cst.BaseExpression, ctx: FileContext, scope: Scope) -> bool:
    cst = _cst()
    return isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


_LOGGER_NAMES = frozenset({"logger", "_logger", "log", "_log", "LOGGER", "LOG", "_LOGGER"})


def _is_logger(expr: cst.BaseExpression, ctx: FileContext, scope: Scope) -> bool:
    """``logger``, ``self._logger``, ``logging.getLogger(...)``, a name bound to one."""
    cst = _cst()
    if isinstance(expr, cst.Call):
        return qualified_name(expr.func, ctx, scope) == "logging.getLogger"
    last = expr.attr.value if isinstance(expr, cst.Attribute) else getattr(expr, "value", None)
    if last in _LOGGER_NAMES:
        return True
    if isinstance(expr, cst.Name):
        bindings = ctx.index.lookup(expr.value, scope)
        return bool(bindings) and all(
            isinstance(b.value, cst.Call)
            and qualified_name(b.value.func, ctx, scope) == "logging.getLogger"
            for b in bindings
        )
    return False


# --- the table ------------------------------------------------------------------

_LOGGING_METHODS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "log")

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "logging and warnings",
        "logging handlers report their own errors (`Handler.handleError`) instead of "
        "raising; a warning is reported, not raised, outside test settings",
        names=("logging.*", "warnings.warn"),
        methods=_LOGGING_METHODS,
        receiver=_is_logger,
    ),
    Entry(
        "`print`",
        "writing to standard output is not how a traced request fails",
        names=("builtins.print",),
    ),
    Entry(
        "pure builtins on values",
        "they fail only on an argument of the wrong type, a programming error that tests "
        "find, not a failure in production",
        names=tuple(
            f"builtins.{name}"
            for name in (
                "len",
                "isinstance",
                "issubclass",
                "hasattr",
                "callable",
                "repr",
                "str",
                "bool",
                "id",
                "type",
                "hash",
                "dict",
                "list",
                "tuple",
                "set",
                "frozenset",
                "range",
                "enumerate",
                "zip",
                "sorted",
                "reversed",
                "any",
                "all",
                "round",
                "abs",
                "super",
            )
        ),
    ),
    Entry(
        "`getattr` with a default",
        "a missing attribute gives the default instead of raising",
        names=("builtins.getattr",),
        condition=_getattr_with_default,
    ),
    Entry(
        "numbers from arithmetic",
        "`int`/`float` of arithmetic or of a number cannot meet a malformed string; "
        "`min`/`max` of two or more numbers cannot meet an empty sequence",
        names=("builtins.int", "builtins.float", "builtins.min", "builtins.max"),
        condition=lambda call: _numeric_arguments(call),
    ),
    Entry(
        "mapping and list methods",
        "`mapping.get(key, default)` (and a context variable's `.get()`) returns instead "
        "of raising; views, copies and appends cannot fail",
        methods=("get",),
        condition=_args_between(0, 2),  # dict.get takes no keywords: `session.get(url=...)`
    ),
    Entry(
        "mapping and list methods",
        "views, copies and appends cannot fail",
        methods=("keys", "items", "values", "copy"),
        condition=_args_between(0, 0),
    ),
    Entry(
        "mapping and list methods",
        "adding to a list, a set or a mapping cannot fail",
        methods=("append", "add", "setdefault"),
        condition=_args_between(1, 2),
    ),
    Entry(
        "string methods",
        "they work on any string and return a new one",
        methods=(
            "strip",
            "lstrip",
            "rstrip",
            "lower",
            "upper",
            "casefold",
            "title",
            "capitalize",
            "startswith",
            "endswith",
            "split",
            "rsplit",
            "splitlines",
            "replace",
            "find",
            "rfind",
            "count",
            "isdigit",
            "isalpha",
            "isalnum",
            "isspace",
            "zfill",
            "ljust",
            "rjust",
        ),
    ),
    Entry(
        "string methods",
        "joining and formatting with a literal template",
        methods=("join", "format"),
        receiver=_is_string_literal,
    ),
    Entry(
        "weak references",
        "`weakref.ref`/`proxy`/`finalize` fail only for an object that does not support "
        "weak references, a programming error that tests find",
        names=("weakref.ref", "weakref.proxy", "weakref.finalize", "weakref.WeakMethod"),
    ),
    Entry(
        "MLflow's active-span context",
        "making a span the active one and detaching it again only swaps a context "
        "variable; the span is still the caller's to end",
        names=(
            "mlflow.tracing.provider.set_span_in_context",
            "mlflow.tracing.provider.safe_set_span_in_context",
            "mlflow.tracing.provider.detach_span_from_context",
        ),
    ),
    Entry(
        "clocks, randomness, IDs, environment, threads",
        "reading the clock, drawing a random number or an ID, reading the environment "
        "or the current thread does not fail",
        names=(
            "time.time",
            "time.time_ns",
            "time.perf_counter",
            "time.perf_counter_ns",
            "time.monotonic",
            "time.monotonic_ns",
            "time.process_time",
            "time.process_time_ns",
            "time.sleep",
            "random.*",
            "uuid.uuid1",
            "uuid.uuid4",
            "datetime.datetime.now",
            "datetime.datetime.utcnow",
            "datetime.datetime.today",
            "datetime.date.today",
            "os.getenv",
            "os.environ.get",
            "os.getpid",
            "threading.get_ident",
            "threading.get_native_id",
            "threading.current_thread",
        ),
    ),
    Entry(
        "locks and `contextlib` helpers",
        "creating a lock, `suppress(...)` or `nullcontext()` does not fail",
        names=(
            "threading.Lock",
            "threading.RLock",
            "contextlib.suppress",
            "contextlib.nullcontext",
        ),
    ),
)

#: Forms that are not calls, for the documentation (the checks are below).
FORMS: tuple[tuple[str, str], ...] = (
    (
        "lifecycle calls",
        "`start_*`, `end_*` and a span's own methods (`span.set_outputs(...)`), and "
        "everything in their arguments: the contract the linter checks is about them",
    ),
    (
        "iterating a built container",
        "a `for` over a literal list, tuple, set or dict, a list/set/dict comprehension, "
        "`range(...)`, `sorted(...)`, `mapping.items()`/`keys()`/`values()`, "
        "`enumerate`/`zip`/`reversed` of those, or data held by a value "
        '(`log.results.scores`, `response.choices`, `step["events"]`, '
        '`step.get("spans", [])`, not `self._source`) cannot fail while iterating; a '
        "name (`for chunk in stream:`) or another call may be a live iterator",
    ),
    (
        "entering a lock or `contextlib.suppress`",
        "`with self._lock:` (a name ending in `lock`), `with contextlib.suppress(...)` "
        "and `with contextlib.nullcontext()` cannot fail on entry; what `suppress` "
        "swallows goes on after the block",
    ),
)


def _numeric_arguments(call: cst.Call) -> bool:
    values = _positional(call)
    if not values:
        return False
    func = call.func
    name = getattr(func, "value", None)
    if name in ("min", "max") and len(values) < 2:
        return False
    if name in ("int", "float"):
        # Of a number, never of a string: ``int(end_time * 1e9)``, not ``int(header)``.
        return len(values) == 1 and _is_arithmetic(values[0], _looks_numeric_call)
    cst = _cst()
    return all(
        _is_arithmetic(v, _looks_numeric_call)
        or isinstance(v, (cst.Name, cst.Attribute, cst.Subscript))
        for v in values
    )


def _looks_numeric_call(call: cst.Call) -> bool:
    """``len(x)``, ``time.time()``, ``round(x, 2)`` (by name: no scope here)."""
    cst = _cst()
    func = call.func
    if isinstance(func, cst.Name):
        return f"builtins.{func.value}" in _NUMERIC_CALLS
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        return f"{func.value.value}.{func.attr.value}" in _NUMERIC_CALLS
    return False


# --- how likely a raise point is to fail (for the message) -----------------------------

#: Qualified names (globs) of standard-library and third-party I/O.
_IO_NAMES = (
    "builtins.open",
    "builtins.input",
    "io.*",
    "os.*",
    "shutil.*",
    "subprocess.*",
    "socket.*",
    "ssl.*",
    "select.*",
    "urllib.*",
    "http.*",
    "ftplib.*",
    "smtplib.*",
    "sqlite3.*",
    "tempfile.*",
    "glob.*",
    "json.load",
    "json.dump",
    "pickle.load",
    "pickle.dump",
    "asyncio.open_connection",
    "requests.*",
    "httpx.*",
    "aiohttp.*",
    "urllib3.*",
    "boto3.*",
    "botocore.*",
    # MLflow's tracking functions talk to the tracking store.
    "mlflow.log_*",
    "mlflow.start_run",
    "mlflow.end_run",
    "mlflow.set_tag",
    "mlflow.set_tags",
    "mlflow.set_experiment",
    "mlflow.get_experiment*",
    "mlflow.search_*",
    "mlflow.get_run",
    "mlflow.get_trace",
)
_NOT_IO_NAMES = ("os.path.*", "os.environ*", "os.getenv", "os.getpid", "os.sep", "os.fspath")
#: Method names of I/O operations, on a receiver of unknown type (``db.execute``).
_IO_METHODS = frozenset(
    {
        "read",
        "readline",
        "readlines",
        "read_text",
        "read_bytes",
        "write",
        "writelines",
        "write_text",
        "write_bytes",
        "send",
        "sendall",
        "recv",
        "request",
        "urlopen",
        "post",
        "put",
        "patch",
        "delete",
        "fetch",
        "fetchone",
        "fetchall",
        "execute",
        "executemany",
        "commit",
        "connect",
        "open",
        "upload",
        "download",
        "query",
        "invoke",
        "ainvoke",
        "create",
        "generate",
        "complete",
        "chat",
        "flush",
    }
)

RANK_EXPLICIT = 6  # raise, assert, yield
RANK_OTHER_IO = 5  # third-party or unknown code doing I/O, await
RANK_OTHER = 4  # user or third-party code: functions, the object's own methods
RANK_VALUE_METHOD = 3  # a method of a plain value (``end_time.timestamp()``): an accessor
RANK_STDLIB_IO = 2
RANK_STDLIB = 1
RANK_NON_RAISING = 0  # in the table (reached only with strict-exceptions)

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins"}
_BUILTIN_NAMES = frozenset(dir(builtins))


def qualified_name(func: cst.BaseExpression, ctx: FileContext, scope: Scope) -> str | None:
    """What a called name stands for: ``time.perf_counter``, ``builtins.len``, or None
    (a local function, a method of a value, anything the imports do not say)."""
    cst = _cst()
    if isinstance(func, cst.Name):
        if not ctx.index.lookup(func.value, scope):
            return f"builtins.{func.value}" if func.value in _BUILTIN_NAMES else None
        return ctx.index.qualify(func, scope)
    if isinstance(func, cst.Attribute):
        return ctx.index.qualify(func, scope)
    return None


def dotted_source(func: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a name or an attribute chain of names, else None."""
    cst = _cst()
    parts: list[str] = []
    while isinstance(func, cst.Attribute):
        parts.append(func.attr.value)
        func = func.value
    if not isinstance(func, cst.Name):
        return None
    parts.append(func.value)
    return ".".join(reversed(parts))


@functools.lru_cache(maxsize=64)
def _glob(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _matches(name: str | None, patterns: tuple[str, ...]) -> bool:
    regex = _glob(patterns)
    return name is not None and regex is not None and regex.match(name) is not None


_TABLE_NAMES = tuple(name for entry in ENTRIES for name in entry.names)


def _entry_for(call: cst.Call, qualified: str | None, ctx: FileContext, scope: Scope) -> bool:
    cst = _cst()
    func = call.func
    method = func.attr.value if isinstance(func, cst.Attribute) else None
    # A method of an imported module or name is judged by its qualified name only.
    receiver_known = (
        method is not None
        and isinstance(func, cst.Attribute)
        and qualified_name(func.value, ctx, scope) is not None
    )
    for entry in ENTRIES:
        if qualified is not None and entry.names and _matches(qualified, entry.names):
            if entry.condition is None or entry.condition(call):
                return True
        if method is not None and not receiver_known and method in entry.methods:
            assert isinstance(func, cst.Attribute)
            if entry.receiver is not None and not entry.receiver(func.value, ctx, scope):
                continue
            if entry.condition is None or entry.condition(call):
                return True
    if receiver_known and method in _LOGGING_METHODS:
        assert isinstance(func, cst.Attribute)
        return _is_logger(func.value, ctx, scope)  # ``self.logger.info`` via an import
    return False


def _user_non_raising(call: cst.Call, qualified: str | None, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    cst = _cst()
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    dotted_patterns = tuple(p for p in patterns if "." in p)
    plain = tuple(p for p in patterns if "." not in p)
    if plain and _matches(last, plain):
        return True
    return _matches(qualified, dotted_patterns) or _matches(dotted_source(func), dotted_patterns)


def _scope(node: cst.CSTNode, ctx: FileContext) -> Scope:
    found = ctx.index.call_scopes.get(node)  # type: ignore[call-overload]
    return found if found is not None else ctx.index.scope_of(node)


def _is_lifecycle(call: cst.Call, ctx: FileContext, scope: Scope) -> bool:
    """A lifecycle call, a span's own method, or a call in the arguments of one."""
    cst = _cst()
    if ctx.lifecycle_call(call) is not None or _is_span_method(call, ctx, scope):
        return True
    for ancestor in ctx.index.ancestors(call):
        if isinstance(ancestor, cst.Call) and (
            ctx.lifecycle_call(ancestor) is not None or _is_span_method(ancestor, ctx, scope)
        ):
            return True
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
    return False


def is_span_reading_function(func: cst.BaseExpression, ctx: FileContext, scope: Scope) -> bool:
    """One of MLflow's functions that set a span's attributes or make it the active span
    (``set_span_chat_tools(span, ...)``, ``set_span_in_context(span)``): they lend the
    span (the caller still ends it) and do not raise."""
    cst = _cst()
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    if not name.startswith(("set_span_", "safe_set_span_")):
        return False  # a test of the name first: this runs for every call
    from lifecycle_runtime import mlflow_facts as facts

    return qualified_name(func, ctx, scope) in facts.SPAN_READING_QUALIFIED_NAMES


def _is_span_method(call: cst.Call, ctx: FileContext, scope: Scope) -> bool:
    cst = _cst()
    func = call.func
    if is_span_reading_function(func, ctx, scope):
        return True  # the span's own API, as its methods are
    if not isinstance(func, cst.Attribute):
        return False
    receiver = func.value
    if isinstance(receiver, cst.Name) and (id(scope), receiver.value) in _spans_by_use(ctx):
        return True
    return isinstance(receiver, (cst.Name, cst.Attribute)) and ctx.is_span(receiver, scope)


def _spans_by_use(ctx: FileContext) -> set[tuple[int, str]]:
    """Names whose ``.trace_id``/``.span_id`` a lifecycle call of the same scope passes as
    an ID: spans, whatever they were bound to (``span = self._spans.pop(key)``)."""
    found: set[tuple[int, str]] | None = ctx.cache.get("spans-by-use")  # type: ignore[assignment]
    if found is None:
        from lifecycle_runtime import mlflow_facts as facts

        cst = _cst()
        found = set()
        for call in ctx.lifecycle_calls:
            for arg in call.node.args:
                value = arg.value
                if (
                    isinstance(value, cst.Attribute)
                    and value.attr.value in facts.SPAN_ID_ATTRS
                    and value.attr.value != "parent_id"
                    and isinstance(value.value, cst.Name)
                ):
                    found.add((id(call.scope), value.value.value))
        ctx.cache["spans-by-use"] = found
    return found


def call_may_raise(call: cst.Call, ctx: FileContext, settings: Settings | None = None) -> bool:
    """Whether ``call`` is a point where the code may raise (computed once per call)."""
    settings = settings if settings is not None else ctx.settings
    cache: dict[object, bool] = ctx.cache.setdefault("may-raise", {})  # type: ignore[assignment]
    key = (call, settings)
    found = cache.get(key)  # type: ignore[call-overload]
    if found is None:
        found = _call_may_raise(call, ctx, settings)
        cache[key] = found
    return found


def _call_may_raise(call: cst.Call, ctx: FileContext, settings: Settings) -> bool:
    scope = _scope(call, ctx)
    if _is_lifecycle(call, ctx, scope):
        return False
    qualified = qualified_name(call.func, ctx, scope)
    if _user_non_raising(call, qualified, settings.non_raising):
        return False
    if settings.strict_exceptions:
        return True
    return not _entry_for(call, qualified, ctx, scope)


_BUILT_CONTAINERS = frozenset(
    {
        "builtins.range",
        "builtins.sorted",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "builtins.dict",
    }
)
_WRAPPING_ITERATORS = frozenset({"builtins.enumerate", "builtins.zip", "builtins.reversed"})
_VIEW_METHODS = frozenset({"items", "keys", "values"})


def iteration_may_raise(
    iterable: cst.BaseExpression, ctx: FileContext, settings: Settings | None = None
) -> bool:
    """Whether a step of ``for ... in iterable`` may raise (building the iterable is
    judged by :func:`call_may_raise`)."""
    cst = _cst()
    settings = settings if settings is not None else ctx.settings
    literal = (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp)
    if isinstance(iterable, literal):
        return False
    if settings.strict_exceptions:
        return True
    scope = _scope(iterable, ctx)
    if isinstance(iterable, cst.Name) and _names_a_container(iterable, ctx, scope):
        return False
    if isinstance(iterable, (cst.Attribute, cst.Subscript)):
        # ``log.results.scores``, ``response.choices``, ``step["events"]``: data held by a
        # value is a container; a name (``stream``) or ``self._source`` may be a live
        # iterator.
        return not _held_by_a_value(iterable, scope)
    if not isinstance(iterable, cst.Call):
        return True
    func = iterable.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == "get"
        and _args_between(1, 2)(iterable)
        and qualified_name(func.value, ctx, scope) is None
        and _held_by_a_value(func.value, scope, itself=True)
    ):
        return False  # ``step.get("spans", [])``: data taken out of a mapping, as above
    qualified = qualified_name(func, ctx, scope)
    if qualified in _BUILT_CONTAINERS:
        return False
    if qualified in _WRAPPING_ITERATORS:
        return any(
            arg.star or iteration_may_raise(arg.value, ctx, settings) for arg in iterable.args
        )
    return not (
        isinstance(func, cst.Attribute)
        and func.attr.value in _VIEW_METHODS
        and not iterable.args
        and qualified_name(func.value, ctx, scope) is None
    )


#: Annotations of a parameter that is a built container (iterating it cannot fail).
_CONTAINER_ANNOTATIONS = frozenset(
    {
        "list",
        "List",
        "tuple",
        "Tuple",
        "dict",
        "Dict",
        "set",
        "Set",
        "frozenset",
        "FrozenSet",
        "Sequence",
        "MutableSequence",
        "Mapping",
        "MutableMapping",
    }
)


def _names_a_container(name: cst.Name, ctx: FileContext, scope: Scope) -> bool:
    """``name`` is bound only to built containers (``texts = []``, ``[... for ...]``) or
    is a parameter annotated as one (``events: list[dict]``)."""
    cst = _cst()
    from lifecycle_lint.scopes import BindingKind

    bindings = ctx.index.lookup(name.value, scope)
    if not bindings:
        return False
    literal = (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp)
    for binding in bindings:
        if binding.kind is BindingKind.PARAM:
            annotation = binding.annotation
            if isinstance(annotation, cst.Subscript):
                annotation = annotation.value
            last = (
                annotation.attr.value
                if isinstance(annotation, cst.Attribute)
                else getattr(annotation, "value", None)
            )
            if last not in _CONTAINER_ANNOTATIONS:
                return False
        elif binding.kind is BindingKind.VALUE and isinstance(binding.value, literal):
            continue
        else:
            return False
    return True


def _held_by_a_value(expr: cst.BaseExpression, scope: Scope, itself: bool = False) -> bool:
    """``expr`` reads data out of a value named by a plain name (``step.children``,
    ``s["events"]``; with ``itself``, the name alone), not out of ``self``."""
    cst = _cst()
    root = expr
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    if root is expr and not itself:
        return False
    return isinstance(root, cst.Name) and root.value not in ("self", "cls", scope.self_name)


_LOCK_NAME = re.compile(r"(^|_)lock$", re.IGNORECASE)


def entering_may_raise(
    item: cst.BaseExpression, ctx: FileContext, settings: Settings | None = None
) -> bool:
    """Whether entering ``with item:`` may raise (the call in ``item`` is judged apart)."""
    cst = _cst()
    settings = settings if settings is not None else ctx.settings
    if settings.strict_exceptions:
        return True
    if isinstance(item, (cst.Name, cst.Attribute)):
        last = item.attr.value if isinstance(item, cst.Attribute) else item.value
        return _LOCK_NAME.search(last) is None
    if isinstance(item, cst.Call):
        qualified = qualified_name(item.func, ctx, _scope(item, ctx))
        return qualified not in (
            "contextlib.suppress",
            "contextlib.nullcontext",
            "threading.Lock",
            "threading.RLock",
        )
    return True


def failure_rank(node: cst.CSTNode, ctx: FileContext) -> int:
    """How likely a raise point is to fail: higher is likelier (see the RANK_ constants)."""
    cst = _cst()
    if isinstance(node, (cst.Raise, cst.Assert, cst.Yield)):
        return RANK_EXPLICIT
    if isinstance(node, cst.Await):
        return RANK_OTHER_IO
    if isinstance(node, cst.For):
        # Over a call: as the call. Over a name or an attribute: it may be a live iterator,
        # but a maintainer looks at the calls first.
        return (
            failure_rank(node.iter, ctx) if isinstance(node.iter, cst.Call) else RANK_VALUE_METHOD
        )
    if isinstance(node, cst.With):
        ranks = [failure_rank(i.item, ctx) for i in node.items if isinstance(i.item, cst.Call)]
        return max(ranks, default=RANK_OTHER)
    if not isinstance(node, cst.Call):
        return RANK_OTHER
    scope = _scope(node, ctx)
    qualified = qualified_name(node.func, ctx, scope)
    if (
        _is_lifecycle(node, ctx, scope)
        or _user_non_raising(node, qualified, ctx.settings.non_raising)
        or _entry_for(node, qualified, ctx, scope)
    ):
        return RANK_NON_RAISING
    func = node.func
    if qualified is None:
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if method in _IO_METHODS:
            return RANK_OTHER_IO
        if method is not None and not _on_own_object(func, scope):
            # ``self._extract(...)`` runs the project's code; ``end_time.timestamp()``
            # reads a value: a maintainer takes the first for the likelier failure.
            return RANK_VALUE_METHOD
        return RANK_OTHER
    is_io = _matches(qualified, _IO_NAMES) and not _matches(qualified, _NOT_IO_NAMES)
    if qualified.split(".")[0] in _STDLIB:
        return RANK_STDLIB_IO if is_io else RANK_STDLIB
    return RANK_OTHER_IO if is_io else RANK_OTHER


def _on_own_object(func: cst.Attribute, scope: Scope) -> bool:
    """``self.method`` or ``cls.method`` (the class's own code)."""
    cst = _cst()
    receiver = func.value
    return isinstance(receiver, cst.Name) and receiver.value in (scope.self_name, "self", "cls")


def is_stdlib_call(node: cst.CSTNode, ctx: FileContext) -> bool:
    """A call of the standard library (for measuring which witnesses findings name)."""
    cst = _cst()
    if not isinstance(node, cst.Call):
        return False
    qualified = qualified_name(node.func, ctx, _scope(node, ctx))
    return qualified is not None and qualified.split(".")[0] in _STDLIB


def markdown() -> str:
    """The table as documentation: one line per category, with its reason."""
    lines: list[str] = []
    seen: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for entry in ENTRIES:
        shown = [f"`{n.removeprefix('builtins.')}`" for n in entry.names]
        shown += [f"`.{m}()`" for m in entry.methods]
        seen.setdefault(entry.category, []).extend(shown)
        reasons.setdefault(entry.category, entry.reason)
    for category, names in seen.items():
        listed = "" if "`" in category else f" ({', '.join(dict.fromkeys(names))})"
        lines.append(f"- {category}{listed}: {reasons[category]}.")
    for category, reason in FORMS:
        lines.append(f"- {category}: {reason}.")
    return "\n".join(lines)
