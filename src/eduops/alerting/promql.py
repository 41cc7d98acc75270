"""The PromQL subset eduops understands: a lexer and a parser into a small typed AST.

Supported: selectors with ``=``, ``!=``, ``=~``, ``!~`` and ``offset``; range selectors; arithmetic
``+ - * / % ^`` and comparisons ``== != > < >= <=`` (with ``bool``) between scalars and vectors,
vector/vector one-to-one matching (``on``/``ignoring``); ``and``/``or``/``unless``;
``sum avg min max count`` with ``by``/``without``; the functions in ``FUNCTIONS``. Anything else is
rejected while parsing, with its position (line:column) and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from eduops.core import values
from eduops.errors import UsageError

ValueType = Literal["scalar", "vector", "matrix", "string"]


class PromQLError(UsageError):
    """An expression eduops cannot parse or does not support; the message says where and why."""

    def __init__(self, expr: str, pos: int, reason: str) -> None:
        line = expr.count("\n", 0, pos) + 1
        col = pos - (expr.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{line}:{col}: {reason}")
        self.pos, self.line, self.column, self.reason = pos, line, col, reason


# name → (argument types, return type); "matrix?" marks an optional trailing argument
FUNCTIONS: dict[str, tuple[tuple[ValueType, ...], ValueType]] = {
    "rate": (("matrix",), "vector"),
    "increase": (("matrix",), "vector"),
    "delta": (("matrix",), "vector"),
    "deriv": (("matrix",), "vector"),
    "predict_linear": (("matrix", "scalar"), "vector"),
    "avg_over_time": (("matrix",), "vector"),
    "min_over_time": (("matrix",), "vector"),
    "max_over_time": (("matrix",), "vector"),
    "sum_over_time": (("matrix",), "vector"),
    "count_over_time": (("matrix",), "vector"),
    "last_over_time": (("matrix",), "vector"),
    "quantile_over_time": (("scalar", "matrix"), "vector"),
    "absent": (("vector",), "vector"),
    "absent_over_time": (("matrix",), "vector"),
    "abs": (("vector",), "vector"),
    "clamp_min": (("vector", "scalar"), "vector"),
    "clamp_max": (("vector", "scalar"), "vector"),
    "time": ((), "scalar"),
    "vector": (("scalar",), "vector"),
    "scalar": (("vector",), "scalar"),
}
AGGREGATIONS = ("sum", "avg", "min", "max", "count")
KNOWN_UNSUPPORTED = {
    "topk",
    "bottomk",
    "quantile",
    "stddev",
    "stdvar",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
    "histogram_quantile",
    "label_replace",
    "label_join",
    "irate",
    "idelta",
    "resets",
    "changes",
    "holt_winters",
    "double_exponential_smoothing",
    "sort",
    "sort_desc",
    "timestamp",
    "round",
    "ceil",
    "floor",
    "exp",
    "ln",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "day_of_week",
    "hour",
    "minute",
}
ARITHMETIC = ("+", "-", "*", "/", "%", "^")
COMPARISON = ("==", "!=", ">", "<", ">=", "<=")
SET_OPS = ("and", "or", "unless")
# precedence, low to high; ^ is right-associative
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    ">": 3,
    "<": 3,
    ">=": 3,
    "<=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "^": 6,
}



def parse_duration(text: str) -> float:
    """``1h30m`` → 5400.0 seconds, at most 10 years (the one rule of ``eduops.core.values``); raises
    ValueError for anything else."""
    try:
        return values.parse_duration(text, "duration", allow_zero=True)
    except UsageError as exc:
        raise ValueError(exc.message.removeprefix("duration: ")) from None


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        hit = self.regex.fullmatch(value) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class NumberLiteral(Node):
    value: float


@dataclass(frozen=True)
class StringLiteral(Node):
    value: str


@dataclass(frozen=True)
class VectorSelector(Node):
    name: str
    matchers: tuple[Matcher, ...]
    offset: float = 0.0


@dataclass(frozen=True)
class MatrixSelector(Node):
    selector: VectorSelector
    range: float


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate(Node):
    op: str
    expr: Node
    grouping: tuple[str, ...]
    without: bool


@dataclass(frozen=True)
class Unary(Node):
    op: str
    expr: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    lhs: Node
    rhs: Node
    return_bool: bool = False
    on: bool = False
    matching: tuple[str, ...] | None = None  # labels of on(...)/ignoring(...), None when absent


def value_type(node: Node) -> ValueType:
    if isinstance(node, NumberLiteral):
        return "scalar"
    if isinstance(node, StringLiteral):
        return "string"
    if isinstance(node, VectorSelector | Aggregate):
        return "vector"
    if isinstance(node, MatrixSelector):
        return "matrix"
    if isinstance(node, Call):
        return FUNCTIONS[node.func][1]
    if isinstance(node, Unary):
        return value_type(node.expr)
    assert isinstance(node, Binary)
    both_scalar = value_type(node.lhs) == "scalar" and value_type(node.rhs) == "scalar"
    return "scalar" if both_scalar else "vector"


def selectors(node: Node) -> list[VectorSelector]:
    """Every vector selector in an expression (what a store must load to evaluate it)."""
    if isinstance(node, VectorSelector):
        return [node]
    if isinstance(node, MatrixSelector):
        return [node.selector]
    if isinstance(node, Call):
        return [s for a in node.args for s in selectors(a)]
    if isinstance(node, Aggregate | Unary):
        return selectors(node.expr)
    if isinstance(node, Binary):
        return selectors(node.lhs) + selectors(node.rhs)
    return []


# ---------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""(?P<ws>\s+|\#[^\n]*)
    |(?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![a-zA-Z_:\d])|(?i:inf|nan)(?![\w:]))
    |(?P<duration>\d+[a-zA-Z]\w*)
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<op>=~|!~|==|!=|>=|<=|[-+*/%^<>=(){}\[\],@:])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(expr: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise PromQLError(expr, pos, f"unexpected character {expr[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(expr)))
    return tokens


def unquote(expr: str, tok: Token) -> str:
    raw = tok.text
    if raw[0] == "`":
        return raw[1:-1]
    try:
        return bytes(raw[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise PromQLError(expr, tok.pos, f"bad escape in string {raw}") from None


def parse(expr: str) -> Node:
    """Parse an expression of the supported subset; PromQLError (exit 2 / HTTP 400) otherwise."""
    from eduops.alerting.promql_parser import Parser

    if not expr.strip():
        raise PromQLError(expr, 0, "empty expression")
    return Parser(expr, tokenize(expr)).parse_all()
