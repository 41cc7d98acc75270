"""xAPI 1.0.3 statement validation: every MUST rule the LRS enforces, as pure functions.

``validate_statement(data)`` raises ``StatementInvalid`` whose message names the field (a JSON path
such as ``actor.account.homePage``) and the rule it breaks. Nothing here touches storage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import orjson

from eduops.errors import UsageError

VERSION = "1.0.3"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+\Z")
SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}\Z")
MAILTO_RE = re.compile(r"^mailto:[^@\s]+@[^@\s]+\Z")
VERSION_RE = re.compile(r"^1\.0(\.\d+)?\Z")
# ISO 8601 durations as xAPI 1.0.3 (Data 4.6) allows them: P[n]Y[n]M[n]DT[n]H[n]M[n]S, or P[n]W alone;
# a decimal fraction only on the smallest unit given (checked in duration_seconds).
_N = r"(\d+(?:[.,]\d+)?)"
DURATION_RE = re.compile(
    rf"^P(?!\Z)(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?\Z"
)
WEEKS_RE = re.compile(rf"^P{_N}W\Z")
TIMESTAMP_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?\Z"
)
# the common form in UTC ("...:SSZ", "...:SS.mmmZ", "...:SS.ffffffZ"), read without the regular expression above
UTC_TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?Z\Z", re.ASCII)
# RFC 5646: language-script-region-variants-extensions-privateuse, or a private-use tag alone.
LANG_TAG_RE = re.compile(
    r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?\Z|^[xX](?:-[A-Za-z0-9]{1,8})+\Z"
)
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = {"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                     "sequencing", "likert", "numeric", "other"}
COMPONENT_LISTS = {"choices": {"choice", "sequencing"}, "scale": {"likert"}, "source": {"matching"},
                   "target": {"matching"}, "steps": {"performance"}}
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")

STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority",
                  "version", "attachments"}
SUBSTATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}


class StatementInvalid(UsageError):
    """A statement breaks a rule of xAPI 1.0.3; the message names the field and the rule (HTTP 400)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _fail(field: str, rule: str) -> None:
    raise StatementInvalid(field or "statement", rule)


def _object(value: Any, field: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(field, "must be a JSON object")
    if not value.keys() <= allowed or None in value.values():  # the usual case costs two C-level checks
        for key, item in value.items():
            if key not in allowed:
                _fail(f"{field}.{key}" if field else key, "is not a property xAPI 1.0.3 defines here")
            if item is None:
                _fail(f"{field}.{key}" if field else key, "must not be null (leave the property out)")
    for key in required:
        if key not in value:
            _fail(f"{field}.{key}" if field else key, "is required")
    return value


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        _fail(field, "must be a string")
    return value


_GOOD_IRIS: set[str] = set()  # verbs, activities and extension keys repeat in nearly every statement


def check_iri(value: Any, field: str) -> str:
    if isinstance(value, str):
        if value in _GOOD_IRIS:
            return value
        if IRI_RE.match(value):
            if len(_GOOD_IRIS) >= 50_000:
                _GOOD_IRIS.clear()
            _GOOD_IRIS.add(value)
            return value
    _fail(field, f"must be an absolute IRI (scheme:...), got {value!r}")
    return value


def check_uuid(value: Any, field: str) -> str:
    if not isinstance(value, str) or not UUID_RE.match(value):
        _fail(field, f"must be a UUID (8-4-4-4-12 hex digits), got {value!r}")
    return value


def check_language_map(value: Any, field: str) -> None:
    if not isinstance(value, dict):
        _fail(field, "must be a language map (an object of RFC 5646 language tags to strings)")
    for tag, text in value.items():
        if not LANG_TAG_RE.match(tag):
            _fail(f"{field}.{tag}", "is not a valid RFC 5646 language tag")
        if not isinstance(text, str):
            _fail(f"{field}.{tag}", "must be a string")


def check_extensions(value: Any, field: str) -> None:
    if not isinstance(value, dict):
        _fail(field, "must be an object whose keys are IRIs")
    for key in value:
        check_iri(key, f"{field}[{key!r}]")


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime:
    """An ISO 8601 date-time as an aware UTC datetime; a missing offset means UTC, -00:00 is refused."""
    if isinstance(value, str) and UTC_TIMESTAMP_RE.match(value):  # what nearly every client sends
        try:  # "...Z" comes back aware in UTC (a tenth of the cost of .replace(tzinfo=UTC))
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # not a real date: the general path below says so
    match = TIMESTAMP_RE.match(value) if isinstance(value, str) else None
    if not match:
        _fail(field, f"must be an ISO 8601 date and time such as 2026-03-01T08:30:00Z, got {value!r}")
    assert match is not None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone in ("-00", "-0000", "-00:00"):
        _fail(field, "must not use the offset -00:00 (RFC 3339 'unknown local offset')")
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError as exc:
        _fail(field, f"is not a real date and time ({exc})")
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            _fail(field, f"has the offset {zone}, outside -23:59..+23:59 (RFC 3339)")
        from datetime import timedelta, timezone

        offset = timedelta(hours=hours, minutes=minutes)
        moment = moment.replace(tzinfo=timezone(offset if zone[0] == "+" else -offset))
    else:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC: keep the nearest instant Python holds
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def duration_seconds(value: Any, field: str = "result.duration") -> float:
    """An ISO 8601 duration in seconds (years as 365 days, months as 30)."""
    example = "PT1H30M, P2D or P3W"
    weeks = WEEKS_RE.match(value) if isinstance(value, str) else None
    if weeks:
        return float(weeks.group(1).replace(",", ".")) * 7 * 86400
    match = DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        _fail(field, f"must be an ISO 8601 duration such as {example} (weeks only alone), got {value!r}")
    assert match is not None
    given = [g for g in match.groups() if g is not None]
    if any(("." in g or "," in g) for g in given[:-1]):
        _fail(field, f"only the smallest unit of a duration may have a fraction, got {value!r}")
    years, months, days, hours, minutes, seconds = (float(g.replace(",", ".")) if g else 0.0 for g in match.groups())
    return ((((years * 365 + months * 30 + days) * 24 + hours) * 60 + minutes) * 60) + seconds


def check_agent(value: Any, field: str, object_type_required: bool = False) -> None:
    """An Agent: exactly one inverse functional identifier; objectType "Agent" when given."""
    _object(value, field, {"objectType", "name", *IFIS})
    if object_type_required and value.get("objectType") != "Agent":
        _fail(f"{field}.objectType", "must be \"Agent\"")
    if value.get("objectType", "Agent") != "Agent":
        _fail(f"{field}.objectType", "must be \"Agent\" (or a Group with objectType \"Group\")")
    _check_ifis(value, field, required=True)


def _check_ifis(value: dict[str, Any], field: str, required: bool) -> None:
    found = [k for k in IFIS if k in value]
    if len(found) > 1 or (required and not found):
        _fail(field, "needs exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account); "
                     f"found {len(found)}" + (f" ({', '.join(found)})" if found else ""))
    if "name" in value:
        _string(value["name"], f"{field}.name")
    if "mbox" in value and (not isinstance(value["mbox"], str) or not MAILTO_RE.match(value["mbox"])):
        _fail(f"{field}.mbox", "must be a mailto: IRI such as mailto:learner@example.com")
    if "mbox_sha1sum" in value and (not isinstance(value["mbox_sha1sum"], str)
                                    or not SHA1_RE.match(value["mbox_sha1sum"])):
        _fail(f"{field}.mbox_sha1sum", "must be the 40 hex digits of a SHA-1 of a mailto: IRI")
    if "openid" in value:
        check_iri(value["openid"], f"{field}.openid")
    if "account" in value:
        account = _object(value["account"], f"{field}.account", {"homePage", "name"}, ("homePage", "name"))
        check_iri(account["homePage"], f"{field}.account.homePage")
        _string(account["name"], f"{field}.account.name")


def check_group(value: Any, field: str) -> None:
    """A Group: anonymous (no identifier, at least one member) or identified (one identifier)."""
    _object(value, field, {"objectType", "name", "member", *IFIS}, ("objectType",))
    if value["objectType"] != "Group":
        _fail(f"{field}.objectType", "must be \"Group\"")
    _check_ifis(value, field, required=False)
    identified = any(k in value for k in IFIS)
    members = value.get("member")
    if not identified and not members:
        _fail(f"{field}.member", "an anonymous Group (no identifier) needs at least one member")
    if members is not None:
        if not isinstance(members, list):
            _fail(f"{field}.member", "must be an array of Agents")
        for i, member in enumerate(members):
            if isinstance(member, dict) and member.get("objectType") == "Group":
                _fail(f"{field}.member[{i}]", "a Group's members must be Agents, not Groups")
            check_agent(member, f"{field}.member[{i}]")


def check_actor(value: Any, field: str = "actor") -> None:
    if isinstance(value, dict) and value.get("objectType") == "Group":
        check_group(value, field)
    else:
        check_agent(value, field)


def check_authority(value: Any, field: str = "authority") -> None:
    """An Agent, or (OAuth 3-legged) an anonymous Group of exactly two Agents: the client and the user."""
    if isinstance(value, dict) and value.get("objectType") == "Group":
        check_group(value, field)
        if any(k in value for k in IFIS):
            _fail(field, "an authority Group must be anonymous (no mbox, mbox_sha1sum, openid or account)")
        if len(value["member"]) != 2:
            _fail(f"{field}.member", f"an authority Group has exactly two Agents (OAuth client and user), "
                                     f"got {len(value['member'])}")
    else:
        check_agent(value, field)


def check_verb(value: Any, field: str = "verb") -> None:
    _object(value, field, {"id", "display"}, ("id",))
    check_iri(value["id"], f"{field}.id")
    if "display" in value:
        check_language_map(value["display"], f"{field}.display")


def check_activity(value: Any, field: str) -> None:
    _object(value, field, {"objectType", "id", "definition"}, ("id",))
    if value.get("objectType", "Activity") != "Activity":
        _fail(f"{field}.objectType", "must be \"Activity\"")
    check_iri(value["id"], f"{field}.id")
    if "definition" in value:
        _check_definition(value["definition"], f"{field}.definition")


def _check_definition(value: Any, field: str) -> None:
    allowed = {"name", "description", "type", "moreInfo", "extensions", "interactionType",
               "correctResponsesPattern", *COMPONENT_LISTS}
    _object(value, field, allowed)
    for key in ("name", "description"):
        if key in value:
            check_language_map(value[key], f"{field}.{key}")
    for key in ("type", "moreInfo"):
        if key in value:
            check_iri(value[key], f"{field}.{key}")
    if "extensions" in value:
        check_extensions(value["extensions"], f"{field}.extensions")
    kind = value.get("interactionType")
    if kind is not None and (not isinstance(kind, str) or kind not in INTERACTION_TYPES):
        _fail(f"{field}.interactionType", f"must be one of {', '.join(sorted(INTERACTION_TYPES))}, got {kind!r}")
    needing = [k for k in ("correctResponsesPattern", *COMPONENT_LISTS) if k in value]
    if needing and kind is None:
        _fail(f"{field}.interactionType", f"is required when {needing[0]} is given")
    if "correctResponsesPattern" in value:
        pattern = value["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            _fail(f"{field}.correctResponsesPattern", "must be an array of strings")
    for key, kinds in COMPONENT_LISTS.items():
        if key not in value:
            continue
        if kind not in kinds:
            _fail(f"{field}.{key}", f"is only allowed with interactionType {' or '.join(sorted(kinds))}")
        items = value[key]
        if not isinstance(items, list):
            _fail(f"{field}.{key}", "must be an array of interaction components")
        seen: set[str] = set()
        for i, item in enumerate(items):
            component = _object(item, f"{field}.{key}[{i}]", {"id", "description"}, ("id",))
            _string(component["id"], f"{field}.{key}[{i}].id")
            if component["id"] in seen:
                _fail(f"{field}.{key}[{i}].id", "must be unique within the list")
            seen.add(component["id"])
            if "description" in component:
                check_language_map(component["description"], f"{field}.{key}[{i}].description")


def check_statement_ref(value: Any, field: str) -> None:
    _object(value, field, {"objectType", "id"}, ("objectType", "id"))
    if value["objectType"] != "StatementRef":
        _fail(f"{field}.objectType", "must be \"StatementRef\"")
    check_uuid(value["id"], f"{field}.id")


def check_object(value: Any, field: str = "object", in_substatement: bool = False) -> str:
    """Check a statement's object and return its objectType."""
    if not isinstance(value, dict):
        _fail(field, "must be a JSON object")
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        check_activity(value, field)
    elif kind == "Agent":
        check_agent(value, field, object_type_required=True)
    elif kind == "Group":
        check_group(value, field)
    elif kind == "StatementRef":
        check_statement_ref(value, field)
    elif kind == "SubStatement":
        if in_substatement:
            _fail(f"{field}.objectType", "a SubStatement must not contain another SubStatement")
        _check_body(value, field, SUBSTATEMENT_KEYS, in_substatement=True)
    else:
        _fail(f"{field}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement")
    return str(kind)


def check_result(value: Any, field: str = "result") -> None:
    _object(value, field, {"score", "success", "completion", "response", "duration", "extensions"})
    for key in ("success", "completion"):
        if key in value and not isinstance(value[key], bool):
            _fail(f"{field}.{key}", "must be true or false")
    if "response" in value:
        _string(value["response"], f"{field}.response")
    if "duration" in value:
        duration_seconds(value["duration"], f"{field}.duration")
    if "extensions" in value:
        check_extensions(value["extensions"], f"{field}.extensions")
    if "score" in value:
        check_score(value["score"], f"{field}.score")


def check_score(value: Any, field: str = "result.score") -> None:
    score = _object(value, field, {"scaled", "raw", "min", "max"})
    for key, number in score.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            _fail(f"{field}.{key}", "must be a number")
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        _fail(f"{field}.scaled", f"must be between -1 and 1, got {score['scaled']}")
    if "min" in score and "max" in score and not score["min"] < score["max"]:
        _fail(f"{field}.max", "must be greater than min")
    if "raw" in score:
        if "min" in score and score["raw"] < score["min"]:
            _fail(f"{field}.raw", f"must not be below min ({score['min']})")
        if "max" in score and score["raw"] > score["max"]:
            _fail(f"{field}.raw", f"must not be above max ({score['max']})")


def check_context(value: Any, object_type: str, field: str = "context") -> None:
    allowed = {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language",
               "statement", "extensions"}
    _object(value, field, allowed)
    if "registration" in value:
        check_uuid(value["registration"], f"{field}.registration")
    if "instructor" in value:
        check_actor(value["instructor"], f"{field}.instructor")
    if "team" in value:
        check_group(value["team"], f"{field}.team")
    for key in ("revision", "platform"):
        if key in value:
            _string(value[key], f"{field}.{key}")
            if object_type != "Activity":
                _fail(f"{field}.{key}", "may only be used when the statement's object is an Activity")
    if "language" in value and (not isinstance(value["language"], str) or not LANG_TAG_RE.match(value["language"])):
        _fail(f"{field}.language", "must be an RFC 5646 language tag such as zh-CN")
    if "statement" in value:
        check_statement_ref(value["statement"], f"{field}.statement")
    if "extensions" in value:
        check_extensions(value["extensions"], f"{field}.extensions")
    if "contextActivities" in value:
        groups = _object(value["contextActivities"], f"{field}.contextActivities", set(CONTEXT_ACTIVITY_KEYS))
        for key, activities in groups.items():
            items = activities if isinstance(activities, list) else [activities]
            for i, activity in enumerate(items):
                check_activity(activity, f"{field}.contextActivities.{key}[{i}]")


def check_attachments(value: Any, field: str = "attachments") -> None:
    if not isinstance(value, list):
        _fail(field, "must be an array")
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        att = _object(item, where, {"usageType", "display", "description", "contentType", "length", "sha2",
                                    "fileUrl"}, ("usageType", "display", "contentType", "length", "sha2"))
        check_iri(att["usageType"], f"{where}.usageType")
        check_language_map(att["display"], f"{where}.display")
        if "description" in att:
            check_language_map(att["description"], f"{where}.description")
        _string(att["contentType"], f"{where}.contentType")
        if isinstance(att["length"], bool) or not isinstance(att["length"], int) or att["length"] < 0:
            _fail(f"{where}.length", "must be a non-negative integer")
        _string(att["sha2"], f"{where}.sha2")
        if "fileUrl" in att:  # optional: without it the content comes as a multipart/mixed part
            check_iri(att["fileUrl"], f"{where}.fileUrl")


def statement_attachments(statement: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The attachments of a (checked) statement and of its SubStatement, each with its JSON path."""
    found = [(f"attachments[{i}]", a) for i, a in enumerate(statement.get("attachments") or ())]
    sub = statement.get("object")
    if isinstance(sub, dict) and sub.get("objectType") == "SubStatement":
        found += [(f"object.attachments[{i}]", a) for i, a in enumerate(sub.get("attachments") or ())]
    return found


def check_attachment_contents(statement: dict[str, Any], contents: Collection[str] = ()) -> None:
    """An attachment without fileUrl needs its content in the request: a part whose hash is its sha2.

    ``contents`` holds the (lower-case) hashes of the multipart/mixed parts that came with the request;
    a plain application/json request has none.
    """
    for where, att in statement_attachments(statement):
        if "fileUrl" not in att and str(att["sha2"]).lower() not in contents:
            _fail(f"{where}.fileUrl", "is required when the content does not come with the statement: give a "
                                      "fileUrl, or send the content as a multipart/mixed part whose "
                                      f"X-Experience-API-Hash is the attachment's sha2 ({att['sha2']})")


# Parts that passed: learners, verbs, activities and contexts repeat across statements, and looking
# up a part's canonical JSON costs a fraction of checking it again. Only successes are kept, so an
# invalid part is always checked (and named) in full.
_VALID_PARTS: dict[bytes, str] = {}
_MEMO_LIMIT = 50_000


def _part_key(kind: str, value: Any) -> bytes | None:
    try:
        return kind.encode() + b"\0" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not plain JSON (an integer beyond 64 bits): checked every time
        return None


def _checked(kind: str, value: Any, check: Callable[[], str | None]) -> str:
    key = _part_key(kind, value)
    if key is not None:
        known = _VALID_PARTS.get(key)
        if known is not None:
            return known
    result = check() or ""
    if key is not None:
        if len(_VALID_PARTS) >= _MEMO_LIMIT:
            _VALID_PARTS.clear()
        _VALID_PARTS[key] = result
    return result


def _check_body(value: dict[str, Any], field: str, allowed: set[str], in_substatement: bool = False) -> None:
    _object(value, field, allowed, ("actor", "verb", "object"))
    prefix = f"{field}." if field else ""
    _checked("actor", value["actor"], lambda: check_actor(value["actor"], f"{prefix}actor"))
    _checked("verb", value["verb"], lambda: check_verb(value["verb"], f"{prefix}verb"))
    object_type = _checked("object/sub" if in_substatement else "object", value["object"],
                           lambda: check_object(value["object"], f"{prefix}object", in_substatement))
    if value["verb"]["id"] == VOIDED and object_type != "StatementRef":
        _fail(f"{prefix}object.objectType", "a voiding statement's object must be a StatementRef")
    if "result" in value:
        check_result(value["result"], f"{prefix}result")
    if "context" in value:
        _checked(f"context/{object_type}", value["context"],
                 lambda: check_context(value["context"], object_type, f"{prefix}context"))
    if "timestamp" in value:
        parse_timestamp(value["timestamp"], f"{prefix}timestamp")
    if "attachments" in value:
        check_attachments(value["attachments"], f"{prefix}attachments")


def validate_statement(value: Any, contents: Collection[str] = ()) -> dict[str, Any]:
    """Check one statement against the MUST rules of xAPI 1.0.3; return it unchanged.

    ``contents``: the sha2 hashes of attachment contents sent with the statement (multipart/mixed).
    """
    if not isinstance(value, dict):
        _fail("statement", "must be a JSON object")
    if "objectType" in value:
        _fail("objectType", "is only allowed on a SubStatement, not on a statement")
    _check_body(value, "", STATEMENT_KEYS)
    if "id" in value:
        check_uuid(value["id"], "id")
    if "stored" in value:
        parse_timestamp(value["stored"], "stored")
    if "authority" in value:
        check_authority(value["authority"])
    if "version" in value and (not isinstance(value["version"], str) or not VERSION_RE.match(value["version"])):
        _fail("version", f"must be a 1.0.x version, got {value['version']!r}")
    check_attachment_contents(value, contents)
    return value


def check_version_header(value: str | None) -> str:
    """The X-Experience-API-Version request header: required, 1.0 or 1.0.x."""
    if not value:
        raise UsageError("the X-Experience-API-Version header is required (send 1.0.3)")
    if not VERSION_RE.match(value.strip()):
        raise UsageError(f"X-Experience-API-Version {value!r} is not supported; this LRS speaks 1.0.3")
    return value.strip()
