"""The E-model's codec comes from [rtc]; a store written with the old MOS is upgraded; the loss and
MOS a segment shows are the loss MOS used and the MOS weighted by media time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eduops.config import load_settings
from eduops.errors import ConfigError
from eduops.rtc import qoe
from eduops.rtc.breakdowns import Window, breakdown
from eduops.rtc.service import ingest_items
from eduops.rtc.settings import rtc_settings
from eduops.rtc.store import Store

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def settings_with(tmp_path: Path, toml: str) -> object:
    (tmp_path / "eduops.toml").write_text(toml)
    return load_settings(tmp_path / "eduops.toml", home=str(tmp_path))


@pytest.mark.parametrize(("toml", "codec", "burst_r", "names"), [
    ("", qoe.CODECS["opus"], 1.0, ["g711", "opus"]),
    ('[rtc]\ncodec = "g711"\nburst_r = 1.5\n', qoe.CODECS["g711"], 1.5, ["g711", "opus"]),
    ('[rtc]\ncodec = "opus"\n[rtc.codecs.opus]\nie = 5\nbpl = 30\n', qoe.Codec(5, 30), 1.0, ["g711", "opus"]),
    ('[rtc]\ncodec = "g729a"\n[rtc.codecs.g729a]\nie = 11\nbpl = 19\n', qoe.Codec(11, 19), 1.0,
     ["g711", "g729a", "opus"]),
])
def test_codec_from_settings(tmp_path: Path, toml: str, codec: qoe.Codec, burst_r: float, names: list[str]) -> None:
    model = rtc_settings(settings_with(tmp_path, toml)).e_model()  # type: ignore[arg-type]
    assert (model.codec, model.burst_r, model.names()) == (codec, burst_r, names)


@pytest.mark.parametrize(("toml", "message"), [
    ('[rtc]\ncodec = "amr"\n', "add its Ie and Bpl under [rtc.codecs.amr]"),
    ('[rtc]\n[rtc.codecs.opus]\nie = 120\nbpl = 3\n', "ie"),
    ('[rtc]\nburst_r = 0.5\n', "burst_r"),
])
def test_bad_codec_settings_say_what_to_fix(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rtc_settings(settings_with(tmp_path, toml))  # type: ignore[arg-type]


def items(n: int = 4) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        {"type": "call", "call_id": "c1", "scenario": "one_on_one", "start": START.isoformat()},
        {"type": "session", "call_id": "c1", "user_id": "u1", "role": "student", "province": "Henan",
         "joined_at": START.isoformat(), "join_ok": True, "join_ms": 900}]
    # 2 s at RTT 40 ms without loss, then 8 s samples at RTT 300 ms losing 4 % downlink (uplink 0 %)
    out.append({"type": "sample", "call_id": "c1", "user_id": "u1", "ts": (START + timedelta(seconds=2)).isoformat(),
                "interval_s": 2, "rtt_ms": 40, "jitter_ms": 0, "loss_down_pct": 0, "loss_up_pct": 0})
    for i in range(n - 1):
        out.append({"type": "sample", "call_id": "c1", "user_id": "u1",
                    "ts": (START + timedelta(seconds=10 + 8 * i)).isoformat(), "interval_s": 8, "rtt_ms": 300,
                    "jitter_ms": 5, "loss_down_pct": 4, "loss_up_pct": 0})
    return out


def expected(model: qoe.EModel) -> tuple[float, float]:
    """(MOS weighted by media time, mean loss MOS used) of ``items()``."""
    good = round(qoe.mos_from_r(qoe.r_factor(40, 0, 0, model.codec, model.burst_r)), 4)
    bad = round(qoe.mos_from_r(qoe.r_factor(300, 5, 4, model.codec, model.burst_r)), 4)
    return qoe.weighted_mos([(good, 2000.0)] + [(bad, 8000.0)] * 3) or 0.0, (0 + 4 * 3) / 4


@pytest.mark.parametrize("model", [qoe.EModel(), qoe.EModel(qoe.Codec(11, 19), 2.0)])
def test_segment_mos_is_weighted_and_loss_is_the_loss_mos_used(tmp_path: Path, model: qoe.EModel) -> None:
    store = Store(tmp_path / "rtc.duckdb", timezone="UTC", model=model)
    assert ingest_items(store, items()).rejected_total == 0
    mos, loss = expected(model)
    session = store.query("SELECT mos, loss_pct FROM session_quality")[0]
    assert session["mos"] == pytest.approx(mos, abs=1e-9) and session["loss_pct"] == pytest.approx(loss)
    row = breakdown(store, "province", Window(START - timedelta(hours=1), START + timedelta(hours=1)))[0]
    assert row["mos"] == pytest.approx(mos, abs=1e-3) and row["loss_pct"] == pytest.approx(loss, abs=1e-3)
    store.close()


def test_a_store_with_the_old_mos_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "rtc.duckdb"
    store = Store(path, timezone="UTC")
    ingest_items(store, items())
    with store.connect() as con:  # what schema 1 left: the simplified MOS, a rollup averaging samples
        con.execute("UPDATE samples SET mos = 4.0")
        con.execute("UPDATE sample_rollup SET mos_sum = 16.0, mos_n = 4")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store.close()
    model = qoe.EModel(qoe.CODECS["g711"], 1.0)
    upgraded = Store(path, timezone="UTC", model=model)
    mos, _loss = expected(model)
    assert upgraded.query("SELECT mos FROM session_quality")[0]["mos"] == pytest.approx(mos, abs=1e-9)
    assert upgraded.query("SELECT value FROM meta WHERE key = 'schema_version'")[0]["value"] == "2"
    upgraded.close()


def test_a_session_names_its_codec(tmp_path: Path) -> None:
    """A dial-in participant on G.711 without concealment next to app users on Opus: each sample's MOS
    uses its session's codec; a codec nobody configured is rejected with what to do."""
    model = qoe.EModel(codecs=(*qoe.CODECS.items(), ("g711-noplc", qoe.Codec(0, 4.3))))
    store = Store(tmp_path / "rtc.duckdb", timezone="UTC", model=model)
    batch = items(2)
    batch[1] = {**batch[1], "codec": "G711-NoPLC"}
    batch.append({"type": "session", "call_id": "c1", "user_id": "u2", "codec": "amr"})
    result = ingest_items(store, batch)
    assert result.rejected_total == 1 and "add its Ie and Bpl under [rtc.codecs.amr]" in result.rejected[0]["reason"]
    got = sorted(r["mos"] for r in store.query("SELECT mos FROM samples"))
    g711 = qoe.EModel(qoe.Codec(0, 4.3))
    assert got == sorted([round(qoe.mos_from_r(qoe.r_factor(40, 0, 0, g711.codec)), 4),
                          round(qoe.mos_from_r(qoe.r_factor(300, 5, 4, g711.codec)), 4)])
    # later samples of the stored session, through the bulk path too (300 at once)
    later = [{**items(2)[-1], "ts": (START + timedelta(seconds=100 + 8 * i)).isoformat()} for i in range(300)]
    assert ingest_items(store, later).rejected_total == 0
    bulk = {r["mos"] for r in store.query("SELECT mos FROM samples WHERE ts > ?", [START + timedelta(seconds=60)])}
    assert bulk == {round(qoe.mos_from_r(qoe.r_factor(300, 5, 4, g711.codec)), 4)}
    store.close()
