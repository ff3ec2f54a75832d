"""Orders, their shipments (trackings) and the carriers' scan events (checkpoints).

Models know their own derived state (progress step, delayed, exception); the rules that *change*
state live in `orders.lifecycle`, so every way in (admin, API, webhook, command) shares them.
"""

from __future__ import annotations

import functools
import re
import secrets
import zoneinfo
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import connections, models, router
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from orders import signing
from orders.carriers import CARRIER_CHOICES, Carrier, credentials, get_carrier
from orders.carriers.registry import API_CHOICES

hex_color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #rrggbb."))
country_validator = RegexValidator(r"^[A-Z]{2}$", _("Enter an ISO 3166-1 alpha-2 country code, e.g. US."))


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_order_public_id() -> str:
    return "ord_" + secrets.token_hex(10)


def new_tracking_public_id() -> str:
    return "trk_" + secrets.token_hex(10)


OPENING_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPENING_TIME = RegexValidator(
    r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z", _("Opening times look like 09:00."), code="opening_time"
)


def validate_opening_hours(value) -> None:
    """A list of {"day": "mon"…"sun", "open": "HH:MM", "close": "HH:MM"}."""
    message = _('Enter a list like [{"day": "mon", "open": "09:00", "close": "18:00"}].')
    if not isinstance(value, list):
        raise ValidationError(message, code="opening_hours")
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"day", "open", "close"}:
            raise ValidationError(message, code="opening_hours")
        if entry["day"] not in OPENING_DAYS or not all(isinstance(entry[k], str) for k in ("open", "close")):
            raise ValidationError(message, code="opening_hours")
        OPENING_TIME(entry["open"])
        OPENING_TIME(entry["close"])


def normalize_postal_code(value: str) -> str:
    """Postal codes compare ignoring case and spaces ("sw1a 1aa" == "SW1A1AA")."""
    return "".join((value or "").split()).upper()


def postal_codes_match(stored: str, given: str, *, country: str = "") -> bool:
    """Equal ignoring case, spaces and hyphens; a US ZIP+4 also matches its ZIP5 (either way round)."""
    a = normalize_postal_code(stored).replace("-", "")
    b = normalize_postal_code(given).replace("-", "")
    if not a or not b:
        return False
    if a == b:
        return True
    us_zip = country in ("US", "") and a.isdigit() and b.isdigit() and {len(a), len(b)} == {5, 9}
    return us_zip and a[:5] == b[:5]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("Enter a time zone such as America/New_York or Europe/Berlin."), code="time_zone"
        )


# Locales an account may format dates, times and prices in (Babel identifiers with a hyphen).
ACCOUNT_LOCALES = (
    ("en-US", "English (United States)"),
    ("en-GB", "English (United Kingdom)"),
    ("de-DE", "Deutsch (Deutschland)"),
    ("de-AT", "Deutsch (Österreich)"),
    ("de-CH", "Deutsch (Schweiz)"),
    ("fr-FR", "Français (France)"),
    ("es-ES", "Español (España)"),
)


ACCOUNT_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "²".isdigit() is True, int("²") fails


class InsertOnceQuerySet(models.QuerySet):
    """`insert_once`: one INSERT that a unique constraint may turn into nothing."""

    def insert_once(self, instance: models.Model, *, constraint: str) -> bool:
        """`INSERT … ON CONFLICT (the constraint's columns) DO NOTHING RETURNING id`.

        True (and `instance.pk` set) when the row is new, False when the constraint already holds
        one. The database decides, as with a plain INSERT (a concurrent copy waits for the first
        to commit), but a duplicate costs no error, so no savepoint is needed around it.
        """
        connection = connections[router.db_for_write(self.model)]
        fields, sql = insert_once_statement(self.model, constraint, connection.alias)
        values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
        if row is None:
            return False
        instance.pk = row[0]
        instance._state.adding, instance._state.db = False, connection.alias
        return True


@functools.cache
def insert_once_statement(
    model,
    constraint: str,
    alias: str,
    *,
    columns: tuple[str, ...] | None = None,
    condition: str | None = None,
) -> tuple[list, str]:
    """The fields and the statement of `insert_once`, built once per process: every concrete
    field but the primary key, or the fields named in `columns`. With `condition`, an SQL
    condition whose parameters follow the values, the row is inserted only where it holds."""
    meta, connection = model._meta, connections[alias]
    quote = connection.ops.quote_name
    unique = next(c for c in meta.constraints if c.name == constraint)
    if columns is None:
        fields = [field for field in meta.concrete_fields if not field.primary_key]
    else:
        fields = [meta.get_field(name) for name in columns]
    if condition is None:
        rows = f"VALUES ({', '.join(['%s'] * len(fields))})"
    else:  # a SELECT's values have no column to take their type from: PostgreSQL needs casts
        typed = connection.vendor == "postgresql"
        rows = ", ".join(f"CAST(%s AS {field.db_type(connection)})" if typed else "%s" for field in fields)
        rows = f"SELECT {rows} WHERE {condition}"
    target = ", ".join(quote(meta.get_field(name).column) for name in unique.fields)
    columns_sql = ", ".join(quote(field.column) for field in fields)
    sql = (  # names from the model's own metadata, values as parameters
        f"INSERT INTO {quote(meta.db_table)} ({columns_sql}) {rows} "
        f"ON CONFLICT ({target}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return fields, sql


class AccountQuerySet(models.QuerySet):
    def identified_by(self, value: str | None) -> Account | None:
        """The account named by its id ("3") or its slug ("northwind"), or None."""
        value = (value or "").strip()
        if not value:
            return None
        lookup = {"pk": int(value)} if ACCOUNT_ID.fullmatch(value) else {"slug": value[:100]}
        return self.filter(**lookup).first()

    def the_only_one(self) -> Account | None:
        """The account of a single-account deployment (which never needs it named), else None."""
        accounts = list(self.order_by("pk")[:2])
        return accounts[0] if len(accounts) == 1 else None


class Account(models.Model):
    """A merchant or brand. A deployment with a single account never needs it in URLs."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    brand_color = models.CharField(
        _("brand colour"), max_length=7, default="#2f6fed", validators=[hex_color_validator]
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    support_email = models.EmailField(_("support email"), blank=True)
    support_url = models.URLField(_("support URL"), blank=True)
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("Dates and times on the status page are shown in this zone, e.g. America/New_York."),
    )
    locale = models.CharField(
        _("locale"),
        max_length=8,
        choices=ACCOUNT_LOCALES,
        default="en-US",
        help_text=_("Formats of dates, times (12 or 24 hours) and prices."),
    )
    order_number_prefix = models.CharField(
        _("order number prefix"),
        max_length=20,
        blank=True,
        help_text=_("Shoppers may leave it out: with “NW-”, 1004 finds NW-1004."),
    )
    webhook_secret = models.CharField(_("webhook secret"), max_length=100, default=new_webhook_secret)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(brand_color__regex=r"^#[0-9a-fA-F]{6}$"), name="account_brand_color_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def message_for(self, state: str, language: str) -> str:
        """The merchant's own text for a problem state, in `language` if written for it."""
        texts = {(m.language, m.state): m.text for m in self.state_messages.all()}
        return texts.get((language, state)) or texts.get(("", state)) or ""


class ProblemState(models.TextChoices):
    """States the status page explains with an action box (and a merchant may add text to)."""

    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")
    EXCEPTION = "exception", _("Exception")
    RETURNED = "returned", _("Returned to sender")
    PICKUP = "pickup", _("Ready for pickup")
    DELAYED = "delayed", _("Delayed")
    CANCELLED = "cancelled", _("Cancelled")


class StateMessage(models.Model):
    """A merchant's text for one problem state, e.g. what happens after a return (refund or reship)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="state_messages")
    state = models.CharField(_("state"), max_length=20, choices=ProblemState.choices)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Leave empty for every language without its own text."),
    )
    text = models.TextField(_("text"), max_length=1000)

    class Meta:
        ordering = ["state", "language"]
        verbose_name = _("problem state text")
        verbose_name_plural = _("problem state texts")
        constraints = [
            models.UniqueConstraint(fields=["account", "state", "language"], name="state_message_unique"),
            models.CheckConstraint(
                condition=Q(state__in=ProblemState.values), name="state_message_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_state_display()} ({self.language or '*'})"


class CarrierCredential(models.Model):
    """An account's own credentials for a carrier API, used instead of the deployment's.

    Secrets are stored encrypted (orders.carriers.credentials) and never shown again: the admin
    form only replaces them.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="carrier_credentials")
    api = models.CharField(_("carrier API"), max_length=20, choices=API_CHOICES)
    client_id = models.CharField(_("client id"), max_length=200, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    api_url = models.URLField(_("API base URL"), blank=True, help_text=_("Empty: the deployment's setting."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("carrier credentials")
        verbose_name_plural = _("carrier credentials")
        constraints = [
            models.UniqueConstraint(fields=["account", "api"], name="carrier_credential_unique_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_api_display()}"

    @property
    def client_secret(self) -> str:
        return credentials.decrypt(self.client_secret_encrypted)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = credentials.encrypt(value)

    @property
    def api_key(self) -> str:
        return credentials.decrypt(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.api_key_encrypted = credentials.encrypt(value)


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class TrackingStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    INFO_RECEIVED = "info_received", _("Label created")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    AVAILABLE_FOR_PICKUP = "available_for_pickup", _("Ready for pickup")
    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempt failed")
    EXCEPTION = "exception", _("Exception")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned to sender")


# Progress bar: five steps. A status mapped to None keeps the step the shipment already had.
PROGRESS_STEPS = (
    (1, _("Ordered")),
    (2, _("Label created")),
    (3, _("In transit")),
    (4, _("Out for delivery")),
    (5, _("Delivered")),
)
STEP_FOR_STATUS: dict[str, int | None] = {
    TrackingStatus.PENDING: 1,
    TrackingStatus.INFO_RECEIVED: 2,
    TrackingStatus.IN_TRANSIT: 3,
    TrackingStatus.OUT_FOR_DELIVERY: 4,
    TrackingStatus.AVAILABLE_FOR_PICKUP: 4,
    TrackingStatus.FAILED_ATTEMPT: 4,
    TrackingStatus.EXCEPTION: None,
    TrackingStatus.DELIVERED: 5,
    TrackingStatus.RETURNED: None,
}
# A shipment in one of these is not polled any more.
FINAL_TRACKING_STATUSES = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED})
EXCEPTION_STATUSES = frozenset(
    {TrackingStatus.FAILED_ATTEMPT, TrackingStatus.EXCEPTION, TrackingStatus.RETURNED}
)


FINAL_ORDER_STATUSES = ("cancelled", "delivered")


class OrderQuerySet(models.QuerySet):
    """SQL twins of Order.is_delayed / Order.is_exception, so filters agree with the flags."""

    def delayed(self, today: date | None = None) -> OrderQuerySet:
        return self.filter(self.delayed_q(today))

    def with_exception(self) -> OrderQuerySet:
        return self.filter(self.with_exception_q())

    @staticmethod
    def delayed_q(today: date | None = None) -> Q:
        """Open orders with a late outbound shipment, or unshipped past their estimated date.

        Each half is an `IN (subquery)` the database computes once from a small partial index
        (tracking_open_eta_idx, order_open_eta_idx), instead of a check per order.
        """
        today = today or timezone.localdate()
        late_shipments = (
            Tracking.objects.filter(is_return=False)
            .exclude(status__in=[TrackingStatus.DELIVERED, TrackingStatus.RETURNED])
            .annotate(eta=Coalesce("estimated_delivery_date_end", "estimated_delivery_date"))
            .filter(eta__lt=today)
            .values("order_id")
        )
        outbound = Tracking.objects.filter(order=OuterRef("pk"), is_return=False)
        unshipped_overdue = (
            Order.objects.exclude(status__in=FINAL_ORDER_STATUSES)
            .filter(estimated_delivery_date__lt=today)
            .exclude(Exists(outbound))
            .values("pk")
        )
        return ~Q(status__in=FINAL_ORDER_STATUSES) & (Q(pk__in=late_shipments) | Q(pk__in=unshipped_overdue))

    @staticmethod
    def with_exception_q() -> Q:
        """An outbound shipment in trouble: read from tracking_trouble_idx, not order by order."""
        troubled = Tracking.objects.filter(is_return=False, status__in=sorted(EXCEPTION_STATUSES))
        return Q(pk__in=troubled.values("order_id"))


# An order's details: what staff, the orders API and order-system webhooks may set or change
# (never its status, which only moves through orders.lifecycle).
ORDER_DETAIL_FIELDS = (
    "customer_number",
    "external_order_id",
    "external_reference",
    "recipient_name",
    "recipient_email",
    "recipient_phone",
    "street1",
    "street2",
    "city",
    "state",
    "postal_code",
    "country",
    "notes",
    "language",
    "order_date",
    "estimated_delivery_date",
)

# The details that name or locate the recipient: blank once the order is erased, and never set
# again by the API or webhooks after that (orders.privacy).
PERSONAL_ORDER_FIELDS = (
    "recipient_name",
    "recipient_email",
    "recipient_phone",
    "street1",
    "street2",
    "city",
    "state",
    "postal_code",
    "customer_number",
    "external_reference",
    "notes",
)

LINK_URL_NAMES = {"page": "orders:track", "widget": "orders:info-widget", "info": "orders:info"}


class Order(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    public_id = models.CharField(
        _("public id"), max_length=40, unique=True, default=new_order_public_id, editable=False
    )
    order_number = models.CharField(_("order number"), max_length=100)
    external_order_id = models.UUIDField(_("external order id"), null=True, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=100, blank=True)
    # The order system's own reference when it is not a UUID (e.g. Nimbus' prescriptionId).
    external_reference = models.CharField(_("external reference"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )

    recipient_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    recipient_email = models.EmailField(_("recipient email"), max_length=254, blank=True)
    recipient_phone = models.CharField(_("recipient phone"), max_length=40, blank=True)
    street1 = models.CharField(_("street"), max_length=200, blank=True)
    street2 = models.CharField(_("street (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state / region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, validators=[country_validator])

    notes = models.TextField(_("notes"), max_length=1000, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    order_date = models.DateTimeField(_("order date"), default=timezone.now)
    estimated_delivery_date = models.DateField(_("estimated delivery"), null=True, blank=True)

    # Bumped by staff to revoke every signed link issued so far (see orders.signing).
    link_version = models.PositiveIntegerField(_("link version"), default=1)
    # Bumped by every state change; cached widget images and info API answers are valid only
    # while it is unchanged (see orders.cache.versions).
    state_version = models.PositiveIntegerField(_("state version"), default=1, editable=False)

    # Set when the recipient's personal data was erased on request (orders.privacy.erasure); the
    # order stays for counts, dates and statuses, and updates no longer bring personal data back.
    erased_at = models.DateTimeField(_("personal data erased"), null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-order_date", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "order_number"], name="order_number_unique_per_account"
            ),
            models.UniqueConstraint(
                fields=["account", "external_order_id"],
                condition=Q(external_order_id__isnull=False),
                name="external_order_id_unique_per_account",
            ),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=~Q(order_number=""), name="order_number_not_empty"),
        ]
        # Every identifier alone, so staff search across accounts uses them too (a lookup within
        # one account still starts from the identifier: few orders share one). The admin's
        # default ordering and each filter have an index that also sorts, so a page stops early.
        # Substring search: trigram indexes, PostgreSQL only (migration 0006).
        indexes = [
            models.Index(fields=["order_number"], name="order_number_idx"),
            models.Index(Lower("recipient_email"), name="order_email_ci_idx"),
            models.Index(fields=["customer_number"], name="order_customer_number_idx"),
            models.Index(fields=["external_reference"], name="order_external_reference_idx"),
            models.Index(
                fields=["external_order_id"],
                condition=Q(external_order_id__isnull=False),
                name="order_external_order_id_idx",
            ),
            models.Index(fields=["postal_code"], name="order_postal_code_idx"),
            models.Index(
                fields=["estimated_delivery_date"],
                condition=~Q(status__in=FINAL_ORDER_STATUSES),
                name="order_open_eta_idx",
            ),
            models.Index(fields=["-order_date", "-id"], name="order_date_idx"),
            # Open orders newest first: the admin's "delayed" filter reads only these.
            models.Index(
                fields=["-order_date", "-id"],
                condition=~Q(status__in=FINAL_ORDER_STATUSES),
                name="order_open_recent_idx",
            ),
            models.Index(fields=["account", "-order_date", "-id"], name="order_recent_idx"),
            models.Index(fields=["status", "-order_date", "-id"], name="order_status_idx"),
            models.Index(F("account"), Lower("order_number"), name="order_number_ci_idx"),
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def is_final(self) -> bool:
        return self.status in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)

    @property
    def is_cancelled(self) -> bool:
        return self.status == OrderStatus.CANCELLED

    @cached_property
    def _trackings(self) -> list[Tracking]:
        # Uses a prefetch when the caller made one (lookup, admin); otherwise one query.
        return list(self.trackings.all())

    @property
    def shipments(self) -> list[Tracking]:
        """Outbound shipments; returns are shown separately and do not gate delivery."""
        return [t for t in self._trackings if not t.is_return]

    @property
    def progress_step(self) -> int:
        """The step the shopper sees: the least advanced outbound shipment, or the order's own status."""
        if self.status == OrderStatus.DELIVERED:
            return 5
        steps = [t.shown_step for t in self.shipments]
        if steps:
            return min(steps)
        return 1

    @property
    def is_delayed(self) -> bool:
        if self.is_final:
            return False
        if any(t.is_delayed for t in self.shipments):
            return True
        eta = self.estimated_delivery_date
        return eta is not None and eta < timezone.localdate() and not self.shipments

    @property
    def is_exception(self) -> bool:
        return any(t.is_exception for t in self.shipments)

    @property
    def current_eta(self) -> date | None:
        """The latest promised date across undelivered shipments, else the order's own estimate."""
        etas = [
            t.estimated_delivery_date
            for t in self.shipments
            if t.estimated_delivery_date and t.expects_delivery
        ]
        return max(etas) if etas else self.estimated_delivery_date

    @property
    def delivered_at(self):
        dates = [t.delivered_at for t in self.shipments if t.delivered_at]
        return max(dates) if dates else None

    @property
    def address_lines(self) -> list[str]:
        """The shipping address as the destination country writes it (without the recipient)."""
        if self.country in ("US", "CA", "AU"):
            region = " ".join(part for part in (self.state, self.postal_code) if part)
            place = ", ".join(part for part in (self.city, region) if part)
        elif self.country in ("GB", "IE"):
            place = "\n".join(part for part in (self.city, self.postal_code) if part)
        else:
            place = " ".join(part for part in (self.postal_code, self.city) if part)
            place = ", ".join(part for part in (place, self.state) if part)
        lines = [self.street1, self.street2, *place.split("\n"), self.country]
        return [line for line in lines if line]

    def link_params(
        self, *, exp: int | None = None, lang: str = "", purpose: str = signing.PURPOSE_ORDER
    ) -> dict[str, str]:
        """Query parameters of a signed link that opens this order without a second factor."""
        params = {"account": str(self.account_id), "order_number": self.order_number}
        if exp:
            params["exp"] = str(exp)
        if lang:
            params["lang"] = lang
        params["s"] = signing.order_signature(self, exp=exp, purpose=purpose)
        return params

    def status_url(
        self, *, kind: str = "page", exp: int | None = None, lang: str = "", absolute: bool = True, **extra
    ) -> str:
        """A signed URL of the status page ("page"), the PNG widget ("widget") or the info API ("info").

        Widget URLs are signed for the widget alone: they travel through mail image proxies.
        """
        path = reverse(LINK_URL_NAMES[kind])
        purpose = signing.PURPOSE_WIDGET if kind == "widget" else signing.PURPOSE_ORDER
        params = self.link_params(exp=exp, lang=lang, purpose=purpose)
        query = urlencode({**params, **{k: str(v) for k, v in extra.items()}})
        return f"{settings.SITE_URL if absolute else ''}{path}?{query}"

    def matches_email(self, email: str) -> bool:
        return (
            bool(email)
            and bool(self.recipient_email)
            and (self.recipient_email.strip().lower() == email.strip().lower())
        )

    def matches_postal_code(self, postal_code: str) -> bool:
        stored = normalize_postal_code(self.postal_code)
        digits_and_letters = stored.replace("-", "")
        if len(digits_and_letters) < 3 or not digits_and_letters.isalnum():
            return False  # a placeholder ("-", "N/A") is no secret to ask a shopper for
        return postal_codes_match(stored, postal_code, country=self.country)


class PollOutcome(models.TextChoices):
    OK = "ok", _("Updated")
    NOT_FOUND = "not_found", _("Not known to the carrier yet")
    RATE_LIMITED = "rate_limited", _("Rate limited by the carrier")
    UNAVAILABLE = "unavailable", _("Carrier unavailable or timed out")
    AUTH_FAILED = "auth_failed", _("Credentials refused")
    BAD_RESPONSE = "bad_response", _("Unreadable answer")
    ERROR = "error", _("Error")


class TrackingQuerySet(models.QuerySet):
    def recent(self, now=None) -> TrackingQuerySet:
        """Trackings a lookup by number still considers: carriers recycle numbers, so a number
        only names shipments created in the last TRACKING_LOOKUP_DAYS days."""
        now = now or timezone.now()
        return self.filter(created_at__gte=now - timedelta(days=settings.TRACKING_LOOKUP_DAYS))

    def holding(self, tracking_number: str, carrier: str = "") -> TrackingQuerySet:
        found = self.filter(tracking_number=tracking_number)
        return found.filter(carrier=carrier) if carrier else found

    def open_holders_of(self, tracking: Tracking) -> TrackingQuerySet:
        """The same number in the account's other open (not delivered, not cancelled) orders."""
        return (
            self.filter(order__account_id=tracking.order.account_id, tracking_number=tracking.tracking_number)
            .exclude(order_id=tracking.order_id)
            .exclude(order__status__in=[OrderStatus.DELIVERED, OrderStatus.CANCELLED])
        )


class Tracking(models.Model):
    """A shipment: one carrier's parcel for (part of) an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="trackings")
    # Opaque id for the info API's `tracking_id` lookup (never the database id).
    public_id = models.CharField(
        _("public id"), max_length=40, unique=True, default=new_tracking_public_id, editable=False
    )
    carrier = models.CharField(_("carrier"), max_length=20, choices=CARRIER_CHOICES, default="other")
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=30, choices=TrackingStatus.choices, default=TrackingStatus.PENDING
    )
    # Cached from the checkpoints by orders.lifecycle.refresh_tracking (exceptions keep the last step).
    step = models.PositiveSmallIntegerField(_("progress step"), default=1)
    # What the shop announced at dispatch; checkpoints with a newer estimate override it.
    announced_delivery_date = models.DateField(_("announced delivery"), null=True, blank=True)
    estimated_delivery_date = models.DateField(_("estimated delivery"), null=True, blank=True)
    estimated_delivery_date_end = models.DateField(
        _("estimated delivery (window end)"), null=True, blank=True
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True, editable=False)
    is_return = models.BooleanField(_("return shipment"), default=False)
    pickup_location_name = models.CharField(_("pickup location"), max_length=200, blank=True)
    pickup_location_address = models.CharField(_("pickup address"), max_length=300, blank=True)
    # [{"day": "mon", "open": "09:00", "close": "18:00"}, …]
    pickup_opening_hours = models.JSONField(
        _("pickup opening hours"), default=list, blank=True, validators=[validate_opening_hours]
    )
    estimated_time_from = models.TimeField(_("estimated delivery from"), null=True, blank=True)
    estimated_time_to = models.TimeField(_("estimated delivery until"), null=True, blank=True)
    # A carrier hands the parcel to another for the last mile (FedEx SmartPost → USPS, …).
    last_mile_carrier = models.CharField(_("last-mile carrier"), max_length=50, blank=True)
    last_mile_tracking_number = models.CharField(_("last-mile tracking number"), max_length=64, blank=True)
    # Polling (orders.carriers.polling): due when next_poll_at has passed; NULL = not polled
    # any more (delivered, returned, or quiet for too long).
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(_("last poll"), null=True, blank=True, editable=False)
    last_poll_outcome = models.CharField(
        _("last poll outcome"), max_length=20, choices=PollOutcome.choices, blank=True, editable=False
    )
    last_poll_error = models.CharField(_("last poll error"), max_length=300, blank=True, editable=False)
    poll_failures = models.PositiveSmallIntegerField(_("failed polls in a row"), default=0, editable=False)
    pickup_deadline = models.DateField(_("pick up by"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TrackingQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("tracking")
        verbose_name_plural = _("trackings")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "carrier", "tracking_number"], name="tracking_unique_per_order_carrier"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TrackingStatus.values), name="tracking_status_valid"
            ),
            models.CheckConstraint(condition=Q(step__gte=1, step__lte=5), name="tracking_step_range"),
            models.CheckConstraint(condition=~Q(tracking_number=""), name="tracking_number_not_empty"),
        ]
        indexes = [
            # Lookups by number take the newest holders first (see TrackingQuerySet.recent).
            models.Index(fields=["tracking_number", "-created_at"], name="tracking_number_recent_idx"),
            # The admin's filters, newest first.
            models.Index(fields=["status", "-id"], name="tracking_status_idx"),
            models.Index(fields=["carrier", "-id"], name="tracking_carrier_idx"),
            models.Index(fields=["-id"], condition=Q(is_return=True), name="tracking_return_idx"),
            # Orders with an outbound shipment in trouble (OrderQuerySet.with_exception_q): few rows.
            models.Index(
                fields=["order"],
                condition=Q(is_return=False, status__in=sorted(EXCEPTION_STATUSES)),
                name="tracking_trouble_idx",
            ),
            # Late open shipments (OrderQuerySet.delayed_q): few rows, read all at once.
            models.Index(
                Coalesce("estimated_delivery_date_end", "estimated_delivery_date"),
                condition=Q(is_return=False) & ~Q(status="delivered"),
                name="tracking_open_eta_idx",
            ),
            # The dispatcher's claim: due open trackings of one carrier, oldest due first.
            models.Index(
                fields=["carrier", "next_poll_at"],
                condition=Q(next_poll_at__isnull=False),
                name="tracking_poll_due_idx",
            ),
            # The admin's "errors in the last hour" per carrier.
            models.Index(
                fields=["carrier", "last_polled_at"],
                condition=Q(last_polled_at__isnull=False),
                name="tracking_last_polled_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_info.name} {self.tracking_number}"

    @property
    def carrier_info(self) -> Carrier:
        return get_carrier(self.carrier)

    @property
    def tracking_url(self) -> str:
        return self.carrier_info.tracking_url(self.tracking_number)

    @property
    def is_delivered(self) -> bool:
        return self.status == TrackingStatus.DELIVERED

    @property
    def is_exception(self) -> bool:
        return self.status in EXCEPTION_STATUSES

    @property
    def is_delayed(self) -> bool:
        eta = self.estimated_delivery_date_end or self.estimated_delivery_date
        return eta is not None and self.expects_delivery and eta < timezone.localdate()

    @property
    def expects_delivery(self) -> bool:
        """Still heading to the shopper: an estimate means something (not delivered, not going back)."""
        return self.status not in (TrackingStatus.DELIVERED, TrackingStatus.RETURNED)

    @property
    def shown_step(self) -> int:
        """A shipment exists, so its label does: at least step 2 ("Label created")."""
        return max(self.step, 2)

    def also_in_open_orders(self) -> list[str]:
        """Order numbers of the account's other open orders holding this number (normally none)."""
        if self.pk is None:
            return []
        holders = Tracking.objects.open_holders_of(self).order_by("order__order_number")
        return list(dict.fromkeys(holders.values_list("order__order_number", flat=True)))

    @property
    def has_pickup_location(self) -> bool:
        return bool(self.pickup_location_name or self.pickup_location_address)

    @property
    def opening_hours(self) -> list[dict[str, str]]:
        """The well-formed entries of `pickup_opening_hours` (data written around the validator
        by an older version or by hand must not break a page)."""
        hours = self.pickup_opening_hours if isinstance(self.pickup_opening_hours, list) else []
        return [
            {"day": str(h.get("day", "")), "open": str(h.get("open", "")), "close": str(h.get("close", ""))}
            for h in hours
            if isinstance(h, dict)
        ]


class Checkpoint(models.Model):
    """A carrier scan event. The same event can never be stored twice (see the constraint)."""

    tracking = models.ForeignKey(Tracking, on_delete=models.CASCADE, related_name="checkpoints")
    occurred_at = models.DateTimeField(_("occurred at"))
    status = models.CharField(_("status"), max_length=30, choices=TrackingStatus.choices)
    status_code = models.CharField(_("carrier status code"), max_length=64, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    details = models.TextField(_("details"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, validators=[country_validator])
    estimated_delivery_date = models.DateField(_("estimated delivery"), null=True, blank=True)
    estimated_delivery_end = models.DateField(_("estimated delivery (window end)"), null=True, blank=True)
    estimated_time_from = models.TimeField(_("estimated delivery from"), null=True, blank=True)
    estimated_time_to = models.TimeField(_("estimated delivery until"), null=True, blank=True)
    # False when the carrier gave a local time without its zone: occurred_at then holds that
    # wall-clock time as if it were UTC, and is shown as it is, never converted.
    zone_known = models.BooleanField(_("time zone known"), default=True)
    is_hidden = models.BooleanField(_("hidden from shoppers"), default=False)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    objects = InsertOnceQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        constraints = [
            models.UniqueConstraint(
                fields=["tracking", "occurred_at", "status_code", "location"], name="checkpoint_event_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TrackingStatus.values), name="checkpoint_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["tracking", "-occurred_at"], name="checkpoint_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.get_status_display()}"

    @property
    def shown_at(self) -> datetime:
        """The time to show: aware when the zone is known; else the carrier's local wall-clock
        time, naive, so nothing converts it into a zone it never had."""
        return self.occurred_at if self.zone_known else self.occurred_at.replace(tzinfo=None)


class EstimateChange(models.Model):
    """A carrier's (or the shop's) estimate for a shipment moved: kept so the page can say
    "Expected Tue 24 Nov, now Thu 26 Nov" and mark the moment in the timeline.

    Written only by orders.lifecycle, whenever a shipment's estimated delivery date changes.
    """

    tracking = models.ForeignKey(Tracking, on_delete=models.CASCADE, related_name="estimate_changes")
    previous_date = models.DateField(_("previous estimate"))
    new_date = models.DateField(_("new estimate"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("estimate change")
        verbose_name_plural = _("estimate changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(new_date__isnull=True) | ~Q(new_date=F("previous_date")),
                name="estimate_change_changes",
            ),
        ]
        indexes = [models.Index(fields=["tracking", "changed_at"], name="estimate_change_tracking_idx")]

    def __str__(self) -> str:
        return f"{self.previous_date} → {self.new_date}"


class LineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    tracking = models.ForeignKey(
        Tracking, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    name = models.CharField(_("name"), max_length=300)
    sku = models.CharField(_("SKU"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="USD")
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_item_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class ApiKey(models.Model):
    """An account's API key. Only a SHA-256 hash is stored; the key is shown once at creation."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["account", "name"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to an `Idempotency-Key`, replayed for retries with the same body."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key


class WebhookOutcome(models.TextChoices):
    PENDING = "pending", _("Received, not applied yet")
    APPLIED = "applied", _("Applied")
    STALE = "stale", _("Stale (ignored)")
    REJECTED = "rejected", _("Rejected (conflict)")
    PARKED = "parked", _("Waiting for its order")
    FAILED = "failed", _("Failed (see message)")


class WebhookEventQuerySet(InsertOnceQuerySet):
    def pending(self):
        return self.filter(outcome=WebhookOutcome.PENDING)

    def claim(self, limit: int) -> list[WebhookEvent]:
        """The oldest pending events no other applier holds, locked until the transaction ends
        (`FOR UPDATE SKIP LOCKED`: concurrent appliers take disjoint batches, none waits)."""
        claimed = self.pending().select_related("account").order_by("id")
        return list(claimed.select_for_update(skip_locked=True, of=("self",))[:limit])


class WebhookEvent(models.Model):
    """Every event received, stored once per (account, source, event id) so repeats are harmless.

    With WEBHOOK_APPLY=async an event is stored `pending` and applied by a batch later
    (orders.webhooks.batches); its outcome then says what happened.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_events")
    source = models.CharField(_("source"), max_length=20)
    event_id = models.CharField(_("event id"), max_length=200)
    event_type = models.CharField(_("event type"), max_length=100)
    payload = models.JSONField(_("payload"))
    # The order the event refers to (order number or external id), to replay parked events later.
    order_ref = models.CharField(_("order reference"), max_length=200, blank=True, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=WebhookOutcome.choices)
    message = models.CharField(_("message"), max_length=500, blank=True)
    # When `payload` was emptied: by the retention purge (RETENTION_DAYS) or an erasure request.
    payload_purged_at = models.DateTimeField(_("payload purged"), null=True, blank=True)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["account", "source", "event_id"], name="webhook_event_unique"),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="webhook_event_received_idx"),
            # The batch applier's queue: small, since applied events leave it.
            models.Index(fields=["id"], condition=Q(outcome="pending"), name="webhook_event_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_type} {self.event_id}"


# Registered in this app; they live with the services that fill and drain them.
from orders.notifications.models import (  # noqa: E402, F401
    EmailNotification,
    EmailSuppression,
    NotificationSettings,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
