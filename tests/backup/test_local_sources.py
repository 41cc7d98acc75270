"""SQLite and file-tree sources through the real `eduops backup` command, to two local targets."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from tests.backup.conftest import eduops, local_target, write_config


@pytest.fixture
def course_files(tmp_path: Path) -> Path:
    root = tmp_path / "courses"
    (root / "videos").mkdir(parents=True)
    (root / "slides").mkdir()
    (root / "videos" / "lesson1.mp4").write_bytes(os.urandom(300_000))
    (root / "slides" / "lesson1.pdf").write_bytes(b"%PDF-1.4 slides " * 1000)
    (root / "slides" / "notes.txt").write_text("讲义 notes")
    (root / "videos" / "cache.tmp").write_text("scratch")
    return root


@pytest.fixture
def lms_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "lms.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE learners (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
    conn.executemany("INSERT INTO learners (name, score) VALUES (?, ?)", [(f"学生{i}", i / 3) for i in range(500)])
    conn.commit()
    conn.close()
    return path


def test_cli_backs_up_sqlite_and_files_lists_restores_and_drills(
    sqlite_ws, tmp_path: Path, course_files: Path, lms_sqlite: Path
) -> None:
    s = sqlite_ws.settings
    config = write_config(
        s.home,
        {
            "include_state": True,
            "sources": [
                {"name": "lms", "kind": "sqlite", "path": str(lms_sqlite)},
                {
                    "name": "courses",
                    "kind": "files",
                    "paths": [str(course_files)],
                    "include": ["*.mp4", "*.pdf", "*.txt"],
                    "exclude": ["notes.txt"],
                },
            ],
            "targets": [local_target(s, "primary", tmp_path / "repo1"), local_target(s, "second", tmp_path / "repo2")],
        },
    )
    first = eduops(config, "backup", "run", "--json")
    assert first.returncode == 0, first.stderr
    runs = {r["source"]: r for r in json.loads(first.stdout)}
    assert set(runs) == {"eduops-state", "eduops-config", "lms", "courses"}
    assert all(r["status"] == "ok" for r in runs.values()), runs
    assert runs["lms"]["record"]["integrity"] == "ok"
    assert runs["lms"]["record"]["tables"]["learners"]["rows"] == 500
    assert runs["courses"]["record"]["files"] == 2  # include/exclude: mp4 + pdf; notes.txt and cache.tmp left out
    assert {c["target"] for c in runs["courses"]["copies"]} == {"primary", "second"}

    listed = json.loads(eduops(config, "backup", "list", "--json", check=True).stdout)
    assert {r["source"] for r in listed} == set(runs)

    targets = json.loads(eduops(config, "backup", "targets", "--json", check=True).stdout)
    assert [(t["target"], t["reachable"], t["initialised"], t["snapshots"]) for t in targets] == [
        ("primary", True, True, 4),
        ("second", True, True, 4),
    ]
    assert all(t["size_bytes"] > 300_000 for t in targets)

    restored_db = tmp_path / "restored.sqlite"
    out = eduops(
        config,
        "backup",
        "restore",
        runs["lms"]["snapshot_id"][:8],
        "--to",
        str(restored_db),
        "--target",
        "second",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["restored"]["tables"] == runs["lms"]["record"]["tables"]
    with sqlite3.connect(restored_db) as conn:
        assert conn.execute("SELECT count(*) FROM learners").fetchone() == (500,)
    assert (
        eduops(config, "backup", "restore", runs["lms"]["snapshot_id"][:8], "--to", str(restored_db)).returncode == 2
    )  # never over existing data

    restored_tree = tmp_path / "restored-tree"
    eduops(config, "backup", "restore", runs["courses"]["snapshot_id"], "--to", str(restored_tree), check=True)
    assert (restored_tree / str(course_files).lstrip("/") / "videos" / "lesson1.mp4").read_bytes() == (
        course_files / "videos" / "lesson1.mp4"
    ).read_bytes()

    drill = eduops(config, "backup", "drill", "--json")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    report = {d["source"]: d for d in json.loads(drill.stdout)}
    assert {k: d["status"] for k, d in report.items()} == dict.fromkeys(runs, "ok")
    assert report["courses"]["evidence"]["restored"]["digest"] == runs["courses"]["record"]["digest"]


def test_bad_input_is_a_usage_error(sqlite_ws, tmp_path: Path) -> None:
    s = sqlite_ws.settings
    config = write_config(
        s.home,
        {
            "include_state": False,
            "targets": [
                {"name": "plain", "kind": "local", "path": str(tmp_path / "r"), "password": "not-encrypted-password"}
            ],
        },
    )
    proc = eduops(config, "backup", "targets")
    assert proc.returncode == 2
    assert "must be encrypted" in proc.stderr and "not-encrypted-password" not in proc.stderr + proc.stdout
    config = write_config(s.home, {"include_state": False, "targets": [local_target(s, "one", tmp_path / "r")]})
    assert eduops(config, "backup", "run").returncode == 2  # no sources at all
    nosuch = eduops(config, "backup", "run", "nosuch")
    assert nosuch.returncode == 2 and "no backup source 'nosuch'" in nosuch.stderr
    assert eduops(config, "backup", "verify", "--read-data", "sometimes").returncode == 2
