"""QoE rules reproduce hand-computed values (table-driven)."""

from __future__ import annotations

import numpy as np
import pytest

from eduops.rtc import qoe


# ITU-T G.107 E-model: R = 93.2 − Id(Ta) − Ie,eff; Ta = RTT/2 + 2·jitter + 10 ms;
# Id = 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3); Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl/BurstR + Bpl)
@pytest.mark.parametrize(("ta_ms", "id_"), [
    (0, 0.0), (10, 0.24), (100, 2.4), (177.3, 4.2552),  # up to the knee: 0.024 per ms
    (200, 7.297),  # 4.8 + 0.11 × 22.7
    (400, 34.097),  # 9.6 + 0.11 × 222.7
])
def test_delay_impairment_has_the_177_3_ms_knee(ta_ms: float, id_: float) -> None:
    assert qoe.delay_impairment(ta_ms) == pytest.approx(id_, abs=1e-9)


@pytest.mark.parametrize(("ie", "bpl", "ppl", "burst_r", "ie_eff"), [
    (0, 25.1, 0, 1, 0.0),  # G.711 with PLC (G.113 App. I), no loss
    (0, 25.1, 2, 1, 7.0111),  # 95·2/27.1
    (0, 4.3, 1, 1, 17.9245),  # G.711 without PLC: 95/5.3
    (11, 19, 0, 1, 11.0),  # G.729A: Ie 11 at no loss
    (11, 19, 2, 1, 19.0),  # 11 + 84·2/21
    (0, 25.1, 5, 2, 17.2101),  # bursty loss (BurstR 2): 95·5/(2.5 + 25.1)
    (0, 25.1, 100, 1, 75.9393),  # everything lost: 9500/125.1
])
def test_effective_equipment_impairment(ie: float, bpl: float, ppl: float, burst_r: float, ie_eff: float) -> None:
    assert qoe.loss_impairment(ppl, qoe.Codec(ie, bpl), burst_r) == pytest.approx(ie_eff, abs=1e-4)


@pytest.mark.parametrize(("r", "mos"), [
    # G.107 Annex B (and the tables every E-model calculator prints)
    (-5, 1.0), (0, 1.0), (3, 1.0),  # the polynomial dips below 1 under R ≈ 6.5: held at 1
    (50, 2.575), (60, 3.1), (70, 3.597), (80, 4.024), (90, 4.339), (93.2, 4.4093), (100, 4.5), (120, 4.5),
])
def test_mos_from_r(r: float, mos: float) -> None:
    assert qoe.mos_from_r(r) == pytest.approx(mos, abs=5e-4)


@pytest.mark.parametrize(
    ("rtt_ms", "jitter_ms", "loss_pct", "codec", "r", "mos"),
    [
        (0, 0, 0, "opus", 92.96, 4.4046),  # Ta 10 ms: Id 0.24; no loss
        (0, 0, 0, "g711", 92.96, 4.4046),
        (200, 0, 0, "opus", 90.56, 4.3525),  # Ta 110: Id 2.64
        (400, 20, 2, "opus", 72.1919, 3.6980),  # Ta 250: Id 13.997; Ie,eff 7.0111
        (0, 0, 5, "opus", 77.1793, 3.9131),  # Ie,eff = 475/30.1 = 15.7807
        (334.6, 0, 0, "opus", 88.9448, 4.3123),  # Ta 177.3: exactly at the knee, Id 0.024 × 177.3 = 4.2552
        (2000, 100, 50, "opus", 0.0, 1.0),  # clamped at 0
    ],
)
def test_e_model(rtt_ms: float, jitter_ms: float, loss_pct: float, codec: str, r: float, mos: float) -> None:
    c = qoe.CODECS[codec]
    assert qoe.r_factor(rtt_ms, jitter_ms, loss_pct, c) == pytest.approx(r, abs=1e-4)
    assert qoe.mos(rtt_ms, jitter_ms, loss_pct, c).value == pytest.approx(mos, abs=1e-4)


def test_zero_impairment_is_g107_default_less_the_fixed_delay() -> None:
    """R0 93.2 is G.107's default Ro − Is − Id(T=0) (94.77 − 1.41 − 0.15, rounded); the 10 ms of codec and
    packetisation cost 0.24 of it."""
    assert qoe.r_factor(0, 0, 0) == pytest.approx(93.2 - 0.24, abs=1e-12)
    assert round(qoe.mos(0, 0, 0).value or 0, 2) == 4.40


def test_mos_carries_unit_and_threshold() -> None:
    score = qoe.mos(0, 0, 0)
    assert (score.unit, score.threshold, score.better, score.ok) == ("MOS", 3.6, "higher", True)
    assert qoe.mos(600, 60, 10).ok is False


ROWS = np.array([(0, 0, 0), (200, 0, 0), (300, 0, 0), (334.6, 0, 0), (298, 1, 0), (400, 20, 2), (220, 25, 0),
                 (0, 0, 5), (1000, 80, 30), (2000, 100, 50), (50, 5, 100)], dtype=float)
MODELS = [qoe.EModel(), qoe.EModel(qoe.CODECS["g711"], 2.0), qoe.EModel(qoe.Codec(11, 19))]


@pytest.mark.parametrize("model", MODELS)
def test_mos_array_matches_scalar(model: qoe.EModel) -> None:
    # the bulk formula (ingest fast path, synthetic data) on the same rows as the scalar one (report ingest, probe)
    expected = [qoe.mos_from_r(qoe.r_factor(*row, model.codec, model.burst_r)) for row in ROWS]
    got = qoe.mos_array(ROWS[:, 0], ROWS[:, 1], ROWS[:, 2], model.codec, model.burst_r)
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("model", MODELS)
def test_mos_sql_matches_scalar(model: qoe.EModel) -> None:
    """The SQL that recomputes a store's MOS on upgrade: the same numbers as the function, loss down
    before loss up, NULL without an RTT."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE x (rtt_ms DOUBLE, jitter_ms DOUBLE, loss_down_pct DOUBLE, loss_up_pct DOUBLE)")
    rows = [(float(a), float(b), None, float(c)) if i % 2 else (float(a), float(b), float(c), 99.0)
            for i, (a, b, c) in enumerate(ROWS)] + [(None, 5.0, 1.0, 1.0)]
    con.executemany("INSERT INTO x VALUES (?, ?, ?, ?)", rows)
    got = [r[0] for r in con.execute(f"SELECT {qoe.mos_sql('x', model)} FROM x").fetchall()]
    expected = [qoe.mos_from_r(qoe.r_factor(*row, model.codec, model.burst_r)) for row in ROWS] + [None]
    assert got[:-1] == pytest.approx(expected[:-1], abs=1e-9) and got[-1] is None


@pytest.mark.parametrize(("down", "up", "loss"), [(2.0, 5.0, 2.0), (None, 5.0, 5.0), (0.0, 5.0, 0.0),
                                                  (None, None, None)])
def test_the_loss_mos_uses_is_downlink_else_uplink(down: float | None, up: float | None,
                                                   loss: float | None) -> None:
    assert qoe.sample_loss_pct(down, up) == loss


@pytest.mark.parametrize(("samples", "mos"), [
    ([(4.4, 2000), (2.0, 8000)], 2.48),  # weighted by media time, not 3.2 (the mean of samples)
    ([(4.0, 5000), (None, 5000)], 4.0),  # a sample without a MOS does not count
    ([(4.0, 0)], None), ([], None),
])
def test_mos_is_weighted_by_media_time(samples: list[tuple[float | None, float]], mos: float | None) -> None:
    got = qoe.weighted_mos(samples)
    assert got == (None if mos is None else pytest.approx(mos))


@pytest.mark.parametrize(
    ("mos", "poor_pct", "band"),
    [(4.4, None, "good"), (4.0, 0, "good"), (3.99, 0, "fair"), (3.6, 0, "fair"), (3.59, 0, "poor"),
     (4.4, 10, "fair"), (4.4, 25, "poor"), (None, 0, "unknown")],
)
def test_quality_band(mos: float | None, poor_pct: float | None, band: str) -> None:
    assert qoe.quality_band(mos, poor_pct) == band


@pytest.mark.parametrize(
    ("freezes_ms", "media_ms", "rate_pct"),
    [
        ([0], [10_000], 0.0),
        ([500], [10_000], 5.0),
        ([700, 300], [10_000, 10_000], 5.0),  # a call: both users' freezes over both users' media time
        ([], [], None),
    ],
)
def test_freeze_rate(freezes_ms: list[float], media_ms: list[float], rate_pct: float | None) -> None:
    rate = qoe.freeze_rate(freezes_ms, media_ms)
    assert rate.value == rate_pct
    assert rate.unit == "%"


@pytest.mark.parametrize(
    ("durations", "platform_or_kind", "count", "total"),
    [
        ([150, 250, 900], "audio", 2, 1150.0),  # audio: over 200 ms
        ([550, 650], "native", 1, 650.0),  # native video: over 600 ms
        ([550, 650], "web", 2, 1200.0),  # web video: over 500 ms
        ([600], "native", 0, 0.0),  # exactly the threshold is not over it
    ],
)
def test_freeze_thresholds(durations: list[float], platform_or_kind: str, count: int, total: float) -> None:
    limit = qoe.AUDIO_FREEZE_MIN_MS if platform_or_kind == "audio" else qoe.video_freeze_min_ms(platform_or_kind)
    assert qoe.freeze_total_ms(durations, limit) == (count, total)


def test_w3c_freeze_rule() -> None:
    # 30 frames at 33 ms then a 200 ms gap: avg 33 → max(99, 183) = 183 ≤ 200: a freeze
    times = [i * 33.0 for i in range(31)] + [30 * 33.0 + 200]
    assert qoe.w3c_freezes(times) == [200.0]
    # 150 ms is under max(3·33, 33 + 150): not a freeze
    times = [i * 33.0 for i in range(31)] + [30 * 33.0 + 150]
    assert qoe.w3c_freezes(times) == []
    # slow but steady video (every 500 ms) never freezes: each gap equals the average
    assert qoe.w3c_freezes([i * 500.0 for i in range(40)]) == []


@pytest.mark.parametrize(
    ("attempts_ok", "rate_pct", "ok"),
    [([True] * 49 + [False], 98.0, True), ([True, False, None], 100 / 3, False), ([], None, None)],
)
def test_join_success_rate(attempts_ok: list[bool | None], rate_pct: float | None, ok: bool | None) -> None:
    rate = qoe.join_success_rate(attempts_ok)
    assert (rate.value, rate.ok) == (pytest.approx(rate_pct) if rate_pct else rate_pct, ok)


def test_join_within_rate() -> None:
    # fast: succeeded within 5 s (5 s itself included); a failure or a missing time is not fast
    assert qoe.join_within_rate([(True, 800), (True, 6000), (False, None), (True, 5000)]).value == 50.0
    assert qoe.join_within_rate([(True, None), (None, 100)]).value == 0.0


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([100, 200, 300, 400, 500], 50, 300.0), ([100, 200, 300, 400, 500], 90, 460.0), ([10, None, 30], 50, 20.0),
     ([], 50, None)],
)
def test_percentile(values: list[float | None], pct: float, expected: float | None) -> None:
    assert qoe.percentile(values, pct).value == expected


@pytest.mark.parametrize(
    ("offsets_ms", "median_ms", "ok"),
    [([-120, -100, -90], -100.0, False), ([40, -30, 10], 10.0, True), ([80, 80], 80.0, True), ([], None, None)],
)
def test_av_sync(offsets_ms: list[float], median_ms: float | None, ok: bool | None) -> None:
    sync = qoe.av_sync(offsets_ms)
    assert (sync.value, sync.ok) == (median_ms, ok)


@pytest.mark.parametrize(
    ("mos", "video_ms", "audio_ms", "interval_ms", "poor"),
    [
        (3.59, 0, 0, 10_000, True),  # MOS under the fair floor
        (3.6, 0, 0, 10_000, False),
        (4.4, 1000, 0, 10_000, True),  # video froze for 10 % of the sample
        (4.4, 999, 0, 10_000, False),
        (4.4, 0, 1000, 10_000, True),  # audio alike
        (None, 0, 0, 10_000, False),  # no MOS: judged by its freezes only
        (None, None, None, None, False),
    ],
)
def test_poor_sample(mos: float | None, video_ms: float | None, audio_ms: float | None, interval_ms: float | None,
                     poor: bool) -> None:
    assert qoe.poor_sample(mos, video_ms, audio_ms, interval_ms) is poor


def test_poor_pct_is_the_share_of_media_time_in_poor_samples() -> None:
    samples = [(4.4, 0, 0, 10_000), (3.0, 0, 0, 10_000), (4.4, 0, 0, 20_000)]  # 10 s poor of 40 s
    assert qoe.poor_pct(samples) == 25.0
    assert qoe.poor_pct([]) is None
