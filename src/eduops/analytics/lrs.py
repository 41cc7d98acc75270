"""The learning record store: storing, fetching and querying statements the way xAPI 1.0.3 says.

Batches are all-or-nothing; a known id with the same statement is accepted again (idempotent), with a
different one it is a 409; ``stored`` and ``authority`` are always set here. Voided statements leave
every query but stay retrievable by ``voidedStatementId``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eduops.analytics import activities, extract, fastpath, postings
from eduops.analytics.remote import RemoteStore
from eduops.analytics.store import DuckDBStore, DuplicateIds, Store, row_values
from eduops.analytics.xapi import (
    StatementInvalid,
    check_actor,
    check_iri,
    check_uuid,
    parse_timestamp,
    validate_statement,
)
from eduops.errors import Conflict, NotFound, UsageError

PAGE_MAX = 500
IGNORED_IN_COMPARISON = ("authority", "stored", "timestamp", "version")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prepare(statement: dict[str, Any], authority: dict[str, Any], now: datetime | str) -> dict[str, Any]:
    """Set what the LRS owns: id (if missing), stored, authority, version and a missing timestamp.

    ``now`` may be given already formatted (``iso``), as a batch does once for all its statements.
    """
    prepared = dict(statement)
    prepared["id"] = str(prepared.get("id") or uuid.uuid4()).lower()
    prepared["stored"] = now if isinstance(now, str) else iso(now)
    prepared["authority"] = authority
    prepared.setdefault("version", "1.0.0")
    prepared.setdefault("timestamp", prepared["stored"])
    _context_activities_as_lists(prepared)
    obj = prepared["object"]
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        prepared["object"] = obj = dict(obj)
        _context_activities_as_lists(obj)
    return prepared


def _context_activities_as_lists(part: dict[str, Any]) -> None:
    """A single context activity (an object) is kept as an array of one, as Data 2.4.6.2 says."""
    groups = (part.get("context") or {}).get("contextActivities")
    if not groups or all(isinstance(v, list) for v in groups.values()):
        return
    part["context"] = {**part["context"],
                       "contextActivities": {k: v if isinstance(v, list) else [v] for k, v in groups.items()}}


def comparable(statement: dict[str, Any]) -> str:
    """Statements are the same when they differ only in what the LRS or the clock sets."""
    trimmed = {k: v for k, v in statement.items() if k not in IGNORED_IN_COMPARISON}
    trimmed["id"] = str(trimmed.get("id", "")).lower()
    return json.dumps(trimmed, sort_keys=True, ensure_ascii=False)


def validate_batch(statements: list[Any], label: str = "statements", contents: Collection[str] = ()) -> None:
    """Validate every statement; ``contents`` are the hashes of attachment parts sent with them."""
    for i, statement in enumerate(statements):
        try:
            validate_statement(statement, contents)
        except StatementInvalid as exc:
            raise StatementInvalid(f"{label}[{i}].{exc.field}" if len(statements) > 1 else exc.field,
                                   exc.rule) from None


def prepared_rows(statements: list[Any], authority: dict[str, Any], stored_at: str,
                  contents: Collection[str] = ()) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validate a batch, then each statement as stored (``prepare``, one ``stored`` time for all) and its row."""
    validate_batch(statements, contents=contents)
    prepared = [prepare(s, authority, stored_at) for s in statements]
    ids = [p["id"] for p in prepared]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UsageError(f"statements: the id {dup} appears twice in one batch")
    stored = parse_timestamp(stored_at, "stored")
    return prepared, [extract.to_row(p, stored) for p in prepared]


def batch_values(statements: list[Any], authority: dict[str, Any], stored_at: str,
                 definitions: dict[str, dict[str, Any]] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``prepared_rows`` for a batch without attachments, as (ids, each row's values in ``fastpath.FIELDS``
    order): statements of the common shape through ``fastpath`` (compiled), the others as ``prepared_rows``
    takes them. Raises as ``prepared_rows`` does, though with the first invalid statement's own message (the
    caller takes the exact path for the batch's). When ``definitions`` is given, it receives
    ``activities.definitions_of(statements)``, gathered on the way."""
    fast = fastpath.compiled()
    authority_ifi = extract.agent_ifi(authority) if isinstance(authority, dict) else None
    stored = parse_timestamp(stored_at, "stored")
    naive_stored = stored.replace(tzinfo=None)
    ids: list[str] = []
    rows: list[tuple[Any, ...]] = []
    every_one_fast = True
    for statement in statements:
        values = (fast.values(statement, authority, authority_ifi, stored_at, naive_stored, definitions)
                  if authority_ifi is not None else None)
        if values is None:
            every_one_fast = False
            values = row_values(extract.to_row(prepare(validate_statement(statement), authority, stored_at), stored))
        ids.append(values[0])
        rows.append(values)
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UsageError(f"statements: the id {dup} appears twice in one batch")
    if definitions is not None and not every_one_fast:  # merged in statement order across both paths
        definitions.clear()
        definitions.update(activities.definitions_of(statements))
    return ids, rows


def store_statements(store: Store, statements: list[Any], authority: dict[str, Any],
                     now: datetime | None = None, contents: Collection[str] = ()) -> list[str]:
    """Validate and store a batch atomically; return the ids in order.

    ``contents``: the sha2 hashes of attachment contents that came with the batch (multipart/mixed) and
    are stored already; an attachment without ``fileUrl`` must be one of them.
    """
    if not statements:
        raise UsageError("no statements: send a statement object or a non-empty array")
    if isinstance(store, RemoteStore):  # the server holds the store: its LRS stores them (durably) and answers
        return store.store_statements(statements, authority, contents)
    prepared, rows = prepared_rows(statements, authority, iso(now or datetime.now(UTC)), contents)
    ids = [p["id"] for p in prepared]
    voidings = _voidings(rows)
    if not voidings:
        try:  # the common case: new statements, committed together with other requests' (group commit)
            store.insert(rows, [])
            return ids
        except DuplicateIds:
            pass
    with store.writing():
        _check_void_targets(store, rows)
        try:
            store.insert(rows, voidings)
        except DuplicateIds:
            fresh = _drop_known(store, prepared, rows)
            if fresh:
                store.insert(fresh, _voidings(fresh))
    return ids


def _voidings(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["voids"], r["id"]) for r in rows if r["voids"]]


def _check_void_targets(store: Store, rows: list[dict[str, Any]]) -> None:
    targets = {r["voids"]: r for r in rows if r["voids"]}
    if not targets:
        return
    d = store.dialect
    voiding_in_batch = {r["id"] for r in rows if r["voids"]}
    known = store.query("SELECT CAST(id AS VARCHAR) FROM statements "
                        f"WHERE voids IS NOT NULL AND id IN {d.in_list(list(targets))}")
    for target in voiding_in_batch.intersection(targets) | {row[0] for row in known}:
        raise UsageError(f"object.id: statement {target} is itself a voiding statement and cannot be voided")


def _drop_known(store: Store, prepared: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids stored already: the same statement again is fine, a different one is a 409."""
    d = store.dialect
    ids = [p["id"] for p in prepared]
    stored = store.query(f"SELECT CAST(id AS VARCHAR), raw FROM statements WHERE id IN {d.in_list(ids)}")
    existing = {i: json.loads(raw) for i, raw in stored}
    for statement in prepared:
        old = existing.get(statement["id"])
        if old is not None and comparable(old) != comparable(statement):
            raise Conflict(f"statement {statement['id']} exists already with different content")
    return [r for r in rows if r["id"] not in existing]


def put_statement(store: Store, statement_id: str, statement: Any, authority: dict[str, Any],
                  contents: Collection[str] = ()) -> None:
    """PUT /statements?statementId=…: the id in the query and in the body must agree."""
    check_uuid(statement_id, "statementId")
    if not isinstance(statement, dict):
        raise StatementInvalid("statement", "PUT takes a single statement object")
    if "id" in statement and str(statement["id"]).lower() != statement_id.lower():
        raise StatementInvalid("id", f"does not match the statementId parameter {statement_id}")
    store_statements(store, [{**statement, "id": statement_id.lower()}], authority, contents=contents)


def get_statement(store: Store, statement_id: str, voided: bool) -> tuple[dict[str, Any], datetime]:
    """By statementId (must not be voided) or voidedStatementId (must be voided)."""
    name = "voidedStatementId" if voided else "statementId"
    check_uuid(statement_id, name)
    d = store.dialect
    rows = store.query(f"SELECT raw, stored, voided FROM statements WHERE id = {d.lit(statement_id.lower())}")
    if not rows or bool(rows[0][2]) != voided:
        raise NotFound(f"no {'voided ' if voided else ''}statement with id {statement_id}")
    return json.loads(rows[0][0]), rows[0][1].replace(tzinfo=UTC)


@dataclass
class StatementQuery:
    agent: dict[str, Any] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 0
    format: str = "exact"
    ascending: bool = False
    cursor: int | None = None


def parse_query(params: dict[str, str]) -> StatementQuery:
    """The filter parameters of GET /statements, each checked; a bad one is a 400 naming it."""
    known = {"agent", "verb", "activity", "registration", "related_activities", "related_agents", "since", "until",
             "limit", "format", "ascending", "attachments", "cursor"}
    for key in params:
        if key not in known:
            raise UsageError(f"{key}: not a statements query parameter")
    q = StatementQuery()
    if "agent" in params:
        try:
            agent = json.loads(params["agent"])
        except ValueError:
            raise UsageError("agent: must be an Agent or Group as JSON") from None
        check_actor(agent, "agent")
        q.agent = agent
    if "verb" in params:
        q.verb = check_iri(params["verb"], "verb")
    if "activity" in params:
        q.activity = check_iri(params["activity"], "activity")
    if "registration" in params:
        q.registration = check_uuid(params["registration"], "registration").lower()
    for key in ("related_activities", "related_agents", "ascending", "attachments"):
        if key in params:
            if params[key] not in ("true", "false"):
                raise UsageError(f"{key}: must be true or false")
            if key != "attachments":
                setattr(q, key, params[key] == "true")
    for key in ("since", "until"):
        if key in params:
            setattr(q, key, parse_timestamp(params[key], key))
    for key in ("limit", "cursor"):
        if key in params:
            if not params[key].isdigit() or len(params[key]) > 18:
                raise UsageError(f"{key}: must be a non-negative integer below 10^18")
            setattr(q, key, int(params[key]))
    if "format" in params:
        if params["format"] not in ("ids", "exact", "canonical"):
            raise UsageError("format: must be ids, exact or canonical")
        q.format = params["format"]
    return q


def query_statements(store: Store, q: StatementQuery) -> tuple[list[dict[str, Any]], bool, int | None, datetime | None]:
    """Matching statements (voided ones left out), whether there are more, the cursor and the newest stored."""
    raws, more, cursor, newest = query_raw(store, q)
    return [json.loads(r) for r in raws], more, cursor, newest  # json: integers beyond 64 bits stay exact


def query_raw(store: Store, q: StatementQuery) -> tuple[list[str], bool, int | None, datetime | None]:
    """``query_statements`` with each statement as its stored JSON text (an exact answer needs no parsing)."""
    d = store.dialect
    matching = _filters(q, d)
    bounds = []
    if q.since:
        bounds.append(f"stored > {d.lit(q.since.replace(tzinfo=None))}")
    if q.until:
        bounds.append(f"stored <= {d.lit(q.until.replace(tzinfo=None))}")
    limit = PAGE_MAX if q.limit == 0 else min(q.limit, PAGE_MAX)
    rows = None
    if matching and isinstance(store, DuckDBStore):
        rows = _query_posted(store, q, " AND ".join(matching), bounds, limit)
    if rows is None:
        rows = _query_scanning(store, q, matching, bounds, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    newest = max((r[1] for r in rows), default=None)
    return [r[0] for r in rows], more, (rows[-1][2] if more else None), newest.replace(tzinfo=UTC) if newest else None


def _query_scanning(store: Store, q: StatementQuery, matching: list[str], bounds: list[str],
                    limit: int) -> list[tuple[Any, ...]]:
    """The query as one SQL statement over the whole table (ClickHouse sorts and skips by itself); ``bounds``
    may also narrow the statement numbers scanned."""
    where = ["NOT voided", *bounds]
    if matching:
        # statements matching the filters, and those that target a matching one (voided or not) through a
        # StatementRef, such as the voiding statement of a matched statement (Communication 2.1.3)
        matched = " AND ".join(matching)
        where.append(f"(({matched}) OR (object_type = 'StatementRef' AND LOWER(object_id) IN "
                     f"(SELECT CAST(id AS VARCHAR) FROM statements WHERE {matched})))")
    if q.cursor is not None:
        where.append(f"seq {'>' if q.ascending else '<'} {int(q.cursor)}")
    order = "ASC" if q.ascending else "DESC"
    return store.query(f"SELECT raw, stored, seq FROM statements WHERE {' AND '.join(where)} "
                       f"ORDER BY seq {order} LIMIT {limit + 1}")


def _query_posted(store: DuckDBStore, q: StatementQuery, matched: str, bounds: list[str],
                  limit: int) -> list[tuple[Any, ...]] | None:
    """The same answer as ``_query_scanning``, read through the postings (``postings.py``); None: cannot.

    While statements above ``through`` wait for their keys (a store being indexed after an upgrade), those are
    scanned: the newest come first in descending order, the oldest posted ones first in ascending order."""
    through, waiting = store.posted_through()
    if through is None:
        return None
    if not waiting:
        return _query_postings(store, q, matched, bounds, limit, through)
    above = _query_scanning(store, q, [matched], [*bounds, f"seq > {int(through)}"], limit)
    if not q.ascending and len(above) > limit:
        return above
    below = _query_postings(store, q, matched, [*bounds, f"seq <= {int(through)}"], limit, through)
    if below is None:
        return None
    return (below + above if q.ascending else above + below)[:limit + 1]


def _query_postings(store: DuckDBStore, q: StatementQuery, matched: str, bounds: list[str],
                    limit: int, through: int) -> list[tuple[Any, ...]] | None:
    """``_query_posted`` over the statements posted through ``through``."""
    keys = postings.driving_keys(extract.agent_ifi(q.agent) if q.agent is not None else None, q.related_agents,
                                 q.activity, q.related_activities, q.registration, q.verb)
    lookup = postings.Lookup(store.query, store.dialect.lit, keys, q.ascending, q.cursor, through)
    refs = _matching_refs(store, matched, lookup.refs) if lookup.refs else []
    if refs is None:
        return None

    def beyond(n: int, boundary: int | None) -> bool:
        return boundary is None or (n > boundary if q.ascending else n < boundary)

    refs = [r for r in refs if beyond(r, q.cursor)]
    want, chunk = limit + 1, limit + 1
    found: list[tuple[Any, ...]] = []
    after: int | None = None
    order = "ASC" if q.ascending else "DESC"
    extra = "".join(" AND " + b for b in bounds)
    while len(found) < want:
        numbers, last = lookup.next(after, chunk)
        end = None if last or not numbers else numbers[-1]
        # the StatementRefs that target a match, among the numbers this chunk spans
        with_refs = [r for r in refs if beyond(r, after) and (end is None or not beyond(r, end))]
        if numbers or with_refs:
            ref_part = f" OR seq IN {postings.in_list(with_refs)}" if with_refs else ""
            found.extend(store.query(
                f"{postings.read_numbers(numbers, with_refs)} SELECT raw, stored, seq FROM chosen "
                f"WHERE NOT voided AND (({matched}){ref_part}){extra} ORDER BY seq {order}"))
        if end is None:
            break
        after, chunk = end, min(4 * chunk, 20 * want)
    return found[:want]


def _matching_refs(store: DuckDBStore, matched: str, count: int) -> list[int] | None:
    """Numbers of live StatementRef statements whose target matches the filters; None when too many to list."""
    if count > postings.INDEX_MAX // 10:
        return None  # thousands of references: the scanning query finds them in one pass
    listed = store.query(f"SET SESSION index_scan_max_count = {count + 1}; SELECT seq FROM statement_keys WHERE h = "
                         + postings.key_hash(postings.REF_KEY, "", store.dialect.lit))
    if not listed:
        return []
    refs = store.query(f"SELECT seq, LOWER(object_id) FROM statements WHERE seq IN "
                       f"{postings.in_list([n for (n,) in listed])} AND NOT voided")
    targets = {t for _n, t in refs if _is_uuid(t)}
    if not targets:
        return []
    hits = {t for (t,) in store.query(f"SELECT CAST(id AS VARCHAR) FROM statements WHERE id IN "
                                      f"{store.dialect.in_list(sorted(targets))} AND ({matched})")}
    return sorted(n for n, t in refs if t in hits)


def _is_uuid(text: str | None) -> bool:
    try:
        return text is not None and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _filters(q: StatementQuery, d: Any) -> list[str]:
    """The SQL conditions of the filter parameters (agent, verb, activity, registration)."""
    where = []
    if q.agent is not None:
        column = "related_agents" if q.related_agents else "agents"
        where.append(f"{column} {d.like_contains(chr(10) + extract.agent_ifi(q.agent) + chr(10))}")
    if q.verb:
        where.append(f"verb_id = {d.lit(q.verb)}")
    if q.activity:
        if q.related_activities:
            where.append(f"related_activities {d.like_contains(chr(10) + q.activity + chr(10))}")
        else:
            where.append(f"object_id = {d.lit(q.activity)} AND object_type = 'Activity'")
    if q.registration:
        where.append(f"registration = {d.lit(q.registration)}")
    return where


def ids_format(statement: dict[str, Any]) -> dict[str, Any]:
    """format=ids: agents and groups reduced to their identifier, activities and verbs to their id."""

    def agent(a: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in a.items() if k in ("objectType", "mbox", "mbox_sha1sum", "openid", "account")}
        if "member" in a and not any(k in a for k in ("mbox", "mbox_sha1sum", "openid", "account")):
            kept["member"] = [agent(m) for m in a["member"]]
        return kept

    def obj(o: dict[str, Any]) -> dict[str, Any]:
        kind = o.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            return agent(o)
        if kind == "Activity":
            return {"objectType": "Activity", "id": o["id"]}
        if kind == "SubStatement":
            return body(o)
        return o

    def context(c: dict[str, Any]) -> dict[str, Any]:
        out = dict(c)
        for key in ("instructor", "team"):
            if isinstance(c.get(key), dict):
                out[key] = agent(c[key])
        groups = c.get("contextActivities")
        if isinstance(groups, dict):
            out["contextActivities"] = {k: [{"objectType": "Activity", "id": a["id"]} for a in v]
                                        for k, v in groups.items() if isinstance(v, list)}
        return out

    def body(part: dict[str, Any]) -> dict[str, Any]:
        out = dict(part)
        out["actor"] = agent(part["actor"])
        out["verb"] = {"id": part["verb"]["id"]}
        out["object"] = obj(part["object"])
        if isinstance(part.get("context"), dict):
            out["context"] = context(part["context"])
        if "authority" in out:
            out["authority"] = agent(out["authority"])
        return out

    return body(statement)


def canonical_format(value: Any, languages: list[str]) -> Any:
    """format=canonical: every language map keeps one entry, the best match for Accept-Language."""
    if isinstance(value, list):
        return [canonical_format(v, languages) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in ("display", "name", "description") and isinstance(item, dict) and item \
                and all(isinstance(v, str) for v in item.values()):
            matches = (t for lang in languages for t in item if t.lower().startswith(lang.lower()))
            chosen = next(matches, next(iter(item)))
            out[key] = {chosen: item[chosen]}
        elif key == "extensions":
            out[key] = item
        else:
            out[key] = canonical_format(item, languages)
    return out

