"""Chinese display names for provinces and ISPs: data keeps the value it arrived with (``Henan``,
``China Unicom``); what a reader sees goes through ``place_name``."""

from __future__ import annotations

from eduops.core.i18n import Msg, msg

# all 34 provincial-level divisions: 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs
PROVINCES: dict[str, str] = {
    "Beijing": "北京", "Tianjin": "天津", "Shanghai": "上海", "Chongqing": "重庆",
    "Hebei": "河北", "Shanxi": "山西", "Liaoning": "辽宁", "Jilin": "吉林", "Heilongjiang": "黑龙江",
    "Jiangsu": "江苏", "Zhejiang": "浙江", "Anhui": "安徽", "Fujian": "福建", "Jiangxi": "江西",
    "Shandong": "山东", "Henan": "河南", "Hubei": "湖北", "Hunan": "湖南", "Guangdong": "广东",
    "Hainan": "海南", "Sichuan": "四川", "Guizhou": "贵州", "Yunnan": "云南", "Shaanxi": "陕西",
    "Gansu": "甘肃", "Qinghai": "青海", "Taiwan": "台湾",
    "Inner Mongolia": "内蒙古", "Guangxi": "广西", "Tibet": "西藏", "Ningxia": "宁夏", "Xinjiang": "新疆",
    "Hong Kong": "香港", "Macau": "澳门",
}
ISPS: dict[str, str] = {
    "China Telecom": "中国电信", "China Unicom": "中国联通", "China Mobile": "中国移动",
    "China Broadnet": "中国广电", "CERNET": "教育网", "China Tietong": "中国铁通",
    "Great Wall Broadband": "长城宽带", "Dr. Peng": "鹏博士", "Alibaba Cloud": "阿里云",
    "Tencent Cloud": "腾讯云", "Huawei Cloud": "华为云",
}
# other spellings seen in IP databases and client reports
ALIASES: dict[str, str] = {
    "nei mongol": "Inner Mongolia", "neimenggu": "Inner Mongolia", "xizang": "Tibet", "macao": "Macau",
    "hongkong": "Hong Kong", "chinanet": "China Telecom", "cmcc": "China Mobile", "cbn": "China Broadnet",
    "china broadcasting network": "China Broadnet", "drpeng": "Dr. Peng", "dr.peng": "Dr. Peng",
    "aliyun": "Alibaba Cloud",
}
_CHINESE = {k.lower(): v for k, v in (PROVINCES | ISPS).items()}
_CHINESE |= {alias: _CHINESE[target.lower()] for alias, target in ALIASES.items()}


def place_name(value: str | None, lang: str) -> str:
    """The province or ISP as a reader of ``lang`` calls it; a value not known here is shown as written."""
    if not value:
        return ""
    if lang == "en":
        return value
    if " / " in value:  # a province / ISP pair
        return " / ".join(place_name(part, lang) for part in value.split(" / "))
    key = value.strip().lower()
    for suffix in (" province", " sheng", " shi", " city"):
        if key.endswith(suffix) and key[: -len(suffix)] in _CHINESE:
            key = key[: -len(suffix)]
    return _CHINESE.get(key, value)


def place_msg(value: str) -> Msg:
    """A province, ISP or ``province / ISP`` pair as a message parameter: each reader sees their language's name."""
    if " / " in value:
        first, _, rest = value.partition(" / ")
        return msg("{first} / {rest}", first=place_msg(first), rest=place_msg(rest))
    return msg(value)
