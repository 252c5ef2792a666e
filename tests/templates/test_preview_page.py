"""The preview page in a real headless Chromium: pick a retailer and a template, see the
email and push as a customer would, edit a variable and see it re-rendered."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from jobs.config import load_conf
from jobs.dev.loopback import AppThread
from jobs.templates import load_library
from jobs.templates.preview_server import PreviewContext, preview_app
from tests.browser import headless_chromium, loopback_only
from tests.conftest import REPO_CONF


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    conf = load_conf(REPO_CONF)
    server = AppThread(preview_app(PreviewContext(conf, load_library(conf)))).start()
    page = browser.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    loopback_only(page, server.url)
    page.goto(server.url + "/")
    page.wait_for_selector('#status[data-renders="1"]')
    yield page, errors
    page.close()
    server.stop()


def rerendered(page: Page, action: Callable[[], None]) -> None:
    """Do `action` and wait until the page has rendered the result."""
    count = int(page.get_attribute("#status", "data-renders") or "0")
    action()
    page.wait_for_function(
        f"Number(document.getElementById('status').dataset.renders) > {count} "
        "&& document.getElementById('status').textContent === 'rendered'"
    )


def test_email_preview_shows_the_retailers_brand_and_rerenders_an_edit(
    page: tuple[Page, list[str]],
) -> None:
    page_, errors = page
    rerendered(page_, lambda: page_.select_option("#retailer", "fresh-mart"))
    rerendered(page_, lambda: page_.select_option("#template", "winback-email"))
    frame = page_.frame_locator("#email-frame")
    assert "FreshMart · 100 Market Street" in frame.locator("body").inner_text()
    assert page_.inner_text("#subject") == "We miss you"
    assert page_.inner_text("#preheader") == "Crisp, local and picked this morning."
    assert page_.inner_text("#sender").endswith("<freshmart@mail.campaigns.example>")

    rerendered(page_, lambda: page_.select_option("#campaign", "fresh-mart-winback"))
    assert page_.inner_text("#subject") == "We miss you at FreshMart"
    assert page_.inner_text('tr[data-name="subject"] .layer') == "campaign"

    rerendered(page_, lambda: page_.fill('input[data-name="headline"]', "Your basket misses you"))
    assert "Your basket misses you, Alexandra" in frame.locator("h1").inner_text()
    assert page_.inner_text('tr[data-name="headline"] .layer') == "edits"
    assert page_.locator("#problems li").count() == 0

    rerendered(page_, lambda: page_.fill('input[data-name="subject"]', "So long " * 20))
    assert "subject: 160 characters (limit 100)" in page_.inner_text("#problems")
    assert errors == []


def test_push_preview_and_a_retailer_sees_only_its_own_templates(
    page: tuple[Page, list[str]],
) -> None:
    page_, errors = page
    rerendered(page_, lambda: page_.select_option("#retailer", "fresh-mart"))
    rerendered(page_, lambda: page_.select_option("#template", "winback-push"))
    assert page_.is_visible("#push") and not page_.is_visible("#email")
    assert page_.inner_text("#push-title") == "We miss you"
    assert page_.inner_text("#push-link") == "freshmart://home"

    rerendered(page_, lambda: page_.select_option("#retailer", "maple-market"))
    options = page_.eval_on_selector_all("#template option", "items => items.map(i => i.value)")
    assert options == ["weekly-deals-email"]
    campaigns = page_.eval_on_selector_all("#campaign option", "items => items.map(i => i.value)")
    assert campaigns == ["", "maple-market-weekly-deals"]
    assert "FreshMart" not in page_.frame_locator("#email-frame").locator("body").inner_text()
    assert errors == []
