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
from eduops.errors import UsageError


@lru_cache(maxsize=1)
def shipped_templates() -> dict[str, dict[str, str]]:
    """alertname → its annotation templates, over every domain's shipped rule files."""
    found: dict[str, dict[str, str]] = {}
    for group in load_rule_files(default_rule_files()):
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                found.setdefault(rule.name, dict(rule.annotations))
    return found


def localize_annotations(
    alertname: str, labels: dict[str, str], annotations: dict[str, str], value: Any, lang: str
) -> dict[str, str]:
    """``annotations`` with each one a shipped template produced rendered from its translation in ``lang``."""
    templates = shipped_templates().get(alertname)
    if lang == "en" or not templates:
        return dict(annotations)
    full = {**labels, "alertname": alertname}
    number = float(value) if isinstance(value, int | float) else 0.0
    out = dict(annotations)
    for key, english in templates.items():
        translated = gettext(english, lang)
        if translated == english or key not in annotations:
            continue
        try:
            if template.expand(english, full, number) != annotations[key]:
                continue  # written by another rule of that name, or from older labels: keep what was stored
            out[key] = template.expand(translated, full, number)
        except UsageError:
            continue
    return out


def localize_alert(alert: dict[str, Any], lang: str) -> dict[str, Any]:
    """An alert dict (``current_alerts``/``alert_history``) with its annotations in ``lang``."""
    name = alert.get("alertname") or alert.get("labels", {}).get("alertname", "")
    labels = {k: v for k, v in alert.get("labels", {}).items() if k != "alertname"}
    annotations = alert.get("annotations") or {}
    return alert | {"annotations": localize_annotations(name, labels, annotations, alert.get("value"), lang)}
