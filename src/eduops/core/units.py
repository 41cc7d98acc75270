"""Numbers as a person reads them: bytes in KiB/MiB/GiB, durations in ms/s/min/h/d, percentages, counts.

``humanize(value, unit)`` is what tables, alert values and chart hover texts show; ``unit_of(name, unit)``
guesses a metric's unit from its name when the store has none (``*_bytes``, ``*_seconds``, ``*_pct``...).
Pure functions, pinned by table-driven tests.
"""

from __future__ import annotations

import math

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
BYTES = {"bytes", "byte", "b"}
SECONDS = {"s", "seconds", "second", "sec"}
MILLISECONDS = {"ms", "milliseconds"}
DAYS = {"d", "days", "day"}
PERCENT = {"%", "pct", "percent"}

SUFFIX_UNITS = (
    ("_bytes_per_second", "bytes/s"),
    ("_bytes", "bytes"),
    ("_seconds", "s"),
    ("_ms", "ms"),
    ("_days_left", "d"),
    ("_days", "d"),
    ("_pct", "%"),
    ("_percent", "%"),
)


def unit_of(name: str, unit: str = "") -> str:
    """The unit a series is in: the one it was stored with, else what its name says, else none."""
    if unit:
        return unit
    for suffix, found in SUFFIX_UNITS:
        if name.endswith(suffix):
            return found
    return ""


def number(value: float, digits: int = 3) -> str:
    """A plain number without exponent: 1234567 → 1,234,567; 0.000123 → 0.000123; 12.3456 → 12.3."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    decimals = max(digits - 1 - magnitude, 0)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def bytes_text(value: float) -> str:
    """Binary prefixes, three significant digits: 2.323e10 → '21.6 GiB'; negative sizes keep their sign."""
    size, sign = abs(value), "-" if value < 0 else ""
    index = 0
    while size >= 1024 and index < len(BYTE_UNITS) - 1:
        size /= 1024
        index += 1
    return f"{sign}{number(size)} {BYTE_UNITS[index]}"


def duration_text(seconds: float) -> str:
    """'850 ms', '42 s', '3 min 20 s', '2 h 5 min', '3 d 4 h'; negative durations keep their sign."""
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s < 1:
        return f"{sign}{number(s * 1000)} ms"
    if s < 60:
        return f"{sign}{number(s)} s"
    whole = round(s)
    for big, big_name, small, small_name in ((86400, "d", 3600, "h"), (3600, "h", 60, "min"), (60, "min", 1, "s")):
        if whole >= big:
            first, rest = divmod(whole, big)
            second = rest // small
            return f"{sign}{first} {big_name}" + (f" {second} {small_name}" if second else "")
    return f"{sign}{whole} s"  # not reached


def humanize(value: float | int | None, unit: str = "") -> str:
    """A value with its unit, the way the console and the CLI show it."""
    if value is None:
        return "—"
    v = float(value)
    key = unit.strip().lower()
    if math.isnan(v) or math.isinf(v):
        return number(v)
    if key in BYTES:
        return bytes_text(v)
    if key in ("bytes/s", "b/s"):
        return bytes_text(v) + "/s"
    if key in SECONDS:
        return duration_text(v)
    if key in MILLISECONDS:
        return duration_text(v / 1000)
    if key in DAYS:
        return duration_text(v * 86400)
    if key in PERCENT:
        return f"{number(v)} %"
    return f"{number(v)} {unit}".rstrip()


def yes_no(value: object) -> str:
    """A boolean as the word a reader expects (a msgid: the page translates it)."""
    return "yes" if bool(value) else "no"


def axis_scale(unit: str, values: list[float]) -> tuple[float, str]:
    """(divide by, axis unit) so one chart axis reads in a single readable unit: bytes → the binary prefix
    of the largest value, seconds → ms/s/min/h, anything else as it is (a count has no unit)."""
    key = unit.strip().lower()
    largest = max((abs(v) for v in values), default=0.0)
    if key in BYTES:
        index = 0
        while largest >= 1024 ** (index + 1) and index < len(BYTE_UNITS) - 1:
            index += 1
        return float(1024 ** index), BYTE_UNITS[index]
    if key in SECONDS | MILLISECONDS:
        seconds = largest / 1000 if key in MILLISECONDS else largest
        base = 0.001 if key in MILLISECONDS else 1.0
        for size, name in ((3600.0, "h"), (60.0, "min"), (1.0, "s")):
            if seconds >= 2 * size:
                return size / base, name
        return 0.001 / base, "ms"
    if key in PERCENT:
        return 1.0, "%"
    return 1.0, unit
