"""The overview tells the truth: each tile's status is its area page's headline, for every area; the
alerts tile lists firing alerts by severity, the oldest critical first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from eduops.alerting.models import AlertState
from eduops.backup.overview import view_headline
from eduops.core.models import CheckRun, Run
from eduops.core.plugins import areas
from eduops.core.principal import Principal, current_principal
from eduops.db import session_scope, utcnow
from eduops.security.models import SecurityScan
from eduops.web.app import create_app

ADMIN = Principal(name="ada", kind="user", role="admin")
TILE = re.compile(r'class="tile [a-z]+" data-area="(\w+)" data-status="(\w+)"')
HEADLINE = re.compile(r'data-headline-area="(\w+)" data-status="(\w+)"')


def _client(ws) -> TestClient:
    app = create_app(ws)
    app.dependency_overrides[current_principal] = lambda: ADMIN
    return TestClient(app)


def _result(session, name: str, area: str, status: str, hours_ago: float, summary: str = "") -> None:  # type: ignore[no-untyped-def]
    at = utcnow() - timedelta(hours=hours_ago)
    run = Run(task_key="daily-inspection", trigger="scheduled", status=status, started_at=at, finished_at=at,
              evidence={})
    session.add(run)
    session.flush()
    session.add(CheckRun(run_id=run.id, name=name, area=area, status=status, summary=summary or f"{name} {status}",
                         started_at=at))


def _alert(session, name: str, severity: str, hours_ago: float, state: str = "firing", **labels: str) -> None:  # type: ignore[no-untyped-def]
    at = utcnow() - timedelta(hours=hours_ago)
    all_labels = {"alertname": name, "severity": severity, **labels}
    session.add(AlertState(fingerprint=f"{name}-{severity}-{hours_ago}"[:64], rule=f"g/{name}", alertname=name,
                           labels=all_labels, annotations={}, state=state, value=1.0, active_at=at,
                           fired_at=at if state == "firing" else None))


def _seed(ws) -> None:  # type: ignore[no-untyped-def]
    with session_scope(ws.engine) as session:
        # the calendar's copy of the weekly scan said ok; the scan itself lists a critical finding
        _result(session, "security.scan", "security", "ok", 30, "security.scan: all within limits")
        _result(session, "tls.cert_expiry", "security", "ok", 1)
        _result(session, "rtc.quality_trend", "call_quality", "warn", 2, "poor share rose")
        _result(session, "drills.quarterly", "drills", "skipped", 1)
        session.add(SecurityScan(started_at=utcnow() - timedelta(hours=20), status="crit", score=91.0,
                                 findings=[{"severity": "crit", "title": "django 3.2.0 has known vulnerabilities"},
                                           {"severity": "warn", "title": "HSTS missing"}]))
        _alert(session, "DiskAlmostFull", "warning", 5)
        _alert(session, "DiskFullIn24h", "critical", 1, host="db-1")
        _alert(session, "EndpointDown", "crit", 3, endpoint="web")
        _alert(session, "CertificateExpiringSoon", "warn", 9, state="inactive")


def test_every_tile_says_what_its_area_page_says(ws) -> None:
    _seed(ws)
    client = _client(ws)
    overview = client.get("/", headers={"accept-language": "en"})
    assert overview.status_code == 200
    tiles = dict(TILE.findall(overview.text))
    assert set(tiles) == {a.key for a in areas()}, "every declared area has a tile"
    for area in areas():
        page = client.get(area.page, headers={"accept-language": "en"})
        assert page.status_code == 200, area.page
        shown = dict(HEADLINE.findall(page.text))
        assert shown == {area.key: tiles[area.key]}, f"{area.page} headline vs tile {area.key}"
    assert tiles["security"] == "crit"  # never OK while /security lists a critical finding
    assert tiles["alerts"] == "crit"
    assert tiles["call_quality"] == "warn"
    assert tiles["drills"] == "none"  # only a skip: no data
    assert tiles["backups"] == "none"  # nothing backed up yet


def test_alerts_tile_lists_firing_alerts_critical_and_oldest_first(ws) -> None:
    _seed(ws)
    html = _client(ws).get("/", headers={"accept-language": "en"}).text
    tile = html[html.index('data-area="alerts"'):]
    tile = tile[:tile.index("</div>")]
    assert "2 critical, 1 warning, 0 info firing" in tile
    names = re.findall(r'<a href="/alerts/[^"]+">(\w+)</a>', tile)
    assert names == ["EndpointDown", "DiskFullIn24h", "DiskAlmostFull"]  # crit (normalised) oldest first
    assert "CertificateExpiringSoon" not in tile  # resolved


def test_quiet_alerts_tile_is_ok(ws) -> None:
    html = _client(ws).get("/", headers={"accept-language": "zh-CN"}).text
    assert dict(TILE.findall(html))["alerts"] == "ok"
    assert "没有正在触发的告警" in html


def _view(last: str = "ok", copies: tuple[str, ...] = ("ok", "ok"), drill: str | None = "ok",
          verified: str = "ok") -> dict:  # type: ignore[type-arg]
    return {
        "sources": [{"source": "lms", "last_backup": {"status": last}, "copies": [
            {"target": f"t{i}", "status": s} for i, s in enumerate(copies)],
            "last_drill": {"status": drill} if drill else None}],
        "verifications": [{"target": "t0", "status": verified}],
    }


@pytest.mark.parametrize(
    ("view", "stale", "lag", "status"),
    [
        (_view(), [], {"t0": 0, "t1": 0}, "ok"),
        (_view(drill=None), [], {}, "ok"),  # never drilled is the drill task's business, not a red tile
        (_view(copies=("ok", "failed")), [], {}, "warn"),
        (_view(), [], {"t1": 3}, "warn"),
        (_view(drill="failed"), [], {}, "warn"),
        (_view(), ["lms"], {}, "crit"),
        (_view(last="failed"), [], {}, "crit"),
        (_view(verified="failed"), [], {}, "crit"),
        ({"sources": [], "verifications": []}, [], {}, None),
    ],
)
def test_backup_headline_rule(view: dict, stale: list[str], lag: dict[str, int], status: str | None) -> None:  # type: ignore[type-arg]
    assert view_headline(view, stale, lag).status == status
