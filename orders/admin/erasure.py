"""The order admin's "Erase personal data" action: asks for confirmation, then erases the selected
orders' personal data everywhere it lives (orders.privacy.erasure)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.privacy import erasure


@admin.action(description=_("Erase personal data of selected orders"), permissions=["change"])
def erase_personal_data(modeladmin, request, queryset):
    if request.POST.get("confirmed") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Erase personal data?"),
            "orders": list(queryset.select_related("account")),
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": modeladmin.media,
        }
        return TemplateResponse(request, "admin/orders/order/erase_personal_data.html", context)
    orders = list(queryset)
    counts = erasure.erase_orders(orders)
    erased = counts.get("orders", 0)
    modeladmin.message_user(
        request,
        ngettext(
            "Erased the personal data of %(count)d order (%(places)s).",
            "Erased the personal data of %(count)d orders (%(places)s).",
            erased,
        )
        % {"count": erased, "places": ", ".join(f"{name}: {n}" for name, n in counts.items())},
        messages.SUCCESS,
    )
    return None
