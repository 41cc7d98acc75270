"""`eduops keys rotate`: a new active key, every stored secret re-encrypted under it.

Old keys stay in the keyring, so values written by a process that has not reloaded it yet, and
values in backups taken before the rotation, stay readable; once the rotation ends no value in the
state database is stored under an old key.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core import plugins
from eduops.core.crypto import PREFIX, VALUE_PATTERN, Keyring, key_id_of, load_keyring, reencrypt, write_keyring
from eduops.core.hookspecs import EncryptedColumn
from eduops.errors import ConfigError, EduopsError

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class RotationResult:
    new_key: str
    old_keys: list[str]
    columns: list[str] = field(default_factory=list)
    reencrypted: int = 0
    remaining_old: int = 0
    failures: list[str] = field(default_factory=list)  # table.column#pk, never the value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text_columns(engine: Engine) -> list[tuple[str, str]]:
    inspector = sa.inspect(engine)
    found = []
    for table in inspector.get_table_names():
        for col in inspector.get_columns(table):
            if isinstance(col["type"], sa.String | sa.Text):
                found.append((table, col["name"]))
    return found


def encrypted_columns(engine: Engine) -> list[EncryptedColumn]:
    """Registered columns, plus every text column that holds an ``enc:v1:`` value somewhere."""
    existing = set(_text_columns(engine))
    columns = {k: v for k, v in plugins.encrypted_columns().items() if k in existing}
    with engine.connect() as conn:
        for table, column in existing - set(columns):
            c: sa.ColumnClause[Any] = sa.column(column)
            t = sa.table(table, c)
            hit = conn.execute(sa.select(sa.literal(1)).select_from(t).where(c.like(f"%{PREFIX}%")).limit(1)).first()
            if hit:
                columns[(table, column)] = EncryptedColumn(table, column)
    return [columns[k] for k in sorted(columns)]


def _rewrite(ring: Keyring, text: str, context: str) -> str:
    if text.startswith(PREFIX) and VALUE_PATTERN.fullmatch(text):
        return reencrypt(ring, text, context)
    # values embedded in JSON or other text: each token re-encrypted on its own (empty context)
    return VALUE_PATTERN.sub(lambda m: reencrypt(ring, m.group(0)), text)


def _old_tokens(ring: Keyring, text: str | None) -> int:
    if not text:
        return 0
    return sum(1 for m in VALUE_PATTERN.finditer(text) if key_id_of(m.group(0)) != ring.active)


def _rotate_column(engine: Engine, ring: Keyring, col: EncryptedColumn, result: RotationResult) -> None:
    pk = sa.inspect(engine).get_pk_constraint(col.table).get("constrained_columns") or []
    if not pk:
        result.failures.append(f"{col.table}.{col.column} (table has no primary key)")
        return
    meta = sa.MetaData()
    table = sa.Table(col.table, meta, autoload_with=engine)
    value = table.c[col.column]
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(table).where(value.like(f"%{PREFIX}%")).order_by(*[table.c[k] for k in pk]).limit(BATCH)
        if last is not None:
            query = query.where(sa.tuple_(*[table.c[k] for k in pk]) > sa.tuple_(*last))
        with engine.begin() as conn:
            rows = conn.execute(query).mappings().all()
            for row in rows:
                text = row[col.column]
                if not _old_tokens(ring, text):
                    continue
                context = col.context(dict(row)) if col.context else ""
                where = f"{col.table}.{col.column}#{','.join(str(row[k]) for k in pk)}"
                new: str | None
                try:
                    new = _rewrite(ring, text, context)
                except EduopsError as exc:
                    try:  # a value written without its context still authenticates with an empty one
                        new = _rewrite(ring, text, "") if context else None
                    except EduopsError:
                        new = None
                    if new is None:
                        result.failures.append(f"{where}: {exc.message}")
                        continue
                conn.execute(sa.update(table).where(*[table.c[k] == row[k] for k in pk]).values({col.column: new}))
                result.reencrypted += 1
        if len(rows) < BATCH:
            return
        last = tuple(rows[-1][k] for k in pk)


def count_old(engine: Engine, ring: Keyring, columns: list[EncryptedColumn]) -> int:
    total = 0
    with engine.connect() as conn:
        for col in columns:
            c: sa.ColumnClause[Any] = sa.column(col.column)
            for (text,) in conn.execute(sa.select(c).select_from(sa.table(col.table, c)).where(c.like(f"%{PREFIX}%"))):
                total += _old_tokens(ring, text)
    return total


def _walk(node: Any, path: tuple[str | int, ...], parent: Any) -> Iterator[tuple[tuple[str | int, ...], Any, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key), node)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i), parent)
    elif isinstance(node, str) and VALUE_PATTERN.fullmatch(node):
        yield path, parent, node


def rotate_config_file(path: Path, ring: Keyring, result: RotationResult) -> None:
    """Re-encrypt ``enc:v1:`` values in eduops.toml, keeping its layout and comments (tokens are unique)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it before rotating keys") from None
    changed = text
    for where, table, token in _walk(data, (), data):
        if key_id_of(token) == ring.active:
            continue
        declared = plugins.config_secrets().get(str(where[0]))
        func = declared.context if declared else None
        context = func(where[1:], table) if func else ""
        try:
            changed = changed.replace(token, reencrypt(ring, token, context))
            result.reencrypted += 1
        except EduopsError as exc:
            result.failures.append(f"{path.name}: {'.'.join(map(str, where))}: {exc.message}")
    if changed != text:
        tmp = path.with_suffix(".rotating")
        tmp.write_text(changed, encoding="utf-8")
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    result.columns.append(str(path))
    result.remaining_old += sum(1 for _, _, t in _walk(tomllib.loads(changed), (), None) if key_id_of(t) != ring.active)


def rotate(engine: Engine, key_file: Path, config_file: Path | None = None) -> RotationResult:
    """Add a key, make it active, re-encrypt every stored value under it; safe to run again."""
    ring = load_keyring(key_file)
    old = sorted(ring.keys)
    new_key = ring.add_key()
    write_keyring(key_file, ring)  # both keys from here on: old values stay readable everywhere
    log.info("key rotation: new active key %s", new_key)
    result = RotationResult(new_key, old)
    columns = encrypted_columns(engine)
    result.columns = [f"{c.table}.{c.column}" for c in columns]
    for _ in range(2):  # a second pass catches values written under the old key meanwhile
        result.failures = []
        for col in columns:
            _rotate_column(engine, ring, col, result)
        result.remaining_old = count_old(engine, ring, columns)
        if not result.remaining_old:
            break
    if config_file is not None and config_file.exists():
        rotate_config_file(config_file, ring, result)
    if result.remaining_old and not result.failures:
        raise ConfigError(f"{result.remaining_old} values are still under old keys; run `eduops keys rotate` again")
    return result
