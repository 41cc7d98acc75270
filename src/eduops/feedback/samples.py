"""Realistic Chinese (and some English) feedback about the themes an online school hears most.

Used by the demo and to generate the test data set; each text is put together from varied
phrasings so that no two themes share their wording by accident, as in real feedback.
"""

from __future__ import annotations

import random

OPENERS = ["", "", "", "老师好，", "你好，", "客服你好，", "请问一下，", "急！", "家长反馈：", "孩子说", "又来了，"]
WHEN = ["", "今天", "昨晚", "刚才", "这两天", "周末上课时", "晚上八点的课", "每次上直播课", "最近一周", "早上"]
DEVICES = ["", "", "用iPad", "用华为手机", "电脑上", "安卓平板", "苹果手机", "用小米手机"]
CLOSERS = ["", "", "", "，怎么回事？", "，请尽快处理", "，很影响体验", "，希望尽快解决", "！！", "。", "，麻烦看一下"]
GENTLE_CLOSERS = ["", "", "。", "！", "，谢谢", "～"]

THEMES: dict[str, list[str]] = {
    "audio_video": [
        "{when}{device}上课视频一直卡顿",
        "{when}直播课画面卡住不动，老师声音断断续续",
        "老师的声音听不到，画面也卡顿",
        "{when}视频卡顿严重，音画不同步",
        "{device}直播卡顿，声音延迟好几秒",
        "上课的时候画面一卡一卡的，声音也断",
        "{when}老师那边有回音，还有杂音，听不清",
        "直播课经常卡顿黑屏，要退出重进",
        "{device}看直播课画面卡顿、声音断断续续",
        "一对一课上老师的麦克风没声音",
        "{when}课堂视频卡顿，孩子根本没法听课",
        "视频老是卡顿，声音和画面对不上",
    ],
    "login": [
        "{when}{device}登录不上，一直提示密码错误",
        "收不到登录验证码，等了十分钟",
        "验证码发了好几次都没收到，登录失败",
        "{device}扫码登录没反应，登录不了",
        "密码明明是对的，登录时却说账号或密码错误",
        "{when}登录失败，提示网络异常，但网是好的",
        "换了手机以后账号登录不上了",
        "登录页面一直转圈，登录失败",
        "{when}账号被锁了，验证码也收不到，登录不了",
        "忘记密码，找回密码收不到验证码",
        "Can't log in, the verification code never arrives",
    ],
    "payment": [
        "{when}{device}支付失败，但是钱已经扣了",
        "微信支付扣款成功了课程还没开通",
        "支付宝付款后订单一直显示待支付",
        "重复扣费了两次，要求退款",
        "申请退款一周了还没到账",
        "{when}买课支付的时候一直失败，换了银行卡也不行",
        "扣款了但是订单里找不到，请退款",
        "优惠券用不了，支付金额不对",
        "续费扣款两次，请尽快退款",
        "{device}微信支付页面打不开，付款失败",
        "I was charged twice for the course, please refund",
    ],
    "content_error": [
        "练习册第{n}题答案错误",
        "第{n}题的解析有误，答案应该是B",
        "课件第{n}页有错别字",
        "讲义里的公式写错了，第{n}页",
        "第{n}课课后题答案错了，孩子做对了却判错",
        "题库里这道题答案错误，解析也不对",
        "数学讲义第{n}页公式有误",
        "英语课件单词拼写写错了",
        "视频里老师讲的例题答案和讲义答案不一样，哪个是对的",
        "第{n}题题目有误，缺少条件",
    ],
    "performance": [
        "{device}APP打开特别慢，一直转圈",
        "{when}app闪退，打不开",
        "{device}加载课程列表很慢，要等半分钟",
        "app用一会儿就发热耗电很快",
        "{when}点进作业页面就闪退",
        "启动要等很久，白屏好几秒",
        "{device}做题页面加载很慢，经常无响应",
        "更新新版本后app变得很慢，还会闪退",
        "{when}页面一直加载不出来，转圈转半天",
        "The app is very slow and crashes on startup",
    ],
    "feature_request": [
        "希望增加倍速播放功能",
        "建议支持课程回放离线下载",
        "能不能加个夜间模式，晚上看着刺眼",
        "希望能导出错题本打印",
        "建议增加家长端查看学习报告的功能",
        "能否支持回放倍速，1.5倍就够",
        "希望课程可以下载到本地离线看",
        "要是能有错题本自动整理就好了",
        "建议增加夜间模式和护眼模式",
        "希望增加学习提醒功能，按时提醒上课",
        "Please add offline download for recorded classes",
    ],
    "praise": [
        "老师讲得很好，孩子很喜欢",
        "非常满意，课程质量很棒",
        "谢谢王老师的耐心讲解",
        "课程内容很好，讲得清楚，好评",
        "孩子成绩提高了，感谢老师们",
        "老师很耐心，推荐给朋友了",
        "上了一学期非常满意，谢谢",
        "这个课太棒了，孩子每天都想上",
        "老师讲解清楚，作业批改也及时，满意",
        "Great teacher, my kid loves the class, thanks!",
    ],
}
# how often each theme appears: complaints about classes dominate, praise is rarer
WEIGHTS = {
    "audio_video": 26,
    "login": 16,
    "payment": 14,
    "content_error": 12,
    "performance": 12,
    "feature_request": 12,
    "praise": 8,
}


def feedback_text(theme: str, rng: random.Random) -> str:
    template = rng.choice(THEMES[theme])
    body = template.format(when=rng.choice(WHEN), device=rng.choice(DEVICES), n=rng.randint(2, 30))
    if body[:1].isascii():
        return body
    closers = GENTLE_CLOSERS if theme in ("praise", "feature_request") else CLOSERS
    return f"{rng.choice(OPENERS)}{body}{rng.choice(closers)}"


def sample_feedback(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """``n`` (theme, text) pairs in the themes' usual proportions."""
    themes = list(WEIGHTS)
    weights = [WEIGHTS[t] for t in themes]
    return [(theme, feedback_text(theme, rng)) for theme in rng.choices(themes, weights=weights, k=n)]
