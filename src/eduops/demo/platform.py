"""A small demo education platform: the target the load tests and the release journeys run against.

It models a server that saturates: at most ``capacity`` requests are served at once, each takes
``service_ms``; the rest wait in a queue, so latency climbs past the knee, and requests beyond
``queue_limit`` are shed with 503. ``broken`` names journeys that fail, so a bad release can be faked.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

DEMO_PASSWORD = "demo"
JOURNEYS = ("login", "timetable", "join", "booking", "courses", "video", "quiz")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")

COURSES: list[dict[str, Any]] = [
    {"id": i, "title": title, "videos": [i * 10 + v for v in range(1, 4)], "quiz": i}
    for i, title in enumerate(["Algebra I", "Physics: Motion", "English Reading", "Chemistry Basics",
                               "World History", "Python for Beginners"], start=1)
]
QUIZ: list[dict[str, Any]] = [
    {"id": "q1", "text": "2 + 3 × 4 = ?", "options": ["20", "14", "24"], "answer": "14"},
    {"id": "q2", "text": "Water boils at sea level at … °C", "options": ["90", "100", "110"],
     "answer": "100"},
    {"id": "q3", "text": "A triangle has … sides", "options": ["3", "4", "5"], "answer": "3"},
]
CLASS_IDS = range(100, 112)
TUTORS = range(1, 21)


class Broken(Exception):
    """A journey the release broke on purpose."""


@dataclass
class PlatformState:
    capacity: int
    service_s: float
    queue_limit: int
    broken: frozenset[str]
    tokens: dict[str, str] = field(default_factory=dict)
    bookings: dict[tuple[int, str], str] = field(default_factory=dict)
    joined: dict[int, set[str]] = field(default_factory=dict)
    heartbeats: dict[int, int] = field(default_factory=dict)
    in_flight: int = 0
    waiting: int = 0
    served: int = 0
    shed: int = 0
    slots: asyncio.Semaphore | None = None


class Saturation:
    """ASGI middleware: ``capacity`` requests in service at once, a bounded queue, 503 beyond it."""

    def __init__(self, app: Any, state: PlatformState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        state = self.state
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        if state.slots is None:
            state.slots = asyncio.Semaphore(state.capacity)
        if state.waiting >= state.queue_limit:
            state.shed += 1
            await JSONResponse({"error": "overloaded, try again"}, status_code=503,
                               headers={"Retry-After": "1"})(scope, receive, send)
            return
        state.waiting += 1
        try:
            await state.slots.acquire()
        finally:
            state.waiting -= 1
        state.in_flight += 1
        try:
            await asyncio.sleep(state.service_s)
            await self.app(scope, receive, send)
        finally:
            state.in_flight -= 1
            state.served += 1
            state.slots.release()


def _page(title: str, body: str, journey: str = "") -> HTMLResponse:
    style = ('body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em}'
             ".player{width:320px;height:180px;background:#222;color:#fff;display:flex;"
             "align-items:center;justify-content:center}")
    nav = '<a href="/courses">Courses</a> · <a href="/timetable">Timetable</a> · <a href="/login">Log in</a>'
    doc = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
           f"<title>{html.escape(title)} · Demo School</title><style>{style}</style></head>"
           f'<body data-journey="{journey}"><nav>{nav}</nav>'
           f"<h1>{html.escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(doc)


def create_platform(capacity: int = 50, service_ms: float = 5.0, broken: Iterable[str] = frozenset(),
                    queue_limit: int | None = None) -> FastAPI:
    """The demo platform as an ASGI app. ``broken`` ⊆ JOURNEYS; ``queue_limit`` defaults to 20 × capacity."""
    unknown = set(broken) - set(JOURNEYS)
    if unknown or capacity < 1 or service_ms < 0:
        raise ValueError(f"bad platform parameters: unknown journeys {sorted(unknown)} "
                         f"(known: {', '.join(JOURNEYS)}), capacity {capacity} (≥ 1), "
                         f"service_ms {service_ms} (≥ 0)")
    state = PlatformState(capacity, service_ms / 1000.0, queue_limit or capacity * 20, frozenset(broken))
    app = FastAPI(title="Demo School", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.platform = state
    app.add_middleware(Saturation, state=state)

    @app.exception_handler(Broken)
    async def broken_journey(request: Request, exc: Broken) -> Response:
        return JSONResponse({"error": f"internal error in {exc}"}, status_code=500)

    def check(journey: str) -> None:
        if journey in state.broken:
            raise Broken(journey)

    def student(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        bearer = auth.startswith("Bearer ")
        token = auth.removeprefix("Bearer ").strip() if bearer else request.cookies.get("token", "")
        return state.tokens.get(token)

    def need_student(request: Request) -> str | JSONResponse:
        who = student(request)
        return who if who else JSONResponse({"error": "log in first: POST /api/login"}, status_code=401)

    def login(username: Any, password: Any) -> str | None:
        if not isinstance(username, str) or not USERNAME.match(username) or password != DEMO_PASSWORD:
            return None
        token = secrets.token_urlsafe(16)
        state.tokens[token] = username
        return token

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "in_flight": state.in_flight, "waiting": state.waiting,
                "served": state.served, "shed": state.shed, "capacity": state.capacity,
                "heartbeats": sum(state.heartbeats.values()),
                "service_ms": state.service_s * 1000,
                "broken": sorted(state.broken)}

    @app.post("/api/login")
    async def api_login(request: Request) -> Response:
        check("login")
        body = await _json(request)
        token = login(body.get("username"), body.get("password"))
        if token is None:
            return JSONResponse({"error": f"wrong user name or password (every student's password is "
                                          f"{DEMO_PASSWORD!r})"}, status_code=401)
        return JSONResponse({"token": token, "username": body["username"]})

    @app.get("/api/timetable")
    async def api_timetable(request: Request) -> Response:
        check("timetable")
        who = need_student(request)
        if isinstance(who, Response):
            return who
        return JSONResponse({"student": who, "classes": _timetable()})

    def student_of_class(class_id: int, request: Request) -> str | Response:
        """The logged-in student asking about a class that exists, or the answer saying why not."""
        check("join")
        who = need_student(request)
        if isinstance(who, Response):
            return who
        if class_id not in CLASS_IDS:
            return JSONResponse({"error": f"no class {class_id}"}, status_code=404)
        return who

    @app.post("/api/classes/{class_id}/join")
    async def api_join(class_id: int, request: Request) -> Response:
        who = student_of_class(class_id, request)
        if isinstance(who, Response):
            return who
        room = state.joined.setdefault(class_id, set())
        room.add(who)
        return JSONResponse({"class_id": class_id, "joined": True, "attendees": len(room)})

    @app.post("/api/classes/{class_id}/heartbeat")
    async def api_heartbeat(class_id: int, request: Request) -> Response:
        """A learner in the class says it is still there (the join storm sends one every 15 s)."""
        who = student_of_class(class_id, request)
        if isinstance(who, Response):
            return who
        room = state.joined.get(class_id, set())
        if who not in room:
            return JSONResponse({"error": f"join class {class_id} first: POST /api/classes/{class_id}/join"},
                                status_code=409)
        state.heartbeats[class_id] = state.heartbeats.get(class_id, 0) + 1
        return JSONResponse({"class_id": class_id, "ok": True, "attendees": len(room)})

    @app.post("/api/bookings")
    async def api_booking(request: Request) -> Response:
        check("booking")
        who = need_student(request)
        if isinstance(who, Response):
            return who
        body = await _json(request)
        tutor, slot = body.get("tutor_id"), body.get("slot")
        if not isinstance(tutor, int) or tutor not in TUTORS or not isinstance(slot, str) or not slot:
            return JSONResponse({"error": "send tutor_id (1–20) and slot (e.g. '2026-09-01T19:00')"},
                                status_code=422)
        taken = state.bookings.get((tutor, slot))
        if taken and taken != who:
            return JSONResponse({"error": "this tutor is booked at that time", "booked": False},
                                status_code=409)
        state.bookings[(tutor, slot)] = who
        return JSONResponse({"booked": True, "tutor_id": tutor, "slot": slot}, status_code=201)

    @app.get("/api/courses")
    async def api_courses() -> Response:
        check("courses")
        return JSONResponse([{"id": c["id"], "title": c["title"]} for c in COURSES])

    @app.get("/api/courses/{course_id}")
    async def api_course(course_id: int) -> Response:
        check("courses")
        course = _course(course_id)
        if course is None:
            return JSONResponse({"error": f"no course {course_id}"}, status_code=404)
        return JSONResponse(course)

    @app.get("/api/videos/{video_id}")
    async def api_video(video_id: int) -> Response:
        check("video")
        if not any(video_id in c["videos"] for c in COURSES):
            return JSONResponse({"error": f"no video {video_id}"}, status_code=404)
        return JSONResponse({"id": video_id, "duration_s": 600, "renditions": ["360p", "720p"],
                             "segments": [f"/media/{video_id}/{i}.ts" for i in range(5)]})

    @app.post("/api/quizzes/{quiz_id}/submit")
    async def api_quiz(quiz_id: int, request: Request) -> Response:
        check("quiz")
        if _course(quiz_id) is None:
            return JSONResponse({"error": f"no quiz {quiz_id}"}, status_code=404)
        body = await _json(request)
        answers = body.get("answers")
        answers = answers if isinstance(answers, dict) else {}
        return JSONResponse(_score(answers))

    # --- HTML pages for browser journeys ------------------------------------------------------
    @app.get("/", response_model=None)
    async def index() -> RedirectResponse:
        return RedirectResponse("/courses", status_code=303)

    @app.get("/login")
    async def login_page() -> HTMLResponse:
        return _page("Log in", '<form method="post" action="/login" id="login-form">'
                     '<label>User name <input name="username" id="username"></label> '
                     '<label>Password <input name="password" id="password" type="password"></label> '
                     '<button type="submit" id="login-button">Log in</button></form>', "login")

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        check("login")
        form = await request.form()
        token = login(form.get("username"), form.get("password"))
        if token is None:
            page = _page("Log in", '<p class="error" id="login-error">Wrong user name or password.</p>'
                         '<a href="/login">Try again</a>', "login")
            page.status_code = 401
            return page
        response = RedirectResponse("/courses", status_code=303)
        response.set_cookie("token", token, httponly=True, samesite="lax")
        return response

    @app.get("/timetable")
    async def timetable_page(request: Request) -> Response:
        check("timetable")
        rows = "".join(f'<li><a href="/classes/{c["id"]}">{html.escape(c["title"])}</a> {c["starts_at"]}</li>'
                       for c in _timetable())
        return _page("Timetable", f'<ul id="timetable">{rows}</ul>', "timetable")

    @app.get("/courses")
    async def courses_page(request: Request) -> Response:
        check("courses")
        who = student(request)
        rows = "".join(f'<li><a class="course" href="/courses/{c["id"]}">{html.escape(c["title"])}</a></li>'
                       for c in COURSES)
        hello = f'<p id="welcome">Welcome, {html.escape(who)}</p>' if who else ""
        return _page("Courses", f'{hello}<ul id="courses">{rows}</ul>', "courses")

    @app.get("/courses/{course_id}")
    async def course_page(course_id: int) -> Response:
        check("courses")
        course = _course(course_id)
        if course is None:
            return _page("Not found", "<p>No such course.</p>")
        videos = "".join(f'<li><a class="video" href="/videos/{v}">Lesson {i}</a></li>'
                         for i, v in enumerate(course["videos"], start=1))
        return _page(str(course["title"]),
                     f'<ul id="lessons">{videos}</ul><p><a id="quiz-link" href="/quizzes/{course["quiz"]}">'
                     "Take the quiz</a></p>", "courses")

    @app.get("/videos/{video_id}")
    async def video_page(video_id: int) -> HTMLResponse:
        # The player asks the API for the manifest, then reports 'playing' with a moving position;
        # when the video journey is broken the manifest fails and the player shows 'error'.
        script = """<script>
const p = document.getElementById('player');
document.getElementById('play').addEventListener('click', async () => {
  p.dataset.state = 'loading';
  const r = await fetch('/api/videos/' + p.dataset.video);
  if (!r.ok) { p.dataset.state = 'error'; p.textContent = 'Playback failed (' + r.status + ')'; return; }
  p.dataset.state = 'playing'; let pos = 0;
  setInterval(() => { pos += 1; p.dataset.position = pos; p.textContent = 'Playing ' + pos + ' s'; }, 250);
});
</script>"""
        return _page(f"Lesson video {video_id}",
                     f'<div class="player" id="player" data-video="{video_id}" data-state="paused" '
                     f'data-position="0">Paused</div><button id="play">Play</button>{script}', "video")

    @app.get("/classes/{class_id}")
    async def class_page(class_id: int) -> HTMLResponse:
        script = """<script>
const c = document.getElementById('classroom');
document.getElementById('join').addEventListener('click', async () => {
  const r = await fetch('/api/classes/' + c.dataset.class + '/join', {method: 'POST'});
  c.dataset.state = r.ok ? 'joined' : 'error';
  c.textContent = r.ok ? 'In the class with ' + (await r.json()).attendees + ' students' : 'Could not join';
});
</script>"""
        return _page(f"Live class {class_id}",
                     f'<div id="classroom" data-class="{class_id}" data-state="waiting">Waiting to join</div>'
                     f'<button id="join">Join the class</button>{script}', "join")

    @app.get("/quizzes/{quiz_id}")
    async def quiz_page(quiz_id: int) -> HTMLResponse:
        items = "".join(
            f'<fieldset><legend>{html.escape(q["text"])}</legend>'
            + "".join(f'<label><input type="radio" name="{q["id"]}" value="{o}"> {o}</label> '
                      for o in q["options"])
            + "</fieldset>" for q in QUIZ)
        return _page(f"Quiz {quiz_id}",
                     f'<form method="post" action="/quizzes/{quiz_id}" id="quiz-form">{items}'
                     '<button type="submit" id="submit-quiz">Submit</button></form>', "quiz")

    @app.post("/quizzes/{quiz_id}")
    async def quiz_submit(quiz_id: int, request: Request) -> Response:
        check("quiz")
        form = await request.form()
        result = _score({k: str(v) for k, v in form.items()})
        return _page("Quiz result",
                     f'<p id="result" data-score="{result["score"]}" data-total="{result["total"]}">'
                     f'You scored {result["score"]} of {result["total"]}.</p>', "quiz")

    return app


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _course(course_id: int) -> dict[str, Any] | None:
    return next((c for c in COURSES if c["id"] == course_id), None)


def _timetable() -> list[dict[str, Any]]:
    return [{"id": cid, "title": f"Live class {cid - 99}: {COURSES[(cid - 100) % len(COURSES)]['title']}",
             "starts_at": f"2026-09-01T{8 + (cid - 100):02d}:00+08:00"} for cid in CLASS_IDS]


def _score(answers: dict[str, Any]) -> dict[str, int]:
    score = sum(1 for q in QUIZ if answers.get(q["id"]) == q["answer"])
    return {"score": score, "total": len(QUIZ)}


def serve_platform(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> tuple[str, Callable[[], None]]:
    """Serve the demo platform from a thread; returns its base URL and a function that stops it.

    ``port=0`` takes a free port. Keyword arguments go to ``create_platform``.
    """
    app = create_platform(**kw)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", backlog=2048,
                            timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"demo-platform-{bound_port}")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the demo platform did not start on {host}:{bound_port}")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://{host}:{bound_port}", stop
