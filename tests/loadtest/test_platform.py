"""The demo platform: the journeys work, a broken journey fails, and the server saturates past its capacity."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from eduops.demo.platform import DEMO_PASSWORD, create_platform, serve_platform


def _login(client: TestClient) -> dict[str, str]:
    token = client.post("/api/login", json={"username": "student001", "password": DEMO_PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_student_journeys_through_the_json_api() -> None:
    client = TestClient(create_platform(service_ms=0))
    auth = _login(client)
    classes = client.get("/api/timetable", headers=auth).json()["classes"]
    assert len(classes) >= 10
    joined = client.post(f"/api/classes/{classes[0]['id']}/join", headers=auth)
    assert joined.json() == {"class_id": classes[0]["id"], "joined": True, "attendees": 1}
    beat = client.post(f"/api/classes/{classes[0]['id']}/heartbeat", headers=auth)  # the join storm's heartbeat
    assert beat.json() == {"class_id": classes[0]["id"], "ok": True, "attendees": 1}
    assert client.get("/healthz").json()["heartbeats"] == 1
    booking = client.post("/api/bookings", headers=auth, json={"tutor_id": 3, "slot": "2026-09-01T19:00"})
    assert booking.status_code == 201
    other = {"Authorization": "Bearer " + client.post(
        "/api/login", json={"username": "student002", "password": DEMO_PASSWORD}).json()["token"]}
    clash = client.post("/api/bookings", headers=other, json={"tutor_id": 3, "slot": "2026-09-01T19:00"})
    assert clash.status_code == 409
    courses = client.get("/api/courses").json()
    course = client.get(f"/api/courses/{courses[0]['id']}").json()
    assert client.get(f"/api/videos/{course['videos'][0]}").json()["renditions"] == ["360p", "720p"]
    result = client.post(f"/api/quizzes/{course['quiz']}/submit", json={"answers": {"q1": "14", "q2": "90"}})
    assert result.json() == {"score": 1, "total": 3}


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (("POST", "/api/login", {"username": "student001", "password": "wrong"}), 401),
        (("POST", "/api/login", {"username": "no spaces allowed", "password": DEMO_PASSWORD}), 401),
        (("GET", "/api/timetable", None), 401),
        (("GET", "/api/courses/999", None), 404),
        (("GET", "/api/videos/1", None), 404),
        (("POST", "/api/classes/100/heartbeat", None), 401),
    ],
)
def test_bad_requests_get_clear_errors(request_: tuple[str, str, dict | None], status: int) -> None:
    method, path, body = request_
    response = TestClient(create_platform(service_ms=0)).request(method, path, json=body)
    assert response.status_code == status
    assert response.json()["error"]


def test_a_heartbeat_needs_a_class_the_student_joined() -> None:
    client = TestClient(create_platform(service_ms=0))
    auth = _login(client)
    assert client.post("/api/classes/999/heartbeat", headers=auth).status_code == 404
    before_joining = client.post("/api/classes/101/heartbeat", headers=auth)
    assert before_joining.status_code == 409 and "join class 101 first" in before_joining.json()["error"]


def test_browser_pages_log_in_and_submit_a_quiz() -> None:
    client = TestClient(create_platform(service_ms=0))
    assert 'id="login-form"' in client.get("/login").text
    page = client.post("/login", data={"username": "student001", "password": DEMO_PASSWORD})
    assert page.status_code == 200 and "Welcome, student001" in page.text  # followed the redirect
    assert 'href="/quizzes/1"' in client.get("/courses/1").text
    assert 'data-state="paused"' in client.get("/videos/11").text
    assert 'id="join"' in client.get("/classes/100").text
    result = client.post("/quizzes/1", data={"q1": "14", "q2": "100", "q3": "3"})
    assert 'data-score="3"' in result.text


@pytest.mark.parametrize(
    ("journey", "method", "path"),
    [
        ("quiz", "POST", "/quizzes/1"),
        ("quiz", "POST", "/api/quizzes/1/submit"),
        ("video", "GET", "/api/videos/11"),
        ("courses", "GET", "/api/courses"),
        ("login", "POST", "/api/login"),
    ],
)
def test_a_broken_journey_fails_and_the_others_still_work(journey: str, method: str, path: str) -> None:
    client = TestClient(create_platform(service_ms=0, broken={journey}))
    assert client.request(method, path, json={}).status_code == 500
    other = "/api/courses" if journey != "courses" else "/api/videos/11"
    assert client.get(other).status_code == 200


def test_unknown_journey_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown journeys"):
        create_platform(broken={"payments"})


async def _median_latency_ms(url: str, concurrency: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        async def one() -> float:
            t0 = time.perf_counter()
            response = await client.get("/api/courses")
            assert response.status_code == 200
            return (time.perf_counter() - t0) * 1000

        times = sorted(await asyncio.gather(*(one() for _ in range(concurrency))))
        return times[len(times) // 2]


def test_latency_rises_past_capacity() -> None:
    url, stop = serve_platform(capacity=2, service_ms=50)
    try:
        light = asyncio.run(_median_latency_ms(url, 2))
        heavy = asyncio.run(_median_latency_ms(url, 20))
        health = httpx.get(f"{url}/healthz").json()
    finally:
        stop()
    # 20 requests through 2 slots of 50 ms queue for ~10 service times; the median waits ~5 of them (~250 ms),
    # while 2 requests are served at once (~50 ms). No absolute bound on `light`: a busy machine adds its own delay
    # to both, and the ratio still shows the queue.
    assert heavy > 2.5 * light and heavy > 150
    assert health["served"] >= 22 and health["capacity"] == 2


def test_requests_beyond_the_queue_are_shed() -> None:
    url, stop = serve_platform(capacity=1, service_ms=50, queue_limit=2)
    try:
        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                responses = await asyncio.gather(*(client.get("/api/courses") for _ in range(8)))
                return [r.status_code for r in responses]

        codes = asyncio.run(burst())
    finally:
        stop()
    assert codes.count(503) >= 3 and codes.count(200) >= 2


def test_scenario_library_over_the_api(sqlite_ws) -> None:
    from eduops.core.principal import Principal, current_principal
    from eduops.web.app import create_app

    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vera", kind="user", role="viewer")
    client = TestClient(app)
    scenarios = {s["key"]: s for s in client.get("/api/v1/loadtest/scenarios").json()}
    assert scenarios["live-class-spike"]["nominal_users"] == 10000
    assert scenarios["live-class-spike"]["shape"] == "spike"
    page = client.get("/loadtest", headers={"accept-language": "zh-CN"})
    assert page.status_code == 200 and "压力测试" in page.text and "live-class-spike" in page.text
    app.dependency_overrides[current_principal] = lambda: None
    assert client.get("/api/v1/loadtest/scenarios").status_code == 401
