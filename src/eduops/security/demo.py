"""The security share of the demo: six weekly scans of the demo school, judged by the real rules.

Each week the team fixed something (HSTS, then the session cookie, then CSP; Redis closed; Django
and requests upgraded), so the findings are real judgements of realistic inputs and the trend
improves week over week.
"""

from __future__ import annotations

from datetime import timedelta

from eduops.alerting import metrics
from eduops.core.checks import Measurement
from eduops.core.demo import DemoContext
from eduops.db import session_scope
from eduops.security import access, deps, patches, ports, tls
from eduops.security.headers import Observation, grade
from eduops.security.inventory import parse_requirements
from eduops.security.scoring import area_score, overall_score
from eduops.security.service import AreaResult, ScanReport, save
from eduops.security.settings import SecuritySettings
from eduops.security.webscan import findings as header_findings

URL = "https://demo-school.example/"
WEEKS = 6

# what the demo school ran each week, oldest first
REQUIREMENTS = [
    "django==3.2.0\nrequests==2.19.0\nurllib3==1.24.1\n",
    "django==3.2.0\nrequests==2.19.0\nurllib3==1.24.1\n",
    "django==3.2.20\nrequests==2.19.0\nurllib3==1.26.5\n",
    "django==3.2.20\nrequests==2.31.0\nurllib3==1.26.5\n",
    "django==4.2.16\nrequests==2.32.3\nurllib3==1.26.19\n",
    "django==4.2.16\nrequests==2.32.3\nurllib3==2.2.3\n",
]
HEADERS = [
    [("Set-Cookie", "sessionid=a1; Path=/")],
    [("Set-Cookie", "sessionid=a1; Path=/; HttpOnly"), ("X-Content-Type-Options", "nosniff")],
    [("Set-Cookie", "sessionid=a1; Path=/; HttpOnly; Secure"), ("X-Content-Type-Options", "nosniff"),
     ("Strict-Transport-Security", "max-age=63072000")],
    [("Set-Cookie", "sessionid=a1; Path=/; HttpOnly; Secure; SameSite=Lax"), ("X-Content-Type-Options", "nosniff"),
     ("Strict-Transport-Security", "max-age=63072000"), ("X-Frame-Options", "DENY")],
    [("Set-Cookie", "sessionid=a1; Path=/; HttpOnly; Secure; SameSite=Lax"), ("X-Content-Type-Options", "nosniff"),
     ("Strict-Transport-Security", "max-age=63072000"), ("X-Frame-Options", "DENY"),
     ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")],
    [("Set-Cookie", "sessionid=a1; Path=/; HttpOnly; Secure; SameSite=Lax"), ("X-Content-Type-Options", "nosniff"),
     ("Strict-Transport-Security", "max-age=63072000"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
     ("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'none'")],
]
APT = ["openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.11-1~deb12u2]\n"
       "libc6/stable-security 2.36-9+deb12u9 amd64 [upgradable from: 2.36-9+deb12u4]\n"
       "nginx/stable-security 1.22.1-9+deb12u1 amd64 [upgradable from: 1.22.1-9]\n"] * 3 + [
    "nginx/stable-security 1.22.1-9+deb12u1 amd64 [upgradable from: 1.22.1-9]\n", "", ""]


def _week(demo: DemoContext, k: int, sec: SecuritySettings) -> dict[str, AreaResult]:
    at = demo.now - timedelta(weeks=WEEKS - 1 - k)
    areas: dict[str, AreaResult] = {}
    sources = sec.osv_sources()
    if sources:
        report = deps.scan_packages(deps.database(sources), parse_requirements(REQUIREMENTS[k], "requirements.txt"))
        found = deps.findings(report)
        areas["dependencies"] = AreaResult("dependencies", found, area_score(found),
                                           {"ids": sorted({v.id for v in report.vulnerabilities})})
    obs = Observation(URL, headers=[("Content-Type", "text/html")] + HEADERS[k],
                      body='<script src="/static/app.js"></script>',
                      http_route=["http://demo-school.example/", URL])
    g = grade(obs)
    areas["headers"] = AreaResult("headers", header_findings(g, obs), float(min(g.score, 100)),
                                  {URL: {"score": g.score, "grade": g.grade}})
    tls_obs = tls.TlsObservation("demo-school.example", 443,
                                 {"TLS 1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                                  "TLS 1.3": ["TLS_AES_128_GCM_SHA256"]}
                                 | ({"TLS 1.0": ["TLS_RSA_WITH_AES_128_CBC_SHA"]} if k < 2 else {}),
                                 not_after=at + timedelta(days=12 if k == 3 else 75), subject="CN=demo-school.example",
                                 trusted=True)
    found = tls.judge(tls_obs, at)
    areas["tls"] = AreaResult("tls", found, area_score(found), {})
    open_ports = [ports.OpenPort("demo-school.example", p) for p in (22, 80, 443)]
    if k < 3:
        open_ports.append(ports.OpenPort("demo-school.example", 6379))
    found = ports.judge(open_ports, set(sec.ports_allowed))
    areas["ports"] = AreaResult("ports", found, area_score(found), {"open": [p.port for p in open_ports]})
    found = patches.judge(patches.parse_apt_upgradable(APT[k]), lists_age=1.0)
    areas["patches"] = AreaResult("patches", found, area_score(found), {})
    facts = access.gather(demo.ws.engine, at)
    found = access.review(facts, at)
    areas["access"] = AreaResult("access", found, area_score(found), access.summary(facts, at))
    return areas


def populate(demo: DemoContext) -> None:
    sec = SecuritySettings()
    for k in range(WEEKS):
        demo.progress(f"security scan, week {k + 1}", k / WEEKS)
        at = demo.now - timedelta(weeks=WEEKS - 1 - k, hours=demo.rng.randint(0, 3))
        areas = _week(demo, k, sec)
        report = ScanReport(at, areas, overall_score({n: a.score for n, a in areas.items() if a.score is not None}))
        save(demo.ws.engine, report, trigger="scheduled")
        measurements = [Measurement("security_score", report.score, "points", {"area": "overall"})]
        measurements += [Measurement("security_score", s, "points", {"area": a}) for a, s in report.scores().items()]
        measurements += [Measurement("security_findings", float(sum(f.severity == s for f in report.findings)), "",
                                     {"severity": s}) for s in ("crit", "warn")]
        with session_scope(demo.ws.engine) as session:
            metrics.record(session, measurements, at)
    demo.notes["security"] = "security: 6 weekly scans, score rising as fixes landed (eduops security history)"
