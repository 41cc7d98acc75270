"""The demo semester: valid xAPI, with the low-completion course and the drop after lesson 4 findable."""

from __future__ import annotations

import random
from datetime import datetime

from eduops.analytics import extract, metrics
from eduops.analytics.demo import DROP_LESSON, LOW_COMPLETION_COURSE, semester
from eduops.analytics.lrs import iso
from eduops.analytics.store import DuckDBStore
from eduops.analytics.xapi import validate_statement


def test_demo_semester_is_valid_and_has_its_known_patterns(store: DuckDBStore) -> None:
    end = datetime(2026, 7, 1)
    statements = semester(random.Random(3), end, learners=300)
    authority = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "demo"}}
    for s in statements:
        validate_statement(s)
    store.bulk_load([extract.to_row({**s, "stored": iso(end), "authority": authority}) for s in statements])
    done = metrics.completion(store)["courses"]
    worst = min(done, key=lambda c: c["completion_pct"])
    assert worst["course"].endswith(LOW_COMPLETION_COURSE)
    steps = [f"launched@*/lesson-{n}" for n in range(2, 8)]
    funnel = metrics.funnel(store, steps, window_days=90)
    assert funnel["biggest_drop_label"] == f"launched@*/lesson-{DROP_LESSON + 1}"


def test_poor_classes_make_learners_stop() -> None:
    end = datetime(2026, 7, 1)
    everyone_poor = {f"u-{n}": [end.replace(month=m, day=d) for m in range(3, 7) for d in (1, 8, 15, 22)]
                     for n in range(300)}
    usual = semester(random.Random(5), end, learners=300)
    poor = semester(random.Random(5), end, learners=300, poor_classes=everyone_poor)
    assert len(poor) < 0.7 * len(usual)
