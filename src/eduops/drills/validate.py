"""Checking an experiment before anything is injected: unknown faults, missing targets, bad tolerances."""

from __future__ import annotations

from pathlib import Path

from eduops.drills.detect import find_rule
from eduops.drills.experiment import Activity, Experiment
from eduops.drills.faults import FAULTS, missing_arguments
from eduops.drills.probes import PROBES, REQUIRED, valid_tolerance
from eduops.drills.proxy import split_address
from eduops.errors import UsageError


def _fail(exp: Experiment, line: int, message: str, fix: str) -> UsageError:
    return UsageError(f"{exp.source}:{line or 1}: {message}; {fix}")


def _probe(exp: Experiment, a: Activity) -> None:
    kind = a.provider.get("type")
    if kind not in PROBES:
        raise _fail(exp, a.line, f"probe {a.name!r} has the unknown provider type {kind!r}",
                    f"use one of: {', '.join(PROBES)}")
    missing = [k for k in REQUIRED[str(kind)] if k not in a.provider]
    if missing:
        raise _fail(exp, a.line, f"probe {a.name!r} ({kind}) has no {', '.join(missing)}",
                    f"add `{missing[0]}:` under its provider")
    if not valid_tolerance(a.tolerance):
        raise _fail(exp, a.line, f"probe {a.name!r} has the tolerance {a.tolerance!r}",
                    "use true/false, a number, [low, high], or {max: x}")


def _action(exp: Experiment, a: Activity, proxies: set[str], method_actions: set[str]) -> None:
    kind = a.provider.get("type")
    if kind == "revert":
        if a.provider.get("action") not in method_actions:
            raise _fail(exp, a.line, f"rollback {a.name!r} reverts {a.provider.get('action')!r}, which is no "
                        "action of the method", f"name one of: {', '.join(sorted(method_actions)) or '(none)'}")
        return
    if kind != "fault":
        raise _fail(exp, a.line, f"action {a.name!r} has the provider type {kind!r}",
                    "use `type: fault` with a fault `name`, or `type: revert` with the `action` to undo")
    name = a.provider.get("name")
    if name not in FAULTS:
        raise _fail(exp, a.line, f"unknown fault {name!r} in action {a.name!r}",
                    f"use one of: {', '.join(FAULTS)} (see `eduops drill list --faults`)")
    fault = FAULTS[str(name)]
    missing = missing_arguments(fault, a.provider)
    if missing:
        raise _fail(exp, a.line, f"fault {name} in action {a.name!r} has no target: {', '.join(missing)} missing",
                    f"add `{missing[0].split(' or ')[0]}:` under its provider ({fault.description})")
    servers = {str(t.get("name")) for t in exp.environment.get("tls_servers") or [] if isinstance(t, dict)}
    if "server" in fault.required and a.provider["server"] not in servers:
        declared = ", ".join(sorted(servers)) or "none"
        raise _fail(exp, a.line, f"action {a.name!r} uses the TLS server {a.provider['server']!r}, which is not "
                    "declared", f"declare it under environment.tls_servers (declared: {declared})")
    if "proxy" in fault.required and a.provider["proxy"] not in proxies:
        raise _fail(exp, a.line, f"action {a.name!r} uses the proxy {a.provider['proxy']!r}, which is not declared",
                    f"declare it under environment.proxies (declared: {', '.join(sorted(proxies)) or 'none'})")


def validate(exp: Experiment) -> None:
    """Raise UsageError (with the line and the fix) for anything the drill could not carry out."""
    proxies: set[str] = set()
    for p in exp.environment.get("proxies") or []:
        if not isinstance(p, dict) or not {"name", "listen", "upstream"} <= set(p):
            raise _fail(exp, 1, f"environment.proxies entry {p!r} is incomplete",
                        "give each proxy name, listen (host:port) and upstream (host:port)")
        try:
            split_address(str(p["listen"]))
            split_address(str(p["upstream"]))
        except ValueError as exc:
            raise _fail(exp, 1, f"proxy {p['name']!r}: {exc}", "write addresses as host:port") from None
        if p.get("protocol", "tcp") not in ("tcp", "udp"):
            raise _fail(exp, 1, f"proxy {p['name']!r} has protocol {p.get('protocol')!r}", "use tcp or udp")
        proxies.add(str(p["name"]))
    for a in exp.probes:
        _probe(exp, a)
    method_actions = {a.name for a in exp.method if a.kind == "action"}
    for a in exp.method:
        if a.kind == "probe":
            _probe(exp, a)
        elif a.kind == "action":
            _action(exp, a, proxies, method_actions)
    if not method_actions:
        raise _fail(exp, 1, "the method injects no fault", "add an action with `provider: {type: fault, name: ...}`")
    for a in exp.rollbacks:
        if a.kind == "action":
            _action(exp, a, proxies, method_actions)
    if exp.detection.alert:
        base = Path(exp.source).parent
        find_rule(exp.detection.alert, [base / r if not Path(r).is_absolute() else Path(r)
                                        for r in exp.detection.rules])
