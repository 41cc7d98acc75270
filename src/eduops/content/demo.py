"""The content share of the demo: a catalogue with material on a superseded syllabus and licence trouble."""

from __future__ import annotations

from datetime import timedelta

from eduops.content.importer import parse_records
from eduops.content.service import import_assets, publish_syllabus
from eduops.core.demo import DemoContext

COURSES = [
    ("MATH-G1", "高一数学（新高考）", "数学", "wang.li", "gaokao-math"),
    ("MATH-G2", "高二数学提高班", "数学", "chen.jie", "gaokao-math"),
    ("ENG-Z3", "初三英语中考冲刺", "英语", "liu.yang", "zhongkao-english"),
    ("PHY-G1", "高一物理", "物理", "zhao.min", "gaokao-physics"),
    ("CODE-K", "少儿编程入门", "编程", "sun.hao", ""),
]
POINTS = {
    "gaokao-math": ["函数", "三角函数", "数列", "立体几何", "概率统计", "导数"],
    "zhongkao-english": ["词汇", "语法", "阅读", "写作"],
    "gaokao-physics": ["运动学", "牛顿定律", "能量", "电场"],
}
KIND_ZH = {"video": "视频", "slides": "课件", "handout": "讲义"}
LESSONS = ["第一章", "第二章", "第三章", "第四章"]
PUBLISHERS = ["星火教育出版社", "蓝天题库有限公司", "学而思维工作室", "外研社数字资源部"]


def _licence(i: int, today) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Mostly fine third-party licences, with the usual trouble sprinkled in at fixed places."""
    holder = PUBLISHERS[i % len(PUBLISHERS)]
    base: dict[str, object] = {
        "source": holder,
        "licence_holder": holder,
        "licence_type": "non-exclusive",
        "licence_scope": "web,app",
        "licence_start": (today - timedelta(days=400)).isoformat(),
        "licence_expiry": (today + timedelta(days=200 + i)).isoformat(),
        "licence_proof": f"contracts/{holder}-{2025 + i % 2}.pdf",
        "used_in": "web,app",
    }
    trouble = i % 11
    if trouble == 1:
        base["licence_expiry"] = (today + timedelta(days=10)).isoformat()  # expiring in 10 days
    elif trouble == 3:
        base.update(licence_holder="", licence_type="", licence_proof="", source="网络下载")  # no licence at all
    elif trouble == 5:
        base["licence_expiry"] = (today - timedelta(days=20)).isoformat()  # expired
    elif trouble == 7:
        base["licence_proof"] = ""  # nobody kept the contract
    elif trouble == 9:
        base["used_in"] = "web,app,offline"  # printed handouts, licensed for online only
    return base


def populate(demo: DemoContext) -> None:
    today = demo.now.astimezone(demo.ws.settings.tz).date()
    rng = demo.rng
    engine = demo.ws.engine
    for code, points in POINTS.items():
        old = "2025" if code == "gaokao-math" else "2024"
        publish_syllabus(engine, code, old, title=code, points=points)
    records: list[dict[str, object]] = []
    n = 0
    for course_code, title, subject, owner, syllabus in COURSES:
        points = POINTS.get(syllabus, [""])
        for li, lesson in enumerate(LESSONS):
            for kind in ("video", "slides", "handout"):
                n += 1
                owned = rng.random() < 0.55
                record: dict[str, object] = {
                    "code": f"{course_code}-{li + 1}-{kind}",
                    "kind": kind,
                    "title": f"{title} {lesson} {KIND_ZH[kind]}",
                    "course_code": course_code,
                    "course_title": title,
                    "subject": subject,
                    "lesson": lesson,
                    "owner": owner if rng.random() < 0.8 else rng.choice([c[3] for c in COURSES]),
                    "syllabus_code": syllabus,
                    "syllabus_version": ("2025" if syllabus == "gaokao-math" else "2024") if syllabus else "",
                    "syllabus_point": points[li % len(points)],
                    "last_reviewed_at": (today - timedelta(days=rng.randint(20, 500))).isoformat(),
                    **({"source": "in-house", "used_in": "web,app"} if owned else _licence(n, today)),
                }
                records.append(record)
        for p_i, point in enumerate(points if syllabus else []):
            # question banks: some points thin, a few items never used or extreme
            for q in range(2 if p_i % 3 == 2 else 7):
                attempts = 0 if q == 6 else rng.randint(30, 900)
                rate = None if attempts == 0 else round(rng.choice([0.1, 0.55, 0.62, 0.7, 0.97, 0.66, 0.5]), 2)
                records.append(
                    {
                        "code": f"{course_code}-Q-{p_i + 1}-{q + 1}",
                        "kind": "question",
                        "title": f"{point} 练习 {q + 1}",
                        "course_code": course_code,
                        "course_title": title,
                        "owner": owner,
                        "syllabus_code": syllabus,
                        "syllabus_version": "2025" if syllabus == "gaokao-math" else "2024",
                        "syllabus_point": point,
                        "source": "in-house",
                        "times_used": 0 if attempts == 0 else rng.randint(1, 40),
                        "attempts": attempts,
                        "correct_rate": rate,
                        "last_reviewed_at": (today - timedelta(days=rng.randint(20, 300))).isoformat(),
                    }
                )
    demo.progress(f"{len(records)} assets", 0.4)
    import_assets(engine, parse_records(records))
    # the 2026 gaokao maths syllabus came out: every maths asset on 2025 now needs review by its owner
    result = publish_syllabus(
        engine, "gaokao-math", "2026", title="新高考数学 2026", points=POINTS["gaokao-math"] + ["数学建模"]
    )
    demo.progress("syllabus change", 1.0)
    demo.notes["content"] = (
        f"{len(records)} assets in {len(COURSES)} courses; the 2026 maths syllabus flagged "
        f"{len(result['needs_review'])} assets for review; licences expiring, expired and "
        "missing are in /content/audit"
    )
