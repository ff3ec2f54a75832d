"""Tests for orders.carriers: carrier registry and tracking-number detection.

The check-digit helpers below are a deliberately *independent* second
implementation (different formulation, lookup tables instead of arithmetic)
so a bug in orders.carriers cannot be mirrored by the numbers we build here.
"""

import itertools
import string

import pytest

from orders.carriers import (
    CARRIER_CHOICES,
    CARRIERS,
    Candidate,
    detect_carrier,
    detect_carriers,
    get_carrier,
    normalize_tracking_number,
)

# --- independent check-digit builders ------------------------------------------------------------------


def gs1(data: str) -> str:
    """Append a GS1 mod-10 digit: positions counted 1-based from the right, odd ones weigh 3."""
    total = sum(int(d) * (3 if (len(data) - i) % 2 else 1) for i, d in enumerate(data))
    return data + str(-total % 10)


UPS_LETTERS = dict(zip(string.ascii_uppercase, "23456789012345678901234567", strict=True))


def ups(body15: str) -> str:
    """Build 1Z + body + check: 2nd, 4th, ... characters count double."""
    values = [int(UPS_LETTERS.get(c, c)) for c in body15]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return "1Z" + body15 + str(-total % 10)


def fedex12(data11: str) -> str:
    """Weights 1, 3, 7 cycling from the rightmost data digit; sum mod 11, 10 -> 0."""
    total = sum(int(d) * w for d, w in zip(reversed(data11), itertools.cycle((1, 3, 7))))
    return data11 + str(total % 11 % 10)


def s10(prefix: str, serial8: str) -> str:
    remainder = sum(int(d) * w for d, w in zip(serial8, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    check = {0: 5, 1: 0}.get(remainder, 11 - remainder)
    return f"{prefix}{serial8}{check}US"


def dhl(data9: str) -> str:
    return data9 + str(int(data9) % 7)


def bump(number: str, index: int = -1) -> str:
    """Change one digit by +5 (mod 10): always a different digit, and never one that
    happens to satisfy the implied-91 / implied-92 readings of a 20-digit number."""
    chars = list(number)
    chars[index] = str((int(chars[index]) + 5) % 10)
    return "".join(chars)


def formats(number):
    return [(c.carrier.code, c.format, c.check_digit_valid) for c in detect_carriers(number)]


# --- seed examples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code", "fmt", "valid"),
    [
        ("1Z999AA10123456784", "ups", "ups-1z", True),
        # Passes with FedEx's real weighting (3,1,7 from the left); see test_fedex_weight_direction.
        ("123456789012", "fedex", "fedex-12", True),
        # Check digits should be 7 and 4: wrong in the seed, but the shape is unmistakably USPS.
        ("9400111899223197428490", "usps", "usps-impb-22", False),
        ("9400111899223033005001", "usps", "usps-impb-22", False),
        ("TBA123456789000", "amazon", "amazon-tba", True),
        # 123456789 % 7 == 1, not 0: fails, but 10 digits fits nothing but DHL.
        ("1234567890", "dhl", "dhl-express-10", False),
    ],
)
def test_seed_examples(number, code, fmt, valid):
    """Seed numbers must detect as their documented carrier even when their check digit is wrong."""
    assert detect_carriers(number) == [Candidate(CARRIERS[code], valid, fmt, trackable_number=number)]
    assert detect_carrier(number).code == code


# --- constructed and real-world valid numbers ------------------------------------------------------------

VALID = [
    ("ups", "ups-1z", ups("999AA1012345678")),
    ("ups", "ups-1z", ups("R2W4X9A2B345678")),  # letters in every field
    ("fedex", "fedex-12", fedex12("79876543210")),
    ("fedex", "fedex-15", gs1("12345678901234")),
    ("fedex", "fedex-ground-96", "9612019" + gs1("12345670000042")),
    ("usps", "usps-impb-22", gs1("940011189922319742849")),
    ("usps", "usps-impb-20", gs1("0307179000052348374")),
    ("usps", "usps-s10", s10("RB", "12345678")),
    ("usps", "usps-s10", s10("EA", "00000000")),  # remainder 0 -> check 5
    ("usps", "usps-s10", s10("LX", "00000006")),  # 42 % 11 == 9 -> plain 11 - 9
    ("dhl", "dhl-express-10", dhl("331881002")),
    ("fedex", "fedex-smartpost-20", gs1("92" + "6129999882082117181")[2:]),
]

# Published real-world numbers: guard against this file and the module sharing a misreading of a spec.
REAL_WORLD = [
    ("ups", "ups-1z", "1Z5R89390357567127"),
    ("ups", "ups-1z", "1Z410E7W0392751591"),
    ("fedex", "fedex-12", "986578788855"),
    ("fedex", "fedex-12", "477179081230"),
    ("fedex", "fedex-15", "568283610012734"),
    ("fedex", "fedex-ground-96", "9611020987654312345672"),
    ("usps", "usps-impb-22", "9405803699300124287899"),
    ("usps", "usps-impb-20", "71969010756003077385"),  # legacy: check digit computed with implied "91"
    ("usps", "usps-s10", "RB123456785US"),  # the UPU S10 standard's own example
    ("fedex", "fedex-smartpost-20", "61299998820821171811"),  # check digit computed with implied "92"
    ("dhl", "dhl-express-10", "3318810025"),
]


@pytest.mark.parametrize(("code", "fmt", "number"), VALID + REAL_WORLD)
def test_valid_numbers_rank_first(code, fmt, number):
    """A number with a correct check digit is the top candidate and flagged valid."""
    best = detect_carriers(number)[0]
    assert (best.carrier.code, best.format, best.check_digit_valid) == (code, fmt, True)
    assert detect_carrier(number).code == code


# 20-digit flips re-rank between USPS and FedEx: covered by test_twenty_digit_ranking instead.
@pytest.mark.parametrize(("code", "fmt", "number"), [v for v in VALID if v[1] != "fedex-smartpost-20"])
def test_one_digit_change_keeps_shape_but_fails_check(code, fmt, number):
    """A typo in the check digit must not lose the carrier, only the check-digit flag."""
    index = 10 if fmt == "usps-s10" else -1
    assert (code, fmt, False) in formats(bump(number, index))
    assert detect_carrier(bump(number, index)).code == code


def test_fedex_weight_direction():
    """FedEx weights are 3,1,7 from the LEFT (= 1,3,7 from the right).

    The opposite reading (3,1,7 from the right) would reject the seed and real FedEx numbers.
    """

    def reversed_reading(data11):
        return sum(int(d) * w for d, w in zip(reversed(data11), itertools.cycle((3, 1, 7)))) % 11 % 10

    for number in ("123456789012", "986578788855", "477179081230"):
        assert fedex12(number[:11]) == number
        assert str(reversed_reading(number[:11])) != number[-1]


def test_amazon_has_no_check_digit():
    """TBA numbers have no check digit, so any digits are 'valid'; a wrong length is not Amazon."""
    assert formats("TBA000000000001") == [("amazon", "amazon-tba", True)]
    assert formats("TBA12345678900") == []


def test_ups_letter_in_check_position_is_shape_only():
    assert formats("1Z999AA1012345678X") == [("ups", "ups-1z", False)]


# --- ambiguity and ranking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (  # plain GS1 holds -> USPS first
            gs1("0307179000052348374"),
            [("usps", "usps-impb-20", True), ("fedex", "fedex-smartpost-20", False)],
        ),
        (  # only the implied-92 reading holds -> FedEx SmartPost first
            gs1("92" + "0307179000052348374")[2:],
            [("fedex", "fedex-smartpost-20", True), ("usps", "usps-impb-20", False)],
        ),
        (  # nothing holds -> both listed, USPS (more common) first
            bump(gs1("0307179000052348374")),
            [("usps", "usps-impb-20", False), ("fedex", "fedex-smartpost-20", False)],
        ),
    ],
)
def test_twenty_digit_ranking(number, expected):
    """20 digits fit USPS and FedEx SmartPost: list both, check-digit matches first."""
    assert formats(number) == expected


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("91", ("usps", "usps-impb-22")),
        ("92", ("usps", "usps-impb-22")),
        ("93", ("usps", "usps-impb-22")),
        ("94", ("usps", "usps-impb-22")),
        ("95", ("usps", "usps-impb-22")),
        ("96", ("fedex", "fedex-ground-96")),
        ("90", None),
        ("97", None),
        ("00", None),
    ],
)
def test_22_digit_prefix_rules(prefix, expected):
    """22-digit numbers are decided by their first two digits alone, never by both carriers."""
    candidates = detect_carriers(gs1(prefix + "0012345678901234567"))
    assert [(c.carrier.code, c.format) for c in candidates] == ([expected] if expected else [])


def test_fedex_96_check_covers_only_last_15_digits():
    """Changing the SCNC/service digits must not affect validity; changing the serial must."""
    number = "9611020987654312345672"
    assert formats("9622999" + number[7:]) == [("fedex", "fedex-ground-96", True)]
    assert formats(bump(number, 10)) == [("fedex", "fedex-ground-96", False)]


def test_s10_only_for_us_suffix():
    """S10 items from other postal operators are not USPS's numbers."""
    assert formats(s10("RB", "12345678")[:-2] + "GB") == []


# --- robustness and normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \t\n",
        "🚚📦",
        "x" * 500,
        "1" * 500,
        "'; DROP TABLE orders; --",
        "not a tracking number",
        "١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits: str.isdigit() is True, but not a DHL number
        "1Z999AA1012345678",  # one character short
        "TBA12345678900X",
        "\x00\x01",
        None,
        12345678901,
    ],
)
def test_garbage_never_raises(garbage):
    assert detect_carriers(garbage) == []
    assert detect_carrier(garbage) is CARRIERS["other"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1z 999 aa1 012 345 678 4", "1Z999AA10123456784"),
        (" tba-1234-5678-9000\n", "TBA123456789000"),
        ("9400\t1118\u00a09922 3197 4284 90", "9400111899223197428490"),  # tab and no-break space
        ("12345\u201367890", "1234567890"),  # en dash pasted from a word processor
        ("", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize_tracking_number(raw) == expected


def test_detection_normalises_input():
    """Shoppers paste lower-case, grouped numbers; detection must not care."""
    assert detect_carrier("1z 999 aa1-0123-4567 84").code == "ups"
    assert formats(" tba 1234 5678 9000 ") == [("amazon", "amazon-tba", True)]


# --- registry --------------------------------------------------------------------------------------------


def test_tracking_url_quotes_number():
    """The number is user input: it must not be able to add query parameters or fragments."""
    assert (
        get_carrier("ups").tracking_url("1Z 9&x=1#y")
        == "https://www.ups.com/track?tracknum=1Z%209%26x%3D1%23y"
    )


@pytest.mark.parametrize(("code", "name"), CARRIER_CHOICES)
def test_tracking_urls(code, name):
    carrier = CARRIERS[code]
    assert carrier.name == name
    url = carrier.tracking_url("ABC123")
    if code == "other":
        assert url == ""
    else:
        assert url.startswith("https://") and url.endswith("=ABC123")
    assert carrier.tracking_url("") == ""


def test_carrier_choices_stable_and_other_last():
    assert [code for code, _ in CARRIER_CHOICES] == ["ups", "fedex", "usps", "amazon", "dhl", "other"]
    assert CARRIER_CHOICES[-1] == ("other", "Other carrier")
    assert set(CARRIERS) == {code for code, _ in CARRIER_CHOICES}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("UPS", "ups"),
        (" FedEx ", "fedex"),
        ("usps", "usps"),
        ("other", "other"),
        (None, "other"),
        ("", "other"),
        ("royal-mail", "other"),
    ],
)
def test_get_carrier_fallbacks(code, expected):
    assert get_carrier(code) is CARRIERS[expected]


def test_carriers_are_immutable():
    with pytest.raises(AttributeError):
        CARRIERS["ups"].name = "Evil"
