"""Content-Security-Policy parsing and the Observatory's CSP judgement."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
NONCE_HASH = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


def parse_csp(values: list[str]) -> dict[str, set[str]]:
    """Directives of every policy; when several policies set a directive, the strictest (intersection) wins."""
    merged: dict[str, set[str]] = {}
    for value in values:
        for policy in value.split(","):
            seen: set[str] = set()
            for part in policy.split(";"):
                tokens = part.strip().split()
                if not tokens:
                    continue
                name = tokens[0].lower()
                if not re.fullmatch(r"[a-z-]+", name):
                    raise ValueError(f"bad directive {name!r}")
                if name in seen:
                    continue  # browsers ignore repeated directives in one policy
                seen.add(name)
                sources = {t.lower() if t.startswith("'") or t.endswith(":") else t for t in tokens[1:]} or {"'none'"}
                merged[name] = merged[name] & sources if name in merged else sources
    return merged


def csp_result(headers: list[str], url: str) -> str:
    """The Observatory's CSP result for the policies a page sends (HTTP headers)."""
    if not headers:
        return "csp-not-implemented"
    try:
        csp = parse_csp(headers)
    except ValueError:
        return "csp-header-invalid"
    if not csp:
        return "csp-not-implemented"
    https = urlsplit(url).scheme == "https"
    default = csp.get("default-src")
    object_src = set(csp.get("object-src") or default or {"*"})
    script_src = set(csp.get("script-src") or default or {"*"})
    style_src = set(csp.get("style-src") or default or {"*"})
    for sources in (script_src, style_src):
        if any(s.startswith(NONCE_HASH) for s in sources):
            sources.discard("'unsafe-inline'")
    if "'strict-dynamic'" in script_src:
        if not any(s.startswith(NONCE_HASH) for s in script_src):
            return "csp-header-invalid"
        script_src = {s for s in script_src if s not in ("'self'", "'unsafe-inline'")
                      and not any(s.startswith(b) for b in BROAD)}
    passive = {"img-src", "media-src"}
    active_sources = [s for d, v in csp.items() if d not in passive and d != "script-src" for s in v] + list(script_src)
    passive_sources = [s for d in passive for s in (csp.get(d) or default or set())]
    if script_src & (BROAD | UNSAFE_INLINE) or object_src & BROAD:
        return "csp-implemented-with-unsafe-inline"
    if https and any(s.startswith(("http:", "ftp:")) for s in active_sources):
        return "csp-implemented-with-insecure-scheme"
    if "'unsafe-eval'" in script_src | style_src:
        return "csp-implemented-with-unsafe-eval"
    if https and any(s.startswith(("http:", "ftp:")) for s in passive_sources):
        return "csp-implemented-with-insecure-scheme-in-passive-content-only"
    if style_src & (BROAD | UNSAFE_INLINE):
        return "csp-implemented-with-unsafe-inline-in-style-src-only"
    if default == {"'none'"}:
        return "csp-implemented-with-no-unsafe-default-src-none"
    return "csp-implemented-with-no-unsafe"


def restricts_framing(headers: list[str]) -> bool:
    """Whether frame-ancestors limits who may frame the page (the modern X-Frame-Options)."""
    try:
        csp = parse_csp(headers)
    except ValueError:
        return False
    ancestors = csp.get("frame-ancestors")
    return ancestors is not None and not ancestors & BROAD
