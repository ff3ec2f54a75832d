"""A changelist's rows as Django's `result_list` draws them, with each column worked out once.

Django's `items_for_result` decides per cell what a column is (a model field or a method, its
choices, its CSS class, whether it links, the filters its link keeps), and its template prints
every cell through the template engine: at 50 rows × 11 columns that was about a third of the
order list's CPU (bench/admin_scale.py). Here each column becomes a small function once per
list, a row is one string, and the markup stays Django's (tests/test_admin_large_lists.py
compares the two). A list this does not cover (list_editable, popups, callables or properties
as columns) is left to Django.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    result_headers,
    result_hidden_fields,
    results,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.template.loader import select_template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

Cell = Callable[[models.Model], str]


def results_table(cl) -> SafeString:
    """What `{% result_list cl %}` renders (the same templates, per model, app or admin)."""
    headers = list(result_headers(cl))
    rows = compiled_rows(cl)
    context = {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows if rows is not None else list(results(cl)),
    }
    opts = cl.opts
    template = select_template(
        [
            f"admin/{opts.app_label}/{opts.model_name}/change_list_results.html",
            f"admin/{opts.app_label}/change_list_results.html",
            "admin/change_list_results.html",
        ]
    )
    return mark_safe(template.render(context))  # noqa: S308 (the admin's own escaped markup)


def compiled_rows(cl) -> list[ResultList] | None:
    """Each row as one string of cells; None when the list needs Django's general path."""
    if cl.formset or cl.is_popup or cl.to_field:
        return None
    cells = []
    linked = False
    for name in cl.list_display:
        if not isinstance(name, str):
            return None
        link = _links(cl, name, first=not linked)
        cell = _column(cl, name, link=link, first=not linked)
        if cell is None:
            return None
        linked = linked or link
        cells.append(cell)
    return [ResultList(None, [mark_safe("".join([cell(row) for cell in cells]))]) for row in cl.result_list]  # noqa: S308


def _links(cl, name: str, *, first: bool) -> bool:
    """Django's `link_in_col`."""
    if cl.list_display_links is None:
        return False
    if first and not cl.list_display_links:
        return True
    return name in cl.list_display_links


def _column(cl, name: str, *, link: bool, first: bool) -> Cell | None:
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    classes = [f"field-{name}"]
    if field is not None and not field.auto_created:
        shown = _field_display(field, empty, link=link)
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes.append("nowrap")
        return _cell(cl, lambda row: (shown(row), False), classes, first=first, link=link)
    if field is not None:
        get, boolean = (lambda row: getattr(row, name)), False
    elif hasattr(model_admin, name) and name != "__str__":
        if isinstance(getattr(type(model_admin), name, None), property):
            return None
        get = getattr(model_admin, name)
        empty = getattr(get, "empty_value_display", empty)
        boolean = getattr(get, "boolean", False)
        if name == "action_checkbox":
            classes = ["action-checkbox"]
    else:
        return None

    def displayed(row):
        value = _blank_as_empty(get(row))
        return display_for_value(value, empty, boolean), isinstance(value, (datetime.date, datetime.time))

    return _cell(cl, displayed, classes, first=first, link=link)


def _field_display(field: models.Field, empty: str, *, link: bool) -> Callable[[models.Model], object]:
    """Django's display of a model field's value (`display_for_field`), its choices translated once."""
    name = field.name
    if isinstance(field.remote_field, models.ManyToOneRel):

        def related(row):
            value = getattr(row, name)
            return empty if value is None else value

        return related
    if getattr(field, "flatchoices", None):
        try:
            labels = {value: str(label) for value, label in field.flatchoices}
        except TypeError:  # unhashable (list-like) choices: Django's own path
            pass
        else:
            return lambda row: labels.get(_blank_as_empty(getattr(row, name)), empty)
    return lambda row: display_for_field(_blank_as_empty(getattr(row, name)), field, empty, avoid_link=link)


def _blank_as_empty(value):
    if isinstance(value, str) and value.strip() == "":
        return ""
    return value


def _cell(cl, displayed, classes: list[str], *, first: bool, link: bool) -> Cell:
    """`displayed(row)` gives the text and whether the value was a date or time (then Django
    adds "nowrap" to the cell's classes)."""
    tag = "th" if link and first else "td"  # the first linked column heads the row
    opening = f'<{tag} class="{" ".join(classes)}">'
    nowrap = f'<{tag} class="{" ".join([*classes, "nowrap"])}">'
    closing = f"</{tag}>"

    def cell(row) -> str:
        try:
            shown, dated = displayed(row)
        except ObjectDoesNotExist:
            shown, dated = cl.model_admin.get_empty_value_display(), False
        shown = conditional_escape(shown)
        if link:
            shown = f'<a href="{conditional_escape(_row_url(cl, row))}">{shown}</a>'
        return f"{nowrap if dated else opening}{shown}{closing}"

    return cell


def _row_url(cl, row) -> str:
    """The row's change page with the list's filters kept (`add_preserved_filters`), worked out
    once per list: only the primary key differs from row to row."""
    pk = getattr(row, cl.pk_attname)
    around = cl.__dict__.get("_row_url_around")
    if around is None:
        marker = "987654321987654321"
        site, opts = cl.model_admin.admin_site.name, cl.opts
        url = reverse(f"{site}:{opts.app_label}_{opts.model_name}_change", args=[marker])
        url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": opts}, url)
        before, found, after = url.partition(marker)
        around = cl._row_url_around = (before, after) if found and marker not in after else False
    if around and isinstance(pk, int):
        return f"{around[0]}{pk}{around[1]}"
    url = cl.url_for_result(row)
    return add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
