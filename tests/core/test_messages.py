"""Texts a person reads are stored as a message id with parameters and rendered in the reader's language."""

from __future__ import annotations

import copy
import json
import re

import pytest

from eduops.core.checks import CheckResult, Finding, finding_to_dict, render_finding
from eduops.core.i18n import Msg, catalog, decode, encode, msg, render_text
from eduops.core.runs import summarize

DISK = msg("disk {where} {value:.0f}% full", where="/var", value=91.4)


@pytest.mark.parametrize(
    ("stored", "lang", "expected"),
    [
        (DISK, "en", "disk /var 91% full"),
        (DISK, "zh-CN", "磁盘 /var 已用 91%"),
        (encode(DISK), "zh-CN", "磁盘 /var 已用 91%"),  # what the database keeps
        (encode(DISK), "en", "disk /var 91% full"),
        ("restic check reported 2 damaged pack files on the S3 copy", "zh-CN",  # an old plain row the catalog knows
         "restic check 报告 S3 副本上有 2 个损坏的数据包文件"),
        ("a plain row nobody translated", "zh-CN", "a plain row nobody translated"),  # shown as written
        ('{"msgid": broken json', "zh-CN", '{"msgid": broken json'),
        ('{"msgid": "x", "other": 1}', "zh-CN", '{"msgid": "x", "other": 1}'),  # not a message: as written
        ("", "zh-CN", ""),
        (None, "zh-CN", ""),
        (msg("{check} crashed: {error}", check="host.status"), "en", "{check} crashed: {error}"),  # a missing value
    ],
)
def test_render_text(stored: str | None, lang: str, expected: str) -> None:
    assert render_text(stored, lang) == expected


def test_a_message_is_its_english_text_and_survives_copies_and_json() -> None:
    assert DISK == "disk /var 91% full" and isinstance(DISK, str)
    assert json.dumps({"t": DISK}) == '{"t": "disk /var 91% full"}'  # the API and --json see English
    copied = copy.deepcopy(DISK)
    assert isinstance(copied, Msg) and render_text(copied, "zh-CN") == "磁盘 /var 已用 91%"
    assert decode(encode(DISK)).params == {"where": "/var", "value": 91.4}


def test_a_summary_nests_translated_messages() -> None:
    results = [("a", CheckResult("ok", "fine")), ("b", CheckResult("warn", "hm", findings=[Finding("warn", "x")]))]
    summary = summarize(results)
    assert summary == "2 checks: 1 ok, 1 warn; 1 findings"
    assert render_text(encode(summary), "zh-CN") == "2 项检查：1 项正常, 1 项警告；1 个发现"


def test_findings_are_stored_encoded_and_shown_in_the_readers_language() -> None:
    finding = Finding("crit", DISK, "", msg("run `eduops backup run {source}`", source="pg"))
    stored = finding_to_dict(finding)
    assert stored["title"].startswith('{"msgid"')
    shown = render_finding(stored, "zh-CN")
    assert shown["title"] == "磁盘 /var 已用 91%" and shown["remedy"] == "运行 `eduops backup run pg`"
    assert finding_to_dict(finding, "en")["title"] == "disk /var 91% full"
    assert CheckResult("crit", DISK, findings=[finding]).to_dict("zh-CN")["summary"] == "磁盘 /var 已用 91%"


def test_every_message_a_check_module_uses_has_a_chinese_translation() -> None:
    """Every ``msg("...")`` and ``gettext("...")`` literal in the source (chart legends, hover texts) has a
    zh-CN entry in some domain's catalog."""
    import ast
    from pathlib import Path

    import eduops

    root = Path(eduops.__file__).parent
    translated = catalog()
    missing = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("msg", "gettext")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                msgid = node.args[0].value
                words = re.sub(r"\{[^}]*\}", "", msgid)  # "{a} → {b}" has nothing to translate
                if msgid not in translated and any(c.isalpha() for c in words):
                    missing.append(f"{path.relative_to(root)}:{node.lineno}: {msgid!r}")
    assert not missing, "msgids without a zh-CN translation:\n" + "\n".join(missing)
