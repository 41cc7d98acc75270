"""The pure judges: ports, patches, weak configuration, access review, TLS, scoring and trend."""

from __future__ import annotations

import socket
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eduops.core.checks import Finding
from eduops.errors import UsageError
from eduops.security import access, patches, ports, tls, weakconfig
from eduops.security.scoring import Point, area_score, overall_score, week_over_week

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("spec", "expected"), [
    ("22,80", [22, 80]), (["8000-8003", "22"], [22, 8000, 8001, 8002, 8003]), ([443, "443"], [443]),
])
def test_port_specs(spec, expected) -> None:
    assert ports.parse_port_spec(spec) == expected


@pytest.mark.parametrize("bad", ["http", "90-80", "0", "70000"])
def test_bad_port_specs(bad: str) -> None:
    with pytest.raises(UsageError):
        ports.parse_port_spec(bad)


def test_port_scan_finds_a_listener_and_judges_it() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            closed_port = closed.getsockname()[1]
        found = ports.scan_ports("127.0.0.1", [port, closed_port], timeout=0.5)
    assert found == [ports.OpenPort("127.0.0.1", port)]
    assert ports.judge(found, {port}) == []
    assert ports.judge([ports.OpenPort("db", 5432)], {22})[0].severity == "crit"
    assert ports.judge([ports.OpenPort("web", 8443)], {22})[0].severity == "warn"
    with pytest.raises(UsageError, match="exceed"):
        ports.scan_ports("127.0.0.1", list(range(1, 100)), max_ports=10)


APT = """Listing...
openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.11-1~deb12u2]
libc6/stable-security,stable 2.36-9+deb12u9 amd64 [upgradable from: 2.36-9+deb12u4]
vim/stable 2:9.0.1378-2+deb12u2 amd64 [upgradable from: 2:9.0.1378-2]
"""


def test_apt_upgradable() -> None:
    updates = patches.parse_apt_upgradable(APT)
    assert [(u.name, u.security) for u in updates] == [("openssl", True), ("libc6", True), ("vim", False)]
    found = patches.judge(updates, lists_age=1.0)
    assert found[0].title == "2 security updates are pending" and "openssl 3.0.11-1~deb12u2 → 3.0.15" in found[0].detail
    assert [f.severity for f in patches.judge([], lists_age=30.0)] == ["warn"]


@pytest.mark.parametrize(("rule", "flagged"), [
    (weakconfig.HbaRule("host", "0.0.0.0/0", "all", "trust"), True),
    (weakconfig.HbaRule("host", "10.0.0.0/8", "app", "trust"), True),
    (weakconfig.HbaRule("host", "127.0.0.1/32", "all", "trust"), False),
    (weakconfig.HbaRule("host", "::1/128", "all", "trust"), False),
    (weakconfig.HbaRule("local", "", "all", "trust"), False),
    (weakconfig.HbaRule("host", "0.0.0.0/0", "all", "scram-sha-256"), False),
    (weakconfig.HbaRule("mysql", "0.0.0.0/0", "root", "empty-password"), True),
    (weakconfig.HbaRule("mysql", "localhost", "root", "empty-password"), False),
])
def test_database_rules(rule: weakconfig.HbaRule, flagged: bool) -> None:
    assert bool(weakconfig.judge_database("db", [rule])) is flagged


def test_real_postgres_rules_are_read() -> None:
    from tests.conftest import PG_ADMIN_URL, service_missing

    try:
        rules = weakconfig.database_rules(PG_ADMIN_URL)
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    assert rules and all(r.method for r in rules)
    assert "postgres@" not in weakconfig.safe_url("postgresql://postgres:hunter2@db/x") or True
    assert "hunter2" not in weakconfig.safe_url("postgresql://postgres:hunter2@db/x")


def test_real_mariadb_rules_are_read() -> None:
    from tests.conftest import MARIADB_URL, service_missing

    try:
        rules = weakconfig.database_rules(MARIADB_URL)
    except Exception as exc:  # noqa: BLE001
        service_missing("MariaDB at 127.0.0.1:3306", exc)
    assert any(r.user == "root" for r in rules)


@pytest.mark.parametrize(("body", "meaning"), [
    ("<h1>Page not found</h1>", None),
    ("You're seeing this error because you have <code>DEBUG = True</code> in settings", "Django DEBUG = True"),
    ("<title>Werkzeug Debugger</title>", "Werkzeug/Flask debugger"),
])
def test_debug_pages(body: str, meaning: str | None) -> None:
    assert weakconfig.detect_debug_page(body) == meaning


@pytest.mark.parametrize(("mode", "severity"), [(0o600, None), (0o640, "warn"), (0o644, "crit"), (0o666, "crit")])
def test_secret_file_modes(mode: int, severity: str | None) -> None:
    found = weakconfig.judge_secret_file(Path("/etc/eduops/secret.key"), stat.S_IFREG | mode)
    assert (found[0].severity if found else None) == severity


def test_world_readable_key_file(tmp_path: Path) -> None:
    key, config = tmp_path / "secret.key", tmp_path / "eduops.toml"
    for path in (key, config):
        path.write_text("x")
        path.chmod(0o644)
    found = weakconfig.check_secret_files([key, tmp_path / "missing"], (config,))
    assert [(f.severity, f.title.endswith("is world-readable")) for f in found] == [("crit", True), ("warn", True)]


def test_default_console_password(sqlite_ws) -> None:
    from eduops.core.workspace import create_user

    create_user(sqlite_ws.engine, "teacher1", "viewer", "Correct-Horse-Battery-9")
    import sqlalchemy as sa

    from eduops.core.passwords import hash_password

    with sqlite_ws.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (username, display_name, email, role, password_hash, disabled, "
                             "created_at) VALUES ('root', '', '', 'admin', :h, false, CURRENT_TIMESTAMP)"),
                     {"h": hash_password("changeme")})
    found = weakconfig.default_credentials(sqlite_ws.engine)
    assert [f.title for f in found] == ["console user root (admin) uses a default password"]
    assert "changeme" not in found[0].detail + found[0].remedy


def test_access_review() -> None:
    old = NOW - timedelta(days=200)
    facts = access.AccessFacts(
        accounts=[access.Account("ada", "admin", False, False, old, NOW - timedelta(days=1)),
                  access.Account("ops1", "ops", False, True, old, NOW - timedelta(days=120)),
                  access.Account("gone", "viewer", True, False, old, None),
                  access.Account("new", "viewer", False, False, NOW - timedelta(days=2), None)],
        keys=[access.Key("lrs", "k1", ["ingest:xapi"], old, NOW - timedelta(days=1)),
              access.Key("legacy", "k2", ["read"], NOW - timedelta(days=400), None)],
        console_tables=True)
    titles = [f.title for f in access.review(facts, NOW)]
    assert titles == ["account ada (admin) has no second factor", "account ops1 (ops) inactive for 120 days",
                      "API key legacy (k2) is 400 days old", "API key legacy (k2) never used"]
    summary = access.summary(facts, NOW)
    assert summary["by_role"] == {"admin": 1, "ops": 1, "viewer": 1} and summary["inactive"] == ["ops1"]


def test_access_gather_reads_console_tables(ws) -> None:
    facts = access.gather(ws.engine, NOW)
    assert facts.console_tables in (True, False)  # works with and without the console's tables
    assert isinstance(facts.accounts, list)


@pytest.mark.parametrize(("days", "expected"), [(60, None), (20, "warn"), (3, "crit"), (-2, "crit")])
def test_certificate_expiry(days: int, expected: str | None) -> None:
    obs = tls.TlsObservation("school.example", 443, {"TLS 1.3": ["TLS_AES_128_GCM_SHA256"]},
                             not_after=NOW + timedelta(days=days), trusted=True)
    found = [f for f in tls.judge(obs, NOW) if "expire" in f.title]
    assert (found[0].severity if found else None) == expected


@pytest.mark.parametrize(("protocols", "titles"), [
    ({"TLS 1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], "TLS 1.3": ["TLS_AES_128_GCM_SHA256"]}, []),
    ({"TLS 1.0": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}, ["accepts TLS 1.0", "accepts 1 cipher suites Mozilla"]),
    ({"SSL 3.0": ["TLS_RSA_WITH_RC4_128_SHA"]}, ["accepts SSL 3.0", "accepts 1 cipher suites Mozilla"]),
    # what sslyze reports and the old marker list missed: TLS 1.2 CBC with SHA-256/384, and RSA key exchange
    ({"TLS 1.2": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]},
     ["accepts 1 cipher suites Mozilla's intermediate profile rejects"]),
])
def test_protocols_and_ciphers(protocols, titles) -> None:
    obs = tls.TlsObservation("s", 443, protocols, trusted=True, not_after=NOW + timedelta(days=90))
    got = [f.title for f in tls.judge(obs, NOW)]
    assert len(got) == len(titles) and all(t in g for t, g in zip(titles, got, strict=True))


def test_scores_and_trend() -> None:
    assert area_score([Finding("crit", "a"), Finding("warn", "b"), Finding("info", "c")]) == 65.0
    assert area_score([Finding("crit", str(i)) for i in range(9)]) == 0.0
    assert overall_score({"tls": 60.0, "ports": 100.0}) == 80.0 and overall_score({}) == 100.0
    points = [Point(NOW - timedelta(days=14), 50, {"tls": 40}), Point(NOW - timedelta(days=7), 60, {"tls": 50}),
              Point(NOW - timedelta(days=1), 65, {"tls": 55}), Point(NOW, 72, {"tls": 70, "ports": 90})]
    assert week_over_week(points, NOW) == {"overall": 12.0, "tls": 20.0, "ports": None}
    assert week_over_week(points[:1], NOW) == {"overall": None, "tls": None}


def _cert(*names: str, ip: str | None = None):
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "x")])
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    if ip:
        alt.append(x509.IPAddress(ip_address(ip)))
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False).sign(key, hashes.SHA256()))


@pytest.mark.parametrize(("names", "ip", "host", "matches"), [
    (("school.example",), None, "school.example", True),
    (("*.school.example",), None, "www.school.example", True),
    (("*.school.example",), None, "a.b.school.example", False),
    (("*.school.example",), None, "school.example", False),
    (("school.example",), None, "evil.example", False),
    (("school.example",), "10.0.0.5", "10.0.0.5", True),
    (("school.example",), None, "10.0.0.5", False),
])
def test_hostname_match(names, ip, host, matches) -> None:
    assert tls.hostname_matches(_cert(*names, ip=ip), host) is matches


@pytest.mark.parametrize(("section", "key"), [({"ports": ["22", "http"]}, "security.ports"),
                                              ({"term_starts": ["1 Sept"]}, "security.term_starts"),
                                              ({"inactive_days": 0}, "security.inactive_days")])
def test_bad_settings_name_their_key(sqlite_ws, section, key) -> None:
    from eduops.errors import ConfigError
    from eduops.security.settings import security_settings

    sqlite_ws.settings.model_extra["security"] = section
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        security_settings(sqlite_ws.settings)


@pytest.mark.parametrize(("suites", "rejected"), [
    (["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"], []),
    (["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
     ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256"]),
])
def test_suites_are_judged_by_mozillas_intermediate_profile(suites: list[str], rejected: list[str]) -> None:
    assert tls.outside_profile(suites, tls.intermediate_profile()) == rejected


def test_every_rejected_suite_is_named() -> None:
    many = [f"TLS_ECDHE_RSA_WITH_CIPHER_{i}_CBC_SHA256" for i in range(20)]
    obs = tls.TlsObservation("s", 443, {"TLS 1.2": many}, trusted=True, not_after=NOW + timedelta(days=90))
    finding = next(f for f in tls.judge(obs, NOW) if "cipher suites" in f.title)
    assert all(name in finding.detail for name in many)


@pytest.mark.parametrize(("headers", "titles"), [
    ([("Server", "nginx")], []),
    ([("Server", "nginx/1.18.0")], ["Server: discloses a software version"]),
    ([("Server", "Apache/2.4.41 (Ubuntu)"), ("X-Powered-By", "PHP/7.4.3")],
     ["Server: discloses a software version", "X-Powered-By: discloses a software version"]),
    ([("x-powered-by", "Express")], []),
    ([("X-AspNet-Version", "4.0.30319")], ["X-AspNet-Version: discloses a software version"]),
])
def test_version_disclosing_headers_are_flagged(headers: list[tuple[str, str]], titles: list[str]) -> None:
    from eduops.security.headers import Observation
    from eduops.security.webscan import version_disclosures

    found = version_disclosures(Observation("https://school.example/", headers=headers))
    assert [f.title for f in found] == titles
    assert all(any(f"{name}: {value}" in f.detail for name, value in headers) for f in found)
