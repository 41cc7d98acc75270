"""Delivery through Apprise to local receivers that verify signatures, rate limits that batch,
retries with backoff, isolation between channels, encrypted channel URLs and the delivery log."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from apprise.plugins.dingtalk import NotifyDingTalk
from apprise.plugins.wecombot import NotifyWeComBot
from tests.alerting.receivers import Receiver, http_receiver

from eduops.alerting.models import Channel
from eduops.alerting.notify import (
    ChannelQueue,
    Delivery,
    Message,
    add_channel,
    apprise_send,
    backoff,
    list_channels,
    load_queues,
)
from eduops.alerting.notify_robots import SignedFeishu, install
from eduops.core.workspace import keyring
from eduops.errors import Conflict, UsageError

DING_SECRET = "SECabc123"
FEISHU_SECRET = "feishusecret42"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    install()
    with http_receiver(Receiver(DING_SECRET, FEISHU_SECRET)) as r:
        base = f"http://127.0.0.1:{r.port}"
        monkeypatch.setattr(NotifyDingTalk, "notify_url", base + "/robot/send?access_token={token}")
        monkeypatch.setattr(NotifyWeComBot, "notify_url", base + "/cgi-bin/webhook/send?key={key}")
        monkeypatch.setattr(SignedFeishu, "notify_url", base + "/open-apis/bot/v2/hook/{token}/")
        yield r


def test_dingtalk_signature_is_accepted(receiver: Receiver) -> None:
    ok, error = apprise_send(f"dingtalk://{DING_SECRET}@token123/", "磁盘告警", "**disk** 91% full")
    assert (ok, error) == (True, "")
    [got] = receiver.ok("dingtalk")
    assert got.body["msgtype"] == "markdown" and "磁盘告警" in got.body["markdown"]["text"]


def test_dingtalk_wrong_secret_is_refused_and_reported_without_the_secret(receiver: Receiver) -> None:
    ok, error = apprise_send("dingtalk://WRONGSECRET@token123/", "t", "b")
    assert not ok
    assert [r.verdict for r in receiver.received] == ["bad sign"]
    assert "WRONGSECRET" not in error


def test_feishu_signature_is_accepted(receiver: Receiver) -> None:
    ok, _ = apprise_send(f"feishu://{FEISHU_SECRET}@hooktoken", "告警", "**CPU** 95%")
    assert ok
    [got] = receiver.ok("feishu")
    assert got.body["msg_type"] == "interactive"
    assert not apprise_send("feishu://othersecret@hooktoken", "t", "b")[0]


def test_wecom_payload_shape(receiver: Receiver) -> None:
    assert apprise_send("wecombot://botkey", "title", "body")[0]
    [got] = receiver.ok("wecom")
    assert got.query["key"] == "botkey" and "body" in got.body[got.body["msgtype"]]["content"]


def test_email_through_smtp() -> None:
    class Handler:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802,ANN001,ANN201
            self.messages.append(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ok, error = apprise_send(
            f"mailto://127.0.0.1:{port}/?from=eduops@example.org&to=ops@example.org",
            "Disk almost full",
            "disk **91%** full",
        )
    finally:
        controller.stop()
    assert ok, error
    assert b"Disk almost full" in handler.messages[0]


def queue(name: str, url: str, rate: int = 20) -> ChannelQueue:
    return ChannelQueue(name, url, rate)


def test_rate_limit_batches_instead_of_dropping() -> None:
    sent: list[tuple[str, str]] = []
    d = Delivery(
        None, {"ding": queue("ding", "dingtalk://x@y", 20)}, lambda u, t, b: (sent.append((t, b)), (True, ""))[1]
    )
    for i in range(25):
        d.enqueue("ding", Message(f"alert {i}", f"body {i}", queued_at=0.0))
        d.tick(float(i) * 0.1)  # 25 messages in 2.5 s
    assert len(sent) == 20  # the robot's limit
    assert d.tick(30.0) == 0  # still limited within the minute
    assert d.tick(60.0) == 1  # a slot opens: everything waiting goes as one message
    assert len(sent) == 21 and "alert 24" in sent[-1][1] and "alert 20" in sent[-1][1]
    assert [row["batched"] for row in d.log][-1] == 5
    assert all(row["status"] == "sent" for row in d.log)


def test_retries_back_off_and_a_failing_channel_does_not_delay_another() -> None:
    calls: list[tuple[str, float]] = []
    clock = [0.0]

    def sender(url: str, title: str, body: str) -> tuple[bool, str]:
        calls.append((url, clock[0]))
        return (url != "json://broken", "HTTP 500")

    d = Delivery(None, {"a": queue("a", "json://broken"), "b": queue("b", "json://fine")}, sender, lambda: clock[0])
    d.enqueue("a", Message("t", "b"))
    d.enqueue("b", Message("t", "b"))
    for t in range(0, 200):
        clock[0] = float(t)
        d.tick(float(t))
    assert [t for u, t in calls if u == "json://fine"] == [0.0]
    assert [t for u, t in calls if u == "json://broken"] == [0.0, 2.0, 6.0, 14.0, 30.0, 62.0]
    assert [backoff(n) for n in (1, 2, 3, 10)] == [2.0, 4.0, 8.0, 300.0]
    assert [(r["channel"], r["status"], r["attempts"]) for r in d.log] == [("b", "sent", 1), ("a", "failed", 6)]


def test_threaded_workers_isolate_a_hanging_channel(receiver: Receiver) -> None:
    receiver.hang_paths.add("/slow")
    base = f"json://127.0.0.1:{receiver.port}"
    d = Delivery(None, {"slow": queue("slow", base + "/slow"), "fast": queue("fast", base + "/fast")})
    d.start()
    try:
        d.enqueue("slow", Message("t", "b"))
        d.enqueue("fast", Message("t", "b"))
        deadline = time.monotonic() + 10
        while not any(r.path == "/fast" for r in receiver.received) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r.path for r in receiver.received] == ["/fast"]  # delivered while /slow still hangs
    finally:
        receiver.release.set()
        d.stop()


def test_channels_are_stored_encrypted_and_logged(ws, receiver: Receiver) -> None:
    ring = keyring(ws.settings)
    url = f"dingtalk://{DING_SECRET}@token123/"
    assert add_channel(ws.engine, ring, "ops-ding", url)["rate_per_minute"] == 20
    with pytest.raises(Conflict):
        add_channel(ws.engine, ring, "ops-ding", url)
    with pytest.raises(UsageError):
        add_channel(ws.engine, ring, "bad", "not a url")
    with ws.engine.connect() as conn:
        stored = conn.execute(sa.select(Channel.url_encrypted)).scalar_one()
    assert DING_SECRET not in stored and stored.startswith("enc:v1:")
    assert list_channels(ws.engine) == [
        {"name": "ops-ding", "scheme": "dingtalk", "enabled": True, "rate_per_minute": 20}
    ]
    d = Delivery(ws.engine, load_queues(ws.engine, ring))
    d.enqueue("ops-ding", Message("CPU high", "web-1 at 97%", receiver="ops", alerts=1))
    d.tick(time.time())
    assert len(receiver.ok("dingtalk")) == 1
    from eduops.alerting.models import Delivery as Row

    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(Row.channel, Row.status, Row.title)).all()
    assert [tuple(r) for r in rows] == [("ops-ding", "sent", "CPU high")]


def test_lark_signature_is_accepted(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from eduops.alerting.notify_robots import SignedLark

    monkeypatch.setattr(SignedLark, "notify_url", f"http://127.0.0.1:{receiver.port}/open-apis/bot/v2/hook/")
    assert apprise_send(f"lark://{FEISHU_SECRET}@larktoken", "Alert", "**CPU** 95%")[0]
    assert len(receiver.ok("feishu")) == 1
