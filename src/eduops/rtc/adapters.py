"""Vendor formats → the neutral ``sample`` item: W3C getStats(), Agora and Tencent TRTC callbacks.

An item with ``"format": "w3c" | "agora" | "trtc"`` (and no ``type``) is converted before validation.
Every one carries ``call_id``, ``user_id``, ``ts`` and ``interval_s`` next to the vendor payload.
The field mappings are tabled in docs/rtc.md.
"""

from __future__ import annotations

from typing import Any

from eduops.rtc.reports import Rejected

_ENVELOPE = ("call_id", "user_id", "ts", "interval_s", "platform")


def _envelope(item: dict[str, Any]) -> dict[str, Any]:
    out = {"type": "sample"}
    out.update({k: item[k] for k in _ENVELOPE if k in item})
    return out


def _stats_list(stats: Any) -> list[dict[str, Any]]:
    """getStats() output as a list: either already a list, or the RTCStatsReport map {id: stats}."""
    if isinstance(stats, dict):
        return [v for v in stats.values() if isinstance(v, dict)]
    if isinstance(stats, list):
        return [v for v in stats if isinstance(v, dict)]
    return []


def _by_type(stats: list[dict[str, Any]], kind: str, media: str | None = None) -> dict[str, Any]:
    for s in stats:
        if s.get("type") == kind and (media is None or (s.get("kind") or s.get("mediaType")) == media):
            return s
    return {}


def _delta(now: dict[str, Any], before: dict[str, Any], key: str) -> float | None:
    if key not in now:
        return None
    return float(now[key]) - float(before.get(key, 0) or 0)


def _loss_pct(lost: float | None, received: float | None) -> float | None:
    if lost is None or received is None:
        return None
    lost = max(lost, 0.0)  # packetsLost goes negative when duplicates arrive
    total = lost + received
    return 100.0 * lost / total if total > 0 else 0.0


def from_w3c(item: dict[str, Any]) -> dict[str, Any]:
    """A getStats() snapshot (with the previous one in ``previous`` for rates and deltas).

    RTT comes from remote-inbound-rtp (seconds → ms), falling back to the selected candidate pair;
    jitter is in seconds in W3C stats (→ ms); negative packetsLost counts as none lost."""
    now = _stats_list(item.get("stats"))
    if not now:
        raise Rejected("stats: expected the getStats() report (a list or an {id: stats} map)")
    before = _stats_list(item.get("previous"))
    interval_s = float(item.get("interval_s") or 0)
    out = _envelope(item)
    remote = _by_type(now, "remote-inbound-rtp", "video") or _by_type(now, "remote-inbound-rtp")
    pair = next(
        (s for s in now if s.get("type") == "candidate-pair" and (s.get("nominated") or s.get("selected"))),
        {},
    )
    rtt_s = remote.get("roundTripTime", pair.get("currentRoundTripTime"))
    if rtt_s is not None:
        out["rtt_ms"] = float(rtt_s) * 1000
    if remote.get("fractionLost") is not None:
        out["loss_up_pct"] = max(float(remote["fractionLost"]), 0.0) * 100
    video_in, video_in_before = (
        _by_type(now, "inbound-rtp", "video"),
        _by_type(before, "inbound-rtp", "video"),
    )
    audio_in, audio_in_before = (
        _by_type(now, "inbound-rtp", "audio"),
        _by_type(before, "inbound-rtp", "audio"),
    )
    main_in, main_before = (video_in, video_in_before) if video_in else (audio_in, audio_in_before)
    if main_in.get("jitter") is not None:
        out["jitter_ms"] = float(main_in["jitter"]) * 1000
    loss = _loss_pct(_delta(main_in, main_before, "packetsLost"), _delta(main_in, main_before, "packetsReceived"))
    if loss is not None:
        out["loss_down_pct"] = min(loss, 100.0)
    if video_in:
        out["fps"] = video_in.get("framesPerSecond")
        out["width"], out["height"] = video_in.get("frameWidth"), video_in.get("frameHeight")
        frozen_s = _delta(video_in, video_in_before, "totalFreezesDuration")
        if frozen_s is not None and frozen_s > 0:
            out["video_freeze_ms"] = frozen_s * 1000
            out["video_freeze_count"] = _delta(video_in, video_in_before, "freezeCount") or 1
    if interval_s > 0:
        received = sum(
            _delta(s, b, "bytesReceived") or 0 for s, b in ((video_in, video_in_before), (audio_in, audio_in_before))
        )
        out["bitrate_down_kbps"] = max(received, 0) * 8 / 1000 / interval_s
        sent = sum(
            _delta(_by_type(now, "outbound-rtp", k), _by_type(before, "outbound-rtp", k), "bytesSent") or 0
            for k in ("audio", "video")
        )
        out["bitrate_up_kbps"] = max(sent, 0) * 8 / 1000 / interval_s
    reason = _by_type(now, "outbound-rtp", "video").get("qualityLimitationReason")
    if reason is not None:
        out["quality_limitation"] = reason if reason in ("cpu", "bandwidth") else "none"
    return out


def from_agora(item: dict[str, Any]) -> dict[str, Any]:
    """Agora callbacks: ``rtc_stats`` (onRtcStats), ``remote_video`` (onRemoteVideoStats),
    ``remote_audio`` (onRemoteAudioStats), ``local_video`` (onLocalVideoStats)."""
    rtc, video = item.get("rtc_stats") or {}, item.get("remote_video") or {}
    audio, local = item.get("remote_audio") or {}, item.get("local_video") or {}
    out = _envelope(item)
    out.update(
        {
            "rtt_ms": rtc.get("gatewayRtt", rtc.get("lastmileDelay")),
            "loss_up_pct": rtc.get("txPacketLossRate"),
            "loss_down_pct": rtc.get("rxPacketLossRate", video.get("packetLossRate")),
            "jitter_ms": audio.get("jitterBufferDelay"),
            "bitrate_up_kbps": rtc.get("txKBitRate"),
            "bitrate_down_kbps": rtc.get("rxKBitRate"),
            "fps": video.get("rendererOutputFrameRate"),
            "width": video.get("width"),
            "height": video.get("height"),
            "e2e_delay_ms": video.get("e2eDelay", video.get("delay")),
            "video_freeze_ms": video.get("totalFrozenTime"),
            "audio_freeze_ms": audio.get("totalFrozenTime"),
        }
    )
    reason = local.get("qualityAdaptIndication")
    if "cpuAppUsage" in rtc and float(rtc["cpuAppUsage"]) >= 90:
        out["quality_limitation"] = "cpu"
    elif reason is not None:
        out["quality_limitation"] = "bandwidth" if reason == 2 else "none"
    return {k: v for k, v in out.items() if v is not None}


def from_trtc(item: dict[str, Any]) -> dict[str, Any]:
    """TRTC ``onStatistics``: ``statistics`` with rtt, upLoss, downLoss, appCpu and remoteArray/localArray."""
    st = item.get("statistics") or {}
    remote = (st.get("remoteArray") or [{}])[0]
    local = (st.get("localArray") or [{}])[0]
    out = _envelope(item)
    out.update(
        {
            "rtt_ms": st.get("rtt"),
            "loss_up_pct": st.get("upLoss"),
            "loss_down_pct": st.get("downLoss"),
            "jitter_ms": remote.get("jitterBufferDelay"),
            "e2e_delay_ms": remote.get("point2PointDelay"),
            "fps": remote.get("frameRate"),
            "width": remote.get("width"),
            "height": remote.get("height"),
            "bitrate_down_kbps": (remote.get("videoBitrate") or 0) + (remote.get("audioBitrate") or 0) or None,
            "bitrate_up_kbps": (local.get("videoBitrate") or 0) + (local.get("audioBitrate") or 0) or None,
            "video_freeze_ms": remote.get("videoTotalBlockTime"),
            "audio_freeze_ms": remote.get("audioTotalBlockTime"),
        }
    )
    if st.get("appCpu") is not None and float(st["appCpu"]) >= 90:
        out["quality_limitation"] = "cpu"
    return {k: v for k, v in out.items() if v is not None}


ADAPTERS = {"w3c": from_w3c, "agora": from_agora, "trtc": from_trtc}


def to_neutral(item: dict[str, Any]) -> dict[str, Any]:
    """Convert a vendor item; items in the neutral format (or unknown) pass through for validation."""
    adapter = ADAPTERS.get(str(item.get("format")))
    if adapter is None:
        return item
    try:
        return adapter(item)
    except Rejected as exc:
        return {"type": "invalid", "reason": str(exc)}
    except (TypeError, ValueError, AttributeError, IndexError) as exc:
        return {"type": "invalid", "reason": f"{item.get('format')} stats: {exc}"}
