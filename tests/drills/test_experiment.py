"""Experiments: bad files give the line and the fix; the ready-made ones are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from eduops.drills.experiment import parse_experiment
from eduops.drills.service import READY_MADE
from eduops.drills.validate import validate
from eduops.errors import UsageError

GOOD = """\
title: Database down
environment:
  proxies:
    - {name: db, listen: "127.0.0.1:0", upstream: "127.0.0.1:5432"}
steady-state-hypothesis:
  title: it answers
  probes:
    - type: probe
      name: answers
      provider: {type: postgres, dsn: "postgresql://postgres@{proxy.db}/test"}
      tolerance: true
method:
  - type: action
    name: cut
    provider: {type: fault, name: proxy.cut, proxy: db}
rollbacks:
  - type: action
    name: uncut
    provider: {type: revert, action: cut}
"""


def _check(text: str) -> None:
    validate(parse_experiment(text, "drill.yml"))


def test_a_good_experiment_passes() -> None:
    _check(GOOD)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: it answers", "title: it: answers", r"drill.yml:6: not valid YAML: mapping values are not allowed"),
        ("name: proxy.cut", "name: proxy.cutt",
         r"drill.yml:13: unknown fault 'proxy.cutt' in action 'cut'; use one of"),
        ("name: proxy.cut, proxy: db", "name: proxy.cut", r"drill.yml:13: fault proxy.cut in action 'cut' has no "
                                                          r"target: proxy missing; add `proxy:`"),
        ("proxy: db}\nrollbacks", "proxy: dbx}\nrollbacks", r"drill.yml:13: .*'dbx', which is not declared"),
        ("type: postgres,", "type: mysql,", r"drill.yml:8: probe 'answers' has the unknown provider type 'mysql'"),
        ("tolerance: true", "tolerance: maybe", r"drill.yml:8: probe 'answers' has the tolerance 'maybe'"),
        ("action: cut}", "action: nothing}", r"drill.yml:17: rollback 'uncut' reverts 'nothing'"),
        ("title: Database down", "titel: Database down", r"drill.yml:1: unknown key 'titel'"),
        ("    name: cut\n", "", r"drill.yml:13: this action has no name; add `name:"),
    ],
)
def test_bad_experiments_name_the_line_and_the_fix(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(UsageError, match=expected):
        _check(GOOD.replace(old, new, 1))


def test_an_unknown_alert_is_refused() -> None:
    text = GOOD.replace("environment:", "detection: {alert: NoSuchAlert}\nenvironment:")
    with pytest.raises(UsageError, match="no alert rule named 'NoSuchAlert'"):
        _check(text)


@pytest.mark.parametrize("path", sorted(READY_MADE.glob("*.yml")), ids=lambda p: p.stem)
def test_ready_made_experiments_are_valid(path: Path) -> None:
    exp = parse_experiment(path.read_text(), str(path))
    validate(exp)
    assert exp.rollbacks, "every ready-made drill says how it rolls back"


def test_the_ready_made_set_covers_the_common_incidents() -> None:
    assert {p.stem for p in READY_MADE.glob("*.yml")} >= {
        "database-down", "slow-database", "media-packet-loss", "disk-full", "certificate-expired"}
