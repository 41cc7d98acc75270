"""Each overview area's headline: one function per area gives the status its tile and its page both show.

An area (``hookspecs.Area``) may name its own ``headline`` function ("module:function", called with the
workspace and the time); otherwise its headline is the worst of the latest real result of each of the
checks that report into it. The overview tile and the area page call ``headline(ws, key, now)``, so they
cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.checks import worst
from eduops.core.hookspecs import Area
from eduops.core.models import CheckRun
from eduops.core.plugins import areas, load
from eduops.core.runs import overall_status
from eduops.db import session_scope

COLOUR = {"ok": "green", "warn": "amber", "crit": "red", "error": "red", "skipped": "grey", None: "grey"}

# the console's menus, in order (English msgids); a NavItem names one in ``group``
NAV_GROUPS = ("Operations", "Platform", "Protection", "Administration")


@dataclass
class Headline:
    """What an area's tile and page say first: a status, one line (a msgid with params, or the
    check's own summary), where to look, and when it was last checked."""

    status: str | None
    message: str = ""  # an English msgid, formatted with ``params`` after translation
    params: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # a check's summary as it wrote it (shown when there is no message)
    href: str = ""
    checked_at: datetime | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # what the tile lists under the line

    @property
    def colour(self) -> str:
        return COLOUR.get(self.status, "grey")


def combine(parts: Iterable[Headline]) -> Headline:
    """The worst of several headlines (its line and link); no data only when none has a status."""
    found = [h for h in parts if h.status]
    if not found:
        return Headline(None)
    status = worst([h.status for h in found if h.status])
    first = next(h for h in found if h.status == status)
    checked = [h.checked_at for h in found if h.checked_at]
    return Headline(status, first.message, first.params, first.detail, first.href, max(checked, default=None))


def latest_results(engine: Engine, area: str, exclude: Iterable[str] = ()) -> list[CheckRun]:
    """The newest real (not skipped) result of each check of ``area``, newest first."""
    with session_scope(engine) as session:
        newest = (
            sa.select(CheckRun.name, sa.func.max(CheckRun.started_at).label("at"))
            .where(CheckRun.area == area, CheckRun.status != "skipped")
            .group_by(CheckRun.name)
            .subquery()
        )
        rows = session.scalars(
            sa.select(CheckRun)
            .join(newest, sa.and_(CheckRun.name == newest.c.name, CheckRun.started_at == newest.c.at))
            .where(CheckRun.area == area)
            .order_by(CheckRun.started_at.desc(), CheckRun.id.desc())
        ).all()
        session.expunge_all()
    skip = set(exclude)
    return [r for r in rows if r.name not in skip]


def tile_status(statuses: list[str]) -> str | None:
    """An area's status from its latest checks: skips alone mean no data (a pure rule)."""
    if not statuses:
        return None
    return overall_status(statuses)


def checks_headline(engine: Engine, area: str, exclude: Iterable[str] = ()) -> Headline:
    """The worst of the latest real result of each check of the area (a skip hides no earlier result)."""
    rows = latest_results(engine, area, exclude)
    if not rows:
        return Headline(None)
    status = tile_status([r.status for r in rows])
    top = next(r for r in rows if r.status == status)
    return Headline(status, detail=top.summary, href=f"/runs/{top.run_id}",
                    checked_at=max(r.started_at for r in rows))


def area_of(key: str) -> Area:
    found = next((a for a in areas() if a.key == key), None)
    if found is None:
        raise KeyError(f"no overview area {key!r}")
    return found


def headline(ws: Any, key: str, now: datetime) -> Headline:
    """The area's headline from its own function, or from its checks."""
    spec = area_of(key)
    if spec.headline:
        found: Headline = load(spec.headline)(ws, now)
    else:
        found = checks_headline(ws.engine, key)
    if not found.href:
        found.href = spec.page or "/calendar"
    return found
