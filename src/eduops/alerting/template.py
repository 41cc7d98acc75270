"""Alert label and annotation templates as Prometheus expands them: Go's text/template
(``eduops.alerting.gotemplate``) with Prometheus's variables (``$labels``, ``$value``,
``$externalLabels``, ``$externalURL``, and ``.Labels``, ``.Value`` …) and functions (humanize*,
printf, match, reReplaceAll, title, toUpper, toLower, stripPort, parseDuration, comparisons and
logic …). ``$value`` prints like Go's ``%v``. ``query`` and what works on its results (first,
label, value, sortByLabel, strvalue) are named as unsupported when a rule file is loaded. An error
while expanding gives ``<error expanding template: …>``, as Prometheus does.
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, urlsplit

from eduops.alerting import gotemplate
from eduops.alerting.gotemplate import TemplateError, Unsupported
from eduops.errors import UsageError


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


def _num(value: Any, func: str) -> float:
    """Prometheus's convertToFloat: numbers and numeric strings."""
    if isinstance(value, bool):
        raise UsageError(f"{func}: can't convert {value} to float")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise UsageError(f"{func}: can't convert {value!r} to float") from None


def humanize(v: Any) -> str:
    return _si(
        _num(v, "humanize"), 1000, ["k", "M", "G", "T", "P", "E", "Z", "Y"], ["m", "u", "n", "p", "f", "a", "z", "y"]
    )


def humanize1024(v: Any) -> str:
    n = _num(v, "humanize1024")
    return f"{n:.4g}" if abs(n) < 1 else _si(n, 1024, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], [])


def go_time(when: datetime) -> str:
    """A time as Go's time.Time.String prints a UTC time: 2027-01-15 08:00:00.5 +0000 UTC."""
    text = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def humanize_timestamp(v: Any) -> str:
    n = _num(v, "humanizeTimestamp")
    if math.isnan(n) or math.isinf(n):
        return f"{n:.4g}"
    return go_time(datetime.fromtimestamp(n, UTC))


def show(value: Any) -> str:
    """How Go's template prints a value."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, datetime):
        return go_time(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{show(k)}:{show(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(show(v) for v in value) + "]"
    return str(value)


def _go_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(value), type(value).__name__)


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs templates use: v s d f F e E g G q x X o b t c %."""
    out: list[str] = []
    pos, used = 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2) or "", m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        spec = f"%{flags}{width}" + (f".{prec}" if prec is not None else "")
        if verb in "vs" or (verb == "d" and isinstance(arg, str)):
            text = show(arg) if verb == "v" or isinstance(arg, str) else f"%!s({_go_type(arg)}={show(arg)})"
            if verb == "d":
                text = f"%!d(string={arg})"
            out.append((f"%{flags}{width}s" % text) if width else text)
        elif verb in "dxXob" and isinstance(arg, int) and not isinstance(arg, bool):
            out.append(format(arg, "b") if verb == "b" else (spec + verb) % arg)
        elif verb in "xX" and isinstance(arg, str):
            out.append(arg.encode().hex() if verb == "x" else arg.encode().hex().upper())
        elif verb in "eEfFgG" and isinstance(arg, float):
            if verb in "gG" and prec is None:
                text = go_float(arg) if verb == "g" else go_float(arg).upper()
                out.append((f"%{flags}{width}s" % text) if width else text)
            else:
                out.append((spec + verb) % arg)
        elif verb == "q" and isinstance(arg, str):
            out.append(json.dumps(arg, ensure_ascii=False))
        elif verb == "t" and isinstance(arg, bool):
            out.append(show(arg))
        elif verb == "c" and isinstance(arg, int):
            out.append(chr(arg))
        else:
            out.append(f"%!{verb}({_go_type(arg)}={show(arg)})")
    out.append(fmt[pos:])
    if used < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{_go_type(a)}={show(a)}" for a in args[used:]) + ")")
    return "".join(out)


def go_sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += show(a)
    return out


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


def _comparable(a: Any, b: Any, ordered: bool) -> None:
    ka, kb = _kind(a), _kind(b)
    if ka == "other" or kb == "other" or (ordered and "bool" in (ka, kb)):
        raise UsageError("invalid type for comparison")
    if ka != kb:
        raise UsageError("incompatible types for comparison")


def eq(a: Any, *others: Any) -> bool:
    if not others:
        raise UsageError("missing argument for comparison")
    for b in others:
        _comparable(a, b, False)
        if a == b:
            return True
    return False


def _ordered(op: str) -> Any:
    def compare(a: Any, b: Any) -> bool:
        _comparable(a, b, True)
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]

    return compare


def go_title(text: Any) -> str:
    """strings.Title: upper-case the first letter of each word, leave the rest alone."""
    return re.sub(r"(?:^|(?<=[^\w]))(\w)", lambda m: m.group(1).upper(), str(text))


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    python_repl = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", repl.replace("\\", "\\\\"))
    return re.sub(pattern, python_repl, text)


def strip_port(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")] if "]" in hostport else hostport
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def strip_domain(hostport: str) -> str:
    host, sep, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
    if not sep:
        host = hostport
    if re.fullmatch(r"[\d.]+", host):
        return hostport
    return host.split(".", 1)[0] + (f":{port}" if sep else "")


def index(container: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(container, dict):
            container = container.get(key, "")
        elif isinstance(container, list | tuple | str):
            if not isinstance(key, int) or not 0 <= key < len(container):
                raise UsageError(f"index out of range: {key}")
            container = container[key]
        else:
            raise UsageError(f"can't index item of type {_go_type(container)}")
    return container


def parse_go_duration(text: str) -> float:
    from eduops.alerting.promql import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


_QUERY = "it runs PromQL inside a template; put the value in the rule's expression or a label instead"

FUNCS: dict[str, Any] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": lambda v: humanize_duration(_num(v, "humanizeDuration")),
    "humanizePercentage": lambda v: f"{_num(v, 'humanizePercentage') * 100:.4g}%",
    "humanizeTimestamp": humanize_timestamp,
    "toTime": lambda v: datetime.fromtimestamp(_num(v, "toTime"), UTC),
    "printf": go_sprintf,
    "print": go_sprint,
    "println": lambda *a: " ".join(show(x) for x in a) + "\n",
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": go_title,
    "match": lambda pattern, text: re.search(pattern, text) is not None,
    "reReplaceAll": re_replace_all,
    "safeHtml": lambda s: s,
    "stripPort": strip_port,
    "stripDomain": strip_domain,
    "parseDuration": parse_go_duration,
    "externalURL": None,  # bound per call
    "pathPrefix": None,
    "graphLink": lambda expr: "/graph?g0.expr=" + quote_plus(expr) + "&g0.tab=0",
    "tableLink": lambda expr: "/graph?g0.expr=" + quote_plus(expr) + "&g0.tab=1",
    "and": None,  # handled by the interpreter (short-circuit)
    "or": None,
    "not": lambda v: not gotemplate.truth(v),
    "eq": eq,
    "ne": lambda a, b: not eq(a, b),
    "lt": _ordered("lt"),
    "le": _ordered("le"),
    "gt": _ordered("gt"),
    "ge": _ordered("ge"),
    "len": lambda v: len(v),
    "index": index,
    "html": lambda v: html_lib.escape(show(v), quote=True).replace("&#x27;", "&#39;"),
    "urlquery": lambda *a: quote_plus(go_sprint(*a)),
    "js": lambda v: json.dumps(show(v))[1:-1].replace("'", "\\'"),
    "query": Unsupported(_QUERY),
    "first": Unsupported("it works on query results; " + _QUERY),
    "label": Unsupported("it works on query results; " + _QUERY),
    "value": Unsupported("it works on query results; " + _QUERY),
    "strvalue": Unsupported("it works on query results; " + _QUERY),
    "sortByLabel": Unsupported("it works on query results; " + _QUERY),
    "args": Unsupported("it builds arguments for {{ template }}, which alert templates do not use in eduops"),
}


@lru_cache(maxsize=4096)
def compile_template(text: str) -> gotemplate.Template:
    return gotemplate.parse(text, FUNCS)


@lru_cache(maxsize=64)
def _funcs(external_url: str) -> dict[str, Any]:
    return dict(FUNCS, externalURL=lambda: external_url, pathPrefix=lambda: urlsplit(external_url).path)


def expand(
    text: str,
    labels: dict[str, str],
    value: float,
    external: dict[str, str] | None = None,
    external_url: str = "",
) -> str:
    """Render one template string for an alert with ``labels`` (including ``__name__`` when the query
    kept it) and ``value``; an expansion error reads ``<error expanding template: …>`` as in Prometheus."""
    if "{{" not in text:
        return text
    external = external or {}
    funcs = _funcs(external_url)
    data = {"Labels": labels, "ExternalLabels": external, "ExternalURL": external_url, "Value": value}
    variables = {"$labels": labels, "$externalLabels": external, "$externalURL": external_url, "$value": value}
    try:
        return compile_template(text).render(data, variables, funcs, show)
    except TemplateError as exc:
        return f"<error expanding template: {exc.message}>"


def check(text: str) -> None:
    """Raise UsageError when Prometheus would refuse ``text`` (syntax, unknown function or variable),
    or when it uses what eduops cannot run (``query``)."""
    if "{{" not in text:
        return
    template = compile_template(text)
    try:
        template.render(
            {"Labels": {}, "ExternalLabels": {}, "ExternalURL": "", "Value": 0.0},
            {"$labels": {}, "$externalLabels": {}, "$externalURL": "", "$value": 0.0},
            dict(FUNCS, externalURL=lambda: "", pathPrefix=lambda: ""),
            show,
        )
    except TemplateError as exc:
        if "undefined variable" in exc.message:
            raise
