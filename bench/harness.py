"""What every bench shares: interleaved rounds, goals, verdicts, the table and the results file.

A bench measures eduops and its baseline (the reference doing the same work as well as it can be done)
in interleaved rounds (at least three; who goes first alternates, so caches and writeback favour
neither), turns each round into one figure (usually eduops / baseline, or an absolute time or rate),
and reports it against a :class:`Goal`:

    path | goal | median | range | pass/FAIL

`python -m bench` sets ``EDUOPS_BENCH_RESULTS`` to a file; :func:`report` appends one JSON line per
goal to it, and the runner prints the whole table from those lines at the end. ``--quick`` (or
``EDUOPS_BENCH_QUICK=1``) asks every bench for its reduced sizes.

The verdict and table functions are pure (tests/test_bench_harness.py pins them).
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_ENV = "EDUOPS_BENCH_RESULTS"
QUICK_ENV = "EDUOPS_BENCH_QUICK"
MIN_ROUNDS = 3
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
HEADER = ("path", "goal", "median", "range", "verdict")


@dataclass(frozen=True)
class Goal:
    """What a figure must satisfy: ``value <comparison> target``, in every round or by the median."""

    path: str  # what is measured, e.g. "xAPI ingest / raw Arrow insert"
    goal: str  # the goal as the issue words it, e.g. "≥ 0.5× the raw insert"
    comparison: str  # one of COMPARISONS
    target: float
    every_round: bool = False  # True: each round must hold; False: the median must
    unit: str = "×"  # how the figure prints: "×" (a ratio), "s", "ms", "/s", "%", "cores"

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {', '.join(COMPARISONS)}, not {self.comparison!r}")


@dataclass(frozen=True)
class Result:
    goal: Goal
    values: tuple[float, ...]  # one figure per round
    median: float
    low: float
    high: float
    passed: bool
    note: str = ""
    script: str = ""
    quick: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def holds(comparison: str, value: float, target: float) -> bool:
    return COMPARISONS[comparison](value, target)


def verdict(goal: Goal, values: Sequence[float]) -> bool:
    """Whether the figures meet the goal: every round's, or the median's. No figures never pass."""
    if not values:
        return False
    if goal.every_round:
        return all(holds(goal.comparison, v, goal.target) for v in values)
    return holds(goal.comparison, statistics.median(values), goal.target)


def summarize(goal: Goal, values: Sequence[float], note: str = "", script: str = "", quick: bool = False,
              extra: dict[str, Any] | None = None) -> Result:
    vals = tuple(float(v) for v in values)
    if not vals:
        return Result(goal, vals, float("nan"), float("nan"), float("nan"), False, note, script, quick, extra or {})
    return Result(goal, vals, statistics.median(vals), min(vals), max(vals), verdict(goal, vals), note, script,
                  quick, extra or {})


def fmt(value: float, unit: str) -> str:
    """A figure with its unit, at a precision that suits its size."""
    if value != value:  # NaN: nothing was measured
        return "—"
    if unit == "×":
        return f"{value:.2f}×" if abs(value) < 100 else f"{value:,.0f}×"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:,.0f} ms" if abs(value) >= 10 else f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s" if abs(value) < 100 else f"{value:,.0f} s"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "cores":
        return f"{value:.2f} cores"
    return f"{value:.3g} {unit}".strip()


def cells(result: Result) -> tuple[str, str, str, str, str]:
    goal = result.goal
    rule = "every round" if goal.every_round else "median"
    rounds = len(result.values)
    verdict_text = "pass" if result.passed else "FAIL"
    if result.quick:
        verdict_text += " (quick)"
    return (goal.path, f"{goal.goal} ({rule})", fmt(result.median, goal.unit),
            f"{fmt(result.low, goal.unit)} – {fmt(result.high, goal.unit)} ({rounds} rounds)", verdict_text)


def row(result: Result) -> str:
    return " | ".join(cells(result))


def table(results: Iterable[Result]) -> str:
    """The whole table, columns padded to their widest cell."""
    body = [cells(r) for r in results]
    widths = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [HEADER, *body]]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def failed(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if not r.passed]


def to_json(result: Result) -> str:
    data = asdict(result)
    data["values"] = list(result.values)
    return json.dumps(data, ensure_ascii=False, allow_nan=True)


def from_json(line: str) -> Result:
    data = json.loads(line)
    goal = Goal(**data.pop("goal"))
    data["values"] = tuple(data["values"])
    return Result(goal=goal, **data)


def read_results(path: Path) -> list[Result]:
    if not path.exists():
        return []
    return [from_json(line) for line in path.read_text().splitlines() if line.strip()]


# --- running rounds (not pure: clocks) -------------------------------------------------------------

def is_quick(argv: Sequence[str] | None = None) -> bool:
    argv = sys.argv[1:] if argv is None else argv
    return "--quick" in argv or os.environ.get(QUICK_ENV) == "1"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the flags every bench takes: --quick and --rounds (≥ 3)."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--quick", action="store_true", help="reduced sizes (what `python -m bench --quick` passes)")
    p.add_argument("--rounds", type=int, default=MIN_ROUNDS, help=f"interleaved rounds (at least {MIN_ROUNDS})")
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.rounds < MIN_ROUNDS:
        p.error(f"--rounds must be at least {MIN_ROUNDS}")
    args.quick = args.quick or os.environ.get(QUICK_ENV) == "1"
    return args


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(rounds: int, ours: Callable[[int], float], baseline: Callable[[int], float],
                label: str = "") -> list[tuple[float, float]]:
    """``rounds`` pairs (ours, baseline); even rounds run the baseline first, odd rounds eduops first."""
    pairs = []
    for n in range(rounds):
        if n % 2:
            mine = ours(n)
            base = baseline(n)
        else:
            base = baseline(n)
            mine = ours(n)
        pairs.append((mine, base))
        if label:
            print(f"  {label} round {n + 1}: eduops {mine:.4g}, baseline {base:.4g}", flush=True)
    return pairs


SPIN_STEPS = 2_000_000  # about 0.1 s of one core


def _spin(steps: int = SPIN_STEPS) -> float:
    """Seconds a fixed piece of pure-Python work takes this process."""
    started, x = time.perf_counter(), 0
    for i in range(steps):
        x += i
    return time.perf_counter() - started


def _spin_into(answers: Any, start: Any) -> None:
    start.wait()
    answers.put(_spin())


def parallel_capacity(repeats: int = 3) -> float:
    """How much pure-Python work two processes get done at once, as a multiple of what one does alone (2.0 on
    two independent cores; less where the two virtual cores share a physical one, or a neighbour takes it).
    Each time is the shortest of ``repeats`` (the least disturbed). A figure per core-second (µs of CPU per
    statement) inflates by 2 / this when both cores are busy."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    alone, together = [], []
    for _ in range(repeats):
        alone.append(_spin())
        answers, start = context.Queue(), context.Event()
        workers = [context.Process(target=_spin_into, args=(answers, start)) for _ in range(2)]
        for worker in workers:
            worker.start()
        start.set()
        together.append(max(answers.get(timeout=60) for _ in workers))
        for worker in workers:
            worker.join()
    return 2 * min(alone) / min(together)


_reported: list[Result] = []


def report(goal: Goal, values: Sequence[float], note: str = "", extra: dict[str, Any] | None = None) -> Result:
    """Print the goal's row and append it to the results file (when `python -m bench` named one)."""
    script = Path(sys.argv[0]).stem
    result = summarize(goal, values, note, script, is_quick(), extra)
    print(row(result) + (f"   [{note}]" if note else ""), flush=True)
    _reported.append(result)
    target = os.environ.get(RESULTS_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(to_json(result) + "\n")
    return result


def finish() -> int:
    """The exit code for a bench run on its own: 1 when a goal it reported failed."""
    return 1 if failed(_reported) else 0
