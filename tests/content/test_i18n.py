"""Every message the content, feedback and release pages show has its Simplified Chinese text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import eduops

SRC = Path(eduops.__file__).parent
MSGID = re.compile(r'_\("([^"]+)"\)')
NAV = re.compile(r'NavItem\("[^"]+", "([^"]+)"')


@pytest.mark.parametrize("domain", ["content", "feedback", "release"])
def test_every_msgid_is_translated(domain: str) -> None:
    with (SRC / domain / "locale" / "zh_CN.po").open("rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id}
    wanted = set(NAV.findall((SRC / domain / "api.py").read_text(encoding="utf-8")))
    for template in (SRC / domain / "templates").rglob("*.html"):
        wanted |= set(MSGID.findall(template.read_text(encoding="utf-8")))
    missing = sorted(m for m in wanted if not catalog.get(m))
    assert missing == []
