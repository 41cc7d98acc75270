"""What each call-quality figure means, as the console's column tooltips show it (docs/rtc.md, "Definitions").

The thresholds come from ``qoe``, the rules the store's SQL uses, so a tooltip never names a number the
figure was not judged by.
"""

from __future__ import annotations

from eduops.core.i18n import Msg, msg
from eduops.rtc import qoe

_RTT = msg("Round-trip time between a participant and the media server, in ms: p50 is the median sample, p90 the "
           "value 90% of samples stay under.")

METRIC_HELP: dict[str, Msg] = {
    "poor_pct": msg("Share of media time in poor samples: a sample is poor when its MOS is below {mos_fair} or its "
                    "video or audio froze for {freeze_share:.0f}% of it or more.",
                    mos_fair=qoe.MOS_FAIR, freeze_share=100 * qoe.POOR_SAMPLE_FREEZE_SHARE),
    "video_freeze_rate_pct": msg("Video freeze time ÷ media time; a stall counts from {native:.0f} ms (apps) or "
                                 "{web:.0f} ms (web). Target: at most {target:.0f}%.",
                                 native=qoe.VIDEO_FREEZE_MIN_MS["native"], web=qoe.VIDEO_FREEZE_MIN_MS["web"],
                                 target=qoe.FREEZE_RATE_MAX_PCT),
    "audio_freeze_rate_pct": msg("Audio freeze time ÷ media time; a gap counts from {gap:.0f} ms. Target: at most "
                                 "{target:.0f}%.", gap=qoe.AUDIO_FREEZE_MIN_MS, target=qoe.FREEZE_RATE_MAX_PCT),
    "mos": msg("Mean opinion score from 1 to 4.5 (ITU-T G.107 E-model: delay, jitter, loss and codec), weighted by "
               "media time. Good from {good}, fair from {fair}, poor below.", good=qoe.MOS_GOOD, fair=qoe.MOS_FAIR),
    "rtt_p50_ms": _RTT,
    "rtt_p90_ms": _RTT,
    "rtt_avg_ms": msg("Round-trip time between a participant and the media server, in ms, averaged over samples."),
    "loss_pct": msg("Packet loss the MOS used: what the participant receives when reported, else what they send; "
                    "a segment's figure is the mean over its samples."),
    "join_success_pct": msg("Joins that succeeded ÷ join attempts (an attempt with no outcome did not succeed). "
                            "Target: at least {target:.0f}%.", target=qoe.JOIN_SUCCESS_MIN_PCT),
    "lift": msg("This segment's poor share ÷ the poor share of all calls: 2 means twice the average."),
    "sessions": msg("Participant sessions: one person in one call."),
    "media_min": msg("Media time in minutes: the time the participants' quality samples cover."),
}
