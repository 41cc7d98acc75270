"""An existing workspace upgrades without change: a state database made by an earlier release opens with
this code, is migrated to this code's Alembic heads, and keeps every table, column and row it had; its
DuckDB stores (events.duckdb, rtc.duckdb) keep every statement and every call.

The fixtures (tests/data/workspace-<version>[-<commit>]/) were made by those releases with
tests/data/make_workspace_fixture.py (its docstring says how to make the next one); schema.json records
the release's tables, columns, row counts, row digests and Alembic heads and, for a fixture with stores,
every statement id and every call id with the MOS that release computed. Only stable entry points are
used here: opening a workspace, eduops.db (Base, the Alembic configuration, the heads), the model registry
and the stores' lookups (a statement by id, a call by id); everything else is plain SQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import eduops
import eduops.models  # noqa: F401  (every domain's tables on Base.metadata)
from eduops.config import load_settings
from eduops.core.crypto import decrypt, load_keyring
from eduops.core.workspace import open_workspace
from eduops.db import Base, alembic_config, current_heads

DATA = Path(__file__).resolve().parent / "data"
FIXTURES = sorted(DATA.glob("workspace-*/schema.json"))
# fixtures with DuckDB stores (0.1.0's has none), oldest first: "workspace-<version>-<commit>" names sort by version
WITH_STORES = [p for p in FIXTURES if "stores" in json.loads(p.read_text())]


def table_digest(conn: sa.Connection, table: str, columns: list[str]) -> str:
    """The same digest make_workspace_fixture.py stored: these columns of every row, in a fixed order."""
    cols = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(sa.text(f'SELECT {cols} FROM "{table}" ORDER BY {cols}')).all()
    payload = json.dumps([[repr(v) for v in row] for row in rows], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def is_known_difference(diff: Any) -> bool:
    """Differences between the migrated schema and the models that this release already has, on purpose.

    Only these two are accepted; anything else autogenerate finds is a model without its migration.
    """
    if isinstance(diff, list) and len(diff) == 1:  # column changes come wrapped in a list
        diff = diff[0]
    kind = diff[0]
    # SQLAlchemy 2.1 maps ``Mapped[float]`` to Double while the migrations create sa.Float. It is the same
    # column: REAL on SQLite, and on PostgreSQL FLOAT without a precision is double precision.
    if kind == "modify_type":
        old, new = diff[5], diff[6]
        return isinstance(old, sa.Float) and isinstance(new, sa.Float) and not getattr(new, "precision", None)
    # monitoring_0001 indexes metric_samples.ts for retention and roll-ups; the table's model (a core one)
    # does not declare that index, so autogenerate would drop it. The index is wanted: keep it.
    if kind == "remove_index":
        return diff[1].name == "ix_metric_samples_ts"
    return False


@pytest.mark.parametrize("schema_file", FIXTURES, ids=[p.parent.name for p in FIXTURES])
def test_workspace_of_earlier_release_upgrades_without_change(
    schema_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)
    old = json.loads(schema_file.read_text())
    home = tmp_path / "workspace"
    shutil.copytree(schema_file.parent, home)
    for name in ("eduops.toml", "secret.key"):
        (home / name).chmod(0o600)
    url = f"sqlite:///{home / 'eduops.db'}"
    assert current_heads(url) == set(old["alembic_heads"]), "the fixture is not at its release's heads"

    # every revision id the old release recorded is still known, so Alembic can upgrade from there
    script = ScriptDirectory.from_config(alembic_config(url))
    for revision in old["alembic_heads"]:
        found = script.get_revision(revision)  # (Alembic also resolves a prefix: the id must match exactly)
        assert found is not None and found.revision == revision, f"revision {revision!r} was renamed or removed"

    settings = load_settings(home / "eduops.toml")
    assert settings.state_url == url
    ws = open_workspace(settings)  # runs the migrations
    try:
        # at this code's heads: every head of the code is applied (a head that other branches depend on,
        # like core_0001, is not written to alembic_version but counts as applied through them)
        heads = current_heads(url)
        applied = {r.revision for r in script.iterate_revisions(tuple(heads), "base")}
        assert set(script.get_heads()) <= applied, f"not at the code's heads after opening: {sorted(heads)}"
        assert heads <= set(script.get_heads())

        inspector = sa.inspect(ws.engine)
        tables = set(inspector.get_table_names())
        missing = sorted(set(old["tables"]) - tables)
        assert not missing, f"tables of {old['made_by']['eduops']} are gone: {missing}"
        for table, before in old["tables"].items():
            columns = {c["name"] for c in inspector.get_columns(table)}
            gone = [c for c in before["columns"] if c not in columns]
            assert not gone, f"columns of {table} are gone: {gone}"

        # every row the old release wrote is still there, unchanged (alembic_version moves by design)
        with ws.engine.connect() as conn:
            for table, before in old["tables"].items():
                if table == "alembic_version":
                    continue
                count = conn.scalar(sa.text(f'SELECT count(*) FROM "{table}"'))
                assert count == before["rows"], f"{table}: {before['rows']} rows before the upgrade, {count} after"
                digest = table_digest(conn, table, before["columns"])
                assert digest == before["digest"], f"{table}: rows changed by the upgrade"

            # the encrypted channel URL still decrypts with the workspace's key ring (the release encrypted it
            # with the context "channel:<name>")
            name, url_plain = old["channel"]["name"], old["channel"]["url"]
            stored = conn.scalar(sa.text("SELECT url_encrypted FROM notify_channels WHERE name = :n"), {"n": name})
            assert stored and url_plain not in stored
            assert decrypt(load_keyring(settings.key_file), stored, f"channel:{name}") == url_plain

            # the migrated schema is what the models describe
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, Base.metadata) if not is_known_difference(d)]
        assert not diffs, f"the upgraded schema differs from the models: {diffs}"
    finally:
        ws.engine.dispose()


def _fixture_copy(tmp_path: Path) -> Path:
    """A copy of the newest fixture with stores, its stores unpacked beside the state database."""
    home = tmp_path / "workspace"
    shutil.copytree(WITH_STORES[-1].parent, home)
    for name in ("eduops.toml", "secret.key"):
        (home / name).chmod(0o600)
    with tarfile.open(home / "stores.tar.gz") as tar:
        tar.extractall(home, filter="data")
    (home / "stores.tar.gz").unlink()
    return home


def _ids(db: Path, table: str, column: str = "id") -> set[Any]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(f'SELECT "{column}" FROM "{table}"')).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)


def test_eduops_upgrade_copies_the_workspace_first_and_every_run_alert_statement_and_call_is_found(
        tmp_path, clean_env) -> None:
    from tests.web.serving import cli, cli_json

    home = _fixture_copy(tmp_path)
    old = json.loads(WITH_STORES[-1].read_text())["stores"]
    assert len(old["statements"]) >= 200 and len(old["calls"]) >= 20 and old["samples"] >= 200
    runs = _ids(home / "eduops.db", "runs")
    alerts = _ids(home / "eduops.db", "alert_states", "fingerprint")
    events = _ids(home / "eduops.db", "alert_events")
    assert runs and alerts and events, "the fixture has runs and alerts to find"
    done = cli_json(home, "upgrade")
    backup = Path(done["backup"])
    assert backup.parent == home / "upgrade-backups" and {"eduops.db", "eduops.toml", "secret.key"} <= set(
        done["copied"])
    assert _ids(backup / "eduops.db", "runs") == runs  # the copy is a usable database with the old rows
    assert (backup / "secret.key").read_bytes() == (home / "secret.key").read_bytes()
    assert {"events.duckdb", "rtc.duckdb"} <= set(done["copied"])
    # that release's event store had no postings: the upgrade indexed its statements in the foreground
    assert [line.split(" indexed in ")[0] for line in done["stores"]] == [
        f"event store {home / 'events.duckdb'}: filter keys of {len(old['statements'])} statements"]
    with tarfile.open(WITH_STORES[-1].parent / "stores.tar.gz") as tar:  # the copies are the stores as they were
        for name in ("events.duckdb", "rtc.duckdb"):
            member = tar.extractfile(name)
            assert member is not None and (backup / name).read_bytes() == member.read(), f"{name} copy differs"
    assert oct((backup / "eduops.db").stat().st_mode & 0o777) == "0o600"
    assert json.loads((home / "eduops.version").read_text())["version"] == eduops.__version__
    listed = {r["id"] for r in cli_json(home, "runs", "list", "--limit", "1000")}
    assert runs <= listed, f"runs missing after the upgrade: {sorted(runs - listed)}"
    for run_id in sorted(runs):
        assert cli(home, "report", str(run_id), "--format", "json").returncode == 0
    found = {a["fingerprint"] for a in cli_json(home, "alerts", "list")}
    assert alerts <= found, f"alerts missing after the upgrade: {sorted(alerts - found)}"
    history = {e["id"] for e in cli_json(home, "alerts", "history")}
    assert events <= history, f"alert events missing after the upgrade: {sorted(events - history)}"
    _every_statement_and_call_is_found(home, old)


def _every_statement_and_call_is_found(home: Path, old: dict[str, Any]) -> None:
    """Each statement by id through the LRS's lookup, each call by id through the call page's query; MOS as
    the release computed it, or recomputed (rtc.store.upgrade) when the store's schema was older than this."""
    from eduops.analytics import lrs
    from eduops.analytics.store import close_store
    from eduops.analytics.store import open_store as open_events
    from eduops.rtc.calls import call_detail
    from eduops.rtc.qoe import mos_sql
    from eduops.rtc.service import open_store as open_calls
    from eduops.rtc.store import SCHEMA_VERSION

    settings = load_settings(home / "eduops.toml")
    events = open_events(settings)
    try:
        assert events.indexing() is None  # type: ignore[attr-defined]  # (indexed by `eduops upgrade`)
        for statement_id in old["statements"]:
            statement, _stored = lrs.get_statement(events, statement_id, voided=False)
            assert statement["id"] == statement_id
        assert events.query("SELECT count(*) FROM statements") == [(len(old["statements"]),)]
    finally:
        close_store(settings)
    calls = open_calls(settings)
    try:
        for call_id, mos in old["calls"].items():
            found = call_detail(calls, call_id)["call"]
            assert found["call_id"] == call_id
            if old["rtc_schema_version"] == SCHEMA_VERSION:
                assert found["mos"] == pytest.approx(mos, abs=1e-9), f"{call_id}: MOS changed by the upgrade"
            else:  # the upgrade recomputed every sample's MOS by this release's model
                assert found["mos"] is not None
        version = calls.query("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version == [{"value": str(SCHEMA_VERSION)}]
        recomputed = f"round({mos_sql('x', calls.model)}, 4)"
        stale = calls.query(f"SELECT count(*) AS n FROM samples x WHERE abs(x.mos - {recomputed}) > 1e-9")
        assert stale == [{"n": 0}], "samples whose MOS is not this release's"
        assert calls.query("SELECT count(*) AS n FROM samples") == [{"n": old["samples"]}]
    finally:
        calls.close()


def test_opening_a_workspace_whose_schema_is_behind_takes_a_copy_first(tmp_path, clean_env) -> None:
    from alembic import command

    home = _fixture_copy(tmp_path)
    url = f"sqlite:///{home / 'eduops.db'}"
    command.downgrade(alembic_config(url), "monitoring_0001")  # as a release before monitoring_0002 left it
    assert "notify_log" not in sa.inspect(sa.create_engine(url)).get_table_names()
    ws = open_workspace(load_settings(home / "eduops.toml"))
    ws.engine.dispose()
    copies = list((home / "upgrade-backups").iterdir())
    assert len(copies) == 1
    before = sa.create_engine(f"sqlite:///{copies[0] / 'eduops.db'}")
    assert "notify_log" not in sa.inspect(before).get_table_names()  # the copy is the schema before
    assert _ids(copies[0] / "eduops.db", "runs") == _ids(home / "eduops.db", "runs")
    assert "notify_log" in sa.inspect(sa.create_engine(url)).get_table_names()
    open_workspace(load_settings(home / "eduops.toml")).engine.dispose()
    assert len(list((home / "upgrade-backups").iterdir())) == 1  # nothing to migrate: no second copy


@pytest.mark.parametrize("newer", ["version file", "unknown revision"])
def test_a_workspace_upgraded_by_a_newer_release_is_refused_with_what_to_do(tmp_path, clean_env, newer) -> None:
    from tests.web.serving import cli

    home = _fixture_copy(tmp_path)
    if newer == "version file":
        (home / "eduops.version").write_text(json.dumps({"version": "99.0.0"}))
    else:
        engine = sa.create_engine(f"sqlite:///{home / 'eduops.db'}")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO alembic_version VALUES ('monitoring_0099')"))
        engine.dispose()
    before = (home / "eduops.db").read_bytes()
    for args in (("runs", "list"), ("upgrade",)):
        done = cli(home, *args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "upgraded by a newer eduops" in done.stderr and "Install that release again" in done.stderr
    assert (home / "eduops.db").read_bytes() == before, "a refused downgrade changes nothing"
