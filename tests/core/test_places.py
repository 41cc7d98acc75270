"""Provinces and ISPs are shown by their Chinese names; the data keeps the value it arrived with."""

from __future__ import annotations

import pytest

from eduops.core.places import ISPS, PROVINCES, place_name


def test_all_34_provincial_level_divisions_have_a_chinese_name() -> None:
    assert len(PROVINCES) == 34 and len(set(PROVINCES.values())) == 34
    assert all(name and not name.isascii() for name in PROVINCES.values())


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        ("Henan", "zh-CN", "河南"),
        ("henan", "zh-CN", "河南"),
        ("Shaanxi", "zh-CN", "陕西"),
        ("Shanxi", "zh-CN", "山西"),
        ("Inner Mongolia", "zh-CN", "内蒙古"),
        ("Nei Mongol", "zh-CN", "内蒙古"),
        ("Xizang", "zh-CN", "西藏"),
        ("Macao", "zh-CN", "澳门"),
        ("Guangdong Province", "zh-CN", "广东"),
        ("China Telecom", "zh-CN", "中国电信"),
        ("China Unicom", "zh-CN", "中国联通"),
        ("China Mobile", "zh-CN", "中国移动"),
        ("China Broadnet", "zh-CN", "中国广电"),
        ("CERNET", "zh-CN", "教育网"),
        ("CMCC", "zh-CN", "中国移动"),
        ("Henan", "en", "Henan"),  # English readers see the value as it is
        ("Atlantis", "zh-CN", "Atlantis"),  # unknown: as written
        ("河南", "zh-CN", "河南"),
        ("", "zh-CN", ""),
        (None, "zh-CN", ""),
    ],
)
def test_place_names(value: str | None, lang: str, expected: str) -> None:
    assert place_name(value, lang) == expected


def test_the_main_isps_are_known() -> None:
    assert {"China Telecom", "China Unicom", "China Mobile", "China Broadnet", "CERNET"} <= set(ISPS)
