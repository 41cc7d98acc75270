"""Contract: against a local nginx with known weaknesses, the scan reports each of them and the
header grade follows the Observatory rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.security.weak_nginx import NGINX, weak_nginx
from typer.testing import CliRunner

from eduops.core.workspace import Workspace
from eduops.security.headers import grade
from eduops.security.service import run_scan
from eduops.security.webscan import fetch


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (scripts/debian-packages.txt lists nginx-light)")
    with weak_nginx(tmp_path_factory.mktemp("nginx")) as running:
        yield running


def configure(ws: Workspace, site, tmp_path: Path, **extra: object) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.19.0\ndjango==3.2.0\n")
    ws.settings.model_extra["security"] = {
        "hosts": [f"localhost:{site.https_port}"],
        "sites": [{"url": site.url, "http_url": site.http_url}],
        "port_hosts": ["127.0.0.1"],
        "ports": [str(site.https_port), str(site.http_port)],
        "ports_allowed": [site.https_port],
        "requirement_files": [str(requirements)],
        "scan_installed_python": False,
        "check_patches": False,
        **extra,
    }


def test_headers_grade_matches_observatory_rules(site) -> None:
    obs = fetch(site.url, site.http_url)
    assert not obs.verified  # self-signed
    results = {t.test: (t.result, t.modifier) for t in grade(obs).tests}
    assert results["content-security-policy"] == ("csp-not-implemented", -25)
    assert results["cookies"] == ("cookies-session-without-secure-flag", -40)
    assert results["strict-transport-security"] == ("hsts-invalid-cert", -20)
    assert results["redirection"] == ("redirection-missing", -20)
    assert results["x-frame-options"] == ("x-frame-options-not-implemented", -20)
    assert results["x-content-type-options"] == ("x-content-type-options-nosniff", 0)
    g = grade(obs)
    assert (g.score, g.grade) == (0, "F")  # 100 − 25 − 40 − 20 − 20 − 20, floored at 0


def test_trusting_the_certificate_reveals_the_missing_hsts_header(site) -> None:
    obs = fetch(site.url, site.http_url, ca_file=str(site.ca_file))
    assert obs.verified
    results = {t.test: t.result for t in grade(obs).tests}
    assert results["strict-transport-security"] == "hsts-not-implemented"


def test_scan_reports_every_weakness(sqlite_ws: Workspace, site, tmp_path: Path) -> None:
    configure(sqlite_ws, site, tmp_path)
    report = run_scan(sqlite_ws.settings, sqlite_ws.engine, datetime.now(UTC),
                      areas=["dependencies", "tls", "headers", "ports"])
    titles = [f.title for f in report.findings]
    text = "\n".join(f"{f.title} {f.detail} {f.remedy}" for f in report.findings)

    def has(*words: str) -> bool:
        return any(all(w in t for w in words) for t in titles)

    assert has("Strict-Transport-Security", "not set")  # no HSTS
    assert has("Content-Security-Policy", "not set")  # no CSP
    assert "sessionid lacks HttpOnly, Secure" in text  # session cookie flags
    assert has("expires in", "days")
    days = next(f for f in report.findings if "expires in" in f.title)
    assert days.severity == "crit" and ("expires in 4 days" in days.title or "expires in 5 days" in days.title)
    assert has("self-signed")
    assert has("accepts", "TLS 1.0")  # what sslyze actually saw
    assert has(f"127.0.0.1:{site.http_port}", "not on the allow-list")
    assert not has(f"127.0.0.1:{site.https_port}")
    assert has("requests 2.19.0") and has("django 3.2.0")
    assert all(f.remedy for f in report.findings if f.severity != "info")
    assert report.scores()["headers"] == 0 and report.scores()["tls"] < 50
    assert report.status == "crit" and report.scan_id


def test_cli_scan_json_exits_1_on_findings(sqlite_ws: Workspace, site, tmp_path: Path, monkeypatch) -> None:
    from eduops.cli import app
    from eduops.core import console

    configure(sqlite_ws, site, tmp_path)
    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    result = CliRunner().invoke(app, ["security", "scan", "--json", "--areas", "headers,ports"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["status"] in ("warn", "crit") and set(data["scores"]) == {"headers", "ports"}
    assert data["areas"]["headers"]["evidence"][site.url]["grade"] == "F"
    bad = CliRunner().invoke(app, ["security", "scan", "--areas", "nonsense"])
    assert bad.exit_code == 2 or "unknown area" in str(bad.exception)
