"""Benchmark the PNG status widget against a plain Pillow render.

Run: ``.venv/bin/python bench/widget_render.py``

Every measured render is "cold": the order label, checkpoint details and timestamp differ per
iteration, so no text is ever repeated. Only process-wide caches (fonts, palettes, logo) are
warm, which is what a long-running worker sees after its first request. Times are this
process's CPU time per render; the plain render and the widget alternate BENCH_REPS (3) times,
and the ratio (the widget's speed relative to the plain render, higher is faster) is the median
over the repetitions with its spread.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _throughput import REPS, result_line, spread

from orders.widget.render import FONT_DIR, ShipmentLine, WidgetState, render_widget

N = 300
WIDTH = 600
BASELINE = "baseline 600x200 RGB"
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


def widget_render(i: int, *, scale: int) -> bytes:
    return render_widget(busy_state(i), width=WIDTH, scale=scale)


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


def measure(render: Callable[[int], bytes], n: int) -> tuple[list[float], list[int]]:
    """CPU ms and bytes of ``n`` renders (after one warm-up render): CPU time, not wall time,
    so other work on the machine barely moves it."""
    render(-1)
    times: list[float] = []
    sizes: list[int] = []
    for i in range(n):
        start = time.process_time()
        png = render(i)
        times.append((time.process_time() - start) * 1000)
        sizes.append(len(png))
    return times, sizes


def main() -> None:
    """Baseline, scale 1, scale 2, REPS times over; each repetition's ratio is the baseline's
    median CPU time over the widget's in that repetition (its speed relative to a plain render)."""
    renders: dict[str, Callable[[int], bytes]] = {BASELINE: baseline_render}
    for scale in (1, 2):
        renders[f"widget {WIDTH}px scale {scale}"] = partial(widget_render, scale=scale)
    times: dict[str, list[float]] = {name: [] for name in renders}
    sizes: dict[str, list[int]] = {name: [] for name in renders}
    ratios: dict[str, list[float]] = {name: [] for name in renders}
    for _ in range(REPS):
        medians = {}
        for name, render in renders.items():
            rep_times, rep_sizes = measure(render, N // REPS)
            times[name] += rep_times
            sizes[name] += rep_sizes
            medians[name] = statistics.median(rep_times)
        for name in renders:
            ratios[name].append(medians[BASELINE] / medians[name])
    print(f"{N // REPS * REPS} renders each in {REPS} alternating repetitions; CPU time per render")
    print(f"{'config':<28}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>9}   speed vs plain render (spread)")
    for name in renders:
        p50, p95 = statistics.median(times[name]), statistics.quantiles(times[name], n=20)[18]
        size = round(statistics.mean(sizes[name]))
        ratio = f"{statistics.median(ratios[name]):.2f} {spread(ratios[name])}"
        print(f"{name:<28}{p50:>9.2f}{p95:>9.2f}{size:>9}   {ratio}")
    for name in list(renders)[1:]:  # for bench/run's summary
        size = round(statistics.mean(sizes[name]))
        note = f"CPU p50 {statistics.median(times[name]):.1f} ms/render, {size} bytes"
        print(result_line(f"cold render, {name}", ratios[name], note=note))


if __name__ == "__main__":
    main()
