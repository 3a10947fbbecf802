"""The backtest / calibrate report as one self-contained HTML page.

Inline SVG charts (ROC curve, decile lift, churn by band, reliability), tables with
the same figures, no script and no outside request, so it opens offline, prints
cleanly and can be attached to an email as is.
"""

from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 360, 240, 36

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1100px;margin:24px auto;
padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}.warn{color:#8a4b00}
svg text{font-size:11px;fill:#333}
@media print{body{margin:0}.grid{display:block}figure{break-inside:avoid;margin-bottom:12px}}
"""


def render_page(report: dict[str, Any], *, title: str) -> str:
    """The whole page for a backtest report (as produced by `csbridge backtest --format json`)."""
    parts = [f"<h1>{escape(title)}</h1>", _headline(report)]
    if report.get("warnings"):
        items = "".join(f"<li>{escape(w)}</li>" for w in report["warnings"])
        parts.append(f'<h2>Warnings</h2><ul class="warn">{items}</ul>')
    charts = [
        _figure("ROC curve", _roc(report["roc"])),
        _figure("Lift by decile (lowest scores first)", _lift(report["deciles"])),
        _figure("Churn rate by band, 95 % interval", _bands(report["bands"])),
    ]
    if report.get("calibration"):
        charts.append(_figure("Reliability", _reliability(report["calibration"]["reliability"])))
    parts.append(f'<div class="grid">{"".join(charts)}</div>')
    parts.append("<h2>Deciles</h2>" + _table(report["deciles"]))
    parts.append("<h2>Bands</h2>" + _table(report["bands"]))
    if report.get("calibration"):
        parts.append("<h2>Reliability</h2>" + _table(report["calibration"]["reliability"]))
    parts.append("<h2>Indicators</h2>" + _table(report["indicators"]))
    if report.get("folds"):
        parts.append("<h2>Folds (grouped by account)</h2>" + _table(report["folds"]))
    if report.get("time_split"):
        parts.append("<h2>Time split</h2>" + _table([report["time_split"]]))
    for key, heading in (("weights", "Fitted weights"), ("dropped", "Dropped indicators")):
        if report.get(key):
            parts.append(f"<h2>{heading}</h2>" + _table(report[key]))
    if report.get("provenance"):
        rows = [{"": k, "value": v} for k, v in report["provenance"].items()]
        parts.append("<h2>Provenance</h2>" + _table(rows))
    body = "\n".join(parts)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _headline(report: dict[str, Any]) -> str:
    auc = report.get("auc")
    cells = [
        f"snapshots {report['snapshots']}",
        f"churned {report['churned']}",
        f"AUC {'n/a' if auc is None else f'{auc:.3f}'}",
    ]
    if report.get("horizon_days"):
        cells.append(f"horizon {report['horizon_days']} days")
    if report.get("calibration"):
        cal = report["calibration"]
        cells += [f"Brier {cal['brier']:.4f}", f"ECE {cal['ece']:.3f}"]
    return f"<p><strong>{' · '.join(escape(c) for c in cells)}</strong></p>"


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def _svg(inner: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}">'
        f'<rect x="{PAD}" y="8" width="{W - PAD - 8}" height="{H - PAD - 8}" '
        f'fill="none" stroke="#999"/>{inner}</svg>'
    )


def _x(f: float) -> float:
    return round(PAD + f * (W - PAD - 8), 1)


def _y(f: float) -> float:
    return round(H - PAD - f * (H - PAD - 8), 1)


def _axis(x_label: str, y_label: str, y_max: float) -> str:
    return (
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="4" y="16">{escape(y_label)}</text>'
        f'<text x="{PAD - 4}" y="{_y(1) + 4}" text-anchor="end">{y_max:.2g}</text>'
        f'<text x="{PAD - 4}" y="{_y(0)}" text-anchor="end">0</text>'
    )


def _roc(points: list[Any]) -> str:
    path = " ".join(f"{_x(f)},{_y(t)}" for f, t in points)
    inner = (
        f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#bbb" '
        f'stroke-dasharray="4"/><polyline points="{path}" fill="none" stroke="#1f5fa8" '
        f'stroke-width="2"/>{_axis("false alarm rate", "churners caught", 1)}'
    )
    return _svg(inner, "ROC curve")


def _bars(values: list[float], y_max: float, colour: str) -> str:
    n = max(len(values), 1)
    step = (W - PAD - 8) / n
    out = []
    for i, v in enumerate(values):
        top = _y(v / y_max) if y_max else _y(0)
        out.append(
            f'<rect x="{round(PAD + i * step + 2, 1)}" y="{top}" width="{round(step - 4, 1)}" '
            f'height="{round(_y(0) - top, 1)}" fill="{colour}"/>'
        )
    return "".join(out)


def _lift(rows: list[dict[str, Any]]) -> str:
    lifts = [r["lift"] or 0.0 for r in rows]
    y_max = max([*lifts, 1.0])
    one = (
        f'<line x1="{_x(0)}" y1="{_y(1 / y_max)}" x2="{_x(1)}" y2="{_y(1 / y_max)}" stroke="#888"/>'
    )
    inner = _bars(lifts, y_max, "#1f5fa8") + one + _axis("decile", "lift", y_max)
    return _svg(inner, "lift by decile")


def _bands(rows: list[dict[str, Any]]) -> str:
    rates = [r["churn_rate"] or 0.0 for r in rows]
    y_max = max([*[r["high"] for r in rows if r["accounts"]], 0.05])
    step = (W - PAD - 8) / max(len(rows), 1)
    whiskers = []
    for i, r in enumerate(rows):
        cx = round(PAD + (i + 0.5) * step, 1)
        if r["accounts"]:
            whiskers.append(
                f'<line x1="{cx}" y1="{_y(r["low"] / y_max)}" x2="{cx}" '
                f'y2="{_y(r["high"] / y_max)}" stroke="#222" stroke-width="2"/>'
            )
        whiskers.append(
            f'<text x="{cx}" y="{H - 22}" text-anchor="middle">{escape(r["band"])}</text>'
        )
    inner = _bars(rates, y_max, "#c8553d") + "".join(whiskers) + _axis("", "churn rate", y_max)
    return _svg(inner, "churn rate by band")


def _reliability(rows: list[dict[str, Any]]) -> str:
    """Observed vs predicted churn per group; both axes run to the largest value shown."""
    top = max([0.01, *(r["predicted"] for r in rows), *(r["observed"] for r in rows)])
    dots = "".join(
        f'<circle cx="{_x(r["predicted"] / top)}" cy="{_y(r["observed"] / top)}" r="4" '
        f'fill="#1f5fa8"/>'
        for r in rows
    )
    inner = (
        f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#bbb" '
        f'stroke-dasharray="4"/>{dots}{_axis(f"predicted churn (0 to {top:.2g})", "observed", top)}'
    )
    return _svg(inner, "reliability")


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
