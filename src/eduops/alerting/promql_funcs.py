"""The PromQL functions eduops supports, with Prometheus's arithmetic (extrapolation, regression)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from eduops.alerting.promql import Call, MatrixSelector, VectorSelector
from eduops.alerting.promql_eval import Labels, Sample, Vector, drop_name

if TYPE_CHECKING:
    from eduops.alerting.promql_eval import Evaluator

Window = list[tuple[float, float]]


def extrapolated_rate(
    points: Window, range_start: float, range_end: float, is_counter: bool, is_rate: bool
) -> float | None:
    """Prometheus's extrapolatedRate: the change over the window, extrapolated to its edges."""
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    result = last_v - first_v
    if is_counter:
        prev = first_v
        for _, v in points[1:]:
            if v < prev:
                result += prev
            prev = v
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    to_start = first_t - range_start
    to_end = range_end - last_t
    average = sampled / (len(points) - 1)
    if is_counter and result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result *= interval / sampled
    if is_rate:
        result /= range_end - range_start
    return result


def linear_regression(points: Window, intercept_time: float) -> tuple[float, float]:
    """(slope per second, intercept at ``intercept_time``) by least squares, as Prometheus does."""
    n = float(len(points))
    sum_x = sum_y = sum_xy = sum_x2 = 0.0
    const_y = True
    init_y = points[0][1]
    for t, v in points:
        if v != init_y:
            const_y = False
        x = t - intercept_time
        sum_x += x
        sum_y += v
        sum_xy += x * v
        sum_x2 += x * x
    if const_y:
        return 0.0, init_y
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    slope = cov_xy / var_x
    return slope, sum_y / n - slope * sum_x / n


def quantile(q: float, values: list[float]) -> float:
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = max(int(math.floor(rank)), 0)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def absent_labels(node: object) -> Labels:
    if isinstance(node, MatrixSelector):
        node = node.selector
    if not isinstance(node, VectorSelector):
        return ()
    found: dict[str, str] = {}
    dup: set[str] = set()
    for m in node.matchers:
        if m.name == "__name__" or m.op != "=":
            continue
        if m.name in found:
            dup.add(m.name)
        found[m.name] = m.value
    return tuple(sorted((k, v) for k, v in found.items() if k not in dup))


def _over_time(func: str, window: Window, q: float = 0.0) -> float:
    values = [v for _, v in window]
    if func == "avg_over_time":
        return math.fsum(values) / len(values)
    if func == "min_over_time":
        return min(values)
    if func == "max_over_time":
        return max(values)
    if func == "sum_over_time":
        return math.fsum(values)
    if func == "count_over_time":
        return float(len(values))
    if func == "last_over_time":
        return values[-1]
    return quantile(q, values)


def call(ev: Evaluator, node: Call) -> float | Vector:
    f, args = node.func, node.args
    if f == "time":
        return float(ev.t)
    if f == "vector":
        return [Sample((), ev.scalar(args[0]))]
    if f == "scalar":
        vec = ev.vector(args[0])
        return vec[0].value if len(vec) == 1 else math.nan
    if f in ("abs", "clamp_min", "clamp_max"):
        vec = ev.vector(args[0])
        if f == "abs":
            return [Sample(drop_name(s.labels), abs(s.value)) for s in vec]
        bound = ev.scalar(args[1])
        pick = max if f == "clamp_min" else min
        return [Sample(drop_name(s.labels), pick(s.value, bound)) for s in vec]
    if f == "absent":
        return [] if ev.vector(args[0]) else [Sample(absent_labels(args[0]), 1.0)]
    matrix_arg = args[1] if f == "quantile_over_time" else args[0]
    assert isinstance(matrix_arg, MatrixSelector)
    series = ev.matrix(matrix_arg)
    if f == "absent_over_time":
        return [] if series else [Sample(absent_labels(matrix_arg), 1.0)]
    out: Vector = []
    end = ev.t - matrix_arg.selector.offset
    start = end - matrix_arg.range
    q = ev.scalar(args[0]) if f == "quantile_over_time" else 0.0
    horizon = ev.scalar(args[1]) if f == "predict_linear" else 0.0
    for labels, window in series:
        value: float | None
        if f in ("rate", "increase", "delta"):
            value = extrapolated_rate(window, start, end, f != "delta", f == "rate")
        elif f in ("deriv", "predict_linear"):
            if len(window) < 2:
                continue
            slope, intercept = linear_regression(window, ev.t if f == "predict_linear" else window[0][0])
            value = slope if f == "deriv" else slope * horizon + intercept
        else:
            value = _over_time(f, window, q)
        if value is not None:
            out.append(Sample(labels if f == "last_over_time" else drop_name(labels), value))
    return out
