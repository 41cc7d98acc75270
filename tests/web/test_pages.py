"""Console pages doing their jobs: admin forms, keys shown once, sign-off, times in the viewer's zone."""

from __future__ import annotations

import re

import sqlalchemy as sa
from tests.web.conftest import Console, csrf_of

from eduops.config import TaskOverride
from eduops.core.calendar import sync_tasks
from eduops.core.models import AuditEntry
from eduops.core.runs import run_task


def test_admin_adds_a_user_and_creates_a_key_that_is_shown_once(sqlite_console: Console) -> None:
    admin = sqlite_console.login("admin")
    token = csrf_of(admin.get("/admin/users").text)
    page = admin.post("/admin/users", data={"csrf_token": token, "username": "mei", "role": "support"}).text
    password = re.search(r'id="secret-value">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert 'data-user="mei"' in page
    assert sqlite_console.attempt(sqlite_console.client(), "mei", password).status_code == 303
    # a multipart form works as well as a urlencoded one
    fields = [("csrf_token", token), ("name", "rtc sdk"), ("scopes", "ingest:rtc"), ("scopes", "read")]
    page = admin.post("/admin/keys", files=[(k, (None, v)) for k, v in fields]).text
    key = re.search(r"(eduk_[0-9a-f]+_[\w-]+)", page).group(1)  # type: ignore[union-attr]
    assert key not in admin.get("/admin/keys").text
    me = sqlite_console.client().get("/api/v1/me", headers={"authorization": f"Bearer {key}"}).json()
    assert me["permissions"] == ["ingest:rtc", "read"]


def test_owner_signs_off_a_drill_from_its_page(sqlite_console: Console) -> None:
    ws = sqlite_console.ws
    ws.settings.tasks["quarterly-drill"] = TaskOverride(checks=[])
    sync_tasks(ws.engine, ws.settings)
    run_id = run_task(ws.engine, ws.settings, "quarterly-drill")
    viewer = sqlite_console.login("viewer")
    assert 'id="sign-off"' not in viewer.get(f"/runs/{run_id}").text
    ops = sqlite_console.login("ops")
    page = ops.get(f"/runs/{run_id}").text
    assert 'id="sign-off"' in page
    answer = ops.post(f"/runs/{run_id}/sign-off", data={"csrf_token": csrf_of(page), "comment": "journal reviewed"})
    assert answer.status_code == 303
    page = ops.get(f"/runs/{run_id}", headers={"accept-language": "en"}).text
    assert "Signed off by ops" in page and "journal reviewed" in page
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(AuditEntry.target).where(AuditEntry.action == "run.sign_off")).scalar() \
            == f"run:{run_id}"


def test_times_are_shown_in_the_viewers_timezone(sqlite_console: Console) -> None:
    ws = sqlite_console.ws
    ws.settings.tasks["backup"] = TaskOverride(checks=[])
    run_id = run_task(ws.engine, ws.settings, "backup")
    ops = sqlite_console.login("ops")

    def started(tz: str) -> str:
        page = ops.get("/account").text
        ops.post("/account/timezone", data={"csrf_token": csrf_of(page), "timezone": tz})
        html = ops.get(f"/runs/{run_id}").text
        found = re.search(r"<th>[^<]+</th><td>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC[+\d:]*)</td>", html)
        assert found, "a time to the second, labelled with its zone"
        return found.group(1)

    utc, shanghai = started("UTC"), started("Asia/Shanghai")
    assert int(shanghai[11:13]) == (int(utc[11:13]) + 8) % 24
    assert utc.endswith(" UTC") and shanghai.endswith(" UTC+8")
    assert "bad" not in started("Not/AZone")  # an unknown zone is refused and the old one kept
    assert started("Not/AZone") == shanghai
    assert started("America") == started("x" * 300) == shanghai  # a tz directory, a name too long for a file


def test_security_headers_on_pages_and_api(sqlite_console: Console) -> None:
    client = sqlite_console.login("viewer")
    for path in ("/", "/api/v1/me", "/login", "/static/eduops.css"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert "frame-ancestors" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    assert client.get("/").headers["cache-control"] == "no-store"
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


def test_demo_adds_a_user_per_role(sqlite_ws) -> None:
    import random

    from eduops.core.demo import DemoContext
    from eduops.db import utcnow
    from eduops.web import demo
    from eduops.web.accounts import list_users

    context = DemoContext(ws=sqlite_ws, now=utcnow(), rng=random.Random(1))
    demo.populate(context)
    roles = {u["username"]: u["role"] for u in list_users(sqlite_ws.engine)}
    assert set(roles.values()) >= {"ops", "content", "support", "viewer"} and "olga" in context.notes["web"]


def test_api_docs_are_served_without_a_cdn(sqlite_console: Console) -> None:
    page = sqlite_console.client().get("/api/docs", headers={"accept-language": "en"})
    assert page.status_code == 200 and "/api/v1/calendar/{key}/run" in page.text
    assert "cdn" not in page.text.lower() and "<script src=\"http" not in page.text
    assert sqlite_console.client().get("/api/openapi.json").json()["info"]["title"] == "eduops"


def test_reports_escape_what_checks_found_and_run_sandboxed(sqlite_console: Console) -> None:
    import sqlalchemy as sa

    from eduops.core.models import CheckRun, FindingRow

    ws = sqlite_console.ws
    ws.settings.tasks["backup"] = TaskOverride(checks=[])
    run_id = run_task(ws.engine, ws.settings, "backup")
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(CheckRun).values(run_id=run_id, name="logs.errors", area="performance", status="warn",
                                                summary="1 error line", measurements=[], evidence={}))
        conn.execute(sa.insert(FindingRow).values(run_id=run_id, check_name="logs.errors", area="performance",
                                                  severity="warn", title="<img src=x onerror=alert(1)>"))
    client = sqlite_console.login("viewer")
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/report"):
        answer = client.get(path)
        assert "<img src=x" not in answer.text and "&lt;img src=x" in answer.text, path
    assert "sandbox" in client.get(f"/runs/{run_id}/report").headers["content-security-policy"]


def test_the_last_active_admin_cannot_be_demoted_or_disabled(sqlite_console: Console) -> None:
    import pytest

    from eduops.errors import Conflict
    from eduops.web.accounts import set_disabled, set_role

    engine = sqlite_console.ws.engine
    with pytest.raises(Conflict):
        set_role(engine, "admin", "viewer", actor="test")
    with pytest.raises(Conflict):
        set_disabled(engine, "admin", True, actor="test")
    set_role(engine, "ops", "admin", actor="test")
    assert set_disabled(engine, "admin", True, actor="test")["disabled"] is True
