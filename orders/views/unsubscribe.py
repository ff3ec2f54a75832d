"""Stopping status emails: the RFC 8058 one-click POST and the page a shopper opens from the email.

The signed token in the URL is the authority (it names one order), so the POST needs no CSRF
token: mail providers send `List-Unsubscribe=One-Click` without cookies.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from orders.notifications import emails


def _masked(email: str) -> str:
    name, _at, domain = email.partition("@")
    return f"{name[:1]}{'•' * max(len(name) - 1, 2)}@{domain}"


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    order = emails.order_from_unsubscribe_token(token)
    if order is None:
        return render(request, "orders/unsubscribe_invalid.html", status=400)
    with translation.override(emails.language_of(order)):
        context = {"account": order.account, "order": order, "email": _masked(order.recipient_email)}
        if request.method == "POST":
            scope = request.POST.get("scope", "order")
            if scope not in ("order", "address"):
                return render(request, "orders/unsubscribe_invalid.html", context, status=400)
            emails.unsubscribe(order, whole_address=scope == "address")
            context["done"] = scope
        return render(request, "orders/unsubscribe.html", context)
