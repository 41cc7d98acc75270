"""The Activities resource (Communication 2.5): each Activity's definition, merged from the statements
that carried one, in the state database (``xapi_activities``).

Merging (``merge_definition``, a pure function): language maps (``name``, ``description``) and
``extensions`` keep every entry, the newer statement winning per key; other properties
(``type``, ``moreInfo``, ``interactionType``, the interaction lists) take the newer value.
Ingestion stays cheap: a definition this process has merged and stored already is not written again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from eduops.analytics.models import XapiActivity

MAPS = ("name", "description", "extensions")
T = cast(sa.Table, XapiActivity.__table__)
_KNOWN: dict[tuple[str, str], bytes] = {}  # (database, activity id) -> the merged definition stored (orjson)
_KNOWN_LIMIT = 50_000


def key_of(activity_id: str) -> str:
    return hashlib.sha256(activity_id.encode()).hexdigest()


def merge_definition(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` updated with ``new``: maps merged key by key, every other property replaced."""
    merged = dict(old)
    for name, value in new.items():
        if name in MAPS and isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def activities_in(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Activity of a (validated) statement that carries a definition: object, context activities,
    and the same inside a SubStatement."""
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity" and "definition" in obj:
        yield obj
    groups = (statement.get("context") or {}).get("contextActivities") or {}
    for name in ("parent", "grouping", "category", "other"):
        for activity in _as_list(groups.get(name)):
            if isinstance(activity, dict) and "definition" in activity:
                yield activity
    if kind == "SubStatement":
        yield from activities_in(obj)


def definitions_of(statements: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The definitions a batch carries, merged per activity id in statement order."""
    found: dict[str, dict[str, Any]] = {}
    for statement in statements:
        for activity in activities_in(statement):
            activity_id = str(activity["id"])
            known = found.get(activity_id)
            if known != activity["definition"]:  # the same definition again (a course in every statement) adds nothing
                found[activity_id] = merge_definition(known or {}, activity["definition"])
    return found


def remember(engine: Engine, statements: Iterable[dict[str, Any]], now: datetime) -> int:
    """Merge the batch's definitions into the stored ones; returns how many rows were written."""
    return remember_definitions(engine, definitions_of(statements), now)


def remember_definitions(engine: Engine, definitions: dict[str, dict[str, Any]], now: datetime) -> int:
    """``remember`` for definitions already gathered (``definitions_of``: an ingest helper gathers them)."""
    pending = {}
    database = str(engine.url)
    for activity_id, definition in definitions.items():
        known = _KNOWN.get((database, activity_id))
        if known is not None and orjson.dumps(merge_definition(orjson.loads(known), definition)) == known:
            continue
        pending[activity_id] = definition
    written = 0
    for activity_id, definition in pending.items():
        for _ in range(5):
            try:
                merged = _store(engine, activity_id, definition, now)
                break
            except IntegrityError:  # another writer created the row in between: merge into theirs
                continue
        else:
            continue
        written += 1
        if len(_KNOWN) >= _KNOWN_LIMIT:
            _KNOWN.clear()
        _KNOWN[(database, activity_id)] = orjson.dumps(merged)
    return written


def _store(engine: Engine, activity_id: str, definition: dict[str, Any], now: datetime) -> dict[str, Any]:
    key = key_of(activity_id)
    with engine.begin() as conn:
        query = sa.select(T.c.definition).where(T.c.key == key)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            conn.execute(T.insert().values(key=key, activity_id=activity_id, definition=definition, updated=now))
            return definition
        merged = merge_definition(row.definition, definition)
        if merged != row.definition:
            conn.execute(T.update().where(T.c.key == key).values(definition=merged, updated=now))
        return merged


def activity_object(engine: Engine, activity_id: str) -> dict[str, Any]:
    """The Activity as the LRS knows it; an id without a stored definition is still an Activity."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(T.c.definition).where(T.c.key == key_of(activity_id))).first()
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if row is not None and row.definition:
        activity["definition"] = row.definition
    return activity


def person_of(agent: dict[str, Any]) -> dict[str, Any]:
    """The Agents resource (Communication 2.4): a Person object holding what is known of the agent.

    eduops links no identities across agents, so the Person holds the requested agent's identifier
    and name, each as an array."""
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for ifi in ("mbox", "mbox_sha1sum", "openid", "account"):
        if ifi in agent:
            person[ifi] = [agent[ifi]]
    return person
