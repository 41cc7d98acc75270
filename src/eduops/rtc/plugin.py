"""Call quality: ingestion, QoE metrics, breakdowns, call search, probe calls, AI tutor latency."""

from pathlib import Path

from eduops.core.hookspecs import Area, Command, Domain, hookimpl


@hookimpl
def eduops_domain() -> Domain:
    return Domain(
        name="rtc",
        folder=Path(__file__).parent,
        checks=("eduops.rtc.checks",),
        commands=(Command("rtc", "Call quality: reports, QoE breakdowns, call search, the synthetic probe.",
                          "eduops.rtc.cli:rtc_app"),),
        web=("eduops.rtc.api",),
        demo="eduops.rtc.demo:populate",
        demo_order=40,
        areas=(Area("call_quality", "Call quality", 20, page="/rtc"),),
    )
