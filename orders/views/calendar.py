"""GET /track/calendar.ics: a shipment's delivery window or pickup deadline as an .ics file.

The link carries the page's own lookup parameters (a signed link, or a tracking number), so the
resolver applies the same access rules as the page.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from orders import branding, calendar, lookup
from orders.lookup import Access, LookupInvalid
from orders.views.pages import SHIPMENT_INDEX, page_language, shopper_page


@shopper_page
@require_GET
def shipment_ics(request):
    result = lookup.resolve(branding.scoped_params(request), request=request)
    index = request.GET.get("shipment", "")
    if not SHIPMENT_INDEX.fullmatch(index) or (result.found and not 1 <= int(index) <= len(result.trackings)):
        raise LookupInvalid({"shipment": [str(_("Unknown shipment."))]})
    if result.access == Access.NONE:
        return HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    tracking = result.trackings[int(index) - 1]
    if not calendar.has_event(tracking):
        return HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    with translation.override(page_language(request, result)):
        body = calendar.shipment_calendar(tracking, shop=result.account.name, full=result.is_full)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="delivery-{index}.ics"'
    response["Referrer-Policy"] = "no-referrer"
    return response
