"""The shopper pages: the lookup form, the status page and its htmx partials.

Every page asks orders.lookup.resolve (the same resolver as the JSON API and the PNG widget), so
the access rules hold for full pages and partials alike. Each page works without JavaScript;
htmx requests (request.htmx) get the partial alone.
"""

from __future__ import annotations

import math
import re
import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from orders import branding, formatting, lookup, outages, ratelimits
from orders.cache import accounts as known_accounts
from orders.forms import MODE_LABELS, EmailLinksForm, VerifyForm, lookup_form
from orders.lookup import Access, LookupInvalid, LookupParams, LookupResult, supported_language
from orders.models import Account
from orders.notifications import links as notifications
from orders.ratelimits import CountersUnavailable, RateLimited
from orders.views.cached_pages import CSRF_PLACEHOLDER, Origin, cached_page, keepable, never_cache
from orders.views.status import FACTORS, lookup_query, status_context

# A page opened with email or postal code is handed a signed link valid this long.
VERIFIED_LINK_SECONDS = 48 * 3600
SHIPMENT_INDEX = re.compile(r"[0-9]{1,3}")
NOT_FOUND = _("We couldn't find an order with those details. Check them and try again.")
TRACKING_NOT_FOUND = _("We couldn't find a shipment with that tracking number.")
# The parameters each page may be kept for (any other parameter: answered afresh, never kept).
# A second factor is never among them: a page it opens is never kept.
TRACK_PARAMS = (*(name for name in LookupParams.base_fields if name not in (*FACTORS, "postal_code")), "all")
STATUS_PARAMS = (*TRACK_PARAMS[:-1], "open")
TIMELINE_PARAMS = (*TRACK_PARAMS[:-1], "shipment")
HOME_PARAMS = ("account", "mode", "lang")


def page_language(request: HttpRequest, result: LookupResult | None = None) -> str:
    """`lang`, then the order's language (full access only), then the browser's Accept-Language."""
    if result is not None and result.language:
        return result.language
    raw = request.GET.get("lang") or request.POST.get("lang")
    return supported_language(raw, default=request.LANGUAGE_CODE)


def respond(
    request,
    template: str,
    context: dict,
    *,
    lang: str,
    status: int = 200,
    partial: str = "",
    keep: Origin | None = None,
):
    """Render `template` (or `partial` for htmx) in `lang`; `keep`: the page may be kept in the
    cache (orders.views.cached_pages) as built from `keep`."""
    order = context.get("order")
    if keep is not None:
        context["csrf_token"] = CSRF_PLACEHOLDER
    with (
        translation.override(lang),
        formatting.localized(context.get("account"), lang, getattr(order, "country", "")),
    ):
        response = render(request, partial if partial and request.htmx else template, context, status=status)
    response["Content-Language"] = lang
    # The language comes from Accept-Language unless `lang` says: vary on it from the start, so a
    # kept copy already names it (LocaleMiddleware adds it to every answer anyway).
    patch_vary_headers(response, ["HX-Request", "Accept-Language"])
    return response if keep is None else keepable(response, request, keep)


def kept_as(result: LookupResult) -> Origin | None:
    """What a page of `result` may be kept as: only when the request alone opens it (a signed
    link, or a tracking number without a signature or factor), never a guess's or staff's."""
    signed = result.verified_by == "signature"
    limited = result.access == Access.LIMITED and not result.verified_by and not result.params.get("s")
    if not (signed or limited) or result.order is None:
        return None
    return Origin(
        order_id=result.order.pk,
        state_version=result.order.state_version,
        exp=result.params.get("exp") if signed else None,
        zone=result.account.time_zone if result.account else "",
    )


def shopper_page(view):
    """Personal data: never cached. Bad parameters get a 400 page, abuse a 429 page."""

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except LookupInvalid:
            # A link cut short (or otherwise damaged) on its way: say so in words, never
            # parameter names, and offer the lookup form instead.
            account = branding.page_account(request)
            form = lookup_form("order", account=account)
            context = _home_context(request, form, account)
            return _error(request, "orders/bad_request.html", context, status=400)
        except CountersUnavailable as exc:  # a guess cannot be counted just now: it waits
            return outages.unavailable_page(request, exc.retry_after, lang=page_language(request))
        except RateLimited as exc:
            context = {"minutes": math.ceil(exc.retry_after / 60)}
            response = _error(request, "orders/rate_limited.html", context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response

    return wrapper


@never_cache
def bad_request(request, errors: dict[str, list[str]]) -> HttpResponse:
    """The "please check the link" page (400) for a request refused before the view (whose
    form body, in a foreign charset, cannot even be read for its `lang`)."""
    lang = supported_language(request.GET.get("lang"), default=request.LANGUAGE_CODE)
    response = respond(
        request,
        "orders/bad_request.html",
        {"errors": errors},
        lang=lang,
        status=400,
        partial="orders/partials/_bad_request.html",
    )
    if request.htmx:
        response["HX-Retarget"], response["HX-Reswap"] = "#main", "innerHTML"
    return response


def _error(request, template: str, context: dict, *, status: int) -> HttpResponse:
    context.setdefault("account", branding.page_account(request))
    partial = template.replace("orders/", "orders/partials/_")
    response = respond(
        request, template, context, lang=page_language(request), status=status, partial=partial
    )
    if request.htmx:  # replace the page's content, whatever element asked
        response["HX-Retarget"], response["HX-Reswap"] = "#main", "innerHTML"
    return response


def requested_account(request) -> Account | None:
    """The shop the page's host or `?account=` (id or slug) names (see orders.branding)."""
    return branding.named_account(request)


def _go(request, url: str) -> HttpResponse:
    """After a POST: 303 See Other (htmx: HX-Redirect, so the whole page changes)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _signed_page_url(result: LookupResult) -> str:
    exp = int(time.time()) + VERIFIED_LINK_SECONDS
    return result.order.status_url(kind="page", exp=exp, absolute=False, lang=result.params.get("lang", ""))


def _home_context(request, form, account: Account | None) -> dict:
    keep = {"account": account.pk if account else "", "lang": request.GET.get("lang", "")}
    query = urlencode({name: value for name, value in keep.items() if value})
    action = reverse("orders:home") + (f"?{query}" if query else "")
    return {
        "form": form,
        "mode": form.mode,
        "modes": MODE_LABELS,
        "account": account or known_accounts.the_only_one(),  # the brand
        "url_account": account,  # carried on in links
        "action": action,
        "lookup_days": settings.EMAIL_LOOKUP_DAYS,
    }


@shopper_page
@require_http_methods(["GET", "HEAD", "POST"])
@cached_page("home", params=HOME_PARAMS)
def home(request):
    account = requested_account(request)
    mode = request.POST.get("mode") or request.GET.get("mode", "order")
    form = lookup_form(mode, data=request.POST if request.method == "POST" else None, account=account)
    lang, status = page_language(request), 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif form.mode == "email":
            return _email_links(request, form, lang=lang)
        else:
            result = _resolve_form(request, form)
            if result is not None and result.access != Access.NONE:
                return _go(request, _after_lookup_url(form, result))
            form.add_error(None, NOT_FOUND if form.mode == "order" else TRACKING_NOT_FOUND)
            status = 404
    context = _home_context(request, form, account)
    return respond(
        request,
        "orders/home.html",
        context,
        lang=lang,
        status=status,
        partial="orders/partials/_lookup_form.html",
        keep=Origin() if request.method != "POST" else None,  # the same for every visitor
    )


def _resolve_form(request, form) -> LookupResult | None:
    """The form's lookup, or None when the shopper named a shop we do not know (answered like an
    unknown order, so the form never confirms which shops exist)."""
    if form.unknown_shop():
        return None
    return lookup.resolve(branding.scoped_params(request, form.lookup_params()), request=request)


def _after_lookup_url(form, result: LookupResult) -> str:
    if result.is_full:
        return _signed_page_url(result)
    return f"{reverse('orders:track')}?{lookup_query(form.lookup_params())}"


def _email_links(request, form: EmailLinksForm, *, lang: str) -> HttpResponse:
    email = form.cleaned_data["email"]
    notifications.throttle(email, ip=ratelimits.client_ip(request))
    with translation.override(lang):
        notifications.request_order_links(
            email, account=form.chosen_account(), lang=supported_language(request.GET.get("lang"))
        )
    context = {"account": form.account}
    return respond(
        request, "orders/links_sent.html", context, lang=lang, partial="orders/partials/_links_sent.html"
    )


@shopper_page
@require_http_methods(["GET", "HEAD", "POST"])
@cached_page("track", params=TRACK_PARAMS)
def track(request):
    """The status page. POST carries the second factor, so it never shows up in a URL."""
    if request.method == "POST":
        return _verify(request)
    result = lookup.resolve(branding.scoped_params(request), request=request)
    lang = page_language(request, result)
    if result.access == Access.NONE:
        return _not_shown(request, result, lang=lang)
    if result.verified_by in ("email", "postal_code"):  # move the factor out of the URL
        return redirect(_signed_page_url(result))
    context = _shown(request, result, lang=lang, expanded=None if request.GET.get("all") == "1" else set())
    context["verify_form"] = None if result.is_full else VerifyForm(initial=request.GET)
    response = respond(request, "orders/track.html", context, lang=lang, keep=kept_as(result))
    if result.verified_by == "signature":  # the URL opens the order: never pass it on
        response["Referrer-Policy"] = "no-referrer"
    return response


def _shown(request, result: LookupResult, *, lang: str, expanded: set[int] | None) -> dict:
    """The status block's context; its partials' URLs carry the lookup on (see lookup_query)."""
    query = lookup_query(request.GET, signed=result.verified_by == "signature")
    return status_context(result, lang=lang, query=query, expanded=expanded)


def _verify(request) -> HttpResponse:
    form = VerifyForm(data=request.POST)
    lang = page_language(request)
    if form.is_valid():
        result = lookup.resolve(branding.scoped_params(request, form.lookup_params()), request=request)
        if result.is_full:
            return _go(request, _signed_page_url(result))
        form.add_error(None, NOT_FOUND)
    context = {"verify_form": form, "account": _account_of(form) or branding.page_account(request)}
    status = 400 if form.errors and not form.non_field_errors() else 404
    return respond(
        request,
        "orders/verify.html",
        context,
        lang=lang,
        status=status,
        partial="orders/partials/_verify_form.html",
    )


def _account_of(form) -> Account | None:
    try:
        return lookup.clean_params(form.hidden_params())["account"]
    except LookupInvalid:
        return None


def _not_shown(request, result: LookupResult, *, lang: str) -> HttpResponse:
    """Expired or revoked links, or no (valid) second factor: never any order data."""
    account = result.account or branding.page_account(request)
    if result.link_state is not None:
        form = lookup_form("email", account=account)
        context = {**_home_context(request, form, account), "link_state": result.link_state}
        return respond(request, "orders/link_expired.html", context, lang=lang, status=410)
    if result.params["identifier"] == "tracking_number":
        form = lookup_form("tracking", account=account, initial=request.GET)
        context = {**_home_context(request, form, account), "form_error": TRACKING_NOT_FOUND}
        return respond(request, "orders/home.html", context, lang=lang, status=404)
    offered = any(result.params.get(name) for name in ("s", "recipient_email", "recipient_postal_code"))
    typed = any(result.params.get(name) for name in ("recipient_email", "recipient_postal_code"))
    context = {"verify_form": VerifyForm(initial=request.GET), "account": account}
    # A link whose signature does not check out (cut short, or from an older link) asks for the
    # email or postal code calmly: the shopper has not typed anything wrong yet.
    context["form_error"] = NOT_FOUND if typed else ""
    return respond(request, "orders/verify.html", context, lang=lang, status=404 if offered else 200)


@shopper_page
@require_GET
@cached_page("status", params=STATUS_PARAMS)
def track_status(request):
    """htmx polling: the status block with fresh checkpoints (expanded timelines stay open)."""
    result = lookup.resolve(branding.scoped_params(request), request=request)
    if result.access == Access.NONE:  # the link was revoked or expired meanwhile: reload the page
        return HttpResponseClientRefresh()
    expanded = {int(n) for n in request.GET.getlist("open") if SHIPMENT_INDEX.fullmatch(n)}
    lang = page_language(request, result)
    context = _shown(request, result, lang=lang, expanded=expanded)
    return respond(request, "orders/partials/_status.html", context, lang=lang, keep=kept_as(result))


@shopper_page
@require_GET
@cached_page("timeline", params=TIMELINE_PARAMS)
def track_timeline(request):
    """htmx "Show all": one shipment's full timeline."""
    result = lookup.resolve(branding.scoped_params(request), request=request)
    index = request.GET.get("shipment", "")
    if result.access == Access.NONE:
        return HttpResponseClientRefresh()
    if not SHIPMENT_INDEX.fullmatch(index) or not 1 <= int(index) <= len(result.trackings):
        raise LookupInvalid({"shipment": [str(_("Unknown shipment."))]})
    lang = page_language(request, result)
    context = _shown(request, result, lang=lang, expanded={int(index)})
    context["shipment"] = context["shipments"][int(index) - 1]
    return respond(request, "orders/partials/_timeline.html", context, lang=lang, keep=kept_as(result))
