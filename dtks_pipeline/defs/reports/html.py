"""A self-contained HTML page: inline CSS, inline SVG charts, no script, no CDN.

The page opens offline from file:// and prints (each section avoids a page
break inside). Every text from the data is HTML-escaped.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from dtks_pipeline.defs.reports.formatting import number

CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 24px auto; max-width: 1000px;
       color: #1d2b36; font-size: 14px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 2px solid #1f6f8b;
       padding-bottom: 4px; margin-top: 32px; }
.subtitle { color: #555; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #cfd8dc; border-radius: 6px; padding: 10px 14px; min-width: 170px; }
.card .value { font-size: 20px; font-weight: bold; } .card .label { color: #555; font-size: 12px; }
section { break-inside: avoid; page-break-inside: avoid; }
figure { margin: 12px 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 10px 0; font-size: 12px; }
th, td { border: 1px solid #cfd8dc; padding: 3px 8px; } th { background: #eef3f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
.note { color: #555; font-size: 12px; } .warn { color: #a33; font-weight: bold; }
@media print { body { margin: 0; max-width: none; } h2 { margin-top: 16px; } }
"""


@dataclass
class Table:
    frame: pd.DataFrame
    caption: str = ""
    formats: dict[str, Callable[[object], str]] = field(default_factory=dict)  # column -> formatter
    max_rows: int = 60


@dataclass
class Section:
    title: str
    intro: str = ""
    charts: list[str] = field(default_factory=list)  # SVG strings (charts.to_svg)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _cell(value, fmt: Callable | None) -> tuple[str, bool]:
    if fmt is not None:
        return html.escape(fmt(value)), True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return html.escape(number(value)), True
    if value is None or (isinstance(value, float) and value != value):
        return "–", False
    return html.escape(str(value)), False


def render_table(table: Table) -> str:
    frame = table.frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.head(table.max_rows).itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, record):
            value = value.item() if hasattr(value, "item") else value
            text, numeric = _cell(value, table.formats.get(col))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">{number(len(frame) - table.max_rows)} baris lainnya tidak ditampilkan.</p>'
            if len(frame) > table.max_rows else "")
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    if frame.empty:
        return f'{caption and "<p><b>" + html.escape(table.caption) + "</b></p>"}<p class="note">Tidak ada data.</p>'
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def render_page(title: str, subtitle: str, cards: list[tuple[str, str]], sections: list[Section]) -> str:
    """The whole page as one HTML string."""
    card_html = "".join(
        f'<div class="card"><div class="value">{html.escape(v)}</div><div class="label">{html.escape(k)}</div></div>'
        for k, v in cards)
    body = []
    for s in sections:
        parts = [f"<h2>{html.escape(s.title)}</h2>"]
        if s.intro:
            parts.append(f"<p>{html.escape(s.intro)}</p>")
        parts += [f"<figure>{svg}</figure>" for svg in s.charts]
        parts += [render_table(t) for t in s.tables]
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in s.notes]
        body.append("<section>" + "\n".join(parts) + "</section>")
    return (
        "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"subtitle\">{html.escape(subtitle)}</p>"
        f"<div class=\"cards\">{card_html}</div>{''.join(body)}</body></html>\n"
    )
