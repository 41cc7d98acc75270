"""The one body reader's rules: JSON depth, CSV field limits, each a 400 that says what is wrong."""

from __future__ import annotations

import pytest

from eduops.core.bodies import MAX_JSON_DEPTH, CsvRows, json_depth_ok, parse_json
from eduops.errors import UsageError


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000, "nested more than"),
        (b'{"a":' * 5000, "nested more than"),
        (nested(MAX_JSON_DEPTH + 1), "nested more than"),
    ],
)
def test_bad_json_is_a_400_saying_what_is_wrong(raw: bytes, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_json(raw)


@pytest.mark.parametrize(("value", "ok"), [
    (1, True), ([], True), ({"a": [1, {"b": []}]}, True),
    (parse_json(nested(MAX_JSON_DEPTH)), True),
    ({"a": parse_json(nested(MAX_JSON_DEPTH))}, False),
])
def test_depth(value: object, ok: bool) -> None:
    assert json_depth_ok(value) is ok


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("text\n" + "x" * 131_073 + "\n", "line 2: a field is longer than 131072"),
        ("x" * 131_073 + "\nsome\n", "line 1: a field is longer than 131072"),
    ],
)
def test_csv_problems_are_400s_naming_the_line(text: str, words: str) -> None:
    rows = CsvRows(text)
    with pytest.raises(UsageError, match=words):
        assert rows.fieldnames
        list(rows)


def test_csv_at_the_limit_is_read() -> None:
    rows = CsvRows("text\n" + "x" * 131_072 + "\n")
    assert rows.fieldnames == ["text"]
    assert [len(r["text"]) for r in rows] == [131_072]
