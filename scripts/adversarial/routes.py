import json, sys, tempfile
from common import ADV
from pathlib import Path
from fastapi.routing import APIRoute
from starlette.routing import Route, Mount
from eduops.config import load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.workspace import open_workspace
from eduops.web.app import create_app
home = Path(tempfile.mkdtemp())
cfg = load_settings(None, home=str(home))
write_keyring(cfg.key_file, Keyring.new())
app = create_app(open_workspace(cfg))
out = []
def params(d):
    f = list(d.path_params) + list(d.query_params)
    for s in d.dependencies: f += params(s)
    return f
from fastapi.routing import _iter_included_route_candidates
for r in _iter_included_route_candidates(app.routes):
    if isinstance(r, APIRoute):
        out.append({"path": r.path, "methods": sorted(r.methods), "schema": r.include_in_schema,
                    "query": [(p.name if not p.alias else p.alias, str(p.field_info.annotation)) for p in params(r.dependant) if p.name not in r.path],
                    })
    elif isinstance(r, Route):
        out.append({"path": r.path, "methods": sorted(r.methods or []), "schema": False, "query": []})
    elif isinstance(r, Mount):
        out.append({"path": r.path, "methods": ["MOUNT"], "schema": False, "query": []})
json.dump(out, open(ADV + "/routes.json", "w"), indent=1)
print(len(out), sum(1 for o in out if not o["schema"]))
