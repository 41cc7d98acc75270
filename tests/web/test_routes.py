"""Every route declares its permission; no role lacking it gets through; no page shows a forbidden button.

The matrix walks the whole app (every domain's routes), logged in for real with one user per role,
and with API keys of every scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from tests.web.conftest import Console, csrf_of, make_console

from eduops.config import TaskOverride
from eduops.core.calendar import sync_tasks
from eduops.core.principal import ROLE_PERMISSIONS, SCOPE_PERMISSIONS, SCOPES
from eduops.core.runs import run_task
from eduops.core.workspace import ROLES
from eduops.web.apikeys import create_key
from eduops.web.app import create_app

# public by a standard, whichever domain serves it (xAPI 1.0.3 part 3, 7.7: the About resource)
PUBLIC_BY_STANDARD = {"/xapi/about"}
# sent with every request so protocol checks (xAPI needs its version header) do not answer first
PROTOCOL_HEADERS = {"x-experience-api-version": "1.0.3", "accept": "application/json"}
FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"', re.IGNORECASE)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of the app, with what the routers it was included through add."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def declared(route: RouteContext) -> list[str | None]:
    """Permissions a route declares: require(p) gives p, security.public gives None."""
    found: list[str | None] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is not None and hasattr(dep.call, "permission"):
            found.append(dep.call.permission)
        stack.extend(dep.dependencies)
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def full_app_routes(sqlite_ws) -> list[RouteContext]:
    """Routes of the app with every domain."""
    return api_routes(create_app(sqlite_ws))


def test_every_route_declares_a_permission_or_is_marked_public(full_app_routes: list[RouteContext]) -> None:
    undeclared = sorted(f"{sorted(r.methods)} {r.path}" for r in full_app_routes
                        if not declared(r) and r.path not in PUBLIC_BY_STANDARD)
    assert not undeclared, "routes without Depends(require(...)) or Depends(public):\n  " + "\n  ".join(undeclared)


def test_every_operation_has_its_own_operation_id(sqlite_ws) -> None:
    """OpenAPI requires operationIds unique across the document (clients and fuzzers key on them)."""
    spec = create_app(sqlite_ws).openapi()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) > 80 and len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_operation_documents_the_error_shape_it_answers(sqlite_ws) -> None:
    """Any 4xx is {"error": ...} (422 adds "problems"), so the document says so for every operation, and
    FastAPI's own 422 shape ({"detail": [...]}, which eduops never sends) is gone."""
    spec = create_app(sqlite_ws).openapi()
    ops = [op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    assert len(ops) > 80
    assert all(op["responses"]["default"]["content"] == error for op in ops)
    assert all(op["responses"]["422"]["content"] == error for op in ops if "422" in op["responses"])
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    report = spec["paths"]["/api/v1/runs/{run_id}/report"]["get"]["responses"]["200"]["content"]
    assert sorted(report) == ["application/json", "text/html", "text/markdown"]


@pytest.fixture
def everyone(sqlite_ws) -> Iterator[tuple[Console, FastAPI]]:
    console = make_console(sqlite_ws)
    full = create_app(sqlite_ws)
    full.state.clock = console.clock
    full.state.background_run = lambda run_id: None
    console.app = full
    yield console, full


def test_no_role_or_scope_gets_through_without_the_permission(everyone) -> None:
    console, app = everyone
    routes = [(r, p) for r in api_routes(app) for p in declared(r) if p]
    assert routes
    clients = {role: console.login(role) for role in ROLES}
    tokens = {role: csrf_of(clients[role].get("/account").text) for role in ROLES}
    keys = {scope: create_key(console.ws.engine, f"k-{scope}", [scope], actor="test")[1] for scope in SCOPES}
    anonymous = console.client()
    leaks: list[str] = []
    checked = 0
    for route, permission in routes:
        path = concrete(route.path)
        for method in sorted(route.methods - {"HEAD"}):
            answer = anonymous.request(method, path, headers=PROTOCOL_HEADERS)
            if answer.status_code not in (401, 303, 403):
                leaks.append(f"anonymous {method} {path} -> {answer.status_code}")
            for role in ROLES:
                if permission in ROLE_PERMISSIONS[role]:
                    continue
                answer = clients[role].request(method, path, headers={**PROTOCOL_HEADERS, "x-csrf-token": tokens[role]})
                checked += 1
                if answer.status_code != 403 or permission not in answer.text:
                    leaks.append(f"role {role}: {method} {path} needs {permission} -> {answer.status_code}")
            for scope, key in keys.items():
                if permission in SCOPE_PERMISSIONS[scope]:
                    continue
                answer = anonymous.request(method, path, headers={**PROTOCOL_HEADERS, "authorization": f"Bearer {key}"})
                checked += 1
                if answer.status_code != 403:
                    leaks.append(f"key {scope}: {method} {path} needs {permission} -> {answer.status_code}")
    assert not leaks, "\n".join(leaks)
    assert checked > 50


def _pages(app: FastAPI) -> list[str]:
    return [r.path for r in api_routes(app) if "GET" in r.methods
            and not r.path.startswith(("/api/", "/xapi", "/healthz", "/metrics")) and "{" not in r.path
            and None not in declared(r)]


def _permission_of(app: FastAPI, method: str, path: str) -> str | None:
    for route in api_routes(app):
        if method in route.methods and route.path_regex.match(path):
            permissions = [p for p in declared(route) if p]
            return permissions[0] if permissions else None
    raise AssertionError(f"a form posts to {method} {path}, which no route answers")


def test_pages_show_only_buttons_the_viewer_may_use(everyone) -> None:
    console, app = everyone
    console.ws.settings.tasks["quarterly-drill"] = TaskOverride(checks=[])  # the real drill takes minutes
    sync_tasks(console.ws.engine, console.ws.settings)
    run_task(console.ws.engine, console.ws.settings, "quarterly-drill")  # a run waiting for sign-off
    pages = _pages(app) + ["/runs/1"]
    problems = []
    for role in ROLES:
        client = console.login(role)
        for page in pages:
            answer = client.get(page)
            if answer.status_code == 403:
                continue
            assert answer.status_code == 200, f"{role} {page}: {answer.status_code}"
            for action in FORM.findall(answer.text):
                permission = _permission_of(app, "POST", action.split("?")[0])
                if permission and permission not in ROLE_PERMISSIONS[role]:
                    problems.append(f"{role} sees a form posting to {action} (needs {permission}) on {page}")
    assert not problems, "\n".join(problems)
    ops_calendar = console.login("ops").get("/calendar").text
    assert "/calendar/daily-inspection/run" in ops_calendar  # the check above can fail: ops does see it


def test_account_routes_and_logout_refuse_every_api_key(sqlite_console) -> None:
    """A key (even an admin-scoped one) cannot change an account, end sessions or log out: those are a person's."""
    app = create_app(sqlite_console.ws)
    user_only = [r for r in api_routes(app)
                 if any(getattr(d.call, "user_only", False) for d in r.dependant.dependencies)]
    assert {"/logout", "/account/password", "/account/timezone", "/account/totp"} <= {r.path for r in user_only}
    key = create_key(sqlite_console.ws.engine, "k-admin", list(SCOPES), actor="test")[1]
    client = sqlite_console.client()
    wrong = []
    for route in user_only:
        for method in sorted(route.methods - {"HEAD"}):
            answer = client.request(method, concrete(route.path), headers={"authorization": f"Bearer {key}"})
            if answer.status_code != 403:
                wrong.append(f"{method} {route.path} -> {answer.status_code}")
    assert not wrong, wrong
