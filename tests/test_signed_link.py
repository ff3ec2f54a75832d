"""`manage.py signed_link`: support staff print a link that opens an order without a second factor."""

import re
import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from orders.lookup import Access, resolve

from .conftest import make_account, make_order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("signed_link", *args, stdout=out)
    return out.getvalue()


def page_url(output: str) -> str:
    return re.search(r"^Status page: (\S+)$", output, re.M)[1]


def test_prints_a_page_link_that_opens_the_order(client, order):
    url = page_url(run(order.order_number))
    assert url.startswith("http://127.0.0.1:8000/track/?")
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200
    assert b"Trail Runner Shoe" in response.content  # full access: items are shown


@pytest.mark.parametrize(("expires", "seconds"), [("30d", 30 * 86400), ("12h", 12 * 3600), ("45m", 45 * 60)])
def test_expires_sets_the_expiry_inside_the_signed_link(order, expires, seconds):
    output = run(order.order_number, "--expires", expires)
    exp = int(parse_qs(urlsplit(page_url(output)).query)["exp"][0])
    assert abs(exp - (time.time() + seconds)) < 60
    assert "Expires:" in output
    params = {k: v[0] for k, v in parse_qs(urlsplit(page_url(output)).query).items()}
    assert resolve(params).access == Access.FULL


def test_never_expiring_link_has_no_exp(order):
    assert "exp=" not in page_url(run(order.order_number, "--expires", "never"))


@pytest.mark.parametrize("bad", ["30", "2w", "-1d", "0d", "soon"])
def test_bad_duration_is_a_clear_error(order, bad):
    with pytest.raises(CommandError, match="--expires takes a duration"):
        run(order.order_number, f"--expires={bad}")


def test_lang_is_carried_in_the_link(order):
    assert "lang=de" in page_url(run(order.order_number, "--lang", "de"))


def test_unknown_language_is_refused(order):
    with pytest.raises(CommandError, match="--lang must be one of"):
        run(order.order_number, "--lang", "xx")


def test_unknown_order_is_a_clear_error(account):
    with pytest.raises(CommandError, match="No order '9999' in account 'acme'"):
        run("9999")


def test_account_is_required_only_with_several_accounts(order):
    other = make_account(name="Other Shop", slug="other")
    make_order(other, order_number=order.order_number)
    with pytest.raises(CommandError, match="several accounts"):
        run(order.order_number)
    by_slug = page_url(run(order.order_number, "--account", "other"))
    by_id = page_url(run(order.order_number, "--account", str(other.pk)))
    assert f"account={other.pk}&" in by_slug
    assert by_slug == by_id


def test_unknown_account_is_a_clear_error(order):
    with pytest.raises(CommandError, match="No account with id or slug 'nope'"):
        run(order.order_number, "--account", "nope")
