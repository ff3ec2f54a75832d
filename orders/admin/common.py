"""What the model admins share: search helpers, timeline rendering, forms and list filters."""

from __future__ import annotations

import json
import uuid

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from orders import lifecycle
from orders.admin.widgets import AdminModelForm
from orders.carriers import CARRIER_CHOICES, detect_carrier, normalize_tracking_number
from orders.lifecycle import TransitionError
from orders.models import (
    ORDER_DETAIL_FIELDS,
    PROGRESS_STEPS,
    Checkpoint,
    Order,
    OrderStatus,
    Tracking,
)

admin.site.site_header = _("Order status administration")
admin.site.site_title = _("Order status admin")

STEP_LABELS = dict(PROGRESS_STEPS)
# Bare domains typed into URL fields mean https (Django 6 default; silences its deprecation warning).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


# --- Query helpers ------------------------------------------------------------------------------


def external_order_id_q(search_term: str) -> Q | None:
    try:
        return Q(external_order_id=uuid.UUID(search_term.strip()))
    except ValueError:
        return None


# Substring search scans an index of three-letter pieces (pg_trgm); shorter terms would scan the table.
SUBSTRING_MIN_LENGTH = 3
# A substring matching at most this many orders is read through the trigram indexes, then sorted.
SPARSE_MATCHES = 20_000


def sparse_matches_first(found: QuerySet, queryset: QuerySet, ordering: list | None = None) -> QuerySet:
    """`found` (a substring search within `queryset`), read so that its first page is quick.

    PostgreSQL pages through a list by walking its ordering index and checking each order,
    assuming the matches are spread evenly over the dates; when only old orders match (part of
    an old order number or a former customer's email), that walk passes every newer order
    first — a second or more at a million. So when PostgreSQL's own estimate (EXPLAIN, nothing
    read) says the term is rare, the matches are read through the trigram indexes at once, with
    the columns of the list's `ordering`, and sorted there: one query hands the list its first
    rows (the cap the list counts to). A term in many orders keeps the walk, which finds a page
    soon.
    """
    if connection.vendor != "postgresql":
        return found
    if json.loads(found.explain(format="json"))[0]["Plan"]["Plan Rows"] > SPARSE_MATCHES:
        return found
    from orders.admin.changelists import CappedCountPaginator

    sort = _sort_columns(found.model, ordering or [])
    if not sort:  # no list (autocomplete), or an ordering by an expression: sorted afterwards
        keys = list(found.order_by().values_list("pk", flat=True)[: SPARSE_MATCHES + 1])
        if len(keys) > SPARSE_MATCHES:  # the estimate was far off: walk after all
            return found
    else:
        columns = {f"k{i}": F(name) for i, (name, _descending) in enumerate(sort)}
        matches = found.order_by().values(key=F("pk"), **columns)[: SPARSE_MATCHES + 1]
        inner, params = matches.query.sql_with_params()
        order_by = ", ".join(
            f'"k{i}" {"DESC" if descending else "ASC"}' for i, (_n, descending) in enumerate(sort)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "key", count(*) OVER () FROM ({inner}) AS matches ORDER BY {order_by} LIMIT %s',  # noqa: S608 (Django's SQL, fixed names)
                [*params, CappedCountPaginator.cap + 1],
            )
            rows = cursor.fetchall()
        if rows and rows[0][1] > SPARSE_MATCHES:  # the estimate was far off: walk after all
            return found
        keys = [key for key, _count in rows]
    # One array parameter, not thousands of IN (%s, …) placeholders to build and send.
    return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [keys]))


def _sort_columns(model, ordering: list) -> list[tuple[str, bool]] | None:
    """("field", descending) for each item of a list's ordering, or None if one is not a plain
    field of `model` ("pk" counts)."""
    columns = []
    for item in ordering:
        if not isinstance(item, str):
            return None
        name = item.removeprefix("-")
        if name != "pk":
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:
                return None
        columns.append((name, item.startswith("-")))
    return columns


def exact_order_matches(queryset: QuerySet, search_term: str) -> QuerySet:
    """Orders one of whose identifiers is exactly the term, each through its own index.

    The column matches combine into one bitmap OR of index scans; the tracking number, on
    another table, is a separate EXISTS (inside the OR it would be checked row by row over the
    whole table); the two are joined with UNION.
    """
    term = search_term.strip()
    as_typed_or_upper = sorted({term, term.upper()})  # "so-1001" finds SO-1001; one probe each
    by_column = (
        Q(order_number__in=as_typed_or_upper)
        | Q(public_id=term)
        | Q(customer_number__in=as_typed_or_upper)
        | Q(external_reference__in=as_typed_or_upper)
        | Q(postal_code__in=as_typed_or_upper)
        | Q(Exact(Lower("recipient_email"), term.lower()))
    )
    external_id = external_order_id_q(term)
    if external_id is not None:
        by_column |= external_id
    matching = queryset.filter(by_column).order_by().values("pk")
    number = normalize_tracking_number(term)
    if number:
        shipped = Tracking.objects.filter(order=OuterRef("pk"), tracking_number=number)
        matching = matching.union(queryset.filter(Exists(shipped)).order_by().values("pk"))
    return queryset.filter(pk__in=matching)


# --- Rendering ----------------------------------------------------------------------------------


def carrier_link(tracking: Tracking) -> SafeString:
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
        carrier_link(tracking),
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


class OrderAdminForm(AdminModelForm):
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


class TrackingForm(AdminModelForm):
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


class CheckpointForm(AdminModelForm):
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
    """A yes/no filter over an Order condition (`matching`, a method of Order.objects returning a Q).

    Filtering by the condition itself, not by `pk IN (every matching order)`, lets the database
    walk the list's ordering index and stop after a page.
    """

    matching = ""

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset  # (the condition's subqueries are built only when asked for)
        condition = getattr(Order.objects, self.matching)()
        if self.value() == "yes":
            return queryset.filter(condition)
        return queryset.exclude(condition)


class DelayedFilter(YesNoFilter):
    title = _("delayed")
    parameter_name = "delayed"
    matching = "delayed_q"


class ExceptionFilter(YesNoFilter):
    title = _("exception")
    parameter_name = "exception"
    matching = "with_exception_q"


def also_in_open_orders(tracking, numbers: list[str] | None = None) -> str:
    """Admin column: the same number in the account's other open orders (`numbers` when the
    caller looked them up already), flagged."""
    if numbers is None:
        numbers = tracking.also_in_open_orders()
    if not numbers:
        return "—"
    return format_html("⚠ {}", _("Also in open order(s): %s") % ", ".join(numbers))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the code (API, webhooks, notifications): staff read them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
