"""Every MUST rule of xAPI 1.0.3 the LRS enforces: a valid statement, one change, the field and rule named."""

from __future__ import annotations

from typing import Any

import pytest

from eduops.analytics.xapi import (
    StatementInvalid,
    check_version_header,
    duration_seconds,
    parse_timestamp,
    validate_statement,
)
from eduops.errors import UsageError

from .helpers import DELETE, day, mutate, statement

BASE = statement("learner-1", "completed", day(0), obj="course/a/lesson-1",
                 result={"score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10}, "success": True,
                         "completion": True, "duration": "PT15M30S"},
                 id="3f2504e0-4f89-41d3-9a0c-0305e82c3301")
BASE["context"].update({"registration": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "platform": "Moodle",
                        "revision": "2", "language": "zh-CN", "instructor": {"mbox": "mailto:t@example.edu"}})
ANON_GROUP = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.edu"}]}
SUB = {"objectType": "SubStatement", "actor": {"mbox": "mailto:a@example.edu"},
       "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}, "object": {"id": "https://x.example/a"}}

VALID: list[tuple[str, str, Any]] = [
    ("the base statement", "id", BASE["id"]),
    ("no id (the LRS assigns one)", "id", DELETE),
    ("agent by mbox", "actor", {"mbox": "mailto:l@example.edu", "name": "L"}),
    ("agent by mbox_sha1sum", "actor", {"mbox_sha1sum": "a" * 40}),
    ("agent by openid", "actor", {"openid": "https://openid.example/l"}),
    ("anonymous group with members", "actor", ANON_GROUP),
    ("identified group without members", "actor", {"objectType": "Group", "mbox": "mailto:g@example.edu"}),
    ("object is an agent (no platform/revision)", "object", {"objectType": "Agent", "mbox": "mailto:b@x.example"}),
    ("object is a SubStatement", "object", SUB),
    ("timestamp with an offset", "timestamp", "2026-03-02T17:00:00.123+08:00"),
    ("timestamp without seconds' fraction", "timestamp", "2026-03-02T09:00:00Z"),
    ("language map with script and region", "verb.display", {"zh-Hans-CN": "完成", "en": "completed"}),
    ("score raw at max", "result.score", {"raw": 10, "min": 0, "max": 10}),
    ("scaled score of -1", "result.score", {"scaled": -1}),
    ("duration in days", "result.duration", "P1DT2H"),
    ("choice interaction", "object.definition", {"interactionType": "choice", "correctResponsesPattern": ["a"],
                                                 "choices": [{"id": "a", "description": {"en": "A"}}]}),
    ("extensions with IRI keys", "context.extensions", {"https://x.example/ext": {"any": ["json"]}}),
    ("version 1.0.3", "version", "1.0.3"),
    ("interactionType with its pattern", "object.definition", {"interactionType": "fill-in",
                                                                "correctResponsesPattern": ["x"]}),
    ("authority: one Agent", "authority", {"mbox": "mailto:lrs@example.edu"}),
    ("authority: OAuth client and user", "authority", {"objectType": "Group", "member": [
        {"account": {"homePage": "https://lrs.example", "name": "client"}}, {"mbox": "mailto:u@example.edu"}]}),
    ("duration in weeks alone", "result.duration", "P4W"),
    ("duration with a fraction on its smallest unit", "result.duration", "P1DT1.25H"),
    ("single context activity object", "context.contextActivities", {"parent": {"id": "https://x.example/p"}}),
]


@pytest.mark.parametrize(("label", "path", "value"), VALID, ids=[v[0] for v in VALID])
def test_valid_statements_pass(label: str, path: str, value: Any) -> None:
    changed = mutate(BASE, path, value)
    if path == "object" and value.get("objectType") != "Activity":
        changed["context"].pop("platform")
        changed["context"].pop("revision")
    validate_statement(changed)


INVALID: list[tuple[str, str, Any, str, str]] = [
    # label, path, value, field named in the error, words of the rule
    ("actor missing", "actor", DELETE, "actor", "is required"),
    ("verb missing", "verb", DELETE, "verb", "is required"),
    ("object missing", "object", DELETE, "object", "is required"),
    ("unknown top-level property", "colour", "blue", "colour", "not a property"),
    ("null value", "result.response", None, "result.response", "must not be null"),
    ("agent with no identifier", "actor", {"name": "nobody"}, "actor", "exactly one inverse functional identifier"),
    ("agent with two identifiers", "actor", {"mbox": "mailto:a@x.example", "openid": "https://o.example/a"},
     "actor", "exactly one"),
    ("mbox without mailto", "actor", {"mbox": "a@x.example"}, "actor.mbox", "mailto:"),
    ("mbox_sha1sum not 40 hex", "actor", {"mbox_sha1sum": "abc"}, "actor.mbox_sha1sum", "40 hex"),
    ("openid not an IRI", "actor", {"openid": "not an iri"}, "actor.openid", "IRI"),
    ("account without homePage", "actor", {"account": {"name": "x"}}, "actor.account.homePage", "is required"),
    ("account homePage not an IRI", "actor", {"account": {"homePage": "lms", "name": "x"}},
     "actor.account.homePage", "IRI"),
    ("account with extra key", "actor", {"account": {"homePage": "https://l.example", "name": "x", "id": 1}},
     "actor.account.id", "not a property"),
    ("agent with wrong objectType", "actor", {"objectType": "Person", "mbox": "mailto:a@x.example"},
     "actor.objectType", "Agent"),
    ("anonymous group without members", "actor", {"objectType": "Group", "name": "g"}, "actor.member",
     "at least one member"),
    ("group member that is a group", "actor", {"objectType": "Group", "member": [ANON_GROUP]}, "actor.member[0]",
     "must be Agents"),
    ("verb id not an IRI", "verb.id", "completed", "verb.id", "IRI"),
    ("verb display not a language map", "verb.display", "completed", "verb.display", "language map"),
    ("bad language tag", "verb.display", {"english!": "completed"}, "verb.display.english!", "RFC 5646"),
    ("language map value not a string", "verb.display", {"en": 5}, "verb.display.en", "must be a string"),
    ("activity id not an IRI", "object.id", "lesson 1", "object.id", "IRI"),
    ("unknown objectType", "object.objectType", "Thing", "object.objectType", "Activity, Agent, Group"),
    ("activity type not an IRI", "object.definition", {"type": "course"}, "object.definition.type", "IRI"),
    ("unknown interaction type", "object.definition", {"interactionType": "essay"},
     "object.definition.interactionType", "must be one of"),
    ("component list with the wrong interaction", "object.definition",
     {"interactionType": "true-false", "choices": [{"id": "a"}]}, "object.definition.choices", "only allowed"),
    ("duplicate component ids", "object.definition",
     {"interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]}, "object.definition.choices[1].id",
     "unique"),
    ("StatementRef id not a UUID", "object", {"objectType": "StatementRef", "id": "42"}, "object.id", "UUID"),
    ("SubStatement with an id", "object", {**SUB, "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3302"}, "object.id",
     "not a property"),
    ("SubStatement inside a SubStatement", "object", {**SUB, "object": SUB}, "object.object.objectType",
     "must not contain another SubStatement"),
    ("scaled score above 1", "result.score", {"scaled": 1.5}, "result.score.scaled", "between -1 and 1"),
    ("scaled score below -1", "result.score", {"scaled": -1.01}, "result.score.scaled", "between -1 and 1"),
    ("raw below min", "result.score", {"raw": -1, "min": 0, "max": 10}, "result.score.raw", "below min"),
    ("raw above max", "result.score", {"raw": 11, "min": 0, "max": 10}, "result.score.raw", "above max"),
    ("max not above min", "result.score", {"min": 5, "max": 5}, "result.score.max", "greater than min"),
    ("score not a number", "result.score", {"scaled": "0.5"}, "result.score.scaled", "must be a number"),
    ("success not boolean", "result.success", "yes", "result.success", "true or false"),
    ("duration not ISO 8601", "result.duration", "15 minutes", "result.duration", "ISO 8601 duration"),
    ("duration with no parts", "result.duration", "P", "result.duration", "ISO 8601 duration"),
    ("timestamp not ISO 8601", "timestamp", "02/03/2026 09:00", "timestamp", "ISO 8601"),
    ("timestamp with -00:00", "timestamp", "2026-03-02T09:00:00-00:00", "timestamp", "-00:00"),
    ("timestamp not a real day", "timestamp", "2026-02-30T09:00:00Z", "timestamp", "real date"),
    ("id not a UUID", "id", "statement-1", "id", "UUID"),
    ("registration not a UUID", "context.registration", "reg-1", "context.registration", "UUID"),
    ("context language not a tag", "context.language", "chinese simplified", "context.language", "RFC 5646"),
    ("context activity not an activity", "context.contextActivities",
     {"parent": [{"id": "not an iri"}]}, "context.contextActivities.parent[0].id", "IRI"),
    ("unknown contextActivities key", "context.contextActivities", {"sibling": []},
     "context.contextActivities.sibling", "not a property"),
    ("team that is an agent", "context.team", {"mbox": "mailto:t@x.example"}, "context.team.objectType",
     "is required"),
    ("extension key not an IRI", "context.extensions", {"region": "east"}, "context.extensions['region']", "IRI"),
    ("version 2.0", "version", "2.0.0", "version", "1.0.x"),
    ("authority without identifier", "authority", {"name": "x"}, "authority", "exactly one"),
    ("voiding with an activity object", "verb.id", "http://adlnet.gov/expapi/verbs/voided", "object.objectType",
     "StatementRef"),
    ("attachment without fileUrl", "attachments",
     [{"usageType": "https://x.example/u", "display": {"en": "a"}, "contentType": "text/plain", "length": 1,
       "sha2": "ab"}], "attachments[0].fileUrl", "fileUrl"),
    ("statement with objectType", "objectType", "Statement", "objectType", "only allowed on a SubStatement"),
    ("interactionType missing with correctResponsesPattern", "object.definition", {"correctResponsesPattern": ["a"]},
     "object.definition.interactionType", "required when correctResponsesPattern"),
    *[(f"interactionType missing with {key}", "object.definition", {key: [{"id": "a"}]},
       "object.definition.interactionType", f"required when {key}")
      for key in ("choices", "scale", "source", "target", "steps")],
    *[(f"interactionType as {kind}", "object.definition", {"interactionType": value},
       "object.definition.interactionType", "must be one of")
      for kind, value in (("an object", {"choice": 1}), ("an array", ["choice"]), ("a number", 7),
                          ("a boolean", True))],
    ("authority: Group of three", "authority", {"objectType": "Group", "member": [
        {"mbox": f"mailto:{n}@x.example"} for n in "abc"]}, "authority.member", "exactly two"),
    ("authority: Group of one", "authority", {"objectType": "Group", "member": [{"mbox": "mailto:a@x.example"}]},
     "authority.member", "exactly two"),
    ("authority: identified Group", "authority", {"objectType": "Group", "mbox": "mailto:g@x.example", "member": [
        {"mbox": "mailto:a@x.example"}, {"mbox": "mailto:b@x.example"}]}, "authority", "anonymous"),
    ("duration: weeks with days", "result.duration", "P4W1D", "result.duration", "ISO 8601 duration"),
    ("duration: T with nothing after", "result.duration", "P1DT", "result.duration", "ISO 8601 duration"),
    ("duration: fraction before the smallest unit", "result.duration", "PT1.5H30M", "result.duration",
     "smallest unit"),
    ("duration: not a string", "result.duration", 90, "result.duration", "ISO 8601 duration"),
]
# a trailing newline is not part of any value the spec allows ("$" in a pattern would let it through)
INVALID += [(f"trailing newline: {path}", path, value + "\n", field, "")
            for path, value, field in (("id", "8f4c8f1e-5d2a-4a1e-9b1a-2f1d1c0a0b0c", "id"),
                                       ("timestamp", "2026-04-07T19:14:31.926Z", "timestamp"),
                                       ("verb.id", "http://adlnet.gov/expapi/verbs/completed", "verb.id"),
                                       ("result.duration", "PT30S", "result.duration"),
                                       ("version", "1.0.3", "version"))]


@pytest.mark.parametrize(("label", "path", "value", "field", "rule"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_statements_name_the_field_and_rule(label: str, path: str, value: Any, field: str, rule: str) -> None:
    with pytest.raises(StatementInvalid) as caught:
        validate_statement(mutate(BASE, path, value))
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert caught.value.http_status == 400


@pytest.mark.parametrize(("object_value", "key"), [
    ({"objectType": "Agent", "mbox": "mailto:b@x.example"}, "platform"),
    ({"objectType": "Group", "mbox": "mailto:g@x.example"}, "revision"),
])
def test_revision_and_platform_only_with_an_activity(object_value: dict[str, Any], key: str) -> None:
    s = mutate(BASE, "object", object_value)
    s["context"] = {key: "x"}
    with pytest.raises(StatementInvalid) as caught:
        validate_statement(s)
    assert caught.value.field == f"context.{key}"
    assert "Activity" in caught.value.rule


@pytest.mark.parametrize(("text", "seconds"), [
    ("PT0S", 0), ("PT15M30S", 930), ("PT1.5S", 1.5), ("P1D", 86400), ("P1W", 604800), ("P1DT1H", 90000),
    ("PT36H", 129600), ("P1Y", 365 * 86400), ("P1M", 30 * 86400), ("P4W", 4 * 604800), ("P0.5D", 43200),
    ("PT1,5S", 1.5),
])
def test_durations_in_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(("text", "iso_utc"), [
    ("2026-03-02T09:00:00Z", "2026-03-02T09:00:00+00:00"),
    ("2026-03-02T17:00:00+08:00", "2026-03-02T09:00:00+00:00"),
    ("2026-03-02T17:00:00+0800", "2026-03-02T09:00:00+00:00"),
    ("2026-03-02T09:00:00.1234567Z", "2026-03-02T09:00:00.123456+00:00"),
    ("2026-03-02T09:00", "2026-03-02T09:00:00+00:00"),
    ("2026-03-02T09:00:00.123Z", "2026-03-02T09:00:00.123000+00:00"),
    ("2026-03-02T09:00:00.123456Z", "2026-03-02T09:00:00.123456+00:00"),
    ("2026-03-02t09:00:00.12Z", "2026-03-02T09:00:00.120000+00:00"),
])
def test_timestamps_become_utc(text: str, iso_utc: str) -> None:
    assert parse_timestamp(text).isoformat() == iso_utc


@pytest.mark.parametrize("text", ["2026-03-02T09:00:00+24:00", "2026-03-02T09:00:00-25:00",
                                  "2026-03-02T09:00:00+99:99", "2026-03-02T09:00:00+05:60"])
def test_timestamp_offsets_out_of_range_are_invalid_not_crashes(text: str) -> None:
    with pytest.raises(StatementInvalid, match="outside -23:59..+23:59"):
        parse_timestamp(text)


def test_the_largest_offsets_are_accepted() -> None:
    assert parse_timestamp("2026-03-02T09:00:00+23:59").isoformat() == "2026-03-01T09:01:00+00:00"
    assert parse_timestamp("2026-03-02T09:00:00-23:59").isoformat() == "2026-03-03T08:59:00+00:00"


@pytest.mark.parametrize(("header", "ok"), [("1.0.3", True), ("1.0", True), ("1.0.0", True), (None, False),
                                            ("", False), ("0.95", False), ("2.0.0", False)])
def test_version_header(header: str | None, ok: bool) -> None:
    if ok:
        assert check_version_header(header)
    else:
        with pytest.raises(UsageError):
            check_version_header(header)


@pytest.mark.parametrize(("region", "length", "expected"), [
    ("Henan", 120, ("Henan", 120.0)),
    (7, "120", ("7", None)),
    ({"name": "Henan"}, [1], (None, None)),
    (True, True, (None, None)),
])
def test_extension_values_of_the_wrong_type_are_left_out_of_the_columns(region, length, expected) -> None:
    from eduops.analytics import vocab
    from eduops.analytics.extract import to_row

    statement = {
        "id": "6f1c6b0e-1b7e-4c6e-9a51-0d5f5f3d2a10", "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": "https://example.com/c"},
        "timestamp": "2026-03-02T09:00:00Z", "stored": "2026-03-02T09:00:01Z",
        "context": {"extensions": {vocab.REGION_EXT: region, vocab.VIDEO_LENGTH_EXT: length}},
    }
    row = to_row(statement)
    assert (row["region"], row["video_length_s"]) == expected


def test_statements_sharing_a_context_get_its_columns_and_others_their_own() -> None:
    """Context columns are derived once per distinct context: a context seen before must not lend its
    columns to a different one, however alike (a number for a string, one more parent)."""
    from eduops.analytics import vocab
    from eduops.analytics.extract import to_row

    course = {"id": "https://x.example/course/a", "definition": {"type": vocab.COURSE_TYPE}}
    first = {"instructor": {"mbox": "mailto:t@x.example"}, "contextActivities": {"parent": [course]},
             "extensions": {vocab.REGION_EXT: "east", vocab.DEVICE_EXT: "ios"}}
    number = {**first, "extensions": {vocab.REGION_EXT: 7, vocab.DEVICE_EXT: "ios"}}
    two_parents = {**first, "contextActivities": {"parent": [{"id": "https://x.example/p"}, course]}}
    huge = {**first, "extensions": {vocab.REGION_EXT: "east", vocab.TEACHER_EXT: 2**70}}

    def row(context: dict[str, Any]) -> tuple[Any, ...]:
        r = to_row({"id": "6f1c6b0e-1b7e-4c6e-9a51-0d5f5f3d2a10", "actor": {"mbox": "mailto:a@x.example"},
                    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                    "object": {"id": "https://x.example/course/a/l1"}, "timestamp": "2026-03-02T09:00:00Z",
                    "stored": "2026-03-02T09:00:01Z", "context": context})
        return r["course"], r["region"], r["device"], r["teacher"], r["related_activities"]

    lesson = "https://x.example/course/a/l1"
    expected_first = ("https://x.example/course/a", "east", "ios", "mailto:t@x.example",
                      f"\n{lesson}\nhttps://x.example/course/a\n")
    assert row(first) == expected_first
    assert row(number)[1] == "7"
    assert row(two_parents)[0] == "https://x.example/course/a"
    assert row(two_parents)[4] == f"\n{lesson}\nhttps://x.example/p\nhttps://x.example/course/a\n"
    assert row(huge)[3] == str(2**70)  # beyond orjson's 64 bits: derived without the cache
    assert row(first) == expected_first
