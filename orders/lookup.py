"""The one lookup resolver behind the status page, the JSON info API and the PNG widget.

Parameters follow parcelLab's v4 order status API. Exactly one primary identifier is given:
order number (+ optional `client_key`), external order id, external reference, customer number,
tracking number (+ optional courier), or a tracking's public id (`tracking_id`); with none of
these, `recipient_email` itself is the identifier. The result says how much the caller may see:

- FULL: a valid signed link, a matching second factor (email, or postal code), staff, or an API
  key of the order's account.
- LIMITED: a tracking lookup without a factor: shipment progress only, nothing personal.
- NONE: any other lookup without a valid factor, and an email lookup without an API key. The
  result carries no order at all, so callers cannot answer differently for "unknown order" and
  "wrong email".

A tracking number names the shipments created in the last TRACKING_LOOKUP_DAYS days (carriers
recycle numbers). Within one account it resolves to the newest order holding it, unless a given
factor matches another holder; held in several accounts and no `account` given, it opens nothing
(only a link we signed for one of them does).

Failed verifications are counted per client IP and per looked-up identity; past the limit the
resolver raises RateLimited for everything but a valid signed link (which cannot be guessed).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext_lazy as _

from orders import ratelimits, timeline
from orders.cache import accounts as known_accounts
from orders.carriers import CARRIERS, normalize_tracking_number, polling
from orders.compiled_queries import CompiledQuery
from orders.models import Account, Checkpoint, Order, OrderStatus, Tracking
from orders.privacy.scrub import scrubbed
from orders.signing import PURPOSE_WIDGET, LinkState, SignedSubject, verify

PRIMARY_IDENTIFIERS = (
    "order_number",
    "external_order_id",
    "external_reference",
    "customer_number",
    "tracking_number",
    "tracking_id",
)
TRACKING_IDENTIFIERS = ("tracking_number", "tracking_id")
MAX_HOLDERS = 20  # trackings of one number looked at; more would be a data problem, not a lookup
TRACKING_ID = re.compile(r"trk_[0-9a-f]{20}")
BOOLEAN_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


class Access(enum.StrEnum):
    FULL = "full"
    LIMITED = "limited"
    NONE = "none"


def supported_language(raw: str | None, default: str = "") -> str:
    """One of our languages for `raw` ("de-AT" → "de", "pt" → `default`)."""
    raw = (raw or "")[:35].replace("_", "-")
    try:
        return get_supported_language_variant(raw) if raw else default
    except LookupError:
        return default


def normalize_order_number(value: str) -> str:
    """What shoppers type around an order number: spaces and a leading "#" ("# NW-1004 ")."""
    return (value or "").strip().lstrip("#").strip()


def order_number_candidates(account: Account | None, number: str) -> list[str]:
    """The number as given and, when the shop declares a prefix the shopper left out, with it
    ("1004" → "NW-1004"). Compared case-insensitively."""
    candidates = [number.lower()]
    prefix = (account.order_number_prefix if account else "").strip().lower()
    if prefix and not number.lower().startswith(prefix):
        candidates.append(prefix + number.lower())
    return candidates


class LookupInvalid(Exception):
    """The parameters themselves are wrong (a 400), with Django-style field errors."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors

    @property
    def first(self) -> tuple[str, str]:
        name, messages = next(iter(self.errors.items()))
        return name, messages[0]


class LookupParams(forms.Form):
    """Validates and normalises the v4 lookup parameters (also the shopper form's hidden fields)."""

    account = forms.CharField(required=False, max_length=100)
    client_key = forms.CharField(required=False, max_length=100)
    order_number = forms.CharField(required=False, max_length=100)
    external_order_id = forms.UUIDField(required=False)
    external_reference = forms.CharField(required=False, max_length=200)
    customer_number = forms.CharField(required=False, max_length=100)
    tracking_number = forms.CharField(required=False, max_length=64)
    tracking_id = forms.CharField(required=False, max_length=40)
    courier = forms.CharField(required=False, max_length=30)
    recipient_email = forms.EmailField(required=False, max_length=254)
    recipient_postal_code = forms.CharField(required=False, max_length=20)
    postal_code = forms.CharField(required=False, max_length=20)  # parcelLab's alias of the above
    s = forms.CharField(required=False, max_length=100)
    exp = forms.IntegerField(required=False, min_value=0, max_value=2**40)
    lang = forms.CharField(required=False, max_length=35)
    single_tracking = forms.CharField(required=False, max_length=5)
    live_refresh = forms.CharField(required=False, max_length=5)

    def clean_order_number(self) -> str:
        return normalize_order_number(self.cleaned_data["order_number"])

    def clean_tracking_number(self) -> str:
        value = self.cleaned_data["tracking_number"]
        normalized = normalize_tracking_number(value)
        if value and not normalized.isalnum():
            raise ValidationError(_("Enter a tracking number of letters and digits only."), code="invalid")
        return normalized

    def clean_tracking_id(self) -> str:
        value = self.cleaned_data["tracking_id"].strip().lower()
        if value and not TRACKING_ID.fullmatch(value):
            raise ValidationError(
                _("Enter a tracking id like trk_ followed by 20 hex digits."), code="invalid"
            )
        return value

    def clean_courier(self) -> str:
        value = self.cleaned_data["courier"].strip().lower()
        if value and value not in CARRIERS:
            raise ValidationError(
                _("Unknown courier. Use one of: %s.") % ", ".join(CARRIERS), code="invalid_choice"
            )
        return value

    def _boolean(self, name: str) -> bool:
        value = self.cleaned_data[name].strip().lower()
        if value not in BOOLEAN_VALUES:
            raise ValidationError(_("Use true or false."), code="invalid")
        return BOOLEAN_VALUES[value]

    def clean_single_tracking(self) -> bool:
        return self._boolean("single_tracking")

    def clean_live_refresh(self) -> bool:
        return self._boolean("live_refresh")

    def clean_lang(self) -> str:
        # Unsupported: parcelLab falls back to the order's language, then English.
        return supported_language(self.cleaned_data["lang"])

    def clean_account(self) -> Account | None:
        value = self.cleaned_data["account"]
        account = known_accounts.identified_by(value)
        if value.strip() and account is None:
            raise ValidationError(_("Unknown account."), code="invalid_choice")
        return account

    def clean_client_key(self) -> Account | None:
        """parcelLab's client (a shop within an account) is one of our accounts, named by slug."""
        value = self.cleaned_data["client_key"].strip()
        if not value:
            return None
        account = known_accounts.with_slug(value)
        if account is None:
            raise ValidationError(_("Unknown client key."), code="invalid_choice")
        return account

    def __init__(self, *args, default_account: Account | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_account = default_account

    def clean(self):
        data = super().clean()
        client = data.get("client_key")
        if client is not None and data.get("account") not in (None, client):
            self.add_error("client_key", ValidationError(_("Names another account."), code="invalid"))
        data["account"] = data.get("account") or client or self.default_account
        data["recipient_postal_code"] = data.get("recipient_postal_code") or data.get("postal_code") or ""
        given = [name for name in PRIMARY_IDENTIFIERS if data.get(name)]
        if not given and data.get("recipient_email"):
            given = ["recipient_email"]  # parcelLab's sixth lookup set: the email is the identifier
        if len(given) != 1:
            raise ValidationError(
                _(
                    "Give exactly one of order_number, external_order_id, external_reference, "
                    "customer_number, tracking_number, tracking_id or recipient_email."
                ),
                code="identifier",
            )
        needs_account = given[0] not in TRACKING_IDENTIFIERS
        if needs_account and not data.get("account") and not self.errors.get("account"):
            data["account"] = known_accounts.the_only_one()
            if data["account"] is None:
                raise ValidationError(_("The account parameter is required."), code="account_required")
        data["identifier"] = given[0]
        return data


class _SharedFields(dict):
    """LookupParams' fields, shared by its instances instead of deep-copied for each (Django's
    default, so an instance may alter its own): this form is only ever validated, never rendered
    or altered, and the copy cost every lookup about a third of its validation."""

    def __deepcopy__(self, memo) -> dict:
        return dict(self)


LookupParams.base_fields = _SharedFields(LookupParams.base_fields)


@dataclass
class LookupResult:
    access: Access
    account: Account | None = None
    order: Order | None = None
    trackings: list[Tracking] = field(default_factory=list)
    matched_tracking: Tracking | None = None
    language: str = ""
    link_state: LinkState | None = None
    verified_by: str = ""
    show_hidden_checkpoints: bool = False
    params: dict = field(default_factory=dict)

    @property
    def is_full(self) -> bool:
        return self.access == Access.FULL

    @property
    def found(self) -> bool:
        return self.order is not None

    @property
    def shareable(self) -> bool:
        """May the answer be cached for anyone sending the same parameters?

        Yes when the URL carries its own proof (a signature; an API key, which callers put in
        the cache key) or needs none (a tracking number alone). Not when an email address or
        postal code opened it: a cached answer would skip the failed-guess lockout and tell a
        guesser which guess was right. Never for staff.
        """
        return self.verified_by in ("signature", "api_key") or self.access == Access.LIMITED

    @property
    def display_language(self) -> str:
        """`lang`, else the order's language (full access only), else the shop's, else the site's.

        For answers that must not vary with the browser (the widget's images, the info API).
        """
        shop = self.account.default_language if self.account else ""
        return self.language or shop or settings.LANGUAGE_CODE

    @property
    def progress_step(self) -> int:
        """The order's step, or the one shipment's when `single_tracking` narrowed the lookup."""
        if self.params.get("single_tracking") and self.matched_tracking is not None:
            return 5 if self.order.status == OrderStatus.DELIVERED else self.matched_tracking.shown_step
        return self.order.progress_step

    def checkpoints(self, tracking: Tracking, *, personal: bool = True) -> list[Checkpoint]:
        """A shipment's timeline, newest first, without hidden events unless staff or API.

        Below full access, or with `personal=False` (the widget: emails get forwarded), the
        carrier's text comes without the names and addresses in it (orders.privacy.scrub).
        """
        events = list(tracking.checkpoints.all())
        if not self.show_hidden_checkpoints:
            events = [c for c in events if not c.is_hidden]
        if personal and self.is_full:
            return events
        return [scrubbed(c) for c in events]


def clean_params(params: Mapping[str, str], *, default_account: Account | None = None) -> dict:
    """Validate lookup parameters or raise LookupInvalid (field errors, for a 400).

    `default_account` stands in for a missing `account` (an API key names its account).
    """
    data = {name: params.get(name, "") for name in LookupParams.base_fields}
    form = LookupParams(data=data, default_account=default_account)
    if not form.is_valid():
        errors = {("identifier" if name == "__all__" else name): msgs for name, msgs in form.errors.items()}
        raise LookupInvalid(errors)
    return form.cleaned_data


def _load_timeline(order: Order, *, items: bool = True) -> None:
    """Shipments, their checkpoints and (`items`) the line items, once access is granted; the
    shop with its problem texts from the process's accounts when it has them."""
    timeline.load(order, items=items)
    shop = known_accounts.kept(order.account_id)
    if shop is not None:
        order.account = shop
    else:
        prefetch_related_objects([order], "account__state_messages")


def _orders_numbered(account_id: int, candidates: tuple[str, ...]) -> QuerySet:
    return (
        Order.objects.alias(number_ci=Lower("order_number"))
        .filter(account_id=account_id, number_ci__in=candidates)
        .order_by("-order_date", "-id")[:5]
    )


# An order by its number in a shop, as given or with the shop's prefix (one or two candidates).
_ORDERS_NUMBERED = {
    count: CompiledQuery(
        Order,
        lambda account_id, *candidates: _orders_numbered(account_id, candidates),
        [0, *(f"candidate {n}" for n in range(count))],
    )
    for count in (1, 2)
}


def _find_by_order_number(account: Account | None, number: str) -> Order | None:
    """Case-insensitive, with or without the shop's prefix, in one query; the exact spelling wins."""
    if account is None:
        return None
    candidates = order_number_candidates(account, number)
    orders = _ORDERS_NUMBERED[len(candidates)](account.pk, *candidates)
    for order in orders:
        order.account = account
    ranked = sorted(
        orders, key=lambda o: (o.order_number != number, candidates.index(o.order_number.lower()))
    )
    return ranked[0] if ranked else None


def _scope(data: dict, api_account: Account | None) -> tuple[Account | None, bool]:
    """The account the lookup is confined to, and False when the caller may see nothing at all
    (an API key asking about another account)."""
    account = data["account"]
    if api_account is not None:
        if account is not None and account != api_account:
            return None, False
        account = api_account
    return account, True


def _tracking_holders(data: dict, account: Account | None) -> list[tuple[Order, Tracking]]:
    """The orders holding the number (or the public id), newest shipment first."""
    if data["identifier"] == "tracking_id":
        trackings = Tracking.objects.filter(public_id=data["tracking_id"])
    else:
        trackings = Tracking.objects.recent().holding(data["tracking_number"], data["courier"])
    if account is not None:
        trackings = trackings.filter(order__account=account)
    # One query, nothing of the timeline: that loads only once access is granted.
    holders = trackings.select_related("order__account").order_by("-created_at", "-id")[:MAX_HOLDERS]
    return [(tracking.order, tracking) for tracking in holders]


Candidate = tuple[Order, Tracking | None]


def _find(data: dict, api_account: Account | None, *, privileged: bool) -> list[Candidate]:
    """Candidates for the lookup, the default one first; several only for a tracking number.

    Candidates from more than one account come back all together; `_choose` decides.
    """
    account, allowed = _scope(data, api_account)
    if not allowed:
        return []
    identifier = data["identifier"]
    if identifier in TRACKING_IDENTIFIERS:
        return _tracking_holders(data, account)
    if identifier == "order_number":  # the signed links' identifier: a query compiled once
        order = _find_by_order_number(account, data["order_number"])
        return [] if order is None else [(order, None)]
    if identifier == "recipient_email" and not privileged:
        return []  # an email alone never opens an order
    orders = Order.objects.select_related("account").filter(account=account)
    if identifier == "recipient_email":
        email = data["recipient_email"].lower()
        orders = orders.alias(email_ci=Lower("recipient_email")).filter(email_ci=email)
    else:
        orders = orders.filter(**{identifier: data[identifier]})
    order = orders.order_by("-order_date", "-id").first()
    return [] if order is None else [(order, None)]


def _choose(
    data: dict, holders: list[Candidate], for_widget: bool, *, factors: bool
) -> tuple[Order | None, Tracking | None]:
    """The holder the caller means: the newest, unless a signed link (or, with `factors`, once the
    guess has been admitted by the rate limit, an email or postal code) names another.

    Holders in several accounts: only a valid signed link picks one; anything else opens nothing,
    so one merchant's shopper never sees another merchant's order.
    """
    if not holders:
        return None, None
    several_accounts = len({order.account_id for order, _t in holders}) > 1
    if len(holders) > 1 and (data["s"] or not several_accounts):
        for order, tracking in holders:
            signed = bool(data["s"]) and (
                _signature_state(data, order, tracking, for_widget) == LinkState.VALID
            )
            if signed or (factors and not several_accounts and _second_factor(data, order)):
                return order, tracking
    return (None, None) if several_accounts else holders[0]


def _identity(data: dict) -> str:
    """The failed-guess key of a lookup: the identifier as given, whether or not an order has it,
    so a lockout says nothing about existence."""
    account = data["account"]
    return f"{account.pk if account else '*'}:{data['identifier']}:{data[data['identifier']]}".lower()


# Stands in for the order when none was found, so a wrong factor costs the same work either way.
_NOBODY = Order(pk=0, account_id=0, order_number="", link_version=1, recipient_email="", postal_code="")
_NOBODY_TRACKING = Tracking(order_id=0, carrier="", tracking_number="")
_NOBODY_TRACKING.order = _NOBODY


def _signature_state(data: dict, order: Order, tracking: Tracking | None, for_widget: bool) -> LinkState:
    subjects = [SignedSubject.for_order(order)]
    if tracking is not None:
        subjects.insert(0, SignedSubject.for_tracking(tracking))
    if for_widget:
        subjects.append(SignedSubject.for_order(order, PURPOSE_WIDGET))
    states = [
        verify(data["s"], subject, link_version=order.link_version, exp=data["exp"]) for subject in subjects
    ]
    return next((state for state in states if state != LinkState.INVALID), LinkState.INVALID)


def _vouched(
    data: dict, order: Order, tracking: Tracking | None, is_staff: bool, api_account, for_widget: bool
) -> tuple[str, LinkState | None]:
    """Who vouches for the caller before any second factor: staff, an API key or a signed link."""
    if is_staff:
        return "staff", None
    if api_account is not None:
        return "api_key", None
    if data["s"]:
        state = _signature_state(data, order, tracking, for_widget)
        return ("signature" if state == LinkState.VALID else ""), state
    return "", None


def _second_factor(data: dict, order: Order) -> str:
    # Both comparisons always run: which factor was given, not which matched, decides the work.
    email = bool(data["recipient_email"]) and order.matches_email(data["recipient_email"])
    postal = bool(data["recipient_postal_code"]) and order.matches_postal_code(data["recipient_postal_code"])
    return "email" if email else "postal_code" if postal else ""


def resolve(
    params: Mapping[str, str],
    *,
    request=None,
    api_account: Account | None = None,
    for_widget: bool = False,
) -> LookupResult:
    """Find the order the parameters name and decide how much of it the caller may see.

    Raises LookupInvalid for malformed parameters and ratelimits.RateLimited when this client or
    this identifier has had too many failed verifications. `for_widget`: the caller draws the PNG
    widget, which widget image links (signed for it alone) open too.

    Known and unknown orders cost the same until access is granted: one query for the order, the
    same signature and factor comparisons (against a stand-in when nothing was found), and the
    same counter operations, keyed by the client and the identifier as given (and the order, in
    the same operation, when there is one): `check` without a factor, one atomic `attempt`
    (admit-and-count) with one. Only then is the timeline loaded.
    """
    data = clean_params(params, default_account=api_account)
    rate = settings.LOOKUP_FAILURE_RATE
    user = getattr(request, "user", None)
    is_staff = bool(user and user.is_active and user.is_staff)
    privileged = is_staff or api_account is not None
    throttle = [f"ip:{ratelimits.client_ip(request)}"] if request else []
    throttle.append(f"id:{_identity(data)}")

    holders = _find(data, api_account, privileged=privileged)
    order, tracking = _choose(data, holders, for_widget, factors=False)
    if order is not None:  # however it was named, guesses at one order add up (in the same operation)
        throttle.append(f"order:{order.pk}")
    subject = order or _NOBODY
    subject_tracking = tracking or (_NOBODY_TRACKING if data["identifier"] in TRACKING_IDENTIFIERS else None)
    verified_by, link_state = _vouched(data, subject, subject_tracking, is_staff, api_account, for_widget)
    if order is None:
        verified_by = ""
        link_state = None if link_state is None else LinkState.INVALID
    guessing = bool(data["recipient_email"] or data["recipient_postal_code"])
    if privileged or verified_by == "signature":
        pass  # nothing to guess: staff, an API key, or a link we signed (which opens past a lockout)
    elif guessing or link_state == LinkState.INVALID:
        admitted = ratelimits.attempt("lookup-failure", throttle, rate)  # raises past the limit
        if guessing and len(holders) > 1:  # admitted: the factor may name an older holder
            order, tracking = _choose(data, holders, for_widget, factors=True)
            subject = order or _NOBODY
        verified_by = _second_factor(data, subject) if guessing else ""
        if order is not None and verified_by:
            admitted.succeeded()
        elif order is None:
            verified_by = ""
    else:
        ratelimits.check("lookup-failure", throttle, rate)

    if verified_by:
        access = Access.FULL
    elif tracking is not None:
        access = Access.LIMITED
    else:
        # Nothing about the order leaves this function: not even whether it exists.
        return LookupResult(
            access=Access.NONE,
            account=data["account"] or api_account,
            language=data["lang"],
            link_state=link_state if link_state in (LinkState.EXPIRED, LinkState.REVOKED) else None,
            params=data,
        )

    _load_timeline(order, items=access == Access.FULL)  # nothing of the items below full access
    if data["live_refresh"] and polling.refresh_live(order):
        order.refresh_from_db()  # what the carriers just told us
        _load_timeline(order, items=access == Access.FULL)
    if tracking is not None:  # the shipment as loaded with its timeline
        tracking = next(t for t in order.trackings.all() if t.pk == tracking.pk)
    trackings = list(order.trackings.all())
    if data["single_tracking"] and tracking is not None:
        trackings = [tracking]
    return LookupResult(
        access=access,
        account=order.account,
        order=order,
        trackings=trackings,
        matched_tracking=tracking,
        language=data["lang"] or (order.language if access == Access.FULL else ""),
        link_state=link_state,
        verified_by=verified_by,
        show_hidden_checkpoints=verified_by in ("staff", "api_key"),
        params=data,
    )
