"""Reading the content registry from CSV or JSON: one validated record per asset, all or nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eduops.core.bodies import CsvRows
from eduops.errors import UsageError, ValidationFailed

KINDS = ("video", "slides", "handout", "question")
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).replace(";", ",").replace("|", ",").split(",") if p.strip()]


class AssetIn(BaseModel):
    """One asset as a CSV row or JSON object; course and lesson are created when new."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=64)
    kind: str
    title: str = Field(min_length=1, max_length=300)
    course_code: str = Field("", max_length=64)
    course_title: str = Field("", max_length=200)
    subject: str = Field("", max_length=64)
    lesson: str = Field("", max_length=200)
    owner: str = Field("", max_length=64)
    syllabus_code: str = Field("", max_length=64)
    syllabus_version: str = Field("", max_length=32)
    syllabus_point: str = Field("", max_length=64)
    last_reviewed_at: date | None = None
    source: str = Field("", max_length=200)
    licence_holder: str = Field("", max_length=200)
    licence_type: str = Field("", max_length=64)
    licence_scope: list[str] = Field(default_factory=list)
    licence_start: date | None = None
    licence_expiry: date | None = None
    licence_proof: str = Field("", max_length=500)
    used_in: list[str] = Field(default_factory=list)
    times_used: int = Field(0, ge=0)
    attempts: int = Field(0, ge=0)
    correct_rate: float | None = Field(None, ge=0, le=1)
    xapi_object_id: str = Field("", max_length=500)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return value

    @field_validator("licence_scope", "used_in", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return _split(value)

    @field_validator("last_reviewed_at", "licence_start", "licence_expiry", "correct_rate", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("times_used", "attempts", mode="before")
    @classmethod
    def _empty_is_zero(cls, value: Any) -> Any:
        return 0 if value == "" else value


def parse_records(raw: list[dict[str, Any]], where: str = "record") -> list[AssetIn]:
    """Validate every record; one bad record rejects the whole import, naming its row and field."""
    records: list[AssetIn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, row in enumerate(raw, start=1):
        if not isinstance(row, dict):
            problems.append(f"{where} {n}: expected an object, got {type(row).__name__}")
            continue
        try:
            record = AssetIn.model_validate({k: v for k, v in row.items() if k is not None})
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or "?"
                problems.append(f"{where} {n}: {field}: {e['msg']}")
            continue
        if record.code in seen:
            problems.append(f"{where} {n}: code {record.code!r} appears twice")
        seen.add(record.code)
        records.append(record)
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise ValidationFailed("nothing imported; fix these and retry:\n  " + "\n  ".join(shown))
    return records


def read_csv(data: bytes) -> list[AssetIn]:
    text = _decode(data)
    reader = CsvRows(text)
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise UsageError("the CSV needs a header row with at least code, kind and title")
    return parse_records(list(reader), where="row")


def read_json(data: bytes) -> list[AssetIn]:
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON: {exc}") from None
    if isinstance(doc, dict):
        doc = doc.get("assets")
    if not isinstance(doc, list):
        raise UsageError('expected a JSON list of assets or an object {"assets": [...]}')
    return parse_records(doc)


def read_file(name: str, data: bytes) -> list[AssetIn]:
    if len(data) > MAX_IMPORT_BYTES:
        from eduops.errors import PayloadTooLarge

        raise PayloadTooLarge(f"{name} is {len(data)} bytes; the limit is {MAX_IMPORT_BYTES}")
    if name.lower().endswith(".json"):
        return read_json(data)
    if name.lower().endswith(".csv"):
        return read_csv(data)
    raise UsageError(f"{name}: expected a .csv or .json file")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UsageError("the file is neither UTF-8 nor GB18030 text")
