"""`eduops metrics`, `eduops rules` and `eduops alerts`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from eduops.core import values
from eduops.core.console import local_time, out, plain, print_json, table, workspace
from eduops.errors import UsageError

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
metrics_app = typer.Typer(help="The metric store.", no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules: test, export, push, list.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts, silences, channels and expected surges.", no_args_is_help=True)
silence_app = typer.Typer(help="Silences.", no_args_is_help=True)
channel_app = typer.Typer(help="Notification channels (Apprise URLs, stored encrypted).", no_args_is_help=True)
surge_app = typer.Typer(help="Expected surges: windows in which anomaly flags are suppressed.", no_args_is_help=True)
alerts_app.add_typer(surge_app, name="surge")
alerts_app.add_typer(silence_app, name="silence")
alerts_app.add_typer(channel_app, name="channel")


def _audit(action: str, target: str, after: dict[str, object] | None = None) -> None:
    """Silences, acknowledgements and channel (secret) changes go to the audit log; never a secret's value."""
    from eduops.core.audit import audit
    from eduops.core.console import cli_actor

    audit(workspace().engine, actor=cli_actor(), action=action, target=target, after=after, source_ip="local")


def seconds(text: str, what: str) -> float:
    from eduops.alerting.promql import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


def parse_labels(items: list[str]) -> dict[str, str]:
    labels = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--labels {item!r}: write key=value")
        labels[key.strip()] = value.strip()
    return labels


@metrics_app.command("query")
def metrics_query(
    name: Annotated[str, typer.Argument(help="a metric name or a PromQL expression")],
    labels: Annotated[list[str] | None, typer.Option("--labels", "-l", help="k=v, repeatable")] = None,
    since: Annotated[str, typer.Option(help="how far back, e.g. 1h, 7d")] = "1h",
    step: Annotated[str, typer.Option(help="one point every …, e.g. 1m")] = "1m",
    as_json: JSON = False,
) -> None:
    """Values of a metric (or expression) over time."""
    from eduops.alerting.metric_store import expression_for
    from eduops.alerting.prom_source import query_range_for

    ws = workspace()
    end = datetime.now(UTC)
    expr = expression_for(name, parse_labels(labels or []))
    series = query_range_for(ws, expr, end - timedelta(seconds=seconds(since, "--since")), end, seconds(step, "--step"))
    if as_json:
        print_json({"query": expr, "series": series})
        return
    rows = []
    for s in series:
        pts = [p[1] for p in s["points"]]
        metric = ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items()))
        rows.append(
            [
                metric or expr,
                len(pts),
                f"{min(pts):.4g}",
                f"{sum(pts) / len(pts):.4g}",
                f"{max(pts):.4g}",
                f"{pts[-1]:.4g}",
            ]
        )
    table(["series", "points", "min", "avg", "max", "last"], rows, title=expr)


@rules_app.command("test")
def rules_test(files: Annotated[list[Path], typer.Argument(help="promtool-format test files")]) -> None:
    """Run rule unit tests written for `promtool test rules`. Exit 0 pass, 1 fail."""
    from eduops.alerting.rules_unittest import run_test_file

    failed = 0
    for path in files:
        for outcome in run_test_file(path):
            if outcome.failures:
                failed += 1
                out.print(f"[bold red]FAILED[/] {path}: {outcome.group}", highlight=False)
                for f in outcome.failures:
                    out.print("  " + f.replace("\n", "\n  "), highlight=False, markup=False)
            else:
                out.print(f"[green]SUCCESS[/] {path}: {outcome.group} ({outcome.checked} checks)", highlight=False)
    if failed:
        raise typer.Exit(1)


@rules_app.command("export")
def rules_export(
    fmt: Annotated[str, typer.Option("--format", help="prometheus")] = "prometheus",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to a file")] = None,
) -> None:
    """Write the active rules (shipped, other domains', and rule_files) as one Prometheus rule file."""
    from eduops.alerting.pipeline import active_groups
    from eduops.alerting.service import export_prometheus
    from eduops.alerting.settings import alerting_settings

    if fmt != "prometheus":
        raise UsageError(f"--format {fmt!r}: only 'prometheus' is supported")
    ws = workspace()
    text = export_prometheus(active_groups(ws.settings, alerting_settings(ws.settings)))
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


@rules_app.command("push")
def rules_push(
    directory: Annotated[Path, typer.Option("--dir", help="Prometheus's rule_files directory")],
    reload: Annotated[str, typer.Option("--reload", help="Prometheus base URL to POST /-/reload to")] = "",
    as_json: JSON = False,
) -> None:
    """Write the enabled rules as Prometheus rule files (one per source) and ask Prometheus to reload."""
    from eduops.alerting.pipeline import active_groups
    from eduops.alerting.service import push_rule_files, reload_prometheus
    from eduops.alerting.settings import alerting_settings

    ws = workspace()
    groups = active_groups(ws.settings, alerting_settings(ws.settings))
    files = push_rule_files(groups, directory)
    reloaded = reload_prometheus(reload) if reload else ""
    rules = sum(len(g.rules) for g in groups)
    if as_json:
        print_json({"files": [str(f) for f in files], "groups": len(groups), "rules": rules, "reloaded": reloaded})
        return
    out.print(f"{rules} rules in {len(files)} files under {directory}" + (f"; reloaded {reloaded}" if reloaded else ""))


@rules_app.command("list")
def rules_list(as_json: JSON = False) -> None:
    """The active rules, where they come from, and their current state."""
    from eduops.alerting.service import rules_overview

    rules = rules_overview(workspace())
    if as_json:
        print_json(rules)
        return
    table(
        ["group", "rule", "state", "expr", "source"],
        [[r["group"], r["name"], r["state"], r["expr"], Path(r["source"]).name] for r in rules],
    )


@alerts_app.command("list")
def alerts_list(as_json: JSON = False) -> None:
    """Pending, firing and recently resolved alerts: most severe and oldest first, the same alert once,
    values with their units."""
    from eduops.alerting.alerts import current_alerts
    from eduops.alerting.presentation import alerts_view
    from eduops.alerting.service import rules_overview

    ws = workspace()
    if as_json:
        print_json(current_alerts(ws.engine))
        return
    table(
        ["severity", "state", "alert", "labels", "value", "since", "acked"],
        [
            [
                a["severity"],
                a["state"],
                a["alertname"] + (f" ×{a['duplicates']}" if a["duplicates"] > 1 else ""),
                ",".join(f"{k}={v}" for k, v in a["labels"].items() if k not in ("alertname", "severity")),
                a["value_text"],
                local_time(a["fired_at"] or a["active_at"]),
                a["acked_by"] or "",
            ]
            for a in alerts_view(ws.engine, rules_overview(ws))
        ],
    )


@alerts_app.command("history")
def alerts_history(limit: int = 50, as_json: JSON = False) -> None:
    """The latest alert events: pending, firing, resolved, acknowledged, escalated."""
    from eduops.alerting.alerts import alert_history

    events = alert_history(workspace().engine, limit)
    if as_json:
        print_json(events)
        return
    table(
        ["at", "event", "alert", "labels"],
        [
            [
                local_time(e["at"]),
                e["event"],
                e["alertname"],
                ",".join(f"{k}={v}" for k, v in e["labels"].items() if k != "alertname"),
            ]
            for e in events
        ],
    )


@alerts_app.command("ack")
def alerts_ack(fingerprint: str, by: Annotated[str, typer.Option(help="who acknowledges")] = "cli") -> None:
    """Acknowledge an alert (stops its escalation)."""
    from eduops.alerting.alerts import acknowledge

    ws = workspace()
    data = acknowledge(ws.engine, fingerprint, by)
    _audit("alert.ack", f"alert:{fingerprint}", after={"by": by})
    print_json(data)


@silence_app.command("add")
def silence_add(
    matchers: Annotated[list[str], typer.Argument(help='e.g. alertname="DiskAlmostFull" host="web-1"')],
    duration: Annotated[str, typer.Option(help="e.g. 2h")] = "2h",
    comment: Annotated[str, typer.Option(help="why")] = "",
    author: Annotated[str, typer.Option(help="who")] = "cli",
    as_json: JSON = False,
) -> None:
    """Silence the alerts matching every matcher for a while."""
    from eduops.alerting.service import create_silence

    data = create_silence(workspace().engine, matchers, author, comment, duration=seconds(duration, "--duration"))
    _audit(
        "silence.create",
        f"silence:{data['id']}",
        after={"matchers": matchers, "until": str(data["ends_at"]), "comment": comment},
    )
    print_json(data) if as_json else out.print(f"silence {data['id']} until {data['ends_at']}")


@silence_app.command("list")
def silence_list(
    all_: Annotated[bool, typer.Option("--all", help="include expired")] = False, as_json: JSON = False
) -> None:
    from eduops.alerting.service import list_silences

    rows = list_silences(workspace().engine, all_)
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "state", "matchers", "until", "by", "comment"],
        [[s["id"], s["state"], " ".join(s["matchers"]), local_time(s["ends_at"]), s["created_by"], s["comment"]]
         for s in rows],
    )


@silence_app.command("expire")
def silence_expire(silence_id: int) -> None:
    from eduops.alerting.service import expire_silence

    data = expire_silence(workspace().engine, silence_id)
    _audit("silence.expire", f"silence:{silence_id}")
    print_json(data)


@channel_app.command("add")
def channel_add(
    name: str,
    url: Annotated[str, typer.Argument(help="Apprise URL, e.g. dingtalk://SECRET@TOKEN")],
    rate: Annotated[int, typer.Option(help="messages per minute (0: the service's limit)")] = 0,
) -> None:
    """Add a channel; its URL (with the token and secret) is stored encrypted."""
    from eduops.alerting.notify import add_channel
    from eduops.core.workspace import keyring

    ws = workspace()
    data = add_channel(ws.engine, keyring(ws.settings), name, url, rate)
    _audit("secret.channel.set", f"channel:{name}", after={"scheme": url.split("://", 1)[0], "rate_per_minute": rate})
    print_json(data)


@channel_app.command("list")
def channel_list(as_json: JSON = False) -> None:
    from eduops.alerting.notify import list_channels

    rows = list_channels(workspace().engine)
    print_json(rows) if as_json else table(
        ["name", "scheme", "per minute", "enabled"],
        [[c["name"], c["scheme"], c["rate_per_minute"], c["enabled"]] for c in rows],
    )


@channel_app.command("remove")
def channel_remove(name: str) -> None:
    from eduops.alerting.notify import remove_channel

    remove_channel(workspace().engine, name)
    _audit("secret.channel.remove", f"channel:{name}")


@channel_app.command("test")
def channel_test(name: str) -> None:
    """Send a test message through a channel now. Exit 1 when it fails."""
    from eduops.alerting.notify import apprise_send, load_queues
    from eduops.core.workspace import keyring

    ws = workspace()
    queues = load_queues(ws.engine, keyring(ws.settings))
    if name not in queues:
        raise UsageError(f"no enabled channel {name!r}; see `eduops alerts channel list`")
    ok, error = apprise_send(queues[name].url, "eduops test", "If you read this, alerts reach this channel.")
    out.print("sent" if ok else f"[red]failed:[/] {plain(error)}")
    if not ok:
        raise typer.Exit(1)


@surge_app.command("add")
def surge_add(
    title: str,
    start: Annotated[str, typer.Option(help="ISO time, e.g. 2026-09-01T08:00+08:00")],
    duration: Annotated[str, typer.Option(help="e.g. 3d")] = "1d",
    metric: Annotated[str, typer.Option(help="only this metric (default: all)")] = "",
) -> None:
    """Announce a planned surge (start of term, a large class) so the anomaly baseline stays quiet."""
    from eduops.alerting.service import add_surge

    begins = values.parse_time(start, "--start", tz=workspace().settings.tz)
    if begins is None:
        raise UsageError("--start: write an ISO time such as 2026-09-01T08:00+08:00")
    print_json(
        add_surge(
            workspace().engine,
            title,
            begins,
            begins + timedelta(seconds=seconds(duration, "--duration")),
            metric,
            "cli",
        )
    )


@surge_app.command("list")
def surge_list(as_json: JSON = False) -> None:
    from eduops.alerting.service import list_surges

    rows = list_surges(workspace().engine)
    print_json(rows) if as_json else table(
        ["id", "title", "from", "until", "metric"],
        [[r["id"], r["title"], local_time(r["starts_at"]), local_time(r["ends_at"]), r["metric"] or "*"] for r in rows],
    )
