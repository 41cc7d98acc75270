"""The statement fast path (``fastpath.row``, compiled and as Python source) only ever says "valid, and here is
the row the exact path makes"; for everything else, invalid or just unusual, it says None."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduops.analytics import activities, extract, fastpath, lrs, vocab
from eduops.analytics.xapi import StatementInvalid, parse_timestamp, validate_statement

from .helpers import mutate
from .test_xapi_rules import BASE, INVALID, VALID

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example", "name": "key-1"}}
STORED_AT = "2026-12-06T08:00:00.123456Z"
STORED = parse_timestamp(STORED_AT)


def modules() -> list[ModuleType]:
    chosen = fastpath.compiled()
    return [fastpath] if chosen is fastpath else [fastpath, chosen]


def fast_row(module: ModuleType, statement: Any) -> dict[str, Any] | None:
    row: dict[str, Any] | None = module.row(copy.deepcopy(statement), AUTHORITY, extract.agent_ifi(AUTHORITY),
                                            STORED_AT, STORED.replace(tzinfo=None))
    return row


def exact_row(statement: Any) -> dict[str, Any]:
    return extract.to_row(lrs.prepare(validate_statement(copy.deepcopy(statement)), AUTHORITY, STORED_AT), STORED)


def same_row(fast: dict[str, Any], exact: dict[str, Any]) -> None:
    assert {**fast, "keys": sorted(fast["keys"])} == {**exact, "keys": sorted(exact["keys"])}


def test_the_compiled_fast_path_is_installed_and_current() -> None:
    """``make venv`` (pip install) builds it; a stale build would fall back to the source, slowly."""
    assert fastpath.compiled().__name__ == "eduops.analytics._fastpath_c", (
        "the compiled fast path is missing or stale: `make venv` (pip install -e .) builds it")


def test_a_build_from_another_source_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastpath, "_CHOSEN", None)
    monkeypatch.setattr(fastpath, "source_digest", lambda: "0" * 64)
    assert fastpath.compiled() is fastpath


COMMON: list[tuple[str, dict[str, Any]]] = [
    ("the rules' base statement", BASE),
    ("no context", {k: v for k, v in BASE.items() if k != "context"}),
    ("no result", {k: v for k, v in BASE.items() if k != "result"}),
    ("agent by account, upper-case id", {**BASE, "id": BASE["id"].upper(),
                                         "actor": {"account": {"homePage": "https://l.example", "name": "u-1"}}}),
    ("timestamp with microseconds", {**BASE, "timestamp": "2026-03-02T09:00:00.123456Z"}),
    ("timestamp without fraction", {**BASE, "timestamp": "2026-03-02T09:00:00Z"}),
    ("course-typed parent and grouping", mutate(BASE, "context.contextActivities", {
        "grouping": [{"id": "https://x.example/c", "definition": {"type": vocab.COURSE_TYPE}}],
        "parent": [{"id": "https://x.example/c/term-1", "definition": {"type": vocab.COURSE_TYPE}}]})),
    ("eduops extensions", mutate(BASE, "context.extensions", {
        vocab.REGION_EXT: "east", vocab.DEVICE_EXT: 3, vocab.TEACHER_EXT: "t-1", vocab.VIDEO_LENGTH_EXT: 600})),
    ("video result extensions", mutate(BASE, "result.extensions", {
        vocab.VIDEO_SEGMENTS_EXT: "0[.]30", vocab.VIDEO_PROGRESS_EXT: True})),
    ("object is the course itself", mutate(BASE, "object.definition", {"type": vocab.COURSE_TYPE,
                                                                       "name": {"zh-CN": "课程"}})),
]


@pytest.mark.parametrize(("label", "statement"), COMMON, ids=[c[0] for c in COMMON])
def test_common_statements_get_the_exact_paths_row(label: str, statement: dict[str, Any]) -> None:
    for module in modules():
        row = fast_row(module, statement)
        assert row is not None, f"{module.__name__} declined {label}"
        same_row(row, exact_row(statement))


@pytest.mark.parametrize(("label", "path", "value", "field", "rule"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_statements_are_never_taken(label: str, path: str, value: Any, field: str, rule: str) -> None:
    statement = mutate(BASE, path, value)
    with pytest.raises(StatementInvalid):
        validate_statement(copy.deepcopy(statement))
    for module in modules():
        assert fast_row(module, statement) is None


@pytest.mark.parametrize(("label", "path", "value"), VALID, ids=[v[0] for v in VALID])
def test_valid_statements_are_taken_exactly_or_left_to_the_exact_path(label: str, path: str, value: Any) -> None:
    statement = mutate(BASE, path, value)
    if path == "object" and value.get("objectType") != "Activity":
        statement["context"].pop("platform")
        statement["context"].pop("revision")
    for module in modules():
        row = fast_row(module, statement)
        if row is not None:
            same_row(row, exact_row(statement))


def test_a_voiding_is_left_to_the_exact_path() -> None:
    voiding = {**BASE, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3302"}}
    voiding.pop("context")
    for module in modules():
        assert fast_row(module, voiding) is None


# generated statements: the base with its fields replaced by values of their type or of any type
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from(["", "2026-03-02T09:00:00Z", "2026-02-30T09:00:00Z", "2026-03-02T09:00:00.5Z",
                                     "PT1H", "P", "mailto:a@b", "https://x.example/a", "https://x.example/a\n",
                                     "zh-CN", "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "1.0.3"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
PATHS = ["id", "actor", "actor.mbox", "actor.name", "actor.objectType", "verb", "verb.id", "verb.display",
         "object", "object.id", "object.objectType", "object.definition", "object.definition.type",
         "object.definition.name", "result", "result.score", "result.score.scaled", "result.score.raw",
         "result.success", "result.duration", "result.response", "result.extensions", "context",
         "context.registration", "context.instructor", "context.contextActivities", "context.language",
         "context.extensions", "context.platform", "timestamp", "stored", "authority", "version"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_generated_statements_are_taken_only_when_valid_and_then_exactly(changes: list[tuple[str, Any]]) -> None:
    statement: Any = BASE
    for path, value in changes:
        try:
            statement = mutate(statement, path, value)
        except (TypeError, KeyError, AttributeError, ValueError, IndexError):
            return  # the path no longer leads anywhere (a parent was replaced by a scalar)
    for module in modules():
        row = fast_row(module, statement)
        if row is not None:
            same_row(row, exact_row(statement))  # raises StatementInvalid if the fast path took an invalid one


def test_batch_values_mix_both_paths_in_order() -> None:
    odd = mutate(BASE, "actor", {"openid": "https://openid.example/l"})  # valid, not of the common shape
    batch = [{**BASE, "id": f"3f2504e0-4f89-41d3-9a0c-0305e82c33{n:02d}"} for n in range(3)]
    batch[1] = {**odd, "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3399"}
    ids, rows = lrs.batch_values(batch, AUTHORITY, STORED_AT)
    assert ids == [s["id"] for s in batch]
    for statement, values in zip(batch, rows, strict=True):
        same_row(dict(zip(fastpath.FIELDS, values, strict=True)), exact_row(statement))
    with pytest.raises(StatementInvalid):
        lrs.batch_values([*batch, {**BASE, "id": "not-a-uuid"}], AUTHORITY, STORED_AT)


def _with_id(statement: dict[str, Any], n: int) -> dict[str, Any]:
    return {**statement, "id": f"3f2504e0-4f89-41d3-9a0c-0305e82c34{n:02d}"}


_COURSE = {"id": "https://x.example/c", "definition": {"type": vocab.COURSE_TYPE, "name": {"en": "Course"}}}
_RENAMED = {"id": "https://x.example/c", "definition": {"type": vocab.COURSE_TYPE, "name": {"zh-CN": "课程"}}}
DEFINITION_BATCHES: list[tuple[str, list[dict[str, Any]]]] = [
    ("none carried", [mutate(BASE, "object", {"id": "https://x.example/a"})]),
    ("the object's, the same twice", [BASE, BASE]),
    ("the object's, merged language maps", [
        mutate(BASE, "object.definition", {"name": {"en": "Lesson"}, "extensions": {"https://x.example/e": 1}}),
        mutate(BASE, "object.definition", {"name": {"fr": "Leçon"}, "type": "https://x.example/t"})]),
    ("context activities in every group, repeated by the next statement", [
        mutate(BASE, "context.contextActivities", {"other": [_RENAMED], "grouping": [_COURSE],
                                                   "parent": [{"id": "https://x.example/p"}]})] * 2),
    ("the object is a context activity of the next one", [
        mutate(BASE, "object", _COURSE), mutate(BASE, "context.contextActivities", {"category": [_RENAMED]})]),
    ("one statement the exact path takes", [BASE, mutate(BASE, "actor", {"openid": "https://openid.example/l"}),
                                            mutate(BASE, "context.contextActivities", {"parent": [_RENAMED]})]),
]


@pytest.mark.parametrize(("label", "batch"), DEFINITION_BATCHES, ids=[c[0] for c in DEFINITION_BATCHES])
def test_batch_values_gathers_the_batchs_definitions_as_definitions_of(label: str, batch: list[dict[str, Any]]) -> None:
    """An ingest helper sends the batch's activity definitions with its rows: gathered on the fast path's way,
    they are what ``activities.definitions_of`` gives (object first, then parent, grouping, category, other)."""
    batch = [_with_id(s, n) for n, s in enumerate(batch)]
    for module in modules():
        fastpath._CHOSEN = module
        try:
            found: dict[str, dict[str, Any]] = {}
            lrs.batch_values(copy.deepcopy(batch), AUTHORITY, STORED_AT, found)
        finally:
            fastpath._CHOSEN = None
        assert found == activities.definitions_of(batch), module.__name__
        assert list(found) == list(activities.definitions_of(batch))


def test_values_are_the_rows_columns_in_the_stores_order() -> None:
    """``values`` feeds ``store.values_to_arrow``: the same order as the exact path's row and ``ARROW_SCHEMA``."""
    from eduops.analytics.store import ARROW_SCHEMA, to_arrow, values_to_arrow

    exact = exact_row(BASE)
    assert fastpath.FIELDS == tuple(exact) == tuple(ARROW_SCHEMA.names)
    for module in modules():
        taken = module.values(copy.deepcopy(BASE), AUTHORITY, extract.agent_ifi(AUTHORITY), STORED_AT,
                              STORED.replace(tzinfo=None))
        assert values_to_arrow([taken]).to_pylist() == to_arrow([fast_row(module, BASE)]).to_pylist()


@pytest.mark.parametrize(("course", "part"), [
    ("https://lms.example.edu/course/c1/unit-2/lesson-3", None),  # rolled up to the course and its part
    ("https://lms.example.edu/course/c1/unit-2", "https://lms.example.edu/course/c1/unit-9"),  # a part given wins
    ("https://elsewhere.example/c1/unit-2", None),  # under no prefix: unchanged
    (None, None),
])
def test_values_with_prefixes_rolls_up_as_with_prefixes(course: str | None, part: str | None) -> None:
    prefixes = ("https://lms.example.edu/course/",)
    row = {**exact_row(BASE), "course": course, "part": part}
    as_values = tuple(row[name] for name in fastpath.FIELDS)
    expected = extract.with_prefixes([row], prefixes)[0]
    assert extract.values_with_prefixes([as_values], prefixes) == [tuple(expected[n] for n in fastpath.FIELDS)]
