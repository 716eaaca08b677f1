"""Charts with Altair, rendered offline to SVG by vl-convert (no CDN, no JavaScript).

Each builder takes a tidy DataFrame and returns an `alt.Chart`; `to_svg` renders
it with the Indonesian number locale so axes read 1.302.750.000. The SVG is
embedded inline in the HTML page, which then opens offline and prints.
"""
from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert as vlc

from dtks_pipeline.defs.reports.formatting import D3_LOCALE_ID

WIDTH = 620
PALETTE = ["#1f6f8b", "#e8a33d", "#99a637", "#c8553d", "#6c5b7b", "#3a7d44", "#a4508b", "#5b8e7d"]
REAL, SCENARIO = "Realisasi", "Skenario"


def to_svg(chart: alt.Chart) -> str:
    """The chart as an SVG string (Indonesian number format)."""
    svg = vlc.vegalite_to_svg(chart.to_dict(), format_locale=D3_LOCALE_ID)
    # vl-convert emits an XML declaration-free <svg>; mark it for the page and the tests.
    return svg.replace("<svg ", '<svg class="chart" role="img" ', 1)


def _base(frame: pd.DataFrame, title: str) -> alt.Chart:
    return alt.Chart(frame, title=alt.Title(title, anchor="start", fontSize=14)).properties(width=WIDTH)


def bar_stacked(frame: pd.DataFrame, category: str, value: str, color: str, title: str,
                category_title: str, value_title: str, horizontal: bool = True, value_format: str = ",d",
                order: list | None = None) -> alt.Chart:
    """Stacked bars of `value` per `category`, coloured by `color`; `order` fixes the category order
    (default: largest first when horizontal, alphabetical when vertical)."""
    sort = order if order is not None else ("-x" if horizontal else "ascending")
    cat = (alt.Y(f"{category}:N", title=category_title, sort=sort) if horizontal
           else alt.X(f"{category}:N", title=category_title, sort=sort, axis=alt.Axis(labelAngle=0)))
    val = (alt.X if horizontal else alt.Y)(f"sum({value}):Q", title=value_title,
                                          axis=alt.Axis(format=value_format, tickCount=6))
    height = max(120, 22 * max(frame[category].nunique(), 1)) if horizontal else 260
    return _base(frame, title).mark_bar().encode(
        cat, val,
        color=alt.Color(f"{color}:N", title=None, scale=alt.Scale(range=PALETTE), legend=alt.Legend(orient="bottom")),
        tooltip=[category, color, alt.Tooltip(f"{value}:Q", format=value_format)],
    ).properties(height=height)


def bar_grouped(frame: pd.DataFrame, category: str, value: str, group: str, title: str,
                category_title: str, value_title: str, value_format: str = ",d", order: list | None = None) -> alt.Chart:
    """Side-by-side bars (e.g. Realisasi vs Skenario) per category, in `order` if given."""
    return _base(frame, title).mark_bar().encode(
        x=alt.X(f"{category}:N", title=category_title, axis=alt.Axis(labelAngle=-30),
                sort=order if order is not None else "ascending"),
        xOffset=alt.XOffset(f"{group}:N"),
        y=alt.Y(f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format, tickCount=6)),
        color=alt.Color(f"{group}:N", title=None, scale=alt.Scale(range=PALETTE), legend=alt.Legend(orient="bottom")),
        tooltip=[category, group, alt.Tooltip(f"{value}:Q", format=value_format)],
    ).properties(height=260)


def line_trend(frame: pd.DataFrame, x: str, value: str, series: str, title: str,
               x_title: str, value_title: str, value_format: str = ",d") -> alt.Chart:
    """One line per series over the months (points marked, so a single month still shows)."""
    return _base(frame, title).mark_line(point=True).encode(
        x=alt.X(f"{x}:O", title=x_title),
        y=alt.Y(f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format)),
        color=alt.Color(f"{series}:N", title=None, scale=alt.Scale(range=PALETTE), legend=alt.Legend(orient="bottom")),
        tooltip=[x, series, alt.Tooltip(f"{value}:Q", format=value_format)],
    ).properties(height=220)


def empty_note(title: str, note: str) -> alt.Chart:
    """A chart-sized panel saying there is nothing to draw (keeps the layout and the count of charts)."""
    frame = pd.DataFrame({"x": [0], "y": [0], "text": [note]})
    return _base(frame, title).mark_text(fontSize=13, color="#666").encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None), text="text:N").properties(height=80)
