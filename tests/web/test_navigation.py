"""Navigation in two levels: a handful of menus instead of twenty flat links, every page still reachable."""

from __future__ import annotations

import re

from eduops.core.hookspecs import NavItem
from eduops.core.pages import nav_groups
from eduops.web.app import create_app

from .conftest import make_console


def test_nav_groups_keep_top_links_first_and_menus_in_order() -> None:
    items = [NavItem("/", "Overview", order=0), NavItem("/backup", "Backups", group="Protection"),
             NavItem("/calendar", "Calendar", group="Operations"), NavItem("/x", "Plugin page", group="Extras"),
             NavItem("/alerts", "Alerts", group="Operations"), NavItem("/admin/users", "Users", group="Administration")]
    grouped = nav_groups(items)
    assert [(g, [i.path for i in found]) for g, found in grouped] == [
        ("", ["/"]), ("Operations", ["/calendar", "/alerts"]), ("Protection", ["/backup"]),
        ("Administration", ["/admin/users"]), ("Extras", ["/x"])]


def test_the_console_menu_has_few_top_level_entries_and_reaches_every_page(sqlite_ws) -> None:
    console = make_console(sqlite_ws)
    console.app = app = create_app(sqlite_ws)  # every domain's pages
    html = console.login("admin").get("/", headers={"accept-language": "zh-CN"}).text
    nav = html[html.index('<nav class="topnav">'):html.index("</nav>")]
    top = re.sub(r"<details.*?</details>", "", nav, flags=re.S)
    top_links = re.findall(r'<a [^>]*href="(/[^"]*)"', top)
    menus = re.findall(r'<details class="navgroup" data-group="([^"]+)"><summary[^>]*>([^<]+)</summary>', nav)
    assert len(top_links) + len(menus) <= 8, (top_links, menus)  # brand, overview, account + the menus
    assert [m[0] for m in menus] == ["Operations", "Platform", "Protection", "Administration"]
    assert "运维" in [m[1] for m in menus]
    linked = set(re.findall(r'href="(/[^"]*)"', nav))
    assert {i.path for i in app.state.nav} <= linked  # every page of every domain is still in the menu
