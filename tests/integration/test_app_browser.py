"""The page in a real browser: Playwright driving Debian's Chromium (headless) against
``python -m app serve`` on the local cloud. It creates the table, adds a message carrying markup
and script, sees it listed as text (nothing of it runs), and saves a screenshot.

Chromium comes from ``make chromium`` (part of ``make test``'s setup); this test never downloads
a browser and fails, rather than skips, when Chromium is missing.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from test_app_harness import DB_USER, ROOT, AppServer, app_stack  # noqa: F401 (fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


@pytest.fixture(scope="module")
def server(app_stack, tmp_path_factory):
    app = AppServer(app_stack.pod_env(), tmp_path_factory.mktemp("app-browser") / "app.log").start()
    yield app
    assert app.stop() == 0, app.logged()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.errors = errors
    yield page
    context.close()


def save_screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    reports = ROOT / "reports"
    if reports.is_dir():
        shutil.copy(shot, reports / name)
    return shot


def test_the_page_creates_the_table_adds_and_lists_a_message(page, server, app_stack, tmp_path):
    app_stack.app_sql("DROP TABLE IF EXISTS public.messages")
    page.goto(server.url("/"))
    expect(page).to_have_title("Passwordless PostgreSQL demo")
    expect(page.locator("#endpoint")).to_have_text(f"{app_stack.host}:{app_stack.port} / appdb")
    expect(page.locator("#db-user")).to_have_text(DB_USER)
    expect(page.locator("#role")).to_contain_text(app_stack.role_arn.rsplit("/", 1)[1])
    expect(page.locator("#tls")).to_contain_text("TLS on")
    expect(page.locator("#token")).to_contain_text("s left")

    page.click("#setup")
    expect(page.locator("#status")).to_have_text("Table created.")

    text = f"{HOSTILE} {uuid.uuid4().hex[:8]}"
    page.fill("#message-text", text)
    page.click("#add")
    expect(page.locator("#status")).to_contain_text("added.")
    first = page.locator("#messages li").first
    expect(first.locator(".text")).to_have_text(text)
    expect(first.locator(".meta")).to_contain_text(DB_USER)

    page.click("#list")
    expect(page.locator("#status")).to_have_text("1 message(s).")
    expect(page.locator("#messages li")).to_have_count(1)
    # The markup is text: no element came from it and none of its script ran.
    assert page.locator("#messages img, #messages script").count() == 0
    assert page.title() == "Passwordless PostgreSQL demo"
    assert page.errors == []

    shot = save_screenshot(page, tmp_path, "app-page.png")
    assert shot.stat().st_size > 10_000


def test_the_page_shows_a_refused_input_without_reloading(page, server):
    page.goto(server.url("/"))
    page.click("#setup")
    page.evaluate("document.getElementById('message-text').removeAttribute('maxlength')")
    page.fill("#message-text", "x" * 501)
    page.click("#add")
    expect(page.locator("#status")).to_have_text("'text' is 501 characters long; the limit is 500")
    expect(page.locator("#status")).to_have_class("bad")
