"""Contract: a release check runs the journeys against the platform; a failing one fails it with a screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from eduops.demo.platform import serve_platform
from eduops.release.service import check_release, create_release, get_release, list_releases


@pytest.fixture
def platform(request: pytest.FixtureRequest):
    broken = getattr(request, "param", set())
    url, stop = serve_platform(port=0, broken=broken)
    yield url
    stop()


def _configure(ws, url: str) -> None:
    ws.settings.model_extra["release"] = {"base_url": url, "timeout_ms": 5000}  # type: ignore[index]


@pytest.mark.browser
@pytest.mark.parametrize("platform", [set()], indirect=True)
def test_a_good_release_passes_every_journey(sqlite_ws, platform: str) -> None:
    _configure(sqlite_ws, platform)
    create_release(sqlite_ws.engine, "5.3.0", ["新课程页", "支付页改版"], "tester")
    run = check_release(sqlite_ws.engine, sqlite_ws.settings, "5.3.0", "post")
    assert run["status"] == "ok", run["summary"]
    [check] = run["checks"]
    assert [j["name"] for j in check["evidence"]["journeys"]] == [
        "login",
        "open-course",
        "play-video",
        "class-page",
        "submit-quiz",
    ]
    assert all(j["ok"] for j in check["evidence"]["journeys"])
    assert len(run["artifacts"]) == 5 and all(Path(a["path"]).stat().st_size > 1000 for a in run["artifacts"])
    assert get_release(sqlite_ws.engine, "5.3.0")["post_run"]["id"] == run["id"]


@pytest.mark.browser
@pytest.mark.parametrize("platform", [{"quiz"}], indirect=True)
def test_a_broken_journey_fails_the_check_with_a_screenshot(ws, platform: str) -> None:
    _configure(ws, platform)
    create_release(ws.engine, "5.3.1", ["测验提交重构"], "tester")
    run = check_release(ws.engine, ws.settings, "5.3.1", "post")
    assert run["status"] == "crit"
    [check] = run["checks"]
    failed = [j for j in check["evidence"]["journeys"] if not j["ok"]]
    assert [j["name"] for j in failed] == ["submit-quiz"]
    assert "HTTP 500" in failed[0]["error"]
    shot = Path(failed[0]["screenshot"])
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG"
    assert check["evidence"]["failed_screenshots"] == [str(shot)]
    assert str(shot) in {a["path"] for a in run["artifacts"]}
    [finding] = check["findings"]
    assert finding["severity"] == "crit" and "Submit a quiz" in finding["title"] and str(shot) in finding["detail"]
    assert any(m["name"] == "release_journeys_failed" and m["value"] == 1.0 for m in check["measurements"])
    assert list_releases(ws.engine)[0]["post_status"] == "crit"


def test_without_a_platform_the_check_is_skipped_with_the_reason(sqlite_ws) -> None:
    create_release(sqlite_ws.engine, "5.4.0", [], "tester")
    run = check_release(sqlite_ws.engine, sqlite_ws.settings, "5.4.0", "pre")
    assert run["status"] == "skipped" and "base_url" in run["checks"][0]["summary"]


@pytest.mark.browser
@pytest.mark.parametrize("platform", [{"video"}], indirect=True)
def test_cli_check_exits_1_and_the_page_shows_the_screenshot(sqlite_ws, platform: str, monkeypatch) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from eduops.cli import app as cli
    from eduops.core import console
    from eduops.core.principal import Principal, current_principal
    from eduops.web.app import create_app

    _configure(sqlite_ws, platform)
    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    runner = CliRunner()
    assert runner.invoke(cli, ["release", "add", "5.5.0", "-m", "播放器升级", "--json"]).exit_code == 0
    checked = runner.invoke(cli, ["release", "deployed", "5.5.0", "--json"])  # deploying triggers the journeys
    assert checked.exit_code == 1
    run = json.loads(checked.stdout)
    failed = [j for j in run["checks"][0]["evidence"]["journeys"] if not j["ok"]]
    assert [j["name"] for j in failed] == ["play-video"]
    listed = json.loads(runner.invoke(cli, ["release", "list", "--json"]).stdout)
    assert listed[0]["post_status"] == "crit"

    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vic", kind="user", role="viewer")
    client = TestClient(app)
    page = client.get("/releases/5.5.0")
    name = Path(failed[0]["screenshot"]).name
    assert page.status_code == 200 and name in page.text
    shot = client.get(f"/releases/5.5.0/screenshots/{run['id']}/{name}")
    assert shot.status_code == 200 and shot.content[:4] == b"\x89PNG"
    assert client.get(f"/releases/5.5.0/screenshots/{run['id']}/..%2Feduops.db").status_code == 404
