"""Fetch a page the way the Observatory does (HTTPS page, HTTP redirect route, CORS probe) and turn
its grade into findings, each naming the header to set."""

from __future__ import annotations

import re
import ssl
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from eduops.core.checks import Finding, Severity
from eduops.core.i18n import msg
from eduops.errors import ServiceUnavailable, UsageError
from eduops.security.headers import (
    PROBE_ORIGIN,
    Grade,
    Observation,
    header_of,
    hsts_header_present,
    session_cookie_problems,
)

MAX_REDIRECTS = 10
USER_AGENT = "eduops-security-scan/1 (+observatory rules)"


def _client(verify: bool | str, timeout: float) -> httpx.Client:
    return httpx.Client(verify=verify, timeout=timeout, follow_redirects=False,
                        headers={"User-Agent": USER_AGENT})


def _follow(client: httpx.Client, url: str, extra: dict[str, str] | None = None) -> tuple[list[str], httpx.Response]:
    route = [url]
    response = client.get(url, headers=extra)
    while response.is_redirect and len(route) <= MAX_REDIRECTS:
        url = urljoin(url, response.headers["location"])
        route.append(url)
        response = client.get(url, headers=extra)
    return route, response


def default_http_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("http", parts.hostname or "", parts.path or "/", parts.query, ""))


def fetch(url: str, http_url: str | None = None, timeout: float = 10.0, ca_file: str | None = None) -> Observation:
    """What the grader needs from ``url``; an unverifiable certificate is fetched anyway and marked."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"{url!r}: give an http:// or https:// URL")
    verify: bool | str = ca_file or True
    verified = True
    try:
        with _client(verify, timeout) as client:
            route, response = _follow(client, url)
    except (httpx.ConnectError, ssl.SSLError) as exc:
        if "CERTIFICATE_VERIFY_FAILED" not in str(exc) and "certificate" not in str(exc).lower():
            raise ServiceUnavailable(f"{url}: cannot connect ({exc})") from None
        verified = False
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{url}: {exc}") from None
    try:
        with _client(verify if verified else False, timeout) as client:
            if not verified:
                route, response = _follow(client, url)
            _, cors = _follow(client, str(response.url), {"Origin": PROBE_ORIGIN})
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{url}: {exc}") from None
    final = str(response.url)
    obs = Observation(url=final, status=response.status_code, headers=list(response.headers.multi_items()),
                      body=response.text[:2_000_000] if "html" in response.headers.get("content-type", "") else "",
                      verified=verified and urlsplit(final).scheme == "https", https=urlsplit(final).scheme == "https",
                      cors_headers=list(cors.headers.multi_items()))
    obs.http_route = http_route(http_url or default_http_url(url), timeout, verify)
    return obs


def http_route(http_url: str, timeout: float, verify: bool | str) -> list[str] | None:
    """The URLs visited starting from plain HTTP; None when nothing listens there."""
    try:
        with _client(False, timeout) as client:
            route, _ = _follow(client, http_url)
    except httpx.HTTPError:
        return None
    return route


def findings(g: Grade, obs: Observation) -> list[Finding]:
    """Every deduction as a finding: what the Observatory saw and the header that fixes it."""
    result = []
    for t in g.deductions():
        severity: Severity = "crit" if t.modifier <= -40 else "warn"
        detail: str = msg(
                "{url}: {description} ({result}, {modifier} points).",
                url=g.url, description=t.description, result=t.result, modifier=t.modifier,
            )
        if t.test == "strict-transport-security" and not hsts_header_present(obs):
            detail += " No Strict-Transport-Security header is sent."
        if t.test == "cookies":
            detail += " " + "; ".join(session_cookie_problems(obs))
        result.append(Finding(severity, msg(
                "{header_of}: {description}",
                header_of=header_of(t.test), description=t.description,
            ), detail.strip(),  # type: ignore[arg-type]
                              t.remedy))
    result += version_disclosures(obs)
    if t_hsts_missing_but_masked(g, obs):
        result.append(Finding("warn", "Strict-Transport-Security: header not set",
                              msg("{url} sends no Strict-Transport-Security header.", url=g.url),
                              "Strict-Transport-Security: max-age=63072000"))
    return result


DISCLOSING_HEADERS = ("Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Generator")
_VERSION = re.compile(r"\d+\.\d+")
_REMEDY = {
    "Server": "nginx: server_tokens off;  Apache: ServerTokens Prod + ServerSignature Off",
    "X-Powered-By": "PHP: expose_php = Off; Express: app.disable('x-powered-by'); or drop the header at the proxy",
}


def version_disclosures(obs: Observation) -> list[Finding]:
    """Headers that tell an attacker which software version to look up exploits for (a pure rule)."""
    found = []
    for name in DISCLOSING_HEADERS:
        for value in obs.get_all(name):
            if _VERSION.search(value):
                found.append(Finding("warn", msg("{name}: discloses a software version", name=name),
                                     msg("{url} sends {name}: {value}", url=obs.url, name=name, value=value),
                                     _REMEDY.get(name, f"remove the {name} header at the proxy")))
    return found


def t_hsts_missing_but_masked(g: Grade, obs: Observation) -> bool:
    """The Observatory reports an invalid certificate before a missing HSTS header; say both."""
    hsts = next(t for t in g.tests if t.test == "strict-transport-security")
    return hsts.result in ("hsts-invalid-cert",) and obs.https and not hsts_header_present(obs)
