"""The two SQL dialects side by side: the statements table's columns and types, literals, and the
few functions DuckDB and ClickHouse spell differently. Metric SQL (``sql.py``) uses only these and
the SQL both engines share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

COLUMNS: list[tuple[str, str, str]] = [
    ("seq", "BIGINT", "Int64"),
    ("id", "UUID", "UUID"),
    ("actor_id", "VARCHAR", "String"),
    ("actor_ifi", "VARCHAR", "String"),
    ("verb_id", "VARCHAR", "String"),
    ("object_id", "VARCHAR", "Nullable(String)"),
    ("object_type", "VARCHAR", "String"),
    ("course", "VARCHAR", "Nullable(String)"),
    ("registration", "VARCHAR", "Nullable(String)"),
    ("part", "VARCHAR", "Nullable(String)"),
    ("timestamp", "TIMESTAMP", "DateTime64(6, 'UTC')"),
    ("stored", "TIMESTAMP", "DateTime64(6, 'UTC')"),
    ("success", "BOOLEAN", "Nullable(Bool)"),
    ("completion", "BOOLEAN", "Nullable(Bool)"),
    ("score_scaled", "DOUBLE", "Nullable(Float64)"),
    ("duration_s", "DOUBLE", "Nullable(Float64)"),
    ("region", "VARCHAR", "Nullable(String)"),
    ("teacher", "VARCHAR", "Nullable(String)"),
    ("device", "VARCHAR", "Nullable(String)"),
    ("video_length_s", "DOUBLE", "Nullable(Float64)"),
    ("video_segments", "VARCHAR", "Nullable(String)"),
    ("video_progress", "DOUBLE", "Nullable(Float64)"),
    ("voids", "UUID", "Nullable(UUID)"),
    ("voided", "BOOLEAN", "Bool"),
    ("agents", "VARCHAR", "String"),
    ("related_agents", "VARCHAR", "String"),
    ("related_activities", "VARCHAR", "String"),
    ("raw", "VARCHAR", "String"),
]

# Columns added after the first release: a store made before gets them (NULL for the rows it holds).
ADDED_COLUMNS = [c for c in COLUMNS if c[0] in ("part",)]


@dataclass(frozen=True)
class Dialect:
    name: str
    quote: Callable[[str], str]
    timestamp: Callable[[datetime], str]
    date: Callable[[date], str]
    median: Callable[[str], str]
    arg_max: Callable[[str, str], str]
    string_agg: Callable[[str, str], str]
    to_local: Callable[[str, str], str]

    def local(self, expr: str, tz: str) -> str:
        """A UTC timestamp expression as wall-clock time in ``tz`` (days, weeks, hours are local)."""
        return expr if tz == "UTC" else self.to_local(expr, tz.replace("'", ""))

    def lit(self, value: Any) -> str:
        """A SQL literal; the only way a value enters a query."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, datetime):
            return self.timestamp(value)
        if isinstance(value, date):
            return self.date(value)
        return self.quote(str(value))

    def in_list(self, values: Sequence[Any]) -> str:
        return "(" + ", ".join(self.lit(v) for v in values) + ")" if values else "(NULL)"

    def like(self, segments: Sequence[str]) -> str:
        """``LIKE`` matching the literal segments in order with anything between them ('' for an open end)."""
        if self.name == "clickhouse":  # ClickHouse escapes LIKE wildcards with a backslash
            parts = [s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for s in segments]
            return f"LIKE {self.quote('%'.join(parts))}"
        parts = [s.replace("!", "!!").replace("%", "!%").replace("_", "!_") for s in segments]
        return f"LIKE {self.quote('%'.join(parts))} ESCAPE '!'"

    def like_contains(self, value: str) -> str:
        """A LIKE that finds ``value`` literally anywhere."""
        return self.like(["", value, ""])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


DUCKDB = Dialect(
    name="duckdb",
    quote=lambda s: "'" + s.replace("'", "''") + "'",
    timestamp=lambda t: f"TIMESTAMP '{_iso(t)}'",
    date=lambda d: f"DATE '{d.isoformat()}'",
    median=lambda x: f"median({x})",
    arg_max=lambda x, by: f"arg_max({x}, {by})",
    string_agg=lambda x, sep: f"string_agg({x}, '{sep}')",
    to_local=lambda x, tz: f"timezone('{tz}', {x} AT TIME ZONE 'UTC')",
)
CLICKHOUSE = Dialect(
    name="clickhouse",
    quote=lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'",
    timestamp=lambda t: f"toDateTime64('{_iso(t)}', 6, 'UTC')",
    date=lambda d: f"toDate('{d.isoformat()}')",
    median=lambda x: f"quantileExactInclusive(0.5)({x})",  # interpolated, like DuckDB's median
    arg_max=lambda x, by: f"argMax({x}, {by})",
    string_agg=lambda x, sep: f"arrayStringConcat(groupArray({x}), '{sep}')",
    to_local=lambda x, tz: f"toTimeZone({x}, '{tz}')",
)
DIALECTS = {"duckdb": DUCKDB, "clickhouse": CLICKHOUSE}


def ddl(dialect: Dialect) -> list[str]:
    if dialect is CLICKHOUSE:
        cols = ",\n  ".join(f"`{n}` {ch}" for n, _duck, ch in COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS statements (\n  {cols}\n) "
                "ENGINE = MergeTree ORDER BY (actor_id, timestamp)",
                "CREATE TABLE IF NOT EXISTS voidings (target_id UUID, voiding_id UUID) "
                "ENGINE = MergeTree ORDER BY target_id",
                *(f"ALTER TABLE statements ADD COLUMN IF NOT EXISTS `{n}` {ch}" for n, _d, ch in ADDED_COLUMNS)]
    cols = ",\n  ".join(
        f'"{n}" {duck}' + (" PRIMARY KEY" if n == "id" else " DEFAULT nextval('statement_seq')" if n == "seq"
                           else " NOT NULL DEFAULT false" if n == "voided" else "")
        for n, duck, _ch in COLUMNS
    )
    return ["CREATE SEQUENCE IF NOT EXISTS statement_seq",
            f"CREATE TABLE IF NOT EXISTS statements (\n  {cols}\n)",
            "CREATE TABLE IF NOT EXISTS voidings (target_id UUID PRIMARY KEY, voiding_id UUID NOT NULL)",
            *(f'ALTER TABLE statements ADD COLUMN IF NOT EXISTS "{n}" {duck}' for n, duck, _ch in ADDED_COLUMNS)]
