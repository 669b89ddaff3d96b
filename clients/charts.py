"""Line charts drawn on the server as SVG, inline in the page: no script, no style attribute
or element (our Content-Security-Policy allows neither), only presentation attributes.

Our own rather than pygal: pygal's SVG carries a <style> element and a script reference that the
CSP would block or that we would have to strip, for a chart that is forty lines here.
"""

from __future__ import annotations

from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 64
# Colour-blind-safe (Okabe-Ito), each at least 3:1 against white.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#7a6300", "#56618c", "#000000"]


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above value (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def line_chart(
    *, chart_id: str, title: str, days: list[date], series: list[tuple[str, list[float]]]
) -> SafeString:
    """An SVG line chart of one value a day per series; a description for screen readers
    says each series' latest value and its highest."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for _, values in series for v in values), default=0))
    n = len(days)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]
    summary = "; ".join(
        f"{name}: latest {_label(values[-1]) if values else 0}, highest "
        f"{_label(max(values, default=0))}"
        for name, values in series
    )
    parts.append(f'<desc id="{chart_id}-d">{escape(summary or "No data yet.")}</desc>')
    for k in range(5):  # grid lines and the y axis labels
        value = top * k / 4
        gy = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
            f'stroke="#d0d4da" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#3d4450">{_label(value)}</text>'
        )
    if n:
        for i in sorted({0, n // 2, n - 1}):
            parts.append(
                f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" '
                f'font-size="12" fill="#3d4450">{days[i]:%d %b}</text>'
            )
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        if len(values) == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(values[0]):.1f}" r="3" fill="{colour}"/>')
        elif values:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        lx = LEFT + (s % 4) * 145  # the legend: four a row, under the dates
        ly = TOP + plot_h + 38 + (s // 4) * 16
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly}" font-size="12" fill="#1f2430">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text in it is escaped above)
