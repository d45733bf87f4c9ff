"""What a browser story uses besides its fixtures: the server's and browser's settings, logging in,
screenshots, waiting for a page at rest and polling the server's side effects."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
CHROMIUM = os.environ.get("YILIAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "Demo@2026"
# a page waits this long for an element: CI runs two test processes, each with a server and a browser, on
# two cores, so a loaded moment must not fail a story (a real failure fails all the same, only later)
UI_TIMEOUT_MS = 30_000


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login page and wait for the start page.

    Note: NiceGUI puts a ``data-testid`` given to ``ui.input(...).props(...)`` on the native <input>,
    so ``page.get_by_test_id("x").fill(...)`` works directly on inputs.
    """
    page.goto("/login")
    # the page is live (its websocket has shaken hands) before anything is typed: on a loaded machine
    # the login page can paint long before it answers
    page.wait_for_function("window.did_handshake === true")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    page.get_by_test_id("current-user").wait_for()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-output/ and return its path."""
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshot_from_top(page: Page, name: str) -> Path:
    """A full-page screenshot from the top (a fixed header is drawn where the page was scrolled to)."""
    page.evaluate("window.scrollTo(0, 0)")
    return screenshot(page, name)


def assert_painted(shot: Path, *, min_share: float = 0.02) -> None:
    """Fail on a blank or nearly blank screenshot: at least ``min_share`` of its pixels must differ from
    its most common colour (the background), and it must be at least one desktop viewport wide."""
    from PIL import Image

    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.width >= 390, f"{shot.name}: {rgb.width} px wide"
        colours = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
        background = max(count for count, _ in colours)
        share = 1 - background / (rgb.width * rgb.height)
    assert share >= min_share, f"{shot.name} is nearly blank ({share:.1%} of pixels drawn)"


def settle(page: Page) -> None:
    """Wait until no finite CSS animation or transition runs (a floating label moving up, a notice
    sliding in), so a screenshot shows the page at rest; endless ones (spinners) are ignored."""
    page.wait_for_function(
        """() => document.getAnimations().every(
            a => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)"""
    )


def eventually(check: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.1) -> None:
    """Poll ``check`` until it holds (work the server does after the response, e.g. the outbox
    dispatcher); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)


def holds_for(check: Callable[[], bool], *, seconds: float, interval: float = 0.1) -> None:
    """Assert that ``check`` holds throughout ``seconds`` (something that must NOT happen, e.g. a paused
    player moving on, has no signal to wait for): fails at the first moment it does not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            pytest.fail(f"condition broke within {seconds:.1f} s")
        time.sleep(interval)
    assert check()
