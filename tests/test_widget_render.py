"""Tests for the PNG status widget renderer (pure Pillow, no database).

Golden images live in tests/golden/; regenerate them after an intended visual change with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_widget_render.py -p no:django`` and review the
diff. They are compared with a small tolerance so FreeType/Pillow upgrades do not break them.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from orders.widget import render as widget
from orders.widget.render import (
    MAX_SHIPMENT_ROWS,
    MAX_WIDTH,
    MIN_WIDTH,
    THEMES,
    ShipmentLine,
    WidgetState,
    clean_text,
    fit_text,
    render_message,
    render_widget,
    step_centers,
    widget_height,
)

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
GOLDEN_MAX_MEAN_DIFF = 2.0  # mean absolute RGB difference, 0-255 scale

BRAND = "#1e40af"
BRAND_RGB = (0x1E, 0x40, 0xAF)
STEPS = ("Ordered", "Label created", "In transit", "Out for delivery", "Delivered")
BYTE_BUDGETS = {1: 15_000, 2: 40_000}  # 600 px wide, busy state

SHIPMENTS = (
    ShipmentLine("UPS", "Out for delivery", "Arrived at facility · Austin, TX · 18 Jan 14:05", "normal"),
    ShipmentLine("DHL Express", "Delivered", "Delivered to front door · Berlin · 17 Jan 09:12", "success"),
    ShipmentLine("USPS", "Delivery attempt failed", "Notice left · Reno, NV · 16 Jan 17:40", "warning"),
    ShipmentLine("FedEx", "Exception", "Address problem · Memphis, TN · 16 Jan 08:00", "danger"),
)

HOSTILE_STRINGS = {
    "10k_chars": "A" * 10_000,
    "10k_words": "word " * 2_000,
    "emoji": "📦 Out for delivery 🚚✅🎉👩🏽‍💻🇩🇪",
    "10k_emoji": "🚚" * 10_000,
    "arabic": "تم التوصيل إلى الباب الأمامي",
    "hebrew": "החבילה נמסרה ללקוח",
    "mixed_bidi": "Order \u202eevil\u202c 1001 شحنة",
    "script_tag": "<script>alert(1)</script>",
    "controls": "a\x00b\x01c\x1b[31mred\x7f\x9b\r\n\tz",
    "nul_only": "\x00" * 50,
    "zalgo": "Z̸̢̛̛̙̘̦̺̖̲̰͉͇͓̳̗̈́̄̋͛̉̆̈́̓͂͘͝a̴̧̛̜̦̯̤̬͙̭͒̇͆̓̿l̴g̵o̸" * 200,
    "combining_only": "\u0301\u0302\u0303" * 100,
    "empty": "",
    "whitespace": " \n\t\u00a0\u2028 ",
    "lone_surrogate": "bad \ud800 surrogate",
    "format_string": "{n} {0} {n.__class__.__mro__} %s %(x)s {}",
    "zero_width": "\ufeff\u200b\u200d\u2060x",
    "cjk": "東京都渋谷区 配達済み",
    "private_use": "\ue000\U000f0000 noncharacter \uffff",
}


def make_state(**overrides: object) -> WidgetState:
    state = WidgetState(
        account_name="Acme Outdoor Supply",
        brand_color=BRAND,
        order_label="Order 1001",
        headline="In transit",
        tone="normal",
        steps=STEPS,
        current_step=3,
        date_line="Estimated delivery: Thu 18 Jan",
        shipments=SHIPMENTS[:1],
        summary="",
        as_of="As of 18 Jan 2025, 14:05 UTC",
    )
    return dataclasses.replace(state, **overrides)


def busy_state(**overrides: object) -> WidgetState:
    """Three rows plus overflow, summary and a logo: the byte-budget worst case."""
    return make_state(
        account_name="Acme Outdoor Supply Company International",
        order_label="Order 1001-2025-EU",
        headline="Out for delivery",
        current_step=4,
        shipments=SHIPMENTS,
        summary="4 packages · 1 delivered · 1 delayed",
        logo=make_logo(),
        **overrides,
    )


def make_logo(size: tuple[int, int] = (96, 48), fmt: str = "PNG") -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] // 2, size[1] - 1), fill=(220, 20, 20, 255))
    draw.ellipse((size[0] // 2, 0, size[0] - 1, size[1] - 1), fill=(250, 200, 0, 255))
    buffer = io.BytesIO()
    image.convert("RGB" if fmt == "JPEG" else "RGBA").save(buffer, fmt)
    return buffer.getvalue()


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def rgb_at(data: bytes, xy: tuple[int, int]) -> tuple[int, int, int]:
    return open_png(data).convert("RGB").getpixel(xy)  # type: ignore[return-value]


def expected_size(width: int, scale: int, shipment_count: int) -> tuple[int, int]:
    return (width * scale, widget_height(width, shipment_count) * scale)


# --- Format and geometry ----------------------------------------------------------------


@pytest.mark.parametrize("width", [MIN_WIDTH, 600, MAX_WIDTH])
@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("count", [0, 1, 3, 7])
def test_render_is_palette_png_of_exact_size(width: int, scale: int, count: int) -> None:
    image = open_png(render_widget(make_state(shipments=(SHIPMENTS * 2)[:count]), width=width, scale=scale))
    assert image.mode == "P"
    assert image.size == expected_size(width, scale, count)


def test_height_depends_only_on_visible_rows() -> None:
    heights = [widget_height(600, n) for n in range(MAX_SHIPMENT_ROWS + 2)]
    assert heights == sorted(set(heights)), "each extra visible row (and the overflow row) adds height"
    assert widget_height(600, MAX_SHIPMENT_ROWS + 1) == widget_height(600, 500)
    assert widget_height(320, 2) == widget_height(1200, 2)


def test_height_is_independent_of_text_length() -> None:
    short = make_state(shipments=SHIPMENTS[:2], summary="")
    long = dataclasses.replace(
        short,
        headline="Delayed " * 50,
        date_line="x" * 500,
        summary="s" * 900,
        shipments=tuple(dataclasses.replace(s, detail="d " * 400) for s in short.shipments),
    )
    assert open_png(render_widget(short)).size == open_png(render_widget(long)).size


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scale", [1, 2])
def test_busy_state_fits_byte_budget(theme: str, scale: int) -> None:
    assert len(render_widget(busy_state(), width=600, scale=scale, theme=theme)) <= BYTE_BUDGETS[scale]


def test_rendering_is_deterministic() -> None:
    assert render_widget(busy_state()) == render_widget(busy_state())


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"width": 10}, (MIN_WIDTH, widget_height(MIN_WIDTH, 1))),
        ({"width": 10_000}, (MAX_WIDTH, widget_height(MAX_WIDTH, 1))),
        ({"scale": 0}, (600, widget_height(600, 1))),
        ({"theme": "neon"}, (600, widget_height(600, 1))),
    ],
)
def test_out_of_range_arguments_are_clamped(kwargs: dict[str, object], size: tuple[int, int]) -> None:
    assert open_png(render_widget(make_state(), **kwargs)).size == size  # type: ignore[arg-type]


# --- Progress bar -----------------------------------------------------------------------


def test_step_centers_are_spread_inside_the_image() -> None:
    assert step_centers(600, 0) == []
    centres = step_centers(600, 5, scale=2)
    xs = [x for x, _ in centres]
    assert xs == sorted(xs)
    assert len({y for _, y in centres}) == 1
    assert xs[0] > 0 and xs[-1] < 1200
    assert step_centers(600, 5) == [(x // 2, y // 2) for x, y in centres]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scale", [1, 2])
def test_current_step_is_brand_coloured_and_future_step_is_grey(theme: str, scale: int) -> None:
    data = render_widget(make_state(current_step=3), scale=scale, theme=theme)
    done, _, current, future, _ = step_centers(600, len(STEPS), scale=scale)
    assert rgb_at(data, current) == BRAND_RGB
    above_check_mark = (done[0], done[1] - 6 * scale)
    assert rgb_at(data, above_check_mark) == BRAND_RGB
    assert rgb_at(data, future) == widget._THEMES[theme].track, "future steps use the grey track colour"


def test_current_step_zero_highlights_nothing() -> None:
    data = render_widget(make_state(current_step=0))
    assert all(rgb_at(data, centre) != BRAND_RGB for centre in step_centers(600, len(STEPS)))


@pytest.mark.parametrize("current_step", [-5, 99, "3", None])
@pytest.mark.parametrize("steps", [(), ("Only",), tuple(f"Step {i}" for i in range(40))])
def test_odd_step_inputs_do_not_crash(current_step: object, steps: tuple[str, ...]) -> None:
    open_png(render_widget(make_state(steps=steps, current_step=current_step)))


# --- Golden images ----------------------------------------------------------------------

GOLDEN_CASES = {
    "in_transit_light_600x1": (
        make_state(shipments=SHIPMENTS[:2], summary="2 packages · 0 delivered"),
        1,
        "light",
    ),
    "delivered_dark_600x1": (
        make_state(
            headline="Delivered",
            tone="success",
            current_step=5,
            date_line="Delivered Mon 15 Jan",
            shipments=(dataclasses.replace(SHIPMENTS[1], carrier_name="UPS"),),
        ),
        1,
        "dark",
    ),
    "exception_light_600x2": (
        make_state(
            brand_color="#fde047",  # too light for text on white: exercises contrast fallbacks
            headline="Delivery problem",
            tone="danger",
            date_line="",
            shipments=SHIPMENTS,
            summary="4 packages · 1 delivered",
        ),
        2,
        "light",
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_matches_golden_image(name: str) -> None:
    state, scale, theme = GOLDEN_CASES[name]
    actual = open_png(render_widget(state, scale=scale, theme=theme)).convert("RGB")
    path = GOLDEN_DIR / f"{name}.png"
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_bytes(render_widget(state, scale=scale, theme=theme))
    assert path.exists(), f"missing golden {path.name}; run with UPDATE_GOLDEN=1 to create it"
    expected = open_png(path.read_bytes()).convert("RGB")
    assert actual.size == expected.size
    diff = ImageStat.Stat(ImageChops.difference(actual, expected)).mean
    assert sum(diff) / len(diff) < GOLDEN_MAX_MEAN_DIFF, f"{name} differs from its golden image: {diff}"


# --- Hostile input ----------------------------------------------------------------------


def hostile_state(text: str) -> WidgetState:
    line = ShipmentLine(text, text, text, "danger")
    return make_state(
        account_name=text,
        order_label=text,
        headline=text,
        date_line=text,
        steps=(text,) * 5,
        shipments=(line,) * 5,
        summary=text,
        as_of=text,
        more_text=text,
    )


@pytest.mark.parametrize("name", sorted(HOSTILE_STRINGS))
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scale", [1, 2])
def test_hostile_strings_render(name: str, theme: str, scale: int) -> None:
    data = render_widget(hostile_state(HOSTILE_STRINGS[name]), scale=scale, theme=theme)
    image = open_png(data)
    assert image.mode == "P"
    assert image.size == expected_size(600, scale, 5)
    open_png(render_message(HOSTILE_STRINGS[name], HOSTILE_STRINGS[name], scale=scale, theme=theme))


@pytest.mark.parametrize("brand", ["", "red", "#zzzzzz", "#FFF", "#000000", "#ffffff", "  #1e40af  ", None])
@pytest.mark.parametrize("theme", THEMES)
def test_any_brand_colour_renders(brand: object, theme: str) -> None:
    open_png(render_widget(make_state(brand_color=brand), theme=theme))


@pytest.mark.parametrize("tone", ["normal", "success", "warning", "danger", "muted", "bogus"])
def test_every_tone_renders(tone: str) -> None:
    line = dataclasses.replace(SHIPMENTS[0], tone=tone)
    open_png(render_widget(make_state(tone=tone, shipments=(line,))))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("brand", ["#ffffff", "#fde047", "#000000", "#111827"])
def test_header_text_contrasts_with_any_brand(theme: str, brand: str) -> None:
    image = open_png(render_widget(make_state(brand_color=brand), theme=theme)).convert("L")
    band = image.crop((0, 0, 600, widget.HEADER_H - 2))
    low, high = band.getextrema()
    assert high - low > 150, "account name must stand out from the brand band"


def test_more_text_is_substituted_not_formatted() -> None:
    state = make_state(shipments=SHIPMENTS, more_text="{n.__class__} {0} {} +{n}")
    open_png(render_widget(state))


# --- Text helpers -----------------------------------------------------------------------


def test_clean_text_keeps_markup_literal_and_drops_undrawable_characters() -> None:
    assert clean_text("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert clean_text("a\x00b\u202ec\u200bd") == "abcd"
    assert clean_text("📦 Delivered 🎉") == "Delivered"
    assert clean_text("  Out\n\tfor   delivery ") == "Out for delivery"
    assert clean_text("תודה") == "תודה"
    assert clean_text("Cafe\u0301") == "Café"


def test_clean_text_caps_length_with_ellipsis() -> None:
    cleaned = clean_text("A" * 10_000)
    assert cleaned.endswith("…")
    assert len(cleaned) <= widget.MAX_TEXT_CHARS + 1


def test_fit_text_shortens_with_ellipsis_within_width() -> None:
    font = widget._font("regular", 14)
    text = "Arrived at facility · Austin, TX · 18 Jan 14:05"
    assert fit_text(text, font, 10_000) == text
    short = fit_text(text, font, 120)
    assert short.endswith("…")
    assert font.getlength(short) <= 120
    assert text.startswith(short[:-1])
    assert fit_text(text, font, 2) == ""
    assert fit_text("", font, 100) == ""


# --- Notice image -----------------------------------------------------------------------


@pytest.mark.parametrize("width", [MIN_WIDTH, 600, MAX_WIDTH])
@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("theme", THEMES)
def test_render_message_has_empty_widget_size(width: int, scale: int, theme: str) -> None:
    body = "We could not load this order right now. Please try again later. " * 20
    image = open_png(render_message("Order status unavailable", body, width=width, scale=scale, theme=theme))
    assert image.mode == "P"
    assert image.size == expected_size(width, scale, 0)


def test_render_message_without_body() -> None:
    assert open_png(render_message("Invalid widget parameters")).size == expected_size(600, 1, 0)


# --- Logo -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("scale", [1, 2])
def test_logo_is_drawn_in_the_header(fmt: str, scale: int) -> None:
    data = render_widget(make_state(logo=make_logo(fmt=fmt)), scale=scale)
    assert data != render_widget(make_state(), scale=scale)
    r, g, b = rgb_at(data, (widget.PAD_X * scale + 4 * scale, widget.HEADER_H * scale // 2))
    assert r > 180 and g < 80 and b < 80, "the red half of the logo sits at the left of the header"


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("scale", [1, 2])
def test_images_are_saved_smaller_with_the_same_pixels(theme: str, scale: int) -> None:
    """optimize=True: fewer bytes than the compression level 4 images were saved with before,
    decoding to exactly the same palette and pixels."""
    data = render_widget(busy_state(), width=600, scale=scale, theme=theme)
    drawn = open_png(data)
    before = io.BytesIO()
    drawn.save(before, "PNG", compress_level=4)
    assert len(data) < 0.96 * len(before.getvalue())
    again = open_png(before.getvalue())
    assert (again.mode, again.getpalette()) == (drawn.mode, drawn.getpalette())
    assert again.tobytes() == drawn.tobytes()
    assert again.convert("RGB").tobytes() == drawn.convert("RGB").tobytes()
    assert widget.encode_png(again) == data  # the renderer's bytes are exactly the optimised encoding


@pytest.mark.parametrize(
    "logo",
    [b"", b"not an image", make_logo()[:60], b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, b"GIF89a" + b"\xff" * 20],
)
def test_corrupt_logo_is_skipped(logo: bytes) -> None:
    assert render_widget(make_state(logo=logo)) == render_widget(make_state())


def test_decoded_logos_are_cached() -> None:
    logo = make_logo(size=(64, 64))
    render_widget(make_state(logo=logo))
    hits = widget._fitted_logo.cache_info().hits
    render_widget(make_state(logo=bytes(logo), order_label="Order 1002"))
    assert widget._fitted_logo.cache_info().hits == hits + 1
