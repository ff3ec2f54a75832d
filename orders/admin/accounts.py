"""The merchant account admin: branding, webhook secrets, carrier credentials."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.admin.common import (
    HTTPS_URLS,
)
from orders.models import (
    Account,
    new_webhook_secret,
)

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
