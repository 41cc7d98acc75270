"""Alert annotations in the reader's language.

An annotation of a shipped rule is a message: its template (``rules/*.yml``) is the msgid, the alert's
labels and value are its parameters. The alert keeps the English expansion (what Alertmanager and rule
unit tests see); a reader of another language gets the translated template (from the domain's
``locale/zh_CN.po``) expanded with the same labels and value. Annotations of rules the workspace wrote,
or that no longer match the shipped template, are shown as written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from eduops.alerting import template
from eduops.alerting.rules import AlertingRule, default_rule_files, load_rule_files
from eduops.core.i18n import gettext
from eduops.core.places import place_name
from eduops.errors import UsageError

PLACE_LABELS = ("province", "isp", "region")


@lru_cache(maxsize=1)
def shipped_templates() -> dict[str, dict[str, str]]:
    """alertname → its annotation templates, over every domain's shipped rule files."""
    found: dict[str, dict[str, str]] = {}
    for group in load_rule_files(default_rule_files()):
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                found.setdefault(rule.name, dict(rule.annotations))
    return found


def shipped_keys(alertname: str, labels: dict[str, str], annotations: dict[str, str], value: Any) -> set[str]:
    """The annotations a shipped rule's template produced (eduops's own words); the others were written by the
    workspace's rules or an outside Alertmanager and are shown as written."""
    templates = shipped_templates().get(alertname, {})
    full = {**labels, "alertname": alertname}
    number = float(value) if isinstance(value, int | float) else 0.0
    found = set()
    for key, english in templates.items():
        try:
            if key in annotations and template.expand(english, full, number) == annotations[key]:
                found.add(key)
        except UsageError:
            continue
    return found


def localize_annotations(
    alertname: str, labels: dict[str, str], annotations: dict[str, str], value: Any, lang: str
) -> dict[str, str]:
    """``annotations`` with each one a shipped template produced rendered from its translation in ``lang``."""
    if lang == "en":
        return dict(annotations)
    # the reader's names for places: {{ $labels.province }} reads 河南 in the Chinese summary
    shown = {k: place_name(v, lang) if k in PLACE_LABELS else v for k, v in labels.items()}
    full = {**shown, "alertname": alertname}
    number = float(value) if isinstance(value, int | float) else 0.0
    out = dict(annotations)
    for key in shipped_keys(alertname, labels, annotations, value):
        english = shipped_templates()[alertname][key]
        translated = gettext(english, lang)
        if translated != english:
            out[key] = template.expand(translated, full, number)
    return out


def localize_alert(alert: dict[str, Any], lang: str) -> dict[str, Any]:
    """An alert dict (``current_alerts``/``alert_history``) with its annotations in ``lang``."""
    name = alert.get("alertname") or alert.get("labels", {}).get("alertname", "")
    labels = {k: v for k, v in alert.get("labels", {}).items() if k != "alertname"}
    annotations = alert.get("annotations") or {}
    value = alert.get("value")
    return alert | {"annotations": localize_annotations(name, labels, annotations, value, lang),
                    "shipped": shipped_keys(name, labels, annotations, value)}
