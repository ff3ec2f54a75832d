"""The admin sign-in, limited per client IP and per user name (`ADMIN_LOGIN_FAILURE_RATE`).

Failed sign-ins count against both; past the limit every attempt from that IP or for that user
name is refused with a lockout message and a 429, the right password included, until the window
ends. Unknown user names count exactly like known ones, so the lockout says nothing about which
accounts exist. The counters are the shopper lookup's (orders.ratelimits).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from orders import ratelimits

SCOPE = "admin-login-failure"


def _keys(request, username: str) -> list[str]:
    return [f"ip:{ratelimits.client_ip(request)}", f"user:{(username or '').strip().lower()}"]


class RateLimitedAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        username = self.data.get("username", "")
        rate = settings.ADMIN_LOGIN_FAILURE_RATE
        locked = ratelimits.exceeded(SCOPE, _keys(self.request, username), rate)
        if locked is not None:
            self.request.admin_login_retry_after = locked.retry_after
            minutes = math.ceil(locked.retry_after / 60)
            raise ValidationError(
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
                    "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="locked",
            )
        try:
            return super().clean()
        except ValidationError:
            ratelimits.hit(SCOPE, _keys(self.request, username), rate)
            raise


def install(site: admin.AdminSite) -> None:
    """Use the limited form on `site`; a locked-out attempt answers 429 with `Retry-After`."""
    site.login_form = RateLimitedAuthenticationForm
    login = site.login

    def limited_login(request, extra_context=None):
        response = login(request, extra_context)
        retry_after = getattr(request, "admin_login_retry_after", None)
        if retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    site.login = limited_login
