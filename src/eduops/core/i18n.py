"""Simplified Chinese and English: msgids are English; each domain keeps ``locale/zh_CN.po``.

Catalogs from every domain are merged at start-up. ``gettext(message, lang)`` translates one
message; templates get ``_`` bound to the viewer's language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from babel.messages.pofile import read_po

from eduops.core.plugins import folders

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


@lru_cache(maxsize=1)
def domain_catalogs() -> dict[str, dict[str, str]]:
    """Package folder name (``rtc``, ``web``) → its locale/zh_CN.po as msgid → Simplified Chinese text."""
    found: dict[str, dict[str, str]] = {}
    for folder in folders("locale"):
        path = folder / "zh_CN.po"
        if not path.exists():
            continue
        with path.open("rb") as fh:
            found[folder.parent.name] = {
                message.id: str(message.string)
                for message in read_po(fh, locale="zh_CN")
                if message.id and message.string and isinstance(message.id, str)
            }
    return found


@lru_cache(maxsize=1)
def catalog() -> dict[str, str]:
    """msgid → Simplified Chinese text, merged from every domain's locale/zh_CN.po."""
    merged: dict[str, str] = {}
    for entries in domain_catalogs().values():
        merged.update(entries)
    from eduops.core.places import ISPS, PROVINCES  # "Henan" inside a message reads 河南 too

    return {**PROVINCES, **ISPS, **merged}


def gettext(message: str, lang: str = DEFAULT_LANGUAGE, domain: str | None = None) -> str:
    """``message`` in ``lang``. A short word means different things in different places ("Change" is 变化 in a
    week-over-week table, 修改 on a button): ``domain``'s own catalog answers first, then every domain's."""
    if lang == "en":
        return message
    if domain is not None:
        own = domain_catalogs().get(domain, {}).get(message)
        if own is not None:
            return own
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


class Msg(str):
    """A text to translate when it is read: an English msgid with ``{name}`` fields and their values.

    Checks return findings, remedies and summaries as ``msg("Disk {mount} is {pct:.0f}% full", ...)``; the
    database keeps ``encode(m)`` (JSON) and each reader sees ``render_text(stored, lang)`` in their language.
    A Msg is also the English text itself (a ``str``), so code and tests that read it as a string still work.
    A value that is itself a Msg is translated too (a status word inside a summary).
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: Mapping[str, Any] | None = None) -> Msg:
        values = dict(params or {})
        made = super().__new__(cls, _fill(msgid, values, "en"))
        made.msgid, made.params = msgid, values
        return made

    def __getnewargs__(self) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        return self.msgid, self.params


Text = str  # a plain string (shown as written, or translated when the catalog knows it) or a Msg


def msg(msgid: str, **params: Any) -> Msg:
    return Msg(msgid, params)


def _fill(msgid: str, params: Mapping[str, Any], lang: str) -> str:
    values = {k: render_text(v, lang) if isinstance(v, Msg) else v for k, v in params.items()}
    try:
        return gettext(msgid, lang).format(**values)
    except (KeyError, IndexError, ValueError, TypeError):  # a translation that breaks its fields: show English
        try:
            return msgid.format(**values)
        except (KeyError, IndexError, ValueError, TypeError):
            return msgid


def _to_json(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"msgid": value.msgid, "params": {k: _to_json(v) for k, v in value.params.items()}}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"msgid", "params"} and isinstance(value["msgid"], str):
        return Msg(value["msgid"], {k: _from_json(v) for k, v in dict(value["params"]).items()})
    return value


def encode(value: Text | None) -> str:
    """What the database keeps: a plain string as it is, a Msg as JSON (``{"msgid": ..., "params": ...}``)."""
    if value is None:
        return ""
    if isinstance(value, Msg):
        return json.dumps(_to_json(value), ensure_ascii=False, default=str)
    return value


def decode(stored: Text | None) -> Text:
    """The Msg a stored text holds; rows written before messages (plain strings) stay plain strings."""
    if stored is None:
        return ""
    if isinstance(stored, Msg) or not isinstance(stored, str) or not stored.startswith(_MSG_PREFIX):
        return stored
    try:
        found = _from_json(json.loads(stored))
    except ValueError:
        return stored
    return found if isinstance(found, Msg) else stored


_MSG_PREFIX = '{"msgid"'


def render_text(value: Text | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A stored or fresh text in ``lang``: a Msg translated and filled in; a plain string translated when the
    catalog knows it exactly (older rows), else shown as written."""
    found = decode(value)
    if isinstance(found, Msg):
        return _fill(found.msgid, found.params, lang)
    return gettext(found, lang) if found else ""
