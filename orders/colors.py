"""WCAG 2 colour contrast, shared by the brand stylesheet and the PNG widget."""

from __future__ import annotations

RGB = tuple[int, int, int]


def rgb(color: str) -> RGB:
    """ "#1f6feb" → (31, 111, 235)."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def luminance(color: RGB) -> float:
    """Relative luminance (WCAG 2.x)."""

    def linear(value: int) -> float:
        s = value / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(value) for value in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """Contrast ratio, 1 to 21; text needs 4.5 (AA)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


AA_TEXT = 4.5
PAGE_BACKGROUND = "#f4f5f7"  # static/css/status.css --page: the darkest background text sits on


def _hex_contrast(a: str, b: str) -> float:
    return contrast(rgb(a), rgb(b))


def text_on(color: str) -> str:
    """Black or white, whichever contrasts more with `color`."""
    return "#000000" if _hex_contrast(color, "#000000") >= _hex_contrast(color, "#ffffff") else "#ffffff"


def ink(color: str, background: str = PAGE_BACKGROUND) -> str:
    """`color`, darkened just enough to be readable as text on `background` (WCAG AA)."""
    r, g, b = rgb(color)
    for step in range(101):
        f = 1 - step / 100
        candidate = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if _hex_contrast(candidate, background) >= AA_TEXT:
            return candidate
    return "#000000"


def brand_colors(color: str) -> dict[str, str]:
    """The brand colour, text on it, and a readable-on-white variant (for emails' inline styles)."""
    return {"color": color, "text": text_on(color), "ink": ink(color, "#ffffff")}
