"""The restic driver: one subprocess per command, secrets only in the child's environment.

Repository locations, passwords and storage keys travel in ``RESTIC_*``/``AWS_*`` variables of the
child process, never on its command line, so ``/proc/<pid>/cmdline`` and our logs never hold them.
Written for restic 0.14: ``check`` and ``restore`` have no JSON, so their exit codes and text are read.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from eduops.errors import EduopsError, ServiceUnavailable

log = logging.getLogger(__name__)
RESTIC = os.environ.get("EDUOPS_RESTIC", "restic")
HOSTNAME = "eduops"  # one host name for every snapshot, so copies and retention group the same way


class TargetError(ServiceUnavailable):
    """A restic repository could not be used; the message names the target and what to do."""


class ResticFailed(EduopsError):
    """restic ran but reported a failure."""


@dataclass
class Repository:
    """A restic repository as eduops drives it: where it is, its secrets, extra ``-o`` options."""

    name: str
    location: str
    password: str
    env: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    limit_upload_kib: int = 0
    hidden: list[str] = field(default_factory=list)  # secrets inside the location (REST credentials)

    def child_env(self, cache_dir: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
        env.update(self.env)
        env["RESTIC_REPOSITORY"] = self.location
        env["RESTIC_PASSWORD"] = self.password
        if cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(cache_dir)
        return env

    def secrets(self) -> list[str]:
        values = [self.password, *self.env.values(), *self.hidden]
        return [v for v in values if v and len(v) >= 4]

    def global_args(self) -> list[str]:
        args: list[str] = []
        for opt in self.options:
            args += ["-o", opt]
        if self.limit_upload_kib:
            args += ["--limit-upload", str(self.limit_upload_kib)]
        return args


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret in ``text`` before it reaches a log, a record or an error message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return text


def _die_with_parent() -> None:
    # restic and the dump tools die with eduops (kill -9 included), so no orphan finishes a snapshot
    # that eduops never recorded
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def classify(repo: Repository, stderr: str, code: int) -> EduopsError:
    """Turn restic's text into an error a person can act on, naming the target."""
    text = scrub(stderr, repo.secrets()).strip()
    low = text.lower()
    lines = text.splitlines()
    fatal = [line for line in lines if line.startswith("Fatal:")]
    tail = (fatal or lines or [f"exit code {code}"])[-1]
    if "wrong password" in low or "no key found" in low:
        return TargetError(
            f"target {repo.name!r}: wrong repository password (restic: {tail}); "
            "set the right one with `eduops backup secret`"
        )
    unreachable = (
        "connection refused",
        "no such host",
        "dial tcp",
        "i/o timeout",
        "connection reset",
        "ssh command exited",
        "unable to start the sftp session",
        "network is unreachable",
        "permission denied (publickey",
        "host key verification failed",
        "connection closed",
    )
    hits = [line for line in lines if any(marker in line.lower() for marker in unreachable)]
    if hits:
        return TargetError(f"target {repo.name!r} is unreachable: {hits[0].strip()}")
    if "is there a repository at the following location" in low or "unable to open config file" in low:
        return TargetError(
            f"target {repo.name!r}: no restic repository at its location; `eduops backup targets --init` creates it"
        )
    if "repository is already locked" in low:
        return TargetError(f"target {repo.name!r} is locked by another restic process: {tail}")
    return ResticFailed(f"target {repo.name!r}: restic failed ({code}): {tail}")


def command(repo: Repository, args: Sequence[str]) -> list[str]:
    return [RESTIC, *repo.global_args(), *args]


def run(
    repo: Repository,
    args: Sequence[str],
    *,
    cache_dir: Path | None = None,
    stdin: IO[bytes] | int | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run one restic command to completion; raises a classified error on failure when ``check``."""
    env = repo.child_env(cache_dir)
    env.update(extra_env or {})
    argv = command(repo, args)
    log.info("restic %s on %s", " ".join(args[:2]), repo.name)
    try:
        proc = subprocess.run(
            argv,
            env=env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise ServiceUnavailable(f"restic is not installed ({RESTIC}); run `make system-deps`") from None
    except subprocess.TimeoutExpired:
        raise TargetError(f"target {repo.name!r}: restic {args[0]} did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise classify(repo, proc.stderr, proc.returncode)
    return proc


def popen(
    repo: Repository,
    args: Sequence[str],
    *,
    cache_dir: Path | None = None,
    stdin: IO[bytes] | int | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start restic with pipes, for streaming (``backup --stdin``, ``dump``)."""
    env = repo.child_env(cache_dir)
    env.update(extra_env or {})
    try:
        return subprocess.Popen(
            command(repo, args),
            env=env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise ServiceUnavailable(f"restic is not installed ({RESTIC}); run `make system-deps`") from None


@dataclass
class Snapshot:
    id: str
    time: datetime
    tags: list[str]
    paths: list[str]

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def tag_value(self, key: str) -> str | None:
        for tag in self.tags:
            if tag.startswith(key + "="):
                return tag.split("=", 1)[1]
        return None


def parse_time(text: str) -> datetime:
    # restic prints nanoseconds; Python keeps microseconds
    head, _, rest = text.partition(".")
    if rest:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def snapshots(repo: Repository, tags: Sequence[str] = (), cache_dir: Path | None = None) -> list[Snapshot]:
    args = ["snapshots", "--json"]
    for tag in tags:
        args += ["--tag", tag]
    proc = run(repo, args, cache_dir=cache_dir)
    data: list[dict[str, Any]] = json.loads(proc.stdout or "[]") or []
    found = [
        Snapshot(d["id"], parse_time(d["time"]), list(d.get("tags") or []), list(d.get("paths") or [])) for d in data
    ]
    return sorted(found, key=lambda s: s.time)


def is_initialised(repo: Repository, cache_dir: Path | None = None) -> bool:
    proc = run(repo, ["cat", "config"], cache_dir=cache_dir, check=False)
    if proc.returncode == 0:
        return True
    err = classify(repo, proc.stderr, proc.returncode)
    if "no restic repository" in err.message:
        return False
    raise err


def init(repo: Repository, copy_chunker_from: Repository | None = None, cache_dir: Path | None = None) -> None:
    """Create the repository; a secondary takes the primary's chunker parameters so dedup holds in copies."""
    if copy_chunker_from is None:
        run(repo, ["init"], cache_dir=cache_dir)
        return
    pair = paired(copy_chunker_from, repo)
    run(pair, ["init", "--copy-chunker-params"], cache_dir=cache_dir, extra_env=from_env(copy_chunker_from, repo))


def _aws(repo: Repository) -> dict[str, str]:
    return {k: v for k, v in repo.env.items() if k.startswith("AWS_")}


def paired(source: Repository, dest: Repository) -> Repository:
    """``dest`` carrying the ``-o`` options both need: restic 0.14 applies them to both repositories."""
    if source.options and dest.options and source.options != dest.options:
        raise TargetError(
            f"cannot pair {source.name!r} with {dest.name!r}: restic 0.14 gives both SFTP repositories one "
            "ssh command; make the primary a local or S3 target"
        )
    return Repository(
        dest.name, dest.location, dest.password, dest.env, dest.options or source.options, dest.limit_upload_kib
    )


def from_env(source: Repository, dest: Repository) -> dict[str, str]:
    """Variables that let restic open ``source`` as the second repository of a command run on ``dest``."""
    if _aws(source) and _aws(dest) and _aws(source) != _aws(dest):
        raise TargetError(
            f"cannot pair {source.name!r} with {dest.name!r}: restic 0.14 gives both S3 repositories one set "
            "of AWS credentials; make the primary a local or SFTP target, or use the same keys"
        )
    env = {"RESTIC_FROM_REPOSITORY": source.location, "RESTIC_FROM_PASSWORD": source.password}
    env.update({k: v for k, v in source.env.items() if not k.startswith("AWS_")})
    if not _aws(dest):
        env.update(_aws(source))
    return env


def copy(source: Repository, dest: Repository, snapshot_ids: Sequence[str], cache_dir: Path | None = None) -> str:
    """Copy snapshots from ``source`` to ``dest``; returns restic's report."""
    proc = run(paired(source, dest), ["copy", *snapshot_ids], cache_dir=cache_dir, extra_env=from_env(source, dest))
    return scrub(proc.stdout + proc.stderr, source.secrets() + dest.secrets())


def _dead(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status  # a zombie nobody reaped still answers kill(pid, 0)


def _lock_ids(repo: Repository, cache_dir: Path | None) -> list[str]:
    """The repository's lock files: a local repository's are listed from its folder (asking restic costs a key
    derivation, about half a second); others through ``restic list locks``."""
    if repo.location.startswith("local:"):
        folder = Path(repo.location.removeprefix("local:")) / "locks"
        try:
            return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        except OSError:  # unreadable to eduops (another owner, say): restic says what it can see
            pass
    proc = run(repo, ["list", "locks", "--no-lock"], cache_dir=cache_dir, check=False)
    return proc.stdout.split() if proc.returncode == 0 else []


def clear_stale_locks(repo: Repository, cache_dir: Path | None = None) -> int:
    """Remove locks left by restic processes of this host that are gone (e.g. after kill -9).

    ``restic unlock`` already does this for reaped processes; a killed restic that became a zombie still
    looks alive to it. Locks of live processes or of other hosts are never touched. A repository without
    locks (nearly always) costs one look, no restic command for a local one.
    """
    if not _lock_ids(repo, cache_dir):
        return 0
    run(repo, ["unlock"], cache_dir=cache_dir, check=False)
    ids = _lock_ids(repo, cache_dir)
    stale = 0
    for lock_id in ids:
        shown = run(repo, ["cat", "lock", lock_id, "--no-lock"], cache_dir=cache_dir, check=False)
        try:
            info = json.loads(shown.stdout)
        except ValueError:
            return 0
        if info.get("hostname") != socket.gethostname() or not _dead(int(info.get("pid", 0))):
            return 0
        stale += 1
    if stale:
        run(repo, ["unlock", "--remove-all"], cache_dir=cache_dir, check=False)
    return stale


def check(repo: Repository, subset: str | None, cache_dir: Path | None = None) -> tuple[bool, str]:
    """``restic check`` (reading ``subset`` of the data when given): (no errors, restic's text)."""
    clear_stale_locks(repo, cache_dir)
    args = ["check"] + (["--read-data-subset", subset] if subset else [])
    proc = run(repo, args, cache_dir=cache_dir, check=False)
    text = scrub(proc.stdout + proc.stderr, repo.secrets())
    if proc.returncode != 0 and "no errors were found" not in text:
        err = classify(repo, proc.stderr, proc.returncode)
        if not isinstance(err, ResticFailed):
            raise err
        return False, text
    return proc.returncode == 0 and "no errors were found" in text, text


def forget(repo: Repository, snapshot_ids: Sequence[str], prune: bool = True, cache_dir: Path | None = None) -> str:
    if not snapshot_ids:
        return ""
    clear_stale_locks(repo, cache_dir)
    proc = run(repo, ["forget", *(["--prune"] if prune else []), *snapshot_ids], cache_dir=cache_dir)
    return scrub(proc.stdout, repo.secrets())


def stats_size(repo: Repository, cache_dir: Path | None = None) -> int:
    proc = run(repo, ["stats", "--json", "--mode", "raw-data"], cache_dir=cache_dir)
    return int(json.loads(proc.stdout).get("total_size", 0))


def json_lines(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    for raw in stream:
        line = raw.decode(errors="replace").strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue
