"""`eduops feedback ...`: import, cluster, queue, answer, and work items."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from eduops.core.console import out, print_json, table, workspace
from eduops.errors import UsageError
from eduops.feedback import analysis, service, workitems

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
app = typer.Typer(help="User feedback: intake, clusters, the support queue and work items.", no_args_is_help=True)
work_app = typer.Typer(help="Work items from clusters, alerts or by hand.", no_args_is_help=True)
app.add_typer(work_app, name="work-item")


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="a CSV with a text column")], as_json: JSON = False
) -> None:
    """Import feedback from CSV (columns: text, and optionally id, user, channel, page, app_version, received_at)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    ws = workspace()
    result = service.import_csv(ws.engine, ws.settings, path.read_bytes())
    print_json(result) if as_json else out.print(f"{result['imported']} imported, {result['duplicates']} already there")


@app.command("add")
def add_command(
    text: Annotated[str, typer.Argument(help="what the user said")],
    user: Annotated[str, typer.Option(help="the user's id")] = "",
    channel: Annotated[str, typer.Option(help="where it came from")] = "phone",
    as_json: JSON = False,
) -> None:
    """Record one piece of feedback (e.g. from a phone call)."""
    ws = workspace()
    item = service.submit(
        ws.engine, ws.settings, service.parse_feedback({"text": text, "user": user, "channel": channel})
    )
    print_json(item) if as_json else out.print(f"feedback #{item['id']} ({item['category']})")


@app.command("clusters")
def clusters_command(
    order: Annotated[str, typer.Option(help="size or week")] = "size",
    refresh: Annotated[bool, typer.Option(help="cluster the recent feedback first")] = True,
    as_json: JSON = False,
) -> None:
    """Clusters of similar feedback with top terms, weekly counts and trend, biggest first."""
    ws = workspace()
    if order not in ("size", "week"):
        raise UsageError("--order must be size or week")
    if refresh:
        analysis.recluster(ws.engine, ws.settings)
    ranked = analysis.ranking(ws.engine, order=order)
    if as_json:
        print_json(ranked)
        return
    table(
        ["id", "top terms", "category", "size", "this week", "last week", "trend", "example"],
        [
            [
                c["id"],
                " · ".join(c["top_terms"][:5]),
                c["category"],
                c["size"],
                c["this_week"],
                c["last_week"],
                c["trend"],
                (c["examples"] or [""])[0][:40],
            ]
            for c in ranked
        ],
    )


@app.command("queue")
def queue_command(
    status: Annotated[str, typer.Option(help="open, answered, closed or all")] = "open", as_json: JSON = False
) -> None:
    """The support queue, the complaint closest to (or furthest past) its first-response deadline first."""
    if status not in ("open", "answered", "closed", "all"):
        raise UsageError("--status must be open, answered, closed or all")
    rows = service.support_queue(workspace().engine, status=status)
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "user", "category", "sla", "minutes left", "text"],
        [[r["id"], r["user"], r["category"], r["sla"], r["minutes_left"], r["text"][:50]] for r in rows],
    )


@app.command("reply")
def reply_command(
    item_id: int,
    text: Annotated[str, typer.Argument(help="the answer")],
    author: Annotated[str, typer.Option(help="who answers")] = "support",
    close: Annotated[bool, typer.Option(help="close it too")] = False,
    as_json: JSON = False,
) -> None:
    """Answer a piece of feedback (the first answer stops its SLA clock)."""
    item = service.reply(workspace().engine, item_id, author, text, close=close)
    print_json(item) if as_json else out.print(f"#{item_id} {item['status']} (SLA {item['sla']})")


@app.command("digest")
def digest_command(as_json: JSON = False) -> None:
    """What the daily digest would say now."""
    ws = workspace()
    d = analysis.digest(ws.engine, ws.settings)
    if as_json:
        print_json(d)
        return
    out.print(
        f"{d['received']} received in the last day ({d['complaints']} complaints); "
        f"{len(d['new_clusters'])} new clusters; {len(d['sla_breaches'])} SLA breaches"
    )
    for c in d["top"][:5]:
        out.print(f"  {c['this_week']:>4}  {c['label']}  ({c['trend']})")


@work_app.command("add")
def work_add(
    cluster: Annotated[int | None, typer.Option(help="make it from this feedback cluster")] = None,
    title: Annotated[str, typer.Option(help="title (required without --cluster)")] = "",
    kind: Annotated[str, typer.Option(help="bug, feature or nice-to-have")] = "bug",
    function: Annotated[str, typer.Option(help="classes, login, payment, content, app, other")] = "other",
    requesters: Annotated[int, typer.Option(help="how many users asked")] = 0,
    who: Annotated[str, typer.Option(help="who files it")] = "cli",
    as_json: JSON = False,
) -> None:
    """File a work item; its priority follows the team's policy."""
    ws = workspace()
    if cluster is not None:
        item = workitems.from_cluster(ws.engine, ws.settings, cluster, who, title=title or None)
    else:
        try:
            data = workitems.WorkItemIn(title=title, kind=kind, function=function, requesters=requesters)
        except ValidationError as exc:
            problems = "; ".join(f"--{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise UsageError(f"invalid work item: {problems}") from None
        item = workitems.create(ws.engine, ws.settings, data, who)
    print_json(item) if as_json else out.print(f"work item #{item['id']} {item['priority']} ({item['reason']})")


@work_app.command("list")
def work_list(
    status: Annotated[str | None, typer.Option()] = None,
    release: Annotated[str | None, typer.Option()] = None,
    as_json: JSON = False,
) -> None:
    """Work items by priority."""
    rows = workitems.list_items(workspace().engine, status=status, release=release)
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "priority", "title", "kind", "function", "status", "release"],
        [
            [r["id"], r["priority"], r["title"], r["kind"], r["function"], r["status"], r["release"] or "—"]
            for r in rows
        ],
    )


@work_app.command("update")
def work_update(
    item_id: int,
    status: Annotated[str | None, typer.Option()] = None,
    release: Annotated[str | None, typer.Option(help="the release that ships it")] = None,
    as_json: JSON = False,
) -> None:
    """Change a work item's status or the release that ships it."""
    item = workitems.update(workspace().engine, item_id, status=status, release=release)
    print_json(item) if as_json else out.print(f"#{item_id} {item['status']} {item['release'] or ''}")
