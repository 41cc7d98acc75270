"""Make the workspace fixture that tests/test_upgrade.py upgrades: a workspace written by a release.

Run it WITH THE CODE OF THE RELEASE THAT MAKES THE FIXTURE (a checkout of that release's commit on
PYTHONPATH), never with newer code: the point of the fixture is that its schema, rows and stores were
written by the old release. This script may be newer than the release (it only drives the release's CLI
and its stable modules); the commit recorded is the one of the code that ran, not the script's. To make
the next one, before a release changes the state schema or a store's format:

    git worktree add --detach /tmp/eduops-prev <commit of the previous release, e.g. main's head>
    PYTHONPATH=/tmp/eduops-prev/src .venv/bin/python tests/data/make_workspace_fixture.py
    git worktree remove /tmp/eduops-prev

which writes tests/data/workspace-<version>-<short commit>/ here (``--out`` to choose), then commit it.
tests/test_upgrade.py upgrades every fixture; its store tests take the newest fixture that has stores.
Keep a fixture small (< 3 MB: ``du -sh tests/data``); DuckDB files compress well enough in stores.tar.gz.
Contents:

- eduops.db     the SQLite state database (a couple of task runs, users, audit rows, metrics, an alert,
                a silence, an encrypted notification channel, backups, feedback, content, ...)
- eduops.toml   the workspace's configuration as `eduops init` wrote it
- secret.key    the workspace's key ring (a throwaway key, only for this fixture), to decrypt the channel
- stores.tar.gz the DuckDB stores (``--no-stores`` leaves them out, as 0.1.0's fixture was made):
                events.duckdb with a few hundred xAPI statements (imported with `eduops analytics import`,
                the ingest journal loaded) and rtc.duckdb with a few hundred call-quality samples of a few
                dozen calls (`eduops rtc ingest`)
- schema.json   what the release had: its version and commit, the Alembic heads, every table with its
                columns, the row count of every table and a digest of each table's rows; with stores,
                every statement id and every call id with the MOS the release computed for it

The workspace is made the way a user makes one: `eduops init`, then ordinary CLI commands; the tables
the CLI cannot fill without network or external tools get rows inserted through the release's tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
FILES = ("eduops.db", "eduops.toml", "secret.key")
CHANNEL = ("oncall", "json://hooks.example.invalid/eduops?token=fixture-secret-123")
STORES = ("events.duckdb", "rtc.duckdb")
STORES_ARCHIVE = "stores.tar.gz"
N_STATEMENTS = 300
N_CALLS = 24
VERBS = ("http://adlnet.gov/expapi/verbs/launched", "http://adlnet.gov/expapi/verbs/completed",
         "http://adlnet.gov/expapi/verbs/answered")


def cli(workspace: Path, *args: str, check: bool = True) -> None:
    """Run `eduops ARGS` in the workspace, as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["COLUMNS"] = "200"
    subprocess.run(
        [sys.executable, "-c", "from eduops.cli import main; main()", *args],
        cwd=workspace, env=env, check=check, stdout=subprocess.DEVNULL,
    )


def statements() -> list[dict[str, Any]]:
    """xAPI statements with fixed ids (uuid5), learners, courses and times: the same every time."""
    out = []
    for i in range(N_STATEMENTS):
        course = f"https://lms.example/course/c{i % 4}"
        out.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"eduops-fixture-statement-{i}")),
            "actor": {"account": {"homePage": "https://lms.example", "name": f"learner-{i % 37}"}},
            "verb": {"id": VERBS[i % 3]},
            "object": {"id": f"{course}/lesson/{i % 7}"},
            "context": {"contextActivities": {"grouping": [{"id": course}]}},
            "timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        })
    return out


def call_reports() -> list[dict[str, Any]]:
    """N_CALLS one-on-one calls, a teacher and a student each, six 5-second samples per person."""
    items: list[dict[str, Any]] = []
    for c in range(N_CALLS):
        call, day, hour = f"fixture-call-{c:02d}", 1 + c % 28, 8 + c % 12
        items.append({"type": "call", "call_id": call, "scenario": "one_on_one", "channel": f"room-{c}",
                      "start": f"2026-11-{day:02d}T{hour:02d}:00:00Z"})
        for user, role, province in ((f"t{c % 5}", "teacher", "Henan"), (f"s{c}", "student", "Guangdong")):
            items.append({"type": "session", "call_id": call, "user_id": user, "role": role, "province": province,
                          "join_ok": True, "joined_at": f"2026-11-{day:02d}T{hour:02d}:00:01Z", "network": "wifi"})
            for k in range(6):
                items.append({"type": "sample", "call_id": call, "user_id": user, "interval_s": 5,
                              "ts": f"2026-11-{day:02d}T{hour:02d}:0{k}:10Z", "rtt_ms": 40 + 37 * (c % 9) + k,
                              "jitter_ms": 2 + c % 6, "loss_up_pct": (c * k) % 7, "loss_down_pct": c % 3,
                              "video_freezes_ms": [700] if (c + k) % 5 == 0 else []})
    return items


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def add_stores(tmp: Path, ws: Path) -> dict[str, Any]:
    """Fill the stores through the release's CLI; what the upgrade test must find again."""
    cli(ws, "analytics", "import", str(write_jsonl(tmp / "statements.jsonl", statements())))
    # a read loads what the import left journalled (0.1.0 at 82e105e could not load it while exiting:
    # "can't register atexit after shutdown"; it stays journalled until the store next opens)
    cli(ws, "analytics", "active", "--json")
    cli(ws, "rtc", "ingest", str(write_jsonl(tmp / "calls.jsonl", call_reports())))
    journal = ws / "events.duckdb.journal"
    assert not journal.exists() or not any(p.stat().st_size for p in journal.rglob("*") if p.is_file()), \
        "the ingest journal was not loaded into events.duckdb"

    import duckdb

    from eduops.config import load_settings
    from eduops.rtc.calls import call_detail
    from eduops.rtc.service import open_store

    with duckdb.connect(str(ws / "events.duckdb"), read_only=True) as con:
        ids = sorted(str(r[0]) for r in con.execute("SELECT id FROM statements").fetchall())
    assert len(ids) == N_STATEMENTS, f"{len(ids)} of {N_STATEMENTS} statements stored"
    store = open_store(load_settings(ws / "eduops.toml"))
    with store.connect(write=False) as con:
        found = con.execute("SELECT call_id FROM calls ORDER BY call_id").fetchall()
        samples = con.execute("SELECT count(*) FROM samples").fetchone()
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    calls = {str(r[0]): call_detail(store, str(r[0]))["call"]["mos"] for r in found}
    store.close()
    return {"statements": ids, "calls": calls, "samples": samples[0] if samples else 0,
            "rtc_schema_version": int(version[0]) if version else 0}


def table_digest(conn: sa.Connection, table: str, columns: list[str]) -> str:
    """SHA-256 of a table's rows (these columns, values as the driver returns them, in a fixed order)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(sa.text(f'SELECT {cols} FROM "{table}" ORDER BY {cols}')).all()
    payload = json.dumps([[repr(v) for v in row] for row in rows], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def describe(engine: sa.Engine) -> dict[str, Any]:
    """Tables with their columns, row counts and row digests, as the database holds them."""
    inspector = sa.inspect(engine)
    tables: dict[str, Any] = {}
    with engine.connect() as conn:
        for name in sorted(inspector.get_table_names()):
            columns = [c["name"] for c in inspector.get_columns(name)]
            tables[name] = {
                "columns": columns,
                "rows": conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')),
                "digest": table_digest(conn, name, columns),
            }
    return tables


def insert_rows(engine: sa.Engine) -> None:
    """Rows for the tables the CLI cannot fill offline, through the release's table definitions."""
    import eduops.models  # noqa: F401  (every table on Base.metadata)
    from eduops.db import Base

    t = Base.metadata.tables
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        run_id = conn.scalar(sa.text("SELECT min(id) FROM runs"))
        user_id = conn.scalar(sa.text("SELECT min(id) FROM users"))
        series_id = conn.scalar(sa.text("SELECT min(id) FROM metric_series"))

        def add(table: str, **values: Any) -> Any:
            return conn.execute(sa.insert(t[table]).values(**values)).inserted_primary_key[0]

        add("artifacts", run_id=run_id, name="report.md", path="artifacts/1/report.md", media_type="text/markdown",
            size_bytes=1234)
        sid = add("metric_series", name="http_requests_total", labels={"job": "web", "instance": "web-1"},
                  key='http_requests_total{instance="web-1",job="web"}', unit="")
        for i in range(5):
            add("metric_samples", series_id=sid, ts=now - timedelta(minutes=5 * i), value=100.0 + i)
        add("metric_rollups", series_id=series_id, ts=now - timedelta(minutes=10), min_value=1.0, max_value=3.0,
            sum_value=6.0, count=3)
        labels = {"alertname": "DiskAlmostFull", "host": "web-1", "severity": "warn"}
        add("alert_states", fingerprint="0123456789abcdef", rule="host/DiskAlmostFull", alertname="DiskAlmostFull",
            labels=labels, annotations={"summary": "磁盘将满 disk / at 91%"}, state="firing", value=91.0,
            active_at=now - timedelta(minutes=20), fired_at=now - timedelta(minutes=15))
        for event, minutes in (("pending", 20), ("firing", 15)):
            add("alert_events", fingerprint="0123456789abcdef", alertname="DiskAlmostFull", event=event,
                at=now - timedelta(minutes=minutes), labels=labels, value=91.0)
        add("expected_surges", title="开学 start of term", starts_at=now, ends_at=now + timedelta(days=3),
            created_by="admin")
        add("notify_deliveries", channel=CHANNEL[0], receiver="ops", group_key='{}:{alertname="DiskAlmostFull"}',
            status="sent", alerts=1, title="[FIRING:1] DiskAlmostFull", body="disk / at 91%", queued_at=now,
            sent_at=now)
        add("notify_log", group_key='{}:{alertname="DiskAlmostFull"}', receiver="ops", firing=["0123456789abcdef"],
            at=now)
        add("web_sessions", token_hash="a" * 64, user_id=user_id, csrf_token="b" * 64,
            expires_at=now + timedelta(hours=8), source_ip="127.0.0.1", user_agent="fixture")
        add("api_keys", key_id="fixturekey01", name="exporter", secret_hash="c" * 64, scopes=["read"],
            created_by="admin")
        add("login_attempts", username="admin", source_ip="127.0.0.1", at=now, outcome="ok")
        add("totp_used_steps", user_id=user_id, step=56789012)
        backup = add("backup_runs", source="state", kind="sqlite", target="local", status="ok",
                     finished_at=now, snapshot_id="4f1c2d3e", size_bytes=438272, files=1, duration_s=1.5,
                     record={"tables": 35})
        add("backup_copies", backup_id=backup, target="offsite", snapshot_id="9a8b7c6d", status="ok", finished_at=now)
        add("backup_verifications", target="local", subset="1/7", status="ok", finished_at=now, output="no errors")
        add("backup_drills", source="state", target="local", snapshot_id="4f1c2d3e", backup_id=backup, status="ok",
            finished_at=now, rto_seconds=42.5, rpo_seconds=3600.0, evidence={"rows_match": True})
        cluster = add("feedback_clusters", label="视频卡顿 video stalls", category="audio_video",
                      top_terms=["卡顿", "video"], examples=["视频卡顿 the video stalls"], size=1)
        conn.execute(sa.update(t["feedback_items"]).values(cluster_id=cluster))
        feedback_id = conn.scalar(sa.text("SELECT min(id) FROM feedback_items"))
        add("feedback_replies", feedback_id=feedback_id, author="support1", text="已转技术 forwarded to ops")
        add("work_items", title="Player stalls on slow networks", kind="bug", priority="P1", track="player",
            source="cluster", source_ref=f"cluster:{cluster}", release_version="5.3.1", created_by="admin")
        add("content_syllabi", code="MATH-7", version="2024", title="七年级数学", points=["7.1", "7.2"], current=True)
        course = add("content_courses", code="M7", title="Math 7", subject="math", owner="teacher1",
                     syllabus_code="MATH-7")
        lesson = add("content_lessons", course_id=course, title="Fractions", position=1)
        add("content_assets", code="M7-V-001", kind="video", title="分数 Fractions", course_id=course,
            lesson_id=lesson, owner="teacher1", syllabus_code="MATH-7", syllabus_version="2024",
            syllabus_point="7.1", last_reviewed_at=date(2024, 9, 1), licence_holder="eduops fixtures",
            licence_type="owned", licence_scope=["web", "app"], licence_expiry=date(2030, 1, 1), used_in=["M7"])
        add("security_scans", finished_at=now, status="warn", score=92.5, area_scores={"tls": 100.0, "ports": 85.0},
            counts={"warn": 1}, findings=[{"title": "port 6379 open", "severity": "warn"}])


def main() -> None:
    import eduops

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="default: tests/data/workspace-<version>-<short commit>")
    parser.add_argument("--no-stores", action="store_true", help="only the state database (as 0.1.0's fixture)")
    args = parser.parse_args()
    code = Path(eduops.__file__).resolve().parent  # the release's code that runs, not this script's checkout
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=code, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    out: Path = args.out or HERE / (f"workspace-{eduops.__version__}" + (f"-{commit[:7]}" if commit else ""))
    print(f"making the fixture with eduops {eduops.__version__} from {code} (commit {commit or 'unknown'})")

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "workspace"
        cli(Path(tmp), "init", str(ws))
        for _ in range(2):  # two runs; `eduops run` exits 1 when it finds problems, which is fine here
            cli(ws, "run", "daily-inspection", check=False)
        cli(ws, "users", "add", "ops1", "--role", "ops")
        cli(ws, "alerts", "silence", "add", 'alertname="DiskAlmostFull"', 'host="web-1"', "--duration", "2h",
            "--comment", "replacing the disk")
        cli(ws, "alerts", "channel", "add", *CHANNEL)
        cli(ws, "feedback", "add", "视频卡顿 the video stalls", "--user", "u42")
        cli(ws, "release", "add", "5.3.1", "-m", "new player")
        stores = None if args.no_stores else add_stores(Path(tmp), ws)

        from eduops.db import current_heads, dispose_engines, make_engine

        url = f"sqlite:///{ws / 'eduops.db'}"
        engine = make_engine(url)
        insert_rows(engine)
        heads = sorted(current_heads(url))
        tables = describe(engine)
        with engine.connect() as conn:  # one self-contained file: no -wal beside it, no free pages
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("VACUUM")
        dispose_engines()

        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for name in FILES:
            shutil.copy(ws / name, out / name)
        if stores is not None:
            with tarfile.open(out / STORES_ARCHIVE, "w:gz") as tar:
                for name in STORES:
                    tar.add(ws / name, arcname=name)

    schema = {
        "made_by": {"eduops": eduops.__version__, "commit": commit, "script": "tests/data/make_workspace_fixture.py"},
        "alembic_heads": heads,
        "channel": {"name": CHANNEL[0], "url": CHANNEL[1]},
        "tables": tables,
    }
    if stores is not None:
        schema["stores"] = {"archive": STORES_ARCHIVE, **stores}
    (out / "schema.json").write_text(json.dumps(schema, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {out}: {len(tables)} tables, {sum(t['rows'] for t in tables.values())} rows, heads {heads}")


if __name__ == "__main__":
    main()
