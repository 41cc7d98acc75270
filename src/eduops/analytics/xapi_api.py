"""The xAPI 1.0.3 statements resource at /xapi: POST, PUT and GET, plus /xapi/about.

Every request must carry X-Experience-API-Version and every answer carries it back (``xapi_http``
adds it, with HEAD and the Alternate Request Syntax). Writes need the ``ingest:xapi`` permission,
reads ``read``. The document resources are in ``documents_api``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from eduops.analytics import activities, attachments, ingest_pool, lrs, signatures
from eduops.analytics.documents_api import in_thread
from eduops.analytics.remote import RemoteStore
from eduops.analytics.store import DuckDBStore, Store, events_settings, open_store
from eduops.analytics.xapi import VERSION, check_uuid, check_version_header
from eduops.core.bodies import check_declared_length, read_body
from eduops.core.principal import Principal, require
from eduops.errors import PayloadTooLarge, UsageError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/xapi", tags=["xapi"])
MAX_BODY_BYTES = 64 * 1024 * 1024
VERSION_HEADER = "X-Experience-API-Version"


def _store(request: Request) -> Store:
    return open_store(request.app.state.workspace.settings)


def version_required(request: Request) -> None:
    check_version_header(request.headers.get(VERSION_HEADER))


def authority_of(request: Request, principal: Principal) -> dict[str, Any]:
    """The LRS vouches for statements with the identity of the API key or user that sent them."""
    home = request.app.state.workspace.settings.base_url
    return {"objectType": "Agent", "account": {"homePage": home, "name": principal.name}}


async def _body(request: Request) -> tuple[bytes, str | None]:
    """The request body once its size and Content-Type are acceptable (parsed off the event loop).

    Returns the body and, for multipart/mixed (statements with attachment contents), its boundary.
    """
    header = request.headers.get("content-type", "application/json")
    ctype = header.split(";")[0].strip().lower()
    boundary = None
    if ctype == "multipart/mixed":
        boundary = attachments.boundary_of(header)
    elif ctype not in ("application/json", ""):
        raise UsageError(f"Content-Type {ctype!r}: statements are sent as application/json, or as multipart/mixed "
                         "with attachment contents")
    check_declared_length(request, MAX_BODY_BYTES, "the statements")
    return await read_body(request, MAX_BODY_BYTES, "the statements"), boundary


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"the body is not valid JSON (UTF-8, numbers within 64 bits): {exc}") from None


def _parse(body: bytes, boundary: str | None) -> tuple[Any, attachments.Parts]:
    """The statements' JSON and the attachment parts (none unless the body is multipart/mixed)."""
    if boundary is None:
        return parse_json(body), {}
    json_bytes, parts = attachments.parse_multipart(body, boundary)
    return parse_json(json_bytes), parts


def _keep_contents(statements: list[Any], parts: attachments.Parts, home: Path) -> None:
    """Check the statements, their parts and signatures, then store the contents: before any statement is
    stored, so an acknowledged statement never refers to content the LRS does not hold."""
    with_attachments = any(isinstance(s, dict) and s.get("attachments") for s in statements)
    if not parts and not with_attachments:
        return
    lrs.validate_batch(statements, contents=parts.keys())
    signatures.check_signed(statements, parts)
    if parts:
        attachments.check_parts(statements, parts)
        attachments.save(home, parts)


def _post(store: Store, body: bytes, boundary: str | None, limit: int, authority: dict[str, Any],
          home: Path, engine: Engine) -> list[str]:
    """Parse, validate and store in a worker thread; the event loop only moves bytes."""
    if boundary is None and (ids := _post_prepared(store, body, limit, authority, engine)) is not None:
        return ids
    parsed, parts = _parse(body, boundary)
    statements = parsed if isinstance(parsed, list) else [parsed]
    if len(statements) > limit:
        raise PayloadTooLarge(f"{len(statements)} statements in one request; at most {limit} (events.max_batch)")
    if statements:
        _keep_contents(statements, parts, home)
    ids = lrs.store_statements(store, statements, authority, contents=parts.keys())
    _remember_activities(engine, activities.definitions_of(statements))
    return ids


def _post_prepared(store: Store, body: bytes, limit: int, authority: dict[str, Any],
                   engine: Engine) -> list[str] | None:
    """The batch through an ingest helper process (``ingest_pool``), when `eduops serve` runs them and the helper
    could take it whole, or, on a serving worker without the store, prepared here and journalled by the worker that
    holds it; None: the exact path decides (nothing is stored then)."""
    if isinstance(store, RemoteStore):  # a serving worker without the store: this process is the helper
        prepared = ingest_pool.prepare_batch(body, authority, lrs.iso(datetime.now(UTC)), limit,
                                             store.course_prefixes)
        if prepared is None or not store.insert_prepared(prepared.stream()):
            return None
    else:
        pool = ingest_pool.active()
        if pool is None or not pool.takes(body) or not isinstance(store, DuckDBStore):
            return None
        prepared = pool.prepare(body, authority, limit, store.course_prefixes)
        if prepared is None or not store.insert_table(prepared.ids, prepared.table(), prepared.journal):
            return None
    _remember_activities(engine, prepared.definitions)
    return prepared.ids


def _remember_activities(engine: Engine, definitions: dict[str, dict[str, Any]]) -> None:
    """Merge the activity definitions (``activities.definitions_of``) into the Activities resource. The statements
    are stored already and the definitions are derived from them, so a state database that fails here is logged,
    not answered."""
    try:
        activities.remember_definitions(engine, definitions, datetime.now(UTC))
    except SQLAlchemyError as exc:
        log.warning("activity definitions not merged (state database): %s", exc)


def _put(store: Store, statement_id: str, body: bytes, boundary: str | None, authority: dict[str, Any],
         home: Path, engine: Engine) -> None:
    check_uuid(statement_id, "statementId")
    statement, parts = _parse(body, boundary)
    if isinstance(statement, dict):
        _keep_contents([statement], parts, home)
    lrs.put_statement(store, statement_id, statement, authority, contents=parts.keys())
    _remember_activities(engine, activities.definitions_of([statement]))


def _home(request: Request) -> Path:
    return Path(request.app.state.workspace.settings.home)


@router.get("/about")
def about(request: Request) -> dict[str, Any]:
    """Which xAPI versions this LRS speaks (no authentication, as the specification allows)."""
    return {"version": [VERSION, "1.0.2", "1.0.1", "1.0.0"], "extensions": {}}


@router.post("/statements", dependencies=[Depends(version_required)])
async def post_statements(request: Request, who: Principal = Depends(require("ingest:xapi"))) -> Response:
    """Store one statement or an array of them, all or nothing; answers with their ids."""
    return await post_answer(request, who)


async def post_answer(request: Request, who: Principal) -> Response:
    """POST /xapi/statements once version and caller are checked (the route, or ``statements_asgi``'s thin path)."""
    body, boundary = await _body(request)
    limit = events_settings(request.app.state.workspace.settings).max_batch
    ids = await in_thread(_post, _store(request), body, boundary, limit, authority_of(request, who),
                          _home(request), request.app.state.workspace.engine)
    return Response(orjson.dumps(ids), media_type="application/json")


@router.put("/statements", status_code=204, dependencies=[Depends(version_required)])
async def put_statement(request: Request, who: Principal = Depends(require("ingest:xapi"))) -> Response:
    """Store one statement under the id given as ``statementId``."""
    statement_id = request.query_params.get("statementId")
    if not statement_id:
        raise UsageError("statementId: PUT needs the statementId query parameter")
    body, boundary = await _body(request)
    await in_thread(_put, _store(request), statement_id, body, boundary, authority_of(request, who),
                    _home(request), request.app.state.workspace.engine)
    return Response(status_code=204)


def _http_date(moment: datetime | None) -> str:
    return format_datetime((moment or datetime.now(UTC)).astimezone(UTC), usegmt=True)


def _languages(request: Request) -> list[str]:
    return [p.split(";")[0].strip() for p in request.headers.get("accept-language", "").split(",") if p.strip()]


def _shape(statement: dict[str, Any], fmt: str, request: Request) -> dict[str, Any]:
    if fmt == "ids":
        return lrs.ids_format(statement)
    if fmt == "canonical":
        return lrs.canonical_format(statement, _languages(request))  # type: ignore[no-any-return]
    return statement


@router.get("/statements", dependencies=[Depends(version_required)])
def get_statements(request: Request, _: Principal = Depends(require("read"))) -> Response:
    """One statement by statementId / voidedStatementId, or a filtered page with a ``more`` link."""
    params = dict(request.query_params)
    store = _store(request)
    now = datetime.now(UTC)
    single = [k for k in ("statementId", "voidedStatementId") if k in params]
    if single:
        if len(single) > 1:
            raise UsageError("statementId and voidedStatementId cannot be used together")
        extra = set(params) - {single[0], "format", "attachments"}
        if extra:
            raise UsageError(f"{', '.join(sorted(extra))}: not allowed together with {single[0]}")
        fmt = lrs.parse_query({k: v for k, v in params.items() if k != single[0]}).format
        statement, stored = lrs.get_statement(store, params[single[0]], voided=single[0] == "voidedStatementId")
        return _answer(request, _shape(statement, fmt, request), [statement], {
            "Last-Modified": _http_date(stored), "X-Experience-API-Consistent-Through": lrs.iso(now)})
    query = lrs.parse_query(params)
    raws, more, cursor, newest = lrs.query_raw(store, query)
    more_link = ""
    if more:
        more_link = "/xapi/statements?" + urlencode({**{k: v for k, v in params.items() if k != "cursor"},
                                                     "cursor": str(cursor)})
    headers = {"Last-Modified": _http_date(newest or now), "X-Experience-API-Consistent-Through": lrs.iso(now)}
    if query.format == "exact" and params.get("attachments") != "true":  # the statements as stored, unparsed
        body = (b'{"statements":[' + ",".join(raws).encode() + b'],"more":' + orjson.dumps(more_link) + b"}")
        return Response(body, media_type="application/json", headers=headers)
    statements = [json.loads(r) for r in raws]  # json: integers beyond 64 bits stay exact
    payload = {"statements": [_shape(s, query.format, request) for s in statements], "more": more_link}
    return _answer(request, payload, statements, headers)


def _answer(request: Request, payload: Any, statements: list[dict[str, Any]], headers: dict[str, str]) -> Response:
    """JSON, or with ``attachments=true`` multipart/mixed: the JSON, then the attachment contents held."""
    if request.query_params.get("attachments") != "true":
        return JSONResponse(payload, headers=headers)
    held = attachments.held_contents(_home(request), statements)
    body, boundary = attachments.build_multipart(orjson.dumps(payload), held)
    return Response(body, media_type=f"multipart/mixed; boundary={boundary}", headers=headers)
