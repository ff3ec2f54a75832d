"""Staff back office: look orders up, read their shipments' timelines, correct what the lifecycle allows.

Every state change made here goes through `orders.lifecycle`, the same services the API, webhooks and
commands use, so the admin cannot put an order into a state that no other way in could reach.
The changelist runs a constant number of queries (account joined, trackings prefetched), which
`tests/test_admin.py` pins down.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders import apikeys, lifecycle, orders_service, widget_embed, widget_state
from orders.carriers import CARRIER_CHOICES, detect_carrier, normalize_tracking_number
from orders.lifecycle import TransitionError
from orders.models import (
    ORDER_DETAIL_FIELDS,
    PROGRESS_STEPS,
    Account,
    ApiKey,
    Checkpoint,
    IdempotencyRecord,
    LineItem,
    Order,
    OrderStatus,
    Tracking,
    WebhookEvent,
    new_webhook_secret,
)

admin.site.site_header = _("Order status administration")
admin.site.site_title = _("Order status admin")

STEP_LABELS = dict(PROGRESS_STEPS)
# Bare domains typed into URL fields mean https (Django 6 default; silences its deprecation warning).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


# --- Query helpers ------------------------------------------------------------------------------


def tracking_number_q(search_term: str, path: str) -> Q | None:
    """A tracking number typed with spaces, dashes or in lower case ("1z999aa1 0123456784").

    The admin's own search matches word by word with `icontains`; this adds the exact match on
    the number normalised the way the lifecycle stores it.
    """
    number = normalize_tracking_number(search_term)
    return Q(**{path: number}) if number else None


def external_order_id_q(search_term: str) -> Q | None:
    try:
        return Q(external_order_id=uuid.UUID(search_term.strip()))
    except ValueError:
        return None


# --- Rendering ----------------------------------------------------------------------------------


def _carrier_link(tracking: Tracking) -> SafeString:
    url = tracking.tracking_url
    if not url:
        return format_html("{}", tracking.tracking_number)
    return format_html(
        '<a href="{}" target="_blank" rel="noreferrer noopener">{}</a>', url, tracking.tracking_number
    )


def render_timeline(tracking: Tracking, checkpoints: list[Checkpoint]) -> SafeString:
    """One shipment: carrier, linked number, status, then its checkpoints newest first.

    Everything from the database goes through format_html, so a carrier message such as
    `<script>` is shown as text, never run.
    """
    heading = format_html(
        "<strong>{}</strong> {} · {}{}",
        tracking.carrier_info.name,
        _carrier_link(tracking),
        tracking.get_status_display(),
        format_html(" · <em>{}</em>", _("return shipment")) if tracking.is_return else "",
    )
    if checkpoints:
        rows = format_html_join(
            "\n",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    formats.date_format(timezone.localtime(c.occurred_at), "Y-m-d H:i"),
                    c.get_status_display(),
                    c.message,
                    ", ".join(part for part in (c.location, c.country) if part),
                    _("hidden from shoppers") if c.is_hidden else "",
                )
                for c in checkpoints
            ),
        )
    else:
        rows = format_html('<tr><td colspan="5">{}</td></tr>', _("No carrier events yet."))
    return format_html(
        '<div class="shipment-timeline"><p>{}</p><table><thead><tr>'
        "<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th>"
        "</tr></thead><tbody>{}</tbody></table></div>",
        heading,
        _("Time"),
        _("Status"),
        _("Message"),
        _("Location"),
        rows,
    )


# --- Forms --------------------------------------------------------------------------------------


class OrderAdminForm(forms.ModelForm):
    """Status moves are validated by the lifecycle, so a forbidden move is a form error."""

    class Meta:
        model = Order
        fields = ("account", "order_number", "status", *ORDER_DETAIL_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        status = self.fields.get("status")
        if status is not None and self.instance.pk:
            allowed = lifecycle.allowed_next_statuses(self.instance.status)
            labels = ", ".join(str(OrderStatus(s).label) for s in allowed) or _("none (final)")
            status.help_text = _("Allowed next: %s.") % labels

    def clean_status(self):
        status = self.cleaned_data["status"]
        if self.instance.pk:  # self.instance still holds the stored status at this point
            try:
                lifecycle.check_transition(self.instance.status, status)
            except TransitionError as error:
                raise ValidationError(str(error), code="transition") from error
        return status


class TrackingForm(forms.ModelForm):
    """A new shipment's carrier may be left to detection; an existing one's identity is fixed."""

    class Meta:
        model = Tracking
        fields = (
            "order",
            "carrier",
            "tracking_number",
            "is_return",
            "announced_delivery_date",
            "estimated_delivery_date_end",
            "pickup_location_name",
            "pickup_location_address",
            "pickup_opening_hours",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        carrier = self.fields.get("carrier")
        if self.instance.pk:
            for name in ("carrier", "tracking_number"):
                if name in self.fields:
                    self.fields[name].disabled = True
        elif carrier is not None:
            carrier.required = False
            carrier.choices = [("", _("Detect from the number")), *CARRIER_CHOICES]
            if self.initial.get("carrier") == Tracking._meta.get_field("carrier").default:
                self.initial["carrier"] = ""  # the model default "other"; offer detection instead

    def clean_tracking_number(self):
        number = normalize_tracking_number(self.cleaned_data.get("tracking_number", ""))
        if not number:
            raise ValidationError(_("Enter a tracking number."), code="required")
        return number

    def clean(self):
        cleaned = super().clean()
        number = cleaned.get("tracking_number")
        if number and not cleaned.get("carrier"):
            cleaned["carrier"] = detect_carrier(number).code
        order = cleaned.get("order")
        if (
            self.instance.pk is None
            and order is not None
            and order.status == OrderStatus.CANCELLED
            and not cleaned.get("is_return")
        ):
            raise ValidationError(_("A cancelled order cannot be shipped."), code="cancelled")
        return cleaned


class CheckpointForm(forms.ModelForm):
    class Meta:
        model = Checkpoint
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

    def clean(self):
        cleaned = super().clean()
        # Same default as lifecycle.record_checkpoint, so two events at the same time and place
        # stay distinct under the checkpoint_event_unique constraint.
        if not cleaned.get("status_code") and cleaned.get("status"):
            cleaned["status_code"] = cleaned["status"]
        return cleaned


# --- List filters -------------------------------------------------------------------------------


class CarrierFilter(admin.SimpleListFilter):
    title = _("carrier")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return CARRIER_CHOICES

    def queryset(self, request, queryset):
        if self.value():
            carrier_used = Tracking.objects.filter(order=OuterRef("pk"), carrier=self.value())
            return queryset.filter(Exists(carrier_used))
        return queryset


class YesNoFilter(admin.SimpleListFilter):
    """A yes/no filter over an Order queryset method (`matching`)."""

    matching = ""

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        subset = getattr(Order.objects, self.matching)().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=subset)
        if self.value() == "no":
            return queryset.exclude(pk__in=subset)
        return queryset


class DelayedFilter(YesNoFilter):
    title = _("delayed")
    parameter_name = "delayed"
    matching = "delayed"


class ExceptionFilter(YesNoFilter):
    title = _("exception")
    parameter_name = "exception"
    matching = "with_exception"


# --- Orders -------------------------------------------------------------------------------------


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    formfield_overrides = HTTPS_URLS
    fields = ("name", "sku", "quantity", "unit_price", "currency", "image_url", "tracking")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("tracking")
        if field is not None:  # only this order's shipments, not every tracking in the database
            field.queryset = Tracking.objects.filter(order=obj) if obj else Tracking.objects.none()
        return formset


class TrackingInline(admin.TabularInline):
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
    )
    readonly_fields = ("status", "estimated_delivery_date", "last_event_at")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
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
    list_select_related = ("account",)
    list_filter = ("status", CarrierFilter, DelayedFilter, ExceptionFilter, "account")
    search_fields = (
        "order_number",
        "recipient_email",
        "customer_number",
        "=external_reference",
        "=public_id",
        "trackings__tracking_number",
    )
    search_help_text = _(
        "Order number, recipient email, tracking number (spaces and case do not matter), "
        "external order id (UUID) or reference, customer number or public id."
    )
    date_hierarchy = "order_date"
    inlines = (LineItemInline, TrackingInline)
    actions = (
        "revoke_signed_links",
        "mark_processing",
        "mark_shipped",
        "mark_delivered",
        "mark_cancelled",
    )

    # Shopper access: both the "Links" fieldset and readonly_fields below are built from this.
    link_fields = ("link_version", "state_version", "signed_links", "widget_preview", "email_snippet")

    readonly_fields = ("public_id", "created_at", "updated_at", "timeline", *link_fields)
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
            {"fields": ("order_date", "estimated_delivery_date", "created_at", "updated_at")},
        ),
        (_("Shipment timeline"), {"fields": ("timeline",), "classes": ("wide",)}),
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

    def get_queryset(self, request):
        # The list columns and the timeline read order.trackings.all(); one prefetch serves them all.
        return super().get_queryset(request).prefetch_related("trackings")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        for exact in (
            tracking_number_q(search_term, "trackings__tracking_number"),
            external_order_id_q(search_term),
        ):
            if exact is not None:
                results |= queryset.filter(exact)
                may_have_duplicates = True  # one row per order even with several matching trackings
        return results, may_have_duplicates

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

    @admin.display(description=_("delayed"), boolean=True)
    def delayed(self, order: Order) -> bool:
        return order.is_delayed

    @admin.display(description=_("exception"), boolean=True)
    def exception(self, order: Order) -> bool:
        return order.is_exception

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
        for tracking_form in formset.forms:
            if not tracking_form.has_changed():
                continue
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


# --- Trackings ----------------------------------------------------------------------------------


class CheckpointInline(admin.TabularInline):
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
class TrackingAdmin(admin.ModelAdmin):
    """A shipment and its checkpoints; status, step and ETA are derived, never typed in."""

    form = TrackingForm
    list_display = (
        "tracking_number",
        "carrier",
        "order_link",
        "status",
        "step",
        "estimated_delivery_date",
        "is_return",
        "last_event_at",
    )
    list_select_related = ("order",)
    list_filter = ("carrier", "status", "is_return")
    search_fields = ("tracking_number", "order__order_number")
    search_help_text = _("Tracking number (spaces and case do not matter) or order number.")
    autocomplete_fields = ("order",)
    inlines = (CheckpointInline,)
    derived_fields = ("status", "step", "estimated_delivery_date", "delivered_at", "last_event_at")
    fieldsets = (
        (None, {"fields": ("order", "carrier", "tracking_number", "carrier_page", "is_return")}),
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
        (
            _("Pickup location"),
            {"fields": ("pickup_location_name", "pickup_location_address", "pickup_opening_hours")},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        fixed = ("order", "carrier", "tracking_number") if obj else ()
        return (*fixed, "carrier_page", *self.derived_fields)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        exact = tracking_number_q(search_term, "tracking_number")
        if exact is not None:
            results |= queryset.filter(exact)
        return results, may_have_duplicates

    @admin.display(description=_("order"), ordering="order__order_number")
    def order_link(self, tracking: Tracking) -> SafeString:
        url = reverse("admin:orders_order_change", args=[tracking.order_id])
        return format_html('<a href="{}">{}</a>', url, tracking.order.order_number)

    @admin.display(description=_("carrier page"))
    def carrier_page(self, tracking: Tracking) -> SafeString | str:
        return _carrier_link(tracking) if tracking.pk else "—"

    def save_model(self, request, obj, form, change):
        if change:
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


# --- Accounts -----------------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "brand", "support_email", "default_language", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = HTTPS_URLS
    readonly_fields = ("webhook_secret", "created_at")
    actions = ("rotate_webhook_secret",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "default_language")}),
        (_("Branding"), {"fields": ("brand_color", "logo")}),
        (_("Support contacts"), {"fields": ("support_email", "support_url")}),
        (
            _("Webhooks"),
            {
                "fields": ("webhook_secret", "created_at"),
                "description": _("Use the “Rotate webhook secret” action to issue a new secret."),
            },
        ),
    )

    @admin.display(description=_("brand colour"), ordering="brand_color")
    def brand(self, account: Account) -> SafeString:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;vertical-align:middle;'
            'border:1px solid #999;background:{}"></span> {}',
            account.brand_color,
            account.brand_color,
        )

    @admin.action(description=_("Rotate webhook secret"))
    def rotate_webhook_secret(self, request, queryset):
        count = 0
        for account in queryset:
            account.webhook_secret = new_webhook_secret()
            account.save(update_fields=["webhook_secret"])
            count += 1
        self.message_user(
            request,
            ngettext(
                "Rotated the webhook secret of %d account; update the sender's configuration.",
                "Rotated the webhook secrets of %d accounts; update the senders' configuration.",
                count,
            )
            % count,
            messages.SUCCESS,
        )


# --- API keys, webhook events, idempotency records --------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are minted by `manage.py create_api_key`, which shows the secret once; never here."""

    list_display = ("name", "account", "prefix", "created_at", "last_used_at", "revoked_at", "active")
    list_filter = ("account", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("account",)
    search_fields = ("name", "prefix")
    fields = ("account", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("account", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("active"), boolean=True)
    def active(self, key: ApiKey) -> bool:
        return key.is_active

    @admin.action(description=_("Revoke selected API keys"))
    def revoke(self, request, queryset):
        active = list(queryset.filter(revoked_at__isnull=True))
        for key in active:
            apikeys.revoke(key)
        count = len(active)
        self.message_user(
            request, ngettext("Revoked %d API key.", "Revoked %d API keys.", count) % count, messages.SUCCESS
        )


def _pretty_json(value) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the API and webhook code: staff read them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "account",
        "source",
        "event_type",
        "event_id",
        "order_ref",
        "outcome",
        "processed_at",
    )
    list_filter = ("source", "outcome", "event_type", "account")
    list_select_related = ("account",)
    search_fields = ("event_id", "order_ref")
    search_help_text = _("Event id or order reference.")
    date_hierarchy = "received_at"
    fields = (
        "account",
        "source",
        "event_type",
        "event_id",
        "order_ref",
        "outcome",
        "message",
        "occurred_at",
        "received_at",
        "processed_at",
        "payload_pretty",
    )
    readonly_fields = fields

    @admin.display(description=_("payload"))
    def payload_pretty(self, event: WebhookEvent) -> SafeString:
        return _pretty_json(event.payload)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("key", "account", "response_status", "order", "created_at")
    list_filter = ("account",)
    list_select_related = ("account", "order")
    search_fields = ("key",)
    fields = ("account", "key", "request_hash", "response_status", "order", "created_at", "response_pretty")
    readonly_fields = fields

    @admin.display(description=_("response body"))
    def response_pretty(self, record: IdempotencyRecord) -> SafeString:
        return _pretty_json(record.response_body)
