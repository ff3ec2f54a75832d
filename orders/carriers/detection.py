"""Carrier registry and tracking-number detection (stdlib only).

Detection works in two steps: a tracking number is first matched against the
*shape* of each known format (length, prefix, character classes), then the
format's check digit is verified.  A shape match whose check digit fails is
still reported -- shop staff mistype numbers, and some published sample
numbers carry wrong check digits -- but it is flagged
``check_digit_valid=False`` and ranked below every candidate whose check digit
holds.  Among equally valid candidates the order of ``_RULES`` decides.

Supported formats (``Candidate.format``):

========================  ===========================================  ===================
format                    shape                                        check digit
========================  ===========================================  ===================
``ups-1z``                ``1Z`` + 16 alphanumerics (18 total)         UPS mod 10
``fedex-12``              12 digits                                    FedEx Express mod 11
``fedex-15``              15 digits                                    GS1 mod 10
``fedex-ground-96``       22 digits starting ``96``                    GS1 mod 10 on last 15
``usps-impb-22``          22 digits starting ``91``..``95``            GS1 mod 10
``usps-impb-20``          20 digits                                    GS1 mod 10 (or ``91``)
``fedex-smartpost-20``    20 digits                                    GS1 mod 10 with ``92``
``usps-s10``              2 letters + 9 digits + ``US``                UPU S10 mod 11
``dhl-express-10``        10 digits                                    mod 7
``amazon-tba``            ``TBA`` + 12 digits                          none (always valid)
========================  ===========================================  ===================
"""

from __future__ import annotations

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


def normalize_tracking_number(raw: str) -> str:
    """Upper-case and drop all whitespace and dashes (any Unicode dash, not just ``-``).

    Shoppers paste numbers as ``1z 999 aa1-0123 4567 84``; carriers print them
    grouped with spaces.  Non-string input normalises to "".
    """
    if not isinstance(raw, str):
        return ""
    return "".join(c for c in raw if not c.isspace() and unicodedata.category(c) != "Pd").upper()


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


def _ups_ok(number: str) -> bool:
    """UPS 1Z mod 10.

    Take the 15 characters between ``1Z`` and the check digit.  Letters become
    digits via ``(ord(c) - 63) % 10`` (A=2, B=3 ... H=9, I=0, J=1 ...), the
    mapping UPS uses.  Characters at odd positions (1st, 3rd, ...) count once,
    even positions (2nd, 4th, ...) count double; check digit =
    (10 - sum % 10) % 10.  A letter in the check position never validates.
    """
    body, check = number[2:17], number[17]
    if not check.isdigit():
        return False
    values = (int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body)
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10 == int(check)


def _fedex_express_ok(number: str) -> bool:
    """FedEx Express 12-digit mod 11.

    The first 11 digits are weighted 3, 1, 7, 3, 1, 7, ... *from the left*
    (equivalently 1, 3, 7, ... from the right, so the digit next to the check
    digit has weight 1); check digit = sum % 11, where 10 becomes 0.  The
    weight direction was confirmed against published real FedEx numbers --
    the opposite direction rejects most of them.
    """
    body, check = number[:11], int(number[11])
    total = sum(int(d) * w for d, w in zip(body, (3, 1, 7) * 4, strict=False))
    return total % 11 % 10 == check


def _fedex_ground_96_ok(number: str) -> bool:
    """FedEx Ground "96" 22-digit barcode.

    Layout: ``96`` application id, 2-digit SCNC, 3-digit service, 7-digit
    shipper id, 7-digit package id, check digit.  Per the FedEx Ground label
    spec the check digit covers only shipper id + package id, i.e. GS1 mod 10
    over the *last 15 digits* (the same rule as a 15-digit Ground number).
    """
    return _gs1_mod10_ok(number[-15:])


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


def _dhl_express_ok(number: str) -> bool:
    """DHL Express 10-digit waybill: the first 9 digits as an integer, mod 7, equal the 10th digit."""
    return int(number[:9]) % 7 == int(number[9])


def _no_check_digit(number: str) -> bool:
    """Amazon TBA numbers carry no check digit, so a shape match is as good as it gets."""
    return True


# (format, carrier code, shape, check-digit validator).  Order = priority among equally valid candidates.
# Shapes use explicit ASCII classes: str.isdigit() would accept e.g. Arabic-Indic digits.
_RULES: tuple[tuple[str, str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("ups-1z", "ups", re.compile(r"1Z[0-9A-Z]{16}"), _ups_ok),
    ("amazon-tba", "amazon", re.compile(r"TBA[0-9]{12}"), _no_check_digit),
    ("usps-impb-22", "usps", re.compile(r"9[1-5][0-9]{20}"), _gs1_mod10_ok),
    ("fedex-ground-96", "fedex", re.compile(r"96[0-9]{20}"), _fedex_ground_96_ok),
    ("usps-impb-20", "usps", re.compile(r"[0-9]{20}"), _usps_impb_20_ok),
    ("fedex-smartpost-20", "fedex", re.compile(r"[0-9]{20}"), _fedex_smartpost_20_ok),
    ("usps-s10", "usps", re.compile(r"[A-Z]{2}[0-9]{9}US"), _s10_ok),
    ("fedex-15", "fedex", re.compile(r"[0-9]{15}"), _gs1_mod10_ok),
    ("fedex-12", "fedex", re.compile(r"[0-9]{12}"), _fedex_express_ok),
    ("dhl-express-10", "dhl", re.compile(r"[0-9]{10}"), _dhl_express_ok),
)
_MAX_LEN = 22  # longest supported format; anything longer is rejected before any regex runs


def detect_carriers(tracking_number: str) -> list[Candidate]:
    """Every format the (normalised) number fits, best first.

    Candidates whose check digit holds come before mere shape matches; ties
    keep ``_RULES`` order.  Returns [] when nothing fits -- never raises, even
    for non-string input.
    """
    number = normalize_tracking_number(tracking_number)
    if not number or len(number) > _MAX_LEN:
        return []
    candidates = [
        Candidate(CARRIERS[code], validate(number), fmt)
        for fmt, code, shape, validate in _RULES
        if shape.fullmatch(number)
    ]
    return sorted(candidates, key=lambda c: not c.check_digit_valid)  # stable sort keeps rule order


def detect_carrier(tracking_number: str) -> Carrier:
    """Carrier of the best candidate, or the "other" carrier when nothing fits."""
    candidates = detect_carriers(tracking_number)
    return candidates[0].carrier if candidates else OTHER
