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
