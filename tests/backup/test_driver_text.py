"""restic 0.14 speaks text for errors: how eduops reads it, and how it writes exact exclude patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from eduops.backup.restic import Repository, ResticFailed, TargetError, classify, parse_time, scrub
from eduops.backup.sources import ServerDsn, restic_exclude_lines
from eduops.errors import UsageError

REPO = Repository(
    "offsite", "sftp:backup@host:/srv/r", "hunter2-secret-password", {"AWS_SECRET_ACCESS_KEY": "awssecretvalue"}
)


@pytest.mark.parametrize(
    ("stderr", "kind", "says"),
    [
        ("Fatal: wrong password or no key found\n", TargetError, "target 'offsite': wrong repository password"),
        (
            'Fatal: unable to open config file: Stat: Get "http://127.0.0.1:1/bucket/?location=": dial tcp '
            "127.0.0.1:1: connect: connection refused\nIs there a repository at the following location?\ns3:x\n",
            TargetError,
            "target 'offsite' is unreachable: Fatal: unable to open config file",
        ),
        (
            "subprocess ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused\n"
            "Fatal: unable to open repository at sftp:x: unable to start the sftp session, error: EOF\n",
            TargetError,
            "target 'offsite' is unreachable: subprocess ssh",
        ),
        (
            "Fatal: unable to open config file: <config/> does not exist\nIs there a repository at the following "
            "location?\nlocal:/x\n",
            TargetError,
            "no restic repository at its location",
        ),
        (
            "unable to create lock in backend: repository is already locked exclusively by PID 11 on vm\n",
            TargetError,
            "locked by another restic process",
        ),
        ("Fatal: something odd\n", ResticFailed, "restic failed (1): Fatal: something odd"),
    ],
)
def test_classify_names_the_target(stderr: str, kind: type, says: str) -> None:
    err = classify(REPO, stderr, 1)
    assert isinstance(err, kind) and says in err.message


def test_secrets_are_scrubbed_from_restic_text() -> None:
    text = "Fatal: wrong password hunter2-secret-password for awssecretvalue"
    assert classify(REPO, text, 1).message.count("****") == 2
    assert scrub(text, REPO.secrets()) == "Fatal: wrong password **** for ****"


@pytest.mark.parametrize(
    ("paths", "lines"),
    [
        (["/srv/media/a.tmp"], ["/srv/media/a.tmp"]),
        (["/srv/media/[draft] *final?.mp4"], ["/srv/media/\\[draft] \\*final\\?.mp4"]),
        (["/srv/media/back\\slash"], ["/srv/media/back\\\\slash"]),
        (["/srv/media/$HOME.txt"], None),  # restic would expand it
        (["/srv/media/ends with space "], None),
        ([], []),
    ],
)
def test_exact_exclude_patterns(paths: list[str], lines: list[str] | None) -> None:
    assert restic_exclude_lines([Path(p) for p in paths]) == lines


@pytest.mark.parametrize(
    ("dsn", "shown", "libpq"),
    [
        ("postgresql://backup@db:5433/lms", "postgresql://backup@db:5433/lms", "postgresql://backup@db:5433/lms"),
        ("postgresql+psycopg://db/lms", "postgresql://postgres@db:5432/lms", "postgresql://postgres@db:5432/lms"),
        ("mariadb://root@127.0.0.1/qb", "mariadb://root@127.0.0.1:3306/qb", "postgresql://root@127.0.0.1:3306/qb"),
        ("mysql+pymysql://u@h:3307/x", "mariadb://u@h:3307/x", "postgresql://u@h:3307/x"),
    ],
)
def test_dsn_parsing(dsn: str, shown: str, libpq: str) -> None:
    parsed = ServerDsn.parse(dsn)
    assert parsed.shown() == shown and parsed.libpq == libpq


@pytest.mark.parametrize("dsn", ["postgresql://u:pw@h/db", "redis://h/0", "lms"])
def test_bad_dsns_are_usage_errors(dsn: str) -> None:
    with pytest.raises(UsageError):
        ServerDsn.parse(dsn)


def test_restic_times_keep_microseconds() -> None:
    assert parse_time("2026-11-30T15:59:38.69321941Z").isoformat() == "2026-11-30T15:59:38.693219+00:00"
    assert parse_time("2026-11-30T15:59:38+08:00").utcoffset().total_seconds() == 8 * 3600


def test_rest_credentials_live_in_the_repository_url_and_are_scrubbed(sqlite_ws) -> None:
    from eduops.backup.settings import TargetSpec, repository, seal

    s = sqlite_ws.settings
    spec = TargetSpec(
        name="rest1",
        kind="rest",
        endpoint="https://backup.internal:8000/",
        path="eduops",
        user="eduops",
        password=seal(s, "repo-pass-123", "target", "rest1", "password"),
        http_password=seal(s, "p@ss/word:42", "target", "rest1", "http_password"),
    )
    repo = repository(s, spec)
    assert repo.location == "rest:https://eduops:p%40ss%2Fword%3A42@backup.internal:8000/eduops"
    assert (
        scrub(f"dial p@ss/word:42 at {repo.location}", repo.secrets())
        == "dial **** at rest:https://eduops:****@backup.internal:8000/eduops"
    )
