"""HTTP security headers graded the way the Mozilla HTTP Observatory grades them.

``grade(observation)`` is pure: it takes what was fetched (headers, body, redirect route, whether
the certificate verified) and returns each test's result with its modifier, the score and the
grade. ``fetch`` gathers the observation with httpx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from eduops.security.csp import csp_result, restricts_framing
from eduops.security.observatory import SCORE_TABLE, TEST_HEADER, final_score, grade_for

PROBE_ORIGIN = "https://http-observatory.security.mozilla.org"


@dataclass
class Observation:
    url: str  # the final URL of the automatic fetch
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    verified: bool = True  # the HTTPS certificate chain validated
    https: bool = True  # the site answered over HTTPS
    http_route: list[str] | None = None  # URLs visited from http:// (None: no HTTP listener)
    cors_headers: list[tuple[str, str]] = field(default_factory=list)  # answer to a request with Origin

    def get_all(self, name: str, headers: list[tuple[str, str]] | None = None) -> list[str]:
        return [v for k, v in (self.headers if headers is None else headers) if k.lower() == name.lower()]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return ", ".join(values) if values else None


@dataclass
class TestResult:
    test: str
    result: str
    modifier: int
    description: str
    remedy: str
    passed: bool


@dataclass
class Grade:
    url: str
    score: int
    grade: str
    tests: list[TestResult]

    def deductions(self) -> list[TestResult]:
        return [t for t in self.tests if t.modifier < 0]


def _worse(current: str | None, candidate: str, goodness: list[str]) -> str:
    if current is None or current not in goodness or goodness.index(candidate) > goodness.index(current):
        return candidate
    return current


# --- Content-Security-Policy (rules in csp.py) -------------------------------------------------


def csp_test(obs: Observation) -> str:
    return csp_result(obs.get_all("Content-Security-Policy"), obs.url)


def frame_ancestors_restricted(obs: Observation) -> bool:
    return restricts_framing(obs.get_all("Content-Security-Policy"))


# --- Cookies -------------------------------------------------------------------------------------


@dataclass
class Cookie:
    name: str
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None


def parse_set_cookie(value: str) -> Cookie:
    parts = [p.strip() for p in value.split(";")]
    cookie = Cookie(parts[0].split("=", 1)[0].strip())
    for attr in parts[1:]:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.httponly = True
        elif key == "samesite":
            cookie.samesite = val.strip()
    return cookie


COOKIE_GOODNESS = [
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
]


def cookies_test(obs: Observation) -> str:
    raw = obs.get_all("Set-Cookie")
    cookies = [parse_set_cookie(v) for v in raw if v.strip()]
    cookies = [c for c in cookies if c.name and c.name != "heroku-session-affinity"]
    if not cookies:
        return "cookies-not-found"
    hsts = hsts_test(obs) in ("hsts-implemented-max-age-at-least-six-months", "hsts-preloaded")
    result: str | None = None
    missing_samesite = False
    for c in cookies:
        if c.samesite is not None and c.samesite.lower() not in ("lax", "strict", "none"):
            result = _worse(result, "cookies-samesite-flag-invalid", COOKIE_GOODNESS)
        session = any(k in c.name.lower() for k in ("login", "sess"))
        anticsrf = "csrf" in c.name.lower()
        if not c.secure and (c.samesite or "").lower() == "none":
            result = _worse(result, "cookies-samesite-flag-invalid", COOKIE_GOODNESS)
        if not c.secure:
            result = _worse(result, "cookies-without-secure-flag-but-protected-by-hsts" if hsts
                            else "cookies-without-secure-flag", COOKIE_GOODNESS)
        if anticsrf and not c.samesite:
            result = _worse(result, "cookies-anticsrf-without-samesite-flag", COOKIE_GOODNESS)
        if session and not c.secure:
            result = _worse(result, "cookies-session-without-secure-flag-but-protected-by-hsts" if hsts
                            else "cookies-session-without-secure-flag", COOKIE_GOODNESS)
        if session and not c.httponly:
            result = _worse(result, "cookies-session-without-httponly-flag", COOKIE_GOODNESS)
        missing_samesite = missing_samesite or not c.samesite
    if result:
        return result
    if missing_samesite:
        return "cookies-secure-with-httponly-sessions"
    return "cookies-secure-with-httponly-sessions-and-samesite"


def session_cookie_problems(obs: Observation) -> list[str]:
    """Plain words for what each session cookie lacks (the Observatory reports only the worst)."""
    problems = []
    for value in obs.get_all("Set-Cookie"):
        c = parse_set_cookie(value)
        if any(k in c.name.lower() for k in ("login", "sess")):
            missing = [flag for flag, ok in (("HttpOnly", c.httponly), ("Secure", c.secure), ("SameSite", c.samesite))
                       if not ok]
            if missing:
                problems.append(f"cookie {c.name} lacks {', '.join(missing)}")
    return problems


# --- the other headers ---------------------------------------------------------------------------


def cors_test(obs: Observation) -> str:
    headers = obs.cors_headers or obs.headers
    acao = obs.get_all("Access-Control-Allow-Origin", headers)
    if not acao:
        return "cross-origin-resource-sharing-not-implemented"
    value = acao[0].strip()
    credentials = any(v.strip().lower() == "true" for v in obs.get_all("Access-Control-Allow-Credentials", headers))
    if value == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access"
    if value == PROBE_ORIGIN and credentials:
        return "cross-origin-resource-sharing-implemented-with-universal-access"
    return "cross-origin-resource-sharing-implemented-with-restricted-access"


def redirection_test(obs: Observation) -> str:
    route = obs.http_route
    if route is None:
        return "redirection-not-needed-no-http"
    if len(route) <= 1:
        return "redirection-missing"
    if urlsplit(route[-1]).scheme != "https":
        return "redirection-not-to-https"
    if not obs.verified:
        return "redirection-invalid-cert"
    if urlsplit(route[1]).scheme == "http":
        return "redirection-not-to-https-on-initial-redirection"
    if urlsplit(route[0]).hostname != urlsplit(route[1]).hostname:
        return "redirection-off-host-from-http"
    return "redirection-to-https"


PRIVATE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
UNSAFE_REFERRER = {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}


def referrer_policy_test(obs: Observation) -> str:
    value = obs.get("Referrer-Policy")
    if value is None:
        return "referrer-policy-not-implemented"
    # browsers use the last policy they understand
    known = [t.strip().lower() for t in value.split(",") if t.strip().lower() in PRIVATE_REFERRER | UNSAFE_REFERRER]
    if not known:
        return "referrer-policy-header-invalid"
    return "referrer-policy-private" if known[-1] in PRIVATE_REFERRER else "referrer-policy-unsafe"


SIX_MONTHS = 15_552_000


def hsts_test(obs: Observation) -> str:
    if not obs.https:
        return "hsts-not-implemented-no-https"
    if not obs.verified:
        return "hsts-invalid-cert"
    values = obs.get_all("Strict-Transport-Security")
    if not values:
        return "hsts-not-implemented"
    header = values[0][:1024]
    if "," in header:
        return "hsts-header-invalid"
    max_age = None
    for param in (p.strip().lower() for p in header.split(";")):
        if param.startswith("max-age="):
            digits = re.match(r"\d+", param[8:128].strip('"'))
            max_age = int(digits.group()) if digits else None
    if max_age is None:
        return "hsts-header-invalid"
    return ("hsts-implemented-max-age-at-least-six-months" if max_age >= SIX_MONTHS
            else "hsts-implemented-max-age-less-than-six-months")


def hsts_header_present(obs: Observation) -> bool:
    return bool(obs.get_all("Strict-Transport-Security"))


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def sri_test(obs: Observation) -> str:
    content_type = (obs.get("Content-Type") or "").lower()
    if "html" not in content_type:
        return "sri-not-implemented-response-not-html"
    parser = _Scripts()
    parser.feed(obs.body)
    scripts = [s for s in parser.scripts if s.get("src")]
    if not scripts:
        return "sri-not-implemented-but-no-scripts-loaded"
    here = urlsplit(obs.url)
    external_secure = external_insecure = False
    with_sri = without_sri = 0
    for s in scripts:
        src = str(s.get("src"))
        full = urlsplit(urljoin(obs.url, src))
        same_origin = (full.scheme, full.hostname) == (here.scheme, here.hostname) and not src.startswith("//")
        if s.get("integrity"):
            with_sri += 1
        else:
            without_sri += 1
        if same_origin:
            continue
        if full.scheme == "https" and not src.startswith("//"):
            external_secure = True
        else:
            external_insecure = True
    if with_sri and not without_sri:
        if external_insecure:
            return "sri-implemented-but-external-scripts-not-loaded-securely"
        return ("sri-implemented-and-external-scripts-loaded-securely" if external_secure
                else "sri-implemented-and-all-scripts-loaded-securely")
    if external_insecure:
        return "sri-not-implemented-and-external-scripts-not-loaded-securely"
    if external_secure:
        return "sri-not-implemented-but-external-scripts-loaded-securely"
    return "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"


def x_content_type_options_test(obs: Observation) -> str:
    value = obs.get("X-Content-Type-Options")
    if value is None:
        return "x-content-type-options-not-implemented"
    if value.strip().lower() == "nosniff":
        return "x-content-type-options-nosniff"
    return "x-content-type-options-header-invalid"


def x_frame_options_test(obs: Observation) -> str:
    if frame_ancestors_restricted(obs):
        return "x-frame-options-implemented-via-csp"
    value = obs.get("X-Frame-Options")
    if value is None:
        return "x-frame-options-not-implemented"
    value = value.strip().lower()
    if value in ("deny", "sameorigin"):
        return "x-frame-options-sameorigin-or-deny"
    if value.startswith("allow-from "):
        return "x-frame-options-allow-from-origin"
    return "x-frame-options-header-invalid"


def corp_test(obs: Observation) -> str:
    value = obs.get("Cross-Origin-Resource-Policy")
    if value is None:
        return "cross-origin-resource-policy-not-implemented"
    return {"same-origin": "cross-origin-resource-policy-implemented-with-same-origin",
            "same-site": "cross-origin-resource-policy-implemented-with-same-site",
            "cross-origin": "cross-origin-resource-policy-implemented-with-cross-origin",
            }.get(value.strip().lower(), "cross-origin-resource-policy-header-invalid")


TESTS = {
    "content-security-policy": csp_test,
    "cookies": cookies_test,
    "cross-origin-resource-sharing": cors_test,
    "redirection": redirection_test,
    "referrer-policy": referrer_policy_test,
    "strict-transport-security": hsts_test,
    "subresource-integrity": sri_test,
    "x-content-type-options": x_content_type_options_test,
    "x-frame-options": x_frame_options_test,
    "cross-origin-resource-policy": corp_test,
}


def grade(obs: Observation) -> Grade:
    """Score and grade one fetched page by the Observatory's rules."""
    results = []
    for test, func in TESTS.items():
        result = func(obs)
        modifier, description, remedy = SCORE_TABLE[result]
        results.append(TestResult(test, result, modifier, description, remedy, passed=modifier >= 0))
    score = final_score([r.modifier for r in results])
    return Grade(obs.url, score, grade_for(score), results)


def header_of(test: str) -> str:
    return TEST_HEADER[test]
