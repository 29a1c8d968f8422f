"""The bench's table as a chart: horizontal bars in SVG, written by hand (no plotting
library, no network), one group of bars per scenario."""

from __future__ import annotations

from html import escape

COLOURS = ["#1f6feb", "#d29922", "#8250df", "#2da44e", "#cf222e"]
LABEL_WIDTH = 330
BAR_WIDTH = 520
BAR_HEIGHT = 14
GAP = 10
FONT = "font-family='sans-serif' font-size='12'"


def chart_svg(title: str, groups: list[tuple[str, list[tuple[str, float]]]]) -> str:
    """``groups``: (scenario, [(series, requests/s), ...]); one colour per series, a legend,
    and each bar's value at its end. Bars share one linear scale."""
    series: list[str] = []
    for _, bars in groups:
        for name, _ in bars:
            if name not in series:
                series.append(name)
    largest = max((value for _, bars in groups for _, value in bars), default=1.0) or 1.0
    legend_height = 20 * len(series) + 10
    y = 40 + legend_height
    body = []
    for scenario, bars in groups:
        group_top = y
        for name, value in bars:
            width = max(1.0, BAR_WIDTH * value / largest)
            colour = COLOURS[series.index(name) % len(COLOURS)]
            body.append(
                f"<rect x='{LABEL_WIDTH}' y='{y}' width='{width:.1f}' height='{BAR_HEIGHT}' "
                f"fill='{colour}'><title>{escape(name)}: {value:,.0f} requests/s</title></rect>"
            )
            body.append(
                f"<text x='{LABEL_WIDTH + width + 4:.1f}' y='{y + BAR_HEIGHT - 3}' {FONT}>"
                f"{value:,.0f}</text>"
            )
            y += BAR_HEIGHT + 2
        middle = (group_top + y) / 2 + 4
        body.append(
            f"<text x='{LABEL_WIDTH - 8}' y='{middle:.1f}' text-anchor='end' {FONT}>"
            f"{escape(scenario)}</text>"
        )
        y += GAP
    legend = []
    for index, name in enumerate(series):
        top = 34 + 20 * index
        legend.append(
            f"<rect x='{LABEL_WIDTH}' y='{top}' width='12' height='12' "
            f"fill='{COLOURS[index % len(COLOURS)]}'/>"
            f"<text x='{LABEL_WIDTH + 18}' y='{top + 11}' {FONT}>{escape(name)}</text>"
        )
    width = LABEL_WIDTH + BAR_WIDTH + 80
    return "\n".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{y + 10}' "
            f"viewBox='0 0 {width} {y + 10}'>",
            f"<rect width='{width}' height='{y + 10}' fill='white'/>",
            f"<text x='10' y='20' font-family='sans-serif' font-size='14'>{escape(title)}</text>",
            *legend,
            *body,
            "</svg>",
            "",
        ]
    )
