"""The bench harness's verdicts, rows and table (bench/harness.py): pure functions, table-driven."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    Goal,
    cells,
    failed,
    fmt,
    from_json,
    interleaved,
    summarize,
    table,
    to_json,
    verdict,
)

AT_LEAST_HALF = Goal("ingest / raw insert", "≥ 0.5×", ">=", 0.5)
EVERY_UNDER_1S = Goal("retention 10M", "< 1 s", "<", 1.0, every_round=True, unit="s")


@pytest.mark.parametrize(("goal", "values", "passes"), [
    (AT_LEAST_HALF, [0.4, 0.6, 0.7], True),  # the median (0.6) holds though one round does not
    (AT_LEAST_HALF, [0.4, 0.45, 0.9], False),  # the median (0.45) does not
    (AT_LEAST_HALF, [0.5, 0.5, 0.5], True),  # ≥ includes the target
    (EVERY_UNDER_1S, [0.57, 0.8, 0.9], True),
    (EVERY_UNDER_1S, [0.57, 0.8, 1.19], False),  # one round in three over: fails
    (EVERY_UNDER_1S, [0.5, 1.0, 0.5], False),  # < excludes the target
    (Goal("heat map", "≤ 1.5×", "<=", 1.5), [1.5, 1.6, 1.4], True),
    (Goal("x", "> 2", ">", 2.0), [2.0, 2.0, 3.0], False),
    (AT_LEAST_HALF, [], False),  # nothing measured never passes
    (EVERY_UNDER_1S, [], False),
])
def test_verdict(goal: Goal, values: list[float], passes: bool) -> None:
    assert verdict(goal, values) is passes


def test_an_unknown_comparison_is_refused() -> None:
    with pytest.raises(ValueError, match="comparison must be one of"):
        Goal("x", "x", "=>", 1.0)


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.374, "×", "0.37×"),
    (1234.0, "×", "1,234×"),
    (21503.2, "/s", "21,503/s"),
    (0.5, "s", "0.50 s"),
    (312.4, "ms", "312 ms"),
    (4.26, "ms", "4.3 ms"),
    (0.25, "%", "0.25%"),
    (0.0776, "cores", "0.08 cores"),
    (3.0, "MB", "3 MB"),
    (float("nan"), "s", "—"),
])
def test_fmt(value: float, unit: str, text: str) -> None:
    assert fmt(value, unit) == text


@pytest.mark.parametrize(("goal", "values", "expected"), [
    (AT_LEAST_HALF, [0.71, 0.37, 0.5],
     ("ingest / raw insert", "≥ 0.5× (median)", "0.50×", "0.37× – 0.71× (3 rounds)", "pass")),
    (EVERY_UNDER_1S, [0.57, 1.19, 0.8],
     ("retention 10M", "< 1 s (every round)", "0.80 s", "0.57 s – 1.19 s (3 rounds)", "FAIL")),
])
def test_cells(goal: Goal, values: list[float], expected: tuple[str, ...]) -> None:
    assert cells(summarize(goal, values)) == expected


def test_quick_runs_say_so_in_the_verdict() -> None:
    assert cells(summarize(AT_LEAST_HALF, [1, 1, 1], quick=True))[4] == "pass (quick)"


def test_table_has_a_header_a_rule_and_one_aligned_row_per_result() -> None:
    results = [summarize(AT_LEAST_HALF, [0.6, 0.7, 0.8]), summarize(EVERY_UNDER_1S, [0.5, 1.2, 0.7])]
    lines = table(results).splitlines()
    assert lines[0].split(" | ")[0].strip() == "path"
    assert set(lines[1]) <= {"-", "|"}
    assert len(lines) == 4
    assert lines[2].startswith("ingest / raw insert") and lines[2].endswith("pass")
    assert lines[3].startswith("retention 10M") and lines[3].endswith("FAIL")
    # the column separators line up
    assert len({line.index(" | ") for line in (lines[0], lines[2], lines[3])}) == 1
    assert [r.goal.path for r in failed(results)] == ["retention 10M"]


def test_a_result_survives_the_results_file() -> None:
    result = summarize(EVERY_UNDER_1S, [0.5, 0.6, 0.7], note="SQLite", script="monitoring_rules", quick=True,
                       extra={"series": 10000})
    assert from_json(to_json(result)) == result
    empty = from_json(to_json(summarize(AT_LEAST_HALF, [])))
    assert math.isnan(empty.median) and not empty.passed


def test_interleaved_alternates_who_goes_first() -> None:
    order: list[str] = []

    def ours(n: int) -> float:
        order.append(f"eduops{n}")
        return float(n)

    def base(n: int) -> float:
        order.append(f"base{n}")
        return 10.0 + n

    pairs = interleaved(4, ours, base)
    assert pairs == [(0.0, 10.0), (1.0, 11.0), (2.0, 12.0), (3.0, 13.0)]
    assert order == ["base0", "eduops0", "eduops1", "base1", "base2", "eduops2", "eduops3", "base3"]


def test_python_m_bench_runs_each_bench_script_and_never_itself() -> None:
    import importlib

    runner = importlib.import_module("bench.__main__")
    names = [p.name for p in runner.scripts([])]
    assert "analytics_ingest.py" in names and "xapi_queries.py" in names
    assert not [n for n in names if n.startswith("_")]  # __main__.py running itself would recurse without end
    assert {p.stem for p in runner.scripts(["rtc_"])} == {"rtc_breakdown", "rtc_ingest"}
    # every script it runs reports goals (a helper script such as a reference server is named _*.py)
    assert not [p.name for p in runner.scripts([]) if "report(" not in p.read_text()]


def test_python_m_bench_refuses_an_unknown_option_before_running_anything() -> None:
    import importlib

    runner = importlib.import_module("bench.__main__")
    with pytest.raises(SystemExit) as exc:
        runner.main(["--quik"])  # a typo must not start the full-size run
    assert exc.value.code == 2
