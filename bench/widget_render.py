"""Benchmark the PNG status widget against a plain Pillow render.

Run: ``.venv/bin/python bench/widget_render.py``

Every measured render is "cold": the order label, checkpoint details and timestamp differ per
iteration, so no text is ever repeated. Only process-wide caches (fonts, palettes, logo) are
warm, which is what a long-running worker sees after its first request.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orders.widget.render import FONT_DIR, ShipmentLine, WidgetState, render_widget

N = 300
WIDTH = 600
STEPS = ("Ordered", "Label created", "In transit", "Out for delivery", "Delivered")


def _logo() -> bytes:
    image = Image.new("RGBA", (160, 80), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 76, 76), fill=(230, 60, 30, 255))
    draw.rectangle((88, 16, 156, 64), fill=(250, 200, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


LOGO = _logo()


def busy_state(i: int) -> WidgetState:
    """Three visible shipments plus overflow, logo, long-ish localised text; unique per ``i``."""
    minute = f"{i % 60:02d}"
    return WidgetState(
        account_name="Acme Outdoor Supply Co.",
        brand_color="#1e40af",
        order_label=f"Order {1001 + i}",
        headline="Out for delivery",
        tone="normal",
        steps=STEPS,
        current_step=4,
        date_line="Estimated delivery: Thu 18 Jan",
        shipments=(
            ShipmentLine(
                "UPS", "Out for delivery", f"Arrived at facility · Austin, TX · 18 Jan 14:{minute}", "normal"
            ),
            ShipmentLine(
                "DHL Express",
                "Delivered",
                f"Delivered to front door · Berlin · 17 Jan 09:{minute}",
                "success",
            ),
            ShipmentLine(
                "USPS", "Delivery attempt failed", f"Notice left · Reno, NV · 16 Jan 17:{minute}", "warning"
            ),
            ShipmentLine("FedEx", "Exception", "Address problem · Memphis, TN", "danger"),
        ),
        summary="4 packages · 1 delivered",
        as_of=f"As of 18 Jan 2025, 14:{minute} UTC (#{i})",
        logo=LOGO,
    )


BASELINE_REGULAR = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 14)
BASELINE_BOLD = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 22)


def baseline_render(i: int) -> bytes:
    """Plain Pillow: 600x200 RGB, a few text lines, default PNG save (fonts preloaded too)."""
    regular, bold = BASELINE_REGULAR, BASELINE_BOLD
    image = Image.new("RGB", (WIDTH, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 40), fill=(30, 64, 175))
    draw.text((20, 10), f"Acme Outdoor Supply Co. · Order {1001 + i}", font=regular, fill="white")
    draw.text((20, 56), "Out for delivery", font=bold, fill=(30, 64, 175))
    for row in range(3):
        draw.text(
            (20, 100 + 26 * row),
            f"UPS · Arrived at facility · Austin, TX · {i}",
            font=regular,
            fill=(17, 24, 39),
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def measure(render: Callable[[int], bytes], n: int = N) -> tuple[float, float, int]:
    """p50 ms, p95 ms and mean bytes over ``n`` renders (after one warm-up render)."""
    render(-1)
    times: list[float] = []
    sizes: list[int] = []
    for i in range(n):
        start = time.perf_counter()
        png = render(i)
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(len(png))
    quantiles = statistics.quantiles(times, n=20)
    return statistics.median(times), quantiles[18], round(statistics.mean(sizes))


def main() -> None:
    base_p50, base_p95, base_bytes = measure(baseline_render)
    print(f"{'config':<28}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>9}{'p50/base':>10}")
    print(f"{'baseline 600x200 RGB':<28}{base_p50:>9.2f}{base_p95:>9.2f}{base_bytes:>9}{1:>10.2f}")
    for scale in (1, 2):
        p50, p95, size = measure(lambda i, s=scale: render_widget(busy_state(i), width=WIDTH, scale=s))
        label = f"widget {WIDTH}px scale {scale}"
        print(f"{label:<28}{p50:>9.2f}{p95:>9.2f}{size:>9}{p50 / base_p50:>10.2f}")


if __name__ == "__main__":
    main()
