"""Finding English sentences on a page meant to be Chinese, and walking every page of a console.

Text inside ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``, ``<script>``, ``<style>``, ``<textarea>``, an element
with ``class="user-text"`` (what users or outside systems wrote, shown as written) or an element whose
``lang`` is not Chinese is allowed to be English; so are units and names in ALLOWED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

SKIPPED_TAGS = {"code", "pre", "kbd", "samp", "script", "style", "textarea", "svg"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# two or more words of ASCII letters in a row, separated by spaces: an English phrase (``daily-inspection``,
# ``Asia/Shanghai`` or ``p95`` alone are names, not sentences)
WORD = r"[A-Za-z][A-Za-z'’]+(?![\w./:-])"
PHRASE = re.compile(rf"(?<![\w./:-]){WORD}(?: {WORD})+")
# names and units that stay as they are in a Chinese text
ALLOWED = {
    "Let's Encrypt", "Content-Security-Policy", "Strict-Transport-Security", "X-Frame-Options",
    "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy", "Set-Cookie", "Plotly",
    "TCP/UDP", "req/s", "errors/s", "ms/s", "kbps", "Mbps", "OpenAPI", "Swagger", "Alertmanager",
    "Prometheus", "DingTalk", "WeCom", "Feishu", "Lark", "Google Authenticator", "Microsoft Authenticator",
    "xAPI", "Open edX", "TLS/SSL", "HTTP Basic",
}


CODE_SPAN = re.compile(r"`[^`]*`|'[^']*'")  # a command or a value quoted inside a sentence


def english_phrases(text: str) -> list[str]:
    found = []
    for match in PHRASE.finditer(CODE_SPAN.sub(" ", text)):
        phrase = match.group(0)
        if phrase in ALLOWED or any(phrase in allowed for allowed in ALLOWED):
            continue
        if all(part in ALLOWED for part in re.split(r"[ ]", phrase)):
            continue
        found.append(phrase)
    return found


class _Reader(HTMLParser):
    """Collects visible text outside allowed elements, and the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, allowed-to-be-English)
        self.texts: list[str] = []
        self.links: list[str] = []

    def _allowed(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag in VOID_TAGS:
            if tag == "input" and values.get("type") in ("submit", "button") and not self._allowed():
                self.texts.append(values.get("value", ""))
            return
        lang = values.get("lang", "")
        allowed = (
            self._allowed()
            or tag in SKIPPED_TAGS
            or "user-text" in values.get("class", "").split()
            or (bool(lang) and not lang.lower().startswith("zh"))
        )
        self.stack.append((tag, allowed))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._allowed() and data.strip():
            self.texts.append(data)


def read_page(html: str) -> tuple[list[str], list[str]]:
    """(English phrases outside allowed elements, links) of one HTML page."""
    reader = _Reader()
    reader.feed(html)
    phrases = [p for text in reader.texts for p in english_phrases(text)]
    return phrases, reader.links


@dataclass
class Page:
    path: str
    status: int
    phrases: list[str]


SHAPE = re.compile(r"(?<=/)[^/?]*\d[^/?]*|(?<==)[^&]*")


def shape(path: str) -> str:
    """``/runs/12`` and ``/runs/13`` are the same page: one visit per shape (and per query-key set)."""
    return SHAPE.sub("*", path)


def walk(get: Callable[[str], tuple[int, str, str]], start: list[str], limit: int = 400,
         per_shape: int = 1, skip: Callable[[str], bool] = lambda path: False) -> Iterator[Page]:
    """Breadth-first over the console's own HTML pages from ``start``; ``get(path)`` → (status, type, body)."""
    queue, seen, shapes = list(start), set(start), {}  # type: ignore[var-annotated]
    while queue and limit > 0:
        path = queue.pop(0)
        status, media, body = get(path)
        if "html" not in media:
            continue
        limit -= 1
        phrases, links = read_page(body)
        yield Page(path, status, phrases)
        for href in links:
            href = urldefrag(href)[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not href.startswith("/") or href in seen or skip(href):
                continue
            seen.add(href)
            key = shape(href)
            if shapes.get(key, 0) >= per_shape:
                continue
            shapes[key] = shapes.get(key, 0) + 1
            queue.append(href)
