"""Observatory grading as a table: each row is what a server sends and the result it earns."""

from __future__ import annotations

import pytest

from eduops.security.headers import Observation, grade
from eduops.security.observatory import final_score, grade_for

URL = "https://school.example/"
HTML = [("Content-Type", "text/html; charset=utf-8")]
GOOD_HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def obs(*headers: tuple[str, str], body: str = "", verified: bool = True,
        route: list[str] | None = None, cors: list[tuple[str, str]] | None = None) -> Observation:
    return Observation(URL, headers=list(HTML) + list(headers), body=body, verified=verified,
                       http_route=route, cors_headers=cors or [])


@pytest.mark.parametrize(("test", "observation", "expected"), [
    ("content-security-policy", obs(), "csp-not-implemented"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'none'")),
     "csp-implemented-with-no-unsafe-default-src-none"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self'")),
     "csp-implemented-with-no-unsafe"),
    ("content-security-policy",
     obs(("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")),
     "csp-implemented-with-unsafe-inline"),
    ("content-security-policy", obs(("Content-Security-Policy", "script-src 'self'")),
     "csp-implemented-with-unsafe-inline"),  # object-src unrestricted
    ("content-security-policy",
     obs(("Content-Security-Policy", "default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'")),
     "csp-implemented-with-no-unsafe"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-eval'")),
     "csp-implemented-with-unsafe-eval"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self' http://cdn.example")),
     "csp-implemented-with-insecure-scheme"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self'; img-src http:")),
     "csp-implemented-with-insecure-scheme-in-passive-content-only"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")),
     "csp-implemented-with-unsafe-inline-in-style-src-only"),
    ("content-security-policy", obs(("Content-Security-Policy", "default-src 'self'; script-src 'strict-dynamic'")),
     "csp-header-invalid"),
    ("cookies", obs(), "cookies-not-found"),
    ("cookies", obs(("Set-Cookie", "sessionid=1; Secure; HttpOnly; SameSite=Lax")),
     "cookies-secure-with-httponly-sessions-and-samesite"),
    ("cookies", obs(("Set-Cookie", "sessionid=1; Secure; HttpOnly")), "cookies-secure-with-httponly-sessions"),
    ("cookies", obs(("Set-Cookie", "sessionid=1; Secure")), "cookies-session-without-httponly-flag"),
    ("cookies", obs(("Set-Cookie", "sessionid=1; HttpOnly")), "cookies-session-without-secure-flag"),
    ("cookies", obs(("Set-Cookie", "sessionid=1; HttpOnly"), GOOD_HSTS),
     "cookies-session-without-secure-flag-but-protected-by-hsts"),
    ("cookies", obs(("Set-Cookie", "theme=dark")), "cookies-without-secure-flag"),
    ("cookies", obs(("Set-Cookie", "theme=dark"), GOOD_HSTS), "cookies-without-secure-flag-but-protected-by-hsts"),
    ("cookies", obs(("Set-Cookie", "theme=dark; Secure; SameSite=Maybe")), "cookies-samesite-flag-invalid"),
    ("cookies", obs(("Set-Cookie", "csrftoken=1; Secure")), "cookies-anticsrf-without-samesite-flag"),
    ("cross-origin-resource-sharing", obs(), "cross-origin-resource-sharing-not-implemented"),
    ("cross-origin-resource-sharing", obs(cors=[("Access-Control-Allow-Origin", "*")]),
     "cross-origin-resource-sharing-implemented-with-public-access"),
    ("cross-origin-resource-sharing",
     obs(cors=[("Access-Control-Allow-Origin", "https://http-observatory.security.mozilla.org"),
               ("Access-Control-Allow-Credentials", "true")]),
     "cross-origin-resource-sharing-implemented-with-universal-access"),
    ("cross-origin-resource-sharing", obs(cors=[("Access-Control-Allow-Origin", "https://app.school.example")]),
     "cross-origin-resource-sharing-implemented-with-restricted-access"),
    ("redirection", obs(route=None), "redirection-not-needed-no-http"),
    ("redirection", obs(route=["http://school.example/"]), "redirection-missing"),
    ("redirection", obs(route=["http://school.example/", "https://school.example/"]), "redirection-to-https"),
    ("redirection", obs(route=["http://school.example/", "http://www.school.example/", "https://www.school.example/"]),
     "redirection-not-to-https-on-initial-redirection"),
    ("redirection", obs(route=["http://school.example/", "https://www.school.example/"]),
     "redirection-off-host-from-http"),
    ("redirection", obs(route=["http://school.example/", "http://school.example/a"]), "redirection-not-to-https"),
    ("redirection", obs(route=["http://school.example/", "https://school.example/"], verified=False),
     "redirection-invalid-cert"),
    ("referrer-policy", obs(), "referrer-policy-not-implemented"),
    ("referrer-policy", obs(("Referrer-Policy", "strict-origin-when-cross-origin")), "referrer-policy-private"),
    ("referrer-policy", obs(("Referrer-Policy", "no-referrer, unsafe-url")), "referrer-policy-unsafe"),
    ("referrer-policy", obs(("Referrer-Policy", "sometimes")), "referrer-policy-header-invalid"),
    ("strict-transport-security", obs(), "hsts-not-implemented"),
    ("strict-transport-security", obs(GOOD_HSTS), "hsts-implemented-max-age-at-least-six-months"),
    ("strict-transport-security", obs(("Strict-Transport-Security", "max-age=86400")),
     "hsts-implemented-max-age-less-than-six-months"),
    ("strict-transport-security", obs(("Strict-Transport-Security", "includeSubDomains")), "hsts-header-invalid"),
    ("strict-transport-security", obs(GOOD_HSTS, verified=False), "hsts-invalid-cert"),
    ("subresource-integrity", obs(body="<p>no scripts</p>"), "sri-not-implemented-but-no-scripts-loaded"),
    ("subresource-integrity", obs(body='<script src="/app.js"></script>'),
     "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"),
    ("subresource-integrity", obs(body='<script src="https://cdn.example/x.js"></script>'),
     "sri-not-implemented-but-external-scripts-loaded-securely"),
    ("subresource-integrity", obs(body='<script src="https://cdn.example/x.js" integrity="sha384-x"></script>'),
     "sri-implemented-and-external-scripts-loaded-securely"),
    ("subresource-integrity", obs(body='<script src="http://cdn.example/x.js"></script>'),
     "sri-not-implemented-and-external-scripts-not-loaded-securely"),
    ("subresource-integrity", obs(body='<script src="//cdn.example/x.js" integrity="sha384-x"></script>'),
     "sri-implemented-but-external-scripts-not-loaded-securely"),
    ("x-content-type-options", obs(), "x-content-type-options-not-implemented"),
    ("x-content-type-options", obs(("X-Content-Type-Options", "nosniff")), "x-content-type-options-nosniff"),
    ("x-content-type-options", obs(("X-Content-Type-Options", "sniff-away")), "x-content-type-options-header-invalid"),
    ("x-frame-options", obs(), "x-frame-options-not-implemented"),
    ("x-frame-options", obs(("X-Frame-Options", "DENY")), "x-frame-options-sameorigin-or-deny"),
    ("x-frame-options", obs(("X-Frame-Options", "ALLOWALL")), "x-frame-options-header-invalid"),
    ("x-frame-options", obs(("Content-Security-Policy", "frame-ancestors 'none'")),
     "x-frame-options-implemented-via-csp"),
    ("x-frame-options", obs(("Content-Security-Policy", "frame-ancestors *")), "x-frame-options-not-implemented"),
    ("cross-origin-resource-policy", obs(("Cross-Origin-Resource-Policy", "same-origin")),
     "cross-origin-resource-policy-implemented-with-same-origin"),
    ("cross-origin-resource-policy", obs(("Cross-Origin-Resource-Policy", "everyone")),
     "cross-origin-resource-policy-header-invalid"),
])
def test_observatory_results(test: str, observation: Observation, expected: str) -> None:
    assert next(t for t in grade(observation).tests if t.test == test).result == expected


@pytest.mark.parametrize(("score", "grade"), [
    (135, "A+"), (100, "A+"), (99, "A"), (90, "A"), (89, "A-"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"),
    (60, "C+"), (50, "C"), (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (24, "F"), (0, "F"), (-30, "F"),
])
def test_grade_chart(score: int, grade: str) -> None:
    assert grade_for(score) == grade


@pytest.mark.parametrize(("modifiers", "score"), [
    ([], 100),
    ([5, 10, -5], 110),   # 95 without bonuses: bonuses count
    ([5, 10, -15], 85),   # 85 without bonuses: they do not
    ([-25, -40, -20, -20, -20], 0),  # floored at zero
])
def test_extra_credit_only_from_ninety(modifiers: list[int], score: int) -> None:
    assert final_score(modifiers) == score


def test_a_hardened_site_gets_a_plus() -> None:
    strong = obs(GOOD_HSTS,
                 ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; form-action 'self'"),
                 ("Set-Cookie", "sessionid=1; Secure; HttpOnly; SameSite=Strict"),
                 ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"),
                 route=["http://school.example/", "https://school.example/"], body="<p>hi</p>")
    g = grade(strong)
    assert (g.score, g.grade) == (125, "A+")
    assert not g.deductions()
