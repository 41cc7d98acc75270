"""Every whole-number parameter of every route has the supported range, so 2^63 in an {id} or an
offset is a 4xx naming the parameter, never an overflow in a query."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, _iter_included_route_candidates
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.core.values import MAX_INT
from eduops.core.workspace import Workspace
from eduops.web.app import create_app

ADMIN = Principal(name="root", kind="user", role="admin", extra={"csrf_token": "t"})


def _params(dependant: Any) -> list[Any]:
    found = list(dependant.path_params) + list(dependant.query_params)
    for sub in dependant.dependencies:
        found += _params(sub)
    return found


def _bounds(field: Any) -> tuple[Any, Any]:
    lo = hi = None
    for meta in field.field_info.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
        hi = getattr(meta, "lt", None) if getattr(meta, "lt", None) is not None else hi
    return lo, hi


def test_every_integer_parameter_is_bounded(sqlite_ws: Workspace) -> None:
    app = create_app(sqlite_ws)
    unbounded = []
    for route in _iter_included_route_candidates(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for field in _params(route.dependant):
            if field.field_info.annotation in (int, int | None):
                lo, hi = _bounds(field)
                if lo is None or hi is None or hi > MAX_INT:
                    unbounded.append(f"{route.path} {field.name}")
    assert not unbounded, "give these a range (eduops.core.params.Id or Query(ge=, le=)):\n" + "\n".join(unbounded)


@pytest.fixture
def client(sqlite_ws: Workspace) -> TestClient:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: ADMIN
    return TestClient(app, raise_server_exceptions=False)


def test_every_id_route_answers_2_to_the_63_with_4xx(client: TestClient) -> None:
    """Every route with an {..._id} segment, called with 2^63 (and -1): a 4xx naming the segment."""
    answers = []
    for route in _iter_included_route_candidates(client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or "_id}" not in route.path:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            for value in (str(2**63), str(10**30)):
                path = route.path
                for field in route.dependant.path_params:
                    path = path.replace("{" + field.name + "}", value if field.name.endswith("_id") else "x")
                answer = client.request(method, path, headers={"x-csrf-token": "t"})
                answers.append((method, path, answer.status_code, answer.text[:200]))
    assert answers
    wrong = [a for a in answers if not 400 <= a[2] < 500]
    assert not wrong, wrong
    named = [a for a in answers if a[2] == 422 and "_id" not in a[3] and "id" not in a[3]]
    assert not named, named
