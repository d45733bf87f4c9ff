"""A new user's walk: every demo user through every menu entry at a desktop (1366×900) and a phone
(390×844) size. Each page must draw without an unhandled error, show no English enum value and no raw
fen amount, and not scroll sideways; every role has a menu. A screenshot of each page goes to
``test-output/walk/``."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
from typing import Any

import pytest

import yilian
from tests.e2e.browser import OUTPUT, UI_TIMEOUT_MS, login, settle

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
USERS = [
    "admin",
    "registrar",
    "doctor",
    "doctor2",
    "nurse",
    "cashier",
    "pharmacist",
    "insurance",
    "bedmgr",
    "security",
    "kiosk",
    "patient",
    "family",
    "commission",
]
PHONE_USERS = {"patient", "family", "kiosk"}  # people who use the platform on a phone or a hall machine
# Pages left out of the walk (none: every menu entry of every role is walked).
SKIPPED_PATHS: set[str] = set()
# Login names are identifiers, shown beside their Chinese role label (user list, access-audit log); the
# demo's login names coincide with some role values, so those words are not looked for.
LOGIN_NAMES = set(USERS) | {"insurance"}
# Plain-string value sets that are not Enum classes but reach pages the same way.
EXTRA_WORDS = {"inpatient", "outpatient", "employee", "resident", "self_pay", "pending", "confirmed"}
FEN = re.compile(r"[（(]分[)）]|\bfen\b|_fen\b")
ERROR_TEXTS = ("Server error", "This page doesn't exist", "Traceback", "Internal Server Error", "Exception")


def enum_words() -> set[str]:
    """Every lower-case English value of an enum in the package (what a page must translate)."""
    words = set(EXTRA_WORDS)
    for info in pkgutil.walk_packages(yilian.__path__, "yilian."):
        if info.name.endswith((".pages", ".api", ".cli", ".tasks", "__main__", ".app")):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module that needs an optional extra is not a word source
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == info.name:
                for member in value:
                    v = member.value
                    if isinstance(v, str) and re.fullmatch(r"[a-z][a-z_]{3,}", v):
                        words.add(v)
    return words - LOGIN_NAMES


WORDS = enum_words()
WORD_RE = re.compile(
    r"(?<![A-Za-z_/.\-])(" + "|".join(sorted(WORDS, key=len, reverse=True)) + r")(?![A-Za-z_])"
)

MAIN_CHECKS = """() => {
  const main = document.querySelector('.q-page-container') || document.body;
  // visible text, without icon ligatures (a Material icon's text is its English name)
  const parts = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest('.q-icon, .material-icons, script, style, code')) continue;
    if (!parent.offsetParent && getComputedStyle(parent).position !== 'fixed') continue;
    parts.push(node.textContent);
  }
  const text = parts.join(' ');
  const doc = document.scrollingElement;
  const sideways = [];
  if (doc.scrollWidth > doc.clientWidth + 1) sideways.push('document ' + doc.scrollWidth + '>' + doc.clientWidth);
  for (const el of main.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1
        && el.clientWidth > 0) {
      sideways.push((el.className || el.tagName).toString().slice(0, 60) + ' ' + el.scrollWidth + '>' + el.clientWidth);
    }
  }
  const links = Array.from(document.querySelectorAll('.q-drawer a')).map(a => a.getAttribute('href'));
  const error = !!document.querySelector('[data-testid=error-page]');
  return {text, sideways, links, error};
}"""


def _menu(page: Any) -> list[str]:
    page.goto("/")
    page.get_by_test_id("current-user").wait_for()
    hrefs = page.eval_on_selector_all(".q-drawer a", "els => els.map(a => a.getAttribute('href'))")
    return [h for h in dict.fromkeys(hrefs) if h and h.startswith("/")]


def _check(page: Any, user: str, path: str, size: str) -> list[str]:
    problems: list[str] = []
    response = page.goto(path)
    if response is not None and response.status >= 400:
        problems.append(f"HTTP {response.status}")
    # not "networkidle": socket.io may poll over HTTP before it upgrades to a websocket, and a busy
    # machine can keep those polls going past the timeout (CI saw it once on the pharmacist's menu).
    # A NiceGUI page is live (what it draws on connecting is drawn) and nothing slides any more.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.did_handshake === true || window.socket === undefined")
    settle(page)
    found = page.evaluate(MAIN_CHECKS)
    text = found["text"]
    if found["error"] or any(t in text for t in ERROR_TEXTS):
        problems.append("error page")
    english = sorted(set(WORD_RE.findall(text)))
    if english:
        problems.append(f"English enum values {english}")
    fen = FEN.search(text)
    if fen:
        problems.append(f"raw fen: {fen.group(0)!r}")
    sideways = found["sideways"]
    if size == "phone" and user not in PHONE_USERS:
        # staff desks are used on a desk's screen: on a phone their wide tables scroll inside their own
        # box, but the page itself must not scroll sideways
        sideways = [s for s in sideways if s.startswith("document")]
    if sideways:
        problems.append(f"scrolls sideways: {sideways[:3]}")
    OUTPUT.joinpath("walk").mkdir(parents=True, exist_ok=True)
    name = path.strip("/").replace("/", "_") or "home"
    page.screenshot(path=str(OUTPUT / "walk" / f"{user}-{size}-{name}.png"), full_page=True)
    return [f"{user} {size} {path}: {p}" for p in problems]


@pytest.mark.parametrize("user", USERS)
def test_every_menu_entry_fits_and_speaks_chinese(browser: Any, live_server: str, user: str) -> None:
    problems: list[str] = []
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(
            base_url=live_server,
            viewport=viewport,
            locale="zh-CN",
            is_mobile=size == "phone",
            has_touch=size == "phone",
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.new_page()
        try:
            login(page, user)
            assert "/login" not in page.url, f"{user}: the address bar still reads {page.url} after login"
            if user == "kiosk":  # a public machine: its one page, no menu
                page.wait_for_url("**/scheduling/kiosk")
                menu = ["/scheduling/kiosk"]
            else:
                menu = [p for p in _menu(page) if p not in SKIPPED_PATHS]
                if not [p for p in menu if p != "/"]:
                    problems.append(f"{user}: empty menu")
                if user == "insurance" and "/audit/findings" not in menu:
                    problems.append("insurance: 审核疑点 missing from the menu")
            for path in menu:
                problems.extend(_check(page, user, path, size))
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_kiosk_is_a_public_screen(browser: Any, live_server: str) -> None:
    """The hall machine shows no staff menu and no log-out, and its 查询 button sits beside the input."""
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(base_url=live_server, viewport=viewport, locale="zh-CN")
        page = context.new_page()
        try:
            login(page, "kiosk")
            page.wait_for_url("**/scheduling/kiosk")
            assert page.locator(".q-drawer a").count() == 0
            assert page.get_by_text("退出").count() == 0
            box = page.get_by_test_id("kiosk-id").bounding_box()
            button = page.get_by_test_id("kiosk-lookup").bounding_box()
            assert box is not None and button is not None
            assert button["x"] > box["x"] + box["width"] - 5, "查询 beside the input, not below it"
            assert button["y"] < box["y"] + box["height"], "查询 on the input's line"
        finally:
            context.close()
