"""Chat robots as the Chinese IM services really answer them, as Apprise plugins.

- ``feishu://SECRET@TOKEN`` / ``lark://SECRET@TOKEN``: Apprise's plugins do not sign; a robot with
  signature verification wants ``sign`` = base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")),
  ``timestamp`` in seconds.
- ``dingtalk://`` and ``wecombot://``: these robots refuse a message with HTTP 200 and a non-zero
  ``errcode`` (bad signature, over the rate limit), which Apprise counts as delivered; here it is a
  failure, so eduops retries and logs it. Markdown goes as Markdown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import requests
from apprise.common import NotifyFormat
from apprise.manager_plugins import NotificationManager
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.feishu import NotifyFeishu
from apprise.plugins.lark import NotifyLark
from apprise.plugins.wecombot import NotifyWeComBot


def feishu_sign(timestamp: int, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", digestmod=hashlib.sha256).digest()).decode()


class _Signed:
    secret: str | None
    webhook: str

    def _payload(self, body: str, title: str, body_format: Any) -> dict[str, Any]:
        if body_format == NotifyFormat.MARKDOWN:
            payload: dict[str, Any] = {
                "msg_type": "interactive",
                "card": {
                    "config": {"wide_screen_mode": True},
                    "header": {"title": {"tag": "plain_text", "content": title or "eduops"}},
                    "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": body}}],
                },
            }
        else:
            payload = {"msg_type": "text", "content": {"text": f"{title}\n{body}" if title else body}}
        if self.secret:
            ts = int(time.time())
            payload["timestamp"] = str(ts)
            payload["sign"] = feishu_sign(ts, self.secret)
        return payload

    def _post(self, payload: dict[str, Any]) -> bool:
        return post_json(self, self.webhook, payload)


def post_json(plugin: Any, url: str, payload: dict[str, Any], params: dict[str, str] | None = None) -> bool:
    """POST a robot message; a non-200 answer or a non-zero ``errcode``/``code`` is a failure."""
    plugin.throttle()
    try:
        r = requests.post(
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            params=params,
            headers={"Content-Type": "application/json", "User-Agent": plugin.app_id},
            verify=plugin.verify_certificate,
            timeout=plugin.request_timeout,
        )
    except requests.RequestException as exc:
        plugin.logger.warning("A connection error occurred sending the robot notification: %s", exc)
        return False
    try:
        content = r.json()
    except ValueError:
        content = {}
    code = (content.get("errcode") or content.get("code")) if isinstance(content, dict) else None
    if r.status_code != 200 or code:
        message = (content.get("errmsg") or content.get("msg")) if isinstance(content, dict) else ""
        plugin.logger.warning("The robot refused the notification: HTTP %s, code %s %s", r.status_code, code, message)
        return False
    return True


class CheckedDingTalk(NotifyDingTalk):  # type: ignore[misc]
    def send(self, body: str, title: str = "", notify_type: Any = None, body_format: Any = None, **kwargs: Any) -> bool:
        text = f"### {title}\n{body}" if title else body
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "at": {"atMobiles": self.targets, "isAtAll": False},
            "markdown": {"title": title or "eduops", "text": text},
        }
        params = None
        if self.secret:
            timestamp, signature = self.get_signature()
            params = {"timestamp": timestamp, "sign": signature}
        return post_json(self, self.notify_url.format(token=self.token), payload, params)


class CheckedWeComBot(NotifyWeComBot):  # type: ignore[misc]
    def send(self, body: str, title: str = "", notify_type: Any = None, **kwargs: Any) -> bool:
        content = f"**{title}**\n{body}" if title else body
        return post_json(self, self.api_url, {"msgtype": "markdown", "markdown": {"content": content}})


class SignedFeishu(_Signed, NotifyFeishu):  # type: ignore[misc]
    def __init__(self, token: str, secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.secret = secret or None
        self.webhook = self.notify_url.format(token=self.token)

    def send(self, body: str, title: str = "", notify_type: Any = None, body_format: Any = None, **kwargs: Any) -> bool:
        return self._post(self._payload(body, title, body_format))

    @staticmethod
    def parse_url(url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        results = NotifyFeishu.parse_url(url)
        if results and results.get("user"):
            results["secret"] = NotifyFeishu.unquote(results["user"])
        return results


class SignedLark(_Signed, NotifyLark):  # type: ignore[misc]
    def __init__(self, token: str, secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.secret = secret or None
        self.webhook = f"{self.notify_url}{self.token}"

    def send(self, body: str, title: str = "", notify_type: Any = None, body_format: Any = None, **kwargs: Any) -> bool:
        return self._post(self._payload(body, title, body_format))

    @staticmethod
    def parse_url(url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        results = NotifyLark.parse_url(url)
        if results and results.get("user"):
            results["secret"] = NotifyLark.unquote(results["user"])
        return results


_installed = False


def install() -> None:
    """Make the robot URL schemes use these plugins (idempotent)."""
    global _installed
    if _installed:
        return
    manager = NotificationManager()
    manager.add(SignedFeishu, schemas="feishu", force=True)
    manager.add(SignedLark, schemas="lark", force=True)
    manager.add(CheckedDingTalk, schemas="dingtalk", force=True)
    manager.add(CheckedWeComBot, schemas="wecombot", force=True)
    _installed = True
