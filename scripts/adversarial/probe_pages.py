"""Hostile GETs to every console page: bad path ids and hostile query strings."""
import json, re, sys, collections, time
from urllib.parse import quote
from common import *
routes = json.load(open(ADV + "/routes.json"))
walk = json.load(open(ADV + "/walk.json"))
NAMES = ["page", "since", "until", "from", "to", "tz", "days", "dimension", "metric", "start", "end", "band",
         "user_id", "channel", "course", "part", "region", "teacher", "device", "steps", "step", "window_days",
         "asof", "view", "on", "task", "status", "order", "needs_review", "host", "endpoint", "db", "actor",
         "action", "target", "verify", "next", "done", "format", "lang", "q", "limit", "offset", "token"]
VALUES = ["-1", "0", "99999999999999999999", "1e309", "NaN", "inf", "-inf", "abc", "", "%00", "a%00b", "2026-13-45",
          "2026-02-30T25:61", "Mars/Olympus", "..%2F..%2Fetc%2Fpasswd", "x" * 1000, "%F0%9F%98%80", "%ff%fe",
          "%3Cscript%3E", "%27%20OR%201%3D1--", "true", "%5B%5D", "2026-01-01T00:00:00%2B24:00", "9999-12-31",
          "0001-01-01", "1.5", "-0", "%E2%80%AE", "9" * 400]
IDS = ["abc", "%00", "-1", "0", "99999999999999999999", "1.5", "..", "%2e%2e%2f", "x" * 3000, "%F0%9F%98%80",
       "%ff", "1e3", " 1", "%20", "1%0a2", "NaN"]
c = login()
bad = []
n = 0
def hit(url, method="GET"):
    global n
    n += 1
    try:
        r = c.request(method, url)
    except httpx.InvalidURL:
        return None
    except Exception as e:
        bad.append((url[:200], "EXC", repr(e)[:200])); print(bad[-1], flush=True); return None
    t = r.text
    if r.status_code >= 500 or "Traceback" in t or 'File "' in t:
        bad.append((url[:200], r.status_code, t[:300])); print(bad[-1], flush=True)
    return r
shapes = set()
pages = [p for p in walk["pages"]]
# 1. every page with every hostile value in all names at once
if 'skip1' not in sys.argv:
  for p in pages:
    for v in VALUES:
        hit(p + "?" + "&".join(f"{k}={v}" for k in NAMES))
    hit(p + "?page=1&page=2&since=1h&since=2h")
    hit(p + "?%00=1&=2&&&a")
print("phase1", n, len(bad), flush=True)
# 3. path ids
for r in ([] if 'skip3' in sys.argv else routes):
    if "GET" not in r["methods"] or "{" not in r["path"] or r["path"].startswith(("/api/", "/xapi")):
        continue
    for v in IDS:
        url = re.sub(r"\{[^}]+\}", v, r["path"])
        hit(url)
print("phase3", n, len(bad), flush=True)
# 2. each name alone with a few values
import re as _re
declared = {}
for r in routes:
    declared.setdefault(r["path"], set()).update(q[0] for q in r["query"])
for key, ns in walk["names"].items():
    declared.setdefault(key, set()).update(ns)
FILTERS = {"since", "until", "course", "part", "region", "teacher", "device", "days", "dimension", "metric",
           "steps", "window_days", "asof", "tz", "from", "to", "start", "end", "page"}
for p in pages:
    names = (declared.get(p, set()) | FILTERS)
    for k in sorted(names):
        for v in ["-1", "%00", "2026-13-45", "Mars/Olympus", "99999999999999999999", "NaN"]:
            hit(f"{p}?{k}={v}")
print("phase2", n, len(bad), flush=True)
json.dump(bad, open(ADV + "/bad_pages.json", "w"), indent=1, ensure_ascii=False)
print(n, "requests", len(bad), "bad")
for b in bad[:80]: print(b)
