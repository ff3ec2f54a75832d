"""Which shop a shopper page belongs to before any order is found, so that every page — lookup,
limited view, lockout, expired link, errors — carries that shop's name, logo and colour.

In order: the shop the host name maps to (`ACCOUNT_HOSTS`, so merchants can use their own
domains), the shop the URL names (`?account=` id or slug, e.g. in a link from the shop's emails),
the only shop of a single-shop deployment. With several shops and none of these, no shop: pages
stay neutral and never list the shops' names.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from orders.cache import accounts as known_accounts
from orders.lookup import LookupInvalid
from orders.models import Account
from orders.outages import CONNECTION_ERRORS


def host_account(request: HttpRequest) -> Account | None:
    """The shop this host name belongs to, if the deployment maps it."""
    hosts = getattr(settings, "ACCOUNT_HOSTS", {}) or {}
    if not hosts:
        return None
    host = request.get_host().split(":")[0].lower()
    slug = hosts.get(host)
    return known_accounts.with_slug(slug) if slug else None


def named_account(request: HttpRequest) -> Account | None:
    """The shop `?account=` names; raises LookupInvalid for a name we do not know, or for another
    shop than the one this host belongs to (a shop's domain shows that shop's orders only)."""
    value = request.GET.get("account", "") or request.POST.get("account", "")
    host = host_account(request)
    if not value.strip():
        return host
    if "\x00" in value:  # never reaches a query (PostgreSQL refuses NUL in text)
        raise LookupInvalid({"account": [_("Unknown account.")]})
    account = known_accounts.identified_by(value)
    if account is None or (host is not None and account != host):
        raise LookupInvalid({"account": [_("Unknown account.")]})
    return account


def page_account(request: HttpRequest) -> Account | None:
    """The shop to brand a page with (never raises: error pages use it too)."""
    try:
        account = named_account(request)
    except LookupInvalid:
        account = host_account(request)
    return account or known_accounts.the_only_one()


def scoped_params(request: HttpRequest, params=None) -> dict[str, str]:
    """Lookup parameters with the host's shop filled in, so a shop's domain finds its orders only."""
    params = request.GET if params is None else params
    data = {name: params.get(name, "") for name in params}
    host = host_account(request)
    if host is None:
        return data
    named = str(data.get("account", "")).strip()
    if named and known_accounts.identified_by(named) != host:
        raise LookupInvalid({"account": [_("Unknown account.")]})
    data["account"] = str(host.pk)
    return data


def brand_context(request: HttpRequest) -> dict:
    """Template context processor: `account` for pages whose view does not name one (404s)."""
    if request.path.startswith("/admin/"):
        return {}
    return {"account": SimpleLazyObject(lambda: _page_account_if_reachable(request))}


def _page_account_if_reachable(request: HttpRequest):
    """The page's account, or None while the database is away: the 503 page renders unbranded
    instead of failing again (a 500) on its own brand lookup."""
    try:
        return page_account(request)
    except CONNECTION_ERRORS:
        return None
