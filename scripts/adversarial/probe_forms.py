"""Hostile console forms, login, xAPI alternate syntax, status pages, store APIs, /-/reload, /metrics."""
import json, re, sys
from urllib.parse import quote
import httpx
from common import *
forms = json.load(open(ADV + "/forms.json"))
KEYS = {k: json.load(open(f"{ADV}/key-{k}.json"))["key"] for k in ("admin", "read")}
SKIP = re.compile(r"^/(logout|admin/users/admin/|admin/keys/\w+/revoke|backup/(run|drill)$|calendar/[\w-]+/run|account/sessions/(\d+/end|end-others))")
V = ["", "\x00", "a\x00b", "x" * 100_000, "-1", "0", "1e309", "NaN", "inf", "99999999999999999999", "Mars/Olympus",
     "😀" * 10, "<script>alert(1)</script>", "\r\nSet-Cookie: a=b", "//evil.example/", "javascript:alert(1)",
     "../../etc/passwd", "2026-13-45", "\u202e", "true", "[]", "{\"a\":1}", " ", "a=b&c=d"]
bad, n = [], 0
def check(label, r):
    global n
    n += 1
    t = r.text
    if r.status_code >= 500 or "Traceback" in t or 'File "/' in t:
        bad.append((label[:200], r.status_code, t[:300])); print(bad[-1], flush=True)
def req(c, label, *a, **kw):
    try:
        r = c.request(*a, **kw)
    except httpx.InvalidURL:
        return None
    except Exception as e:
        global n; n += 1
        bad.append((label[:200], "EXC", repr(e)[:200])); print(bad[-1], flush=True); return None
    check(label, r)
    return r
c = login()
tok = csrf(c)
olga = [login() for _ in range(5)]
# 1. every form: all fields one hostile value; each field alone hostile
for key, f in (forms.items() if "skip1" not in sys.argv else []):
    act = f["action"]
    if SKIP.match(act) or act == "/login":
        continue
    fields = {k: v for k, v in f["fields"].items() if k != "csrf_token"}
    for v in V:
        req(c, f"{act} all={v[:20]!r}", "POST", act, data={**{k: v for k in fields}, "csrf_token": tok})
        for k in fields:
            req(c, f"{act} {k}={v[:20]!r}", "POST", act, data={**fields, k: v, "csrf_token": tok})
    # hostile bodies
    req(c, f"{act} json", "POST", act, content=b'{"a":1}', headers={"content-type": "application/json", "x-csrf-token": tok})
    req(c, f"{act} empty", "POST", act, content=b"", headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": tok})
    req(c, f"{act} badutf8", "POST", act, content=b"csrf_token=" + tok.encode() + b"&" + b"&".join(k.encode() + b"=%ff%fe\xff" for k in fields), headers={"content-type": "application/x-www-form-urlencoded"})
    req(c, f"{act} dup", "POST", act, content=("&".join(f"{k}=a&{k}=b" for k in fields) + f"&csrf_token={tok}").encode(), headers={"content-type": "application/x-www-form-urlencoded"})
    req(c, f"{act} multipart", "POST", act, files={"file": ("a.txt", b"x" * 10)}, data={"csrf_token": tok})
    req(c, f"{act} nocsrf", "POST", act, data=fields)
    req(c, f"{act} badcsrf", "POST", act, data={**fields, "csrf_token": "x" * 10000})
    req(c, f"{act} weird-ctype", "POST", act, content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded; charset=ebcdic", "x-csrf-token": tok})
    req(c, f"{act} deep-ctype", "POST", act, content=b"--x\r\n", headers={"content-type": "multipart/form-data; boundary=x", "x-csrf-token": tok})
    req(c, f"{act} no-boundary", "POST", act, content=b"--x\r\n", headers={"content-type": "multipart/form-data", "x-csrf-token": tok})
print("forms", n, len(bad), flush=True)
# path ids of POST pages
for path in [] if "skip1" in sys.argv else ["/runs/{}/sign-off", "/feedback/items/{}/reply", "/incidents/{}/act", "/incidents/{}/notice", "/incidents/{}/review",
             "/alerts/{}/ack", "/silences/{}/expire", "/feedback/clusters/{}/work-item", "/account/sessions/{}/end",
             "/admin/users/{}/role", "/admin/keys/{}/revoke", "/calendar/{}/run"]:
    for v in ["abc", "%00", "-1", "99999999999999999999", "x" * 3000, "%F0%9F%98%80", "%ff", "..", "1.5"]:
        req(c, path.format(v), "POST", path.format(v), data={"csrf_token": tok, "role": "viewer", "text": "x", "action": "ack"})
print("post ids", n, len(bad), flush=True)
# 2. login, hostile fields, anonymous
for v in V:
    a = httpx.Client(base_url=BASE, timeout=60)
    page = a.get("/login").text
    t = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for k in ("username", "password", "code", "next"):
        d = {"username": "admin", "password": "wrong", "csrf_token": t, k: v}
        req(a, f"/login {k}={v[:20]!r}", "POST", "/login", data=d)
    req(a, f"/login?next={v[:20]!r}", "GET", "/login?next=" + quote(v))
    req(a, f"/lang next={v[:20]!r}", "POST", "/lang", data={"csrf_token": t, "lang": v, "next": v})
for nxt in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=y"]:
    a = olga.pop()
    r = a.post("/lang", data={"csrf_token": csrf(a), "lang": "en", "next": nxt})
    n += 1
    loc = r.headers.get("location", "")
    if r.status_code in (302, 303, 307) and (loc.startswith("//") or "://" in loc or loc.startswith("/\\") or "javascript" in loc):
        bad.append((f"/lang open redirect {nxt}", r.status_code, loc)); print(bad[-1], flush=True)
print("login", n, len(bad), flush=True)
# 3. xAPI alternate request syntax
H = {"content-type": "application/x-www-form-urlencoded"}
auth = "Bearer " + KEYS["admin"]
x = httpx.Client(base_url=BASE, timeout=60)
alt = [
    ("method=GET", {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}),
    ("method=get", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "limit": "-1"}),
    ("method=PATCH", {"Authorization": auth}),
    ("method=", {"Authorization": auth}),
    ("method=GET&method=PUT", {"Authorization": auth}),
    ("method=GET&limit=1", {"Authorization": auth}),
    ("method=PUT", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "content": "{bad json", "Content-Type": "application/json", "statementId": "not-a-uuid"}),
    ("method=PUT", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "content": "[]", "Content-Type": "application/json", "statementId": "00000000-0000-0000-0000-000000000000"}),
    ("method=POST", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "content": "\x00", "Content-Type": "application/json"}),
    ("method=POST", {"Authorization": auth, "X-Experience-API-Version": "9.9", "content": "{}", "Content-Type": "application/json"}),
    ("method=POST", {"Authorization": "Basic !!!notbase64", "X-Experience-API-Version": "1.0.3", "content": "{}"}),
    ("method=POST", {"Authorization": "Basic " + "A" * 5000, "X-Experience-API-Version": "1.0.3"}),
    ("method=GET", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "since": "2026-13-45", "until": "nope", "limit": "99999999999999999999", "format": "weird", "attachments": "maybe", "ascending": "x"}),
    ("method=GET", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "agent": "{bad", "verb": "\x00", "activity": "x" * 10000, "registration": "nope"}),
    ("method=GET", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "statementId": "x", "voidedStatementId": "y"}),
    ("method=DELETE", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "Content-Type": "\u00ff\u0100"}),
    ("method=GET", {"Authorization": auth, "X-Experience-API-Version": "1.0.3", "If-Match": "\x00", "If-None-Match": "*" * 1000}),
]
for path in ["/xapi/statements", "/xapi/activities/state", "/xapi/activities/profile", "/xapi/agents/profile",
             "/xapi/agents", "/xapi/activities", "/xapi/about", "/xapi/nope"]:
    for q, form in alt:
        req(x, f"POST {path}?{q} {list(form)}", "POST", f"{path}?{q}", data=form)
    req(x, f"{path} alt json", "POST", f"{path}?method=GET", content=b"{}", headers={"content-type": "application/json", "authorization": auth})
    req(x, f"{path} alt badutf8", "POST", f"{path}?method=GET", content=b"Authorization=\xff\xfe&content=\xff", headers=H)
    req(x, f"{path} alt nul", "POST", f"{path}?method=GET", content=b"Authorization=%00&X-Experience-API-Version=%00", headers=H)
    for m in ["HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "GET", "DELETE"]:
        req(x, f"{m} {path}", m, path, headers={"authorization": auth, "x-experience-api-version": "1.0.3"})
    for qs in ["agent=%7Bbad", "activityId=%00&agent=%7B%22mbox%22%3A%22x%22%7D&stateId=%00", "since=2026-13-45",
               "limit=-1", "limit=99999999999999999999", "registration=x", "activityId=a&activityId=b", "format=%ff"]:
        for m in ["GET", "DELETE", "PUT", "POST"]:
            req(x, f"{m} {path}?{qs}", m, f"{path}?{qs}", content=b"{}", headers={"authorization": auth, "x-experience-api-version": "1.0.3", "content-type": "application/json"})
print("xapi", n, len(bad), flush=True)
# 4. status pages, reload, metrics, healthz, store APIs, with hostile things and each key
anon = httpx.Client(base_url=BASE, timeout=60)
for v in ["abc", "%00", "-1", "99999999999999999999", "x" * 3000, "%F0%9F%98%80", "%ff", "..", "%2e%2e%2f", ""]:
    for cl in (anon, c):
        req(cl, f"/status/incidents/{v}", "GET", f"/status/incidents/{v}")
        req(cl, f"/status/{v}", "GET", f"/status/{v}")
for path in ["/-/reload", "/metrics", "/healthz", "/eduops-health", "/api/v1/local/ping", "/api/v1/rtc/store/query",
             "/api/v1/analytics/store/query", "/api/v1/analytics/store/statements", "/store/query", "/api/openapi.json", "/api/docs"]:
    for who, hdr in [("anon", {}), ("read", {"authorization": "Bearer " + KEYS["read"]}),
                     ("admin", {"authorization": "Bearer " + KEYS["admin"]}), ("bad", {"authorization": "Bearer eduk_x_y"}),
                     ("basic", {"authorization": "Basic %%%"}), ("weird", {"authorization": "\x01" * 10})]:
        for m in ["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE"]:
            for body, ct in [(b"", ""), (b"{bad", "application/json"), (b"[" * 10000, "application/json"),
                             (b'{"sql":"select 1; drop table x"}', "application/json"), (b"\x00\xff", "application/octet-stream"),
                             (b'{"query":"\\u0000"}', "application/json")]:
                hh = {**hdr, **({"content-type": ct} if ct else {})}
                try:
                    req(c if who == "session" else anon, f"{who} {m} {path} {body[:20]!r}", m, path + "?query=%00&since=-1", content=body, headers=hh)
                except Exception as e:
                    print("ERR", e)
print("misc", n, len(bad), flush=True)
# 5. the console still works after all this (nothing half-written that breaks a page)
for p in ["/", "/runs", "/incidents", "/alerts", "/account", "/admin/users", "/admin/keys"]:
    r = c.get(p); n += 1
    if r.status_code != 200:
        bad.append((f"after: {p}", r.status_code, r.text[:300])); print(bad[-1], flush=True)
json.dump(bad, open(ADV + "/bad_forms.json", "w"), indent=1, ensure_ascii=False)
print(n, "requests", len(bad), "bad")
