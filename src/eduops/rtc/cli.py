"""`eduops rtc`: ingest reports, probe calls, breakdowns, worst segments, call search and the call page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from eduops.core import values
from eduops.core.console import local_time, out, plain, print_json, progress_bar, table, workspace
from eduops.db import utcnow
from eduops.errors import UsageError
from eduops.rtc.breakdowns import DIMENSIONS

if TYPE_CHECKING:
    Dimension = str
else:  # Typer lists the choices in help and errors
    Dimension = Literal[tuple(DIMENSIONS)]

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
DAYS = Annotated[float, typer.Option("--days", min=0.01, max=366, help="look back this many days")]

rtc_app = typer.Typer(
    help="Call quality: reports, QoE breakdowns, call search, the synthetic probe.", no_args_is_help=True
)


def _store() -> Any:
    from eduops.rtc.service import open_store

    return open_store(workspace().settings)


def _window(days: float) -> Any:
    from eduops.rtc.breakdowns import Window

    end = utcnow()
    return Window(end - timedelta(days=days), end)


def _when(value: str | None, name: str) -> datetime | None:
    """A CLI time: ISO 8601 (local time of the workspace when no zone is given) or '2h'/'3d' ago."""
    if not value:
        return None
    if re.fullmatch(r"\d+[mhd]", value.strip()):  # "2h": that long ago
        return utcnow() - timedelta(seconds=values.parse_duration(value, f"--{name}"))
    return values.parse_time(value, f"--{name}", tz=workspace().settings.tz)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return local_time(value)
    return value


@rtc_app.command("ingest")
def ingest(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of call, session and sample items")], as_json: JSON = False
) -> None:
    """Load call reports from a file; invalid items are listed with their line and reason (exit 1)."""
    from eduops.rtc.service import ingest_file

    with progress_bar(f"ingesting {file.name}", enabled=not as_json) as progress:
        result = ingest_file(_store(), file, progress)
    data = result.to_dict()
    if as_json:
        print_json(data)
    else:
        out.print(
            f"accepted {data['accepted_total']} items: " + ", ".join(f"{n} {k}" for k, n in data["accepted"].items())
        )
        if result.rejected:
            table(
                ["line", "reason"],
                [[r["line"], r["reason"]] for r in result.rejected[:50]],
                title=f"{result.rejected_total} rejected",
            )
    if result.rejected_total and not data["accepted_total"]:
        raise UsageError(f"{file}: no item could be used ({result.rejected_total} rejected)")
    if result.rejected_total:
        raise typer.Exit(1)


@rtc_app.command("probe")
def probe(
    delay_ms: Annotated[float, typer.Option("--delay-ms", min=0, max=5000, help="one-way delay added each way")] = 0,
    jitter_ms: Annotated[float, typer.Option("--jitter-ms", min=0, max=5000, help="± random delay per packet")] = 0,
    loss_pct: Annotated[float, typer.Option("--loss-pct", min=0, max=100, help="RTP packets dropped each way")] = 0,
    duration: Annotated[float, typer.Option("--duration", min=0.5, max=600, help="seconds of media")] = 5.0,
    as_json: JSON = False,
) -> None:
    """Place a real WebRTC call between two local peers and measure it (exit 1 when it fails or is poor)."""
    from eduops.rtc.probe import run_probe

    with progress_bar("probe call", enabled=not as_json) as progress:
        progress("calling", 0.1)
        result = run_probe(delay_ms, jitter_ms, loss_pct, duration)
    data = result.to_dict()
    if as_json:
        print_json(data)
    else:
        keys = (
            "connected",
            "connect_ms",
            "first_audio_ms",
            "first_video_ms",
            "rtt_ms",
            "jitter_ms",
            "loss_pct",
            "video_freeze_count",
            "video_freeze_ms",
            "mos",
            "band",
            "error",
        )
        table(["measure", "value"], [[k, _fmt(data[k])] for k in keys], title="probe call")
    if not result.connected or result.band == "poor":
        raise typer.Exit(1)


@rtc_app.command("breakdown")
def breakdown_cmd(
    dimension: Annotated[
        Dimension, typer.Argument(help="what to group the calls by")
    ],
    days: DAYS = 7,
    as_json: JSON = False,
) -> None:
    """Quality per value of one dimension over the last days."""
    from eduops.rtc.breakdowns import breakdown

    rows = breakdown(_store(), dimension, _window(days))
    if as_json:
        print_json(rows)
        return
    cols = [
        "segment",
        "sessions",
        "media_min",
        "poor_pct",
        "video_freeze_rate_pct",
        "mos",
        "rtt_p90_ms",
        "loss_pct",
        "join_success_pct",
    ]
    table(cols, [[_fmt(r.get(c)) for c in cols] for r in rows], title=f"call quality by {dimension}")


@rtc_app.command("worst")
def worst(
    days: DAYS = 7,
    min_sessions: Annotated[int, typer.Option(min=1)] = 20,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 15,
    as_json: JSON = False,
) -> None:
    """The worst segments (province/ISP, app version, teacher, device, ...) with enough volume to matter."""
    from eduops.rtc.breakdowns import worst_segments

    rows = worst_segments(_store(), _window(days), min_sessions=min_sessions, limit=limit)
    if as_json:
        print_json(rows)
        return
    cols = ["dimension", "segment", "poor_pct", "lift", "sessions", "video_freeze_rate_pct", "mos", "loss_pct"]
    table(cols, [[_fmt(r.get(c)) for c in cols] for r in rows], title="worst segments")


@rtc_app.command("heatmap")
def heatmap_cmd(days: DAYS = 7, metric: Annotated[str, typer.Option()] = "poor_pct", as_json: JSON = False) -> None:
    """Province × local hour of one metric."""
    from eduops.rtc.breakdowns import heatmap

    data = heatmap(_store(), _window(days), metric)
    if as_json:
        print_json(data)
        return
    rows = [
        [name] + ["" if v is None else f"{v:.0f}" for v in values]
        for name, values in zip(data["rows"], data["values"], strict=True)
    ]
    table(["province"] + [str(h) for h in data["hours"]], rows, title=f"{metric} by province and hour")


@rtc_app.command("trend")
def trend(as_json: JSON = False) -> None:
    """This week against last week."""
    from eduops.rtc.breakdowns import week_over_week

    data = week_over_week(_store(), utcnow())
    if as_json:
        print_json(data)
        return
    table(
        ["metric", "this week", "last week", "change", "worse"],
        [
            [m["metric"], _fmt(m["this_week"]), _fmt(m["last_week"]), _fmt(m["change"]), m["worse"]]
            for m in data["metrics"]
        ],
        title="week over week",
    )


@rtc_app.command("calls")
def calls(
    user: Annotated[str | None, typer.Option(help="a participant's user id")] = None,
    channel: Annotated[str | None, typer.Option(help="channel or room")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time or 2h / 3d ago")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time")] = None,
    band: Annotated[str | None, typer.Option(help="good, fair or poor")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 50,
    as_json: JSON = False,
) -> None:
    """Find calls by user, channel or time range."""
    from eduops.rtc.calls import search_calls

    rows = search_calls(
        _store(),
        user_id=user,
        channel=channel,
        start=_when(since, "since"),
        end=_when(until, "until"),
        band=band,
        limit=limit,
    )
    if as_json:
        print_json(rows)
        return
    cols = ["call_id", "scenario", "channel", "start_ts", "participants", "mos", "poor_pct", "band"]
    table(cols, [[_fmt(r.get(c)) for c in cols] for r in rows], title=f"{len(rows)} calls")


@rtc_app.command("call")
def call(call_id: str, as_json: JSON = False) -> None:
    """One call: its participants, their quality and the root-cause hint (the post-class review)."""
    from eduops.rtc.calls import call_detail

    data = call_detail(_store(), call_id)
    if as_json:
        print_json(data)
        return
    c = data["call"]
    out.print(
        f"[bold]{c['call_id']}[/] {c['scenario']} {c.get('channel') or ''} {_fmt(c['start_ts'])} "
        f"MOS {_fmt(c['mos'])} ({c['band']})"
    )
    cols = [
        "user_id",
        "role",
        "province",
        "isp",
        "network",
        "device",
        "mos",
        "poor_pct",
        "loss_up_pct",
        "loss_down_pct",
        "rtt_ms",
        "jitter_ms",
        "cpu_share",
    ]
    table(cols, [[_fmt(p.get(c)) for c in cols] for p in data["participants"]], title="participants")
    if data["hint"]:
        hint = data["hint"]
        out.print(f"[bold]likely cause:[/] {plain(hint['summary'])}")
        for line in hint["evidence"]:
            out.print(f"  - {line}")


@rtc_app.command("tutor-probe")
def tutor_probe(
    url: Annotated[str, typer.Argument(help="OpenAI-compatible /v1/chat/completions URL")],
    model: Annotated[str, typer.Option()] = "gpt-4o-mini",
    api_key_env: Annotated[str, typer.Option(help="environment variable with the API key")] = "",
    as_json: JSON = False,
) -> None:
    """Time an AI tutor endpoint: time to first token and tokens per second of a streamed answer."""
    import os

    from eduops.rtc.aitutor import probe_chat

    result = probe_chat(url, model, os.environ.get(api_key_env, "") if api_key_env else "")
    if as_json:
        print_json(result.to_dict())
    else:
        table(["measure", "value"], [[k, _fmt(v)] for k, v in result.to_dict().items()], title="tutor probe")
    if not result.ok:
        raise typer.Exit(1)


@rtc_app.command("schema")
def schema() -> None:
    """Print the call-quality store's schema (for analysts attaching rtc.duckdb)."""
    from eduops.rtc.store import SCHEMA

    typer.echo(";\n\n".join(SCHEMA) + ";")
