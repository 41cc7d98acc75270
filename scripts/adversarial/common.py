"""What the adversarial probes share: where the run keeps its files, the server, and an admin session.

A run outside the test suite, against a served demo workspace (see README.md here):
    EDUOPS_ADV_DIR   a folder for the run's files (routes.json, walk.json, forms.json, key-admin.json,
                     key-read.json, bad_*.json); default /tmp/adv
    EDUOPS_ADV_BASE  the server, default http://127.0.0.1:18080
    EDUOPS_ADV_PASSWORD  the demo's admin password (`eduops demo` prints it)
"""
import os
import re

import httpx

ADV = os.environ.get("EDUOPS_ADV_DIR", "/tmp/adv")
BASE = os.environ.get("EDUOPS_ADV_BASE", "http://127.0.0.1:18080")
PASSWORD = os.environ.get("EDUOPS_ADV_PASSWORD", "eduops-demo-2026!")


def login(base=BASE, user="admin"):
    c = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    page = c.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (200, 303), r.text[:300]
    return c


def csrf(c):
    page = c.get("/account").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
