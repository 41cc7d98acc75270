"""Call-quality checks for the calendar: the weekly trend, AI tutor latency, the probe, the rehearsal."""

from __future__ import annotations

import os
from datetime import timedelta

import httpx

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.core.i18n import msg
from eduops.core.places import place_msg
from eduops.rtc import aitutor
from eduops.rtc.breakdowns import Window, week_over_week, worst_segments
from eduops.rtc.probe import run_probe
from eduops.rtc.service import open_store
from eduops.rtc.settings import rtc_settings

TREND_UNITS = {
    "poor_pct": "%",
    "video_freeze_rate_pct": "%",
    "audio_freeze_rate_pct": "%",
    "mos": "MOS",
    "rtt_p50_ms": "ms",
    "loss_pct": "%",
    "join_success_pct": "%",
}


@check("rtc.quality_trend", area="call_quality", title="Call-quality trend, week over week")
def quality_trend(ctx: CheckContext) -> CheckResult:
    """This week's call quality against last week's, and the worst segments of the week."""
    cfg = rtc_settings(ctx.settings)
    store = open_store(ctx.settings)
    trend = week_over_week(store, ctx.now)
    if not trend["this_week"].get("samples"):
        return CheckResult("ok", "no calls reported this week", evidence={"trend": trend})
    measurements = [
        Measurement(f"rtc_week_{m['metric']}", m["this_week"], TREND_UNITS[m["metric"]])
        for m in trend["metrics"]
        if m["this_week"] is not None
    ]
    findings = []
    for m in trend["metrics"]:
        if not m["worse"] or m["change"] is None:
            continue
        big = (
            (m["metric"] == "poor_pct" and m["change"] >= cfg.trend_poor_points)
            or (m["metric"] == "join_success_pct" and m["change"] <= -0.5)
            or (m["metric"] == "mos" and m["change"] <= -0.1)
        )
        if big:
            findings.append(
                Finding(
                    "warn",
                    msg(
                        "{metric} worse: {last_week} → {this_week}",
                        metric=m['metric'], last_week=m['last_week'], this_week=m['this_week'],
                    ),
                    "week over week",
                    "Open the call-quality page and compare the breakdowns.",
                )
            )
    worst = worst_segments(
        store, Window(ctx.now - timedelta(days=7), ctx.now), min_sessions=cfg.worst_min_sessions, limit=5
    )
    for w in worst:
        findings.append(
            Finding(
                "info",
                msg("worst segment: {dimension} = {segment}", dimension=msg(w['dimension']),
                    segment=place_msg(w['segment'])),
                msg(
                    "poor {poor_pct}% of media time ({lift}× the average) over {sessions} sessions",
                    poor_pct=w['poor_pct'], lift=w['lift'], sessions=w['sessions'],
                ),
                "See its root-cause hints on the call pages.",
            )
        )
    status = status_from_findings(findings)
    this = trend["this_week"]
    return CheckResult(
        status,
        msg(
            "poor share {poor_pct}%, MOS {mos}, join success {get}%",
            poor_pct=this['poor_pct'], mos=this['mos'], get=this.get('join_success_pct'),
        ),
        measurements,
        findings,
        {"trend": trend["metrics"], "worst_segments": worst},
    )


@check("rtc.ai_tutor_latency", area="call_quality", title="AI tutor latency per model and provider")
def ai_tutor_latency(ctx: CheckContext) -> CheckResult:
    """Voice-to-voice p50/p90 of the week's AI tutor turns, and a live probe of the tutor endpoint if set."""
    cfg = rtc_settings(ctx.settings)
    turns = aitutor.load_turns(open_store(ctx.settings), ctx.now - timedelta(days=7), ctx.now)
    rows = aitutor.latency_by_model(turns)
    measurements, findings = [], []
    for r in rows:
        labels = {"provider": r["provider"], "model": r["model"]}
        v2v = r["voice_to_voice"]["value"]
        if v2v is not None:
            measurements.append(Measurement("rtc_ai_voice_to_voice_ms_p90", v2v, "ms", labels))
            if v2v > cfg.tutor_p90_ms:
                findings.append(
                    Finding(
                        "warn",
                        msg(
                            "{provider}/{model} answers slowly: p90 {v2v:.0f} ms",
                            provider=r['provider'], model=r['model'], v2v=v2v,
                        ),
                        msg("over {tutor_p90_ms:.0f} ms voice to voice", tutor_p90_ms=cfg.tutor_p90_ms),
                        "Compare the stage p90s: ASR, first LLM token or TTS.",
                    )
                )
        failures = r["failed"] + r["timeouts"]
        if r["turns"] and failures / r["turns"] > 0.02:
            findings.append(Finding("warn", msg(
                    "{provider}/{model}: {failures} of {turns} turns failed",
                    provider=r['provider'], model=r['model'], failures=failures, turns=r['turns'],
                )))
    evidence: dict[str, object] = {"models": rows}
    if cfg.tutor_url:
        result = aitutor.probe_chat(cfg.tutor_url, cfg.tutor_model, os.environ.get(cfg.tutor_api_key_env, ""))
        evidence["probe"] = result.to_dict()
        if not result.ok:
            findings.append(Finding("crit", "tutor endpoint probe failed", result.error, "Check the LLM gateway."))
        else:
            measurements.append(Measurement("rtc_ai_first_token_ms", result.first_token_ms or 0.0, "ms"))
            if not result.first_token().ok:
                findings.append(Finding("warn", msg(
                        "first token after {first_token_ms:.0f} ms",
                        first_token_ms=result.first_token_ms,
                    )))
    summary = msg(
            "{count} tutor turns over {count2} models",
            count=len(turns), count2=len(rows),
        ) if rows else "no AI tutor turns this week"
    return CheckResult(status_from_findings(findings), summary, measurements, findings, evidence)


def _probe_findings(result: dict[str, object], connect_ms: float, min_mos: float) -> list[Finding]:
    if not result["connected"]:
        return [
            Finding(
                "crit",
                "the probe call did not connect",
                str(result["error"]),
                "Check that UDP is allowed on the host and aiortc works: `eduops rtc probe`.",
            )
        ]
    found = []
    if (result["connect_ms"] or 0) > connect_ms:  # type: ignore[operator]
        found.append(Finding("warn", msg(
                "probe connected in {connect_ms} ms (over {connect_ms2:.0f} ms)",
                connect_ms=result['connect_ms'], connect_ms2=connect_ms,
            )))
    if result["mos"] is None or result["mos"] < min_mos:  # type: ignore[operator]
        found.append(Finding("warn", msg("probe MOS {mos} below {min_mos}", mos=result['mos'], min_mos=min_mos)))
    return found


def _probe_measurements(result: dict[str, object]) -> list[Measurement]:
    units = {
        "connect_ms": "ms",
        "first_audio_ms": "ms",
        "first_video_ms": "ms",
        "rtt_ms": "ms",
        "jitter_ms": "ms",
        "loss_pct": "%",
        "mos": "MOS",
    }
    return [
        Measurement(f"rtc_probe_{k}", float(result[k]), u)  # type: ignore[arg-type]
        for k, u in units.items()
        if result.get(k) is not None
    ]


@check("rtc.probe", area="call_quality", title="Synthetic WebRTC probe call")
def probe_check(ctx: CheckContext) -> CheckResult:
    """A real WebRTC call between two local peers: connect time, first frames, RTT, jitter, loss, MOS."""
    cfg = rtc_settings(ctx.settings)
    params = ctx.params
    result = run_probe(
        float(params.get("delay_ms", 0)),
        float(params.get("jitter_ms", 0)),
        float(params.get("loss_pct", 0)),
        float(params.get("duration_s", cfg.probe_duration_s)),
    ).to_dict()
    findings = _probe_findings(result, cfg.probe_connect_ms, cfg.probe_min_mos)
    summary = (
        msg(
            "connected in {connect_ms} ms, RTT {rtt_ms} ms, loss {loss_pct}%, MOS {mos}",
            connect_ms=result['connect_ms'], rtt_ms=result['rtt_ms'], loss_pct=result['loss_pct'], mos=result['mos'],
        )
        if result["connected"]
        else msg("probe failed: {error}", error=result['error'])
    )
    return CheckResult(
        status_from_findings(findings), summary, _probe_measurements(result), findings, {"probe": result}
    )


@check("rtc.rehearsal", area="call_quality", title="Pre-class rehearsal")
def rehearsal(ctx: CheckContext) -> CheckResult:
    """Before a class: a probe call, the classroom endpoint and every courseware resource answer."""
    cfg = rtc_settings(ctx.settings)
    probe_result = run_probe(duration_s=min(cfg.probe_duration_s, 3.0)).to_dict()
    findings = _probe_findings(probe_result, cfg.probe_connect_ms, cfg.probe_min_mos)
    reached: list[dict[str, object]] = []
    urls = ([cfg.classroom_url] if cfg.classroom_url else []) + list(cfg.rehearsal_resources)
    if not cfg.classroom_url:
        findings.append(
            Finding(
                "info",
                "no classroom endpoint configured",
                "",
                "Set [rtc] classroom_url in eduops.toml to include it in the rehearsal.",
            )
        )
    with httpx.Client(timeout=10.0, follow_redirects=True) as client:
        for url in urls:
            try:
                response = client.get(url)
                reached.append(
                    {
                        "url": url,
                        "status": response.status_code,
                        "ms": round(response.elapsed.total_seconds() * 1000, 1),
                    }
                )
                if response.status_code >= 400:
                    findings.append(Finding("crit", msg(
                            "{url} answers HTTP {status_code}",
                            url=url, status_code=response.status_code,
                        )))
            except httpx.HTTPError as exc:
                reached.append({"url": url, "error": str(exc)})
                findings.append(Finding("crit", msg(
                        "{url} unreachable",
                        url=url,
                    ), str(exc), "Fix it before the class starts."))
    ok_urls = sum(1 for r in reached if isinstance(r.get("status"), int) and int(str(r["status"])) < 400)
    summary = (
        msg(
            "probe {value} (MOS {mos}), {ok_urls}/{count} endpoints reachable",
            value='ok' if probe_result['connected'] else 'failed', mos=probe_result['mos'], ok_urls=ok_urls,
            count=len(urls),
        )
    )
    return CheckResult(
        status_from_findings(findings),
        summary,
        _probe_measurements(probe_result),
        findings,
        {"probe": probe_result, "endpoints": reached},
    )
