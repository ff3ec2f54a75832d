"""Carrier registry and tracking-number detection (stdlib only).

Detection works in two steps: a tracking number is first matched against the
*shape* of each known format (length, prefix, character classes), then the
format's check digit is verified.  A shape match whose check digit fails is
still reported -- shop staff mistype numbers, and some published sample
numbers carry wrong check digits -- but it is flagged
``check_digit_valid=False`` and ranked below every candidate whose check digit
holds.  Among equally valid candidates the order of ``_FORMATS`` decides.
A string of one repeated digit ("0000000000") is never a tracking number.

Barcode forms -- what a scanner reads off a label, which is longer than the
number printed for humans -- carry the number the carrier tracks inside them
(``Candidate.trackable_number``).  ``normalize_tracking_number`` returns that
embedded number when the check digit holds, so an order attached with a scanned
barcode is found by the number the carrier's e-mails and API use, and vice
versa.

Formats (``Candidate.format``); "trackable" is what the carrier's API tracks:

========================  ====================================  =======================  ============
format                    shape                                 check digit              trackable
========================  ====================================  =======================  ============
``ups-1z``                ``1Z`` + 16 alphanumerics             UPS mod 10               as is
``ups-waybill``           ``A H J K T V`` + 10 digits           UPS mod 10, digits 2-10  as is
``ups-mail-innovations``  ``MI`` + 6 digits + 1-22 alnum        none                     as is
``amazon-tba``            ``TBA`` + 12 digits                   none                     as is
``amazon-tbc``            ``TBC`` + 12 digits                   none                     as is
``amazon-tbm``            ``TBM`` + 12 digits                   none                     as is
``usps-impb-22``          22 digits, ``91``..``95``             GS1 mod 10               as is
``fedex-smartpost-22``    22 digits, ``926129`` (USPS's too)    GS1 mod 10               as is
``fedex-ground-96``       22 digits, ``96`` (barcode)           GS1 mod 10, last 15      last 15
``usps-impb-26``          26 digits, ``92``..``94``             GS1 mod 10               as is
``fedex-smartpost-26``    26 digits, ``926129`` (USPS's too)    GS1 mod 10               as is
``usps-420-impb-22``      ``420`` + ZIP 5/9/11 + 22-digit IMpb  GS1 mod 10, IMpb         the IMpb
``usps-420-impb-26``      ``420`` + ZIP 5/9/11 + 26-digit IMpb  GS1 mod 10, IMpb         the IMpb
``usps-impb-20``          20 digits                             GS1 mod 10 (or ``91``+)  as is
``fedex-smartpost-20``    20 digits                             GS1 mod 10 of ``92``+    as is
``usps-s10``              2 letters + 9 digits + ``US``         UPU S10 mod 11           as is
``fedex-15``              15 digits                             GS1 mod 10               as is
``fedex-12``              12 digits                             FedEx mod 11             as is
``fedex-express-34``      34 digits, ``0``..``8`` (barcode)     FedEx mod 11, last 14    last 14 [#]_
``fedex-ground-34``       34 digits, ``96`` (barcode)           FedEx mod 11, last 14    last 14 [#]_
``fedex-astra-32``        32 digits, ``3`` (ASTRA barcode)      FedEx mod 11, 17-28      digits 17-28
``fedex-sscc-18``         18 digits, ``00`` (GS1 SSCC)          GS1 mod 10               as is
``dhl-express-10``        10 digits                             mod 7                    as is
``dhl-express-11``        11 digits                             mod 7                    as is
``dhl-express-piece``     ``J`` + 1-3 letters + 9-18 digits     none                     as is
``dhl-ecommerce-gm``      ``GM`` + 10-39 alnum, one a digit     none                     as is
``dhl-ecommerce-14``      14 digits                             none                     as is
========================  ====================================  =======================  ============

.. [#] without the leading zeros of its first two digits, i.e. the 12-digit
   FedEx number on today's labels.

Sources: the community dataset jkeen/tracking_number_data (MIT,
``couriers/*.json``: shapes, check digits, test numbers), USPS Publication 199
(IMpb: channel application identifier, 420 + ZIP routing code), UPS's "What is
a tracking number" page (``1Z``, ``T`` + 10 digits, Mail Innovations ``MI``),
FedEx Ground's bar code specification (the "96" barcode's check digit covers
shipper and package id only) and DHL's Unified Tracking API examples
(``JD…`` piece ids).  Left out on purpose: formats with neither a prefix nor a
check digit that would claim every number of their length (UPS 9- and 12-digit
freight/InfoNotice numbers, the 18-digit Mail Innovations sequence number).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

__all__ = [
    "CARRIERS",
    "CARRIER_CHOICES",
    "Candidate",
    "Carrier",
    "detect_carrier",
    "detect_carriers",
    "get_carrier",
    "normalize_tracking_number",
    "trackable_number",
]


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_url_template: str  # contains "{tracking_number}"; "" when the carrier has no tracking page

    def tracking_url(self, tracking_number: str) -> str:
        """Public tracking page for ``tracking_number``.

        The number is percent-encoded (``safe=""``) so spaces, ``&``, ``#`` or
        ``/`` in user input cannot break out of the query parameter.  Returns
        "" when there is no template or no number (a tracking page without a
        number is useless to the shopper).
        """
        if not self.tracking_url_template or not tracking_number:
            return ""
        return self.tracking_url_template.replace("{tracking_number}", quote(tracking_number, safe=""))


@dataclass(frozen=True)
class Candidate:
    carrier: Carrier
    check_digit_valid: bool
    format: str
    trackable_number: str = (
        ""  # what the carrier's API tracks: the number itself, or the one a barcode embeds
    )


_CARRIER_LIST = (
    Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
    Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={tracking_number}"),
    Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}"),
    Carrier(
        "amazon",
        "Amazon Logistics",
        "https://www.amazon.com/progress-tracker/package/?trackingId={tracking_number}",
    ),
    Carrier("dhl", "DHL", "https://www.dhl.com/us-en/home/tracking.html?tracking-id={tracking_number}"),
    Carrier("other", "Other carrier", ""),
)

CARRIERS: dict[str, Carrier] = {c.code: c for c in _CARRIER_LIST}
CARRIER_CHOICES: list[tuple[str, str]] = [(c.code, c.name) for c in _CARRIER_LIST]  # "other" last
OTHER = CARRIERS["other"]


def get_carrier(code: str | None) -> Carrier:
    """Carrier for ``code`` (case-insensitive); unknown, empty or None gives "other"."""
    if not isinstance(code, str):
        return OTHER
    return CARRIERS.get(code.strip().lower(), OTHER)


_MAX_LEN = 41  # longest supported format (GM + 39); anything longer is rejected before any regex runs
_MAX_RAW_LEN = 4 * _MAX_LEN  # room for separators between every character; longer input is never a number


def _tidy(raw: object) -> str:
    """Upper-case, without whitespace and dashes (any Unicode dash); "" for non-strings."""
    if not isinstance(raw, str):
        return ""
    if raw.isascii() and raw.isalnum():  # the usual case: nothing to drop
        return raw.upper()
    return "".join(c for c in raw if not c.isspace() and unicodedata.category(c) != "Pd").upper()


def normalize_tracking_number(raw: str) -> str:
    """The form of a tracking number that is stored and that every lookup compares against.

    Upper-case, all whitespace and dashes dropped (shoppers paste
    ``1z 999 aa1-0123 4567 84``, carriers print numbers grouped with spaces),
    and a scanned barcode form reduced to the number the carrier tracks (see
    ``trackable_number``).  Non-string input normalises to "".

    Remembered per process for recent numbers: a parcel's scans, its shopper's lookups and the
    event that names it ask for the same number again and again, and each answer takes ~30
    pattern matches.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LEN:
        return _normalize(raw)
    return _normalize_remembered(raw)


def _normalize(raw: object) -> str:
    number = _tidy(raw)
    return _trackable(number) if len(number) <= _MAX_LEN else number


_normalize_remembered = functools.lru_cache(maxsize=4096)(_normalize)


def trackable_number(tracking_number: str) -> str:
    """The number the carrier's API tracks, e.g. the IMpb inside a USPS ``420`` + ZIP barcode.

    Only a barcode form whose check digit holds is reduced: a number that
    fails its check is kept as typed, since cutting it could lose the digit
    that is wrong.  Anything else comes back normalised but unchanged.
    """
    return _trackable(_tidy(tracking_number))


def _trackable(number: str) -> str:
    candidates = _detect(number)
    if candidates and candidates[0].check_digit_valid:
        return candidates[0].trackable_number
    return number


# --- check-digit algorithms -------------------------------------------------------------------------


def _gs1_mod10_ok(number: str) -> bool:
    """GS1 / IMpb mod 10, used by USPS IMpb and FedEx Ground.

    Walking left from the digit *before* the check digit, weights alternate
    3, 1, 3, 1, ...; check digit = (10 - sum % 10) % 10.  (This is the same
    rule the FedEx Ground spec describes as "odd positions x3 from the right".)
    """
    *body, check = (int(d) for d in number)
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _ups_mod10_ok(body: str, check: str) -> bool:
    """UPS mod 10, for the 15 characters after ``1Z`` and for a waybill's 9 serial digits.

    Letters become digits via ``(ord(c) - 63) % 10`` (A=2, B=3 ... H=9, I=0,
    J=1 ...), the mapping UPS uses.  Characters at odd positions (1st, 3rd,
    ...) count once, even positions (2nd, 4th, ...) count double; check digit
    = (10 - sum % 10) % 10.  A letter in the check position never validates.
    """
    if not check.isdigit():
        return False
    values = (int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body)
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10 == int(check)


def _ups_1z_ok(number: str) -> bool:
    return _ups_mod10_ok(number[2:17], number[17])


def _ups_waybill_ok(number: str) -> bool:
    """UPS waybill (``T`` + 10 digits and its siblings): the leading letter is not part of the sum."""
    return _ups_mod10_ok(number[1:10], number[10])


def _fedex_mod11_ok(number: str) -> bool:
    """FedEx Express mod 11, for 12-digit numbers and the 14-digit field of the 34-digit barcode.

    Walking left from the digit before the check digit, weights cycle 1, 3, 7
    (for 12 digits: 3, 1, 7, ... from the left); check digit = sum % 11, where
    10 becomes 0.  The weight direction was confirmed against published real
    FedEx numbers -- the opposite direction rejects most of them.  Leading
    zeros add nothing, so the barcode's ``00`` + 12 digits checks like the 12.
    """
    *body, check = (int(d) for d in number)
    total = sum(d * (1, 3, 7)[i % 3] for i, d in enumerate(reversed(body)))
    return total % 11 % 10 == check


def _fedex_ground_96_ok(number: str) -> bool:
    """FedEx Ground "96" 22-digit barcode.

    Layout: ``96`` application id, 2-digit SCNC, 3-digit service, 7-digit
    shipper id, 7-digit package id, check digit.  Per the FedEx Ground label
    spec the check digit covers only shipper id + package id, i.e. GS1 mod 10
    over the *last 15 digits* -- which are the Ground tracking number.
    """
    return _gs1_mod10_ok(number[-15:])


def _fedex_barcode_34_ok(number: str) -> bool:
    """FedEx 34-digit barcode: the last 14 digits are the tracking number (``00`` + 12 today)."""
    return _fedex_mod11_ok(number[-14:])


def _fedex_barcode_34_trackable(number: str) -> str:
    return number[20:22].lstrip("0") + number[22:]


def _fedex_astra_ok(number: str) -> bool:
    """FedEx ASTRA 32-digit barcode: digits 17-28 are an Express number, whose check is the only one."""
    return _fedex_mod11_ok(number[16:28])


def _usps_impb_20_ok(number: str) -> bool:
    """USPS 20-digit IMpb / legacy Certified Mail number.

    GS1 mod 10 over the 20 digits.  Older 20-digit numbers were printed with
    the ``91`` application identifier dropped, and their check digit was
    computed *with* it, so GS1 mod 10 over ``"91" + number`` is accepted too.
    """
    return _gs1_mod10_ok(number) or _gs1_mod10_ok("91" + number)


def _fedex_smartpost_20_ok(number: str) -> bool:
    """FedEx SmartPost 20-digit number: a USPS IMpb whose ``92`` prefix is implied.

    GS1 mod 10 over ``"92" + number``.  The implied prefix shifts the sum by
    29, so for any 20-digit number at most one of the plain, ``91`` and ``92``
    readings can hold -- which is what disambiguates USPS from FedEx.
    """
    return _gs1_mod10_ok("92" + number)


def _s10_ok(number: str) -> bool:
    """UPU S10 international item (``RB123456785US``).

    The 8 serial digits are weighted 8, 6, 4, 2, 3, 5, 9, 7; check =
    11 - sum % 11, except that 10 becomes 0 and 11 becomes 5.
    """
    total = sum(int(d) * w for d, w in zip(number[2:10], (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    check = {10: 0, 11: 5}.get(check, check)
    return check == int(number[10])


def _dhl_mod7_ok(number: str) -> bool:
    """DHL Express 10/11-digit waybill: all digits but the last, as an integer, mod 7, equal the last."""
    return int(number[:-1]) % 7 == int(number[-1])


def _no_check_digit(number: str) -> bool:
    """Formats without a check digit (Amazon, DHL eCommerce, piece ids): a shape match is all there is."""
    return True


def _whole(number: str) -> str:
    return number


@dataclass(frozen=True)
class _Format:
    name: str
    carrier: str
    shape: re.Pattern[str]
    check: Callable[[str], bool]  # on the whole normalised number
    trackable: Callable[[str], str] = _whole


def _f(name: str, carrier: str, shape: str, check: Callable[[str], bool], trackable=_whole) -> _Format:
    return _Format(name, carrier, re.compile(shape), check, trackable)


_ZIP = "(?:[0-9]{5}|[0-9]{9}|[0-9]{11})"  # IMpb routing code after "420": ZIP, ZIP+4, ZIP+4+delivery point

# Order = priority among equally valid candidates.  Shapes use explicit ASCII classes: str.isdigit()
# would accept e.g. Arabic-Indic digits, and int() would then read them.
_FORMATS: tuple[_Format, ...] = (
    _f("ups-1z", "ups", r"1Z[0-9A-Z]{16}", _ups_1z_ok),
    _f("ups-waybill", "ups", r"[AHJKTV][0-9]{10}", _ups_waybill_ok),
    _f("ups-mail-innovations", "ups", r"MI[0-9]{6}[0-9A-Z]{1,22}", _no_check_digit),
    _f("amazon-tba", "amazon", r"TBA[0-9]{12}", _no_check_digit),
    _f("amazon-tbc", "amazon", r"TBC[0-9]{12}", _no_check_digit),
    _f("amazon-tbm", "amazon", r"TBM[0-9]{12}", _no_check_digit),
    # USPS delivers IMpb numbers whoever sold the label, so USPS ranks first; FedEx SmartPost (Ground
    # Economy) numbers -- 92, service 612, FedEx's mailer ids 9... -- are offered as the alternative.
    _f("usps-impb-22", "usps", r"9[1-5][0-9]{20}", _gs1_mod10_ok),
    _f("fedex-smartpost-22", "fedex", r"926129[0-9]{16}", _gs1_mod10_ok),
    _f("fedex-ground-96", "fedex", r"96[0-9]{20}", _fedex_ground_96_ok, lambda n: n[-15:]),
    _f("usps-impb-26", "usps", r"9[2-4][0-9]{24}", _gs1_mod10_ok),
    _f("fedex-smartpost-26", "fedex", r"926129[0-9]{20}", _gs1_mod10_ok),
    # 34 digits may be 420 + ZIP+4 + 22 or 420 + ZIP + 26; the length fixes the split for each format.
    _f(
        "usps-420-impb-22",
        "usps",
        rf"420{_ZIP}9[1-5][0-9]{{20}}",
        lambda n: _gs1_mod10_ok(n[-22:]),
        lambda n: n[-22:],
    ),
    _f(
        "usps-420-impb-26",
        "usps",
        rf"420{_ZIP}9[2-4][0-9]{{24}}",
        lambda n: _gs1_mod10_ok(n[-26:]),
        lambda n: n[-26:],
    ),
    _f("usps-impb-20", "usps", r"[0-9]{20}", _usps_impb_20_ok),
    _f("fedex-smartpost-20", "fedex", r"[0-9]{20}", _fedex_smartpost_20_ok),
    _f("usps-s10", "usps", r"[A-Z]{2}[0-9]{9}US", _s10_ok),
    _f("fedex-15", "fedex", r"[0-9]{15}", _gs1_mod10_ok),
    _f("fedex-12", "fedex", r"[0-9]{12}", _fedex_mod11_ok),
    _f("fedex-express-34", "fedex", r"[0-8][0-9]{33}", _fedex_barcode_34_ok, _fedex_barcode_34_trackable),
    _f("fedex-ground-34", "fedex", r"96[0-9]{32}", _fedex_barcode_34_ok, _fedex_barcode_34_trackable),
    _f("fedex-astra-32", "fedex", r"3[0-9]{31}", _fedex_astra_ok, lambda n: n[16:28]),
    _f("fedex-sscc-18", "fedex", r"00[0-9]{16}", _gs1_mod10_ok),
    _f("dhl-express-10", "dhl", r"[0-9]{10}", _dhl_mod7_ok),
    _f("dhl-express-11", "dhl", r"[0-9]{11}", _dhl_mod7_ok),
    _f("dhl-express-piece", "dhl", r"J[A-Z]{1,3}[0-9]{9,18}", _no_check_digit),
    _f("dhl-ecommerce-gm", "dhl", r"GM(?=[A-Z]*[0-9])[0-9A-Z]{10,39}", _no_check_digit),
    _f("dhl-ecommerce-14", "dhl", r"[0-9]{14}", _no_check_digit),
)


def _one_repeated_digit(number: str) -> bool:
    return number.isdigit() and number == number[0] * len(number)


def _detect(number: str) -> list[Candidate]:
    """Candidates for an already tidied ``number``, best first."""
    if not number or len(number) > _MAX_LEN or _one_repeated_digit(number):
        return []
    candidates = []
    for fmt in _FORMATS:
        if not fmt.shape.fullmatch(number):
            continue
        trackable = fmt.trackable(number)
        if not trackable or _one_repeated_digit(trackable):  # e.g. a barcode around a zero number
            continue
        candidates.append(Candidate(CARRIERS[fmt.carrier], fmt.check(number), fmt.name, trackable))
    return sorted(candidates, key=lambda c: not c.check_digit_valid)  # stable sort keeps _FORMATS order


def detect_carriers(tracking_number: str) -> list[Candidate]:
    """Every format the (tidied) number fits, best first.

    Candidates whose check digit holds come before mere shape matches; ties
    keep ``_FORMATS`` order.  Returns [] when nothing fits -- never raises,
    whatever the input (non-strings, huge strings, any Unicode).
    """
    if not isinstance(tracking_number, str) or len(tracking_number) > _MAX_RAW_LEN:
        return []
    return _detect(_tidy(tracking_number))


def detect_carrier(tracking_number: str) -> Carrier:
    """Carrier of the best candidate, or the "other" carrier when nothing fits."""
    candidates = detect_carriers(tracking_number)
    return candidates[0].carrier if candidates else OTHER
