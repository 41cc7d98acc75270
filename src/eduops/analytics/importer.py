"""`eduops analytics import`: xAPI JSON/JSONL, or CSV enrolment and outcome tables, into the event store.

Each record is checked on its own: a bad one is skipped and counted under its reason, the good ones
are stored in atomic batches. CSV rows become xAPI statements (registered / passed / failed /
completed / unregistered on the course activity) with ids derived from their content, so importing
the same file twice stores nothing new.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from eduops.analytics import activities, lrs, vocab
from eduops.analytics.store import open_store
from eduops.analytics.xapi import StatementInvalid, parse_timestamp, validate_statement
from eduops.config import Settings
from eduops.core.bodies import CsvRows
from eduops.db import make_engine
from eduops.errors import Conflict, UsageError

log = logging.getLogger(__name__)

CSV_FIELDS = {
    "enrolments": ("learner", "course", "timestamp", "region", "teacher", "device", "name"),
    "outcomes": ("learner", "course", "outcome", "timestamp", "score", "region", "teacher", "device", "name"),
}
OUTCOME_VERBS = {"passed": vocab.VERBS["passed"], "failed": vocab.VERBS["failed"],
                 "completed": vocab.VERBS["completed"], "withdrawn": vocab.VERBS["unregistered"]}
ID_NAMESPACE = uuid.UUID("5b0e9a52-3f0c-4c0e-9d1e-6a1b7f3e2c11")


@dataclass
class ImportSummary:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason.split(",")[0][:120]] += 1
        if len(self.examples) < 20:
            self.examples.append((line, reason))

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected,
                "reasons": dict(self.reasons.most_common()), "examples": [
                    {"record": n, "reason": r} for n, r in self.examples]}


def parse_mapping(items: list[str], kind: str) -> dict[str, str]:
    """``field=column`` pairs; unmapped fields are read from a column of the same name."""
    mapping = {f: f for f in CSV_FIELDS[kind]}
    for item in items:
        name, sep, column = item.partition("=")
        if not sep or name.strip() not in mapping or not column.strip():
            raise UsageError(f"--column {item!r}: expected FIELD=COLUMN with FIELD one of "
                             f"{', '.join(CSV_FIELDS[kind])}")
        mapping[name.strip()] = column.strip()
    return mapping


def _records_json(path: Path) -> Iterator[tuple[int, Any, float]]:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and "\n{" not in stripped.strip()):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc}); for one statement per line use .jsonl") from None
        if isinstance(data, dict) and isinstance(data.get("statements"), list):
            data = data["statements"]
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items, start=1):
            yield i, item, i / max(len(items), 1)
        return
    lines = text.splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line), i / len(lines)
        except ValueError as exc:
            yield i, exc, i / len(lines)


def _statement_from_row(kind: str, row: dict[str, str], m: dict[str, str], course: str | None,
                        home_page: str) -> dict[str, Any]:
    def get(name: str) -> str:
        return (row.get(m[name]) or "").strip()

    learner, course_id = get("learner"), get("course") or (course or "")
    if not learner:
        raise UsageError(f"no learner (column {m['learner']!r})")
    if not course_id:
        raise UsageError(f"no course (column {m['course']!r}; or pass --course)")
    when = get("timestamp")
    result: dict[str, Any] = {}
    if not when:
        raise UsageError(f"no timestamp (column {m['timestamp']!r})")
    if len(when) == 10:
        when += "T00:00:00Z"
    parse_timestamp(when, "timestamp")
    if kind == "enrolments":
        verb = vocab.VERBS["registered"]
    else:
        outcome = get("outcome").lower()
        if outcome not in OUTCOME_VERBS:
            raise UsageError(f"outcome {outcome!r} is not one of {', '.join(OUTCOME_VERBS)}")
        verb = OUTCOME_VERBS[outcome]
        result = {"success": outcome == "passed"} if outcome in ("passed", "failed") else {}
        if outcome == "completed":
            result = {"completion": True}
        score = get("score")
        if score:
            try:
                result["score"] = {"scaled": float(score)}
            except ValueError:
                raise UsageError(f"score {score!r} is not a number") from None
    extensions = {ext: get(name) for name, ext in (("region", vocab.REGION_EXT), ("device", vocab.DEVICE_EXT),
                                                   ("teacher", vocab.TEACHER_EXT)) if get(name)}
    actor: dict[str, Any] = {"objectType": "Agent", "account": {"homePage": home_page, "name": learner}}
    if get("name"):
        actor["name"] = get("name")
    statement: dict[str, Any] = {
        "actor": actor, "verb": {"id": verb},
        "object": {"objectType": "Activity", "id": course_id, "definition": {"type": vocab.COURSE_TYPE}},
        "timestamp": when,
    }
    if extensions:
        statement["context"] = {"extensions": extensions}
    if result:
        statement["result"] = result
    statement["id"] = str(uuid.uuid5(ID_NAMESPACE, json.dumps(statement, sort_keys=True)))
    return statement


def _records_csv(path: Path, kind: str, mapping: dict[str, str], course: str | None,
                 home_page: str) -> Iterator[tuple[int, Any, float]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        lines = sum(1 for _ in fh)
        fh.seek(0)
        reader = CsvRows(fh, str(path))
        missing = [c for f, c in mapping.items() if f in ("learner",) and c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path}: no column {missing[0]!r}; columns are {', '.join(reader.fieldnames or [])}"
                             " (map one with --column learner=COLUMN)")
        for i, row in enumerate(reader, start=2):
            try:
                yield i, _statement_from_row(kind, row, mapping, course, home_page), i / max(lines, 1)
            except (UsageError, StatementInvalid) as exc:
                yield i, exc, i / max(lines, 1)


def import_file(settings: Settings, path: Path, kind: str = "", mapping: list[str] | None = None,
                course: str | None = None, batch: int = 5000,
                progress: Callable[[str, float], None] = lambda message, fraction: None) -> ImportSummary:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    kind = kind or ("xapi" if path.suffix.lower() in (".json", ".jsonl", ".ndjson") else "")
    if kind not in ("xapi", "enrolments", "outcomes"):
        raise UsageError("--kind must be xapi, enrolments or outcomes (CSV files need --kind)")
    store = open_store(settings)
    state = make_engine(settings.state_url)
    authority = {"objectType": "Agent", "account": {"homePage": settings.base_url, "name": f"import:{path.name}"}}
    records = _records_json(path) if kind == "xapi" else _records_csv(
        path, kind, parse_mapping(mapping or [], kind), course, settings.base_url)
    summary = ImportSummary()
    pending: list[tuple[int, dict[str, Any]]] = []
    for line, record, fraction in records:
        summary.read += 1
        if isinstance(record, Exception):
            summary.reject(line, getattr(record, "message", None) or f"not valid JSON: {record}")
            continue
        try:
            validate_statement(record)
        except StatementInvalid as exc:
            summary.reject(line, exc.message)
            continue
        pending.append((line, record))
        if len(pending) >= batch:
            _flush(store, state, pending, authority, summary)
            progress(f"{summary.stored} stored", fraction)
    _flush(store, state, pending, authority, summary)
    if hasattr(store, "flush"):  # load what was journalled now: at interpreter exit the loader cannot start
        store.flush()
    progress("done", 1.0)
    return summary


def _flush(store: Any, state: Engine, pending: list[tuple[int, dict[str, Any]]], authority: dict[str, Any],
           summary: ImportSummary) -> None:
    """Store a batch (one by one when it is refused, to name the culprits), then merge the activity
    definitions of what was stored into the Activities resource, as POST /xapi/statements does."""
    if not pending:
        return
    ids = [str(s["id"]).lower() for _l, s in pending if "id" in s]
    known: set[str] = set()
    if ids:
        found = store.query(f"SELECT CAST(id AS VARCHAR) FROM statements WHERE id IN {store.dialect.in_list(ids)}")
        known = {r[0] for r in found}
    seen: set[str] = set()
    fresh: list[tuple[int, dict[str, Any]]] = []
    for line, statement in pending:
        sid = str(statement.get("id", "")).lower()
        if sid and (sid in known or sid in seen):
            summary.duplicates += 1
            if sid in seen:
                continue
        seen.add(sid)
        fresh.append((line, statement))
    stored = [s for _l, s in fresh]
    try:
        lrs.store_statements(store, stored, authority)
        summary.stored += sum(1 for _l, s in fresh if str(s.get("id", "")).lower() not in known)
    except (Conflict, UsageError):
        stored = []
        for line, statement in fresh:  # find the culprits one by one
            try:
                lrs.store_statements(store, [statement], authority)
                summary.stored += int(str(statement.get("id", "")).lower() not in known)
                stored.append(statement)
            except (Conflict, UsageError) as exc:
                summary.reject(line, exc.message)
    try:
        activities.remember(state, stored, datetime.now(UTC))
    except SQLAlchemyError as exc:  # the statements are stored; the definitions derive from them
        log.warning("activity definitions not merged (state database): %s", exc)
    pending.clear()
