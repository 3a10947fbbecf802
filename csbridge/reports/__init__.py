"""Reports people read: account reviews, QBR prep, the CSM daily debrief, portfolio metrics.

`metrics.py` is pure (definitions in docs/metrics.md); one module per report builds a
`Document` (`document.py`) from the store; `render_md.py` and `render_html.py` turn any
document into Markdown or a self-contained HTML page with inline SVG charts.
"""
