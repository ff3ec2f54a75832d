"""API keys, and the read-only records: webhook events and idempotency records."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders import apikeys
from orders.admin.common import ReadOnlyAdmin
from orders.models import (
    ApiKey,
    IdempotencyRecord,
    WebhookEvent,
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
        "message",
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
