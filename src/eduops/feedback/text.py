"""Words from Chinese and English feedback (jieba, loaded quietly) and the rule-based categories."""

from __future__ import annotations

import logging
import os
import re
import threading
from functools import lru_cache
from pathlib import Path

CATEGORIES = ("audio_video", "login", "payment", "content_error", "performance", "feature_request", "praise", "other")
# the core functions a bug in which is fixed now (see priority.py)
CORE_FUNCTION = {"audio_video": "classes", "login": "login", "payment": "payment"}

# keyword → weight per category; the highest total wins, ties go to the earlier category
KEYWORDS: dict[str, dict[str, int]] = {
    "audio_video": {
        "卡顿": 3,
        "声音": 2,
        "听不到": 3,
        "没声音": 3,
        "画面": 2,
        "音画": 3,
        "回音": 3,
        "杂音": 3,
        "黑屏": 2,
        "花屏": 3,
        "掉线": 2,
        "视频": 1,
        "直播": 1,
        "麦克风": 3,
        "摄像头": 3,
        "断断续续": 3,
        "延迟": 1,
        "lag": 2,
        "audio": 3,
        "video": 2,
        "echo": 3,
        "sound": 2,
        "microphone": 3,
        "camera": 3,
        "frozen": 2,
        "stutter": 3,
    },
    "login": {
        "登录": 3,
        "登陆": 3,
        "验证码": 3,
        "密码": 2,
        "账号": 1,
        "注册": 1,
        "扫码": 1,
        "login": 3,
        "log in": 3,
        "password": 2,
        "verification": 2,
        "sign in": 3,
    },
    "payment": {
        "支付": 3,
        "付款": 3,
        "扣款": 3,
        "扣费": 3,
        "退款": 3,
        "充值": 2,
        "订单": 2,
        "发票": 2,
        "微信支付": 3,
        "支付宝": 3,
        "优惠券": 2,
        "payment": 3,
        "refund": 3,
        "charged": 3,
        "pay": 2,
        "invoice": 2,
    },
    "content_error": {
        "答案": 2,
        "解析": 2,
        "错误": 1,
        "错别字": 3,
        "题目": 1,
        "讲义": 1,
        "课件": 1,
        "公式": 2,
        "有误": 3,
        "写错": 3,
        "答案错": 3,
        "typo": 3,
        "wrong answer": 3,
        "mistake": 2,
    },
    "performance": {
        "慢": 2,
        "加载": 2,
        "闪退": 3,
        "卡死": 3,
        "转圈": 3,
        "崩溃": 3,
        "耗电": 3,
        "发热": 3,
        "启动": 1,
        "白屏": 2,
        "无响应": 3,
        "slow": 3,
        "crash": 3,
        "loading": 2,
        "freezes": 2,
    },
    "feature_request": {
        "希望": 2,
        "建议": 2,
        "能不能": 2,
        "能否": 2,
        "增加": 2,
        "支持": 1,
        "功能": 1,
        "加个": 3,
        "想要": 2,
        "要是能": 2,
        "please add": 3,
        "feature": 2,
        "would be nice": 3,
        "wish": 2,
        "could you add": 3,
    },
    "praise": {
        "很好": 2,
        "非常好": 3,
        "满意": 2,
        "谢谢": 2,
        "感谢": 2,
        "棒": 2,
        "喜欢": 2,
        "好评": 3,
        "推荐": 1,
        "清楚": 1,
        "耐心": 2,
        "great": 3,
        "thanks": 2,
        "love": 2,
        "excellent": 3,
        "helpful": 2,
    },
}
NOT_COMPLAINTS = frozenset({"feature_request", "praise"})

STOPWORDS = frozenset(
    """的 了 是 我 你 他 她 它 们 我们 你们 这 那 这个 那个 就 都 也 还 又 在 和 与 或 而 但 但是 可是 因为 所以
    如果 一个 一下 一直 没有 不 没 很 太 非常 有点 有些 什么 怎么 怎么办 为什么 吗 呢 吧 啊 呀 哦 嗯 哈 了吧 啦
    又是 就是 还是 已经 现在 今天 昨天 刚才 每次 总是 老是 好几次 几次 次 个 把 被 让 给 对 从 到 向 上 下 里
    能 会 要 想 可以 请 请问 麻烦 一下子 有 说 看 用 后 时候 时 中 后来 然后 结果 而且 并且 自己 大家 孩子 我家
    真的 真是 实在 根本 完全 一点 一些 好像 感觉 觉得 您好 你好 客服 老师好 尽快 解决 处理 影响 体验 麻烦
    看一下 回事 怎么回事 家长 反馈 孩子说 急 问题 一直 好几 还有 那边 这边 时候 出现 显示 提示 为啥
    the a an and or but to of in on at for is are was were be been it this that i my me we our you your
    with when what why how not no can could would please just very so too again after before from have has
    had do does did get got there they them he she his her its as by if""".split()
)
# single characters carry a theme only in a few cases ("太慢", "很卡")
SINGLE_CHARACTER_WORDS = frozenset("慢卡贵棒错")
_TOKEN = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_lock = threading.Lock()


def cache_dir() -> Path:
    """The user's cache folder for eduops ($XDG_CACHE_HOME/eduops, else ~/.cache/eduops)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "eduops"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    """jieba, initialised once and without its start-up chatter on stderr."""
    import jieba

    with _lock:
        jieba.setLogLevel(logging.WARNING)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(cache_dir())  # its 9 MB dictionary cache, never left in /tmp
        jieba.initialize()
        for word in (
            "卡顿",
            "闪退",
            "验证码",
            "音画不同步",
            "错别字",
            "倍速",
            "夜间模式",
            "错题本",
            "扣款",
            "退款",
            "直播课",
            "回放",
            "白屏",
            "转圈",
        ):
            jieba.add_word(word, freq=100000)
    return jieba


def words(text: str) -> list[str]:
    """Meaningful words of a Chinese or English text: lower-cased, no stopwords, no punctuation."""
    out = []
    for token in _jieba().lcut(text.lower()):
        token = token.strip()
        if len(token) < 2 and token not in SINGLE_CHARACTER_WORDS:
            continue
        if token in STOPWORDS or not _TOKEN.search(token) or token.isdigit():
            continue
        out.append(token)
    return out


def categorize(text: str) -> str:
    """The category with the most keyword weight in the text; 'other' when nothing matches."""
    lowered = text.lower()
    scores = {cat: sum(w for kw, w in kws.items() if kw in lowered) for cat, kws in KEYWORDS.items()}
    best = max(CATEGORIES[:-1], key=lambda c: scores.get(c, 0))
    return best if scores.get(best, 0) > 0 else "other"


def is_complaint(category: str) -> bool:
    return category not in NOT_COMPLAINTS
