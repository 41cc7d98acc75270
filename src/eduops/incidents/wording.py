"""Titles as a reader sees them: eduops's words in the reader's language, place names as the reader
calls them (河南 / 中国联通), an alert's summary from its rule's translated template."""

from __future__ import annotations

from typing import Any

from eduops.alerting.localize import localize_annotations
from eduops.core.i18n import Msg, decode, render_text
from eduops.core.places import place_msg

PLACE_PARAMS = ("segment", "region", "isp", "province")


def with_places(value: Any) -> Any:
    """A Msg whose place parameters (a province, an ISP, a ``province / ISP`` segment) read in each language."""
    value = decode(value) if isinstance(value, str) else value
    if not isinstance(value, Msg):
        return value
    params = {k: place_msg(v) if k in PLACE_PARAMS and isinstance(v, str) and not isinstance(v, Msg)
              else with_places(v) for k, v in value.params.items()}
    return Msg(value.msgid, params)


def localized(value: Any, lang: str) -> str:
    return render_text(with_places(value), lang)


def signal_title(signal: dict[str, Any] | None, lang: str) -> str:
    """A stored signal's title; an alert's is its rule's summary, rendered from the translated template."""
    if not signal:
        return ""
    detail = signal.get("detail") or {}
    if signal.get("kind") == "alert" and detail.get("alertname"):
        labels = {k: str(v) for k, v in (detail.get("labels") or {}).items() if k != "alertname"}
        summary = str(signal.get("title", ""))
        return localize_annotations(detail["alertname"], labels, {"summary": summary}, signal.get("value"),
                                    lang)["summary"]
    return localized(signal.get("title", ""), lang)


def incident_title(incident: dict[str, Any], lang: str) -> str:
    """The incident's title: the words of the signal that opened it, else what a person wrote."""
    opener = next((s for s in incident.get("signals", []) if f"signal:{s['ref']}" == incident.get("opened_by")),
                  None)
    return signal_title(opener, lang) if opener else localized(incident["title"], lang)
