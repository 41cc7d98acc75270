"""The Mozilla HTTP Observatory score table: every result's modifier, meaning and fix.

Modifiers, grade chart and the extra-credit rule follow mdn/mdn-http-observatory (``grader/charts.js``).
"""

from __future__ import annotations

GRADE_CHART = {100: "A+", 95: "A", 90: "A", 85: "A-", 80: "B+", 75: "B", 70: "B", 65: "B-", 60: "C+", 55: "C",
               50: "C", 45: "C-", 40: "D+", 35: "D", 30: "D", 25: "D-", 20: "F", 15: "F", 10: "F", 5: "F", 0: "F"}
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90

# result → (modifier, what it means, the header or change that fixes it)
SCORE_TABLE: dict[str, tuple[int, str, str]] = {
    # Content-Security-Policy
    "csp-implemented-with-no-unsafe-default-src-none": (10, "CSP with default-src 'none' and no 'unsafe'", ""),
    "csp-implemented-with-no-unsafe": (5, "CSP without 'unsafe-inline' or 'unsafe-eval'", ""),
    "csp-implemented-with-unsafe-inline-in-style-src-only": (
        0, "CSP allows unsafe sources in style-src", "remove 'unsafe-inline', data: and broad sources from style-src"),
    "csp-implemented-with-insecure-scheme-in-passive-content-only": (
        -10, "CSP lets images or media load over HTTP", "allow only https: sources in img-src and media-src"),
    "csp-implemented-with-unsafe-eval": (-10, "CSP allows 'unsafe-eval'", "remove 'unsafe-eval' from script-src"),
    "csp-implemented-with-unsafe-inline": (
        -20, "CSP allows 'unsafe-inline' or data: in script-src, or broad/unrestricted object-src or script-src",
        "Content-Security-Policy: script-src 'self'; object-src 'none' (use nonces or hashes for inline code)"),
    "csp-implemented-with-insecure-scheme": (
        -20, "CSP lets scripts or other active content load over HTTP", "remove http: sources from the policy"),
    "csp-header-invalid": (-25, "Content-Security-Policy cannot be parsed", "fix the policy syntax"),
    "csp-not-implemented": (
        -25, "Content-Security-Policy header not set",
        "Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'"),
    # Cookies
    "cookies-secure-with-httponly-sessions-and-samesite": (
        5, "All cookies Secure, session cookies HttpOnly, SameSite set", ""),
    "cookies-secure-with-httponly-sessions": (
        0, "All cookies Secure and session cookies HttpOnly", "add SameSite=Lax (or Strict) to every cookie"),
    "cookies-not-found": (0, "No cookies set", ""),
    "cookies-without-secure-flag-but-protected-by-hsts": (
        -5, "Cookies without Secure, protected by HSTS", "add Secure to every Set-Cookie"),
    "cookies-session-without-secure-flag-but-protected-by-hsts": (
        -10, "Session cookie without Secure, protected by HSTS", "add Secure to the session cookie"),
    "cookies-without-secure-flag": (
        -20, "Cookies set without Secure", "add Secure to every Set-Cookie and enable HSTS"),
    "cookies-samesite-flag-invalid": (
        -20, "SameSite is not Strict or Lax (or None without Secure)", "use SameSite=Lax or SameSite=Strict"),
    "cookies-anticsrf-without-samesite-flag": (
        -20, "Anti-CSRF cookie without SameSite", "add SameSite=Strict to the CSRF cookie"),
    "cookies-session-without-httponly-flag": (
        -30, "Session cookie without HttpOnly", "Set-Cookie: <session>=…; HttpOnly; Secure; SameSite=Lax"),
    "cookies-session-without-secure-flag": (
        -40, "Session cookie without Secure", "Set-Cookie: <session>=…; Secure; HttpOnly; SameSite=Lax"),
    # CORS
    "cross-origin-resource-sharing-not-implemented": (0, "No CORS headers", ""),
    "cross-origin-resource-sharing-implemented-with-public-access": (0, "Public content shared with any origin", ""),
    "cross-origin-resource-sharing-implemented-with-restricted-access": (0, "CORS restricted to chosen origins", ""),
    "cross-origin-resource-sharing-implemented-with-universal-access": (
        -50, "Any origin may read responses with credentials",
        "never reflect Origin with Access-Control-Allow-Credentials: true; allow-list origins"),
    # Redirection
    "redirection-all-redirects-preloaded": (0, "Every host redirected to is HSTS-preloaded", ""),
    "redirection-to-https": (0, "HTTP redirects to HTTPS on the same host", ""),
    "redirection-not-needed-no-http": (0, "No plain HTTP listener", ""),
    "redirection-off-host-from-http": (
        -5, "HTTP redirects to HTTPS on another host", "redirect to https:// on the same host first"),
    "redirection-not-to-https-on-initial-redirection": (
        -10, "First redirect goes to another HTTP URL", "redirect http:// straight to https:// on the same host"),
    "redirection-not-to-https": (-20, "Redirects end on HTTP", "redirect to https:// (return 301 https://$host$request_uri)"),
    "redirection-missing": (-20, "HTTP does not redirect to HTTPS", "return 301 https://$host$request_uri on port 80"),
    "redirection-invalid-cert": (
        -20, "The HTTPS redirect target has an invalid certificate", "install a certificate from a trusted CA"),
    # Referrer-Policy
    "referrer-policy-private": (5, "Referrer-Policy keeps URLs private", ""),
    "referrer-policy-not-implemented": (
        0, "Referrer-Policy not set", "Referrer-Policy: strict-origin-when-cross-origin"),
    "referrer-policy-unsafe": (
        -5, "Referrer-Policy leaks full URLs", "Referrer-Policy: strict-origin-when-cross-origin"),
    "referrer-policy-header-invalid": (
        -5, "Referrer-Policy cannot be recognized", "Referrer-Policy: strict-origin-when-cross-origin"),
    # Strict-Transport-Security
    "hsts-preloaded": (5, "Preloaded in the HSTS list", ""),
    "hsts-implemented-max-age-at-least-six-months": (0, "HSTS max-age of at least six months", ""),
    "hsts-implemented-max-age-less-than-six-months": (
        -10, "HSTS max-age under six months", "Strict-Transport-Security: max-age=63072000"),
    "hsts-not-implemented": (-20, "Strict-Transport-Security not set", "Strict-Transport-Security: max-age=63072000"),
    "hsts-header-invalid": (-20, "Strict-Transport-Security cannot be recognized",
                            "Strict-Transport-Security: max-age=63072000"),
    "hsts-not-implemented-no-https": (-20, "Site not available over HTTPS", "serve the site over HTTPS with HSTS"),
    "hsts-invalid-cert": (
        -20, "HSTS cannot work: the certificate chain is not valid",
        "install a certificate from a trusted CA, then Strict-Transport-Security: max-age=63072000"),
    # Subresource Integrity
    "sri-implemented-and-all-scripts-loaded-securely": (5, "SRI on scripts, all from the same origin", ""),
    "sri-implemented-and-external-scripts-loaded-securely": (5, "SRI on external scripts loaded over HTTPS", ""),
    "sri-not-implemented-response-not-html": (0, "Not HTML, SRI not needed", ""),
    "sri-not-implemented-but-no-scripts-loaded": (0, "No scripts loaded", ""),
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": (0, "All scripts from the same origin", ""),
    "sri-not-implemented-but-external-scripts-loaded-securely": (
        -5, "External scripts without SRI", "add integrity=\"sha384-…\" crossorigin=\"anonymous\" to external scripts"),
    "sri-implemented-but-external-scripts-not-loaded-securely": (
        -20, "External scripts loaded over HTTP", "load external scripts over https://"),
    "sri-not-implemented-and-external-scripts-not-loaded-securely": (
        -50, "External scripts over HTTP without SRI", "load external scripts over https:// with integrity=…"),
    # X-Content-Type-Options
    "x-content-type-options-nosniff": (0, "X-Content-Type-Options: nosniff", ""),
    "x-content-type-options-not-implemented": (
        -5, "X-Content-Type-Options not set", "X-Content-Type-Options: nosniff"),
    "x-content-type-options-header-invalid": (
        -5, "X-Content-Type-Options cannot be recognized", "X-Content-Type-Options: nosniff"),
    # X-Frame-Options
    "x-frame-options-implemented-via-csp": (5, "Framing limited by CSP frame-ancestors", ""),
    "x-frame-options-sameorigin-or-deny": (
        0, "X-Frame-Options SAMEORIGIN or DENY", "also set Content-Security-Policy: frame-ancestors 'none'"),
    "x-frame-options-allow-from-origin": (
        0, "X-Frame-Options ALLOW-FROM", "use Content-Security-Policy: frame-ancestors <origin>"),
    "x-frame-options-not-implemented": (
        -20, "Framing is not restricted", "Content-Security-Policy: frame-ancestors 'none' (or X-Frame-Options: DENY)"),
    "x-frame-options-header-invalid": (
        -20, "X-Frame-Options cannot be recognized", "Content-Security-Policy: frame-ancestors 'none'"),
    # Cross-Origin-Resource-Policy
    "cross-origin-resource-policy-not-implemented": (0, "Cross-Origin-Resource-Policy not set", ""),
    "cross-origin-resource-policy-implemented-with-cross-origin": (0, "CORP allows cross-origin loads", ""),
    "cross-origin-resource-policy-implemented-with-same-origin": (10, "CORP same-origin", ""),
    "cross-origin-resource-policy-implemented-with-same-site": (10, "CORP same-site", ""),
    "cross-origin-resource-policy-header-invalid": (
        -5, "Cross-Origin-Resource-Policy cannot be recognized", "Cross-Origin-Resource-Policy: same-origin"),
}

TEST_HEADER = {
    "content-security-policy": "Content-Security-Policy",
    "cookies": "Set-Cookie",
    "cross-origin-resource-sharing": "Access-Control-Allow-Origin",
    "redirection": "HTTP → HTTPS redirect",
    "referrer-policy": "Referrer-Policy",
    "strict-transport-security": "Strict-Transport-Security",
    "subresource-integrity": "<script integrity>",
    "x-content-type-options": "X-Content-Type-Options",
    "x-frame-options": "X-Frame-Options / frame-ancestors",
    "cross-origin-resource-policy": "Cross-Origin-Resource-Policy",
}


def grade_for(score: int) -> str:
    """Observatory's chart: scores are floored at 0, rounded down to a multiple of 5, capped at 100."""
    score = max(score, 0)
    return GRADE_CHART[min(score - score % 5, 100)]


def final_score(modifiers: list[int]) -> int:
    """Start at 100; bonuses only count when the score with penalties alone is at least 90."""
    uncurved = 100 + sum(m for m in modifiers if m < 0)
    with_bonus = 100 + sum(modifiers)
    return max(with_bonus if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved, 0)
