import re, json
from common import *
walk = json.load(open(ADV + "/walk.json"))
c = login()
forms = {}
extra = ["/account", "/account/totp", "/admin/users", "/admin/keys", "/incidents", "/login", "/rtc/probe", "/backup"]
for p in walk["pages"] + extra:
    html = c.get(p).text
    for m in re.finditer(r'<form([^>]*)>(.*?)</form>', html, re.S):
        attrs, body = m.groups()
        method = re.search(r'method="(\w+)"', attrs)
        action = re.search(r'action="([^"]*)"', attrs)
        if not method or method.group(1).lower() != "post": continue
        act = (action.group(1) if action else p).replace("&amp;", "&")
        names = {}
        for f in re.finditer(r'<(input|select|textarea)([^>]*)>', body):
            n = re.search(r'name="([^"]+)"', f.group(2))
            v = re.search(r'value="([^"]*)"', f.group(2))
            if n: names.setdefault(n.group(1), v.group(1) if v else "")
        key = re.sub(r"\d+", "N", act)
        forms.setdefault(key, {"action": act, "fields": {}})["fields"].update(names)
json.dump(forms, open(ADV + "/forms.json", "w"), indent=1, ensure_ascii=False)
for k, v in forms.items(): print(v["action"], sorted(v["fields"]))
