"""Rate limits: 429 with Retry-After, per API key and per IP, in memory and in the local Redis."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.conftest import REDIS_URL, service_missing

from eduops.core.workspace import Workspace
from eduops.errors import ConfigError
from eduops.security.ratelimit import RateLimitMiddleware, api_key_id, parse_policy


def app_with(storage_url: str = "", per_key: str = "5/minute", per_ip: str = "3/minute") -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/xapi/statements")
    def statements() -> dict[str, str]:
        return {"stored": "1"}

    @app.get("/login")
    def login() -> dict[str, str]:
        return {"page": "login"}

    policy = parse_policy(per_key, per_ip, "8/minute", "4/minute")
    app.add_middleware(RateLimitMiddleware, policy=policy, storage_url=storage_url,
                       key_prefix=f"eduops-test-{uuid.uuid4().hex}")
    return app


def key(key_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer eduk_{key_id}_{'s' * 32}"}


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_limits_per_ip_and_per_key(storage: str) -> None:
    url = ""
    if storage == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError as exc:
            service_missing("Redis at 127.0.0.1:6379", exc)
        url = REDIS_URL
    with TestClient(app_with(url)) as client:  # one event loop, as under uvicorn
        assert [client.get("/api/v1/ping").status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = client.get("/api/v1/ping")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "retry in" in refused.json()["error"]
        assert client.get("/login").status_code == 200  # console pages are not limited here
        # the same IP with an API key still counts against the IP
        assert client.get("/api/v1/ping", headers=key("abc")).status_code == 429


def test_key_limit_applies_before_ip_limit() -> None:
    client = TestClient(app_with(per_key="2/minute", per_ip="100/minute"))
    assert [client.get("/api/v1/ping", headers=key("k1")).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/ping", headers=key("k2")).status_code == 200  # another key has its own budget


def test_ingestion_has_its_own_budget() -> None:
    client = TestClient(app_with(per_ip="1/minute"))
    assert [client.post("/xapi/statements").status_code for _ in range(5)] == [200, 200, 200, 200, 429]


LOCAL_TOKEN = "t" * 43


@pytest.mark.parametrize(("authorization", "limited"), [
    (f"Bearer edul_{LOCAL_TOKEN}", False),  # the server's own token: a CLI command or a worker's relay
    (f"bearer edul_{LOCAL_TOKEN}", False),
    ("Bearer edul_" + "u" * 43, True),  # another token is any other caller
    (f"Bearer eduk_{LOCAL_TOKEN}", True),
    (f"Basic edul_{LOCAL_TOKEN}", True),
    (None, True),
])
def test_the_servers_own_token_is_not_counted(authorization: str | None, limited: bool) -> None:
    """A serving worker relays what it was sent to the worker holding the stores, from 127.0.0.1 with the local
    token: the client's request was counted by the worker that took it, so the relay must not use up the
    address's budget (a busy second worker's statements were refused once its relays passed the /api/ limit)."""
    app = app_with(per_key="2/minute", per_ip="2/minute")
    app.state.local_token = LOCAL_TOKEN
    headers = {"Authorization": authorization} if authorization else {}
    with TestClient(app) as client:
        codes = [client.get("/api/v1/ping", headers=headers).status_code for _ in range(5)]
        assert codes == ([200, 200, 429, 429, 429] if limited else [200] * 5)
        # the relays used none of the address's budget
        assert client.get("/api/v1/ping").status_code == (429 if limited else 200)


def test_without_a_local_token_nothing_is_exempt() -> None:
    """An app that never set a local token (not `eduops serve`) exempts nobody, whatever the header says."""
    with TestClient(app_with(per_key="1/minute", per_ip="1/minute")) as client:
        headers = {"Authorization": "Bearer edul_"}
        assert [client.get("/api/v1/ping", headers=headers).status_code for _ in range(2)] == [200, 429]


def test_redis_down_does_not_block_the_api() -> None:
    client = TestClient(app_with("redis://127.0.0.1:1/0"))
    assert client.get("/api/v1/ping").status_code == 200


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("Bearer eduk_ab12_secretsecret", "ab12"), ("Bearer nonsense", None), ("Token x", None),
])
def test_api_key_id_never_the_secret(header: str | None, expected: str | None) -> None:
    assert api_key_id(header) == expected


def test_bad_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="600/minute"):
        parse_policy("lots", "1/minute", "1/minute", "1/minute")


@pytest.mark.parametrize(("configured", "workers", "each"), [
    ("600/minute", 1, "600 per 1 minute"),
    ("600/minute", 2, "300 per 1 minute"),
    ("601/minute", 2, "300 per 1 minute"),  # rounded down: together never more than configured
    ("20/second", 3, "6 per 1 second"),
    ("1/hour", 4, "1 per 1 hour"),  # at least one
])
def test_each_serving_worker_counts_its_share_of_a_memory_limit(configured: str, workers: int, each: str) -> None:
    from eduops.security.ratelimit import per_process

    shared = per_process(parse_policy(configured, configured, configured, configured), workers)
    assert {str(shared.per_key), str(shared.per_ip), str(shared.ingest_per_key), str(shared.ingest_per_ip),
            str(shared.state_per_key), str(shared.state_per_ip)} == {each}


@pytest.mark.parametrize(("redis_url", "expected"), [("", "15000 per 1 minute"), (REDIS_URL, "30000 per 1 minute")])
def test_the_app_divides_memory_limits_among_its_workers(sqlite_ws: Workspace, redis_url: str, expected: str) -> None:
    """Workers counting in memory each take their share; with Redis they share one count of the whole limit."""
    from eduops.web.app import create_app

    sqlite_ws.settings.web.workers = 2
    sqlite_ws.settings.redis_url = redis_url
    app = create_app(sqlite_ws, domains=("core", "web", "security"))
    policy = next(m.kwargs["policy"] for m in app.user_middleware if m.cls is RateLimitMiddleware)
    assert str(policy.ingest_per_key) == expected  # the default ingest_rate_limit_per_key is 30000/minute


@pytest.mark.parametrize(("path", "limits"), [
    ("/xapi/activities/state", ("state key", "state ip")),
    ("/xapi/activities/profile", ("ingest key", "ingest ip")),
    ("/xapi/statements", ("ingest key", "ingest ip")),
    ("/xapi/activities/state/x", ("ingest key", "ingest ip")),
    ("/api/v1/rtc/reports", ("ingest key", "ingest ip")),
    ("/api/v1/runs", ("key", "ip")),
])
def test_state_saves_have_their_own_budget(path: str, limits: tuple[str, str]) -> None:
    from eduops.security.ratelimit import limits_for

    amounts = {"key": "1/minute", "ip": "2/minute", "ingest key": "3/minute", "ingest ip": "4/minute",
               "state key": "5/minute", "state ip": "6/minute"}
    found = limits_for(path, parse_policy(*amounts.values()))
    assert [str(item) for item in found] == [amounts[name].replace("/minute", " per 1 minute") for name in limits]
