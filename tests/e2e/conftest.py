"""Browser tests: a real server process (uvicorn) on a fresh database with a small demo alliance,
driven by Playwright with Debian's Chromium. Screenshots go to ``test-output/``.

Without /usr/bin/chromium the tests are skipped with a message naming the Debian package; under
CI (``CI=true``) a missing browser fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.dbutil import fresh_database
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, UI_TIMEOUT_MS, screenshot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _yilian(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "yilian", *args], env=env, cwd=ROOT, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of ``yilian serve`` on a fresh, migrated database seeded with a 200-patient demo."""
    var = tmp_path_factory.mktemp("var")
    with fresh_database("e2e") as url:
        env = {
            **os.environ,
            "YILIAN_DATABASE_URL": url,
            "YILIAN_VAR_DIR": str(var),
            "YILIAN_DISPATCH_INTERVAL_SECONDS": "0.2",
            "YILIAN_CLOCK_FILE": str(var / "clock.txt"),
            # scheduled jobs (23:00 settlement, 06:00 schedules, …) would act at real or moved times in the
            # middle of a story; they have their own tests (tests/kit/test_jobs.py)
            "YILIAN_JOBS_ENABLED": "false",
        }
        _yilian(["db", "upgrade"], env)
        _yilian(["demo", "--patients", "200"], env)
        port = _free_port()
        log = open(var / "server.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "yilian", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError((var / "server.log").read_text()[-3000:])
                time.sleep(0.5)
            else:
                raise RuntimeError("server did not answer /healthz")
            os.environ["YILIAN_E2E_DATABASE_URL"] = url
            os.environ["YILIAN_E2E_CLOCK_FILE"] = str(var / "clock.txt")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


@pytest.fixture
def server_clock(live_server: str) -> Iterator[Callable[[datetime], None]]:
    """Move the live server's clock: call it with an aware datetime; real time again after the test.

    The server reads ``YILIAN_CLOCK_FILE`` (see ``kit.clock.FileClock``) on every clock reading.
    """
    path = Path(os.environ["YILIAN_E2E_CLOCK_FILE"])

    def move(at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("server_clock needs an aware datetime")
        path.write_text(at.isoformat())
        # a different mtime even within the file system's timestamp granularity
        os.utime(path, ns=(time.time_ns(), time.time_ns()))

    yield move
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Debian Chromium driven by Playwright."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        message = (
            "browser tests need Chromium: install the Debian package `chromium` "
            "(and `fonts-noto-cjk` for Chinese text): apt-get install chromium fonts-noto-cjk"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failed browser story, keep what each open page showed (``test-output/failed-…``) and print
    the page texts: a failure in CI leaves its evidence in the log."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for fixture in ("page", "phone_page"):
        p = item.funcargs.get(fixture) if hasattr(item, "funcargs") else None
        if p is None:
            continue
        try:
            shot = screenshot(p, f"failed-{item.name}-{fixture}")
            text = p.inner_text("body")[:2000]
        except Exception as exc:  # noqa: BLE001 — evidence is best effort; the failure is already reported
            report.sections.append((f"{fixture} at failure", f"no screenshot: {exc}"))
            continue
        report.sections.append((f"{fixture} at failure", f"{p.url}\n{shot}\n{text}"))


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh browser context and page (desktop size); ``page.goto`` paths are relative to the server."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1366, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture
def phone_page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized page (390×844, touch), for patient pages."""
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    p = context.new_page()
    yield p
    context.close()
