"""Evaluating a parsed PromQL expression at one instant over a ``SeriesSource``.

Semantics follow Prometheus 3: an instant selector takes the newest sample in the 5-minute lookback
window ``(t-5m, t]`` unless it is a stale marker; a range selector takes the samples in
``(t-range, t]``; ``rate``/``increase``/``delta`` extrapolate like Prometheus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from eduops.alerting.promql import (
    ARITHMETIC,
    COMPARISON,
    Aggregate,
    Binary,
    Call,
    Matcher,
    MatrixSelector,
    Node,
    NumberLiteral,
    StringLiteral,
    Unary,
    VectorSelector,
)
from eduops.errors import UsageError

LOOKBACK_SECONDS = 300.0
Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs, __name__ included
Points = list[tuple[float, float | None]]  # (unix seconds, value); None is a stale marker


class SeriesSource(Protocol):
    def select(self, matchers: tuple[Matcher, ...], start: float, end: float) -> Iterable[tuple[Labels, Points]]:
        """Series matching every matcher with their samples in ``[start, end]``, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Labels
    value: float


Vector = list[Sample]


class EvalError(UsageError):
    """A runtime problem of an expression (e.g. two series with the same labels after an operation): the
    expression is what is wrong, so it is a 400 like a parse error."""


def drop_name(labels: Labels) -> Labels:
    return tuple(p for p in labels if p[0] != "__name__")


def scalar_op(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
        return a / b
    if op == "%":
        return math.fmod(a, b) if b != 0 else math.nan
    if op == "^":
        try:
            return float(a**b)
        except (OverflowError, ZeroDivisionError):
            return math.inf
    raise EvalError(f"unknown operator {op}")


def compare(op: str, a: float, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


class Evaluator:
    def __init__(self, source: SeriesSource, t: float, memo: dict[object, object] | None = None) -> None:
        """``memo``: selections already made over the same source at the same time, shared by the expressions
        of one evaluation cycle (rules that select the same series read them once); results are never
        changed in place."""
        self.source, self.t = source, t
        self.memo: dict[object, object] = {} if memo is None else memo

    def eval(self, node: Node) -> float | Vector:
        if isinstance(node, NumberLiteral):
            return node.value
        if isinstance(node, VectorSelector):
            return self.instant(node)
        if isinstance(node, Aggregate):
            return aggregate(node, self.vector(node.expr))
        if isinstance(node, Unary):
            inner = self.eval(node.expr)
            if isinstance(inner, float):
                return -inner
            return [Sample(drop_name(s.labels), -s.value) for s in inner]
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            from eduops.alerting.promql_funcs import call

            key = ("call", node, self.t)  # a function of the same selections at the same time: the same answer
            found = self.memo.get(key)
            if found is None:
                found = self.memo[key] = call(self, node)
            return found  # type: ignore[return-value]
        if isinstance(node, StringLiteral):
            raise EvalError("a string is not a value")
        raise EvalError(f"cannot evaluate {type(node).__name__} here")

    def vector(self, node: Node) -> Vector:
        value = self.eval(node)
        if isinstance(value, float):
            raise EvalError("expected an instant vector")
        return value

    def scalar(self, node: Node) -> float:
        value = self.eval(node)
        if not isinstance(value, float):
            raise EvalError("expected a scalar")
        return value

    def instant(self, sel: VectorSelector) -> Vector:
        t = self.t - sel.offset
        key = ("instant", sel.matchers, t)
        found = self.memo.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        oldest = t - LOOKBACK_SECONDS
        out: Vector = []
        self.memo[key] = out
        for labels, points in self.source.select(sel.matchers, oldest, t):
            for ts, v in reversed(points):  # the newest sample in (t-5m, t]
                if ts <= t:
                    if ts > oldest and v is not None:
                        out.append(Sample(labels, v))
                    break
        return out

    def matrix(self, node: MatrixSelector) -> list[tuple[Labels, list[tuple[float, float]]]]:
        t = self.t - node.selector.offset
        key = ("range", node.selector.matchers, t, node.range)
        found = self.memo.get(key)
        if found is not None:
            return found  # type: ignore[return-value]
        start = t - node.range
        out: list[tuple[Labels, list[tuple[float, float]]]] = []
        self.memo[key] = out
        for labels, points in self.source.select(node.selector.matchers, start, t):
            i = 0
            while i < len(points) and points[i][0] <= start:  # the window is open on the left
                i += 1
            window = [p for p in points[i:] if p[1] is not None and p[0] <= t]
            if window:
                out.append((labels, window))  # type: ignore[arg-type]
        return out

    def binary(self, node: Binary) -> float | Vector:
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        op = node.op
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in COMPARISON:
                return 1.0 if compare(op, lhs, rhs) else 0.0
            return scalar_op(op, lhs, rhs)
        if isinstance(lhs, float) or isinstance(rhs, float):
            return self.vector_scalar(node, lhs, rhs)
        assert isinstance(lhs, list) and isinstance(rhs, list)
        if op in ("and", "or", "unless"):
            return set_op(node, lhs, rhs)
        return vector_vector(node, lhs, rhs)

    def vector_scalar(self, node: Binary, lhs: float | Vector, rhs: float | Vector) -> Vector:
        op = node.op
        vec, scalar, vec_left = (lhs, rhs, True) if isinstance(lhs, list) else (rhs, lhs, False)
        assert isinstance(vec, list) and isinstance(scalar, float)
        out = []
        for s in vec:
            a, b = (s.value, scalar) if vec_left else (scalar, s.value)
            if op in COMPARISON:
                hit = compare(op, a, b)
                if node.return_bool:
                    out.append(Sample(drop_name(s.labels), 1.0 if hit else 0.0))
                elif hit:
                    out.append(s)  # a filter keeps the vector's own sample, name included
            else:
                out.append(Sample(drop_name(s.labels), scalar_op(op, a, b)))
        return out


def matcher(on: bool, names: tuple[str, ...] | None) -> Callable[[Labels], Labels]:
    """The labels two samples are matched on, as a function (built once per operation, used per sample)."""
    if on:
        keep = frozenset(names or ())
        return lambda labels: tuple(p for p in labels if p[0] in keep)
    skip = frozenset(names or ()) | {"__name__"}
    return lambda labels: tuple(p for p in labels if p[0] not in skip)


def vector_vector(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    """One-to-one matching on all labels but the name (or on/ignoring the given ones)."""
    match = matcher(node.on, node.matching)
    right: dict[Labels, Sample] = {}
    for s in rhs:
        sig = match(s.labels)
        if sig in right:
            raise EvalError(f"found duplicate series for the match group {dict(sig)} on the right hand-side")
        right[sig] = s
    out: list[Sample] = []
    seen: set[Labels] = set()
    for s in lhs:
        sig = match(s.labels)
        other = right.get(sig)
        if other is None:
            continue
        if sig in seen:
            raise EvalError(f"found duplicate series for the match group {dict(sig)} on the left hand-side")
        seen.add(sig)
        labels = s.labels
        if node.op in ARITHMETIC or node.return_bool:
            labels = drop_name(labels)
        if node.on:
            labels = tuple(p for p in labels if p[0] in (node.matching or ()))
        elif node.matching:
            labels = tuple(p for p in labels if p[0] not in node.matching)
        if node.op in COMPARISON:
            hit = compare(node.op, s.value, other.value)
            if node.return_bool:
                out.append(Sample(labels, 1.0 if hit else 0.0))
            elif hit:
                out.append(Sample(labels, s.value))
        else:
            out.append(Sample(labels, scalar_op(node.op, s.value, other.value)))
    return out


def set_op(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    sig = matcher(node.on, node.matching)
    right = {sig(s.labels) for s in rhs}
    if node.op == "and":
        return [s for s in lhs if sig(s.labels) in right]
    if node.op == "unless":
        return [s for s in lhs if sig(s.labels) not in right]
    left = {sig(s.labels) for s in lhs}
    return lhs + [s for s in rhs if sig(s.labels) not in left]


def aggregate(node: Aggregate, vec: Vector) -> Vector:
    groups: dict[Labels, list[float]] = {}
    for s in vec:
        if node.without:
            skip = set(node.grouping) | {"__name__"}
            key = tuple(p for p in s.labels if p[0] not in skip)
        else:
            key = tuple(p for p in s.labels if p[0] in node.grouping)
        groups.setdefault(key, []).append(s.value)
    out = []
    for key, values in groups.items():
        if node.op == "sum":
            value = math.fsum(values)
        elif node.op == "avg":
            value = math.fsum(values) / len(values)
        elif node.op == "min":
            value = min(values, key=lambda v: (math.isnan(v), v))
        elif node.op == "max":
            value = max(values, key=lambda v: (not math.isnan(v), v))
        else:
            value = float(len(values))
        out.append(Sample(key, value))
    return out


def evaluate(node: Node, source: SeriesSource, t: float, memo: dict[object, object] | None = None) -> float | Vector:
    """The value of ``node`` at unix time ``t``: a scalar or an instant vector. Pass the same ``memo`` to
    expressions evaluated over the same source at the same ``t`` to share their selections."""
    return Evaluator(source, t, memo).eval(node)
