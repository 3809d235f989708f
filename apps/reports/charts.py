"""Server-rendered inline SVG charts for the report pages: no JavaScript and no chart library (the portal runs
offline). Each chart carries a <title> and a text table equivalent on the page, so it is readable without colour.
Labels are escaped here; the SVG is built only from our own figures."""
from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def rate_bars(items: list[tuple[str, float | None]], *, title: str) -> SafeString:
    """Horizontal bars, one per unit: the compliance rate from 0 to 100%."""
    row, label_w, right = 22, 220, 60
    height = row * len(items) + 30
    bar_w = WIDTH - label_w - right
    parts = [f'<svg class="chart chart-bars" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for pct in (0, 50, 100):
        x = label_w + bar_w * pct / 100
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}"/>'
                     f'<text class="axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{pct}%</text>')
    for k, (label, rate) in enumerate(items):
        y = k * row + 4
        w = bar_w * (rate or 0)
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(short)}</text>'
                     f'<rect class="bar{" bar-low" if rate is not None and rate < 0.6 else ""}" x="{label_w}" '
                     f'y="{y}" width="{w:.1f}" height="{row - 8}"><title>{escape(label)} {_pct(rate)}</title></rect>'
                     f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + 13}">{_pct(rate)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def columns(items: list[tuple[str, int]], *, title: str) -> SafeString:
    """Vertical columns of counts (the distribution of hours)."""
    height, bottom, top = 220, 40, 20
    n = max(len(items), 1)
    slot = WIDTH / n
    peak = max((v for _label, v in items), default=0) or 1
    plot_h = height - bottom - top
    parts = [f'<svg class="chart chart-columns" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line class="grid" x1="0" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}"/>']
    for k, (label, value) in enumerate(items):
        h = plot_h * value / peak
        x = k * slot + slot * 0.15
        y = height - bottom - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
                     f'<title>{escape(label)}: {value}</title></rect>'
                     f'<text class="value" x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle">{value}</text>'
                     f'<text class="label" x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def trend(items: list[tuple[int, float | None]], *, title: str) -> SafeString:
    """The rate over years as a line with its points (a single year is one point)."""
    height, bottom, top, left = 200, 30, 20, 40
    n = len(items)
    plot_w, plot_h = WIDTH - left - 20, height - bottom - top
    parts = [f'<svg class="chart chart-trend" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{WIDTH - 20}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    points = []
    for k, (year, rate) in enumerate(items):
        x = left + (plot_w * (k + 0.5) / n if n else 0)
        y = top + plot_h * (1 - (rate or 0))
        points.append((x, y, year, rate))
    if len(points) > 1:
        parts.append('<polyline class="line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y, *_r in points) + '"/>')
    for x, y, year, rate in points:
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{year}: {_pct(rate)}</title>'
                     f'</circle><text class="value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{_pct(rate)}</text>'
                     f'<text class="label" x="{x:.1f}" y="{height - 8}" text-anchor="middle">{year}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
