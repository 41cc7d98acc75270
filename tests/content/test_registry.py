"""The registry: import, syllabus change → needs review by the owner, and the audit contract."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from eduops.content.importer import read_csv, read_file, read_json
from eduops.content.service import (
    audit,
    import_assets,
    list_assets,
    list_courses,
    mark_reviewed,
    publish_syllabus,
)
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.db import utcnow
from eduops.errors import PayloadTooLarge, UsageError, ValidationFailed

CSV = """code,kind,title,course_code,course_title,lesson,owner,syllabus_code,syllabus_version,syllabus_point,\
last_reviewed_at,source,licence_holder,licence_type,licence_scope,licence_start,licence_expiry,licence_proof,used_in
V1,video,函数的单调性,MATH-A,高一数学,第一章,wang.li,gaokao-math,2025,P1,2026-09-01,in-house,,,,,,,web
V2,video,三角函数图像,MATH-A,高一数学,第二章,zhang.wei,gaokao-math,2025,P2,2026-09-01,星火出版社,星火出版社,\
non-exclusive,web;app,2026-01-01,{expiry},contracts/xh.pdf,web
H1,handout,导数讲义,MATH-A,高一数学,第二章,li.na,gaokao-math,2025,P2,2026-09-01,网络,,,,,,,web
"""


def _csv(expiry: date) -> bytes:
    return CSV.format(expiry=expiry.isoformat()).encode()


def test_import_creates_courses_lessons_and_assets(ws) -> None:
    result = import_assets(ws.engine, read_csv(_csv(date(2027, 1, 1))))
    assert result == {"created": 3, "updated": 0}
    [course] = list_courses(ws.engine)
    assert (course["code"], course["lessons"], course["assets"]) == ("MATH-A", 2, 3)
    again = import_assets(ws.engine, read_csv(_csv(date(2027, 1, 1))))
    assert again == {"created": 0, "updated": 3}


def test_syllabus_change_flags_old_assets_for_their_owners(ws) -> None:
    import_assets(ws.engine, read_csv(_csv(date(2027, 1, 1))))
    publish_syllabus(ws.engine, "gaokao-math", "2025", points=["P1", "P2"])
    assert list_assets(ws.engine, needs_review=True) == []
    result = publish_syllabus(ws.engine, "gaokao-math", "2026", points=["P1", "P2", "P3"])
    assert {(a["code"], a["owner"]) for a in result["needs_review"]} == {
        ("V1", "wang.li"),
        ("V2", "zhang.wei"),
        ("H1", "li.na"),
    }
    flagged = {a["code"]: a for a in list_assets(ws.engine, needs_review=True)}
    assert flagged["V1"]["review_assignee"] == "wang.li"
    reviewed = mark_reviewed(ws.engine, "V1", "wang.li", date(2026, 11, 30))
    assert (reviewed["review_status"], reviewed["syllabus_version"]) == ("ok", "2026")
    assert "V1" not in {a["code"] for a in list_assets(ws.engine, needs_review=True)}


def test_audit_contract_expiring_licence_and_superseded_syllabus_with_owners(ws) -> None:
    today = utcnow().astimezone(ws.settings.tz).date()
    import_assets(ws.engine, read_csv(_csv(today + timedelta(days=10))))
    publish_syllabus(ws.engine, "gaokao-math", "2024")
    publish_syllabus(ws.engine, "gaokao-math", "2025", points=["P1", "P2"])
    import_assets(
        ws.engine,
        read_json(
            json.dumps(
                [
                    {
                        "code": "OLD1",
                        "kind": "slides",
                        "title": "旧版课件",
                        "owner": "zhao.min",
                        "syllabus_code": "gaokao-math",
                        "syllabus_version": "2024",
                        "source": "in-house",
                        "last_reviewed_at": "2026-01-01",
                    }
                ]
            ).encode()
        ),
    )
    report = audit(ws.engine, ws.settings, today)
    licences = {(r["code"], r["problem"]): r for r in report["licences"]}
    assert licences[("V2", "expiring")]["owner"] == "zhang.wei"
    assert licences[("H1", "no_licence")]["owner"] == "li.na"
    stale = {(r["code"], r["problem"]): r for r in report["freshness"]}
    assert stale[("OLD1", "superseded_syllabus")]["owner"] == "zhao.min"

    run = get_run(ws.engine, run_task(ws.engine, ws.settings, "content-audit", actor="test"))
    assert run["status"] == "crit"  # H1 has no licence at all
    titles = [f["title"] + " " + f["detail"] for f in run["checks"][0]["findings"]]
    assert any("V2" in t and "expiring" in t and "in 10 days" in t and "zhang.wei" in t for t in titles)
    assert any("OLD1" in t and "superseded syllabus" in t and "zhao.min" in t for t in titles)


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("a.csv", b"code,kind,title\nX,podcast,t\n", ValidationFailed),
        ("a.csv", b"code,kind,title\nX,video,\n", ValidationFailed),
        ("a.csv", b"code,kind,title\nX,video,a\nX,video,b\n", ValidationFailed),
        ("a.csv", b"title\nfoo\n", UsageError),
        ("a.json", b"{not json", UsageError),
        (
            "a.json",
            b'{"assets": [{"code": "X", "kind": "video", "title": "t", "correct_rate": 3}]}',
            ValidationFailed,
        ),
        ("a.xlsx", b"", UsageError),
        ("a.csv", b"x" * (20 * 1024 * 1024 + 1), PayloadTooLarge),
    ],
)
def test_bad_imports_are_rejected_whole(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_file(name, data)


def test_question_bank_rates_come_from_xapi_answered_statements(sqlite_ws) -> None:
    lrs = pytest.importorskip("eduops.analytics.lrs")
    store_mod = pytest.importorskip("eduops.analytics.store")
    from eduops.content.xapi import refresh_from_xapi

    activity = "https://school.example/qbank/gk-math/q1"
    import_assets(
        sqlite_ws.engine,
        read_json(
            json.dumps(
                [
                    {
                        "code": "Q1",
                        "kind": "question",
                        "title": "第1题",
                        "syllabus_code": "gk",
                        "syllabus_point": "P1",
                        "xapi_object_id": activity,
                    }
                ]
            ).encode()
        ),
    )
    statements = [
        {
            "actor": {"mbox": f"mailto:s{i}@school.example", "objectType": "Agent"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": activity, "objectType": "Activity"},
            "result": {"success": i % 4 == 0},
            "timestamp": "2026-11-20T10:00:00Z",
        }
        for i in range(40)
    ]
    store = store_mod.open_store(sqlite_ws.settings)
    lrs.store_statements(store, statements, {"mbox": "mailto:lrs@school.example", "objectType": "Agent"})
    assert refresh_from_xapi(sqlite_ws.engine, sqlite_ws.settings) == 1
    [item] = list_assets(sqlite_ws.engine, kind="question")
    assert (item["attempts"], item["correct_rate"]) == (40, 0.25)
