"""Every problem state's status page in a real browser: axe finds nothing serious, and a
screenshot per state lands in docs/ (rewritten only when the picture changed: the clock is
fixed, so the same code draws the same page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import make_account, make_order
from ..test_problem_states import STATES
from .conftest import FIXED_NOW as NOW
from .conftest import run_axe, save_if_changed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "problem-states"
SHOWN = ("failed_attempt", "exception", "returned", "pickup", "delayed", "postponed", "cancelled")


@pytest.mark.parametrize("state", SHOWN)
def test_problem_state_page_is_accessible_and_documented(page, live_server, fixed_clock, state):
    shop = make_account(
        name="Northwind Outdoor",
        slug="northwind",
        brand_color="#0f766e",
        locale="en-GB",
        time_zone="Europe/London",
    )
    order = make_order(
        shop, order_number="NW-10482", recipient_name="Jane Shopper", order_date=NOW.replace(day=20)
    )
    STATES[state](order)
    page.goto(live_server.url + order.status_url(absolute=False))
    assert page.locator("#headline").is_visible()
    assert page.locator(".action-box").count() >= 1
    assert run_axe(page) == []
    assert page.console_errors == []
    save_if_changed(page.screenshot(full_page=True), DOCS / f"{state}.png")
