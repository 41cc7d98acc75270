"""Backup and restore throughput of eduops against plain restic on the same data, and drill RTO.

1. A mixed data set (default 1 GB: large media files and many small files) is backed up and
   restored by plain restic and by eduops (file source, local target) in the same run, each into a
   fresh repository, best of three rounds (alternating who goes first); the figure is eduops
   throughput / restic throughput (target >= 0.9).
2. A pgbench scale-10 database is backed up and restore-drilled by eduops; the drill's RTO is printed
   next to plain `pg_dump -Fc` + `pg_restore` of the same database measured in the same run.

Run: .venv/bin/python bench/backup_throughput.py [--size-mb 1024] [--scale 10] [--skip-drill]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eduops.backup import drills, service, verification
from eduops.backup.settings import seal
from eduops.config import load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.workspace import open_workspace

PASSWORD = "bench-password-0123456789"
ROUNDS = 3
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


def throughput(size_mb: int, base: Path) -> None:
    data = base / "data"
    began = time.perf_counter()
    n_media, n_small = make_data(data, size_mb)
    print(f"data set: {size_mb} MiB, {n_media} media files and {n_small} small files "
          f"(made in {time.perf_counter() - began:.1f} s)", flush=True)
    plain, mine = [], []
    for n in range(ROUNDS):  # alternate who goes first, so page cache and writeback favour neither
        cache = base / f"cache{n}"
        if n % 2:
            mine.append(eduops_round(data, base, cache, n))
            plain.append(plain_round(data, base, cache))
        else:
            plain.append(plain_round(data, base, cache))
            mine.append(eduops_round(data, base, cache, n))
        print(f"round {n + 1}: restic backup {plain[-1][0]:.1f} s restore {plain[-1][1]:.1f} s | "
              f"eduops backup {mine[-1][0]:.1f} s restore {mine[-1][1]:.1f} s", flush=True)
    pb, pr = min(p[0] for p in plain), min(p[1] for p in plain)
    eb, er = min(m[0] for m in mine), min(m[1] for m in mine)
    mib = size_mb
    print(f"backup:  restic {mib / pb:.1f} MiB/s, eduops {mib / eb:.1f} MiB/s, ratio {pb / eb:.2f} (target >= 0.9)")
    print(f"restore: restic {mib / pr:.1f} MiB/s, eduops {mib / er:.1f} MiB/s, ratio {pr / er:.2f} (target >= 0.9)")
    # writeback of the previous round's gigabyte lands on whoever runs next: pair each round's two runs
    paired_b = statistics.median(p[0] / m[0] for p, m in zip(plain, mine, strict=True))
    paired_r = statistics.median(p[1] / m[1] for p, m in zip(plain, mine, strict=True))
    print(f"median of per-round ratios: backup {paired_b:.2f}, restore {paired_r:.2f}")
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--skip-drill", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="eduops-bench-backup-"))
    try:
        if not args.skip_throughput:
            throughput(args.size_mb, base)
        if not args.skip_drill:
            drill_rto(args.scale, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
