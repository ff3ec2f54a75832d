"""The order admin: search by any identifier, timelines, lifecycle actions, signed links, widget preview."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.utils import formats
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders import lifecycle, orders_service
from orders.admin.changelists import LargeListMixin, boolean_icon
from orders.admin.common import (
    HTTPS_URLS,
    STEP_LABELS,
    SUBSTRING_MIN_LENGTH,
    CarrierFilter,
    DelayedFilter,
    ExceptionFilter,
    OrderAdminForm,
    TrackingForm,
    also_in_open_orders,
    exact_order_matches,
    render_timeline,
    sparse_matches_first,
)
from orders.admin.erasure import erase_personal_data
from orders.admin.notifications import status_emails
from orders.admin.widgets import AdminInlineMixin, choices_read_once
from orders.lifecycle import TransitionError
from orders.models import (
    Checkpoint,
    LineItem,
    Order,
    OrderStatus,
    Tracking,
)
from orders.payloads import _also_in_open_orders as shared_numbers  # the orders API's one query
from orders.widget import embed as widget_embed
from orders.widget import state as widget_state

# --- Orders -------------------------------------------------------------------------------------

ORDER_LIST_FIELDS = (
    "account",
    "order_number",
    "status",
    "recipient_name",
    "recipient_email",
    "order_date",
    "estimated_delivery_date",
)
SHIPMENT_LIST_FIELDS = (
    "order",
    "carrier",
    "is_return",
    "status",
    "step",
    "estimated_delivery_date",
    "estimated_delivery_date_end",
)


class LineItemInline(AdminInlineMixin, admin.TabularInline):
    model = LineItem
    extra = 0
    formfield_overrides = HTTPS_URLS
    fields = ("name", "sku", "quantity", "unit_price", "currency", "image_url", "tracking")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("tracking")
        if field is not None:  # only this order's shipments, not every tracking in the database
            field.queryset = Tracking.objects.filter(order=obj) if obj else Tracking.objects.none()
            choices_read_once(field)
        return formset


class TrackingInline(AdminInlineMixin, admin.TabularInline):
    """Shipments of the order. New rows go through lifecycle.attach_tracking (see save_formset)."""

    model = Tracking
    form = TrackingForm
    extra = 0
    can_delete = False  # removing a shipment is deliberate: the tracking's own page, with confirmation
    show_change_link = True  # checkpoints are edited on the tracking's own page
    fields = (
        "carrier",
        "tracking_number",
        "is_return",
        "announced_delivery_date",
        "status",
        "estimated_delivery_date",
        "last_event_at",
        "shared_number",
    )
    readonly_fields = ("status", "estimated_delivery_date", "last_event_at", "shared_number")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared: dict[int, dict[str, list[str]]] = {}  # (an inline is made per request)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")  # shared_number reads it

    @admin.display(description=_("same number elsewhere"))
    def shared_number(self, tracking: Tracking) -> str:
        """Looked up for all the order's shipments at once, not one query per shipment."""
        order = tracking.order
        if order.pk not in self._shared:
            shipments = list(Tracking.objects.filter(order=order).only("tracking_number"))
            self._shared[order.pk] = shared_numbers(order, shipments)
        return also_in_open_orders(tracking, self._shared[order.pk].get(tracking.tracking_number, []))


@admin.register(Order)
class OrderAdmin(LargeListMixin, admin.ModelAdmin):
    form = OrderAdminForm
    list_display = (
        "order_number",
        "account",
        "status",
        "recipient_name",
        "recipient_email",
        "shipments_summary",
        "progress",
        "delayed",
        "exception",
        "order_date",
    )
    list_select_related = ()  # the few accounts are prefetched (list_rows), not joined to every row
    sortable_by = ("order_number", "order_date")  # indexed; any other column would sort every order
    # The date filter offers fixed ranges (today, past 7 days, this month, this year): each a
    # range on the ordering index, never a drill-down that reads every order's date.
    list_filter = (
        "status",
        CarrierFilter,
        DelayedFilter,
        ExceptionFilter,
        "account",
        ("order_date", admin.DateFieldListFilter),
    )
    # Exact identifiers first (see get_search_results); these two also by substring, through
    # trigram indexes on PostgreSQL (migration 0006).
    search_fields = ("order_number", "recipient_email")
    search_help_text = _(
        "Order number, recipient email, tracking number (spaces and case do not matter), "
        "external order id (UUID) or reference, customer number, postal code or public id. "
        "Exact matches are shown alone; without one, order numbers and emails containing the term."
    )
    # A million orders: a capped count (LargeListMixin), no date drill-down over the whole table.
    inlines = (LineItemInline, TrackingInline)
    actions = (
        "revoke_signed_links",
        "mark_processing",
        "mark_shipped",
        "mark_delivered",
        "mark_cancelled",
        erase_personal_data,
    )

    # Shopper access: both the "Links" fieldset and readonly_fields below are built from this.
    link_fields = ("link_version", "state_version", "signed_links", "widget_preview", "email_snippet")

    readonly_fields = (
        "public_id",
        "created_at",
        "updated_at",
        "erased_at",
        "timeline",
        "status_emails",
        *link_fields,
    )
    fieldsets = (
        (None, {"fields": ("account", "order_number", "status", "language", "notes")}),
        (
            _("Identifiers"),
            {"fields": ("public_id", "external_order_id", "external_reference", "customer_number")},
        ),
        (_("Recipient"), {"fields": ("recipient_name", "recipient_email", "recipient_phone")}),
        (
            _("Address"),
            {"fields": ("street1", "street2", "city", "state", "postal_code", "country")},
        ),
        (
            _("Dates"),
            {"fields": ("order_date", "estimated_delivery_date", "created_at", "updated_at", "erased_at")},
        ),
        (_("Shipment timeline"), {"fields": ("timeline",), "classes": ("wide",)}),
        (_("Status emails"), {"fields": ("status_emails",), "classes": ("wide",)}),
        (
            _("Links"),
            {
                "fields": link_fields,
                "description": _(
                    "Signed links carry the link version: the “Revoke all signed links” action "
                    "bumps it, and every link issued before stops working."
                ),
            },
        ),
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "account" and field is not None:
            choices_read_once(field)
        return field

    def get_queryset(self, request):
        # The timeline, the widget preview and the email snippet read order.trackings.all() and
        # each shipment's estimate history; one prefetch serves them all (the list: list_rows).
        return super().get_queryset(request).prefetch_related("trackings", "trackings__estimate_changes")

    def list_rows(self, queryset):
        """A page's orders with the columns the list shows and its shipment, progress, delayed and
        exception columns read (Order.progress_step, current_eta, is_delayed, is_exception), and
        each account once: nothing else decoded."""
        shipments = Tracking.objects.only(*SHIPMENT_LIST_FIELDS)
        return (
            queryset.only(*ORDER_LIST_FIELDS)
            .prefetch_related(None)
            .prefetch_related("account", Prefetch("trackings", queryset=shipments))
        )

    def get_search_results(self, request, queryset, search_term):
        """Exact matches on the indexed identifiers; only without one, a substring search.

        The exact matches are looked up once, here; the list then reads them by primary key.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = exact_order_matches(queryset, term)
        keys = list(exact.values_list("pk", flat=True)[: self.paginator.cap + 1])
        if len(keys) > self.paginator.cap:
            return exact, False  # a postal code of thousands of orders: let the list page through them
        if keys or len(term) < SUBSTRING_MIN_LENGTH:
            return queryset.filter(pk__in=keys), False
        found, may_have_duplicates = super().get_search_results(request, queryset, term)
        ordering = getattr(request, "admin_list_ordering", None)  # set by LargeChangeList
        return sparse_matches_first(found, queryset, ordering), may_have_duplicates

    # --- list columns

    @admin.display(description=_("shipments"))
    def shipments_summary(self, order: Order) -> str:
        trackings = order._trackings
        if not trackings:
            return "—"
        carriers = dict.fromkeys(t.carrier_info.name for t in trackings)
        returns = sum(t.is_return for t in trackings)
        summary = f"{', '.join(carriers)} ({len(trackings)})"
        if returns:
            summary += " · " + ngettext("%d return", "%d returns", returns) % returns
        return summary

    @admin.display(description=_("progress / ETA"))
    def progress(self, order: Order) -> str:
        step = order.progress_step
        text = f"{step}/5 {STEP_LABELS[step]}"
        eta = order.current_eta
        if eta and order.status not in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
            text += " · " + _("ETA %s") % formats.date_format(eta, "M j")
        return text

    @admin.display(description=_("delayed"))
    def delayed(self, order: Order) -> SafeString:
        return boolean_icon(order.is_delayed)

    @admin.display(description=_("exception"))
    def exception(self, order: Order) -> SafeString:
        return boolean_icon(order.is_exception)

    # --- change page

    @admin.display(description=_("Shipments and checkpoints"))
    def timeline(self, order: Order) -> SafeString | str:
        if order.pk is None:
            return "—"
        trackings = list(order.trackings.all())
        if not trackings:
            return _("No shipments yet.")
        by_tracking: dict[int, list[Checkpoint]] = defaultdict(list)
        for checkpoint in Checkpoint.objects.filter(tracking__order=order).order_by("-occurred_at", "-id"):
            by_tracking[checkpoint.tracking_id].append(checkpoint)
        return format_html_join("\n", "{}", ((render_timeline(t, by_tracking[t.pk]),) for t in trackings))

    @admin.display(description=_("status emails"))
    def status_emails(self, order: Order) -> SafeString | str:
        return status_emails(order)

    @admin.display(description=_("signed links"))
    def signed_links(self, order: Order) -> SafeString | str:
        if order.pk is None:
            return "—"
        exp = widget_embed.link_expiry()
        links = ((_("Status page"), order.status_url(kind="page", exp=exp)),)
        links += ((_("Widget image"), order.status_url(kind="widget", exp=exp)),)
        row = '{}: <a href="{}" target="_blank" rel="noopener noreferrer">{}</a>'
        return format_html_join(SafeString("<br>"), row, ((label, url, url) for label, url in links))

    @admin.display(description=_("widget preview"))
    def widget_preview(self, order: Order) -> SafeString | str:
        if order.pk is None:
            return "—"
        width, height = widget_embed.image_size(order)
        src = order.status_url(kind="widget", absolute=False)
        alt = widget_state.alt_text(order, lang=widget_embed.order_language(order))
        return format_html('<img src="{}" width="{}" height="{}" alt="{}">', src, width, height, alt)

    @admin.display(description=_("email snippet"))
    def email_snippet(self, order: Order) -> SafeString | str:
        if order.pk is None:
            return "—"
        snippet = widget_embed.email_snippet(order, exp=widget_embed.link_expiry())
        help_text = _("Paste into the HTML of the shipping email: every open shows the current status.")
        return format_html(
            '<textarea readonly rows="4" cols="90" class="vLargeTextField">{}</textarea>'
            '<div class="help">{}</div>',
            escape(snippet),  # shown as text to copy, with its &amp; intact
            help_text,
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            orders_service.order_added(obj)  # webhook events may have waited for this order
            return
        details = [name for name in form.changed_data if name != "status"]
        if details:
            lifecycle.update_order_details(obj, details)
        if "status" in form.changed_data:
            try:
                lifecycle.transition_order(obj, form.cleaned_data["status"])
            except TransitionError as error:  # lost a race with another change since validation
                self.message_user(request, str(error), messages.ERROR)

    def save_formset(self, request, form, formset, change):
        if formset.model is Tracking:
            self._save_trackings(formset, form.instance)
            return
        super().save_formset(request, form, formset, change)
        if change and formset.has_changed():
            lifecycle.update_order_details(form.instance)  # items are shown: retire cached answers

    def _save_trackings(self, formset, order: Order) -> None:
        """New shipments are attached, edited ones recomputed, both through the lifecycle."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        changed = [tracking_form for tracking_form in formset.forms if tracking_form.has_changed()]
        if changed:
            lifecycle.lock_for_edit(order)  # the order before the shipments, as lifecycle does
        for tracking_form in changed:
            data = tracking_form.cleaned_data
            if tracking_form.instance.pk is None:
                tracking = orders_service.add_tracking(
                    order=order,
                    tracking_number=data["tracking_number"],
                    carrier=data["carrier"],
                    estimated_delivery_date=data.get("announced_delivery_date"),
                    is_return=data.get("is_return", False),
                )
                formset.new_objects.append(tracking)
            else:
                tracking = tracking_form.save()
                lifecycle.refresh_tracking(tracking)
                formset.changed_objects.append((tracking, tracking_form.changed_data))

    # --- actions

    @admin.action(description=_("Revoke all signed links"))
    def revoke_signed_links(self, request, queryset):
        count = 0
        for order in queryset:
            lifecycle.revoke_links(order)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Revoked the signed links of %d order; links issued before now no longer open it.",
                "Revoked the signed links of %d orders; links issued before now no longer open them.",
                count,
            )
            % count,
            messages.SUCCESS,
        )

    def _transition_selected(self, request, queryset, status: str) -> None:
        moved = 0
        for order in queryset:
            try:
                lifecycle.transition_order(order, status)
            except TransitionError as error:
                self.message_user(request, f"{order.order_number}: {error}", messages.ERROR)
            else:
                moved += 1
        if moved:
            label = OrderStatus(status).label.lower()
            self.message_user(
                request,
                ngettext("%(count)d order is now %(status)s.", "%(count)d orders are now %(status)s.", moved)
                % {"count": moved, "status": label},
                messages.SUCCESS,
            )

    @admin.action(description=_("Mark selected orders as processing"))
    def mark_processing(self, request, queryset):
        self._transition_selected(request, queryset, OrderStatus.PROCESSING)

    @admin.action(description=_("Mark selected orders as shipped"))
    def mark_shipped(self, request, queryset):
        self._transition_selected(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description=_("Mark selected orders as delivered"))
    def mark_delivered(self, request, queryset):
        self._transition_selected(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description=_("Cancel selected orders"))
    def mark_cancelled(self, request, queryset):
        self._transition_selected(request, queryset, OrderStatus.CANCELLED)
