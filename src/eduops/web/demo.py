"""The console's share of the demo: one user per role, so each view of the console can be tried."""

from __future__ import annotations

from eduops.core.demo import DemoContext
from eduops.demo.runner import DEMO_ADMIN_PASSWORD
from eduops.web.accounts import add_user

DEMO_USERS = (("olga", "ops"), ("chen", "content"), ("sun", "support"), ("wei", "viewer"))


def populate(demo: DemoContext) -> None:
    for i, (name, role) in enumerate(DEMO_USERS):
        demo.progress(f"user {name} ({role})", i / len(DEMO_USERS))
        add_user(demo.ws.engine, name, role, actor="demo", password=DEMO_ADMIN_PASSWORD)
    demo.notes["web"] = "other logins, same password as admin: " + ", ".join(f"{n} ({r})" for n, r in DEMO_USERS)
