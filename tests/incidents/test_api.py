"""Incidents over HTTP and the CLI: open, ack, status, owner, notes, resolve, review and action items;
bad input answers 400/404/409/422 (CLI exit 2); the public status page shows only the notice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from eduops.core.principal import Principal, current_principal
from eduops.web.app import create_app

OPS = Principal(name="olga", kind="user", role="ops")


@pytest.fixture
def client(sqlite_ws):
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: OPS
    return TestClient(app)


def test_working_an_incident_over_http(client: TestClient) -> None:
    made = client.post("/api/v1/incidents", json={"title": "课堂卡顿", "severity": "critical",
                                                  "dims": {"region": "Henan", "isp": "unicom"}})
    assert made.status_code == 201, made.text
    incident = made.json()
    iid = incident["id"]
    assert (incident["status"], incident["dims"], incident["opened_by"]) == (
        "investigating", {"region": "Henan", "isp": "unicom"}, "user:olga")
    assert incident["signals"] == [] and incident["notice"]["public"] is False
    assert client.post(f"/api/v1/incidents/{iid}/ack").json()["owner"] == "olga"
    status = client.post(f"/api/v1/incidents/{iid}/status", json={"status": "identified"})
    assert status.json()["status"] == "identified"
    assert client.post(f"/api/v1/incidents/{iid}/owner", json={"owner": "lihua"}).json()["owner"] == "lihua"
    assert client.post(f"/api/v1/incidents/{iid}/notes", json={"text": "河南联通出口丢包"}).status_code == 201
    # the review waits for the resolution
    assert client.put(f"/api/v1/incidents/{iid}/review", json={"went_well": "x"}).status_code == 409
    resolved = client.post(f"/api/v1/incidents/{iid}/resolve").json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert client.post(f"/api/v1/incidents/{iid}/resolve").status_code == 409
    assert client.put(f"/api/v1/incidents/{iid}/review", json={"went_well": "发现快", "went_badly": "无预案"}
                      ).json()["review"]["went_badly"] == "无预案"
    action = client.post(f"/api/v1/incidents/{iid}/actions", json={"title": "联通线路加备份", "owner": "lihua"})
    assert action.status_code == 201 and action.json()["work_item_id"]
    work = client.get("/api/v1/work-items").json()
    assert any(w["id"] == action.json()["work_item_id"] and "lihua" in w["notes"] for w in work)
    got = client.get(f"/api/v1/incidents/{iid}/review").json()
    assert got["incident"]["action_items"][0]["owner"] == "lihua"
    assert [i["id"] for i in client.get("/api/v1/incidents?status=open").json()] == []
    assert [i["id"] for i in client.get("/api/v1/incidents?status=resolved").json()] == [iid]
    for path in ("/incidents", f"/incidents/{iid}", f"/incidents/{iid}/review"):
        page = client.get(path)
        assert page.status_code == 200 and "课堂卡顿" in page.text, path


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("post", "/api/v1/incidents", {"title": ""}, 400, "title"),
        ("post", "/api/v1/incidents", {"title": "x", "severity": "huge"}, 400, "severity"),
        ("post", "/api/v1/incidents", {"title": "x", "dims": {"planet": "mars"}}, 400, "planet"),
        ("post", "/api/v1/incidents", {"title": "x", "dims": ["henan"]}, 422, "dims"),
        ("post", "/api/v1/incidents", {"title": 5}, 422, "title"),
        ("post", "/api/v1/incidents/999/ack", None, 404, "999"),
        ("post", "/api/v1/incidents/1/status", {"status": "panicking"}, 400, "status"),
        ("put", "/api/v1/incidents/1/notice", {"public": True}, 400, "Chinese"),
        ("put", "/api/v1/incidents/1/notice", {"public": "yes"}, 422, "public"),
        ("post", "/api/v1/incidents/1/actions", {"title": "x"}, 422, "owner"),
        ("post", "/api/v1/incidents/1/escalate", {"severity": "info"}, 409, "higher"),
    ],
)
def test_bad_input_is_named(client: TestClient, method: str, path: str, body: object, status: int,
                            words: str) -> None:
    client.post("/api/v1/incidents", json={"title": "base"})
    answer = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_the_public_status_page_shows_only_the_notice_and_is_404_when_off(sqlite_ws) -> None:
    app = create_app(sqlite_ws)
    ops = TestClient(app)
    app.dependency_overrides[current_principal] = lambda: OPS
    made = ops.post("/api/v1/incidents", json={"title": "内部标题 db1 故障", "owner": "secret-owner",
                                                "dims": {"host": "db1"}}).json()
    ops.post(f"/api/v1/incidents/{made['id']}/notes", json={"text": "内部记录"})
    app.dependency_overrides.clear()
    anonymous = TestClient(app)
    path = f"/status/incidents/{made['public_id']}"
    assert anonymous.get(path).status_code == 404  # off by default
    app.dependency_overrides[current_principal] = lambda: OPS
    assert ops.put(f"/api/v1/incidents/{made['id']}/notice",
                   json={"public": True, "zh": "部分学员上课卡顿，正在处理。",
                         "en": "Some classes stutter; we are on it."}).status_code == 200
    app.dependency_overrides.clear()
    page = anonymous.get(path)
    assert page.status_code == 200
    assert "部分学员上课卡顿" in page.text and "Some classes stutter" in page.text and "正在调查" in page.text
    for internal in ("内部标题", "db1", "secret-owner", "内部记录", "/incidents/"):
        assert internal not in page.text
    assert anonymous.get("/status/incidents/not-a-real-id").status_code == 404
    assert anonymous.get(f"/api/v1/incidents/{made['id']}").status_code == 401


def test_cli(sqlite_ws, monkeypatch: pytest.MonkeyPatch) -> None:
    from eduops.cli import app as cli
    from eduops.core import console

    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    runner = CliRunner()

    def app_invoke(args: list[str]) -> Any:
        return runner.invoke(cli, ["incidents", *args])

    opened = app_invoke(["open", "测验提交失败", "--severity", "critical", "--dim", "app_version=5.3.1",
                                 "--json"])
    assert opened.exit_code == 0, opened.output
    iid = str(json.loads(opened.output)["id"])
    assert app_invoke(["ack", iid, "--who", "lihua"]).exit_code == 0
    assert app_invoke(["resolve", iid, "--note", "rolled back"]).exit_code == 0
    reviewed = app_invoke(["review", iid, "--went-well", "fast", "--action", "gate deploys@wangfang",
                                   "--json"])
    assert reviewed.exit_code == 0, reviewed.output
    data = json.loads(reviewed.output)
    assert data["incident"]["review"]["went_well"] == "fast"
    assert data["incident"]["action_items"][0]["owner"] == "wangfang"
    listed = json.loads(app_invoke(["list", "--json"]).output)
    assert [i["status"] for i in listed] == ["resolved"]
    shown = app_invoke(["show", iid])
    assert shown.exit_code == 0 and "rolled back" in shown.output
    for bad in (["open", "x", "--dim", "henan"], ["open", "x", "--severity", "huge"], ["show", "99"],
                ["review", iid, "--action", "no owner"], ["list", "--status", "sleeping"]):
        result = app_invoke(bad)  # main() turns an eduops error into its exit code; the runner sees the error
        assert getattr(result.exception, "exit_code", result.exit_code) == 2, (bad, result.output)


def test_the_console_forms_work_an_incident(sqlite_ws) -> None:
    from tests.web.conftest import csrf_of, make_console

    console = make_console(sqlite_ws)
    console.app = create_app(sqlite_ws)
    client = console.login("ops")
    token = csrf_of(client.get("/incidents").text)
    opened = client.post("/incidents", data={"title": "直播课进不去", "severity": "critical", "csrf_token": token})
    assert opened.status_code == 303
    page = opened.headers["location"]
    for data in ({"action": "ack"}, {"action": "note", "value": "CDN 回源失败"}, {"action": "resolve"}):
        assert client.post(f"{page}/act", data={**data, "csrf_token": token}).status_code == 303
    notice = {"zh": "已恢复", "en": "Fixed", "public": "1", "csrf_token": token}
    assert client.post(f"{page}/notice", data=notice).status_code == 303
    review = {"went_well": "十分钟内回滚", "csrf_token": token}
    assert client.post(f"{page}/review", data=review).status_code == 303
    shown = client.get(f"{page}/review").text
    assert "十分钟内回滚" in shown and "直播课进不去" in shown
    got = client.get(f"/api/v1/incidents/{page.rsplit('/', 1)[1]}").json()
    assert (got["status"], got["notice"]["public"], got["notes"][0]["text"]) == ("resolved", True, "CDN 回源失败")
