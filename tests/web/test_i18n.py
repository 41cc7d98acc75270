"""Every page in Simplified Chinese and English: each msgid a template or the console uses is translated."""

from __future__ import annotations

import re

import pytest
from jinja2 import nodes
from tests.web.conftest import Console

from eduops.core import plugins
from eduops.core.i18n import catalog, gettext, pick_language
from eduops.core.pages import environment
from eduops.core.plan import DEFAULT_PLAN
from eduops.core.runs import FINISHED
from eduops.core.workspace import ROLES
from eduops.web.errors import TITLES
from eduops.web.problems import PROBLEMS


def template_msgids() -> dict[str, set[str]]:
    """msgid -> templates using it, over every domain's templates (``_("literal")`` calls)."""
    env = environment()
    found: dict[str, set[str]] = {}
    for name in env.list_templates(extensions=["html"]):
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        for call in env.parse(source).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "_" and call.args:
                first = call.args[0]
                if isinstance(first, nodes.Const) and isinstance(first.value, str):
                    found.setdefault(first.value, set()).add(name)
    return found


def console_msgids() -> set[str]:
    """Words the console shows that come from Python rather than from a template literal."""
    nav = {item.label for d in plugins.domains() for m in d.web for item in getattr(plugins.load(m), "NAV", [])}
    plan = {s.title for s in DEFAULT_PLAN} | {s.description for s in DEFAULT_PLAN}
    plan |= {e for s in DEFAULT_PLAN for e in s.evidence}
    words = set(ROLES) | set(FINISHED) | {"running", "info", "manual", "scheduled", "catch-up"}
    days = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    errors = set(TITLES.values()) | set(PROBLEMS.values())
    return nav | plan | words | days | {a.label for a in plugins.areas()} | errors


def test_every_template_msgid_has_a_chinese_translation() -> None:
    translated = catalog()
    missing = {msgid: where for msgid, where in template_msgids().items() if msgid not in translated}
    lines = sorted(f"  {sorted(where)[0]}: msgid {msgid!r}" for msgid, where in missing.items())
    header = f"{len(missing)} msgids have no zh-CN translation; add them to <domain>/locale/zh_CN.po:\n"
    assert not missing, header + "\n".join(lines)


def test_console_words_from_python_are_translated() -> None:
    translated = catalog()
    missing = sorted(m for m in console_msgids() if m not in translated)
    assert not missing, "no zh-CN translation for: " + ", ".join(map(repr, missing))


def test_placeholders_survive_translation() -> None:
    field = re.compile(r"\{(\w+)\}")
    broken = [m for m, t in catalog().items() if set(field.findall(m)) != set(field.findall(t))]
    assert not broken, f"translations that drop or rename a {{placeholder}}: {broken}"


@pytest.mark.parametrize(
    ("accept", "remembered", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR", None, "zh-CN"),
        ("en-US", "zh-CN", "zh-CN"),
        ("zh-TW", "en", "en"),
        (None, "klingon", "zh-CN"),
    ],
)
def test_language_choice(accept: str | None, remembered: str | None, expected: str) -> None:
    assert pick_language(accept, remembered) == expected


def test_pages_render_in_both_languages_and_the_switch_is_remembered(sqlite_console: Console) -> None:
    client = sqlite_console.login("admin")
    for page in ("/", "/calendar", "/runs", "/account", "/admin/users", "/admin/keys", "/admin/audit"):
        zh = client.get(page, headers={"accept-language": "zh-CN"}).text
        en = client.get(page, headers={"accept-language": "en"}).text
        assert 'lang="zh-CN"' in zh and 'lang="en"' in en and zh != en, page
    token = re.search(r'name="csrf_token" value="([^"]+)"', zh).group(1)  # type: ignore[union-attr]
    answer = client.post("/lang", data={"lang": "en", "next": "/calendar", "csrf_token": token},
                         headers={"accept-language": "zh-CN"})
    assert answer.status_code == 303 and answer.headers["location"] == "/calendar"
    assert "Maintenance calendar" in client.get("/calendar", headers={"accept-language": "zh-CN"}).text
    elsewhere = sqlite_console.login("admin")  # another browser: the user's choice follows them
    assert "Maintenance calendar" in elsewhere.get("/calendar", headers={"accept-language": "zh-CN"}).text
    assert gettext("Maintenance calendar", "zh-CN") == "维护日历"


def test_chinese_pages_show_no_english_phrase_of_the_catalog(sqlite_console: Console) -> None:
    """A phrase shown without _() stays English on a Chinese page; the catalog knows the phrase."""
    phrases = [m for m, t in catalog().items() if " " in m and "{" not in m and m != t and len(m) > 12]
    client = sqlite_console.login("admin")
    leaks = []
    for page in ("/", "/calendar", "/calendar?view=month", "/runs", "/account", "/account/totp", "/admin/users",
                 "/admin/keys", "/admin/audit", "/api/docs"):
        html = client.get(page, headers={"accept-language": "zh-CN"}).text
        text = re.sub(r"<[^>]+>", " ", html)
        leaks += [f"{page}: {p!r}" for p in phrases if p in text]
    assert not leaks, "\n".join(leaks)


def test_a_template_takes_its_words_from_its_own_domain_first() -> None:
    """One msgid can mean two things: the rtc week-over-week "Change" is 变化, the account button's is 修改."""
    assert gettext("Change", "zh-CN", "rtc") == "变化"
    assert gettext("Change", "zh-CN", "web") == "修改"
    assert gettext("By", "zh-CN", "alerting") == "创建人"  # who made a silence, not rtc's "按" (group by)
    assert gettext("Maintenance calendar", "zh-CN", "rtc") == "维护日历"  # not its own: every domain's catalog
    assert gettext("Change", "en", "rtc") == "Change"


@pytest.mark.parametrize(
    ("wrong", "why"),
    [("耗时", "a duration is 时长 (or 用时), a latency 响应时间"),
     ("修改版本", "a release change is 变更")],
)
def test_catalogs_do_not_use_wrong_words(wrong: str, why: str) -> None:
    from eduops.core.i18n import domain_catalogs

    found = [f"{d}: {m!r} → {t!r}"
             for d, entries in domain_catalogs().items() for m, t in entries.items() if wrong in t]
    assert not found, f"{why}:\n" + "\n".join(found)


def test_the_routers_bare_not_found_becomes_advice_in_the_readers_language() -> None:
    from eduops.core.i18n import render_text
    from eduops.web.errors import page_message

    shown = page_message(404, "Not Found", "/runz")
    assert render_text(shown, "zh-CN") == "没有 /runz 这个页面；请检查地址，或从总览重新进入"
    assert "no page at /runz" in render_text(shown, "en")
    assert page_message(404, "no run 7", "/runs/7") == "no run 7"  # an error's own message stays


def test_plotlys_toolbar_and_dates_have_chinese_words() -> None:
    """The console registers a zh-CN locale for Plotly (the package ships none): every toolbar title the installed
    plotly.js can show has a translation, and dates use Chinese month and day names."""
    from eduops.web.api import PLOTLY_JS, STATIC_DIR

    script = (STATIC_DIR / "eduops.js").read_text(encoding="utf-8")
    dictionary = set(re.findall(r'^\s+"([^"]+)": "[^"]*[\u4e00-\u9fff][^"]*",$', script, re.M))
    titles = set(re.findall(r'title:function\(\w\)\{return [\w$]+\(\w,"([^"]+)"\)', PLOTLY_JS.read_text()))
    assert len(titles) > 15, "plotly.js changed how it names its toolbar buttons: update this test"
    missing = titles - dictionary - {"Share chart..."}  # the console turns Plotly's cloud sharing off
    assert not missing and "Download plot as a PNG" in dictionary, sorted(missing)
    assert 'dayMonth: "%-m月%-d日"' in script and "showSendToCloud: false" in script
