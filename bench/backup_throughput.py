"""Backup and restore throughput of eduops against plain restic on the same data, and drill RTO.

1. A mixed data set (default 1 GiB: large media files and many small files) is backed up and
   restored by plain restic and by eduops (file source, local target) in rounds (default 4, an even
   number so that each side goes first as often as the other), each side into
   a fresh repository with a fresh cache. Within a round the two backups run back to back (who goes
   first alternates from round to round), then four restores ordered A B B A (A: the side that backed
   up first), each into a fresh, empty folder on the same filesystem: each side restores once early
   and once late, so load that rises or falls during the round weighs on both alike (a second backup
   would be an incremental one, so backups stay one pair a round). Every timed command starts after
   `sync` (untimed), so no run pays for the previous run's writeback; both sides read their warm
   repositories from the page cache (caches are not dropped: that would stall everything else on
   the machine). Each round gives one figure per operation, restic seconds / eduops seconds (for
   restore, the sum of the side's two restores); the result is their median (goal ≥ 0.9×, issue 18).
   Same settings on both sides: restic's defaults (repository version 2, compression auto, its
   default pack size), one `restic backup` of the source's paths with `--host eduops`, one
   `restic restore` of the snapshot (no `--verify` on either side: eduops verifies a file tree only when
   asked) into an empty folder; eduops adds its tags, `--json` progress,
   its manifest (walked beside restic) and its records in the workspace database. The CPU seconds of
   each side (its own and its children's) are printed per operation, a figure the disk's noise does
   not move.
2. A pgbench scale-10 database is backed up and restore-drilled by eduops; the drill's RTO is printed
   next to plain `pg_dump -Fc` + `pg_restore` of the same database (information, no goal).

Run: .venv/bin/python bench/backup_throughput.py [--size-mb 1024] [--scale 10] [--skip-drill] [--quick]
(--quick: 128 MiB, pgbench scale 1)
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Goal, finish, parse, parser, report

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


@dataclass
class Timing:
    seconds: float
    cpu: float  # CPU seconds of this process and its children (restic) during the operation


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(action: Callable[[], object]) -> Timing:
    """``action`` timed from a clean start: what earlier runs left to write back is flushed first, untimed."""
    os.sync()
    cpu, t0 = _cpu(), time.perf_counter()
    action()
    return Timing(time.perf_counter() - t0, _cpu() - cpu)


class Plain:
    """Plain restic: `restic backup` of the data, `restic restore latest` into an empty folder."""

    def __init__(self, data: Path, work: Path) -> None:
        self.data, self.repo = data, work / "plain-repo"
        self.env = restic_env(self.repo)
        self.env["RESTIC_CACHE_DIR"] = str(work / "plain-cache")
        subprocess.run(["restic", "init", "-q"], env=self.env, check=True)

    def backup(self) -> None:
        subprocess.run(["restic", "backup", "-q", "--host", "eduops", str(self.data)], env=self.env, check=True)

    def restore(self, out: Path) -> None:
        subprocess.run(["restic", "restore", "-q", "latest", "--target", str(out)], env=self.env, check=True)


class Eduops:
    """eduops: `run_backups` of a file source to a local target, then `drills.restore` of its snapshot."""

    def __init__(self, data: Path, work: Path) -> None:
        self.ws: Any = workspace(work / "eduops-home", {
            "include_state": False, "cache_dir": str(work / "eduops-cache"),
            "sources": [{"name": "media", "kind": "files", "paths": [str(data)]}],
            "targets": [{"name": "local", "kind": "local", "path": str(work / "eduops-repo")}]})
        verification.targets_status(self.ws.settings, init=True)  # restic init is not part of either figure
        self.snapshot = ""

    def backup(self) -> None:
        result = service.run_backups(self.ws.engine, self.ws.settings)[0]
        assert result["status"] == "ok", result["error"]
        self.snapshot = result["snapshot_id"]

    def restore(self, out: Path) -> None:
        drills.restore(self.ws.settings, self.snapshot, str(out), engine=self.ws.engine)


def restore_order(n: int) -> list[str]:
    """The round's four restores, A B B A: A backed up first (restic in even rounds, eduops in odd ones)."""
    first, second = ("eduops", "restic") if n % 2 else ("restic", "eduops")
    return [first, second, second, first]


def paired_round(data: Path, work: Path, n: int) -> dict[str, dict[str, Timing]]:
    """One round: both backups back to back (odd rounds eduops first), then the restores A B B A."""
    work.mkdir()
    sides: dict[str, Any] = {"restic": Plain(data, work), "eduops": Eduops(data, work)}
    order = restore_order(n)
    times: dict[str, dict[str, Timing]] = {"restic": {}, "eduops": {}}
    for side in order[:2]:
        times[side]["backup"] = timed(sides[side].backup)
    restores: dict[str, list[Timing]] = {"restic": [], "eduops": []}
    for i, side in enumerate(order):
        out = work / f"{side}-out{i}"  # fresh each time: never a folder just emptied
        restores[side].append(timed(lambda side=side, out=out: sides[side].restore(out)))
    for side, got in restores.items():
        times[side]["restore"] = Timing(sum(t.seconds for t in got), sum(t.cpu for t in got))
    shutil.rmtree(work)
    return times


def throughput(size_mb: int, base: Path, rounds: int) -> None:
    data = base / "data"
    began = time.perf_counter()
    n_media, n_small = make_data(data, size_mb)
    os.sync()
    print(f"data set: {size_mb} MiB, {n_media} media files and {n_small} small files "
          f"(made in {time.perf_counter() - began:.1f} s)", flush=True)
    got = []
    for n in range(rounds):
        t = paired_round(data, base / f"round{n}", n)
        got.append(t)
        print(f"round {n + 1} ({'eduops' if n % 2 else 'restic'} first): "
              + " | ".join(f"{side} backup {t[side]['backup'].seconds:.1f} s ({t[side]['backup'].cpu:.1f} CPU s) "
                           f"2 restores {t[side]['restore'].seconds:.1f} s ({t[side]['restore'].cpu:.1f} CPU s)"
                           for side in ("restic", "eduops")), flush=True)
    mib = f"{size_mb:,} MiB"
    for op in ("backup", "restore"):
        cpu = statistics.median(r["eduops"][op].cpu / max(r["restic"][op].cpu, 1e-9) for r in got)
        report(Goal(f"{op} {mib} / plain restic {op} (paired rounds)", "≥ 0.9× plain restic", ">=", 0.9),
               [r["restic"][op].seconds / r["eduops"][op].seconds for r in got],
               f"restic seconds / eduops seconds, per round{' (2 restores each, A B B A)' if op == 'restore' else ''}; "
               f"eduops CPU seconds {cpu:.2f}× restic's")
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
    p.set_defaults(rounds=4)  # even: each side goes first as often as the other
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
