"""Notifications in the admin: each account's email switches, the status emails sent per order
(with resend and a preview of every template in every language), merchant webhook endpoints
(secret shown once, rotation with overlap) and their delivery log (with resend)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.admin.common import HTTPS_URLS, ReadOnlyAdmin
from orders.models import Order
from orders.notifications import emails, merchant_webhooks
from orders.notifications.events import EMAIL_EVENT_CHOICES, EMAIL_EVENTS, WEBHOOK_EVENT_CHOICES
from orders.notifications.models import (
    EmailNotification,
    NotificationSettings,
    WebhookDelivery,
    WebhookEndpoint,
)


class NotificationSettingsInline(admin.StackedInline):
    model = NotificationSettings
    can_delete = False
    verbose_name_plural = _("Status emails to shoppers (all on unless switched off)")
    fields = (
        "emails_enabled",
        ("shipped", "out_for_delivery", "ready_for_pickup", "delivered"),
        ("failed_attempt", "exception", "delayed", "return_received"),
    )


STATUS_EMAILS_SHOWN = 10


def status_emails(order: Order) -> SafeString | str:
    """An order's latest status emails for its page: event, time, to, outcome, attempts, sent,
    last error; the rest in the status email list (filtered to the order), where they can be
    sent again. A plain table, not a read-only inline: an inline builds a formset, its empty
    form and every cell's widget, at about a tenth of the page's time with no email at all."""
    if order.pk is None:
        return "—"
    latest = list(EmailNotification.objects.filter(order=order)[: STATUS_EMAILS_SHOWN + 1])
    if not latest:
        return _("No status emails yet.")
    rows = format_html_join(
        "\n",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                formats.localize(timezone.template_localtime(n.created_at)),
                n.get_event_display(),
                n.to,
                n.get_status_display(),
                n.attempts,
                formats.localize(timezone.template_localtime(n.sent_at)) if n.sent_at else "—",
                n.last_error or "—",
            )
            for n in latest[:STATUS_EMAILS_SHOWN]
        ),
    )
    url = reverse("admin:orders_emailnotification_changelist") + f"?order__id__exact={order.pk}"
    if len(latest) > STATUS_EMAILS_SHOWN:
        link = _("All status emails of this order (to send one again)")
    else:
        link = _("In the status email list (to send one again)")
    fields = EmailNotification._meta
    headings = ("created_at", "event", "to", "status", "attempts", "sent_at", "last_error")
    return format_html(
        '<table class="status-emails"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
        '<p><a href="{}">{}</a></p>',
        format_html_join(
            "", "<th>{}</th>", ((capfirst(fields.get_field(name).verbose_name),) for name in headings)
        ),
        rows,
        url,
        link,
    )


@admin.register(EmailNotification)
class EmailNotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order", "event", "to", "language", "status", "attempts", "sent_at")
    list_filter = ("status", "event", "language")
    search_fields = ("order__order_number", "to")
    list_select_related = ("order",)
    readonly_fields = (
        "order", "to", "language", "event", "subject", "status", "attempts", "next_attempt_at",
        "last_error", "created_at", "sent_at",
    )  # fmt: skip
    actions = ("resend",)
    date_hierarchy = "created_at"

    @admin.action(description=_("Send again"))
    def resend(self, request, queryset):
        outcomes = [emails.deliver(emails.resend(n).pk) for n in queryset.select_related("order__account")]
        sent = outcomes.count("sent")
        self.message_user(
            request,
            ngettext(
                "Sent %(sent)d of %(total)d email again.",
                "Sent %(sent)d of %(total)d emails again.",
                len(outcomes),
            )
            % {"sent": sent, "total": len(outcomes)},
            messages.SUCCESS if sent == len(outcomes) else messages.WARNING,
        )

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview)
        return [path("preview/", preview, name="orders_emailnotification_preview"), *super().get_urls()]

    def preview(self, request):
        """Every template in every language, rendered for a real order (the newest, or ?order=)."""
        order = Order.objects.select_related("account").filter(pk=request.GET.get("order") or None).first()
        order = order or Order.objects.select_related("account").order_by("-id").first()
        if order is None:
            raise Http404("No order to preview with.")
        event, lang = request.GET.get("event"), request.GET.get("lang")
        if event or lang:
            if event not in EMAIL_EVENTS or lang not in dict(settings.LANGUAGES):
                return HttpResponse("Unknown event or language.", status=400, content_type="text/plain")
            rendered = emails.render_event(order, event, lang=lang)
            if request.GET.get("part") == "text":
                return HttpResponse(rendered.text, content_type="text/plain; charset=utf-8")
            return HttpResponse(rendered.html)
        rows = [
            (
                label,
                [(name, f"?order={order.pk}&event={code}&lang={lang}") for lang, name in settings.LANGUAGES],
            )
            for code, label in EMAIL_EVENT_CHOICES
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview status emails"),
            "order": order,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/orders/emailnotification/preview.html", context)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("event types"), choices=WEBHOOK_EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("account", "url", "description", "events", "alert_email", "is_active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    formfield_overrides = HTTPS_URLS
    list_display = ("url", "account", "is_active", "failing_since", "disabled_at", "delivery_log")
    list_filter = ("is_active", "account")
    readonly_fields = ("failing_since", "disabled_at", "disabled_reason", "created_at", "secret_overlap")
    actions = ("rotate_secret", "enable")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:  # the only time the secret is shown
            self.message_user(
                request,
                format_html(
                    "{} <code>{}</code>",
                    _("Signing secret (shown once; copy it to the receiver now):"),
                    obj.secret,
                ),
                messages.WARNING,
            )

    @admin.display(description=_("previous secret"))
    def secret_overlap(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.previous_secret_expires_at:
            return _("Also signs with the previous secret until %(when)s.") % {
                "when": endpoint.previous_secret_expires_at
            }
        return "—"

    @admin.display(description=_("deliveries"))
    def delivery_log(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:orders_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("log"))

    @admin.action(description=_("Rotate signing secret (the old one keeps signing for the overlap)"))
    def rotate_secret(self, request, queryset):
        rotated = [(endpoint.url, merchant_webhooks.rotate_secret(endpoint)) for endpoint in queryset]
        self.message_user(
            request,
            format_html(
                "{} {}",
                _("New signing secrets (shown once):"),
                format_html_join(", ", "{}: <code>{}</code>", rotated),
            ),
            messages.WARNING,
        )

    @admin.action(description=_("Enable again"))
    def enable(self, request, queryset):
        for endpoint in queryset:
            merchant_webhooks.enable(endpoint)
        self.message_user(request, _("Enabled."), messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "endpoint", "event_type", "order", "status", "attempts", "response_status",
        "duration_ms", "last_attempt_at",
    )  # fmt: skip
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("message_id", "order__order_number")
    list_select_related = ("endpoint", "order")
    readonly_fields = (
        "endpoint", "order", "message_id", "event_type", "payload", "status", "attempts", "first_attempt_at",
        "last_attempt_at", "next_attempt_at", "response_status", "response_body", "duration_ms", "last_error",
        "created_at",
    )  # fmt: skip
    actions = ("resend",)
    date_hierarchy = "created_at"

    @admin.action(description=_("Resend now"))
    def resend(self, request, queryset):
        outcomes = [merchant_webhooks.resend(delivery) for delivery in queryset]
        sent = outcomes.count("sent")
        self.message_user(
            request,
            _("Resent %(total)d: %(sent)d delivered.") % {"total": len(outcomes), "sent": sent},
            messages.SUCCESS if sent == len(outcomes) else messages.WARNING,
        )
