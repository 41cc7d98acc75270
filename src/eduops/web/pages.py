"""Rendering console pages: one Jinja2 environment over every domain's ``templates/`` folder.

A domain page is ``{% extends "base.html" %}`` with blocks ``title`` and ``content`` (and
``scripts`` for page JavaScript). Templates get ``_`` (translate), ``lang``, ``principal``,
``can(permission)``, ``nav`` and ``fmt_time(dt)`` in the viewer's timezone.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from eduops.core.plugins import PACKAGE_DIR, NavItem, domain_modules, domains
from eduops.web.i18n import gettext, pick_language
from eduops.web.security import current_principal


@lru_cache(maxsize=1)
def environment() -> Environment:
    folders = [str(PACKAGE_DIR / "web" / "templates")] + [
        str(PACKAGE_DIR / d / "templates") for d in domains() if d != "web" and (PACKAGE_DIR / d / "templates").is_dir()
    ]
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


@lru_cache(maxsize=1)
def navigation() -> list[NavItem]:
    items: list[NavItem] = []
    for module in domain_modules("api"):
        items.extend(getattr(module, "NAV", []))
    return sorted(items, key=lambda i: (i.order, i.label))


def nav_items(request: Request) -> list[NavItem]:
    """The app's navigation (from the domains it was built with), else every domain's."""
    items: list[NavItem] | None = getattr(request.app.state, "nav", None)
    return items if items is not None else navigation()


def language_of(request: Request) -> str:
    """This browser's switch (cookie), else the user's saved choice, else Accept-Language."""
    principal = current_principal(request)
    saved = principal.extra.get("language") if principal else None
    return pick_language(request.headers.get("accept-language"), request.cookies.get("eduops_lang") or saved)


def timezone_of(request: Request) -> ZoneInfo:
    principal = current_principal(request)
    tz = principal.extra.get("timezone") if principal else None
    return ZoneInfo(tz or request.app.state.workspace.settings.timezone)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    lang = language_of(request)
    tz = timezone_of(request)
    principal = current_principal(request)

    def fmt_time(value: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(tz).strftime(pattern)

    ctx: dict[str, Any] = {
        "request": request,
        "_": lambda message, **kw: gettext(message, lang).format(**kw) if kw else gettext(message, lang),
        "lang": lang,
        "principal": principal,
        "can": lambda permission: bool(principal and principal.can(permission)),
        "nav": [i for i in nav_items(request) if principal and principal.can(i.permission)],
        "fmt_time": fmt_time,
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
