"""The synthetic platform behind `eduops demo`: each domain adds its share through its demo.py."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eduops.core.workspace import Workspace


@dataclass
class DemoContext:
    """What a domain's ``populate(demo)`` gets: the workspace, a fixed clock and a seeded random."""

    ws: Workspace
    now: datetime
    rng: random.Random
    progress: Callable[[str, float], None] = lambda message, fraction: None
    admin_user: str = "admin"
    admin_password: str = ""
    # background services a domain starts for the demo (e.g. the demo platform API); stopped at exit
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    # what each domain wants printed after the demo is ready, e.g. {"loadtest": "demo platform on ..."}
    notes: dict[str, str] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)  # hand-offs between domains (user ids, courses)
