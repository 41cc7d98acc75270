"""What one student does, as Locust users; imported only inside the Locust child process (gevent).

``CONFIG`` is filled by ``worker.py`` before the environment starts: host paths, test accounts,
think time, and for the open model the arrival rate.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable
from typing import Any

import gevent
from geventhttpclient.client import HTTPClient
from geventhttpclient.url import URL
from locust import FastHttpUser, LoadTestShape, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, FastHttpSession

from eduops.loadtest.batching import Batch
from eduops.loadtest.shapes import Shape, target
from eduops.loadtest.storm import Storm, planned_arrival

CONFIG: dict[str, Any] = {
    "paths": {}, "username_prefix": "student", "password": "demo", "think": [1.0, 3.0],
    "arrival_rate": 0.0, "arrival_max_in_flight": 500, "arrival_shape": None, "journey": "BrowsingStudent",
    "storm": None,
}
STORM: dict[str, Any] = {"started": 0.0, "arrivals": 0, "heartbeats": 0}
_serial = itertools.count(1)
Headers = dict[str, str]


def _path(name: str, **params: Any) -> str:
    return str(CONFIG["paths"][name]).format(**params)


def _expect(response: Any, *ok: int) -> bool:
    """Mark a catch_response request by its status; returns whether it was fine."""
    if response.status_code in ok:
        response.success()
        return True
    response.failure(f"HTTP {response.status_code}")
    return False


def log_in(client: FastHttpSession) -> Headers:
    name = f"{CONFIG['username_prefix']}{os.getpid() % 1000:03d}{next(_serial):06d}"
    body = {"username": name, "password": CONFIG["password"]}
    with client.post(_path("login"), json=body, name="log in", catch_response=True) as r:
        if not _expect(r, 200):
            return {}
        return {"Authorization": f"Bearer {r.json().get('token', '')}"}


def term_rush(client: FastHttpSession, auth: Headers) -> None:
    """Open the timetable, then join the class that starts now."""
    with client.get(_path("timetable"), headers=auth, name="timetable", catch_response=True) as r:
        if not _expect(r, 200):
            return
        classes = r.json().get("classes") or [{"id": 100}]
    class_id = classes[0]["id"]
    client.post(_path("join", class_id=class_id), headers=auth, name="join class")


def live_class(client: FastHttpSession, auth: Headers) -> None:
    """Everyone joins the same class at its start minute."""
    client.post(_path("join", class_id=100), headers=auth, name="join class")


def booking(client: FastHttpSession, auth: Headers) -> None:
    """Book a tutor slot; another student having it (409) is a normal answer, not an error."""
    slot = f"2026-09-{random.randint(1, 7):02d}T{random.randint(17, 21)}:00"
    body = {"tutor_id": random.randint(1, 20), "slot": slot}
    with client.post(_path("bookings"), json=body, headers=auth, name="book tutor", catch_response=True) as r:
        _expect(r, 200, 201, 409)


def browse(client: FastHttpSession, auth: Headers) -> None:
    """Catalogue, one course, one of its lesson videos."""
    with client.get(_path("courses"), name="courses", catch_response=True) as r:
        if not _expect(r, 200):
            return
        courses = r.json() or [{"id": 1}]
    course_id = random.choice(courses)["id"]
    with client.get(_path("course", course_id=course_id), name="course", catch_response=True) as r:
        if not _expect(r, 200):
            return
        videos = r.json().get("videos") or []
    if videos:
        client.get(_path("video", video_id=random.choice(videos)), name="video manifest")


def quiz(client: FastHttpSession, auth: Headers) -> None:
    """Submit a quiz with a guess per question."""
    answers = {"q1": random.choice(["14", "20"]), "q2": random.choice(["100", "90"]), "q3": "3"}
    client.post(_path("quiz_submit", quiz_id=random.randint(1, 6)), json={"answers": answers}, headers=auth,
                name="submit quiz")


JOURNEYS: dict[str, Callable[[FastHttpSession, Headers], None]] = {
    "TermRushStudent": term_rush, "LiveClassStudent": live_class, "BookingStudent": booking,
    "BrowsingStudent": browse, "QuizStudent": quiz,
}


class Student(FastHttpUser):
    """Closed model: a fixed crowd, each student logs in once, then repeats the journey with think time."""

    abstract = True
    auth: Headers = {}

    def wait_time(self) -> float:
        low, high = CONFIG["think"]
        return random.uniform(float(low), float(high))

    def on_start(self) -> None:
        self.auth = log_in(self.client)

    @task
    def journey(self) -> None:
        JOURNEYS[type(self).__name__](self.client, self.auth)


class TermRushStudent(Student):
    pass


class LiveClassStudent(Student):
    pass


class BookingStudent(Student):
    pass


class BrowsingStudent(Student):
    pass


class QuizStudent(Student):
    pass


class ArrivalUser(FastHttpUser):
    """Open model: new students keep arriving at the set rate, also when the site slows down.

    Each arrival is a new student (log in, then the journey) in its own greenlet; arrivals beyond
    ``arrival_max_in_flight`` waiting at once are recorded as failures ("gave up").
    """

    concurrency = 1000
    in_flight = 0
    started_at = 0.0

    def wait_time(self) -> float:
        return 0.0

    def on_start(self) -> None:
        self.started_at = time.monotonic()

    def _rate(self) -> float:
        rate = float(CONFIG["arrival_rate"])
        shape_data = CONFIG.get("arrival_shape")
        if shape_data:
            shape = Shape(**shape_data)
            now = target(shape, time.monotonic() - self.started_at)
            rate = rate * (now[0] / shape.users if now else 0.0)
        generators = max(1, self.environment.runner.user_count if self.environment.runner else 1)
        return rate / generators

    def _arrive(self) -> None:
        ArrivalUser.in_flight += 1
        try:
            JOURNEYS[str(CONFIG["journey"])](self.client, log_in(self.client))
        finally:
            ArrivalUser.in_flight -= 1

    @task
    def arrivals(self) -> None:
        rate = self._rate()
        if rate <= 0:
            gevent.sleep(0.2)
            return
        gevent.sleep(random.expovariate(rate))
        if ArrivalUser.in_flight >= int(CONFIG["arrival_max_in_flight"]):
            self.environment.events.request.fire(
                request_type="ARRIVAL", name="arrival", response_time=0, response_length=0,
                exception=RuntimeError("gave up: too many students waiting"), context={})
            return
        gevent.spawn(self._arrive)


class StaticFileUser(FastHttpUser):
    """No think time, one static file (``CONFIG["path"]``): what the generator itself sustains.

    A throughput scenario: each request goes straight to the keep-alive connection FastHttpUser's own
    pool holds for the host (its timeouts and TLS settings), and its time goes into a ``Batch`` that
    reaches Locust's stats a few times a second, instead of Locust's per-request wrapping and events.
    """

    http: HTTPClient
    record: Batch

    def wait_time(self) -> float:
        return 0.0

    def on_start(self) -> None:
        self.http = self.client.client.clientpool.get_client(URL(str(self.host)))
        self.record = Batch(self.environment.stats, "GET", "static file")

    def on_stop(self) -> None:
        self.record.flush()

    @task
    def fetch(self) -> None:
        started = time.perf_counter()
        try:
            with self.http.get(str(CONFIG.get("path", "/"))) as response:
                body = response.read()
                status = response.status_code
        except FAILURE_EXCEPTIONS as exc:
            self.record.failed(started, time.perf_counter(), exc)
            return
        if status >= 400:
            self.record.failed(started, time.perf_counter(), f"HTTP {status}")
        else:
            self.record.ok(started, time.perf_counter(), len(body))


class JoinStormUser(FastHttpUser):
    """The live-class join storm (``storm.py``) from one generator: learner k arrives at its planned second
    (logs in, joins class 100), then sends a heartbeat every ``heartbeat_s`` until the end, each learner
    in its own greenlet over this user's connection pool. ``STORM`` counts arrivals as they start."""

    concurrency = 100  # connections shared by every learner of the storm

    def wait_time(self) -> float:
        return 0.0

    @task
    def storm(self) -> None:
        if STORM["started"]:  # the schedule was fired once; the learners' greenlets do the rest
            gevent.sleep(1.0)
            return
        storm = Storm(**CONFIG["storm"])
        start = STORM["started"] = time.monotonic()
        for k in range(storm.learners):
            delay = start + planned_arrival(storm, k) - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            gevent.spawn(self._learner, storm, start + planned_arrival(storm, k), start + storm.duration_s)

    def _learner(self, storm: Storm, planned_at: float, end: float) -> None:
        STORM["arrivals"] += 1
        auth = log_in(self.client)
        self.client.post(_path("join", class_id=100), headers=auth, name="join class")
        beat = planned_at + storm.heartbeat_s
        while beat < end:
            gevent.sleep(max(0.0, beat - time.monotonic()))
            self.client.post(_path("heartbeat", class_id=100), headers=auth, name="heartbeat")
            STORM["heartbeats"] += 1
            beat += storm.heartbeat_s


class EduopsShape(LoadTestShape):
    """Locust's shape hook over the pure curves in ``shapes.py``."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = shape

    def tick(self) -> tuple[int, float] | None:
        return target(self.shape, self.get_run_time())
