"""Every problem state's status page in a real browser: axe finds nothing serious, and a
screenshot per state lands in docs/ (rewritten only when the picture changed: the clock is
fixed, so the same code draws the same page)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import timezone

from ..conftest import make_account, make_order
from ..test_problem_states import STATES
from .conftest import run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Image = pytest.importorskip("PIL.Image")
ImageChops = pytest.importorskip("PIL.ImageChops")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "problem-states"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
SHOWN = ("failed_attempt", "exception", "returned", "pickup", "delayed", "postponed", "cancelled")


@pytest.fixture
def fixed_clock(monkeypatch):
    """The live server runs in this process: its pages see the same fixed clock."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def save_if_changed(png: bytes, path: Path) -> bool:
    """Write the screenshot unless the committed one shows the same pixels."""
    if path.exists():
        with Image.open(path) as old, Image.open(io.BytesIO(png)) as new:
            same = (
                old.size == new.size
                and ImageChops.difference(old.convert("RGB"), new.convert("RGB")).getbbox() is None
            )
        if same:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return True


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
