"""Inline SVG charts for the HTML reports: no script, no network, readable in print.

`svg(chart)` draws a line chart (one polyline per series, gaps where a value is
missing) or stacked bars, with a y axis, x labels and a legend. Stacked bars show
status bands, worst first, so they are drawn from red to green.
"""

from __future__ import annotations

from html import escape

from csbridge.reports.document import Chart

WIDTH, HEIGHT = 680, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 16, 40
BAND_PALETTE = ("#dc2626", "#f59e0b", "#84cc16", "#059669", "#0f766e", "#1e3a8a")
PALETTE = ("#1f6feb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def svg(chart: Chart) -> str:
    """The chart as an <svg> element."""
    top = _top(chart)
    palette = BAND_PALETTE if chart.kind == "bars" else PALETTE
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}">'
    ]
    for k in range(5):
        value = top * k / 4
        y = TOP + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    count = max(len(chart.x), 1)
    step = plot_w / count
    for i, label in enumerate(chart.x):
        x = LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * min(max(value, 0.0), top) / top

    if chart.kind == "bars":
        base = [0.0] * len(chart.x)
        for n, series in enumerate(chart.series):
            color = palette[n % len(palette)]
            for i, known in enumerate(series.values):
                if not known:
                    continue
                value = float(known)
                x = LEFT + step * i + step * 0.15
                y1, y0 = y_of(base[i] + value), y_of(base[i])
                parts.append(
                    f'<rect x="{x:.1f}" y="{y1:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{y0 - y1:.1f}" fill="{color}"/>'
                )
                base[i] += value
    else:
        for n, series in enumerate(chart.series):
            color = palette[n % len(palette)]
            for run in _runs(series.values):
                points = " ".join(f"{LEFT + step * (i + 0.5):.1f},{y_of(v):.1f}" for i, v in run)
                if len(run) == 1:
                    ((i, v),) = run
                    parts.append(
                        f'<circle cx="{LEFT + step * (i + 0.5):.1f}" cy="{y_of(v):.1f}" r="3" '
                        f'fill="{color}"/>'
                    )
                else:
                    parts.append(
                        f'<polyline points="{points}" fill="none" stroke="{color}" '
                        f'stroke-width="{2.5 if n == 0 else 1.6}"/>'
                    )
    for n, series in enumerate(chart.series):
        y = TOP + 14 * n + 8
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{y - 8}" width="10" height="10" '
            f'fill="{palette[n % len(palette)]}"/>'
            f'<text x="{WIDTH - RIGHT + 28}" y="{y + 1}">{escape(series.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _top(chart: Chart) -> float:
    """The y axis' top: the chart's own, else the largest value (stacked for bars), rounded up."""
    if chart.y_max is not None:
        return chart.y_max
    if chart.kind == "bars":
        peak = max(
            (
                sum(v or 0.0 for v in column)
                for column in zip(*(s.values for s in chart.series), strict=True)
            ),
            default=0.0,
        )
    else:
        peak = max((v for s in chart.series for v in s.values if v is not None), default=0.0)
    if peak <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(peak))) - 1)
    return float(-(-peak // magnitude) * magnitude)


def _runs(values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive stretches of known values, so a missing month leaves a gap."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs
