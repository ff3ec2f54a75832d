"""Detection of every format the five carriers print on real labels, and barcode forms.

Real numbers below come from the community dataset jkeen/tracking_number_data
(https://github.com/jkeen/tracking_number_data, MIT License, (c) 2017 Jeff Keen),
``couriers/*.json`` ``test_numbers``; each list says which file.  DHL piece ids
come from the examples of DHL's Shipment Tracking - Unified API spec.

The builders here are a second, independent implementation of the check
digits (different formulation from orders.carriers), as in test_carriers.py.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import lifecycle
from orders.carriers import (
    CARRIERS,
    Candidate,
    detect_carrier,
    detect_carriers,
    normalize_tracking_number,
    trackable_number,
)
from orders.lookup import Access, resolve

from .conftest import make_order
from .test_carriers import bump, dhl, fedex12, gs1, ups
from .test_lookup import anon


def best(number):
    candidates = detect_carriers(number)
    return (candidates[0].carrier.code, candidates[0].format, candidates[0].check_digit_valid)


def formats(number):
    return [(c.carrier.code, c.format, c.check_digit_valid) for c in detect_carriers(number)]


def ups_waybill(letter: str, serial9: str) -> str:
    total = sum(int(d) * (1, 2)[i % 2] for i, d in enumerate(serial9))
    return f"{letter}{serial9}{-total % 10}"


def tidy(raw: str) -> str:
    return "".join(c for c in raw if not c.isspace() and unicodedata.category(c) != "Pd").upper()


def dhl11(data10: str) -> str:
    return data10 + str(int(data10) % 7)


def fedex_barcode_34(head20: str, tracking12: str) -> str:
    """Express/Ground 1D barcode: 20 digits of routing data, then "00" + the 12-digit number."""
    return head20 + "00" + tracking12


# --- real numbers from the dataset ----------------------------------------------------------------------

# (carrier, format, number as published, trackable number)
REAL_VALID = [
    # couriers/ups.json
    ("ups", "ups-1z", "1Z879E930346834440", "1Z879E930346834440"),
    ("ups", "ups-1z", "1Z8V92A70367203024", "1Z8V92A70367203024"),
    ("ups", "ups-1z", "1ZXX3150YW44070023", "1ZXX3150YW44070023"),  # YW: SurePost
    ("ups", "ups-waybill", "K 150 623 562 0", "K1506235620"),
    ("ups", "ups-waybill", "J4603636537", "J4603636537"),
    ("ups", "ups-waybill", "V0490119172", "V0490119172"),
    # couriers/amazon.json
    ("amazon", "amazon-tba", "TBA010000000000", "TBA010000000000"),
    ("amazon", "amazon-tbc", "TBC 000000000000", "TBC000000000000"),
    ("amazon", "amazon-tbm", "TBM502887274000", "TBM502887274000"),
    # couriers/usps.json
    ("usps", "usps-impb-22", "9400 1112 0108 0805 4830 16", "9400111201080805483016"),
    ("usps", "usps-impb-22", "9434611206206406227577", "9434611206206406227577"),
    ("usps", "usps-impb-22", "9505 5110 6960 5048 6006 24", "9505511069605048600624"),
    ("usps", "usps-impb-22", "9361 2898 7870 0317 6337 95", "9361289878700317633795"),
    ("usps", "usps-impb-22", "9101 1234 5678 9000 0000 13", "9101123456789000000013"),
    ("usps", "usps-impb-22", "9261292700768711948021", "9261292700768711948021"),
    ("usps", "usps-impb-26", "92748931507708513018050063", "92748931507708513018050063"),
    ("usps", "usps-impb-26", "92001903060085300042901077", "92001903060085300042901077"),
    ("usps", "usps-impb-20", "7112 3456 7891 2345 6787", "71123456789123456787"),
    ("usps", "usps-420-impb-22", "420787459400111206206406260787", "9400111206206406260787"),
    ("usps", "usps-420-impb-22", "420 22153 9101026837331000039521", "9101026837331000039521"),
    ("usps", "usps-420-impb-22", "420 11213 92 6129098349792366623 8", "9261290983497923666238"),
    ("usps", "usps-420-impb-22", "420902459261290336128704042634", "9261290336128704042634"),
    ("usps", "usps-420-impb-22", "4201002334249200190132607600833457", "9200190132607600833457"),  # ZIP+4
    ("usps", "usps-420-impb-22", "4201028200009261290113185417468510", "9261290113185417468510"),  # ZIP+4
    # couriers/fedex.json
    ("fedex", "fedex-12", "799531274483", "799531274483"),
    ("fedex", "fedex-12", " 7 9 0 5 3 5 3 1 2 3 1 7 ", "790535312317"),
    ("fedex", "fedex-12", "974367662710", "974367662710"),
    ("fedex", "fedex-15", "0414 4176 0228 964", "041441760228964"),
    ("fedex", "fedex-ground-96", "9611020987654312345672", "987654312345672"),
    ("fedex", "fedex-express-34", "1001921334250001000300779017972697", "779017972697"),
    ("fedex", "fedex-express-34", "1027590111820004833500785458233610", "785458233610"),
    ("fedex", "fedex-express-34", "1 1 9 52 6 64739 3000 75211 00 8710 799 199 40", "871079919940"),
    ("fedex", "fedex-ground-34", "9622001900000000000000776632517510", "776632517510"),
    ("fedex", "fedex-ground-34", "9632001560123456789900794808390594", "794808390594"),
    ("fedex", "fedex-astra-32", "32971514560102447849175802862014", "784917580286"),
    ("fedex", "fedex-astra-32", "33810799560000004380417923803212", "438041792380"),
    ("fedex", "fedex-sscc-18", "00 0123 4500 0000 0027", "000123450000000027"),
    # couriers/dhl.json
    ("dhl", "dhl-express-10", "8487135506", "8487135506"),
    ("dhl", "dhl-express-10", "1099255990", "1099255990"),
    ("dhl", "dhl-express-11", "73891051146", "73891051146"),
    ("dhl", "dhl-express-piece", "JJD0099999999", "JJD0099999999"),
    ("dhl", "dhl-express-piece", "JVGL0999999990", "JVGL0999999990"),
    ("dhl", "dhl-express-piece", "JD014600006281230704", "JD014600006281230704"),  # DHL's API spec example
    ("dhl", "dhl-ecommerce-gm", "GM 2 9 5 117 32 25 1 7 44 9 4", "GM2951173225174494"),
    ("dhl", "dhl-ecommerce-gm", "GM295117494011169042", "GM295117494011169042"),
    ("dhl", "dhl-ecommerce-gm", "GM9E44608A27984866BA2D", "GM9E44608A27984866BA2D"),
    ("dhl", "dhl-ecommerce-14", "5108 7693037816", "51087693037816"),
    ("dhl", "dhl-ecommerce-14", "60120174971147", "60120174971147"),
]


@pytest.mark.parametrize(("code", "fmt", "number", "trackable"), REAL_VALID)
def test_real_numbers_detect_with_valid_check_digit(code, fmt, number, trackable):
    """Each published number is its carrier's top candidate, valid, with the number the carrier tracks."""
    top = detect_carriers(number)[0]
    assert (top.carrier.code, top.format, top.check_digit_valid) == (code, fmt, True)
    assert top.trackable_number == trackable
    assert detect_carrier(number).code == code


# Published as invalid in the dataset: the shape fits, the check digit does not.
REAL_INVALID = [
    ("ups", "ups-waybill", "K1506235622"),  # couriers/ups.json
    ("ups", "ups-waybill", "V0423305841"),
    ("ups", "ups-1z", "1Z1111111111111111"),
    ("usps", "usps-impb-22", "9434611206206407667131"),  # couriers/usps.json
    ("usps", "usps-impb-22", "9101 1234 5678 9000 0000 14"),
    ("usps", "usps-420-impb-22", "4201028200009261290113185417468511"),
    ("fedex", "fedex-12", "996578788855"),  # couriers/fedex.json
    ("fedex", "fedex-15", "5682 8361 0012 732"),
    ("fedex", "fedex-express-34", "1001901781990001000300617767839438"),
    ("fedex", "fedex-ground-34", "9622001560001234567100794808390595"),
    ("fedex", "fedex-astra-32", "32971514560102447849175802852014"),
    ("dhl", "dhl-express-10", "3318810034"),  # couriers/dhl.json
]


@pytest.mark.parametrize(("code", "fmt", "number"), REAL_INVALID)
def test_failed_check_digit_is_kept_as_typed_and_flagged(code, fmt, number):
    """A mistyped number still names its carrier, flagged; a barcode form is then not cut down."""
    assert best(number) == (code, fmt, False)
    typed = number.replace(" ", "")
    assert normalize_tracking_number(number) == typed
    assert trackable_number(number) == typed


@pytest.mark.parametrize(
    "number",
    [
        "2334611306206407667222",  # usps.json: no IMpb channel id
        "3297151456010244784917580286201",  # fedex.json: ASTRA one digit short
        "XJD0099999998",  # dhl.json
        "GS295117494011169041",
        "ABCDEFGHILJKLMNOPQRSTU1234567890",
        "A60120172242323",
        "601201722X2323",
        "TBB000000000000",  # amazon.json
        "TBA50288727400A",
        "2Z5R89390357567127",  # ups.json
        "1A5R89390357567127",
        "RB123456785GB",  # s10.json: an S10 number of another postal operator is not USPS's
        "GMABCDEFGHIJKLMNOP",  # GM without a single digit
    ],
)
def test_published_non_numbers_are_not_detected(number):
    assert detect_carriers(number) == []


# --- constructed numbers: every format, and a typo in each ---------------------------------------------


def test_constructed_barcodes_map_to_their_trackable_number():
    """Independent builders: 420 + ZIP / ZIP+4 / ZIP+4+2 around an IMpb, FedEx 34 around a 12."""
    impb22 = gs1("940011120620640626078")
    impb26 = gs1("9300123456123456789012345")
    for zip_code in ("78701", "787011234", "78701123401"):
        assert trackable_number("420" + zip_code + impb22) == impb22
        assert best("420" + zip_code + impb22) == ("usps", "usps-420-impb-22", True)
        assert trackable_number("420 " + zip_code + " " + impb26) == impb26
    express = fedex12("79876543210")
    assert trackable_number(fedex_barcode_34("1001921334250001" + "0003", express)) == express
    assert trackable_number(fedex_barcode_34("9622001560001234" + "5671", express)) == express
    astra = "3" + "29715" + "145" + "6010244" + express + "2014"
    assert (best(astra), trackable_number(astra)) == (("fedex", "fedex-astra-32", True), express)


@pytest.mark.parametrize(
    ("code", "fmt", "number"),
    [
        ("ups", "ups-waybill", ups_waybill("T", "123456789")),
        ("ups", "ups-waybill", ups_waybill("A", "987654321")),
        ("usps", "usps-impb-26", gs1("9300123456123456789012345")),
        ("usps", "usps-420-impb-26", "42078701" + gs1("9300123456123456789012345")),
        ("usps", "usps-420-impb-22", "42078701" + gs1("940011120620640626078")),
        ("fedex", "fedex-express-34", fedex_barcode_34("10019213342500010003", fedex12("79876543210"))),
        ("fedex", "fedex-ground-34", fedex_barcode_34("96220015600012345671", fedex12("79876543210"))),
        ("fedex", "fedex-sscc-18", gs1("00012345000000002")),
        ("dhl", "dhl-express-11", dhl11("7389105114")),
    ],
)
def test_typo_in_check_digit_keeps_carrier_but_flags_it(code, fmt, number):
    assert best(number) == (code, fmt, True)
    typo = bump(number)
    assert (code, fmt, False) in formats(typo)
    assert detect_carrier(typo).code == code


def test_ups_waybill_letters():
    """Only the service letters UPS uses (A H J K T V) start a waybill; the letter is not summed."""
    serial = "123456789"
    for letter in "AHJKTV":
        assert best(ups_waybill(letter, serial)) == ("ups", "ups-waybill", True)
    assert detect_carriers(ups_waybill("B", serial)) == []


def test_ups_mail_innovations_package_id():
    """MI + 6-digit customer number + the shipper's id (up to 22 characters); no check digit."""
    assert formats("MI123456ABC123") == [("ups", "ups-mail-innovations", True)]
    assert formats("MI123456" + "X" * 22) == [("ups", "ups-mail-innovations", True)]
    assert detect_carriers("MI123456" + "X" * 23) == []
    assert detect_carriers("MI12345") == []


# --- one repeated digit ------------------------------------------------------------------------------------


def test_one_repeated_digit_is_never_a_tracking_number():
    """ "0000000000" passes DHL's mod 7, "1111…" fits many shapes: none of them is a real number."""
    for digit, length in itertools.product("0123456789", range(1, 45)):
        number = digit * length
        assert detect_carriers(number) == [], number
        assert detect_carrier(number) is CARRIERS["other"]
        assert normalize_tracking_number(number) == number


@pytest.mark.parametrize(
    "barcode",
    [
        "9611020" + "0" * 15,  # FedEx Ground 96 around fifteen zeros (whose GS1 check "holds")
        "1" * 20 + "00" + "0" * 12,  # FedEx Express 34 around twelve zeros (mod 11 "holds")
        "96" + "1" * 18 + "00" + "0" * 12,  # FedEx Ground 34 likewise
        "3" + "1" * 15 + "0" * 12 + "1234",  # ASTRA 32 likewise
    ],
)
def test_barcode_around_a_repeated_digit_number_is_not_detected(barcode):
    """A barcode whose embedded number is one repeated digit is as empty as that number."""
    assert detect_carriers(barcode) == []
    assert normalize_tracking_number(barcode) == barcode


# --- ambiguity and ranking -----------------------------------------------------------------------------


def test_smartpost_22_lists_usps_first_then_fedex():
    """92 612 9… is a FedEx SmartPost number that USPS delivers: both can track it, USPS ranks first."""
    number = "9261290983497923666238"  # usps.json (formerly FedEx SmartPost in the dataset)
    assert formats(number) == [("usps", "usps-impb-22", True), ("fedex", "fedex-smartpost-22", True)]
    assert formats(bump(number)) == [("usps", "usps-impb-22", False), ("fedex", "fedex-smartpost-22", False)]
    # Other 92 numbers (DHL eCommerce, UPS Mail Innovations, …) are USPS's alone.
    assert formats("9200190132607600833457") == [("usps", "usps-impb-22", True)]


def test_thirty_four_digits_ranked_by_check_digit():
    """420… 34 digits may be USPS (420 + ZIP+4 + IMpb) or a FedEx Express barcode: the check digit decides."""
    # 420 + ZIP+4, then an IMpb whose digits 9-10 are "00": where the FedEx barcode has "00" + 12 digits.
    body = "420787011234" + "9400111200" + "62064062607"  # 33 digits
    usps_digit = gs1(body[12:])[-1]
    fedex_digit = fedex12(body[-11:])[-1]
    assert usps_digit != fedex_digit  # the test needs a body where the two readings disagree
    usps = formats(body + usps_digit)
    fedex = formats(body + fedex_digit)
    assert usps[0] == ("usps", "usps-420-impb-22", True)
    assert ("fedex", "fedex-express-34", False) in usps
    assert fedex[0] == ("fedex", "fedex-express-34", True)
    assert ("usps", "usps-420-impb-22", False) in fedex
    assert trackable_number(body + usps_digit) == body[12:] + usps_digit
    assert trackable_number(body + fedex_digit) == body[-11:] + fedex_digit


def test_thirty_four_digit_usps_split_by_check_digit():
    """420 + ZIP + 26-digit IMpb and 420 + ZIP+4 + 22-digit IMpb have the same length."""
    number = "42078701" + gs1("9300123456123456789012345")
    names = [c.format for c in detect_carriers(number) if c.check_digit_valid]
    assert names[0] == "usps-420-impb-26"
    assert trackable_number(number) == number[8:]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("420" + "787010" + gs1("940011120620640626078"), []),  # a 6-digit ZIP is no routing code
        ("420" + "7870" + gs1("940011120620640626078"), []),  # a 4-digit ZIP is no routing code (28 digits)
    ],
)
def test_420_needs_a_whole_routing_code(number, expected):
    assert [c.format for c in detect_carriers(number) if c.format.startswith("usps-420")] == expected


def test_candidates_name_the_trackable_number():
    number = "420 11213 92 6129098349792366623 8"
    assert detect_carriers(number) == [
        Candidate(CARRIERS["usps"], True, "usps-420-impb-22", trackable_number="9261290983497923666238")
    ]


# --- normalisation: the number that is stored ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("420 11213 9261 2909 8349 7923 6662 38", "9261290983497923666238"),
        ("4201002334249200190132607600833457", "9200190132607600833457"),
        ("1001921334250001000300779017972697", "779017972697"),
        ("32971514560102447849175802862014", "784917580286"),
        ("9611020987654312345672", "987654312345672"),
        ("1z 999 aa1 012 345 678 4", "1Z999AA10123456784"),  # not a barcode: unchanged but tidied
        ("9400 1118 9922 3197 4284 90", "9400111899223197428490"),  # check digit fails: as typed
        ("not a number", "NOTANUMBER"),
        ("", ""),
    ],
)
def test_normalize_returns_the_trackable_number(raw, stored):
    assert normalize_tracking_number(raw) == stored


@pytest.mark.django_db
def test_barcode_attached_to_an_order_is_found_by_its_trackable_number():
    """A scanned USPS barcode is stored as the IMpb USPS tracks; either form finds the order."""
    order = make_order()
    tracking = lifecycle.attach_tracking(order=order, tracking_number="420 11213 9261290983497923666238")
    assert (tracking.carrier, tracking.tracking_number) == ("usps", "9261290983497923666238")

    for typed in ("9261 2909 8349 7923 6662 38", "420112139261290983497923666238"):
        result = resolve({"tracking_number": typed}, request=anon())
        assert (result.access, result.order) == (Access.LIMITED, order)

    again = lifecycle.attach_tracking(order=order, tracking_number="9261290983497923666238")
    assert again.pk == tracking.pk and order.trackings.count() == 1


@pytest.mark.django_db
def test_fedex_barcode_attached_is_found_by_the_printed_number():
    order = make_order()
    tracking = lifecycle.attach_tracking(order=order, tracking_number="1001921334250001000300779017972697")
    assert (tracking.carrier, tracking.tracking_number) == ("fedex", "779017972697")
    result = resolve({"tracking_number": "7790 1797 2697"}, request=anon())
    assert result.order == order


# --- robustness ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        12345678901,
        b"1Z999AA10123456784",
        ["1Z999AA10123456784"],
        "1Z999AA10123456784" * 10_000,
        " " * 100_000,
        "１Ｚ９９９ＡＡ１０１２３４５６７８４",  # full-width: not ASCII, not detected
        "٩٤٠٠١١١٨٩٩٢٢٣١٩٧٤٢٨٤٩٠",  # Arabic-Indic digits of a USPS number
        "\ud800",  # lone surrogate
        "ß" * 30,  # upper-cases to two letters each
    ],
)
def test_odd_input_never_raises(raw):
    assert detect_carriers(raw) == []
    assert detect_carrier(raw) is CARRIERS["other"]
    assert isinstance(normalize_tracking_number(raw), str)
    assert isinstance(trackable_number(raw), str)


digitish = st.text(alphabet="0123456789 -", min_size=0, max_size=50)
labelish = st.from_regex(r"\A(1Z|TB[ABCM]|GM|MI|J[A-Z]{1,3}|420|96|92|3|00|[AHJKTV])[0-9A-Z ]{0,40}\Z")
anything = st.one_of(st.text(), digitish, labelish, st.none(), st.integers(), st.binary())


@settings(max_examples=400, deadline=None)
@given(anything)
def test_detection_never_raises_and_trackable_comes_from_the_input(raw):
    candidates = detect_carriers(raw)
    for candidate in candidates:
        assert candidate.carrier.code in CARRIERS
        assert candidate.trackable_number
        assert candidate.trackable_number in tidy(raw)
    assert [c.check_digit_valid for c in candidates] == sorted(
        (c.check_digit_valid for c in candidates), reverse=True
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), digitish, labelish))
def test_normalize_is_idempotent(raw):
    """Stored numbers and lookups both go through normalize: applying it twice must change nothing."""
    once = normalize_tracking_number(raw)
    assert normalize_tracking_number(once) == once


@settings(max_examples=200, deadline=None)
@given(
    zip_code=st.from_regex(r"\A([0-9]{5}|[0-9]{9}|[0-9]{11})\Z"),
    channel=st.sampled_from(["91", "92", "93", "94", "95"]),
    serial=st.from_regex(r"\A[0-9]{19}\Z"),
)
def test_any_valid_420_barcode_yields_its_impb(zip_code, channel, serial):
    impb = gs1(channel + serial)
    if len(set(impb)) == 1:
        return
    assert trackable_number("420" + zip_code + impb) == impb
    assert detect_carrier("420" + zip_code + impb).code == "usps"


def test_every_format_is_covered_by_a_valid_example():
    """Guard against a format that no test exercises."""
    from orders.carriers.detection import _FORMATS

    seen = {fmt for _, fmt, _, _ in REAL_VALID}
    seen |= {"usps-impb-20", "usps-s10", "fedex-smartpost-20", "fedex-smartpost-22", "ups-mail-innovations"}
    seen |= {"usps-420-impb-26", "fedex-smartpost-26"}
    assert {f.name for f in _FORMATS} <= seen


def test_smartpost_26():
    number = gs1("9261290123456712345678901")
    assert formats(number) == [("usps", "usps-impb-26", True), ("fedex", "fedex-smartpost-26", True)]


def test_builders_agree_with_published_numbers():
    """The independent builders reproduce published numbers, so constructed cases mean something."""
    assert ups_waybill("K", "150623562") == "K1506235620"
    assert ups("5R8939035756712") == "1Z5R89390357567127"
    assert fedex12("77901797269") == "779017972697"
    assert gs1("940011120620640626078") == "9400111206206406260787"
    assert dhl11("7389105114") == "73891051146"
    assert dhl("331881002") == "3318810025"


# --- the admin flag ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "carrier", "icon"),
    [
        ("9400111899223197428490", None, "icon-no.svg"),  # seed number: the check digit should be 7
        ("9400111899223197428497", None, "icon-yes.svg"),
        ("TBA123456789000", None, "icon-yes.svg"),  # no check digit to fail
        ("ACME-PARCEL-7", "other", "icon-unknown.svg"),  # no known format: nothing to check
    ],
)
def test_admin_shows_whether_the_check_digit_holds(admin_client, number, carrier, icon):
    """A mistyped number is accepted as typed; the shipment's admin page flags it."""
    tracking = lifecycle.attach_tracking(order=make_order(), tracking_number=number, carrier=carrier)
    assert tracking.tracking_number == normalize_tracking_number(number)
    page = admin_client.get(reverse("admin:orders_tracking_change", args=[tracking.pk])).content.decode()
    listing = admin_client.get(reverse("admin:orders_tracking_changelist")).content.decode()
    for html in (page, listing):
        shown = re.findall(r"field-check_digit[^>]*>.*?(icon-[a-z]+\.svg)", html, re.DOTALL)
        assert shown == [icon]
