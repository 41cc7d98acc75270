"""Rendering console pages: one Jinja2 environment over every domain's ``templates/`` folder.

A domain page is ``{% extends "base.html" %}`` with blocks ``title`` and ``content`` (and
``scripts`` for page JavaScript). Templates get ``_`` (translate), ``lang``, ``principal``,
``can(permission)``, ``nav``, ``fmt_time(dt)`` (eduops.core.clock.format_time in the viewer's timezone),
``zone`` (that timezone's label, for axis titles and column heads), ``text(stored)`` (a finding, remedy or
summary in the viewer's language: eduops.core.i18n.render_text), ``place(value)`` (a province or ISP's
display name: eduops.core.places.place_name), ``humanize(value, unit)`` and, on an overview area's page,
``area_headline`` (the same headline as the area's tile; base.html shows it).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from eduops.core.clock import DEFAULT_PATTERN, format_time, zone_label
from eduops.core.hookspecs import NavItem
from eduops.core.i18n import gettext, pick_language, render_text
from eduops.core.places import place_name
from eduops.core.plugins import domain, folders
from eduops.core.principal import current_principal
from eduops.core.units import humanize


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Every domain's templates/ folder; the console's (which holds base.html) first."""
    web = domain("web")
    first = [web.folder / "templates"] if web else []
    search = first + [f for f in folders("templates") if f not in first]
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in search]),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def nav_items(request: Request) -> list[NavItem]:
    """The navigation of the domains the app was built with."""
    items: list[NavItem] = getattr(request.app.state, "nav", [])
    return items


def nav_groups(items: list[NavItem]) -> list[tuple[str, list[NavItem]]]:
    """The menu in two levels: ("", [item]) for a top-level link, (group, items) for a menu, in the order of
    ``areas.NAV_GROUPS`` (a group no built-in knows comes last), each menu where its first item would be."""
    from eduops.core.areas import NAV_GROUPS

    found: dict[str, list[NavItem]] = {}
    order: list[str] = []
    for item in items:
        key = item.group or f"\0{item.path}"  # top-level items keep their own place
        if key not in found:
            found[key] = []
            order.append(key)
        found[key].append(item)
    rank = {g: i for i, g in enumerate(NAV_GROUPS)}
    tops = [k for k in order if k.startswith("\0")]
    menus = sorted((k for k in order if not k.startswith("\0")), key=lambda g: rank.get(g, len(rank)))
    return [("", found[k]) for k in tops] + [(g, found[g]) for g in menus]


def script_json(data: Any) -> str:
    """JSON safe to put inside <script type="application/json"> (no closing tag can appear): chart figures."""
    return json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c")


def language_of(request: Request) -> str:
    """This browser's switch (cookie), else the user's saved choice, else Accept-Language."""
    principal = current_principal(request)
    saved = principal.extra.get("language") if principal else None
    return pick_language(request.headers.get("accept-language"), request.cookies.get("eduops_lang") or saved)


def timezone_of(request: Request) -> ZoneInfo:
    principal = current_principal(request)
    tz = principal.extra.get("timezone") if principal else None
    return ZoneInfo(tz or request.app.state.workspace.settings.timezone)


def page_headline(request: Request) -> tuple[str, Any] | None:
    """(area key, headline) when this page is an overview area's page: it shows what the area's tile shows."""
    from eduops.core.areas import headline
    from eduops.core.plugins import areas
    from eduops.db import utcnow

    spec = next((a for a in areas() if a.page and a.page == request.url.path), None)
    if spec is None:
        return None
    now = getattr(request.app.state, "clock", utcnow)()
    return spec.key, headline(request.app.state.workspace, spec.key, now)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    lang = language_of(request)
    tz = timezone_of(request)
    principal = current_principal(request)

    def fmt_time(value: datetime | str | None, pattern: str = DEFAULT_PATTERN) -> str:
        return format_time(value, tz, pattern=pattern)

    domain_name = template.split("/")[0]  # templates/<domain>/...: its words come from its own catalog first

    def translate(message: str, **kw: Any) -> str:
        text = gettext(message, lang, domain_name)
        return text.format(**kw) if kw else text

    ctx: dict[str, Any] = {
        "request": request,
        "_": translate,
        "lang": lang,
        "principal": principal,
        "can": lambda permission: bool(principal and principal.can(permission)),
        "nav": nav_groups([i for i in nav_items(request) if principal and principal.can(i.permission)]),
        "fmt_time": fmt_time,
        "zone": zone_label(tz),
        "text": lambda value: render_text(value, lang),
        "place": lambda value: place_name(value, lang),
        "humanize": humanize,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "area_headline": page_headline(request) if status_code == 200 else None,
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
