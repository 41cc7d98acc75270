"""The common statement, checked and turned into its row in one pass (compiled by Cython when installed).

Nearly every statement a learning platform sends has one shape: an Agent identified by an account or an
mbox, a verb, an Activity, perhaps a result, a context with an instructor, context activities and extensions,
a UUID and a UTC timestamp. ``row`` takes such a statement and gives exactly what the exact path gives,
``extract.to_row(lrs.prepare(statement, authority, stored_at), stored)``, with the same checks as
``xapi.validate_statement`` applied, in about a third of the time. Anything else — another shape, a rule
broken, a value it is not sure of — gives ``None``, and the caller takes the exact path, which decides and
names the fault. So this module only ever says "valid, and here is the row", never "invalid".

``setup.py`` compiles a copy of this file as ``_fastpath_c`` (plain annotations type the locals: ``dict`` and
``str`` become direct C-API calls); ``compiled()`` gives that module when it was built from this very source,
else this one. tests/analytics/test_fastpath.py holds both to the exact path.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from eduops.analytics import activities, extract, postings, vocab, xapi

log = logging.getLogger(__name__)

_STATEMENT_KEYS = frozenset({"id", "actor", "verb", "object", "result", "context", "timestamp"})
_AGENT_KEYS = frozenset({"objectType", "name", "account", "mbox"})
_ACCOUNT_KEYS = frozenset({"homePage", "name"})
_VERB_KEYS = frozenset({"id", "display"})
_ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
_DEFINITION_KEYS = frozenset({"name", "description", "type", "moreInfo", "extensions"})
_RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
_SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
_CONTEXT_KEYS = frozenset({"registration", "instructor", "contextActivities", "revision", "platform", "language",
                           "extensions"})
_GROUP_KEYS = ("parent", "grouping", "category", "other")
_UUID_MATCH = xapi.UUID_RE.match

_GOOD_IRIS = xapi._GOOD_IRIS  # shared with the exact path: an IRI it accepted is accepted here
_GOOD_TAGS: set[str] = set()
_GOOD_MBOXES: set[str] = set()
_DURATIONS: dict[str, float] = {}
_MEMO_LIMIT = 50_000


def _matches(value: str, pattern: re.Pattern[str], known: set[str]) -> bool:
    """Whether ``pattern`` matches ``value``, remembering the values that do (they repeat in nearly every
    statement)."""
    if value in known:
        return True
    if pattern.match(value) is None:
        return False
    if len(known) >= _MEMO_LIMIT:
        known.clear()
    known.add(value)
    return True


def _iri(value: object) -> bool:
    return type(value) is str and _matches(value, xapi.IRI_RE, _GOOD_IRIS)  # type: ignore[arg-type]


def _uuid(value: object) -> bool:
    return type(value) is str and _UUID_MATCH(value) is not None


def _plain(value: dict, allowed: frozenset[str]) -> bool:
    """Whether every property is one of ``allowed`` and none is null (``xapi._object``'s checks)."""
    for key, item in value.items():
        if item is None or key not in allowed:
            return False
    return True


def _language_map(value: object) -> bool:
    if type(value) is not dict:
        return False
    languages: dict = value
    for tag, text in languages.items():
        if type(text) is not str or type(tag) is not str or not _matches(tag, xapi.LANG_TAG_RE, _GOOD_TAGS):
            return False
    return True


def _extensions(value: object) -> bool:
    if type(value) is not dict:
        return False
    extensions: dict = value
    for key in extensions:
        if not _iri(key):
            return False
    return True


def _agent_ifi(value: object) -> str | None:
    """An Agent identified by an account or an mbox: its ``extract.agent_ifi``; None for anything else."""
    if type(value) is not dict:
        return None
    agent: dict = value
    if not _plain(agent, _AGENT_KEYS):
        return None
    kind = agent.get("objectType", "Agent")
    if kind != "Agent":
        return None
    if "name" in agent and type(agent["name"]) is not str:
        return None
    account = agent.get("account")
    if account is not None:
        if "mbox" in agent or type(account) is not dict:
            return None
        details: dict = account
        if details.keys() != _ACCOUNT_KEYS:
            return None
        home = details["homePage"]
        name = details["name"]
        if type(name) is not str or not _iri(home):
            return None
        return "account|" + home + "|" + name
    mbox = agent.get("mbox")
    if type(mbox) is not str:
        return None
    address: str = mbox
    return "mbox|" + address if _matches(address, xapi.MAILTO_RE, _GOOD_MBOXES) else None


def _activity_id(value: object) -> str | None:
    """An Activity's id when it is valid (a definition without interactions); None for anything else."""
    if type(value) is not dict:
        return None
    activity: dict = value
    if not _plain(activity, _ACTIVITY_KEYS):
        return None
    if activity.get("objectType", "Activity") != "Activity":
        return None
    key = activity.get("id")
    if not _iri(key):
        return None
    definition = activity.get("definition")
    if definition is not None:
        if type(definition) is not dict:
            return None
        parts: dict = definition
        if not _plain(parts, _DEFINITION_KEYS):
            return None
        if "name" in parts and not _language_map(parts["name"]):
            return None
        if "description" in parts and not _language_map(parts["description"]):
            return None
        if "type" in parts and not _iri(parts["type"]):
            return None
        if "moreInfo" in parts and not _iri(parts["moreInfo"]):
            return None
        if "extensions" in parts and not _extensions(parts["extensions"]):
            return None
    return str(key)


def _is_number(value: object) -> bool:
    return type(value) is float or type(value) is int


def _result_ok(value: object) -> bool:
    if type(value) is not dict:
        return False
    result: dict = value
    if not _plain(result, _RESULT_KEYS):
        return False
    if "success" in result and type(result["success"]) is not bool:
        return False
    if "completion" in result and type(result["completion"]) is not bool:
        return False
    if "response" in result and type(result["response"]) is not str:
        return False
    if "duration" in result:
        duration = result["duration"]
        if type(duration) is not str:
            return False
        if duration not in _DURATIONS:
            try:
                seconds = xapi.duration_seconds(duration)
            except xapi.StatementInvalid:
                return False
            if len(_DURATIONS) >= _MEMO_LIMIT:
                _DURATIONS.clear()
            _DURATIONS[duration] = seconds
    if "extensions" in result and not _extensions(result["extensions"]):
        return False
    if "score" in result:
        if type(result["score"]) is not dict:
            return False
        score: dict = result["score"]
        if not score.keys() <= _SCORE_KEYS:
            return False
        for number in score.values():
            if not _is_number(number):
                return False
        if "scaled" in score and not -1 <= score["scaled"] <= 1:
            return False
        if "min" in score and "max" in score and not score["min"] < score["max"]:
            return False
        if "raw" in score and (("min" in score and score["raw"] < score["min"])
                               or ("max" in score and score["raw"] > score["max"])):
            return False
    return True


def _context_ok(value: object) -> bool:
    """A context of the common shape, valid for a statement whose object is an Activity."""
    if type(value) is not dict:
        return False
    context: dict = value
    if not _plain(context, _CONTEXT_KEYS):
        return False
    if "registration" in context and not _uuid(context["registration"]):
        return False
    if "instructor" in context and _agent_ifi(context["instructor"]) is None:
        return False
    if "revision" in context and type(context["revision"]) is not str:
        return False
    if "platform" in context and type(context["platform"]) is not str:
        return False
    if "language" in context:
        language = context["language"]
        if type(language) is not str or not _matches(language, xapi.LANG_TAG_RE, _GOOD_TAGS):
            return False
    if "extensions" in context and not _extensions(context["extensions"]):
        return False
    if "contextActivities" in context:
        groups = context["contextActivities"]
        if type(groups) is not dict:
            return False
        named: dict = groups
        for key, activities in named.items():
            if key not in _GROUP_KEYS or type(activities) is not list:
                return False  # a single activity (not an array) is rewritten by lrs.prepare: the exact path
            listed: list = activities
            for activity in listed:
                if _activity_id(activity) is None:
                    return False
    return True


# Learners of one class send the same context over and over: a valid one's facts, and the definitions its
# context activities carry, are looked up by its JSON (``extract.context_facts`` keeps the same), which costs a
# fraction of checking it again.
_CONTEXTS: dict[bytes, Any] = {}
_NO_CONTEXT = extract.context_facts(None)
_NO_DEFINITIONS: tuple[tuple[str, dict], ...] = ()


def _context_definitions(context: dict) -> tuple[tuple[str, dict], ...]:
    """The (activity id, definition) of each context activity that carries one, in ``activities.activities_in``
    order, of a valid context of the common shape."""
    groups = context.get("contextActivities")
    if not groups:
        return _NO_DEFINITIONS
    named: dict = groups
    found = []
    for name in _GROUP_KEYS:
        for activity in named.get(name, ()):
            if "definition" in activity:
                found.append((activity["id"], activity["definition"]))
    return tuple(found)


def _context_facts(value: object) -> Any:
    """``extract.context_facts`` of a valid context of the common shape and ``_context_definitions`` of it, as a
    pair; None for anything else."""
    try:
        key = orjson.dumps(value)
    except TypeError:
        return None
    known = _CONTEXTS.get(key)
    if known is None:
        if not _context_ok(value):
            return None
        known = (extract.context_facts(value), _context_definitions(value))  # type: ignore[arg-type]
        if len(_CONTEXTS) >= _MEMO_LIMIT:
            _CONTEXTS.clear()
        _CONTEXTS[key] = known
    return known


def _add_definition(found: dict, activity_id: str, definition: dict) -> None:
    """``activities.definitions_of``'s step: a definition merged into what the batch carried before it."""
    known = found.get(activity_id)
    if known != definition:  # the same definition again (a course in every statement) adds nothing
        found[activity_id] = activities.merge_definition(known or {}, definition)


def _utc_naive(value: object) -> datetime | None:
    """A "YYYY-MM-DDTHH:MM:SS[.mmm|.ffffff]Z" timestamp as naive UTC (``extract.utc_naive``); None otherwise."""
    if type(value) is not str:
        return None
    text: str = value
    size = len(text)
    if (size != 20 and size != 24 and size != 27) or text[size - 1] != "Z" or text[10] != "T":
        return None
    if xapi.UTC_TIMESTAMP_RE.match(text) is None:
        return None
    try:
        return datetime.fromisoformat(text[:size - 1])
    except ValueError:
        return None


def _number(value: object) -> float | None:
    return float(value) if type(value) is float or type(value) is int else None  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    """``extract._text``: strings, and numbers as text."""
    if type(value) is str:
        return value  # type: ignore[return-value]
    return str(value) if type(value) is float or type(value) is int else None


def _joined(items: list[str]) -> str:
    return "\n" + "\n".join(dict.fromkeys(items)) + "\n"


_A, _OTHER_A, _O, _OTHER_O, _V, _R = (postings._NUMBERS[k] for k in "aAoOvr")


def _keys(actor_ifi: str, other: list[str], object_id: str, context_activities: tuple[str, ...], verb_id: str,
          registration: str | None) -> list[int]:
    """``postings.statement_keys`` for a statement whose object is an Activity and whose only direct agent is
    the actor."""
    numbers = {_A.get(actor_ifi) or postings.key_number("a", actor_ifi),
               _O.get(object_id) or postings.key_number("o", object_id),
               _V.get(verb_id) or postings.key_number("v", verb_id)}
    for agent in other:
        if agent != actor_ifi:
            numbers.add(_OTHER_A.get(agent) or postings.key_number("A", agent))
    for activity in context_activities:
        if activity != object_id:
            numbers.add(_OTHER_O.get(activity) or postings.key_number("O", activity))
    if registration is not None:
        numbers.add(_R.get(registration) or postings.key_number("r", registration))
    return list(numbers)


FIELDS = (*extract.ROW_FIELDS, "keys")  # the order of ``values``: the statements' columns, then posting keys


def row(value: object, authority: dict[str, Any], authority_ifi: str, stored_at: str, stored: datetime,
        found: dict[str, dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """``extract.to_row(lrs.prepare(value, authority, stored_at), stored)`` of a valid statement of the common
    shape; None when the exact path must decide. ``authority_ifi`` is ``extract.agent_ifi(authority)`` and
    ``stored`` the naive UTC time of ``stored_at``, both worked out once per batch. The activity definitions the
    statement carries are merged into ``found``, as ``activities.definitions_of`` merges a batch's, when given
    (and only when a row is returned)."""
    taken = values(value, authority, authority_ifi, stored_at, stored, found)
    return None if taken is None else dict(zip(FIELDS, taken, strict=True))


def values(value: object, authority: dict[str, Any], authority_ifi: str, stored_at: str, stored: datetime,
           found: dict[str, dict[str, Any]] | None = None) -> tuple[Any, ...] | None:
    """``row``'s values in ``FIELDS`` order (an ingest helper turns a batch of them into Arrow columns: no dict
    to build, none to take apart)."""
    if type(value) is not dict:
        return None
    statement: dict = value
    if not _plain(statement, _STATEMENT_KEYS):
        return None
    statement_id = statement.get("id")
    if not _uuid(statement_id):
        return None
    actor_ifi = _agent_ifi(statement.get("actor"))
    if actor_ifi is None:
        return None
    verb = statement.get("verb")
    if type(verb) is not dict:
        return None
    verb_parts: dict = verb
    if not _plain(verb_parts, _VERB_KEYS):
        return None
    verb_value = verb_parts.get("id")
    if not _iri(verb_value) or verb_value == xapi.VOIDED:
        return None
    verb_id: str = verb_value  # type: ignore[assignment]
    if "display" in verb_parts and not _language_map(verb_parts["display"]):
        return None
    obj = statement.get("object")
    object_id = _activity_id(obj)
    if object_id is None:
        return None
    moment = _utc_naive(statement.get("timestamp"))
    if moment is None:
        return None
    result: dict = {}
    if "result" in statement:
        if not _result_ok(statement["result"]):
            return None
        result = statement["result"]
    context = statement.get("context")
    known = (_NO_CONTEXT, _NO_DEFINITIONS) if context is None else _context_facts(context)
    if known is None:
        return None
    facts, context_definitions = known

    key = str(statement_id).lower()
    prepared = dict(statement)
    prepared["id"] = key
    prepared["stored"] = stored_at
    prepared["authority"] = authority
    prepared["version"] = "1.0.0"
    try:
        raw = orjson.dumps(prepared).decode()
    except TypeError:  # an integer beyond 64 bits: the exact path writes it with the standard library
        return None
    actor: dict = statement["actor"]
    account = actor.get("account")
    other = [*facts.agents, authority_ifi]
    activity_ids = [object_id, *facts.activities]
    course, part = extract._course_with(facts.courses, obj)  # type: ignore[arg-type]
    extensions = result.get("extensions") or {}
    score = result.get("score")
    if found is not None:
        if "definition" in obj:  # type: ignore[operator]
            _add_definition(found, object_id, obj["definition"])  # type: ignore[index]
        for activity_id, definition in context_definitions:
            _add_definition(found, activity_id, definition)
    return (
        key,  # id
        str(account["name"]) if account is not None else str(actor["mbox"]),  # actor_id
        actor_ifi,  # actor_ifi
        verb_id,  # verb_id
        object_id,  # object_id
        "Activity",  # object_type
        course,  # course
        part,  # part
        facts.registration,  # registration
        moment,  # timestamp
        stored,  # stored
        result.get("success"),  # success
        result.get("completion"),  # completion
        _number(score.get("scaled")) if score is not None else None,  # score_scaled
        _DURATIONS[result["duration"]] if "duration" in result else None,  # duration_s
        facts.region,  # region
        facts.teacher,  # teacher
        facts.device,  # device
        facts.video_length_s,  # video_length_s
        _text(extensions.get(vocab.VIDEO_SEGMENTS_EXT)),  # video_segments
        _number(extensions.get(vocab.VIDEO_PROGRESS_EXT)),  # video_progress
        None,  # voids
        False,  # voided
        "\n" + actor_ifi + "\n",  # agents
        _joined([actor_ifi, *other]),  # related_agents
        _joined(activity_ids),  # related_activities
        raw,  # raw
        _keys(actor_ifi, other, object_id, facts.activities, verb_id, facts.registration),  # keys
    )


def source_digest() -> str:
    """The SHA-256 of this file, which ``setup.py`` writes into the compiled copy."""
    return hashlib.sha256(Path(__file__).with_name("fastpath.py").read_bytes()).hexdigest()


_CHOSEN: ModuleType | None = None


def compiled() -> ModuleType:
    """The compiled copy of this module when it was built from this source; else this module (and a warning
    when a stale copy is installed: ``make venv`` builds it again)."""
    global _CHOSEN
    if _CHOSEN is None:
        import sys

        chosen: ModuleType = sys.modules[__name__]
        try:
            from eduops.analytics import _fastpath_c  # type: ignore[attr-defined]
        except ImportError:
            log.info("the compiled statement fast path is not built; using its Python source")
        else:
            if getattr(_fastpath_c, "SOURCE_SHA256", None) == source_digest():
                chosen = _fastpath_c
            else:
                log.warning("the compiled statement fast path was built from another version of fastpath.py; "
                            "using the Python source (`make venv` builds it again)")
        _CHOSEN = chosen
    return _CHOSEN
