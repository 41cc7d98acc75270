"""Call search, the call page (each participant's timeline) and the root-cause hint for a poor call."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eduops.core.i18n import msg
from eduops.errors import NotFound, UsageError
from eduops.rtc.qoe import (
    band_sql,
    freeze_rate_sql,
    media_share_pct,
    media_share_sql,
    mos_weighted_sql,
    percentile_sql,
    poor_ms_sql,
    poor_pct_sql,
    quality_band,
    sample_loss_sql,
)
from eduops.rtc.store import Store

# what counts as a bad network for one participant (any of these)
BAD_LOSS_PCT = 3.0
BAD_JITTER_MS = 30.0
BAD_RTT_MS = 300.0
CPU_LIMITED_SHARE = 0.3  # a device is CPU-limited when this share of its samples say so
REGION_MIN_USERS = 4  # a regional (service-side) problem: at least this many users of other calls poor...
REGION_POOR_SHARE = 0.5  # ...and at least this share of that province and ISP's users...
REGION_MARGIN_MIN = 30  # ...within this many minutes of the call


@dataclass
class Participant:
    user_id: str
    role: str
    province: str = ""
    isp: str = ""
    network: str = ""
    device: str = ""
    loss_up_pct: float = 0.0
    loss_down_pct: float = 0.0
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    cpu_share: float = 0.0
    poor_pct: float = 0.0
    video_freeze_rate_pct: float = 0.0
    mos: float | None = None

    def network_problems(self) -> list[str]:
        found: list[str] = []
        if max(self.loss_up_pct, self.loss_down_pct) >= BAD_LOSS_PCT:
            found.append(msg(
                    "loss {max:.1f}% (≥ {bad_loss_pct:g}%)",
                    max=max(self.loss_up_pct, self.loss_down_pct), bad_loss_pct=BAD_LOSS_PCT,
                ))
        if self.jitter_ms >= BAD_JITTER_MS:
            found.append(msg(
                    "jitter {jitter_ms:.0f} ms (≥ {bad_jitter_ms:g} ms)",
                    jitter_ms=self.jitter_ms, bad_jitter_ms=BAD_JITTER_MS,
                ))
        if self.rtt_ms >= BAD_RTT_MS:
            found.append(msg("RTT {rtt_ms:.0f} ms (≥ {bad_rtt_ms:g} ms)", rtt_ms=self.rtt_ms, bad_rtt_ms=BAD_RTT_MS))
        return found


@dataclass
class RegionLoad:
    """Users of other calls in one province on one ISP around the time of the call, and how many were poor."""

    province: str
    isp: str
    users: int
    poor_users: int

    @property
    def name(self) -> str:
        return f"{self.province} / {self.isp}"


@dataclass
class Hint:
    cause: str  # service_side | teacher_network | device | student_network | none
    summary: str
    user_id: str | None = None
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _busy(region: RegionLoad) -> bool:
    return region.poor_users >= REGION_MIN_USERS and region.poor_users >= REGION_POOR_SHARE * region.users


def root_cause(participants: list[Participant], regions: list[RegionLoad]) -> Hint:
    """Why a call was poor. The teacher's own bad network explains a class's freezes first (unless the teacher
    sits in a busy region); then many users of one province and ISP poor at once (service side or the region's
    network); then a CPU-limited device; then a student's network."""
    busy = sorted((r for r in regions if _busy(r)), key=lambda r: -r.poor_users)
    teacher = next((p for p in participants if p.role == "teacher"), None)
    students = [p for p in participants if p.role == "student"]
    teacher_in_busy_region = teacher is not None and any(
        (r.province, r.isp) == (teacher.province, teacher.isp) for r in busy
    )
    if (
        teacher
        and teacher.network_problems()
        and not teacher_in_busy_region
        and (not students or any(s.poor_pct >= 10 for s in students))
    ):
        return Hint(
            "teacher_network",
            msg("the teacher's network ({value})", value=teacher.network or msg('unknown')),
            teacher.user_id,
            [
                msg("teacher {user_id}: {join}", user_id=teacher.user_id, join=", ".join(teacher.network_problems())),
                msg(
                    "{sum} of {count} students poor",
                    sum=sum(1 for s in students if s.poor_pct >= 10), count=len(students),
                ),
            ],
        )
    if busy:
        region = busy[0]
        return Hint(
            "service_side",
            msg("many users on {name} had poor quality at the same time", name=region.name),
            evidence=[
                msg(
                    "{poor_users} of {users} users of other calls on {name} were poor within "
                    "{region_margin_min} minutes of this call",
                    poor_users=region.poor_users, users=region.users, name=region.name,
                    region_margin_min=REGION_MARGIN_MIN,
                ),
                "the problem is wider than this call: the region's network or the media servers serving it",
            ],
        )
    for p in sorted(participants, key=lambda p: -p.cpu_share):
        if p.cpu_share >= CPU_LIMITED_SHARE:
            return Hint(
                "device",
                msg(
                    "{role} {user_id}'s device is CPU-limited ({value})",
                    role=p.role, user_id=p.user_id, value=p.device or msg('unknown device'),
                ),
                p.user_id,
                [
                    msg(
                        "{cpu_share:.0%} of samples limited by CPU (≥ {cpu_limited_share:.0%})",
                        cpu_share=p.cpu_share, cpu_limited_share=CPU_LIMITED_SHARE,
                    ),
                    msg(
                        "video freeze rate {video_freeze_rate_pct:.1f}%",
                        video_freeze_rate_pct=p.video_freeze_rate_pct,
                    ),
                ],
            )
    for p in sorted(students, key=lambda p: -p.poor_pct):
        if p.network_problems():
            return Hint(
                "student_network",
                msg("student {user_id}'s network ({value})", user_id=p.user_id, value=p.network or msg('unknown')),
                p.user_id,
                [
                    msg("student {user_id}: {join}", user_id=p.user_id, join=", ".join(p.network_problems())),
                    msg("poor for {poor_pct:.0f}% of the call", poor_pct=p.poor_pct),
                ],
            )
    return Hint(
        "none",
        "no clear cause in the stats",
        evidence=["no participant's network, device or region stands out"],
    )


def search_calls(
    store: Store,
    *,
    user_id: str | None = None,
    channel: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    band: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Calls by participant, channel or time range, newest first, with their quality summary."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if user_id:
        where.append("c.call_id IN (SELECT call_id FROM sessions WHERE user_id = ?)")
        params.append(user_id)
    if channel:
        where.append("c.channel = ?")
        params.append(channel)
    if start:
        where.append("coalesce(c.end_ts, c.start_ts) >= ?")
        params.append(start)
    if end:
        where.append("c.start_ts < ?")
        params.append(end)
    if band and band not in ("good", "fair", "poor"):
        raise UsageError(msg("{name} must be one of {choices}", name="band", choices="good, fair, poor"))
    band_expr = band_sql("q.mos", "q.poor_pct")
    if band:
        params.append(band)
    # without a band to filter on, only the newest calls shown get their quality summed (not every call's)
    newest = "" if band else f" ORDER BY c.start_ts DESC NULLS LAST LIMIT {int(limit)}"
    return store.query(
        f"""WITH picked AS (SELECT * FROM calls c WHERE {" AND ".join(where)}{newest}),
           q AS (SELECT s.call_id, count(DISTINCT s.sid) AS participants,
                        sum(r.mos_sum) / nullif(sum(r.mos_n), 0) AS mos,
                        {media_share_sql("r.poor_ms", "r.media_ms")} AS poor_pct,
                        {freeze_rate_sql("r.video_freeze_ms", "r.media_ms")} AS video_freeze_rate_pct
                 FROM sample_rollup r JOIN sessions s ON s.sid = r.sid
                 WHERE s.call_id IN (SELECT call_id FROM picked) GROUP BY s.call_id)
           SELECT c.call_id, c.scenario, c.channel, c.course_id, c.start_ts, c.end_ts,
                  coalesce(q.participants, 0) AS participants, q.mos, q.poor_pct, q.video_freeze_rate_pct,
                  {band_expr} AS band
           FROM picked c LEFT JOIN q USING (call_id)
           {"WHERE " + band_expr + " = ?" if band else ""}
           ORDER BY c.start_ts DESC NULLS LAST LIMIT {int(limit)}""",
        params,
    )


def _participants(store: Store, call_id: str) -> list[dict[str, Any]]:
    return store.query(
        f"""SELECT s.*, q.* EXCLUDE (sid) FROM sessions s LEFT JOIN (
              SELECT x.sid, count(*) AS samples, avg(x.loss_up_pct) AS loss_up_pct,
                     avg(x.loss_down_pct) AS loss_down_pct, avg({sample_loss_sql("x")}) AS loss_pct,
                     {percentile_sql("x.rtt_ms", 50)} AS rtt_ms, {percentile_sql("x.jitter_ms", 90)} AS jitter_ms,
                     avg(CASE WHEN x.quality_limitation = 'cpu' THEN 1 ELSE 0 END) AS cpu_share,
                     {mos_weighted_sql("x")} AS mos,
                     sum(x.mos * x.interval_ms) AS mos_sum,
                     sum(CASE WHEN x.mos IS NOT NULL THEN x.interval_ms END) AS mos_n, sum(x.interval_ms) AS media_ms,
                     sum({poor_ms_sql("x")}) AS poor_ms, {poor_pct_sql("x")} AS poor_pct,
                     {freeze_rate_sql("x.video_freeze_ms", "x.interval_ms")} AS video_freeze_rate_pct,
                     {freeze_rate_sql("x.audio_freeze_ms", "x.interval_ms")} AS audio_freeze_rate_pct
              FROM samples x WHERE x.call_id = ? GROUP BY x.sid) q ON q.sid = s.sid
            WHERE s.call_id = ? ORDER BY s.role DESC, s.user_id""",
        [call_id, call_id],
    )


def _regions(store: Store, call_id: str, start: datetime, end: datetime) -> list[RegionLoad]:
    """Load on the (province, ISP) pairs of this call's poor participants, from other calls around it."""
    margin = timedelta(minutes=REGION_MARGIN_MIN)
    rows = store.query(
        f"""WITH mine AS (
              SELECT DISTINCT s.province, s.isp FROM sessions s JOIN samples x ON x.sid = s.sid
              WHERE s.call_id = ? GROUP BY s.province, s.isp, s.sid
              HAVING sum({poor_ms_sql("x")}) >= 0.1 * sum(x.interval_ms)),
            per_user AS (
              SELECT s.province, s.isp, s.sid,
                     sum({poor_ms_sql("x")}) / sum(x.interval_ms) AS poor
              FROM samples x JOIN sessions s ON s.sid = x.sid JOIN mine m ON m.province = s.province AND m.isp = s.isp
              WHERE x.ts >= ? AND x.ts < ?
                AND x.call_id NOT IN (SELECT call_id FROM sessions  -- calls sharing a participant are not "others"
                                      WHERE user_id IN (SELECT user_id FROM sessions WHERE call_id = ?))
              GROUP BY ALL)
            SELECT province, isp, count(*) AS users, count(*) FILTER (WHERE poor >= 0.3) AS poor_users
            FROM per_user GROUP BY ALL""",
        [call_id, start - margin, end + margin, call_id],
    )
    return [RegionLoad(r["province"], r["isp"], r["users"], r["poor_users"]) for r in rows]


def call_detail(store: Store, call_id: str, timeline_points: int = 300) -> dict[str, Any]:
    """One call: its participants with their quality, each one's timeline and the root-cause hint."""
    calls = store.query("SELECT * FROM calls WHERE call_id = ?", [call_id])
    if not calls:
        raise NotFound(msg("no call {call_id!r} in the call-quality store", call_id=call_id))
    call = calls[0]
    people = _participants(store, call_id)
    timeline = store.query(
        "SELECT user_id, ts, rtt_ms, loss_up_pct, loss_down_pct, jitter_ms, bitrate_down_kbps, bitrate_up_kbps, "
        "video_freeze_ms, audio_freeze_ms, mos, quality_limitation FROM samples WHERE call_id = ? "
        "ORDER BY user_id, ts",
        [call_id],
    )
    by_user: dict[str, list[dict[str, Any]]] = {}
    for point in timeline:
        by_user.setdefault(point.pop("user_id"), []).append(point)
    for user, points in by_user.items():
        step = max(1, len(points) // timeline_points)
        by_user[user] = points[::step]
    # the call's figures are over all its users' samples (as in the call list): sums over users, then the ratio
    mos_n = sum(p.get("mos_n") or 0 for p in people)
    call["mos"] = sum(p.get("mos_sum") or 0.0 for p in people) / mos_n if mos_n else None
    call["poor_pct"] = media_share_pct([p.get("poor_ms") for p in people], [p.get("media_ms") for p in people])
    call["band"] = quality_band(call["mos"], call["poor_pct"])
    for p in people:
        p["band"] = quality_band(p.get("mos"), p.get("poor_pct"))
    hint = None
    poor = [p for p in people if (p.get("poor_pct") or 0) >= 10]
    if call["band"] == "poor" or poor:
        start = call["start_ts"] or min((p["joined_at"] for p in people if p["joined_at"]), default=None)
        end = call["end_ts"] or (start + timedelta(hours=2) if start else None)
        regions = _regions(store, call_id, start, end) if start and end else []
        hint = root_cause([_participant(p) for p in people], regions).to_dict()
    return {"call": call, "participants": people, "timeline": by_user, "hint": hint}


def _participant(row: dict[str, Any]) -> Participant:
    def num(key: str) -> float:
        return float(row.get(key) or 0.0)

    return Participant(
        user_id=row["user_id"],
        role=row.get("role") or "student",
        province=row.get("province") or "",
        isp=row.get("isp") or "",
        network=row.get("network") or "",
        device=row.get("device") or "",
        loss_up_pct=num("loss_up_pct"),
        loss_down_pct=num("loss_down_pct"),
        rtt_ms=num("rtt_ms"),
        jitter_ms=num("jitter_ms"),
        cpu_share=num("cpu_share"),
        poor_pct=num("poor_pct"),
        video_freeze_rate_pct=num("video_freeze_rate_pct"),
        mos=row.get("mos"),
    )


def review(detail: dict[str, Any], worst: int = 5) -> dict[str, Any]:
    """The post-class review: the quality summary, the worst participants and why, from ``call_detail``."""
    people = detail["participants"]
    ranked = sorted(people, key=lambda p: -(p.get("poor_pct") or 0))[:worst]
    why = []
    for p in ranked:
        who = _participant(p)
        reasons = who.network_problems()
        if who.cpu_share >= CPU_LIMITED_SHARE:
            reasons.append(msg("CPU-limited {share:.0%} of the time on {device}", share=who.cpu_share,
                               device=who.device or msg("its device")))
        if not p.get("join_ok", True):
            reasons.append(msg("could not join ({error})", error=p.get("join_error")))
        why.append(
            {
                "user_id": who.user_id,
                "role": who.role,
                "poor_pct": p.get("poor_pct"),
                "video_freeze_rate_pct": p.get("video_freeze_rate_pct"),
                "mos": p.get("mos"),
                "reasons": reasons or ["no network or device problem in the stats"],
            }
        )
    bands: dict[str, int] = {}
    for p in people:
        band = p["band"]
        bands[band] = bands.get(band, 0) + 1
    return {
        "band": detail["call"]["band"],
        "mos": detail["call"]["mos"],
        "participants": len(people),
        "bands": bands,
        "join_failures": sum(1 for p in people if p.get("join_ok") is False),
        "worst": why,
        "hint": detail["hint"],
    }
