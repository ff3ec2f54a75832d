"""A form renderer for the admin's order and shipment pages: Django's simplest form templates
(inputs, selects, text areas, labels, empty error lists, the admin's date and time inputs)
written in Python, the same markup.

An order's page renders about 150 of them (every field of the order, of each shipment and line
item, and the inlines' empty "add another" rows), each a template with an included attributes
template: about a third of the page's CPU (bench/admin_scale.py). Every other template (the
admin's own widgets: dates, related-object wrappers, URLs) goes to Django's renderer, and so
does any context these functions do not expect. tests/test_admin_widgets.py renders whole pages
both ways and compares them.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.forms.renderers import get_default_renderer
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime


class _Unexpected(Exception):
    """A context the Python version does not cover: Django's template renders it."""


def _shown(value) -> str:
    """`{{ value }}` (render_value_in_context with autoescape)."""
    value = localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))


def _formatted(value) -> str:
    """`{{ value|stringformat:'s' }}`: stringformat keeps a safe value safe."""
    text = str(value)  # ("%s" % value, as the filter formats it)
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html and django/forms/attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_shown(name)}" if value is True else f' {_shown(name)}="{_formatted(value)}"')
    return "".join(parts)


def _input(context: dict) -> str:
    widget = context["widget"]
    value = widget["value"]
    shown_value = "" if value is None else f' value="{_formatted(value)}"'
    attrs = _attrs(widget["attrs"])
    return f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{shown_value}{attrs}>'


def _option(option: dict) -> str:
    if option.get("template_name") != "django/forms/widgets/select_option.html":
        raise _Unexpected
    attrs = _attrs(option["attrs"])
    return f'<option value="{_formatted(option["value"])}"{attrs}>{_shown(option["label"])}</option>\n'


def _select(context: dict) -> str:
    widget = context["widget"]
    parts = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        parts += [f"\n  {_option(option)}" for option in group_choices]
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(context: dict) -> str:
    widget = context["widget"]
    value = _shown(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def _label(context: dict) -> str:
    if not context["use_tag"]:
        return _shown(context["label"])
    tag = _shown(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{_shown(context['label'])}</{tag}>"


def _admin_input(css_class: str) -> Callable[[dict], str]:
    """admin/widgets/date.html and time.html: the input in a paragraph."""

    def write(context: dict) -> str:
        return _in_paragraph(css_class, _input(context))

    return write


def _in_paragraph(css_class: str, html: str) -> str:
    return f'<p class="{css_class}">\n  {html}\n\n\n</p>'


def _split_datetime(context: dict) -> str:
    """admin/widgets/split_datetime.html, its two parts admin date and time inputs."""
    date, time = context["widget"]["subwidgets"]
    parts = []
    for part, css_class in ((date, "date"), (time, "time")):
        if part["template_name"] != f"admin/widgets/{css_class}.html":
            raise _Unexpected
        parts.append(_in_paragraph(css_class, _input({"widget": part})) + "\n")
    return (
        f'<p class="datetime">\n  {_shown(context["date_label"])} {parts[0]}<br>\n'
        f"  {_shown(context['time_label'])} {parts[1]}\n</p>"
    )


def _errors(context: dict) -> str:
    if context["errors"]:
        raise _Unexpected  # only the (frequent) empty list is written here
    return ""


_INPUTS = (
    "input",
    "text",
    "number",
    "email",
    "url",
    "hidden",
    "password",
    "date",
    "time",
    "datetime",
    "checkbox",
)
FAST: dict[str, Callable[[dict], str]] = {
    **{f"django/forms/widgets/{name}.html": _input for name in _INPUTS},
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/label.html": _label,
    "django/forms/errors/list/ul.html": _errors,
    "django/forms/errors/list/default.html": _errors,
    "admin/widgets/date.html": _admin_input("date"),
    "admin/widgets/time.html": _admin_input("time"),
    "admin/widgets/split_datetime.html": _split_datetime,
}


class AdminRenderer:
    """Django's configured form renderer, with the templates in FAST written in Python."""

    def __getattr__(self, name):
        return getattr(get_default_renderer(), name)  # template names, get_template, …

    def render(self, template_name, context, request=None):
        write = FAST.get(template_name)
        if write is not None and request is None:
            try:
                return write(context)
            except (_Unexpected, KeyError):
                pass
        return get_default_renderer().render(template_name, context, request=request)


ADMIN_RENDERER = AdminRenderer()


def choices_read_once(field: forms.ModelChoiceField) -> None:
    """Read a select's choices once for the page. Django reads them again for every form that
    shows the select (each row of an inline and its empty row), each time through a server-side
    cursor on PostgreSQL (three round trips). The queryset still validates what is posted."""
    empty = [] if field.empty_label is None else [("", field.empty_label)]
    field.choices = empty + [
        (field.prepare_value(obj), field.label_from_instance(obj)) for obj in field.queryset
    ]


class AdminModelForm(forms.ModelForm):
    """A ModelForm drawn by AdminRenderer (its formsets' forms too)."""

    default_renderer = ADMIN_RENDERER


class AdminInlineMixin:
    """An inline whose forms and formset (its management form and error lists) are drawn by
    AdminRenderer."""

    form = AdminModelForm

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, **{"renderer": ADMIN_RENDERER, **kwargs})
