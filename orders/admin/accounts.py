"""The merchant account admin: branding, webhook secrets, carrier credentials."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.admin.common import (
    HTTPS_URLS,
)
from orders.admin.notifications import NotificationSettingsInline
from orders.carriers import base as carrier_base
from orders.models import (
    Account,
    CarrierCredential,
    StateMessage,
    new_webhook_secret,
)


class CarrierCredentialForm(forms.ModelForm):
    """Secrets are write-only: the form never shows them, and leaving a field empty keeps it."""

    client_secret = forms.CharField(
        label=_("client secret"), required=False, widget=forms.PasswordInput(render_value=False)
    )
    api_key = forms.CharField(
        label=_("API key"), required=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = CarrierCredential
        fields = ("api", "client_id", "client_secret", "api_key", "api_url")

        @staticmethod
        def formfield_callback(field, **kwargs):
            return field.formfield(**HTTPS_URLS.get(type(field), {}), **kwargs)

    def clean(self):
        data = super().clean()
        api = data.get("api")
        keeps = self.instance.pk and self.instance.api == api
        has_secret = data.get("client_secret") or (keeps and self.instance.client_secret_encrypted)
        has_key = data.get("api_key") or (keeps and self.instance.api_key_encrypted)
        if api in ("dhl", "aftership") and not has_key:
            self.add_error("api_key", _("This carrier API needs an API key."))
        if api in ("ups", "fedex", "usps") and not (data.get("client_id") and has_secret):
            self.add_error("client_secret", _("This carrier API needs a client id and a client secret."))
        return data

    def save(self, commit=True):
        credential = super().save(commit=False)
        for name in ("client_secret", "api_key"):
            if self.cleaned_data.get(name):
                setattr(credential, name, self.cleaned_data[name])
        if commit:
            credential.save()
        carrier_base.forget_tokens()  # a token of the old credentials must not be reused
        return credential


class CarrierCredentialInline(admin.TabularInline):
    model = CarrierCredential
    form = CarrierCredentialForm
    extra = 0
    fields = ("api", "client_id", "client_secret", "api_key", "api_url", "stored")
    readonly_fields = ("stored",)
    formfield_overrides = HTTPS_URLS
    verbose_name_plural = _("Own carrier credentials (instead of the deployment's)")

    @admin.display(description=_("stored secrets"))
    def stored(self, credential: CarrierCredential) -> str:
        kept = [
            label
            for label, value in ((_("secret"), credential.client_secret), (_("API key"), credential.api_key))
            if value
        ]
        return ", ".join(str(k) for k in kept) or "—"


class StateMessageInline(admin.TabularInline):
    """The shop's own words for a problem state (e.g. after a return: refund or new delivery)."""

    model = StateMessage
    extra = 0
    fields = ("state", "language", "text")
    verbose_name = _("text for shoppers")
    verbose_name_plural = _("texts for shoppers in problem states")


# --- Accounts -----------------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "brand", "support_email", "default_language", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = HTTPS_URLS
    readonly_fields = ("webhook_secret", "created_at")
    actions = ("rotate_webhook_secret",)
    inlines = (NotificationSettingsInline, CarrierCredentialInline, StateMessageInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "default_language")}),
        (_("Local formats"), {"fields": ("locale", "time_zone", "order_number_prefix")}),
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
