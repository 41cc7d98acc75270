"""`eduops incidents ...`: list, show, open by hand, acknowledge, resolve, review."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from eduops.core.console import cli_actor, local_time, out, plain, print_json, table, workspace
from eduops.errors import UsageError
from eduops.incidents import review as reviews
from eduops.incidents import service

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
app = typer.Typer(help="Incidents: the joined timeline, working it, the review (复盘).", no_args_is_help=True)


def _dims(pairs: list[str] | None) -> dict[str, str]:
    dims: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--dim takes NAME=VALUE (e.g. region=henan), not {pair!r}")
        dims[key.strip()] = value.strip()
    return dims


def _show(incident: dict[str, Any]) -> None:
    out.print(f"#{incident['id']} {plain(incident['title'])}  [{incident['severity']}] {incident['status']}"
              f"  owner: {plain(incident['owner'] or '—')}")
    for key in ("first_signal_at", "opened_at", "acknowledged_at", "resolved_at"):
        when = local_time(incident[key]) if incident[key] else "—"
        out.print(f"  {key.removesuffix('_at').replace('_', ' ')}: {when}")
    if incident["dims"]:
        out.print("  dimensions: " + ", ".join(f"{k}={plain(v)}" for k, v in incident["dims"].items()))
    table(["time", "kind", "signal", "link"],
          [[local_time(s["at"]), s["kind"], s.get("title", ""), s.get("link", "")] for s in incident["signals"]])
    for n in incident["notes"]:
        out.print(f"  {local_time(n['at'])} {plain(n['author'])}: {plain(n['text'])}")


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="open, or one of investigating identified monitoring resolved")]
    = None,
    as_json: JSON = False,
) -> None:
    """Incidents, newest first."""
    found = service.list_incidents(workspace().engine, status)
    if as_json:
        print_json(found)
        return
    table(["#", "title", "severity", "status", "owner", "opened", "signals"],
          [[i["id"], i["title"], i["severity"], i["status"], i["owner"] or "—", local_time(i["opened_at"]),
            len(i["signals"])] for i in found])


@app.command("show")
def show_command(incident_id: int, as_json: JSON = False) -> None:
    """One incident with its signals and notes."""
    incident = service.get_incident(workspace().engine, incident_id)
    print_json(incident) if as_json else _show(incident)


@app.command("open")
def open_command(
    title: Annotated[str, typer.Argument(help="what is wrong, as the team would say it")],
    severity: Annotated[str, typer.Option(help="info, warning or critical")] = "warning",
    owner: Annotated[str, typer.Option(help="who works it")] = "",
    dim: Annotated[list[str] | None, typer.Option(help="a dimension NAME=VALUE (repeatable), e.g. region=henan")]
    = None,
    as_json: JSON = False,
) -> None:
    """Open an incident by hand."""
    ws = workspace()
    made = service.open_incident(ws.engine, ws.settings, title=title, who=cli_actor(), severity=severity,
                                 dims=_dims(dim), owner=owner)
    print_json(made) if as_json else out.print(f"incident #{made['id']} opened")


@app.command("ack")
def ack_command(incident_id: int, who: Annotated[str, typer.Option()] = "", as_json: JSON = False) -> None:
    """Acknowledge an incident (the first acknowledgement is the one time-to-acknowledge measures)."""
    done = service.acknowledge(workspace().engine, incident_id, who or cli_actor())
    print_json(done) if as_json else out.print(f"incident #{incident_id} acknowledged by {plain(done['owner'])}")


@app.command("resolve")
def resolve_command(
    incident_id: int,
    note: Annotated[str, typer.Option(help="what fixed it")] = "",
    as_json: JSON = False,
) -> None:
    """Resolve an incident; its review can then be written."""
    ws = workspace()
    if note:
        service.add_note(ws.engine, incident_id, cli_actor(), note)
    done = service.resolve(ws.engine, ws.settings, incident_id, cli_actor())
    print_json(done) if as_json else out.print(f"incident #{incident_id} resolved")


@app.command("review")
def review_command(
    incident_id: int,
    went_well: Annotated[str | None, typer.Option(help="what went well")] = None,
    went_badly: Annotated[str | None, typer.Option(help="what went badly")] = None,
    action: Annotated[list[str] | None, typer.Option(help="an action item TITLE@OWNER (repeatable)")] = None,
    as_json: JSON = False,
) -> None:
    """Show the review (durations, impact, causes, timeline); with options, write it first."""
    ws = workspace()
    actions = []
    for a in action or []:
        title, sep, owner = a.rpartition("@")
        if not sep or not title.strip() or not owner.strip():
            raise UsageError(f"--action takes TITLE@OWNER, not {a!r}")
        actions.append((title, owner))
    if went_well is not None or went_badly is not None:
        reviews.save_review(ws.engine, incident_id, cli_actor(), went_well=went_well, went_badly=went_badly)
    for title, owner in actions:
        reviews.add_action(ws.engine, ws.settings, incident_id, cli_actor(), title, owner)
    data = reviews.get_review(ws.engine, ws.settings, incident_id)
    if as_json:
        print_json(data)
        return
    _show(data["incident"])
    out.print("durations: " + (json.dumps(data["durations"], ensure_ascii=False) if data["durations"] else "—"))
    out.print("impact: " + (json.dumps(data["impact"], ensure_ascii=False, default=str) if data["impact"] else "—"))
    review = data["incident"]["review"]
    out.print(f"went well: {plain(review['went_well'] or '—')}")
    out.print(f"went badly: {plain(review['went_badly'] or '—')}")
    for a in data["incident"]["action_items"]:
        out.print(f"  action: {plain(a['title'])} — {plain(a['owner'])} (work item #{a['work_item_id']})")
