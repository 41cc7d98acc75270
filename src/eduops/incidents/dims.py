"""The platform's dimensions as signals carry them, and how other domains' rows are matched to them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eduops.core.workspace import Workspace
from eduops.incidents.signals import DIMENSIONS


def normal_dims(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only the shared dimensions, as strings; empty values dropped."""
    return {k: str(v) for k, v in raw.items() if k in DIMENSIONS and v not in (None, "")}


def matches(item_dims: Mapping[str, str], dims: Mapping[str, str]) -> bool:
    """An item fits the incident when it names at least one of its dimensions with the same value and none
    with a different one; with no dimensions every item fits."""
    wanted = {k: v for k, v in dims.items() if v}
    if not wanted:
        return True
    named = [k for k in wanted if item_dims.get(k)]
    return bool(named) and all(item_dims[k] == wanted[k] for k in named)


def feedback_dims(app_version: str, meta: Mapping[str, Any] | None) -> dict[str, str]:
    meta = meta or {}
    raw = {"app_version": app_version, **{k: meta.get(k) for k in ("region", "isp", "course", "teacher")}}
    return {k: str(v) for k, v in raw.items() if k in DIMENSIONS and v}


def rtc_store(ws: Workspace) -> Any:
    from eduops.rtc.service import open_store
    from eduops.rtc.store import store_path

    return open_store(ws.settings) if store_path(ws.settings.home).exists() else None


SEGMENT_FILTER = {"region": "s.province = ?", "isp": "s.isp = ?", "app_version": "s.app_version = ?",
                  "teacher": "s.call_id IN (SELECT call_id FROM call_teachers WHERE teacher_id = ?)"}


def segment_where(dims: Mapping[str, str]) -> tuple[str, list[Any]]:
    keys = [k for k in SEGMENT_FILTER if dims.get(k)]
    return " AND ".join(SEGMENT_FILTER[k] for k in keys), [dims[k] for k in keys]
