"""The xAPI document resources over HTTP: /xapi/activities/state, /xapi/activities/profile,
/xapi/agents/profile, /xapi/agents (Person) and /xapi/activities (the merged definition).

Who may: State documents need ``xapi:state`` (API-key scopes ``xapi:state`` and ``ingest:xapi``: the
learning content saves its state), profile documents ``ingest:xapi``, the Agents and Activities
resources ``read``. Routes parse and check parameters, then call ``documents`` / ``activities``.
The three document routes are normally answered by ``documents_asgi.DocumentsFastPath`` (the same
``check_version`` and ``answer``, without FastAPI's routing and dependency injection); they stay declared
here for the OpenAPI document and the route × permission test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from eduops.analytics import activities, documents
from eduops.analytics.documents import Conditions, DocumentRef
from eduops.analytics.extract import agent_ifi
from eduops.analytics.store import events_settings
from eduops.analytics.xapi import check_agent, check_iri, check_uuid, check_version_header, parse_timestamp
from eduops.core.bodies import read_body
from eduops.core.principal import Principal, require
from eduops.errors import NotFound, UsageError

router = APIRouter(prefix="/xapi", tags=["xapi"])
R = TypeVar("R")

# resource path -> (kind, document id parameter, required scope parameters)
RESOURCES = {
    "state": ("state", "stateId", ("activityId", "agent")),
    "activity_profile": ("activity_profile", "profileId", ("activityId",)),
    "agent_profile": ("agent_profile", "profileId", ("agent",)),
}


def check_version(request: Request) -> None:
    check_version_header(request.headers.get("X-Experience-API-Version"))


def parse_agent(raw: str) -> dict[str, Any]:
    try:
        agent = json.loads(raw)
    except ValueError:
        raise UsageError("agent: must be an Agent as JSON, e.g. {\"mbox\": \"mailto:learner@example.com\"}") from None
    check_agent(agent, "agent")
    return agent  # type: ignore[no-any-return]


def parse_params(resource: str, params: dict[str, str], method: str) -> tuple[DocumentRef, datetime | None]:
    """The document a request addresses, checked; ``since`` for a multiple-document GET."""
    kind, id_name, required = RESOURCES[resource]
    allowed = {*required, id_name, "since"} | ({"registration"} if kind == "state" else set())
    for name in params:
        if name not in allowed:
            raise UsageError(f"{name}: not a parameter of this resource (it takes {', '.join(sorted(allowed))})")
    for name in required:
        if not params.get(name):
            raise UsageError(f"{name}: required")
    doc_id = params.get(id_name)
    if method in ("PUT", "POST") and not doc_id:
        raise UsageError(f"{id_name}: required to {method} a document")
    if kind != "state" and method == "DELETE" and not doc_id:
        raise UsageError(f"{id_name}: required to DELETE a profile document")
    since = None
    if "since" in params:
        if method != "GET" or doc_id is not None:
            raise UsageError("since: only with a GET of the document ids (without " + id_name + ")")
        since = parse_timestamp(params["since"], "since")
    activity_id = check_iri(params["activityId"], "activityId") if "activityId" in params else ""
    agent = agent_ifi(parse_agent(params["agent"])) if "agent" in params else ""
    registration = check_uuid(params["registration"], "registration").lower() if "registration" in params else ""
    ref = DocumentRef(kind, activity_id, agent, registration, doc_id or "")
    return ref, since


def conditions_of(request: Request) -> Conditions:
    return Conditions(documents.parse_etags(request.headers.get("if-match"), "If-Match"),
                      documents.parse_etags(request.headers.get("if-none-match"), "If-None-Match"))


async def _content(request: Request) -> tuple[bytes, str]:
    limit = getattr(request.app.state, "xapi_document_limit", None)
    if limit is None:  # read once per app: eduops.toml is not re-read while serving
        limit = request.app.state.xapi_document_limit = events_settings(
            request.app.state.workspace.settings).max_document_bytes
    body = await read_body(request, limit, "the document (events.max_document_bytes)")
    return body, request.headers.get("content-type") or documents.DEFAULT_TYPE


async def in_thread(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` on the event loop's thread pool: a plain executor hand-off, a fraction of the cost of
    anyio's ``run_in_threadpool`` (no cancel scope, no capacity limiter), so a slow or locked database never
    stalls the other requests."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def read(engine: Engine, fn: Callable[..., R], *args: Any) -> R:
    """A read of the document table: at once on SQLite, where in WAL mode a reader never waits for a
    writer and the read costs less than the hand-off to a thread; in a thread on a database server."""
    if engine.dialect.name == "sqlite":
        return fn(engine, *args)
    return await in_thread(fn, engine, *args)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _etag_header(etag: str) -> dict[str, str]:
    return {"ETag": f'"{etag}"'}


async def answer(request: Request, resource: str) -> Response:
    engine = request.app.state.workspace.engine
    method = request.method
    ref, since = parse_params(resource, dict(request.query_params), method)
    conditions = conditions_of(request)
    now = datetime.now(UTC)
    if method == "GET":
        if not ref.doc_id:
            registration = ref.registration or None
            found = await read(engine, documents.ids, ref, since, registration)
            body = documents.ids_json(found)
            return Response(body, media_type="application/json",
                            headers={**_etag_header(documents.etag_of(body)), "Last-Modified": _http_date(now)})
        doc = await read(engine, documents.get, ref)
        if doc is None:
            raise NotFound(f"no document {ref.doc_id!r} here")
        return Response(doc.content, headers={"Content-Type": doc.content_type, **_etag_header(doc.etag),
                                              "Last-Modified": _http_date(doc.updated)})
    if method == "DELETE":
        if ref.doc_id:
            await in_thread(documents.delete, engine, ref, conditions)
        else:
            await in_thread(documents.delete_all, engine, ref, ref.registration or None)
        return Response(status_code=204)
    content, content_type = await _content(request)
    write = documents.put if method == "PUT" else documents.post
    etag = await in_thread(write, engine, ref, content, content_type, conditions, now)
    return Response(status_code=204, headers=_etag_header(etag))


STATE = "/activities/state"
ACTIVITY_PROFILE = "/activities/profile"
AGENT_PROFILE = "/agents/profile"
METHODS = ["GET", "PUT", "POST", "DELETE"]


async def state(request: Request, _: Principal = Depends(require("xapi:state"))) -> Response:
    """A State document (stateId), the ids of many (GET without stateId), or DELETE of all."""
    return await answer(request, "state")


async def activity_profile(request: Request, _: Principal = Depends(require("ingest:xapi"))) -> Response:
    """An Activity Profile document (profileId), or the ids of an activity's profiles."""
    return await answer(request, "activity_profile")


async def agent_profile(request: Request, _: Principal = Depends(require("ingest:xapi"))) -> Response:
    """An Agent Profile document (profileId), or the ids of an agent's profiles."""
    return await answer(request, "agent_profile")


# one route per method, so each OpenAPI operation has its own operationId (the spec requires them unique)
for _path, _endpoint in ((STATE, state), (ACTIVITY_PROFILE, activity_profile), (AGENT_PROFILE, agent_profile)):
    for _method in METHODS:
        router.add_api_route(_path, _endpoint, methods=[_method], dependencies=[Depends(check_version)],
                             operation_id=f"xapi_{_endpoint.__name__}_{_method.lower()}")


def _only(params: dict[str, str], name: str) -> str:
    extra = sorted(set(params) - {name})
    if extra:
        raise UsageError(f"{', '.join(extra)}: not a parameter of this resource (it takes {name})")
    if not params.get(name):
        raise UsageError(f"{name}: required")
    return params[name]


@router.get("/agents", dependencies=[Depends(check_version)])
def agents(request: Request, _: Principal = Depends(require("read"))) -> Response:
    """The Person object for an agent: its identifier and name, as arrays."""
    agent = parse_agent(_only(dict(request.query_params), "agent"))
    body = orjson.dumps(activities.person_of(agent))
    return Response(body, media_type="application/json", headers=_etag_header(documents.etag_of(body)))


@router.get("/activities", dependencies=[Depends(check_version)])
def activity(request: Request, _: Principal = Depends(require("read"))) -> Response:
    """The Activity with its definition as merged from the statements received."""
    activity_id = check_iri(_only(dict(request.query_params), "activityId"), "activityId")
    body = orjson.dumps(activities.activity_object(request.app.state.workspace.engine, activity_id))
    return Response(body, media_type="application/json", headers=_etag_header(documents.etag_of(body)))
