"""Simplified Chinese and English: msgids are English; each domain keeps ``locale/zh_CN.po``.

Catalogs from every domain are merged at start-up. ``gettext(message, lang)`` translates one
message; templates get ``_`` bound to the viewer's language.
"""

from __future__ import annotations

from functools import lru_cache

from babel.messages.pofile import read_po

from eduops.core.plugins import folders

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


@lru_cache(maxsize=1)
def catalog() -> dict[str, str]:
    """msgid → Simplified Chinese text, merged from every domain's locale/zh_CN.po."""
    merged: dict[str, str] = {}
    for folder in folders("locale"):
        path = folder / "zh_CN.po"
        if not path.exists():
            continue
        with path.open("rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                if message.id and message.string and isinstance(message.id, str):
                    merged[message.id] = str(message.string)
    return merged


def gettext(message: str, lang: str = DEFAULT_LANGUAGE) -> str:
    if lang == "en":
        return message
    return catalog().get(message, message)


def pick_language(accept_language: str | None, remembered: str | None = None) -> str:
    """The remembered choice wins, then the browser's Accept-Language, then Chinese."""
    if remembered in LANGUAGES:
        return remembered  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE
