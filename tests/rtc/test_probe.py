"""The synthetic probe places a real WebRTC call (aiortc) through the impairing relay: the issue's contracts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eduops.cli import app
from eduops.rtc.probe import run_probe
from eduops.rtc.relay import Impairment, _LossBags, is_rtp

pytestmark = pytest.mark.slow


def test_cli_probe_without_impairment_connects_fast_with_good_mos() -> None:
    result = CliRunner().invoke(app, ["rtc", "probe", "--duration", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["connected"] and data["connect_ms"] < 600
    assert data["mos"] >= 4.3
    assert data["first_audio_ms"] is not None and data["first_video_ms"] is not None
    assert data["video_frames"] > 30 and data["loss_pct"] == 0


def test_delay_100ms_each_way_measures_rtt_200() -> None:
    result = run_probe(delay_ms=100, duration_s=3)
    assert result.connected
    assert result.rtt_ms is not None and 170 <= result.rtt_ms <= 230


def test_loss_5pct_measures_3_to_7pct() -> None:
    result = run_probe(loss_pct=5, duration_s=4)
    assert result.connected and result.relay["dropped"] > 0
    assert result.loss_pct is not None and 3 <= result.loss_pct <= 7
    assert result.mos is not None and result.mos < 4.3  # 5 % loss costs 12.5 R points


def test_bad_arguments_are_usage_errors() -> None:
    result = CliRunner().invoke(app, ["rtc", "probe", "--loss-pct", "150"])
    assert result.exit_code == 2


@pytest.mark.parametrize("loss_pct", [0, 5, 12.5, 100])
def test_loss_bags_drop_the_set_share_of_every_stream(loss_pct: float) -> None:
    bags = _LossBags(Impairment(loss_pct=loss_pct, seed=1))
    packet = bytes([0x80, 111]) + bytes(6) + b"\x00\x00\x00\x01" + bytes(20)
    dropped = sum(bags.drop(packet) for _ in range(1000))
    assert abs(dropped - 10 * loss_pct) <= 10  # ± one packet per block of 100
    rtcp = bytes([0x80, 200]) + bytes(30)
    assert not is_rtp(rtcp) and not bags.drop(rtcp)
