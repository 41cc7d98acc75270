"""The synthetic probe: a real WebRTC call (aiortc) between two local peers through an impairing relay.

Both peers send a tone and a moving test picture. Measured: time to connect (offer → DTLS connected),
first audio and video frame, RTT and jitter from each sender's view of the receiver reports (its
remote-inbound-rtp; aiortc reports jitter in RTP timestamp units: divided by the clock rate here), loss
from the audio streams' remote-inbound-rtp (video loss is hidden by NACK/RTX retransmissions; the
receiver's inbound-rtp is not used because RTX can overwrite it), video freezes by the W3C rule on frame
arrival times, and MOS.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from eduops.errors import ServiceUnavailable, UsageError
from eduops.rtc.qoe import mos as mos_of
from eduops.rtc.qoe import quality_band, video_freeze_min_ms, w3c_freezes
from eduops.rtc.relay import Impairment, UdpRelay

CLOCK_RATE = {"audio": 48000, "video": 90000}
CONNECT_OK_MS = 600.0
_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d) (udp|UDP) (\d+) (\S+) (\d+) typ (\w+)(.*)$")


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> AudioFrame:
        samples = 960
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._pts / 48000 - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(samples) + self._pts) / 48000
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += samples
        return frame


class PatternTrack(MediaStreamTrack):
    """A small picture (160×120) with a moving bar at 15 frames a second: cheap to encode, so the codec
    does not stall the event loop that also times RTCP."""

    kind = "video"
    FPS = 15

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._n = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._n / self.FPS - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        width, height = 160, 120
        yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        x = (self._n * 4) % width
        yuv[:height, x : x + 8] = 235
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts, frame.time_base = self._n * 90000 // self.FPS, fractions.Fraction(1, 90000)
        self._n += 1
        return frame


@dataclass
class ProbeResult:
    delay_ms: float
    jitter_ms_set: float
    loss_pct_set: float
    duration_s: float
    connected: bool = False
    connect_ms: float | None = None
    first_audio_ms: float | None = None
    first_video_ms: float | None = None
    rtt_ms: float | None = None  # median over the receiver reports of the call
    rtt_ewma_ms: float | None = None  # aiortc's remote-inbound-rtp roundTripTime (a moving average) at the end
    jitter_ms: float | None = None
    loss_pct: float | None = None
    video_freeze_count: int = 0
    video_freeze_ms: float = 0.0
    video_frames: int = 0
    mos: float | None = None
    band: str = "unknown"
    relay: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RTT_GRACE_S = 5.0  # longest extra wait for a first RTCP round trip

def _rewrite_candidates(sdp: str, port: int) -> tuple[str, tuple[str, int]]:
    """Keep the first IPv4 host candidate, pointing it at the relay; returns the SDP and the real address."""
    lines, real = [], None
    for line in sdp.splitlines():
        match = _CANDIDATE.match(line)
        if not match:
            if not line.startswith("a=end-of-candidates"):
                lines.append(line)
            continue
        ip, cand_port = match.group(5), int(match.group(6))
        if real is None and ":" not in ip and match.group(2) == "1":
            real = (ip, cand_port)
            lines.append(line.replace(f" {ip} {cand_port} ", f" {ip} {port} ", 1))
    if real is None:
        raise ServiceUnavailable("the probe found no IPv4 host candidate; is a network interface up?")
    return "\r\n".join(lines) + "\r\n", real


class _Receiver:
    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.first_ms: dict[str, float] = {}
        self.video_arrivals_ms: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    def attach(self, track: MediaStreamTrack) -> None:
        self.tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                now_ms = (time.perf_counter() - self.t0) * 1000
                self.first_ms.setdefault(track.kind, now_ms)
                if track.kind == "video":
                    self.video_arrivals_ms.append(now_ms)
        except MediaStreamError:
            return


def _record_report_rtts(pc: RTCPeerConnection, into: list[float]) -> None:
    """Collect the RTT of every receiver report as it arrives, the same arithmetic aiortc uses for
    remote-inbound-rtp's roundTripTime (now − time of the SR it answers − DLSR) but without its slow moving
    average, whose first, start-up-inflated sample otherwise weighs on a short probe for many seconds."""
    for sender in pc.getSenders():
        original = sender._handle_rtcp_packet

        async def handle(packet: Any, sender: Any = sender, original: Any = original) -> None:
            lsr, lsr_time = getattr(sender, "_RTCRtpSender__lsr", None), getattr(sender, "_RTCRtpSender__lsr_time", 0)
            for report in getattr(packet, "reports", []):
                if report.ssrc == sender._ssrc and lsr is not None and report.lsr == lsr and report.dlsr:
                    into.append((time.time() - lsr_time - report.dlsr / 65536) * 1000)
            await original(packet)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def _remote_inbound(stats: Any) -> list[Any]:
    return [s for s in stats.values() if s.type == "remote-inbound-rtp"]


async def _collect(pc: RTCPeerConnection, rtts: list[float], jitters: list[float]) -> None:
    for s in _remote_inbound(await pc.getStats()):
        if s.roundTripTime:
            rtts.append(s.roundTripTime * 1000)
        if s.jitter is not None:
            jitters.append(s.jitter / CLOCK_RATE.get(s.kind, 90000) * 1000)


async def _audio_loss(pcs: list[RTCPeerConnection]) -> float | None:
    lost = received = 0
    for pc in pcs:
        for s in _remote_inbound(await pc.getStats()):
            if s.kind == "audio":
                lost += max(s.packetsLost, 0)
                received += s.packetsReceived
    total = lost + received
    return 100.0 * lost / total if total else None


async def probe(
    delay_ms: float = 0,
    jitter_ms: float = 0,
    loss_pct: float = 0,
    duration_s: float = 5.0,
    connect_timeout_s: float = 10.0,
) -> ProbeResult:
    """Place one call and measure it; never raises for a failed call (``connected`` is False)."""
    if not 0.5 <= duration_s <= 600:
        raise UsageError("--duration must be between 0.5 and 600 seconds")
    imp = Impairment(delay_ms, jitter_ms, loss_pct)
    result = ProbeResult(delay_ms, jitter_ms, loss_pct, duration_s)
    relay = UdpRelay(imp)
    pc_a = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc_b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    t0 = time.perf_counter()
    receiver_a, receiver_b = _Receiver(t0), _Receiver(t0)
    pc_a.on("track", receiver_a.attach)
    pc_b.on("track", receiver_b.attach)
    connected = asyncio.Event()

    @pc_a.on("connectionstatechange")
    def _state() -> None:
        if pc_a.connectionState == "connected":
            connected.set()

    try:
        report_rtts: list[float] = []
        for pc in (pc_a, pc_b):
            pc.addTrack(ToneTrack())
            pc.addTrack(PatternTrack())
            _record_report_rtts(pc, report_rtts)
        await pc_a.setLocalDescription(await pc_a.createOffer())
        host = _CANDIDATE.match(
            next(
                line
                for line in pc_a.localDescription.sdp.splitlines()
                if _CANDIDATE.match(line) and ":" not in line.split()[4]
            )
        ).group(5)  # type: ignore[union-attr]
        port_a, port_b = await relay.start(host)
        offer_sdp, relay.a = _rewrite_candidates(pc_a.localDescription.sdp, port_a)
        await pc_b.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await pc_b.setLocalDescription(await pc_b.createAnswer())
        answer_sdp, relay.b = _rewrite_candidates(pc_b.localDescription.sdp, port_b)
        await pc_a.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        try:
            await asyncio.wait_for(connected.wait(), connect_timeout_s)
        except TimeoutError:
            result.error = f"not connected after {connect_timeout_s:g} s (state {pc_a.connectionState})"
            return result
        result.connected = True
        result.connect_ms = round((time.perf_counter() - t0) * 1000, 1)
        rtts: list[float] = []
        jitters: list[float] = []
        end = time.perf_counter() + duration_s
        # RTCP reports come every 0.5–1.5 s: a short probe on a busy host may end before the first one,
        # so it waits up to RTT_GRACE_S longer for a round-trip time rather than reporting none
        grace_end = end + RTT_GRACE_S
        while time.perf_counter() < end or (not (rtts or report_rtts) and time.perf_counter() < grace_end):
            await asyncio.sleep(min(0.25, max(end - time.perf_counter(), 0.05)))
            for pc in (pc_a, pc_b):
                await _collect(pc, rtts, jitters)
        result.loss_pct = await _audio_loss([pc_a, pc_b])
        if rtts:
            result.rtt_ewma_ms = round(rtts[-1], 1)
        if report_rtts or rtts:
            result.rtt_ms = round(statistics.median(report_rtts or rtts), 1)
        if jitters:
            result.jitter_ms = round(statistics.median(jitters), 2)
        firsts = [r.first_ms for r in (receiver_a, receiver_b)]
        audio = [f["audio"] for f in firsts if "audio" in f]
        video = [f["video"] for f in firsts if "video" in f]
        result.first_audio_ms = round(max(audio), 1) if len(audio) == 2 else None
        result.first_video_ms = round(max(video), 1) if len(video) == 2 else None
        for r in (receiver_a, receiver_b):
            freezes = [d for d in w3c_freezes(r.video_arrivals_ms) if d > video_freeze_min_ms("web")]
            result.video_freeze_count += len(freezes)
            result.video_freeze_ms += round(sum(freezes), 1)
            result.video_frames += len(r.video_arrivals_ms)
        if result.rtt_ms is not None:
            score = mos_of(result.rtt_ms, result.jitter_ms or 0.0, result.loss_pct or 0.0)
            result.mos = round(score.value or 0.0, 3)
            result.band = quality_band(result.mos)
        if result.loss_pct is not None:
            result.loss_pct = round(result.loss_pct, 2)
        result.relay = {"forwarded": relay.forwarded, "dropped": relay.dropped}
        return result
    finally:
        for r in (receiver_a, receiver_b):
            for task in r.tasks:
                task.cancel()
        await pc_a.close()
        await pc_b.close()
        relay.close()


def run_probe(delay_ms: float = 0, jitter_ms: float = 0, loss_pct: float = 0, duration_s: float = 5.0) -> ProbeResult:
    """The probe from synchronous code (CLI, checks)."""
    if delay_ms < 0 or jitter_ms < 0 or not 0 <= loss_pct <= 100:
        raise UsageError("--delay-ms and --jitter-ms must be ≥ 0 and --loss-pct within 0..100")
    return asyncio.run(probe(delay_ms, jitter_ms, loss_pct, duration_s))
