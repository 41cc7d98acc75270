"""Recursive-descent parser for eduops's PromQL subset (see ``eduops.alerting.promql``)."""

from __future__ import annotations

import math
import re

from eduops.alerting.promql import (
    AGGREGATIONS,
    ARITHMETIC,
    COMPARISON,
    FUNCTIONS,
    KNOWN_UNSUPPORTED,
    PRECEDENCE,
    SET_OPS,
    Aggregate,
    Binary,
    Call,
    Matcher,
    MatrixSelector,
    Node,
    NumberLiteral,
    PromQLError,
    StringLiteral,
    Token,
    Unary,
    VectorSelector,
    parse_duration,
    unquote,
    value_type,
)

KEYWORDS = {"by", "without", "on", "ignoring", "offset", "bool", "group_left", "group_right", *SET_OPS}


# Prometheus has no limit but a stack; 3,000 leading '-' or 500 nested parentheses must be a 400, not a crash
MAX_DEPTH = 100


class Parser:
    def __init__(self, expr: str, tokens: list[Token]) -> None:
        self.expr, self.tokens, self.i = expr, tokens, 0
        self.depth = 0  # nesting of parse_expr: parentheses, unary signs, function arguments

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, reason: str, pos: int | None = None) -> PromQLError:
        return PromQLError(self.expr, self.tok.pos if pos is None else pos, reason)

    def expect(self, text: str) -> Token:
        if self.tok.text != text:
            found = repr(self.tok.text) if self.tok.kind != "eof" else "the end of the expression"
            raise self.error(f"expected {text!r}, found {found}")
        return self.advance()

    def is_op(self, tok: Token) -> bool:
        return tok.kind == "op" and tok.text in PRECEDENCE or tok.kind == "ident" and tok.text in SET_OPS

    # -- grammar
    def parse_all(self) -> Node:
        node = self.parse_expr(0)
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self.tok.text!r} after a complete expression")
        return node

    def parse_expr(self, min_prec: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep; simplify it")
        try:
            return self._parse_expr(min_prec)
        finally:
            self.depth -= 1

    def _parse_expr(self, min_prec: int) -> Node:
        lhs = self.parse_unary()
        while self.is_op(self.tok) and PRECEDENCE[self.tok.text] >= min_prec:
            op_tok = self.advance()
            op = op_tok.text
            prec = PRECEDENCE[op]
            return_bool = False
            if self.tok.text == "bool":
                if op not in COMPARISON:
                    raise self.error("bool modifier can only be used on comparison operators")
                self.advance()
                return_bool = True
            on, matching = self.parse_matching()
            rhs = self.parse_expr(prec if op == "^" else prec + 1)
            lhs = self.binary(op_tok, lhs, rhs, return_bool, on, matching)
        return lhs

    def parse_matching(self) -> tuple[bool, tuple[str, ...] | None]:
        if self.tok.text not in ("on", "ignoring"):
            return False, None
        on = self.advance().text == "on"
        labels = self.parse_label_list()
        if self.tok.text in ("group_left", "group_right"):
            raise self.error(f"{self.tok.text} (many-to-one matching) is not supported by eduops")
        return on, labels

    def binary(
        self,
        op_tok: Token,
        lhs: Node,
        rhs: Node,
        return_bool: bool,
        on: bool,
        matching: tuple[str, ...] | None,
    ) -> Node:
        op = op_tok.text
        lt, rt = value_type(lhs), value_type(rhs)
        for t, side in ((lt, lhs), (rt, rhs)):
            if t not in ("scalar", "vector"):
                raise self.error(
                    f"binary expression must contain only scalar and instant vector types, not {t}", side.pos
                )
        if op in SET_OPS and "scalar" in (lt, rt):
            raise self.error(f"set operator {op!r} not allowed in binary scalar expression", op_tok.pos)
        if op in COMPARISON and lt == rt == "scalar" and not return_bool:
            raise self.error("comparisons between scalars must use the bool modifier", op_tok.pos)
        if matching is not None and "scalar" in (lt, rt):
            raise self.error("vector matching only allowed between instant vectors", op_tok.pos)
        # constant folding keeps scalar arithmetic out of the evaluation loop
        if isinstance(lhs, NumberLiteral) and isinstance(rhs, NumberLiteral) and op in ARITHMETIC:
            from eduops.alerting.promql_eval import scalar_op

            return NumberLiteral(lhs.pos, scalar_op(op, lhs.value, rhs.value))
        return Binary(op_tok.pos, op, lhs, rhs, return_bool, on, matching)

    def parse_unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.advance()
            inner = self.parse_expr(PRECEDENCE["*"])  # unary binds tighter than + -, looser than ^
            if value_type(inner) not in ("scalar", "vector"):
                raise self.error(
                    "unary expression only allowed on expressions of type scalar or instant vector", tok.pos
                )
            if tok.text == "+":
                return inner
            if isinstance(inner, NumberLiteral):
                return NumberLiteral(tok.pos, -inner.value)
            return Unary(tok.pos, "-", inner)
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, node: Node) -> Node:
        while True:
            if self.tok.text == "[":
                node = self.parse_range(node)
            elif self.tok.text == "offset":
                node = self.parse_offset(node)
            elif self.tok.text == "@":
                raise self.error("the @ modifier is not supported by eduops")
            else:
                return node

    def parse_range(self, node: Node) -> Node:
        start = self.advance()
        if not isinstance(node, VectorSelector):
            raise self.error(
                "ranges only allowed for vector selectors (subqueries are not supported by eduops)", start.pos
            )
        dur = self.parse_duration_token()
        if self.tok.text.startswith(":"):
            raise self.error("subqueries are not supported by eduops")
        self.expect("]")
        if self.tok.text == "offset":
            node = self.parse_offset(node)
            assert isinstance(node, VectorSelector)
        return MatrixSelector(node.pos, node, dur)

    def parse_offset(self, node: Node) -> Node:
        tok = self.advance()
        negative = False
        if self.tok.text == "-":
            self.advance()
            negative = True
        dur = self.parse_duration_token()
        target = node.selector if isinstance(node, MatrixSelector) else node
        if not isinstance(target, VectorSelector):
            raise self.error(
                "offset modifier must be preceded by an instant vector selector or range vector selector",
                tok.pos,
            )
        if target.offset:
            raise self.error("offset may not be set multiple times", tok.pos)
        moved = VectorSelector(target.pos, target.name, target.matchers, -dur if negative else dur)
        return MatrixSelector(node.pos, moved, node.range) if isinstance(node, MatrixSelector) else moved

    def parse_duration_token(self) -> float:
        tok = self.advance()
        text = tok.text
        if tok.kind == "number" and re.fullmatch(r"\d+", text):
            return float(text)  # a bare number of seconds, as Prometheus 3 accepts
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise self.error(str(exc), tok.pos) from None
        if seconds <= 0:
            raise self.error("duration must be greater than 0", tok.pos)
        return seconds

    def parse_primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return NumberLiteral(tok.pos, _number(tok.text))
        if tok.kind == "string":
            self.advance()
            return StringLiteral(tok.pos, unquote(self.expr, tok))
        if tok.text == "(":
            self.advance()
            inner = self.parse_expr(0)
            self.expect(")")
            return inner
        if tok.text == "{":
            return self.parse_selector("", tok.pos)
        if tok.kind == "duration":
            raise self.error(f"unexpected duration {tok.text!r}; durations belong in [range] or after offset")
        if tok.kind == "ident":
            name = tok.text
            if name in AGGREGATIONS:
                return self.parse_aggregation()
            nxt = self.tokens[self.i + 1]
            if nxt.text == "(":
                if name in FUNCTIONS:
                    return self.parse_call()
                if name in KNOWN_UNSUPPORTED:
                    raise self.error(
                        f"{name}() is not supported by eduops; supported functions: "
                        + ", ".join(sorted(FUNCTIONS))
                        + "; aggregations: "
                        + ", ".join(AGGREGATIONS)
                    )
                raise self.error(f"unknown function {name}()")
            if name in KEYWORDS:
                raise self.error(f"unexpected keyword {name!r}")
            self.advance()
            return self.parse_selector(name, tok.pos)
        found = repr(tok.text) if tok.kind != "eof" else "the end of the expression"
        raise self.error(f"expected an expression, found {found}")

    def parse_call(self) -> Node:
        name_tok = self.advance()
        self.expect("(")
        args: list[Node] = []
        if self.tok.text != ")":
            args.append(self.parse_expr(0))
            while self.tok.text == ",":
                self.advance()
                args.append(self.parse_expr(0))
        self.expect(")")
        want, _ = FUNCTIONS[name_tok.text]
        if len(args) != len(want):
            raise self.error(f"{name_tok.text}() takes {len(want)} argument(s), got {len(args)}", name_tok.pos)
        for arg, t in zip(args, want, strict=True):
            got = value_type(arg)
            if got != t:
                names = {
                    "matrix": "range vector",
                    "vector": "instant vector",
                    "scalar": "scalar",
                    "string": "string",
                }
                raise self.error(f"{name_tok.text}() expects a {names[t]} argument, got {names[got]}", arg.pos)
        return Call(name_tok.pos, name_tok.text, tuple(args))

    def parse_label_list(self) -> tuple[str, ...]:
        self.expect("(")
        labels: list[str] = []
        while self.tok.text != ")":
            if self.tok.kind != "ident":
                raise self.error(f"expected a label name, found {self.tok.text!r}")
            labels.append(self.advance().text)
            if self.tok.text == ",":
                self.advance()
            elif self.tok.text != ")":
                raise self.error(f"expected ',' or ')' in the label list, found {self.tok.text!r}")
        self.advance()
        return tuple(labels)

    def parse_aggregation(self) -> Node:
        op_tok = self.advance()
        grouping: tuple[str, ...] = ()
        without = False
        clause = False
        if self.tok.text in ("by", "without"):
            without = self.advance().text == "without"
            grouping, clause = self.parse_label_list(), True
        self.expect("(")
        expr = self.parse_expr(0)
        if self.tok.text == ",":
            raise self.error(f"{op_tok.text} takes one argument")
        self.expect(")")
        if not clause and self.tok.text in ("by", "without"):
            without = self.advance().text == "without"
            grouping = self.parse_label_list()
        if value_type(expr) != "vector":
            raise self.error(f"{op_tok.text} expects an instant vector, got {value_type(expr)}", expr.pos)
        return Aggregate(op_tok.pos, op_tok.text, expr, grouping, without)

    def parse_selector(self, name: str, pos: int) -> Node:
        matchers: list[Matcher] = []
        if name:
            matchers.append(Matcher("__name__", "=", name))
        if self.tok.text == "{":
            self.advance()
            while self.tok.text != "}":
                matchers.append(self.parse_matcher())
                if self.tok.text == ",":
                    self.advance()
                elif self.tok.text != "}":
                    raise self.error(f"expected ',' or '}}' in the label matchers, found {self.tok.text!r}")
            self.advance()
        if not any(not m.matches("") for m in matchers):
            raise self.error("vector selector must contain at least one non-empty matcher", pos)
        names = [m for m in matchers if m.name == "__name__"]
        metric = name or (names[0].value if names and names[0].op == "=" else "")
        return VectorSelector(pos, metric, tuple(matchers))

    def parse_matcher(self) -> Matcher:
        if self.tok.kind not in ("ident", "string"):
            raise self.error(f"expected a label name, found {self.tok.text!r}")
        label_tok = self.advance()
        label = unquote(self.expr, label_tok) if label_tok.kind == "string" else label_tok.text
        op_tok = self.advance()
        if op_tok.text not in ("=", "!=", "=~", "!~"):
            raise self.error(f"expected a matcher operator (=, !=, =~, !~), found {op_tok.text!r}", op_tok.pos)
        if self.tok.kind != "string":
            raise self.error(f"expected a quoted label value, found {self.tok.text!r}")
        value_tok = self.advance()
        value = unquote(self.expr, value_tok)
        regex = None
        if op_tok.text in ("=~", "!~"):
            try:
                regex = re.compile(value)
            except re.error as exc:
                raise self.error(f"bad regular expression {value!r}: {exc}", value_tok.pos) from None
        return Matcher(label, op_tok.text, value, regex)


def _number(text: str) -> float:
    low = text.lower()
    if low.startswith("0x"):
        return float(int(low, 16))
    if low == "inf":
        return math.inf
    if low == "nan":
        return math.nan
    return float(text)
