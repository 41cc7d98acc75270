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
from typing import Any

import orjson

from eduops.analytics import vocab
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
    groups = (statement.get("context") or {}).get("contextActivities") or {}
    parents, grouping = _as_list(groups.get("parent")), _as_list(groups.get("grouping"))
    obj = statement.get("object") or {}
    is_activity = obj.get("objectType", "Activity") == "Activity"
    outer = next((str(a["id"]) for a in grouping if _is_course(a)), None)
    if outer is not None:
        inner = [str(a["id"]) for a in parents if _is_course(a) and str(a["id"]) != outer]
        if not inner and is_activity and _is_course(obj) and str(obj["id"]) != outer:
            inner = [str(obj["id"])]
        return outer, inner[0] if inner else None
    for activity in parents:
        if _is_course(activity):
            return str(activity["id"]), None
    if grouping:
        return str(grouping[0]["id"]), None
    if parents:
        return str(parents[0]["id"]), None
    if is_activity and _is_course(obj):
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


def course_of(statement: dict[str, Any]) -> str | None:
    return course_and_part(statement)[0]


def _direct_agents(part: dict[str, Any]) -> list[str]:
    """The actor, and the object when it is an agent or group."""
    found = [agent_ifi(part["actor"])]
    obj = part.get("object") or {}
    if obj.get("objectType") in ("Agent", "Group"):
        found.append(agent_ifi(obj))
    return found


def _other_agents(part: dict[str, Any]) -> list[str]:
    """Agents only ``related_agents`` matches: instructor, team, group members, authority, sub-statement."""
    found = []
    obj = part.get("object") or {}
    context = part.get("context")
    if context:
        for key in ("instructor", "team"):
            if isinstance(context.get(key), dict):
                found.append(agent_ifi(context[key]))
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


def _activities_in(part: dict[str, Any], related: bool) -> list[str]:
    obj = part.get("object") or {}
    found = [str(obj["id"])] if obj.get("objectType", "Activity") == "Activity" and "id" in obj else []
    if related:
        groups = (part.get("context") or {}).get("contextActivities") or {}
        for key in ("parent", "grouping", "category", "other"):
            found.extend(str(a["id"]) for a in _as_list(groups.get(key)) if "id" in a)
        if obj.get("objectType") == "SubStatement":
            found.extend(_activities_in(obj, related=True))
    return found


def _joined(values: list[str]) -> str:
    """Values between newlines, so a LIKE '%\\n<value>\\n%' matches one whole value."""
    return "\n" + "\n".join(dict.fromkeys(values)) + "\n"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


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
    """The analytics columns of a complete statement (id, stored, timestamp and authority set).

    ``stored`` is the parsed ``statement["stored"]`` when the caller has it (one per batch).
    """
    actor = statement["actor"]
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    result = statement.get("result") or {}
    context = statement.get("context") or {}
    context_ext = context.get("extensions") or {}
    result_ext = result.get("extensions") or {}
    instructor = context.get("instructor")
    teacher = context_ext.get(vocab.TEACHER_EXT) or (actor_id(instructor) if isinstance(instructor, dict) else None)
    direct = _direct_agents(statement)
    course, part = course_and_part(statement)
    return {
        "id": statement["id"].lower(),
        "actor_id": actor_id(actor),
        "actor_ifi": direct[0],
        "verb_id": statement["verb"]["id"],
        "object_id": str(obj["id"]) if "id" in obj and object_type in ("Activity", "StatementRef")
        else (agent_ifi(obj) if object_type in ("Agent", "Group") else None),
        "object_type": object_type,
        "course": course,
        "part": part,
        "registration": context.get("registration"),
        "timestamp": utc_naive(statement["timestamp"]),
        "stored": _naive(stored or parse_timestamp(statement["stored"], "stored")),
        "success": result.get("success"),
        "completion": result.get("completion"),
        "score_scaled": _number((result.get("score") or {}).get("scaled")),
        "duration_s": duration_seconds(result["duration"]) if "duration" in result else None,
        "region": _text(context_ext.get(vocab.REGION_EXT)),
        "teacher": _text(teacher),
        "device": _text(context_ext.get(vocab.DEVICE_EXT)),
        "video_length_s": _number(context_ext.get(vocab.VIDEO_LENGTH_EXT)),
        "video_segments": _text(result_ext.get(vocab.VIDEO_SEGMENTS_EXT)),
        "video_progress": _number(result_ext.get(vocab.VIDEO_PROGRESS_EXT)),
        "voids": obj["id"].lower() if statement["verb"]["id"] == VOIDED else None,
        "voided": False,
        "agents": _joined(direct),
        "related_agents": _joined(direct + _other_agents(statement)),
        "related_activities": _joined(_activities_in(statement, related=True)),
        "raw": raw_json(statement),
    }


def _text(value: Any) -> str | None:
    """A text column from an extension: strings and numbers; an object, list or boolean is not a region,
    device or teacher, so it is left out (the statement keeps it as sent)."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
