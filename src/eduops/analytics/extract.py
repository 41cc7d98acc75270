"""From a stored statement to the columns analytics reads (as Open edX Aspects does).

``actor_id`` is the learner's account name, else mbox, mbox_sha1sum or openid. ``course`` is the
first course-typed activity in context parent/grouping, else the first grouping, else the first
parent, else the object when it is a course. Region, device and teacher come from eduops context
extensions (teacher falls back to ``context.instructor``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from eduops.analytics import postings, vocab
from eduops.analytics.xapi import VOIDED, duration_seconds, parse_timestamp

# Column order of the statements table (see sql.COLUMNS for the types).
ROW_FIELDS = ("id", "actor_id", "actor_ifi", "verb_id", "object_id", "object_type", "course", "part", "registration",
              "timestamp", "stored", "success", "completion", "score_scaled", "duration_s", "region", "teacher",
              "device", "video_length_s", "video_segments", "video_progress", "voids", "voided", "agents",
              "related_agents", "related_activities", "raw")


def agent_ifi(agent: dict[str, Any]) -> str:
    """One canonical string per inverse functional identifier, used to match the agent filter."""
    if "account" in agent:
        return f"account|{agent['account'].get('homePage', '')}|{agent['account'].get('name', '')}"
    for key in ("mbox", "mbox_sha1sum", "openid"):
        if key in agent:
            return f"{key}|{agent[key]}"
    members = sorted(agent_ifi(m) for m in agent.get("member", []) if isinstance(m, dict))
    return "group|" + hashlib.sha1("\n".join(members).encode()).hexdigest()


def actor_id(agent: dict[str, Any]) -> str:
    if "account" in agent:
        return str(agent["account"].get("name", ""))
    for key in ("mbox", "mbox_sha1sum", "openid"):
        if key in agent:
            return str(agent[key])
    return agent_ifi(agent)


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]


def _is_course(activity: dict[str, Any]) -> bool:
    return (activity.get("definition") or {}).get("type") == vocab.COURSE_TYPE and "id" in activity


def course_and_part(statement: dict[str, Any]) -> tuple[str | None, str | None]:
    """The course a statement counts for, and the part of it (a presentation, term or class).

    A course-typed activity in ``grouping`` is the course; a course-typed activity in ``parent`` (or
    the object itself) inside it is its part. Without a course-typed grouping: the first
    course-typed parent, else the first grouping, else the first parent, else the object when it is
    a course — and no part.
    """
    return _course_with(_course_candidates(statement.get("context") or {}), statement.get("object") or {})


def _course_candidates(context: dict[str, Any]) -> tuple[str | None, tuple[str, ...], str | None]:
    """What the context says of the course: the course-typed grouping, the course-typed parents inside it
    (its parts), and without such a grouping the course it falls back to (``course_and_part``)."""
    groups = context.get("contextActivities") or {}
    parents, grouping = _as_list(groups.get("parent")), _as_list(groups.get("grouping"))
    outer = next((str(a["id"]) for a in grouping if _is_course(a)), None)
    if outer is not None:
        return outer, tuple(str(a["id"]) for a in parents if _is_course(a) and str(a["id"]) != outer), None
    fallback = next((str(a["id"]) for a in parents if _is_course(a)), None)
    if fallback is None and grouping:
        fallback = str(grouping[0]["id"])
    if fallback is None and parents:
        fallback = str(parents[0]["id"])
    return None, (), fallback


def _course_with(candidates: tuple[str | None, tuple[str, ...], str | None],
                 obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """``course_and_part`` from the context's candidates and the statement's object."""
    outer, inner, fallback = candidates
    if outer is not None:
        if inner:
            return outer, inner[0]
        if obj.get("objectType", "Activity") == "Activity" and _is_course(obj) and str(obj["id"]) != outer:
            return outer, str(obj["id"])
        return outer, None
    if fallback is not None:
        return fallback, None
    if obj.get("objectType", "Activity") == "Activity" and _is_course(obj):
        return str(obj["id"]), None
    return None, None


def roll_up(course: str | None, part: str | None, prefixes: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``[analytics] course_prefixes``: under a prefix, ``<prefix><course>/<part>[/...]`` counts for the
    course ``<prefix><course>`` and its part ``<prefix><course>/<part>`` (anything deeper, a lesson of
    the part, counts for that part). A part found in the context wins; ids under no prefix stay."""
    if course is None or part is not None:
        return course, part
    for prefix in prefixes:
        if course.startswith(prefix):
            head, _sep, rest = course[len(prefix):].partition("/")
            segment = rest.split("/", 1)[0]
            if head and segment:
                return prefix + head, f"{prefix}{head}/{segment}"
    return course, part


def with_prefixes(rows: list[dict[str, Any]], prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows with ``roll_up`` applied (the same rows when no prefix is configured)."""
    if not prefixes:
        return rows
    out = []
    for row in rows:
        course, part = roll_up(row["course"], row["part"], prefixes)
        out.append(row if (course, part) == (row["course"], row["part"]) else {**row, "course": course, "part": part})
    return out


_COURSE, _PART = ROW_FIELDS.index("course"), ROW_FIELDS.index("part")


def values_with_prefixes(rows: list[tuple[Any, ...]], prefixes: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``with_prefixes`` for rows as values in ``ROW_FIELDS`` order (``lrs.batch_values``)."""
    if not prefixes:
        return rows
    out = []
    for row in rows:
        course, part = roll_up(row[_COURSE], row[_PART], prefixes)
        out.append(row if (course, part) == (row[_COURSE], row[_PART])
                   else (*row[:_COURSE], course, part, *row[_PART + 1:]))
    return out


def course_of(statement: dict[str, Any]) -> str | None:
    return course_and_part(statement)[0]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    """A text column from an extension: strings and numbers; an object, list or boolean is not a region,
    device or teacher, so it is left out (the statement keeps it as sent)."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class _ContextFacts(NamedTuple):
    """The columns (and column parts) a statement's context decides on its own."""

    registration: Any
    teacher: str | None
    region: str | None
    device: str | None
    video_length_s: float | None
    agents: tuple[str, ...]  # instructor and team, for related_agents
    activities: tuple[str, ...]  # every context activity's id, for related_activities
    courses: tuple[str | None, tuple[str, ...], str | None]  # see _course_candidates


def _context_facts(context: dict[str, Any]) -> _ContextFacts:
    extensions = context.get("extensions") or {}
    instructor = context.get("instructor")
    teacher = extensions.get(vocab.TEACHER_EXT) or (actor_id(instructor) if isinstance(instructor, dict) else None)
    groups = context.get("contextActivities") or {}
    return _ContextFacts(
        registration=context.get("registration"),
        teacher=_text(teacher),
        region=_text(extensions.get(vocab.REGION_EXT)),
        device=_text(extensions.get(vocab.DEVICE_EXT)),
        video_length_s=_number(extensions.get(vocab.VIDEO_LENGTH_EXT)),
        agents=tuple(agent_ifi(context[key]) for key in ("instructor", "team") if isinstance(context.get(key), dict)),
        activities=tuple(str(a["id"]) for key in ("parent", "grouping", "category", "other")
                         for a in _as_list(groups.get(key)) if "id" in a),
        courses=_course_candidates(context),
    )


# Learners of one class send the same context (course, teacher, region, device) over and over: its facts
# are looked up by its JSON, which costs a fraction of deriving them again.
_FACTS: dict[bytes, _ContextFacts] = {}
_FACTS_LIMIT = 10_000
_NO_CONTEXT = _context_facts({})


def context_facts(context: dict[str, Any] | None) -> _ContextFacts:
    if not context:
        return _NO_CONTEXT
    try:
        key = orjson.dumps(context)
    except TypeError:  # not plain JSON (an integer beyond 64 bits): derived every time
        return _context_facts(context)
    facts = _FACTS.get(key)
    if facts is None:
        facts = _context_facts(context)
        if len(_FACTS) >= _FACTS_LIMIT:
            _FACTS.clear()
        _FACTS[key] = facts
    return facts


def _direct_agents(part: dict[str, Any]) -> list[str]:
    """The actor, and the object when it is an agent or group."""
    found = [agent_ifi(part["actor"])]
    obj = part.get("object") or {}
    if obj.get("objectType") in ("Agent", "Group"):
        found.append(agent_ifi(obj))
    return found


def _other_agents(part: dict[str, Any], facts: _ContextFacts | None = None) -> list[str]:
    """Agents only ``related_agents`` matches: instructor, team, group members, authority, sub-statement.

    ``facts``: the part's ``context_facts`` when the caller has them."""
    found = list((facts or context_facts(part.get("context"))).agents)
    obj = part.get("object") or {}
    for agent in (part["actor"], obj):
        if "member" in agent:
            found.extend(agent_ifi(m) for m in _as_list(agent["member"]))
    if isinstance(part.get("authority"), dict):
        found.append(agent_ifi(part["authority"]))
    if obj.get("objectType") == "SubStatement":
        found.extend(_agents_in(obj, related=True))
    return found


def _agents_in(part: dict[str, Any], related: bool) -> list[str]:
    found = _direct_agents(part)
    if related:
        found.extend(_other_agents(part))
    return found


def _activities_in(part: dict[str, Any], related: bool, facts: _ContextFacts | None = None) -> list[str]:
    obj = part.get("object") or {}
    found = [str(obj["id"])] if obj.get("objectType", "Activity") == "Activity" and "id" in obj else []
    if related:
        found.extend((facts or context_facts(part.get("context"))).activities)
        if obj.get("objectType") == "SubStatement":
            found.extend(_activities_in(obj, related=True))
    return found


def _joined(values: list[str]) -> str:
    """Values between newlines, so a LIKE '%\\n<value>\\n%' matches one whole value."""
    return "\n" + "\n".join(dict.fromkeys(values)) + "\n"


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


_last_stored: tuple[datetime, datetime] | None = None


def _naive_stored(stored: datetime) -> datetime:
    """``_naive(stored)``, worked out once for a batch: its statements share one ``stored`` (datetime.replace
    costs about a microsecond)."""
    global _last_stored
    last = _last_stored
    if last is None or last[0] is not stored:
        last = _last_stored = (stored, _naive(stored))
    return last[1]


def utc_naive(timestamp: str) -> datetime:
    """A validated xAPI timestamp as naive UTC; the common "...Z" form without the regular expression."""
    # "...:SSZ", "...:SS.mmmZ" or "...:SS.ffffffZ"
    if timestamp.endswith("Z") and len(timestamp) in (20, 24, 27) and timestamp[10] == "T":
        try:
            return datetime.fromisoformat(timestamp[:-1])
        except ValueError:
            pass
    return _naive(parse_timestamp(timestamp))


def raw_json(statement: dict[str, Any]) -> str:
    """The statement as compact UTF-8 JSON (orjson; the standard library for integers beyond 64 bits)."""
    try:
        return orjson.dumps(statement).decode()
    except TypeError:
        return json.dumps(statement, ensure_ascii=False, separators=(",", ":"))


def to_row(statement: dict[str, Any], stored: datetime | None = None) -> dict[str, Any]:
    """The analytics columns of a complete statement (id, stored, timestamp and authority set), and under
    ``keys`` (not a column) its posting keys (``postings.statement_keys``).

    ``stored`` is the parsed ``statement["stored"]`` when the caller has it (one per batch).
    """
    actor = statement["actor"]
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    verb_id = statement["verb"]["id"]
    result = statement.get("result") or {}
    result_ext = result.get("extensions") or {}
    facts = context_facts(statement.get("context"))
    direct = _direct_agents(statement)
    other = _other_agents(statement, facts)
    activities = _activities_in(statement, True, facts)
    course, part = _course_with(facts.courses, obj)
    object_id = (str(obj["id"]) if "id" in obj and object_type in ("Activity", "StatementRef")
                 else (agent_ifi(obj) if object_type in ("Agent", "Group") else None))
    return {
        "id": statement["id"].lower(),
        "actor_id": actor_id(actor),
        "actor_ifi": direct[0],
        "verb_id": verb_id,
        "object_id": object_id,
        "object_type": object_type,
        "course": course,
        "part": part,
        "registration": facts.registration,
        "timestamp": utc_naive(statement["timestamp"]),
        "stored": _naive_stored(stored if stored is not None else parse_timestamp(statement["stored"], "stored")),
        "success": result.get("success"),
        "completion": result.get("completion"),
        "score_scaled": _number((result.get("score") or {}).get("scaled")),
        "duration_s": duration_seconds(result["duration"]) if "duration" in result else None,
        "region": facts.region,
        "teacher": facts.teacher,
        "device": facts.device,
        "video_length_s": facts.video_length_s,
        "video_segments": _text(result_ext.get(vocab.VIDEO_SEGMENTS_EXT)),
        "video_progress": _number(result_ext.get(vocab.VIDEO_PROGRESS_EXT)),
        "voids": obj["id"].lower() if verb_id == VOIDED else None,
        "voided": False,
        "agents": _joined(direct),
        "related_agents": _joined(direct + other),
        "related_activities": _joined(activities),
        "raw": raw_json(statement),
        "keys": postings.statement_keys(direct, other, object_type, object_id, activities, verb_id,
                                        facts.registration),
    }
