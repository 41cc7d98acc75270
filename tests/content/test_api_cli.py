"""Content over HTTP and the CLI: import, syllabus publish, audit, pages; bad input is refused clearly."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from eduops.core.principal import Principal, current_principal
from eduops.db import utcnow
from eduops.web.app import create_app

EDITOR = Principal(name="carol", kind="user", role="content")
VIEWER = Principal(name="vic", kind="user", role="viewer")


@pytest.fixture
def app(ws):
    app = create_app(ws)
    app.state.who = EDITOR
    app.dependency_overrides[current_principal] = lambda: app.state.who
    return app


def test_api_import_publish_and_audit(app, ws) -> None:
    client = TestClient(app)
    soon = (utcnow().astimezone(ws.settings.tz).date() + timedelta(days=10)).isoformat()
    assets = [
        {
            "code": "V1",
            "kind": "video",
            "title": "函数",
            "course_code": "M1",
            "course_title": "数学",
            "owner": "wang",
            "syllabus_code": "gk-math",
            "syllabus_version": "2025",
            "source": "外部机构",
            "licence_holder": "外部机构",
            "licence_type": "non-exclusive",
            "licence_scope": "web",
            "licence_expiry": soon,
            "licence_proof": "x.pdf",
            "used_in": "web",
        },
        {
            "code": "Q1",
            "kind": "question",
            "title": "第1题",
            "owner": "li",
            "syllabus_code": "gk-math",
            "syllabus_version": "2025",
            "syllabus_point": "P1",
            "source": "in-house",
        },
    ]
    assert client.post("/api/v1/content/assets", json=assets).json() == {"created": 2, "updated": 0}
    published = client.post(
        "/api/v1/content/syllabi", json={"code": "gk-math", "version": "2026", "points": ["P1", "P2"]}
    ).json()
    assert {a["code"] for a in published["needs_review"]} == {"V1", "Q1"}
    audit = client.get("/api/v1/content/audit").json()
    assert ("V1", "expiring", "wang") in {(r["code"], r["problem"], r["owner"]) for r in audit["licences"]}
    assert ("Q1", "superseded_syllabus", "li") in {(r["code"], r["problem"], r["owner"]) for r in audit["freshness"]}
    assert audit["question_bank"][0]["thin_points"] == ["P1", "P2"]
    assert client.post("/api/v1/content/assets/Q1/reviewed").json()["syllabus_version"] == "2026"
    for path in ("/content/courses", "/content/assets", "/content/assets?needs_review=true", "/content/audit"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": [{"code": "X", "kind": "film", "title": "t"}]}, 422),
        ({"json": {"nope": 1}}, 422),
        ({"content": b"{bad", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"title\nx\n", "headers": {"content-type": "text/csv"}}, 400),
    ],
)
def test_bad_imports_get_clear_errors(app, kwargs: dict[str, object], status: int) -> None:
    answer = TestClient(app).post("/api/v1/content/assets", **kwargs)
    assert answer.status_code == status and answer.json()["error"]


def test_viewers_read_but_do_not_change(app) -> None:
    app.state.who = VIEWER
    client = TestClient(app)
    assert client.get("/api/v1/content/courses").status_code == 200
    assert client.post("/api/v1/content/syllabi", json={"code": "a", "version": "1"}).status_code == 403


def test_cli_import_audit_exit_codes(sqlite_ws, tmp_path, monkeypatch) -> None:
    from eduops.cli import app as cli
    from eduops.core import console

    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    runner = CliRunner()
    good = tmp_path / "assets.json"
    good.write_text(
        json.dumps([{"code": "H1", "kind": "handout", "title": "讲义", "owner": "zhou", "source": "网络"}]),
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["content", "import", str(good), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"created": 1, "updated": 0}
    audit = runner.invoke(cli, ["content", "audit", "--json"])
    assert audit.exit_code == 1
    assert json.loads(audit.stdout)["licences"][0]["owner"] == "zhou"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,kind,title\nX,film,t\n", encoding="utf-8")
    assert runner.invoke(cli, ["content", "import", str(bad)]).exit_code != 0
