"""Alert label and annotation templates: the part of Prometheus's Go templates rules really use.

``{{ $labels.name }}``, ``{{ $value }}``, ``{{ $externalLabels.x }}`` and pipes into ``humanize``,
``humanizePercentage``, ``humanizeDuration``, ``humanize1024``, ``printf "%.1f"``, ``toUpper``,
``toLower``, ``title``. ``$value`` prints like Go's ``%v``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from eduops.errors import UsageError

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_PRINTF = re.compile(r'printf\s+"((?:[^"\\]|\\.)*)"')


def go_float(v: float) -> str:
    """A float as Go's fmt %v prints it: 0.5, 100, 123456, 1.234567e+06, +Inf, NaN."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    if 1e-4 <= abs(v) < 1e6:  # the common case: Python's shortest repr is Go's %v here
        text = repr(v)
        if "e" not in text:
            return text[:-2] if text.endswith(".0") else text
    d = Decimal(repr(v))
    sign, digits, exp10 = d.as_tuple()
    digs = "".join(str(x) for x in digits).rstrip("0") or "0"
    assert isinstance(exp10, int)
    exp = len("".join(str(x) for x in digits)) + exp10 - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:  # Go switches to %e at 1e+06 for shortest formatting
        mant = digs[0] + ("." + digs[1:] if len(digs) > 1 else "")
        return f"{prefix}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    text = format(abs(d), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return prefix + text


def _si(v: float, base: float, big: list[str], small: list[str]) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    if abs(v) >= 1:
        prefix = ""
        for p in big:
            if abs(v) < base:
                break
            prefix, v = p, v / base
        return f"{v:.4g}{prefix}"
    prefix = ""
    for p in small:
        if abs(v) >= 1:
            break
        prefix, v = p, v * base
    return f"{v:.4g}{prefix}"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    if v == 0:
        return "0s"
    if abs(v) < 1:
        return _si(v, 1000, [], ["m", "u", "n", "p", "f", "a", "z", "y"]) + "s"
    sign = "-" if v < 0 else ""
    v = abs(v)
    days, rem = divmod(int(v), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{v:.4g}s"


def _apply(func: str, value: object) -> str:
    num = float(str(value)) if isinstance(value, int | float) or _is_number(value) else None
    if func == "humanize" and num is not None:
        return _si(num, 1000, ["k", "M", "G", "T", "P", "E", "Z", "Y"], ["m", "u", "n", "p", "f", "a", "z", "y"])
    if func == "humanize1024" and num is not None:
        return _si(num, 1024, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], [])
    if func == "humanizePercentage" and num is not None:
        return f"{num * 100:.4g}%"
    if func == "humanizeDuration" and num is not None:
        return humanize_duration(num)
    if func == "toUpper":
        return str(value).upper()
    if func == "toLower":
        return str(value).lower()
    if func == "title":
        return str(value).title()
    printf = _PRINTF.fullmatch(func)
    if printf:
        fmt = printf.group(1).replace('\\"', '"')
        try:
            return fmt % (num if num is not None and re.search(r"%[-+ #0-9.]*[eEfFgGd]", fmt) else str(value))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"template: printf {fmt!r} cannot format {value!r}: {exc}") from None
    raise UsageError(
        f"template function {func.split()[0]!r} is not supported; use humanize, "
        "humanizePercentage, humanizeDuration, humanize1024, printf, toUpper, toLower or title"
    )


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _variable(name: str, labels: dict[str, str], value: float, external: dict[str, str]) -> object:
    if name == "$value":
        return value
    for prefix, mapping in (("$labels.", labels), ("$externalLabels.", external)):
        if name.startswith(prefix):
            return mapping.get(name[len(prefix) :], "")
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    raise UsageError(f"template: unknown variable {name!r}; use $labels.<name>, $value or $externalLabels.<name>")


def expand(text: str, labels: dict[str, str], value: float, external: dict[str, str] | None = None) -> str:
    """Render one template string for an alert with ``labels`` and ``value``."""
    external = external or {}

    def action(m: re.Match[str]) -> str:
        parts = [p.strip() for p in m.group(1).split("|")]
        head = parts[0]
        if head.startswith(("humanize", "printf", "toUpper", "toLower", "title")) and " " in head:
            func, arg = head.rsplit(" ", 1)
            parts = [arg, func, *parts[1:]]
            head = arg
        current = _variable(head, labels, value, external)
        for func in parts[1:]:
            current = _apply(func, current)
        return go_float(current) if isinstance(current, float) else str(current)

    return _ACTION.sub(action, text)


def check(text: str) -> None:
    """Raise UsageError when ``text`` uses a variable or function this subset does not know."""
    expand(text, {}, 1.0)
