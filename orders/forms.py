"""The shopper's lookup forms: order number + email or postal code, tracking number, email only.

Forms only check the shape of what was typed and turn it into resolver parameters; whether an
order matches is the resolver's business (orders.lookup), so the page and the APIs agree.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from orders.cache import accounts as known_accounts
from orders.carriers import normalize_tracking_number
from orders.models import Account

# The lookup form's three ways to find an order, with their tab labels.
MODE_LABELS = (("order", _("Order number")), ("tracking", _("Tracking number")), ("email", _("Email only")))
MODES = tuple(mode for mode, _label in MODE_LABELS)


def factor_params(value: str) -> dict[str, str]:
    """One box takes either second factor: anything with an @ is an email address."""
    return {"recipient_email" if "@" in value else "recipient_postal_code": value}


class _LookupForm(forms.Form):
    mode = ""
    needs_account = True  # order numbers are unique per shop only

    def __init__(self, *args, account: Account | None = None, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.account = account
        if account is None and self.needs_account and known_accounts.several():
            # Typed, never chosen from a list: the form must not list the shops it serves.
            self.fields["shop"] = forms.CharField(
                label=_("Shop"),
                max_length=200,
                help_text=_("The name of the shop you ordered from."),
            )

    def chosen_account(self) -> Account | None:
        return self.named_shop() or self.account

    def named_shop(self) -> Account | None:
        name = " ".join(self.cleaned_data.get("shop", "").split())
        if not name:
            return None
        return (
            Account.objects.filter(name__iexact=name).order_by("pk").first()
            or Account.objects.filter(slug__iexact=name).first()
        )

    def unknown_shop(self) -> bool:
        """The shopper typed a shop name that matches none (answered like an unknown order)."""
        return bool(self.cleaned_data.get("shop", "").strip()) and self.named_shop() is None

    def account_params(self) -> dict[str, str]:
        account = self.chosen_account()
        return {"account": str(account.pk)} if account else {}


class OrderLookupForm(_LookupForm):
    mode = "order"
    order_number = forms.CharField(label=_("Order number"), max_length=100)
    verification = forms.CharField(
        label=_("Email address or postal code"),
        max_length=254,
        help_text=_("The email address or the delivery postal code of the order."),
    )

    def clean_order_number(self) -> str:
        return self.cleaned_data["order_number"].strip()

    def clean_verification(self) -> str:
        value = self.cleaned_data["verification"].strip()
        if "@" in value:
            forms.EmailField().clean(value)  # raises "Enter a valid email address."
        elif not value.replace(" ", "").replace("-", "").isalnum():
            raise ValidationError(_("Enter an email address or a postal code."), code="invalid")
        return value

    def lookup_params(self) -> dict[str, str]:
        return {
            **self.account_params(),
            "order_number": self.cleaned_data["order_number"],
            **factor_params(self.cleaned_data["verification"]),
        }


class TrackingLookupForm(_LookupForm):
    mode = "tracking"
    needs_account = False
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)

    def clean_tracking_number(self) -> str:
        value = normalize_tracking_number(self.cleaned_data["tracking_number"])
        if not value.isalnum():
            raise ValidationError(_("Enter a tracking number of letters and digits only."), code="invalid")
        return value

    def lookup_params(self) -> dict[str, str]:
        return {**self.account_params(), "tracking_number": self.cleaned_data["tracking_number"]}


class EmailLinksForm(_LookupForm):
    mode = "email"
    needs_account = False
    email = forms.EmailField(label=_("Email address"), max_length=254)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()


FORMS: dict[str, type[_LookupForm]] = {
    "order": OrderLookupForm,
    "tracking": TrackingLookupForm,
    "email": EmailLinksForm,
}


def lookup_form(mode: str, *, data=None, account: Account | None = None, initial=None) -> _LookupForm:
    """The form for `mode` (unknown modes fall back to the order-number form)."""
    form_class = FORMS.get(mode, OrderLookupForm)
    return form_class(data=data, account=account, initial=initial)


class VerifyForm(forms.Form):
    """The second factor for a lookup the page could not open: the identifier rides along hidden.

    It is posted, never sent as a query string, so an email address or postal code does not end
    up in URLs, browser history or access logs.
    """

    HIDDEN = (
        "account",
        "order_number",
        "external_order_id",
        "customer_number",
        "tracking_number",
        "courier",
        "lang",
    )

    account = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    order_number = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    external_order_id = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    customer_number = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    tracking_number = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    courier = forms.CharField(required=False, max_length=30, widget=forms.HiddenInput)
    lang = forms.CharField(required=False, max_length=35, widget=forms.HiddenInput)
    verification = OrderLookupForm.base_fields["verification"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)

    clean_verification = OrderLookupForm.clean_verification

    @property
    def hidden_errors(self) -> bool:
        """The link's own part is damaged (cut short): nothing the shopper typed is wrong."""
        return self.is_bound and any(self.errors.get(name) for name in self.HIDDEN)

    def hidden_params(self) -> dict[str, str]:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else self.data
        return {name: source.get(name) or "" for name in self.HIDDEN if source.get(name)}

    def lookup_params(self) -> dict[str, str]:
        return {**self.hidden_params(), **factor_params(self.cleaned_data["verification"])}
