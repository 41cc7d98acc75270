"""Statement builders and an in-process client for the analytics tests."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from eduops.analytics.vocab import COURSE_TYPE, DEVICE_EXT, REGION_EXT, VERBS

T0 = datetime(2026, 3, 2, 9, 0, 0)  # a Monday
HOME = "https://lms.example.edu"
XAPI = {"X-Experience-API-Version": "1.0.3"}


def statement(actor: str, verb: str, when: datetime, obj: str | None = None, course: str | None = "course/a",
              region: str | None = None, device: str | None = None, **extra: Any) -> dict[str, Any]:
    """A valid statement: ``verb`` is a short name, ``obj`` defaults to the course itself."""
    course_iri = f"https://lms.example.edu/{course}" if course else None
    object_iri = f"https://lms.example.edu/{obj}" if obj else course_iri or "https://lms.example.edu/x"
    s: dict[str, Any] = {
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": actor}},
        "verb": {"id": VERBS.get(verb, verb), "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": object_iri},
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    context: dict[str, Any] = {}
    if course_iri and object_iri != course_iri:
        context["contextActivities"] = {"parent": [{"id": course_iri, "definition": {"type": COURSE_TYPE}}]}
    if course_iri and object_iri == course_iri:
        s["object"]["definition"] = {"type": COURSE_TYPE}
    ext = {k: v for k, v in ((REGION_EXT, region), (DEVICE_EXT, device)) if v}
    if ext:
        context["extensions"] = ext
    if context:
        s["context"] = context
    s.update(extra)
    return s


def day(n: int, hours: float = 0) -> datetime:
    return T0 + timedelta(days=n, hours=hours)


def mutate(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``base`` with the dotted ``path`` set to ``value`` (or removed when value is DELETE)."""
    out = copy.deepcopy(base)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


DELETE = object()
