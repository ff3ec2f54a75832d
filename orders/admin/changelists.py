"""Changelists that stay fast at a million rows: no full count, filters and searches run once,
cheap rows.

Measured by bench/admin_scale.py at 1 M orders: Django's changelist runs a list's filters and
search twice (to count, then for the page), so a costly one costs double; and it renders each
row's action checkbox through the form template engine, a large share of a 50-row page.
"""

from __future__ import annotations

import functools

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.core.signals import setting_changed
from django.db.models import Model
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from orders.admin.rows import results_table


class CappedCountPaginator(Paginator):
    """Reads the primary keys of the list's first `cap` + 1 rows, in the list's order, once.

    They are the count (so a million-row list is never counted: past the cap the admin shows
    "more than …", templates/admin/orders/pagination.html) and every page's rows, so the list's
    filters and search run in one query per request (LargeChangeList fetches the page's rows by
    primary key). The query walks the list's ordering index and stops after `cap` + 1 rows.
    """

    cap = 1000

    @cached_property
    def head(self) -> list:
        return list(self.object_list.values_list("pk", flat=True)[: self.cap + 1])

    @cached_property
    def count(self) -> int:
        return len(self.head)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def page_keys(self, number) -> list:
        """The primary keys on page `number`, as Paginator.page would slice its rows."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self.head[bottom:top]


_MARKER = 987654321987654321


def change_url(model: type[Model], pk: int) -> str:
    """The admin change page of `model` #pk: reverse() once per URLconf, then only the number changes.

    (A page of rows asks for 50 such links; reverse() matches the URL patterns each time.)
    """
    prefix, suffix = _change_url_around(model._meta.label_lower, get_urlconf(), get_script_prefix())
    return f"{prefix}{int(pk)}{suffix}"


@functools.lru_cache(maxsize=64)
def _change_url_around(label: str, urlconf: str | None, script_prefix: str) -> tuple[str, str]:
    app_label, model_name = label.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_change", args=[_MARKER], urlconf=urlconf)
    prefix, _marker, suffix = url.partition(str(_MARKER))
    return prefix, suffix


_icons: dict[bool | None, SafeString] = {}


def boolean_icon(value: bool | None) -> SafeString:
    """Django's yes/no/unknown icon for a list column, its static URL looked up once per process."""
    if value not in _icons:
        _icons[value] = display_for_value(value, "", boolean=True)
    return _icons[value]


@receiver(setting_changed)
def _forget_icons(*, setting, **kwargs):
    if setting in ("STATIC_URL", "STORAGES", "STATIC_ROOT"):
        _icons.clear()


class LargeChangeList(ChangeList):
    """Rows of the page by primary key (from the paginator's keys), not by running the filters again;
    sorted only by the columns in `sortable_by` (each has an index), whatever `?o=` asks for."""

    def get_ordering_field(self, field_name):
        if field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def get_queryset(self, request, exclude_parameters=None):
        # The list's ordering, for a search that sorts its matches itself (sparse_matches_first).
        request.admin_list_ordering = self.get_ordering(request, self.root_queryset)
        return super().get_queryset(request, exclude_parameters)

    def url_for_result(self, result):
        pk = getattr(result, self.pk_attname)
        if not isinstance(pk, int) or self.model_admin.admin_site.name != "admin":
            return super().url_for_result(result)
        return change_url(self.model, pk)

    def get_results(self, request):
        super().get_results(request)  # counts through the paginator; its page stays unevaluated
        if (self.show_all and self.can_show_all) or not self.multi_page:
            keys = self.paginator.head
        else:
            keys = self.paginator.page_keys(self.page_num)
        rows = self.model_admin.list_rows(self.apply_select_related(self.root_queryset)).in_bulk(keys)
        self.result_list = [rows[key] for key in keys if key in rows]

    @cached_property
    def results_table(self) -> SafeString:
        """The table `{% result_list cl %}` draws (templates/admin/orders/large_change_list.html)."""
        return results_table(self)


class LargeListMixin:
    """For a ModelAdmin whose table grows without bound (orders, shipments)."""

    show_full_result_count = False  # no COUNT(*) of the whole table on every page
    paginator = CappedCountPaginator
    list_per_page = 50
    change_list_template = "admin/orders/large_change_list.html"

    def get_changelist(self, request, **kwargs):
        return LargeChangeList

    def list_rows(self, queryset):
        """The queryset a page's rows are read from (by primary key): a list may load only the
        columns it shows."""
        return queryset

    def action_checkbox(self, obj):
        """Django's markup, formatted directly: its CheckboxInput renders a template per row."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )
