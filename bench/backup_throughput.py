"""Backup and restore throughput of eduops against plain restic on the same data, and drill RTO.

1. A mixed data set (default 1 GiB: large media files and many small files) is backed up and
   restored by plain restic and by eduops (file source, local target) in interleaved rounds (≥ 3,
   alternating who goes first), each into a fresh repository. Writeback of one run's gigabyte lands
   on whoever runs next, so each round's two runs are paired: the figure is the median over rounds
   of restic time / eduops time, one for backup and one for restore (goal ≥ 0.9×, issue 18).
2. A pgbench scale-10 database is backed up and restore-drilled by eduops; the drill's RTO is printed
   next to plain `pg_dump -Fc` + `pg_restore` of the same database (information, no goal).

Run: .venv/bin/python bench/backup_throughput.py [--size-mb 1024] [--scale 10] [--skip-drill] [--quick]
(--quick: 128 MiB, pgbench scale 1)
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Goal, finish, interleaved, parse, parser, report

from eduops.backup import drills, service, verification
from eduops.backup.settings import seal
from eduops.config import load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.workspace import open_workspace

PASSWORD = "bench-password-0123456789"
PG = os.environ.get("EDUOPS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def make_data(root: Path, size_mb: int) -> tuple[int, int]:
    """70% in 64 MiB media files (random, incompressible), 30% in 16 KiB files (half text, half random)."""
    rng = random.Random(7)
    media = root / "videos"
    small = root / "uploads"
    media.mkdir(parents=True)
    media_bytes = size_mb * 2**20 * 7 // 10
    n_media = 0
    while media_bytes > 0:
        chunk = min(64 * 2**20, media_bytes)
        (media / f"lecture{n_media:03d}.mp4").write_bytes(os.urandom(chunk))
        media_bytes -= chunk
        n_media += 1
    words = "课程 lesson quiz answer 学生 teacher video slide homework 作业".split()
    n_small = size_mb * 2**20 * 3 // 10 // (16 * 1024)
    for i in range(n_small):
        folder = small / f"course{i % 64:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 2:
            body = os.urandom(16 * 1024)
        else:
            body = " ".join(rng.choice(words) for _ in range(3000)).encode()[: 16 * 1024]
        (folder / f"upload{i:06d}.bin").write_bytes(body)
    return n_media, n_small


def restic_env(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"RESTIC_REPOSITORY": f"local:{repo}", "RESTIC_PASSWORD": PASSWORD})
    return env


def plain_round(data: Path, work: Path, cache: Path) -> tuple[float, float]:
    repo, out = work / "plain-repo", work / "plain-out"
    env = restic_env(repo)
    env["RESTIC_CACHE_DIR"] = str(cache)
    subprocess.run(["restic", "init", "-q"], env=env, check=True)
    t0 = time.perf_counter()
    subprocess.run(["restic", "backup", "-q", "--host", "eduops", str(data)], env=env, check=True)
    backup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(["restic", "restore", "-q", "latest", "--target", str(out)], env=env, check=True)
    restore_s = time.perf_counter() - t0
    shutil.rmtree(repo)
    shutil.rmtree(out)
    return backup_s, restore_s


def workspace(home: Path, backup: dict) -> object:
    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings(None, home=str(home))
    write_keyring(settings.key_file, Keyring.new())
    ws = open_workspace(settings)
    for target in backup.get("targets", []):
        target["password"] = seal(settings, PASSWORD, "target", target["name"], "password")
    assert settings.__pydantic_extra__ is not None
    settings.__pydantic_extra__["backup"] = backup
    return ws


def eduops_round(data: Path, work: Path, cache: Path, n: int) -> tuple[float, float]:
    repo, out = work / f"eduops-repo{n}", work / "eduops-out"
    ws = workspace(work / f"home{n}", {
        "include_state": False, "cache_dir": str(cache),
        "sources": [{"name": "media", "kind": "files", "paths": [str(data)]}],
        "targets": [{"name": "local", "kind": "local", "path": str(repo)}]})
    verification.targets_status(ws.settings, init=True)  # restic init is not part of either figure
    t0 = time.perf_counter()
    result = service.run_backups(ws.engine, ws.settings)[0]
    backup_s = time.perf_counter() - t0
    assert result["status"] == "ok", result["error"]
    t0 = time.perf_counter()
    drills.restore(ws.settings, result["snapshot_id"], str(out), engine=ws.engine)
    restore_s = time.perf_counter() - t0
    shutil.rmtree(repo)
    shutil.rmtree(out)
    return backup_s, restore_s


def throughput(size_mb: int, base: Path, rounds: int) -> None:
    data = base / "data"
    began = time.perf_counter()
    n_media, n_small = make_data(data, size_mb)
    print(f"data set: {size_mb} MiB, {n_media} media files and {n_small} small files "
          f"(made in {time.perf_counter() - began:.1f} s)", flush=True)
    plain: dict[int, tuple[float, float]] = {}
    mine: dict[int, tuple[float, float]] = {}

    def ours(n: int) -> float:
        mine[n] = eduops_round(data, base, base / f"cache{n}", n)
        return mine[n][0] + mine[n][1]

    def restic(n: int) -> float:
        plain[n] = plain_round(data, base, base / f"cache{n}")
        return plain[n][0] + plain[n][1]

    interleaved(rounds, ours, restic)
    for n in range(rounds):
        print(f"round {n + 1}: restic backup {plain[n][0]:.1f} s restore {plain[n][1]:.1f} s | "
              f"eduops backup {mine[n][0]:.1f} s restore {mine[n][1]:.1f} s", flush=True)
    mib = f"{size_mb:,} MiB"
    report(Goal(f"backup {mib} / plain restic backup (paired rounds)", "≥ 0.9× plain restic", ">=", 0.9),
           [plain[n][0] / mine[n][0] for n in range(rounds)], "restic seconds / eduops seconds, per round")
    report(Goal(f"restore {mib} / plain restic restore (paired rounds)", "≥ 0.9× plain restic", ">=", 0.9),
           [plain[n][1] / mine[n][1] for n in range(rounds)], "restic seconds / eduops seconds, per round")
    shutil.rmtree(data)


def drill_rto(scale: int, base: Path) -> None:
    import psycopg

    name = f"eduops_bench_{os.getpid()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        t0 = time.perf_counter()
        subprocess.run(["pgbench", "-i", "-s", str(scale), "-q", f"{PG}/{name}"], check=True, capture_output=True)
        print(f"pgbench scale {scale} initialised in {time.perf_counter() - t0:.1f} s", flush=True)
        ws = workspace(base / "drill-home", {
            "include_state": False,
            "sources": [{"name": "lms", "kind": "postgresql", "dsn": f"{PG}/{name}"}],
            "targets": [{"name": "local", "kind": "local", "path": str(base / "drill-repo")}]})
        t0 = time.perf_counter()
        result = service.run_backups(ws.engine, ws.settings)[0]
        assert result["status"] == "ok", result["error"]
        print(f"eduops backup (pg_dump -Fc | restic, checksums of every table) {time.perf_counter() - t0:.1f} s")
        report = drills.drill(ws.engine, ws.settings)[0]
        assert report["status"] == "ok", report["error"]

        dump = base / "plain.dump"
        t0 = time.perf_counter()
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), f"{PG}/{name}"], check=True)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}_plain"')
        t1 = time.perf_counter()
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{PG}/{name}_plain", str(dump)], check=True)
        plain_restore = time.perf_counter() - t1
        print(f"drill RTO (restic dump | pg_restore, then row counts and checksums compared): "
              f"{report['rto_seconds']:.1f} s; RPO {report['rpo_seconds']:.1f} s")
        print(f"plain pg_restore from a local dump file: {plain_restore:.1f} s "
              f"(pg_dump {t1 - t0:.1f} s); RTO / plain restore = {report['rto_seconds'] / plain_restore:.2f}")
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            for db in (name, f"{name}_plain"):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--size-mb", type=int, default=None, help="default 1024; --quick 128")
    p.add_argument("--scale", type=int, default=None, help="pgbench scale, default 10; --quick 1")
    p.add_argument("--skip-drill", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    args = parse(p)
    base = Path(tempfile.mkdtemp(prefix="eduops-bench-backup-"))
    try:
        if not args.skip_throughput:
            throughput(args.size_mb or (128 if args.quick else 1024), base, args.rounds)
        if not args.skip_drill:
            drill_rto(args.scale or (1 if args.quick else 10), base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
