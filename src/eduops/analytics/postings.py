"""Sublinear statement queries in DuckDB: a postings table from filter keys to statement numbers.

DuckDB has no secondary B-tree for range scans, but it has ART indexes for point lookups and zone maps
(min/max per row group) that prune a scan ordered by a column that grows with insertion. So each stored
statement leaves one row per filter key in ``statement_keys (h, seq)``: ``h`` is the 64-bit MD5 of a kind
letter and the normalised value (the agent's inverse functional identifier, as xAPI's agent matching wants,
exact and never a LIKE), ``seq`` the statement's number. Rows arrive in ``seq`` order, so:

- a key matched by many statements (a verb, a course) is answered by the newest (or oldest) rows: DuckDB's
  top-N pushes its boundary into the scan and the zone maps on ``seq`` skip all but the last row groups;
- a key matched by few statements (an agent, a registration) is answered by the ART index on ``h``.

The statements themselves are then read by number through the ART index on ``statements.seq``, and the
query's full conditions are applied to them again, so a hash collision or a second filter never changes an
answer. Keys: ``a`` direct agent, ``A`` an agent only ``related_agents`` matches, ``o`` the object activity,
``O`` an activity only ``related_activities`` matches, ``v`` verb, ``r`` registration, ``s`` (no value) a
StatementRef statement.

Statements stored without keys (a store from before postings, rows written by ``DuckDBStore.execute``) get them
from the store's background indexer, a chunk of statement numbers per transaction (``next_chunk`` sizes it);
until then ``keyed_through`` stays below them and queries scan the statements above it. ``eduops upgrade`` posts
them in the foreground instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

DDL = [
    "CREATE TABLE IF NOT EXISTS statement_keys (h UBIGINT NOT NULL, seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS statement_keys_h ON statement_keys (h)",
    "CREATE TABLE IF NOT EXISTS statement_key_counts (h UBIGINT PRIMARY KEY, n BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS statements_seq ON statements (seq)",
]
# a key posted at most this often is read through the ART index; a more common one by its newest postings
INDEX_MAX = 20_000
REF_KEY = "s"
FIRST_WINDOW = 1 << 16  # the smallest span of statement numbers the newest (oldest) postings are read over

_SPLIT = "list_filter(string_split({col}, chr(10)), lambda x: x <> '')"
_KEYS = f"""list_distinct(
    list_transform({_SPLIT.format(col='agents')}, lambda x: 'a' || x)
    || list_transform(list_filter({_SPLIT.format(col='related_agents')},
                                  lambda x: NOT contains(agents, chr(10) || x || chr(10))), lambda x: 'A' || x)
    || CASE WHEN object_type = 'Activity' AND object_id IS NOT NULL THEN ['o' || object_id] ELSE [] END
    || list_transform(list_filter({_SPLIT.format(col='related_activities')},
                                  lambda x: x IS DISTINCT FROM object_id OR object_type <> 'Activity'),
                      lambda x: 'O' || x)
    || ['v' || verb_id]
    || CASE WHEN registration IS NOT NULL THEN ['r' || registration] ELSE [] END
    || CASE WHEN object_type = 'StatementRef' THEN ['{REF_KEY}'] ELSE [] END)"""


_NUMBERS: dict[str, dict[str, int]] = {kind: {} for kind in "aAoOvrs"}  # per kind: value -> key number
_NUMBERS_LIMIT = 20_000  # values per kind remembered (verbs, courses and learners repeat): a few MB at most


def key_number(kind: str, value: str) -> int:
    """DuckDB's ``md5_number_lower(kind || value)``: the last 8 bytes of the key's MD5, little-endian."""
    known = _NUMBERS[kind]
    number = known.get(value)
    if number is None:
        if len(known) >= _NUMBERS_LIMIT:
            known.clear()
        number = known[value] = int.from_bytes(hashlib.md5((kind + value).encode()).digest()[8:], "little")
    return number


_A, _OTHER_A, _O, _OTHER_O, _V, _R = (_NUMBERS[k] for k in "aAoOvr")


def statement_keys(agents: Sequence[str], other_agents: Sequence[str], object_type: str, object_id: str | None,
                   activities: Sequence[str], verb_id: str, registration: str | None) -> list[int]:
    """The posting keys of one statement (``_KEYS`` worked out in Python, from the lists ``extract.to_row``
    joins), as ``key_number``s in no particular order: ``agents`` its direct agents, ``other_agents`` the ones
    only ``related_agents`` matches, ``activities`` every activity ``related_activities`` matches (the object
    first). About 2 µs a statement when its values were seen before (the dictionaries spare the MD5s)."""
    numbers = {_A.get(a) or key_number("a", a) for a in agents}
    for a in other_agents:
        if a not in agents:
            numbers.add(_OTHER_A.get(a) or key_number("A", a))
    is_activity = object_type == "Activity"
    if is_activity and object_id is not None:
        numbers.add(_O.get(object_id) or key_number("o", object_id))
    for a in activities:
        if a != object_id or not is_activity:
            numbers.add(_OTHER_O.get(a) or key_number("O", a))
    numbers.add(_V.get(verb_id) or key_number("v", verb_id))
    if registration is not None:
        numbers.add(_R.get(registration) or key_number("r", registration))
    if object_type == "StatementRef":
        numbers.add(key_number(REF_KEY, ""))
    return list(numbers)


def post_batch_sql(low: int, high: int) -> list[str]:
    """Post (and count) the keys a batch brought in its ``keys`` column (``statement_keys``), for the statements
    it just stored, numbered ``low`` to ``high``: the same postings as ``index_sql``, without deriving them."""
    return [f"INSERT INTO statement_keys SELECT k.h, s.seq FROM (SELECT id::UUID AS id, unnest(keys) AS h "
            f"FROM batch) k JOIN statements s ON s.id = k.id WHERE s.seq BETWEEN {int(low)} AND {int(high)} "
            "ORDER BY s.seq",
            _count_sql(low - 1, high)]


def index_sql(after: int, upto: int | None = None) -> list[str]:
    """Post (and count) the keys of every statement numbered above ``after`` (up to ``upto``), in number order."""
    upper = "" if upto is None else f" AND seq <= {int(upto)}"
    return [f"INSERT INTO statement_keys SELECT md5_number_lower(k), seq FROM ("
            f"SELECT seq, unnest({_KEYS}) AS k FROM statements WHERE seq > {int(after)}{upper}) ORDER BY seq",
            _count_sql(after, upto)]


def _count_sql(after: int, upto: int | None) -> str:
    """Add the keys posted for the statements numbered above ``after`` (up to ``upto``) to their counts."""
    upper = "" if upto is None else f" AND seq <= {int(upto)}"
    return (f"INSERT INTO statement_key_counts SELECT h, count(*) FROM statement_keys WHERE seq > {int(after)}{upper} "
            "GROUP BY h ON CONFLICT (h) DO UPDATE SET n = n + excluded.n")


def keyed_through_sql() -> str:
    return "SELECT coalesce(max(seq), 0) FROM statement_keys"


def key_hash(kind: str, value: str, lit: Callable[[Any], str]) -> str:
    return f"md5_number_lower({lit(kind + value)})"


def driving_keys(agent_ifi: str | None, related_agents: bool, activity: str | None, related_activities: bool,
                 registration: str | None, verb: str | None) -> list[str]:
    """The keys of the filter expected to match fewest statements (agent, registration, activity, verb)."""
    if agent_ifi is not None:
        return ["a" + agent_ifi] + (["A" + agent_ifi] if related_agents else [])
    if registration:
        return ["r" + registration]
    if activity:
        return ["o" + activity] + (["O" + activity] if related_activities else [])
    if verb:
        return ["v" + verb]
    return []


class Lookup:
    """Statement numbers posted under some keys, in the query's order, a chunk at a time, without a scan.

    The keys' counts decide the way: a rare key's numbers come whole from the ART index; a common key's
    next ones from the postings past a boundary, over a span of numbers sized by how dense the key is and
    widened eightfold until full, which the zone maps on ``seq`` keep to the row groups of that span.
    """

    def __init__(self, run: Callable[[str], list[tuple[Any, ...]]], lit: Callable[[Any], str],
                 keys: Sequence[str], ascending: bool, cursor: int | None, through: int) -> None:
        self.run, self.ascending, self.through = run, ascending, through
        self.hashes = [key_hash(k[0], k[1:], lit) for k in keys]
        self.start = cursor if cursor is not None else (0 if ascending else through + 1)
        ref = key_hash(REF_KEY, "", lit)
        counts = dict(run(f"SELECT CASE WHEN h = {ref} THEN 'ref' ELSE 'key' END, sum(n) FROM statement_key_counts "
                          f"WHERE h IN ({', '.join([*self.hashes, ref])}) GROUP BY ALL"))
        self.count, self.refs = int(counts.get("key") or 0), int(counts.get("ref") or 0)
        self._all: list[int] | None = None

    def _past(self, boundary: int) -> str:
        return f"seq {'>' if self.ascending else '<'} {int(boundary)}"

    def next(self, after: int | None, n: int) -> tuple[list[int], bool]:
        """Up to ``n`` numbers past ``after`` (or the start), and whether those are the last there are."""
        boundary = self.start if after is None else after
        if self.count <= INDEX_MAX:
            if self._all is None:
                # the index answers when the count allows it (DuckDB otherwise scans)
                union = " UNION ALL ".join(f"SELECT seq FROM statement_keys WHERE h = {h} AND {self._past(self.start)}"
                                           for h in self.hashes)
                self._all = sorted({r[0] for r in self.run(
                    f"SET SESSION index_scan_max_count = {self.count + 1}; {union}")}, reverse=not self.ascending)
            rest = [x for x in self._all if (x > boundary if self.ascending else x < boundary)]
            return rest[:n], len(rest) <= n
        span = max(FIRST_WINDOW, 4 * n * max(1, self.through // max(self.count, 1)))
        order = "ASC" if self.ascending else "DESC"
        while True:
            edge = boundary + span if self.ascending else boundary - span
            covered = edge > self.through if self.ascending else edge <= 0
            within = f"seq <= {edge}" if self.ascending else f"seq >= {edge}"
            rows = self.run(f"SET SESSION index_scan_max_count = 0; SET SESSION index_scan_percentage = 0; "
                            f"SELECT seq FROM statement_keys WHERE h IN ({', '.join(self.hashes)}) AND "
                            f"{self._past(boundary)} AND {within} ORDER BY seq {order} LIMIT {int(n)}")
            if len(rows) >= n or covered:
                return [r[0] for r in rows], covered and len(rows) < n
            span *= 8


def read_numbers(numbers: Sequence[int], more: Sequence[int] = ()) -> str:
    """A ``WITH chosen AS (...)`` holding the statements with these numbers, or more: when the numbers are
    dense in their span, that span (the zone maps read just it; the query's own conditions then pick the
    rows); else exactly those, through the ART index on ``seq`` (materialized: a condition on another
    column pushed into the same scan makes DuckDB scan the whole table instead)."""
    every = [*numbers, *more]
    if not every:
        return "WITH chosen AS (SELECT * FROM statements WHERE false)"
    low, high = min(every), max(every)
    if high - low < 32 * len(every):
        return f"WITH chosen AS (SELECT * FROM statements WHERE seq BETWEEN {low} AND {high})"
    return f"WITH chosen AS MATERIALIZED (SELECT * FROM statements WHERE seq IN {in_list(every)})"


def in_list(numbers: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in numbers) + ")" if numbers else "(NULL)"


def next_chunk(chunk: int, took_s: float, target_s: float, sizes: tuple[int, int, int]) -> int:
    """The next chunk of statement numbers to post in one transaction: doubled when this one took under half the
    target time, halved when it took over twice, within the smallest and largest of ``sizes``."""
    smallest, _first, largest = sizes
    if took_s < target_s / 2:
        chunk *= 2
    elif took_s > 2 * target_s:
        chunk //= 2
    return max(smallest, min(largest, chunk))
