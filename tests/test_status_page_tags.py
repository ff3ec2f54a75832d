"""The shopper templates' own tags: `{% translate %}` kept per language says what Django's says."""

import pytest
from django.template import engines
from django.utils import translation

TEMPLATE = (
    "{% load i18n status_page %}{% translate \"opens the carrier's website\" %}|{% translate 'Carrier' %}"
)


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "de", "en"])
def test_kept_translations_match_djangos_in_each_language(lang):
    kept = engines["django"].from_string(TEMPLATE)
    django_own = engines["django"].from_string(TEMPLATE.replace(" status_page", ""))
    with translation.override(lang):
        assert kept.render({}) == django_own.render({})


def test_one_template_follows_the_language_switches():
    template = engines["django"].from_string(TEMPLATE)
    with translation.override("de"):
        german = template.render({})
    with translation.override("en"):
        english = template.render({})
    assert english == "opens the carrier's website|Carrier"
    assert german != english and template.render({}) in (english, german)


def test_with_and_without_autoescape_as_django_writes_it():
    source = TEMPLATE + "{% autoescape off %}" + TEMPLATE.split("%}", 1)[1] + "{% endautoescape %}"
    with translation.override("fr"):
        assert render(source) == render(source.replace(" status_page", ""))


def test_messages_from_variables_and_as_are_translated_each_time():
    source = "{% load i18n status_page %}{% translate word %}|{% translate 'Carrier' as c %}{{ c }}"
    with translation.override("de"):
        german = render(source, word="Carrier")
    with translation.override("en"):
        assert render(source, word="Delivered") == "Delivered|Carrier"
    assert german.split("|")[0] == german.split("|")[1] != "Carrier"
