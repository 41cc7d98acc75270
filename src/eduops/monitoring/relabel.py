"""Prometheus's relabelling and target-label rules as pure functions.

- ``relabel(labels, configs)``: ``relabel_configs`` / ``metric_relabel_configs`` with the actions
  replace, keep, drop, labelmap, labeldrop, labelkeep (regexes fully anchored, ``$1``/``${1}``
  references); None when the target or sample is dropped.
- ``target_labels(address, job, scheme, path, extra, configs)``: a target's labels after
  relabelling: ``instance`` defaults to ``__address__``; labels starting with ``__`` go.
- ``sample_labels(exported, target, honor_labels)``: how a scraped sample's labels meet its target's:
  on a clash the target wins and the exporter's value is kept as ``exported_<name>``, unless
  ``honor_labels`` (then the exporter's wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ACTIONS = ("replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep")


@dataclass(frozen=True)
class RelabelRule:
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: str = "(.*)"
    target_label: str = ""
    replacement: str = "$1"
    action: str = "replace"


@lru_cache(maxsize=1024)
def anchored(regex: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{regex})$")


def expand_refs(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.Expand: ``$1``, ``${1}``, ``$name``; an unknown group is empty."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(2)
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:  # no such group
            return ""

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", one, template)


def relabel(labels: dict[str, str], rules: list[RelabelRule]) -> dict[str, str] | None:
    out = dict(labels)
    for rule in rules:
        pattern = anchored(rule.regex)
        value = rule.separator.join(out.get(name, "") for name in rule.source_labels)
        if rule.action == "keep":
            if not pattern.match(value):
                return None
        elif rule.action == "drop":
            if pattern.match(value):
                return None
        elif rule.action == "replace":
            m = pattern.match(value)
            if m is None:
                continue
            target = expand_refs(rule.target_label, m)
            result = expand_refs(rule.replacement, m)
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", target):
                continue
            if result:
                out[target] = result
            else:
                out.pop(target, None)
        elif rule.action == "labelmap":
            for name, v in list(out.items()):
                m = pattern.match(name)
                if m:
                    out[expand_refs(rule.replacement, m)] = v
        elif rule.action == "labeldrop":
            out = {k: v for k, v in out.items() if not pattern.match(k)}
        elif rule.action == "labelkeep":
            out = {k: v for k, v in out.items() if pattern.match(k)}
    return out


def target_labels(
    address: str,
    job: str,
    scheme: str,
    metrics_path: str,
    extra: dict[str, str],
    rules: list[RelabelRule],
) -> dict[str, str] | None:
    """The labels a target's samples get, and its ``__address__`` etc., or None when relabelling drops it."""
    base = {"job": job, **extra, "__address__": address, "__scheme__": scheme, "__metrics_path__": metrics_path}
    out = relabel(base, rules)
    if out is None or not out.get("__address__"):
        return None
    out.setdefault("instance", out["__address__"])
    return out


def public(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if not k.startswith("__")}


def sample_labels(exported: dict[str, str], target: dict[str, str], honor_labels: bool) -> dict[str, str]:
    out = dict(exported)
    for name, value in target.items():
        if name in out and honor_labels:
            continue
        if name in out and out[name] != "":
            renamed = f"exported_{name}"
            while renamed in out:
                renamed = f"exported_{renamed}"
            out[renamed] = out[name]
        out[name] = value
    return {k: v for k, v in out.items() if v != ""}


def rules_from(raw: list[Any]) -> list[RelabelRule]:
    """Settings models (or dicts) as RelabelRules."""
    out = []
    for r in raw:
        get = r.get if isinstance(r, dict) else lambda k, d=None, r=r: getattr(r, k, d)
        out.append(
            RelabelRule(
                tuple(get("source_labels") or ()),
                get("separator", ";") or ";",
                get("regex", "(.*)") or "(.*)",
                get("target_label", "") or "",
                "$1" if get("replacement") is None else str(get("replacement")),
                get("action", "replace") or "replace",
            )
        )
    return out
