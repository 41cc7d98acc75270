"""Regression journeys: HTTP checks with httpx and browser journeys with Playwright and Debian's chromium.

A journey is a list of declarative steps (go to, fill, click, check, wait for, expect) written
against URLs and CSS selectors in eduops.toml's [release] section, so the same runner works against
the demo platform and a real one. Every journey leaves a screenshot, the failing ones at the moment
they failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["goto", "fill", "click", "check", "select", "wait_for", "expect_text", "expect_attr", "expect_url"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Step(BaseModel):
    """One thing a user does or sees. ``value`` may use {username} and {password}."""

    model_config = ConfigDict(extra="forbid")
    action: Action
    selector: str = ""
    url: str = ""
    value: str = ""
    attribute: str = ""
    timeout_ms: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> Step:
        if self.action == "goto" and not self.url:
            raise ValueError("a goto step needs a url (a path such as /login, or a full URL)")
        if self.action in ("expect_url",) and not self.value:
            raise ValueError("an expect_url step needs the value the URL must contain")
        if self.action not in ("goto", "expect_url") and not self.selector:
            raise ValueError(f"a {self.action} step needs a CSS selector")
        if self.action == "expect_attr" and not self.attribute:
            raise ValueError("an expect_attr step needs the attribute to read")
        return self

    def describe(self) -> str:
        target = self.url or self.selector
        extra = f" {self.attribute}={self.value}" if self.attribute else (f" = {self.value!r}" if self.value else "")
        return f"{self.action} {target}{extra}".strip()


class Journey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    steps: list[Step] = Field(min_length=1)


class HttpCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    expect_status: int = Field(200, ge=100, le=599)
    contains: str = ""
    max_ms: float = Field(3000, gt=0)


def _steps(*rows: dict[str, Any]) -> list[Step]:
    return [Step(**r) for r in rows]


# The default journeys, written against the demo platform's pages (docs/demo-platform.md).
DEFAULT_JOURNEYS = [
    Journey(
        name="login",
        title="Log in",
        steps=_steps(
            {"action": "goto", "url": "/login"},
            {"action": "fill", "selector": "#username", "value": "{username}"},
            {"action": "fill", "selector": "#password", "value": "{password}"},
            {"action": "click", "selector": "#login-button"},
            {"action": "wait_for", "selector": "#welcome"},
        ),
    ),
    Journey(
        name="open-course",
        title="Open a course",
        steps=_steps(
            {"action": "goto", "url": "/courses"},
            {"action": "click", "selector": "a.course >> nth=0"},
            {"action": "wait_for", "selector": "#lessons a.video"},
        ),
    ),
    Journey(
        name="play-video",
        title="Play a video",
        steps=_steps(
            {"action": "goto", "url": "/courses/1"},
            {"action": "click", "selector": "a.video >> nth=0"},
            {"action": "click", "selector": "#play"},
            {"action": "expect_attr", "selector": "#player", "attribute": "data-state", "value": "playing"},
        ),
    ),
    Journey(
        name="class-page",
        title="Open the class page",
        steps=_steps(
            {"action": "goto", "url": "/classes/100"},
            {"action": "click", "selector": "#join"},
            {"action": "expect_attr", "selector": "#classroom", "attribute": "data-state", "value": "joined"},
        ),
    ),
    Journey(
        name="submit-quiz",
        title="Submit a quiz",
        steps=_steps(
            {"action": "goto", "url": "/quizzes/1"},
            {"action": "check", "selector": "input[name=q1][value='14']"},
            {"action": "check", "selector": "input[name=q2][value='100']"},
            {"action": "check", "selector": "input[name=q3][value='3']"},
            {"action": "click", "selector": "#submit-quiz"},
            {"action": "wait_for", "selector": "#result"},
        ),
    ),
]
DEFAULT_HTTP_CHECKS = [
    HttpCheck(path="/healthz", contains="ok"),
    HttpCheck(path="/login"),
    HttpCheck(path="/courses", contains="course"),
]


class ReleaseSettings(BaseModel):
    """[release] in eduops.toml: where the platform is and what a release must not break."""

    model_config = ConfigDict(extra="forbid")
    base_url: str = Field("", description="the platform the journeys run against, e.g. https://school.example")
    username: str = Field("release-check", description="a test account on the platform")
    password: str = Field("demo", description="its password (or set EDUOPS_RELEASE__PASSWORD)")
    chromium_path: str = Field("/usr/bin/chromium", description="Debian's chromium; never a downloaded browser")
    timeout_ms: int = Field(15000, gt=0, description="how long one step may wait")
    viewport: tuple[int, int] = (1280, 800)
    http_checks: list[HttpCheck] = Field(default_factory=lambda: list(DEFAULT_HTTP_CHECKS))
    journeys: list[Journey] = Field(default_factory=lambda: list(DEFAULT_JOURNEYS))


@dataclass
class JourneyResult:
    name: str
    title: str
    ok: bool
    duration_ms: float
    steps_done: int
    steps_total: int
    error: str = ""
    failed_step: str = ""
    screenshot: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class HttpResult:
    path: str
    ok: bool
    status: int | None
    ms: float
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def absolute(base_url: str, url: str) -> str:
    return url if "://" in url else base_url.rstrip("/") + "/" + url.lstrip("/")


def run_http_checks(base_url: str, checks: list[HttpCheck], timeout_s: float = 10.0) -> list[HttpResult]:
    results = []
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for c in checks:
            t0 = time.perf_counter()
            try:
                r = client.get(absolute(base_url, c.path))
            except httpx.HTTPError as exc:
                results.append(
                    HttpResult(c.path, False, None, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}")
                )
                continue
            ms = (time.perf_counter() - t0) * 1000
            problems = []
            if r.status_code != c.expect_status:
                problems.append(f"status {r.status_code}, expected {c.expect_status}")
            if c.contains and c.contains not in r.text:
                problems.append(f"the page does not contain {c.contains!r}")
            if ms > c.max_ms:
                problems.append(f"took {ms:.0f} ms (limit {c.max_ms:.0f} ms)")
            results.append(HttpResult(c.path, not problems, r.status_code, round(ms, 1), "; ".join(problems)))
    return results


@dataclass
class BrowserRun:
    """Runs journeys in one browser context (so a login carries over), one screenshot per journey."""

    settings: ReleaseSettings
    base_url: str
    out_dir: Path
    prefix: str = ""
    results: list[JourneyResult] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def run(self, journeys: list[Journey]) -> list[JourneyResult]:
        from playwright.sync_api import sync_playwright

        if not Path(self.settings.chromium_path).exists():
            raise FileNotFoundError(
                f"no browser at {self.settings.chromium_path}; install Debian's chromium "
                "(apt-get install chromium) or set [release] chromium_path"
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=self.settings.chromium_path, headless=True, args=CHROMIUM_ARGS)
            try:
                width, height = self.settings.viewport
                context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
                context.set_default_timeout(self.settings.timeout_ms)
                page = context.new_page()
                page.on("response", self._watch)
                for journey in journeys:
                    self.results.append(self._journey(page, journey))
                context.close()
            finally:
                browser.close()
        return self.results

    def _watch(self, response: Any) -> None:
        """Remember server errors of the platform, so a step waiting for a page that broke fails at once."""
        if response.status >= 500:
            request = response.request
            self.server_errors.append(f"{request.method} {response.url} → HTTP {response.status}")

    def _journey(self, page: Any, journey: Journey) -> JourneyResult:
        t0 = time.perf_counter()
        self.server_errors.clear()
        done, error, failed = 0, "", ""
        for step in journey.steps:
            try:
                self._step(page, step)
                done += 1
            except Exception as exc:  # a failed step ends the journey; the screenshot shows where
                failed, error = step.describe(), _short_error(exc)
                break
        shot = self.out_dir / f"{self.prefix}{journey.name}{'' if not error else '-FAILED'}.png"
        for attempt in range(2):
            try:
                page.screenshot(path=str(shot))
                break
            except Exception as exc:  # a page that cannot be photographed is still a result
                if attempt:
                    error = error or f"screenshot failed: {_short_error(exc)}"
                    shot = Path("")
                else:  # a step that failed mid-navigation: photograph the page once it has loaded
                    _settle(page, self.settings.timeout_ms)
        return JourneyResult(
            journey.name,
            journey.title or journey.name,
            not error,
            round((time.perf_counter() - t0) * 1000, 1),
            done,
            len(journey.steps),
            error,
            failed,
            str(shot) if str(shot) not in ("", ".") else "",
            page.url,
        )

    def _step(self, page: Any, step: Step) -> None:
        from playwright.sync_api import expect

        timeout = step.timeout_ms or self.settings.timeout_ms
        value = step.value.format(username=self.settings.username, password=self.settings.password)
        if step.action == "goto":
            response = page.goto(absolute(self.base_url, step.url), timeout=timeout)
            if response is not None and response.status >= 400:
                raise RuntimeError(f"{step.url} → HTTP {response.status}")
        elif step.action == "fill":
            page.fill(step.selector, value, timeout=timeout)
        elif step.action == "click":
            page.click(step.selector, timeout=timeout)
        elif step.action == "check":
            page.check(step.selector, timeout=timeout)
        elif step.action == "select":
            page.select_option(step.selector, value, timeout=timeout)
        elif step.action == "wait_for":
            self._poll(lambda t: page.wait_for_selector(step.selector, timeout=t), timeout)
        elif step.action == "expect_text":
            self._poll(lambda t: expect(page.locator(step.selector).first).to_contain_text(value, timeout=t), timeout)
        elif step.action == "expect_attr":
            self._poll(
                lambda t: expect(page.locator(step.selector).first).to_have_attribute(step.attribute, value, timeout=t),
                timeout,
            )
        elif step.action == "expect_url":
            self._poll(lambda t: page.wait_for_url(f"**{value}**", timeout=t), timeout)
        if self.server_errors:
            raise RuntimeError(self.server_errors[0])

    def _poll(self, attempt: Any, timeout_ms: int) -> None:
        """Retry a short wait until it succeeds, the time is up, or the platform answered a server error."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            if self.server_errors:
                raise RuntimeError(self.server_errors[0])
            left_ms = (deadline - time.monotonic()) * 1000
            try:
                attempt(max(min(250, left_ms), 1))
                return
            except AssertionError:
                if left_ms <= 250:
                    raise
            except Exception as exc:
                if "Timeout" not in type(exc).__name__ or left_ms <= 250:
                    raise


def _short_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _settle(page: Any, timeout_ms: int) -> None:
    """Wait for the page to finish loading, at most ``timeout_ms`` (a page that never does is photographed as is)."""
    try:
        page.wait_for_load_state("load", timeout=timeout_ms)
    except Exception:  # noqa: BLE001 - the retry says what is wrong if the page still cannot be photographed
        pass
