"""Dates, times and money as the shop's locale writes them, in the shop's time zone (Babel).

The page's language comes from the shopper (or the order); the shop's locale adds its region
where CLDR knows that combination ("en" + en-US → en_US: "Tue, Nov 24, 2:05 PM"; "en" + en-GB →
"Tue 24 Nov, 14:05"; "de" + en-US → de: "Di., 24. Nov., 14:05"). Call the functions inside
`localized(...)`; outside, they follow the active Django language and the site's time zone.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_skeleton, format_time, get_datetime_format
from babel.numbers import format_currency
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language


@dataclass(frozen=True)
class Local:
    locale: Locale
    zone: zoneinfo.ZoneInfo
    say_zone: bool  # times name their zone unless it is the shopper's obvious one
    shop_locale: str = ""


_active: ContextVar[Local | None] = ContextVar("orders_formatting_local", default=None)


@lru_cache(maxsize=64)
def babel_locale(lang: str, shop_locale: str = "") -> Locale:
    """The page language `lang`, with the shop's region when CLDR has that pair."""
    lang = (lang or settings.LANGUAGE_CODE).split("-")[0]
    territory = shop_locale.replace("_", "-").split("-")[1] if "-" in shop_locale.replace("_", "-") else ""
    for candidate in (f"{lang}_{territory}" if territory else "", lang):
        if not candidate:
            continue
        with contextlib.suppress(UnknownLocaleError, ValueError):
            return Locale.parse(candidate)
    return Locale.parse("en")


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def zone_is_obvious(zone_name: str, country: str) -> bool:
    """True when every zone of the delivery country keeps the shop zone's time (Germany and
    Berlin time: yes; the United States and New York time: no, a shopper may be in Denver)."""
    quarter = int(timezone.now().timestamp() // QUARTER_HOUR)
    return _zone_is_obvious(zone_name, (country or "").upper(), quarter)


QUARTER_HOUR = 900  # seconds; time zones change their offsets at quarter hours (UTC) only


@lru_cache(maxsize=256)
def _zone_is_obvious(zone_name: str, country: str, quarter: int) -> bool:
    """The answer for the whole quarter hour `quarter` (a country can have thirty zones to
    compare): worked out once per process for each shop zone and country, not on every page."""
    zones = get_global("territory_zones").get(country, [])
    if not zones or zone_name not in zones:
        return False
    moment = datetime.fromtimestamp(quarter * QUARTER_HOUR, tz=UTC)
    offsets = {moment.astimezone(_zone(name)).utcoffset() for name in zones}
    return len(offsets) == 1


@contextlib.contextmanager
def localized(account=None, lang: str = "", country: str = ""):
    """Format for `account` (its locale and time zone) in `lang`, for an order shipped to `country`."""
    shop_locale = getattr(account, "locale", "") or ""
    zone_name = getattr(account, "time_zone", "") or settings.TIME_ZONE
    lang = lang or get_language() or settings.LANGUAGE_CODE
    local = _local(lang, shop_locale, zone_name, zone_is_obvious(zone_name, country))
    token = _active.set(local)
    try:
        with timezone.override(local.zone):
            yield local
    finally:
        _active.reset(token)


@lru_cache(maxsize=256)
def _local(lang: str, shop_locale: str, zone_name: str, obvious: bool) -> Local:
    """The formats of a shop in a language (immutable, so shared by its pages)."""
    return Local(babel_locale(lang, shop_locale), _zone(zone_name), not obvious, shop_locale)


def current() -> Local:
    """The active formats; a `translation.override` inside `localized` changes the language only."""
    lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    local = _active.get()
    if local is None:
        return Local(babel_locale(lang), _zone(""), say_zone=False)
    if local.locale.language != lang:
        return Local(babel_locale(lang, local.shop_locale), local.zone, local.say_zone, local.shop_locale)
    return local


def _current_zone() -> zoneinfo.ZoneInfo:
    """The active time zone, which no language changes: read without asking for the language."""
    local = _active.get()
    return _zone("") if local is None else local.zone


def _local_datetime(value: datetime, zone: zoneinfo.ZoneInfo | None = None) -> datetime:
    return value.astimezone(zone or _current_zone()) if value.utcoffset() is not None else value


def iso(value: date | datetime | None) -> str:
    """Machine-readable, for <time datetime="…">: an aware time in the active zone."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        local = _active.get()
        value = value.astimezone(local.zone if local is not None else timezone.get_current_timezone())
    return value.isoformat()


# Pages show the same few dates, times of day and prices over and over (every checkpoint of the
# day, every order of the shop): each is formatted once per process and locale, not per page.


def short_date(value: date | datetime | None) -> str:
    """ "Tue 24 Nov" (en-GB), "Tue, Nov 24" (en-US), "Di., 24. Nov.", "mar. 24 nov.", "mar, 24 nov"."""
    if value is None:
        return ""
    return _short_date(value, current())


def _short_date(value: date | datetime, local: Local) -> str:
    if isinstance(value, datetime):
        value = _local_datetime(value, local.zone).date()
    return _skeleton("MMMEd", value, local.locale)


def long_date(value: date | datetime | None) -> str:
    """ "Nov 24, 2026" / "24. Nov. 2026": with the year, for the order date."""
    if value is None:
        return ""
    local = current()
    if isinstance(value, datetime):
        value = _local_datetime(value, local.zone).date()
    return _skeleton("yMMMd", value, local.locale)


@lru_cache(maxsize=4096)
def _skeleton(skeleton: str, value: date, locale: Locale) -> str:
    return format_skeleton(skeleton, value, locale=locale)


def time_of_day(value: datetime, *, with_zone: bool | None = None) -> str:
    """ "2:05 PM" or "14:05" as the locale writes it, with the zone when it is not obvious."""
    return _time_of_day(_local_datetime(value), current(), with_zone)


def _time_of_day(moment: datetime, local: Local, with_zone: bool | None) -> str:
    text = _short_time(moment.hour, moment.minute, local.locale)
    say_zone = local.say_zone if with_zone is None else with_zone
    zone_name = moment.tzname() if say_zone else None
    return f"{text} {zone_name}" if zone_name else text


@lru_cache(maxsize=8192)
def _short_time(hour: int, minute: int, locale: Locale) -> str:
    """The locale's short time, which shows hours and minutes only (so these decide it)."""
    return format_time(time(hour, minute), "short", locale=locale)


def date_time(value: datetime | None, *, with_zone: bool | None = None) -> str:
    """ "Tue 24 Nov, 14:05" / "Tue, Nov 24, 2:05 PM EST"."""
    if value is None:
        return ""
    local = current()  # once: asking for the active language is most of a cached format's cost
    moment = _local_datetime(value, local.zone)
    day = _skeleton("MMMEd", moment.date(), local.locale)
    return (
        _datetime_pattern(local.locale)
        .replace("{1}", day)
        .replace("{0}", _time_of_day(moment, local, with_zone))
    )


@lru_cache(maxsize=64)
def _datetime_pattern(locale: Locale) -> str:
    return str(get_datetime_format("short", locale=locale))


def money(amount: Decimal | float | None, currency: str) -> str:
    """ "$89.90", "89,90 €", "1 234,50 €"."""
    if amount is None:
        return ""
    return _money(amount, (currency or "USD").upper(), current().locale)


@lru_cache(maxsize=4096)
def _money(amount: Decimal | float, currency: str, locale: Locale) -> str:
    return format_currency(amount, currency, locale=locale)
