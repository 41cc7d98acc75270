import re, json
from urllib.parse import urlsplit, urljoin, parse_qsl
from common import *
c = login()
LINK = re.compile(r'(?:href|action)="([^"#]+)"')
seen, queue, pages, names = {"/"}, ["/"], [], {}
while queue and len(pages) < 400:
    path = queue.pop(0)
    r = c.get(path)
    if r.status_code != 200 or "text/html" not in r.headers.get("content-type",""): continue
    pages.append(path)
    for href in LINK.findall(r.text):
        href = href.replace("&amp;", "&")
        u = urlsplit(urljoin("http://x" + path, href))
        if u.netloc != "x" or u.path.startswith(("/static", "/logout")): continue
        for k, v in parse_qsl(u.query, keep_blank_values=True):
            names.setdefault(u.path if not re.search(r"\d", u.path) else re.sub(r"/[^/]*\d[^/]*", "/{id}", u.path), {}).setdefault(k, v)
        key = re.sub(r"\d+", "N", u.path)
        if key in seen: continue
        seen.add(key); queue.append(u.path)
json.dump({"pages": pages, "names": names}, open(ADV + "/walk.json", "w"), indent=1)
print(len(pages)); print(json.dumps(names, indent=0, ensure_ascii=False)[:4000])
