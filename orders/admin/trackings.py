"""The shipment admin: checkpoints, detection flags, carrier polling state."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.core.cache import cache
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from orders import lifecycle, orders_service
from orders.admin.changelists import LargeListMixin, boolean_icon, change_url
from orders.admin.common import (
    CheckpointForm,
    TrackingForm,
    also_in_open_orders,
    carrier_link,
)
from orders.admin.widgets import AdminInlineMixin
from orders.carriers import detect_carriers, normalize_tracking_number, polling
from orders.models import (
    Checkpoint,
    Order,
    Tracking,
)

# --- Trackings ----------------------------------------------------------------------------------

CARRIER_PANEL_KEY = "admin:carrier-panel"
CARRIER_PANEL_SECONDS = 10


def carrier_panel() -> tuple[datetime, list]:
    """The shipment list's carrier polling panel, with the time it was counted.

    About twenty counting queries: every list page, search and filter would run them, so all
    workers share one count for CARRIER_PANEL_SECONDS (the panel says when it was counted).
    """

    def count() -> tuple[datetime, list]:
        return timezone.now(), polling.api_status()

    return cache.get_or_set(CARRIER_PANEL_KEY, count, CARRIER_PANEL_SECONDS)


class CheckpointInline(AdminInlineMixin, admin.TabularInline):
    model = Checkpoint
    form = CheckpointForm
    extra = 1
    ordering = ("-occurred_at", "-id")
    fields = (
        "occurred_at",
        "status",
        "status_code",
        "message",
        "location",
        "country",
        "estimated_delivery_date",
        "is_hidden",
    )


@admin.register(Tracking)
class TrackingAdmin(LargeListMixin, admin.ModelAdmin):
    """A shipment and its checkpoints; status, step and ETA are derived, never typed in."""

    form = TrackingForm
    list_display = (
        "tracking_number",
        "carrier",
        "check_digit",
        "order_link",
        "status",
        "step",
        "estimated_delivery_date",
        "returned",
        "last_event_at",
        "last_poll_outcome",
    )
    list_select_related = ("order",)
    sortable_by = ("tracking_number",)  # indexed; any other column would sort every shipment
    list_filter = ("carrier", "status", "is_return", "last_poll_outcome")
    actions = ("poll_now",)
    change_list_template = "admin/orders/tracking/change_list.html"
    poll_fields = (
        "polling",
        "last_polled_at",
        "last_poll_outcome",
        "last_poll_error",
        "poll_failures",
        "last_mile_carrier",
        "last_mile_tracking_number",
    )
    search_fields = ("tracking_number", "order__order_number")  # exact, see get_search_results
    search_help_text = _("Tracking number (spaces and case do not matter) or order number.")
    # Newest shipments first, straight from the primary key; no count of the whole table.
    ordering = ("-id",)
    autocomplete_fields = ("order",)
    inlines = (CheckpointInline,)
    derived_fields = ("status", "step", "estimated_delivery_date", "delivered_at", "last_event_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "order",
                    "carrier",
                    "tracking_number",
                    "check_digit",
                    "shared_number",
                    "carrier_page",
                    "is_return",
                )
            },
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    "announced_delivery_date",
                    "estimated_delivery_date_end",
                    *derived_fields,
                ),
                "description": _(
                    "Status, step and estimated delivery follow the checkpoints below; "
                    "edit the checkpoints to correct them."
                ),
            },
        ),
        (_("Carrier polling"), {"fields": poll_fields}),
        (
            _("Pickup location"),
            {
                "fields": (
                    "pickup_location_name",
                    "pickup_location_address",
                    "pickup_opening_hours",
                    "pickup_deadline",
                )
            },
        ),
    )

    def list_rows(self, queryset):
        """A page's shipments with the columns the list shows, and their orders' numbers."""
        return queryset.only(
            "order__order_number",
            "carrier",
            "tracking_number",
            "status",
            "step",
            "estimated_delivery_date",
            "is_return",
            "last_event_at",
            "last_poll_outcome",
        )

    def get_readonly_fields(self, request, obj=None):
        fixed = ("order", "carrier", "tracking_number") if obj else ()
        flags = ("check_digit", "shared_number", "carrier_page")
        return (*fixed, *flags, *self.derived_fields, *self.poll_fields)

    def changelist_view(self, request, extra_context=None):
        checked_at, carrier_apis = carrier_panel()
        extra_context = {**(extra_context or {}), "carrier_apis": carrier_apis, "carrier_apis_at": checked_at}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.display(description=_("polling"))
    def polling(self, tracking: Tracking) -> str:
        return polling.polling_note(tracking) if tracking.pk else "—"

    @admin.action(description=_("Poll the carrier now"))
    def poll_now(self, request, queryset):
        """Ask the carrier at once for the selected open shipments (within the carrier's budget)."""
        trackings = list(queryset.filter(next_poll_at__isnull=False).select_related("order"))
        outcomes = polling.poll_now(trackings)
        cache.delete(CARRIER_PANEL_KEY)  # the panel shows these polls on the next page
        summary = ", ".join(f"{name}: {count}" for name, count in sorted(outcomes.items()))
        summary = summary or _("Nothing to poll (closed, or no carrier API or credentials).")
        self.message_user(
            request,
            _("Polled %(n)d shipment(s). %(summary)s") % {"n": sum(outcomes.values()), "summary": summary},
        )

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, each through its index: the number as stored, or the order number."""
        term = search_term.strip()
        if not term:
            return queryset, False
        of_order = queryset.filter(order__in=Order.objects.filter(order_number=term)).order_by().values("pk")
        number = normalize_tracking_number(term)
        if number:
            of_order = of_order.union(queryset.filter(tracking_number=number).order_by().values("pk"))
        return queryset.filter(pk__in=of_order), False

    @admin.display(description=_("order"))
    def order_link(self, tracking: Tracking) -> SafeString:
        url = change_url(Order, tracking.order_id)
        return format_html('<a href="{}">{}</a>', url, tracking.order.order_number)

    @admin.display(description=_("check digit"))
    def check_digit(self, tracking: Tracking) -> SafeString:
        """No: the number has its carrier's shape but fails the check digit -- most likely a typo.

        Unknown when no format of the shipment's carrier fits (or the carrier is "other").
        """
        mine = [c for c in detect_carriers(tracking.tracking_number) if c.carrier.code == tracking.carrier]
        return boolean_icon(mine[0].check_digit_valid if mine else None)

    @admin.display(description=Tracking._meta.get_field("is_return").verbose_name)
    def returned(self, tracking: Tracking) -> SafeString:
        return boolean_icon(tracking.is_return)

    @admin.display(description=_("same number elsewhere"))
    def shared_number(self, tracking: Tracking) -> str:
        return also_in_open_orders(tracking)

    @admin.display(description=_("carrier page"))
    def carrier_page(self, tracking: Tracking) -> SafeString | str:
        return carrier_link(tracking) if tracking.pk else "—"

    def save_model(self, request, obj, form, change):
        if change:
            lifecycle.lock_for_edit(obj.order)  # the order before the shipment, as lifecycle does
            obj.save()
            return
        stored = orders_service.add_tracking(
            order=obj.order,
            tracking_number=obj.tracking_number,
            carrier=obj.carrier,
            estimated_delivery_date=obj.announced_delivery_date,
            is_return=obj.is_return,
        )
        extra = [
            name
            for name in form.changed_data
            if name not in ("order", "carrier", "tracking_number", "announced_delivery_date", "is_return")
        ]
        for name in extra:
            setattr(stored, name, getattr(obj, name))
        if extra:
            stored.save(update_fields=extra)
        # The admin keeps using `obj` (checkpoint inlines, redirect, log): make it the stored row.
        obj.pk = stored.pk
        obj._state.adding = False
        obj.refresh_from_db()
        if others := stored.also_in_open_orders():
            messages.warning(
                request,
                _("Tracking number %(number)s is also in open order(s) %(orders)s.")
                % {"number": stored.tracking_number, "orders": ", ".join(others)},
            )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change or form.has_changed() or any(formset.has_changed() for formset in formsets):
            lifecycle.refresh_tracking(form.instance)

    # Removing a mistyped shipment must not leave its order stale: its other shipments may now
    # all be delivered, and pages cached under the old state version must refresh.
    def delete_model(self, request, obj):
        lifecycle.detach_tracking(obj)

    def delete_queryset(self, request, queryset):
        for tracking in queryset.select_related("order"):
            lifecycle.detach_tracking(tracking)
