"""Every console page of the demo reads in Chinese: no English sentence outside user text, code and units."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.english import english_phrases, read_page, shape, walk

from eduops.core.demo import DemoContext

NOT_PAGES = ("/static", "/logout", "/api/", "/metrics", "/xapi", "/lang")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("磁盘 /var 已用 91%", []),
        ("the disk is nearly full", ["the disk is nearly full"]),
        ("磁盘 /var is 91% full", []),  # a heuristic: words split by paths and numbers are not counted as one
        ("运行 `eduops backup run pg` 后重试", []),  # a command quoted in a sentence is code
        ("daily-inspection · Asia/Shanghai · p95 800 ms", []),  # names and units
        ("Course and video browsing：拐点", ["Course and video browsing"]),
        ("使用 Let's Encrypt 的证书", []),
        ("HTTP 500", []),
    ],
)
def test_english_phrases(text: str, expected: list[str]) -> None:
    assert english_phrases(text) == expected


def test_user_text_code_and_other_languages_are_allowed() -> None:
    html = """<main><h1>总览</h1><p class="user-text">Great teacher, my kid loves the class</p>
    <td><code>eduops rules test</code></td><div lang="en">restic says no errors were found</div>
    <p>still English here</p><a href="/runs/1">运行</a></main>"""
    phrases, links = read_page(html)
    assert phrases == ["still English here"] and links == ["/runs/1"]


def test_pages_of_one_shape_are_visited_once() -> None:
    assert shape("/runs/12") == shape("/runs/13") == "/runs/*"
    assert shape("/rtc/calls/call-000123") == "/rtc/calls/*"
    assert shape("/monitoring?since=24h&host=vm") == "/monitoring?since=*&host=*"


@pytest.mark.slow
def test_every_page_of_the_demo_reads_in_chinese(full_demo: DemoContext) -> None:
    from eduops.web.app import create_app

    demo = full_demo

    app = create_app(demo.ws)
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    login = client.post("/login", data={"username": demo.admin_user, "password": demo.admin_password,
                                        "csrf_token": token.group(1), "code": "", "next": "/"})
    assert login.status_code == 303, login.text[:300]

    def get(path: str) -> tuple[int, str, str]:
        answer = client.get(path, headers={"accept-language": "zh-CN"})
        return answer.status_code, answer.headers.get("content-type", ""), answer.text

    start = ["/", "/no-such-page", "/runs/999999999"] + [item.path for item in app.state.nav]  # error pages too
    pages = list(walk(get, start, per_shape=2,
                      skip=lambda p: p.startswith(NOT_PAGES) or "/artifacts/" in p or "/screenshots/" in p))
    assert len(pages) > 40, f"only {len(pages)} pages reached: {[p.path for p in pages]}"
    broken = [f"{p.path}: {p.status}" for p in pages if p.status >= 500]
    assert not broken, broken
    english = [f"{p.path}: {sorted(set(p.phrases))[:8]}" for p in pages if p.phrases]
    assert not english, "English outside user text, code and units on Chinese pages:\n" + "\n".join(english)


@pytest.mark.slow
def test_the_demo_opens_its_two_incidents_with_their_causes(full_demo: DemoContext) -> None:
    """Release 5.3.1 breaking quiz submission (resolved, reviewed) and the Henan / China Unicom evening
    call degradation, each with its probable cause ranked first (the session's demo, built once)."""
    from eduops.incidents import review

    demo = full_demo

    ids = demo.shared["incidents"]
    assert ids["release"] and ids["calls"]
    release = review.get_review(demo.ws.engine, demo.ws.settings, ids["release"])
    assert release["incident"]["status"] == "resolved"
    assert {s["kind"] for s in release["incident"]["signals"]} >= {"release", "feedback"}
    assert release["incident"]["review"]["went_badly"] and len(release["incident"]["action_items"]) == 2
    assert (release["causes"][0]["kind"], release["causes"][0]["dims"]) == ("release", {"app_version": "5.3.1"})
    calls = review.get_review(demo.ws.engine, demo.ws.settings, ids["calls"])
    assert calls["incident"]["status"] != "resolved"
    top = calls["causes"][0]
    assert (top["kind"], top["dims"]) == ("region_isp", {"region": "Henan", "isp": "China Unicom"})
    assert top["confidence"] in ("likely", "possible")
