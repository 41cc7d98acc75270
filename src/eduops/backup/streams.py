"""Running ``restic backup`` fed by a dump tool's pipe or a file list, with progress and no temp copies."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from eduops.backup import restic
from eduops.backup.restic import Repository
from eduops.errors import ServiceUnavailable

Progress = Callable[[str, float], None]


@dataclass
class BackupResult:
    snapshot_id: str
    size_bytes: int
    added_bytes: int
    files: int
    extra: dict[str, Any] = field(default_factory=dict)


def _drain(stream: IO[bytes] | None, into: list[bytes]) -> threading.Thread:
    def work() -> None:
        if stream is not None:
            into.append(stream.read())

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _collect(proc: subprocess.Popen[bytes], progress: Progress, label: str) -> tuple[dict[str, Any], str]:
    """Read restic's --json output to the end: (the summary message, its stderr)."""
    errs: list[bytes] = []
    drainer = _drain(proc.stderr, errs)
    summary: dict[str, Any] = {}
    assert proc.stdout is not None
    for msg in restic.json_lines(proc.stdout):
        if msg.get("message_type") == "status":
            done = float(msg.get("percent_done") or 0.0)
            mib = int(msg.get("bytes_done") or 0) / 2**20
            progress(f"{label} {mib:.0f} MiB", done)
        elif msg.get("message_type") == "summary":
            summary = msg
    proc.wait()
    drainer.join()
    return summary, b"".join(errs).decode(errors="replace")


def _result(repo: Repository, proc: subprocess.Popen[bytes], summary: dict[str, Any], stderr: str) -> BackupResult:
    if proc.returncode not in (0, 3) or not summary.get("snapshot_id"):
        raise restic.classify(repo, stderr, proc.returncode or 1)
    extra = (
        {"incomplete": True, "warnings": restic.scrub(stderr, repo.secrets())[-2000:]} if proc.returncode == 3 else {}
    )
    return BackupResult(
        str(summary["snapshot_id"]),
        int(summary.get("total_bytes_processed") or 0),
        int(summary.get("data_added") or 0),
        int(summary.get("total_files_processed") or 0),
        extra,
    )


def backup_args(tags: list[str], force: bool = False) -> list[str]:
    args = ["backup", "--json", "--host", restic.HOSTNAME]
    for tag in tags:
        args += ["--tag", tag]
    return args + (["--force"] if force else [])


def from_command(
    repo: Repository,
    producer: list[str],
    producer_env: dict[str, str],
    filename: str,
    tags: list[str],
    cache_dir: Path,
    progress: Progress,
    while_streaming: Callable[[], Any] | None = None,
) -> tuple[BackupResult, Any]:
    """``producer | restic backup --stdin``: the dump never touches the disk.

    A producer that fails makes restic save a truncated file; that snapshot is forgotten at once and
    the backup fails. ``while_streaming`` (e.g. measuring the tables) runs while the dump flows.
    """
    try:
        dump = subprocess.Popen(
            producer,
            env=producer_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=restic._die_with_parent,
        )
    except FileNotFoundError:
        raise ServiceUnavailable(f"{producer[0]} is not installed; run `make system-deps`") from None
    dump_err: list[bytes] = []
    dump_drainer = _drain(dump.stderr, dump_err)
    proc = restic.popen(
        repo,
        backup_args(tags) + ["--stdin", "--stdin-filename", filename],
        cache_dir=cache_dir,
        stdin=dump.stdout,
    )
    assert dump.stdout is not None
    dump.stdout.close()  # restic holds the read end now; the dump sees EPIPE if restic dies
    side: Any = None
    side_error: BaseException | None = None
    try:
        side = while_streaming() if while_streaming else None
    except BaseException as exc:  # measured after the streams are closed, so nothing is left running
        side_error = exc
    summary, stderr = _collect(proc, progress, filename)
    dump.wait()
    dump_drainer.join()
    if dump.returncode != 0:
        if summary.get("snapshot_id"):
            restic.forget(repo, [str(summary["snapshot_id"])], prune=False, cache_dir=cache_dir)
        message = b"".join(dump_err).decode(errors="replace").strip()[-500:]
        raise ServiceUnavailable(f"{producer[0]} failed ({dump.returncode}): {message}")
    result = _result(repo, proc, summary, stderr)
    if side_error is not None:
        raise side_error
    return result, side


def from_file(
    repo: Repository, path: Path, filename: str, tags: list[str], cache_dir: Path, progress: Progress
) -> BackupResult:
    with path.open("rb") as fh:
        proc = restic.popen(
            repo, backup_args(tags) + ["--stdin", "--stdin-filename", filename], cache_dir=cache_dir, stdin=fh
        )
        summary, stderr = _collect(proc, progress, filename)
    return _result(repo, proc, summary, stderr)


def from_files(
    repo: Repository,
    files: list[Path],
    tags: list[str],
    cache_dir: Path,
    progress: Progress,
    roots: list[str],
    excluded: list[str] | None,
    force: bool = False,
    while_streaming: Callable[[], Any] | None = None,
) -> tuple[BackupResult, Any]:
    """Back up the source's roots minus the files left out (exact exclude patterns), so the snapshot
    holds the trees as they are and restores at restic's full speed. When a left-out name cannot be
    written as a pattern, the chosen files are listed one by one instead (slower to restore)."""
    with tempfile.NamedTemporaryFile("w", prefix="eduops-files-", suffix=".txt") as listing:
        if excluded is not None:
            listing.write("".join(line + "\n" for line in excluded))
            selection = ["--exclude-file", listing.name, "--", *roots] if excluded else ["--", *roots]
        else:
            listing.write("\n".join(str(p) for p in files) + "\n")
            selection = ["--files-from-verbatim", listing.name]
        listing.flush()
        proc = restic.popen(repo, backup_args(tags, force) + selection, cache_dir=cache_dir)
        side: list[Any] = []
        failure: list[BaseException] = []

        def measure() -> None:
            try:
                side.append(while_streaming() if while_streaming else None)
            except BaseException as exc:  # reported after restic finished
                failure.append(exc)

        worker = threading.Thread(target=measure, daemon=True)
        worker.start()  # hashing runs beside restic, reading the same files while they are cached
        summary, stderr = _collect(proc, progress, "files")
        worker.join()
    result = _result(repo, proc, summary, stderr)
    if failure:
        raise failure[0]
    return result, side[0] if side else None
