"""Horizontal bar charts drawn on the server, as inline SVG.

The geometry is computed here; ``reports/_bar_chart.html`` draws it with SVG
presentation attributes only (the CSP forbids inline styles) and CSS classes
for the colours. Each bar has its label above it and its value after it, in
text; the chart's text alternative lists them all.
"""

from dataclasses import dataclass

WIDTH = 360  # viewBox units; the SVG scales to its box
VALUE_ROOM = 44  # kept on the right for the value
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
GAP = 10
MAX_LABEL = 46  # characters shown in the chart (the table and the text alternative have all)


@dataclass
class Bar:
    label: str
    short_label: str
    value: int
    kind: str  # CSS modifier: a status, or "default"
    label_y: int
    bar_y: int
    width: int
    value_x: int
    value_y: int


@dataclass
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    summary: str  # the text alternative


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def bar_chart(items, *, unit: str = "signalement") -> BarChart:
    """``items``: (label, value, kind) triples, in the order to draw them."""
    items = list(items)
    largest = max((value for _label, value, _kind in items), default=0)
    room = WIDTH - VALUE_ROOM
    bars = []
    y = 0
    for label, value, kind in items:
        width = round(room * value / largest) if largest else 0
        if value and width < 2:
            width = 2  # a non-zero value stays visible
        bar_y = y + LABEL_HEIGHT
        bars.append(
            Bar(
                label=label, short_label=_short(label), value=value, kind=kind or "default",
                label_y=y + 13, bar_y=bar_y, width=width, value_x=width + 6, value_y=bar_y + 13,
            )
        )
        y = bar_y + BAR_HEIGHT + GAP
    parts = [f"{label} : {value}" for label, value, _kind in items]
    summary = "Diagramme en barres, en nombre de " + unit + "s. " + (" ; ".join(parts) + "." if parts else "Aucune donnée.")
    return BarChart(bars=bars, width=WIDTH, height=max(y - GAP, BAR_HEIGHT + LABEL_HEIGHT), summary=summary)
