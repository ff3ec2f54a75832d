"""PNG order-status widget for shipping emails.

Pure rendering layer: an already-localised :class:`WidgetState` goes in, PNG bytes come out.
No Django, no I/O beyond reading the bundled fonts, so it is trivially testable and cacheable
by the HTTP layer.

Design choices, measured rather than guessed (see ``bench/widget_render.py``):

* Everything is drawn at ``scale`` x in RGB (antialiased text needs it) and then mapped onto a
  small *fixed* palette with ``Image.quantize(palette=..., dither=NONE)``. The palette holds
  each theme colour plus ramps between every foreground/background pair we draw, so
  antialiased edges quantize cleanly; this is ~5x faster than adaptive quantizers, keeps
  brand pixels exact and gives small 8-bit PNGs.
* Fonts are the bundled DejaVu Sans files with Pillow's BASIC layout engine, never system
  fonts or libraqm (whose availability differs per machine), so output is identical
  everywhere. The trade-off: right-to-left scripts are drawn unshaped in logical order.
* The image height depends only on width and the number of shipment rows shown, never on the
  text, so email layouts do not jump between updates.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from orders import colors
from orders.colors import contrast

__all__ = [
    "MAX_SHIPMENT_ROWS",
    "MAX_STEPS",
    "MAX_WIDTH",
    "MIN_WIDTH",
    "THEMES",
    "ShipmentLine",
    "Tone",
    "WidgetState",
    "clean_text",
    "fit_text",
    "render_message",
    "render_widget",
    "step_centers",
    "truncated_texts",
    "widget_height",
]

Tone = Literal["normal", "success", "warning", "danger", "muted"]
RGB = colors.RGB

TONES: tuple[str, ...] = ("normal", "success", "warning", "danger", "muted")
THEMES = ("light", "dark")
MIN_WIDTH, MAX_WIDTH = 320, 1200
DEFAULT_WIDTH = 600
MIN_SCALE, MAX_SCALE = 1, 3
MAX_SHIPMENT_ROWS = 3
MAX_STEPS = 10  # more steps than this cannot get legible labels even at MAX_WIDTH

ELLIPSIS = "…"


@dataclass(frozen=True)
class ShipmentLine:
    carrier_name: str
    status_text: str
    detail: str
    tone: Tone


@dataclass(frozen=True)
class WidgetState:
    account_name: str
    brand_color: str
    order_label: str
    headline: str
    tone: Tone
    steps: tuple[str, ...]
    current_step: int
    date_line: str
    shipments: tuple[ShipmentLine, ...]
    summary: str
    as_of: str
    more_text: str = "+{n} more"
    logo: bytes | None = None
    # Per-language short step labels, used when the full ones do not fit their columns.
    short_steps: tuple[str, ...] = ()
    # "Step {n} of {total}: {label}", drawn instead of step labels when not even short ones fit.
    step_of: str = ""


# --- Layout (CSS pixels at scale 1; every coordinate is multiplied by ``scale``) -------------

PAD_X = 20
HEADER_H = 48
HEADER_BASELINE = 30
HEADER_GAP = 12  # between account name and order label
ORDER_LABEL_MAX_SHARE = 0.45  # of the content width
LOGO_MAX_H = 28
LOGO_MAX_W = 120
LOGO_GAP = 10

HEADLINE_BASELINE = 86
DATE_BASELINE = 110
HEADLINE_WRAPPED_BASELINES = (72, 93)  # two lines at most 18 px, measured to clear the steps' halo
DATE_WRAPPED_BASELINE = 114
HEADER_STACKED_NAME_BASELINE = 21
HEADER_STACKED_ORDER_BASELINE = 39

STEPS_CY = 142
STEP_TRACK_H = 4
STEP_R_DONE = 8
STEP_R_CURRENT = 10
STEP_R_HALO = 15
STEP_R_FUTURE = 7
STEP_LABEL_BASELINE = 174
STEP_LABEL_PAD = 3  # each side, inside a step's column

BODY_END = 190  # divider above the shipment rows
SHIPMENTS_PAD_TOP = 4
SHIPMENT_ROW_H = 46
SHIPMENT_TEXT_X = 14  # indent after the tone dot
SHIPMENT_DOT_R = 4
SHIPMENT_DOT_RISE = 5  # dot centre above the baseline: middle of the x-height at 14 px
SHIPMENT_STATUS_BASELINE = 20
SHIPMENT_DETAIL_BASELINE = 38
CARRIER_MAX_SHARE = 0.4
CARRIER_GAP = 8
OVERFLOW_ROW_H = 22
OVERFLOW_BASELINE = 15
SUMMARY_ROW_H = 24
SUMMARY_BASELINE = 17
FOOTER_H = 30
FOOTER_BASELINE_FROM_BOTTOM = 11

MESSAGE_ACCENT_H = 6
MESSAGE_TITLE_BASELINE = 64
MESSAGE_BODY_BASELINE = 96
MESSAGE_BODY_LINE_H = 21
MESSAGE_BODY_MAX_LINES = 4

# (weight, CSS px size) per text role.
FONT_ACCOUNT = ("bold", 15)
FONT_ORDER = ("regular", 13)
FONT_HEADLINE = ("bold", 24)
FONT_DATE = ("regular", 14)
FONT_STEP = ("regular", 12)
FONT_STEP_CURRENT = ("bold", 12)
FONT_CARRIER = ("bold", 14)
FONT_STATUS = ("regular", 14)
FONT_DETAIL = ("regular", 12)
FONT_MORE = ("regular", 12)
FONT_SUMMARY = ("regular", 13)
FONT_FOOTER = ("regular", 11)
FONT_MESSAGE_TITLE = ("bold", 20)
# Smaller sizes tried in turn when a text does not fit at its usual size.
FONT_ACCOUNT_SIZES = (FONT_ACCOUNT, ("bold", 14), ("bold", 13), ("bold", 12))
FONT_ORDER_STACKED = ("regular", 12)
FONT_HEADLINE_SIZES = (FONT_HEADLINE, ("bold", 22), ("bold", 20))
FONT_HEADLINE_WRAPPED_SIZES = (("bold", 18), ("bold", 16), ("bold", 15))
FONT_DATE_SIZES = (FONT_DATE, ("regular", 13), ("regular", 12))
FONT_DATE_WRAPPED = ("regular", 12)
FONT_STEP_OF_SIZES = (FONT_STEP_CURRENT, ("bold", 11))
FONT_MESSAGE_BODY = ("regular", 14)

# --- Encoding -------------------------------------------------------------------------------

RAMP_STEPS = 7  # antialiasing shades between each foreground/background pair in the palette
PALETTE_PRUNE_ROUNDS = 8
SUPERSAMPLE = 4  # ImageDraw shapes are not antialiased: draw masks at 4x and box-reduce

# --- Colours --------------------------------------------------------------------------------

WHITE: RGB = (255, 255, 255)
INK: RGB = (17, 24, 39)
DEFAULT_BRAND: RGB = (37, 99, 235)
MIN_TEXT_CONTRAST = 4.5  # WCAG AA for normal text
MIN_SHAPE_CONTRAST = 1.6  # below this a brand-filled circle gets an outline
HALO_ALPHA = 0.25


@dataclass(frozen=True)
class _Theme:
    bg: RGB
    text: RGB
    secondary: RGB
    muted: RGB
    track: RGB
    divider: RGB
    success: RGB
    warning: RGB
    danger: RGB


_THEMES: dict[str, _Theme] = {
    "light": _Theme(
        bg=WHITE,
        text=INK,
        secondary=(75, 85, 99),
        muted=(107, 114, 128),
        track=(209, 213, 219),
        divider=(229, 231, 235),
        success=(21, 128, 61),
        warning=(180, 83, 9),
        danger=(185, 28, 28),
    ),
    "dark": _Theme(
        bg=(17, 24, 39),
        text=(243, 244, 246),
        secondary=(209, 213, 219),
        muted=(156, 163, 175),
        track=(75, 85, 99),
        divider=(55, 65, 81),
        success=(74, 222, 128),
        warning=(251, 191, 36),
        danger=(248, 113, 113),
    ),
}


@dataclass(frozen=True)
class _Colors:
    """Every colour one render may draw, resolved for a (theme, brand colour) pair."""

    theme: _Theme
    brand: RGB
    on_brand: RGB  # text on the brand band and check marks inside brand circles
    accent: RGB  # brand colour adjusted to be legible as text on the theme background
    halo: RGB  # ring around the current step
    edge: RGB | None  # outline for brand shapes when the brand colour vanishes into bg
    band_rule: RGB | None  # line under the header when the band vanishes into bg

    def tone(self, tone: str, *, normal: RGB | None = None) -> RGB:
        t = self.theme
        return {
            "success": t.success,
            "warning": t.warning,
            "danger": t.danger,
            "muted": t.muted,
        }.get(tone, normal or self.accent)


def _mix(fg: RGB, bg: RGB, alpha: float) -> RGB:
    return (
        round(fg[0] * alpha + bg[0] * (1 - alpha)),
        round(fg[1] * alpha + bg[1] * (1 - alpha)),
        round(fg[2] * alpha + bg[2] * (1 - alpha)),
    )


def _legible(color: RGB, bg: RGB, toward: RGB) -> RGB:
    """Nudge ``color`` toward ``toward`` until it reaches text contrast on ``bg``."""
    for step in range(11):
        candidate = _mix(toward, color, step / 10)
        if contrast(candidate, bg) >= MIN_TEXT_CONTRAST:
            return candidate
    return toward


_HEX_RE = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def _parse_hex(value: object) -> RGB:
    """Parse ``#rrggbb``/``#rgb``; anything else falls back to the default brand colour."""
    match = _HEX_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        return DEFAULT_BRAND
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


@lru_cache(maxsize=256)
def _colors(theme_name: str, brand: RGB) -> _Colors:
    theme = _THEMES[theme_name]
    on_brand = max((WHITE, INK), key=lambda c: contrast(c, brand))
    low_contrast = contrast(brand, theme.bg) < MIN_SHAPE_CONTRAST
    return _Colors(
        theme=theme,
        brand=brand,
        on_brand=on_brand,
        accent=_legible(brand, theme.bg, theme.text),
        halo=_mix(brand, theme.bg, HALO_ALPHA),
        edge=theme.muted if low_contrast else None,
        band_rule=theme.divider if low_contrast else None,
    )


def _solid_colors(colors: _Colors) -> tuple[RGB, ...]:
    """Colours drawn as flat fills; these must survive quantization exactly."""
    t = colors.theme
    solids = (t.bg, t.text, t.secondary, t.muted, t.track, t.divider, t.success, t.warning, t.danger)
    solids += (colors.brand, colors.on_brand, colors.accent, colors.halo)
    return tuple(dict.fromkeys(solids + ((colors.edge,) if colors.edge else ())))


def _ramp_colors(colors: _Colors) -> list[RGB]:
    """Antialiasing shades between every foreground/background pair the painter draws."""
    t = colors.theme
    pairs = [(fg, t.bg) for fg in (t.text, t.secondary, t.muted, t.track, t.success, t.warning, t.danger)]
    pairs += [
        (colors.accent, t.bg),
        (colors.brand, t.bg),
        (colors.halo, t.bg),
        (colors.brand, colors.halo),
        (colors.brand, t.track),
        (colors.on_brand, colors.brand),
    ]
    if colors.edge:
        pairs += [(colors.edge, t.bg), (colors.brand, colors.edge)]
    return [_mix(fg, bg, k / (RAMP_STEPS + 1)) for fg, bg in pairs for k in range(1, RAMP_STEPS + 1)]


def _make_palette(entries: list[RGB]) -> Image.Image:
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for c in entries for v in c])
    return palette


def _quantize(image: Image.Image, palette: Image.Image) -> Image.Image:
    return image.quantize(palette=palette, dither=Image.Dither.NONE)


@lru_cache(maxsize=256)
def _palette_image(colors: _Colors, extra: tuple[RGB, ...] = ()) -> Image.Image:
    """Fixed quantization palette: flat colours, antialiasing ramps, then logo colours.

    Pillow maps a pixel to the palette entry nearest its 4x4x4 cache cell's corner, so a
    ramp shade a few units from a flat colour can steal it (white turning 249,250,250).
    Such shades are pruned until every flat colour maps onto itself.
    """
    solids = _solid_colors(colors)
    entries = list(dict.fromkeys([*solids, *_ramp_colors(colors), *extra]))[:256]
    probe = Image.new("RGB", (len(solids), 1))
    probe.putdata(list(solids))
    for _ in range(PALETTE_PRUNE_ROUNDS):
        palette = _make_palette(entries)
        mapped = [entries[i] for i in _quantize(probe, palette).tobytes()]
        stolen = {got for want, got in zip(solids, mapped, strict=True) if got != want} - set(solids)
        if not stolen:
            break
        entries = [c for c in entries if c not in stolen]
    return palette


# --- Fonts ----------------------------------------------------------------------------------

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILES: dict[str, str] = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


@lru_cache(maxsize=64)
def _font(weight: str, size_px: int) -> ImageFont.FreeTypeFont:
    """Bundled font only, BASIC layout: identical output on every machine."""
    path = FONT_DIR / FONT_FILES[weight]
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=2)
def _charset(weight: str) -> frozenset[int]:
    """Code points the bundled font has real glyphs for (so we can drop the rest)."""
    return _cmap_codepoints((FONT_DIR / FONT_FILES[weight]).read_bytes())


def _cmap_codepoints(font: bytes) -> frozenset[int]:
    """Read the Unicode ``cmap`` of a TrueType font (formats 4 and 12); Pillow exposes none."""
    (num_tables,) = struct.unpack_from(">H", font, 4)
    tables = {
        font[12 + 16 * i : 16 + 16 * i]: struct.unpack_from(">I", font, 20 + 16 * i)[0]
        for i in range(num_tables)
    }
    cmap = tables[b"cmap"]
    (num_subtables,) = struct.unpack_from(">H", font, cmap + 2)
    offsets: dict[tuple[int, int], int] = {}
    for i in range(num_subtables):
        platform, encoding, offset = struct.unpack_from(">HHI", font, cmap + 4 + 8 * i)
        offsets[(platform, encoding)] = cmap + offset
    if (3, 10) in offsets:
        return _cmap_format12(font, offsets[(3, 10)])
    return _cmap_format4(font, offsets[(3, 1)])


def _cmap_format12(font: bytes, at: int) -> frozenset[int]:
    (groups,) = struct.unpack_from(">I", font, at + 12)
    points: set[int] = set()
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", font, at + 16 + 12 * i)
        points.update(range(start + (glyph == 0), end + 1))
    return frozenset(points)


def _cmap_format4(font: bytes, at: int) -> frozenset[int]:
    seg_count = struct.unpack_from(">H", font, at + 6)[0] // 2
    ends_at = at + 14
    starts_at = ends_at + 2 * seg_count + 2
    deltas_at = starts_at + 2 * seg_count
    range_offsets_at = deltas_at + 2 * seg_count
    points: set[int] = set()
    for i in range(seg_count):
        (end,) = struct.unpack_from(">H", font, ends_at + 2 * i)
        (start,) = struct.unpack_from(">H", font, starts_at + 2 * i)
        (delta,) = struct.unpack_from(">h", font, deltas_at + 2 * i)
        range_at = range_offsets_at + 2 * i
        (range_offset,) = struct.unpack_from(">H", font, range_at)
        for code in range(start, min(end, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                (glyph,) = struct.unpack_from(">H", font, range_at + range_offset + 2 * (code - start))
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                points.add(code)
    return frozenset(points)


# --- Text -----------------------------------------------------------------------------------

MAX_INPUT_CHARS = 1000  # hostile 10k-char strings are cut before any per-character work
MAX_TEXT_CHARS = 400  # wider than any line at MAX_WIDTH, so a cut here is always visible
MAX_MARKS_PER_BASE = 2  # "zalgo" stacks would otherwise paint over neighbouring rows


def clean_text(value: object, weight: str = "regular") -> str:
    """Make caller text safe to draw as plain text with the bundled font.

    Control/format characters (NUL, bidi overrides, zero-width joiners...), surrogates,
    private-use and unassigned code points and glyphs the font lacks (most emoji) are
    dropped; whitespace runs collapse to one space; combining marks are capped per base.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    truncated = len(text) > MAX_INPUT_CHARS
    text = text[:MAX_INPUT_CHARS]
    if not (text.isascii() and text.isprintable()):  # printable ASCII is always in the font
        text = "".join(_drawable_chars(unicodedata.normalize("NFC", text), _charset(weight)))
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        text, truncated = text[:MAX_TEXT_CHARS], True
    return text + ELLIPSIS if truncated else text


def _drawable_chars(text: str, charset: frozenset[int]) -> list[str]:
    out: list[str] = []
    marks = 0
    base_kept = False
    for ch in text:
        category = unicodedata.category(ch)
        kind = category[0]
        if kind == "Z" or ch in "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85":
            out.append(" ")
            base_kept, marks = False, 0
        elif kind == "C":
            continue
        elif kind == "M":
            marks += 1
            if base_kept and marks <= MAX_MARKS_PER_BASE and ord(ch) in charset:
                out.append(ch)
        else:
            base_kept, marks = ord(ch) in charset, 0
            if base_kept:
                out.append(ch)
    return out


def fit_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> str:
    """Shorten ``text`` with a trailing ellipsis so it is at most ``max_width`` pixels wide."""
    return _fit(text, font, max_width)[0]


def _fit(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> tuple[str, float]:
    """Like :func:`fit_text`, also returning the drawn width in pixels."""
    if not text or max_width <= 0:
        return "", 0.0
    width = font.getlength(text)
    if width <= max_width:
        return text, width
    budget = max_width - font.getlength(ELLIPSIS)
    if budget < 0:
        return "", 0.0
    cut = _longest_prefix(text, font, budget, guess=int(len(text) * budget / width))
    while cut and unicodedata.combining(text[cut]):  # never split a base from its marks
        cut -= 1
    shortened = text[:cut].rstrip() + ELLIPSIS
    return shortened, font.getlength(shortened)


def _longest_prefix(text: str, font: ImageFont.FreeTypeFont, budget: float, guess: int) -> int:
    """Largest n < len(text) with text[:n] within ``budget`` (known: the whole text is not).

    Starts at a proportional guess and gallops to bracket the answer before bisecting, so
    every probe measures a prefix near the final length instead of halves of a long string.
    """

    def fits(n: int) -> bool:
        return font.getlength(text[:n]) <= budget

    guess = min(max(guess, 0), len(text) - 1)
    step = 1
    if fits(guess):  # answer in [guess, len - 1]: gallop upward
        lo = guess
        while lo + step < len(text) and fits(lo + step):
            lo, step = lo + step, step * 2
        hi = min(lo + step, len(text)) - 1
    else:  # answer in [0, guess - 1]: gallop downward
        hi = guess - 1
        while hi - step > 0 and not fits(hi - step):
            hi, step = hi - step - 1, step * 2
        lo = max(hi - step, 0)
    while lo < hi:  # invariant: text[:lo] fits, nothing beyond hi does
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; the last allowed line takes the rest and is shortened to fit."""
    words = text.split(" ") if text else []
    lines: list[str] = []
    while words and len(lines) < max_lines - 1:
        count = 1
        while count < len(words) and font.getlength(" ".join(words[: count + 1])) <= max_width:
            count += 1
        lines.append(" ".join(words[:count]))
        words = words[count:]
    if words:
        lines.append(" ".join(words))
    return [fit_text(line, font, max_width) for line in lines]


# --- Shapes ---------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _disc_mask(radius_px: float) -> tuple[Image.Image, int]:
    """Antialiased disc mask and its centre offset; ImageDraw.ellipse has no antialiasing."""
    half = math.ceil(radius_px) + 1
    size = (2 * half + 1) * SUPERSAMPLE
    centre = (half + 0.5) * SUPERSAMPLE
    r = radius_px * SUPERSAMPLE
    big = Image.new("L", (size, size), 0)
    ImageDraw.Draw(big).ellipse((centre - r, centre - r, centre + r - 1, centre + r - 1), fill=255)
    return big.reduce(SUPERSAMPLE), half


@lru_cache(maxsize=16)
def _check_mask(radius_px: float) -> tuple[Image.Image, int]:
    """Antialiased check mark sized for a step circle of ``radius_px``."""
    half = math.ceil(radius_px) + 1
    size = (2 * half + 1) * SUPERSAMPLE
    c = (half + 0.5) * SUPERSAMPLE
    r = radius_px * SUPERSAMPLE
    points = [(c - 0.45 * r, c + 0.02 * r), (c - 0.12 * r, c + 0.35 * r), (c + 0.45 * r, c - 0.3 * r)]
    big = Image.new("L", (size, size), 0)
    ImageDraw.Draw(big).line(points, fill=255, width=max(1, round(0.22 * r)), joint="curve")
    return big.reduce(SUPERSAMPLE), half


# --- Logo -----------------------------------------------------------------------------------

LOGO_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
LOGO_MAX_BYTES = 5_000_000
LOGO_MAX_PIXELS = 25_000_000  # refuse decompression bombs before decoding
LOGO_COLORS = 48  # palette slots reserved for the logo
LOGO_CACHE_SIZE = 32


@dataclass(frozen=True)
class _LogoKey:
    """Cache key hashing the logo by digest; the bytes ride along but are not compared."""

    digest: bytes
    data: bytes = field(compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class _Logo:
    image: Image.Image  # RGB, flattened onto the band, only ``colors`` used
    colors: tuple[RGB, ...]


def _logo_for(data: object, scale: int, band: RGB) -> _Logo | None:
    if not isinstance(data, bytes | bytearray) or not data or len(data) > LOGO_MAX_BYTES:
        return None
    key = _LogoKey(hashlib.blake2b(data, digest_size=16).digest(), bytes(data))
    return _fitted_logo(key, LOGO_MAX_H * scale, LOGO_MAX_W * scale, band)


@lru_cache(maxsize=LOGO_CACHE_SIZE)
def _fitted_logo(key: _LogoKey, max_h: int, max_w: int, band: RGB) -> _Logo | None:
    """Decode, fit, flatten and pre-quantize a logo; ``None`` (also cached) if unusable."""
    try:
        with Image.open(io.BytesIO(key.data), formats=LOGO_FORMATS) as src:
            if src.width * src.height > LOGO_MAX_PIXELS:
                return None
            src.draft("RGB", (max_w, max_h))  # JPEG: let libjpeg downscale while decoding
            rgba = src.convert("RGBA")
    except Exception:  # any decoder failure just means "no logo"
        return None
    ratio = min(max_h / rgba.height, max_w / rgba.width)
    size = (max(1, round(rgba.width * ratio)), max(1, round(rgba.height * ratio)))
    rgba = rgba.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    flat = Image.new("RGBA", size, (*band, 255))
    flat.alpha_composite(rgba)
    quantized = flat.convert("RGB").quantize(
        LOGO_COLORS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    palette = quantized.getpalette() or []
    used = sorted(index for _, index in quantized.getcolors() or [])
    colors = tuple((palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]) for i in used)
    return _Logo(image=quantized.convert("RGB"), colors=colors)


# --- Painting -------------------------------------------------------------------------------


class _Painter:
    """An RGB canvas at ``scale`` x addressed in CSS pixels."""

    __slots__ = ("colors", "cuts", "draw", "height", "image", "scale", "width")

    def __init__(self, width: int, height: int, scale: int, colors: _Colors) -> None:
        self.width, self.height, self.scale, self.colors = width, height, scale, colors
        self.cuts: list[tuple[str, str]] = []  # (what, text) of named texts shortened to fit
        self.image = Image.new("RGB", (width * scale, height * scale), colors.theme.bg)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, value: float) -> int:
        return round(value * self.scale)

    def font(self, role: tuple[str, int]) -> ImageFont.FreeTypeFont:
        weight, size = role
        return _font(weight, size * self.scale)

    def text(
        self,
        xy: tuple[float, float],
        value: object,
        role: tuple[str, int],
        fill: RGB,
        max_width: float,
        anchor: str = "ls",
        name: str = "",
    ) -> float:
        """Clean, shorten and draw ``value``; returns the drawn width in CSS pixels.

        Named texts (shop, headline, step) that had to be shortened are listed in ``cuts``.
        """
        font = self.font(role)
        cleaned = clean_text(value, role[0])
        shown, width = _fit(cleaned, font, max_width * self.scale)
        if name and shown != cleaned:
            self.cuts.append((name, cleaned))
        if shown:
            self.draw.text((self.px(xy[0]), self.px(xy[1])), shown, font=font, fill=fill, anchor=anchor)
        return width / self.scale

    def measure(self, value: object, role: tuple[str, int]) -> float:
        """Width of ``value`` in CSS pixels, as drawn in ``role``."""
        return self.font(role).getlength(clean_text(value, role[0])) / self.scale

    def largest(self, value: object, roles: tuple[tuple[str, int], ...], max_width: float) -> tuple[str, int]:
        """The first (largest) of ``roles`` in which ``value`` fits ``max_width``, else the smallest."""
        return next((role for role in roles if self.measure(value, role) <= max_width), roles[-1])

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.draw.rectangle((self.px(x0), self.px(y0), self.px(x1) - 1, self.px(y1) - 1), fill=fill)

    def stamp(self, mask: tuple[Image.Image, int], centre_px: tuple[int, int], fill: RGB) -> None:
        image, half = mask
        self.image.paste(fill, (centre_px[0] - half, centre_px[1] - half), image)

    def disc(self, centre_px: tuple[int, int], radius: float, fill: RGB) -> None:
        self.stamp(_disc_mask(radius * self.scale), centre_px, fill)

    def encode(self, extra_colors: tuple[RGB, ...] = ()) -> bytes:
        palette = _palette_image(self.colors, extra_colors)
        return encode_png(_quantize(self.image, palette))


def encode_png(image: Image.Image) -> bytes:
    """The smallest PNG zlib makes of `image` (Pillow's `optimize`: 7–10 % fewer bytes than
    compression level 4, the same pixels). It costs ~14 ms more per image at scale 1 and ~40 ms
    at scale 2, paid once per state change: answers and images are cached (orders.widget.cache),
    every delivery of them is smaller."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _content_width(width: int) -> int:
    return width - 2 * PAD_X


def _draw_header(p: _Painter, state: WidgetState, logo: _Logo | None) -> None:
    c = p.colors
    p.rect(0, 0, p.width, HEADER_H, c.brand)
    if c.band_rule:
        p.rect(0, HEADER_H - 1, p.width, HEADER_H, c.band_rule)
    x = PAD_X
    if logo:
        top = (p.px(HEADER_H) - logo.image.height) // 2
        p.image.paste(logo.image, (p.px(PAD_X), top))
        x += logo.image.width / p.scale + LOGO_GAP
    right = p.width - PAD_X
    name_w = p.measure(state.account_name, FONT_ACCOUNT)
    order_w = p.measure(state.order_label, FONT_ORDER)
    gap = HEADER_GAP if order_w else 0
    if name_w + gap + order_w <= right - x or not state.order_label:
        order_max = _content_width(p.width) * ORDER_LABEL_MAX_SHARE
        order_w = p.text((right, HEADER_BASELINE), state.order_label, FONT_ORDER, c.on_brand, order_max, "rs")
        gap = HEADER_GAP if order_w else 0
        p.text(
            (x, HEADER_BASELINE),
            state.account_name,
            FONT_ACCOUNT,
            c.on_brand,
            right - order_w - gap - x,
            name="shop",
        )
        return
    # Too narrow for both on one line: the shop's name above the order label, each in full.
    role = p.largest(state.account_name, FONT_ACCOUNT_SIZES, right - x)
    p.text((x, HEADER_STACKED_NAME_BASELINE), state.account_name, role, c.on_brand, right - x, name="shop")
    p.text((x, HEADER_STACKED_ORDER_BASELINE), state.order_label, FONT_ORDER_STACKED, c.on_brand, right - x)


def _draw_headline(p: _Painter, state: WidgetState) -> None:
    """The headline in the largest size that fits one line, else on two lines, never cut short."""
    c = p.colors
    content = _content_width(p.width)
    fill = c.tone(state.tone)
    date_role = p.largest(state.date_line, FONT_DATE_SIZES, content)
    for role in FONT_HEADLINE_SIZES:
        if p.measure(state.headline, role) <= content:
            p.text((PAD_X, HEADLINE_BASELINE), state.headline, role, fill, content, name="headline")
            p.text((PAD_X, DATE_BASELINE), state.date_line, date_role, c.theme.secondary, content)
            return
    font_role = FONT_HEADLINE_SIZES[-1]
    for role in FONT_HEADLINE_WRAPPED_SIZES:
        lines = _wrap(clean_text(state.headline, role[0]), p.font(role), content * p.scale, 2)
        if all(ELLIPSIS not in line or ELLIPSIS in state.headline for line in lines):
            font_role = role
            break
    lines = _wrap(clean_text(state.headline, font_role[0]), p.font(font_role), content * p.scale, 2)
    for line, baseline in zip(lines, HEADLINE_WRAPPED_BASELINES, strict=False):
        p.text((PAD_X, baseline), line, font_role, fill, content, name="headline")
    if ELLIPSIS in "".join(lines) and ELLIPSIS not in state.headline:
        p.cuts.append(("headline", state.headline))
    p.text((PAD_X, DATE_WRAPPED_BASELINE), state.date_line, FONT_DATE_WRAPPED, c.theme.secondary, content)


def step_centers(width: int, n_steps: int, *, scale: int = 1) -> list[tuple[int, int]]:
    """Pixel centres of the progress circles in a ``scale`` x render (for tests and hit maps).

    Steps get equal columns across the content width and sit in their column's middle, so
    labels can be centred under them without running off the edges.
    """
    width, scale = _clamp_width(width), _clamp_scale(scale)
    count = max(0, min(int(n_steps), MAX_STEPS))
    column = _content_width(width) / max(count, 1)
    return [(round((PAD_X + column * (i + 0.5)) * scale), round(STEPS_CY * scale)) for i in range(count)]


def _draw_progress(
    p: _Painter,
    steps: tuple[str, ...],
    current_step: int,
    short_steps: tuple[str, ...] = (),
    step_of: str = "",
) -> None:
    c, t = p.colors, p.colors.theme
    centres = step_centers(p.width, len(steps), scale=p.scale)
    if not centres:
        return
    column = _content_width(p.width) / len(centres)
    radius_cap = column / 2 - 1
    current = min(max(current_step, 0), len(centres)) - 1  # index of the highlighted step
    track_top = p.px(STEPS_CY - STEP_TRACK_H / 2)
    track_h = p.px(STEP_TRACK_H)
    for i, (left, right) in enumerate(itertools.pairwise(centres)):
        fill = c.brand if i < current else t.track
        p.draw.rectangle((left[0], track_top, right[0], track_top + track_h - 1), fill=fill)
    for i, centre in enumerate(centres):
        if i < current:
            _brand_disc(p, centre, min(STEP_R_DONE, radius_cap))
            p.stamp(_check_mask(min(STEP_R_DONE, radius_cap) * p.scale), centre, c.on_brand)
        elif i == current:
            p.disc(centre, min(STEP_R_HALO, radius_cap), c.halo)
            _brand_disc(p, centre, min(STEP_R_CURRENT, radius_cap))
        else:
            p.disc(centre, min(STEP_R_FUTURE, radius_cap), t.track)
    _draw_step_labels(p, steps[: len(centres)], centres, current, column, short_steps, step_of)


def _brand_disc(p: _Painter, centre: tuple[int, int], radius: float) -> None:
    if p.colors.edge:
        p.disc(centre, radius + 1, p.colors.edge)
    p.disc(centre, radius, p.colors.brand)


def choose_step_labels(
    p: _Painter, labels: tuple[str, ...], short: tuple[str, ...], column: float
) -> tuple[str, ...] | None:
    """The full labels if each fits its column, else the short ones, else None (drop them)."""
    max_width = column - 2 * STEP_LABEL_PAD
    for candidate in (labels, short):
        if candidate and len(candidate) == len(labels):
            roles = (FONT_STEP_CURRENT,)  # bold is the wider: whichever step is current must fit
            if all(p.measure(label, role) <= max_width for label in candidate for role in roles):
                return candidate
    return None


def _draw_step_labels(
    p: _Painter,
    labels: tuple[str, ...],
    centres: list[tuple[int, int]],
    current: int,
    column: float,
    short: tuple[str, ...] = (),
    step_of: str = "",
) -> None:
    t = p.colors.theme
    max_width = column - 2 * STEP_LABEL_PAD
    chosen = choose_step_labels(p, labels, short, column)
    if chosen is None:  # not even the short labels fit: one line says where we are
        if 0 <= current < len(labels):
            template = clean_text(step_of) or "{label}"
            line = template.replace("{n}", str(current + 1)).replace("{total}", str(len(labels)))
            line = line.replace("{label}", clean_text(labels[current]))
            content = _content_width(p.width)
            role = p.largest(line, FONT_STEP_OF_SIZES, content)
            p.text((p.width / 2, STEP_LABEL_BASELINE), line, role, t.text, content, "ms", name="step")
        return
    labels = chosen
    for i, (label, (cx, _)) in enumerate(zip(labels, centres, strict=True)):
        if i == current:
            role, fill = FONT_STEP_CURRENT, t.text
        else:
            role, fill = FONT_STEP, t.secondary if i < current else t.muted
        p.text((cx / p.scale, STEP_LABEL_BASELINE), label, role, fill, max_width, "ms", name="step")


def _draw_shipments(p: _Painter, shipments: tuple[ShipmentLine, ...], more_text: str, summary: str) -> None:
    if not shipments:
        return
    t = p.colors.theme
    p.rect(PAD_X, BODY_END, p.width - PAD_X, BODY_END + 1, t.divider)
    y = BODY_END + SHIPMENTS_PAD_TOP
    for line in shipments[:MAX_SHIPMENT_ROWS]:
        _draw_shipment_row(p, line, y)
        y += SHIPMENT_ROW_H
    hidden = len(shipments) - MAX_SHIPMENT_ROWS
    text_x = PAD_X + SHIPMENT_TEXT_X
    text_w = p.width - PAD_X - text_x
    if hidden > 0:
        more = clean_text(more_text).replace("{n}", str(hidden))  # never str.format caller text
        p.text((text_x, y + OVERFLOW_BASELINE), more, FONT_MORE, t.secondary, text_w)
        y += OVERFLOW_ROW_H
    if len(shipments) > 1:
        p.text((PAD_X, y + SUMMARY_BASELINE), summary, FONT_SUMMARY, t.secondary, text_w)


def _draw_shipment_row(p: _Painter, line: ShipmentLine, top: float) -> None:
    c, t = p.colors, p.colors.theme
    tone = line.tone if line.tone in TONES else "normal"
    baseline = top + SHIPMENT_STATUS_BASELINE
    dot_centre = (p.px(PAD_X + SHIPMENT_DOT_R), p.px(baseline - SHIPMENT_DOT_RISE))
    p.disc(dot_centre, SHIPMENT_DOT_R, c.tone(tone))
    x = PAD_X + SHIPMENT_TEXT_X
    right = p.width - PAD_X
    carrier_w = p.text(
        (x, baseline), line.carrier_name, FONT_CARRIER, t.text, (right - x) * CARRIER_MAX_SHARE
    )
    status_x = x + carrier_w + (CARRIER_GAP if carrier_w else 0)
    p.text((status_x, baseline), line.status_text, FONT_STATUS, c.tone(tone, normal=t.text), right - status_x)
    p.text((x, top + SHIPMENT_DETAIL_BASELINE), line.detail, FONT_DETAIL, t.muted, right - x)


def _draw_footer(p: _Painter, as_of: str) -> None:
    baseline = p.height - FOOTER_BASELINE_FROM_BOTTOM
    p.text((PAD_X, baseline), as_of, FONT_FOOTER, p.colors.theme.muted, _content_width(p.width))


# --- Public API -----------------------------------------------------------------------------


def _clamp_width(width: object) -> int:
    try:
        return min(max(int(width), MIN_WIDTH), MAX_WIDTH)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_WIDTH


def _clamp_scale(scale: object) -> int:
    try:
        return min(max(int(scale), MIN_SCALE), MAX_SCALE)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 1


def _theme_name(theme: object) -> str:
    return theme if isinstance(theme, str) and theme in _THEMES else "light"


def widget_height(width: int, shipment_count: int) -> int:
    """Height in CSS pixels; fixed per (width, rows shown) so embedded images never jump.

    Text never changes it. ``width`` is part of the signature so a future narrow-screen
    layout can differ; today the vertical rhythm is the same at every width.
    """
    count = max(0, int(shipment_count))
    height = BODY_END + FOOTER_H
    if count:
        height += SHIPMENTS_PAD_TOP + min(count, MAX_SHIPMENT_ROWS) * SHIPMENT_ROW_H
    if count > MAX_SHIPMENT_ROWS:
        height += OVERFLOW_ROW_H
    if count > 1:
        height += SUMMARY_ROW_H
    return height


def render_widget(
    state: WidgetState, *, width: int = DEFAULT_WIDTH, scale: int = 1, theme: str = "light"
) -> bytes:
    """Render the order status widget as a palette PNG of ``width*scale`` pixels across."""
    painter, logo = _paint(state, width=width, scale=scale, theme=theme)
    return painter.encode(logo.colors if logo else ())


def truncated_texts(
    state: WidgetState, *, width: int = DEFAULT_WIDTH, scale: int = 1
) -> list[tuple[str, str]]:
    """The shop name, headline and step labels that had to be cut short at ``width`` (ideally none)."""
    painter, _logo = _paint(state, width=width, scale=scale, theme="light")
    return painter.cuts


def _paint(state: WidgetState, *, width: int, scale: int, theme: str) -> tuple[_Painter, _Logo | None]:
    width, scale = _clamp_width(width), _clamp_scale(scale)
    colors = _colors(_theme_name(theme), _parse_hex(state.brand_color))
    shipments = tuple(state.shipments or ())
    painter = _Painter(width, widget_height(width, len(shipments)), scale, colors)
    logo = _logo_for(state.logo, scale, colors.brand) if state.logo else None
    steps = tuple(state.steps or ())
    try:
        current_step = int(state.current_step)
    except (TypeError, ValueError, OverflowError):
        current_step = 0

    _draw_header(painter, state, logo)
    _draw_headline(painter, state)
    _draw_progress(painter, steps, current_step, tuple(state.short_steps or ()), state.step_of or "")
    _draw_shipments(painter, shipments, state.more_text, state.summary)
    _draw_footer(painter, state.as_of)
    return painter, logo


NEUTRAL_ACCENT: dict[str, RGB] = {name: theme.muted for name, theme in _THEMES.items()}


def render_message(
    title: str,
    body: str = "",
    *,
    width: int = DEFAULT_WIDTH,
    scale: int = 1,
    theme: str = "light",
    shop_name: str = "",
    brand_color: str = "",
) -> bytes:
    """A notice (e.g. "Order status unavailable") sized like an empty widget: neutral, or with the
    shop's band and name when the link named the shop."""
    width, scale, theme = _clamp_width(width), _clamp_scale(scale), _theme_name(theme)
    branded = bool(shop_name)
    colors = _colors(theme, _parse_hex(brand_color) if branded else NEUTRAL_ACCENT[theme])
    painter = _Painter(width, widget_height(width, 0), scale, colors)
    t = colors.theme
    content = _content_width(width)
    top = 0
    if branded:
        painter.rect(0, 0, width, HEADER_H, colors.brand)
        role = painter.largest(shop_name, FONT_ACCOUNT_SIZES, content)
        painter.text((PAD_X, HEADER_BASELINE), shop_name, role, colors.on_brand, content, name="shop")
        top = HEADER_H - MESSAGE_ACCENT_H + 8
    else:
        painter.rect(0, 0, width, MESSAGE_ACCENT_H, colors.brand)
    title_role = painter.largest(title, (FONT_MESSAGE_TITLE, ("bold", 18), ("bold", 16)), content)
    painter.text((PAD_X, top + MESSAGE_TITLE_BASELINE), title, title_role, t.text, content)
    body_font = painter.font(FONT_MESSAGE_BODY)
    lines = _wrap(
        clean_text(body), body_font, content * scale, MESSAGE_BODY_MAX_LINES - (1 if branded else 0)
    )
    for i, line in enumerate(lines):
        baseline = top + MESSAGE_BODY_BASELINE + i * MESSAGE_BODY_LINE_H
        painter.text((PAD_X, baseline), line, FONT_MESSAGE_BODY, t.secondary, content)
    return painter.encode()
