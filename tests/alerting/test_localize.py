"""Alert annotations of shipped rules read in the reader's language; the stored English stays what it was."""

from __future__ import annotations

import pytest

from eduops.alerting.localize import localize_alert, localize_annotations, shipped_templates


def test_every_shipped_alert_annotation_has_a_chinese_translation() -> None:
    from eduops.core.i18n import catalog

    missing = [f"{name}.{key}: {text!r}" for name, annotations in shipped_templates().items()
               for key, text in annotations.items() if text not in catalog()]
    assert shipped_templates() and not missing, "\n".join(missing)


@pytest.mark.parametrize(
    ("labels", "stored", "lang", "expected"),
    [
        ({"host": "db-1", "mount": "/var"}, "Disk /var on db-1 91% full", "zh-CN", "db-1 上的磁盘 /var 已用 91%"),
        ({"host": "db-1", "mount": "/var"}, "Disk /var on db-1 91% full", "en", "Disk /var on db-1 91% full"),
        # the workspace wrote its own rule of that name: shown as written
        ({"host": "db-1", "mount": "/var"}, "our own words about the disk", "zh-CN", "our own words about the disk"),
    ],
)
def test_disk_summary(labels: dict[str, str], stored: str, lang: str, expected: str) -> None:
    annotations = localize_annotations("DiskAlmostFull", labels, {"summary": stored}, 91.2, lang)
    assert annotations["summary"] == expected


def test_an_alert_dict_gets_its_annotations_in_the_language() -> None:
    alert = {"alertname": "CalendarTaskOverdue", "labels": {"task": "backup"}, "value": 1.0,
             "annotations": {"summary": "Maintenance task backup is overdue", "extra": "kept"}}
    shown = localize_alert(alert, "zh-CN")
    assert shown["annotations"] == {"summary": "维护任务 backup 已逾期", "extra": "kept"}
    assert alert["annotations"]["summary"] == "Maintenance task backup is overdue"  # not changed in place


def test_annotations_not_from_a_shipped_template_are_marked_as_written() -> None:
    from eduops.alerting.localize import shipped_keys

    ours = {"summary": "Maintenance task backup is overdue", "remedy": "call Wang on 138..."}
    assert shipped_keys("CalendarTaskOverdue", {"task": "backup"}, ours, 1.0) == {"summary"}
    assert shipped_keys("FromOutsideAlertmanager", {}, {"summary": "Queue is growing"}, 1.0) == set()
    shown = localize_alert({"alertname": "CalendarTaskOverdue", "labels": {"task": "backup"}, "value": 1.0,
                            "annotations": ours}, "zh-CN")
    assert shown["shipped"] == {"summary"} and shown["annotations"]["remedy"] == "call Wang on 138..."


def test_places_in_a_chinese_summary_read_in_chinese() -> None:
    stored = {"summary": "Average MOS 3.10 in Henan"}
    shown = localize_annotations("RtcMosLowInProvince", {"province": "Henan"}, stored, 3.1, "zh-CN")
    assert shown["summary"] == "河南 的平均 MOS 为 3.10"
