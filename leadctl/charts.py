"""Bar charts as SVG, drawn on the server: the team page's and `report --chart`'s, one code.

A bar a row, its label on the left, its number after it, and optionally a mark per row (the
share a member's weight asks for). Text is escaped; labels are cut to LABEL characters. The
classes (`bar`, `asked`) let a page style it; the presentation attributes make a file on its
own look the same. Drawn 400 units wide, at most 32rem on a page: the 15-unit text stays 12 px
or more on a 375 px phone.
"""

from __future__ import annotations

from html import escape

LABEL = 14
ROW = 30
LEFT = 120  # the labels' column
WIDTH = 400  # drawn at most 32rem wide: its 15-unit text is 12 px or more on a 375 px phone, ~19 px on a desk


def bar_chart(bars: list[tuple[str, float]], title: str, *, marks: list[float | None] | None = None,
              mark_title: str = "share asked", percent: bool = False) -> str:
    """The SVG of `bars` [(label, value)], scaled to the largest value or mark (`percent`:
    values are 0-1, shown as %, scaled to 100%)."""
    marks = marks or [None] * len(bars)
    top = 1.0 if percent else max([v for _, v in bars] + [m for m in marks if m is not None] + [1])
    span = WIDTH - LEFT - 50
    height = ROW * len(bars) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}"'
           f' viewBox="0 0 {WIDTH} {height}" width="100%" style="max-width: 32rem" font-family="system-ui, sans-serif"'
           ' font-size="15">',
           f"<title>{escape(title)}</title>"]
    for i, ((label, value), mark) in enumerate(zip(bars, marks)):
        y = 4 + ROW * i
        shown = label if len(label) <= LABEL else label[:LABEL - 1] + "…"
        number = f"{value:.0%}" if percent else (f"{value:g}" if isinstance(value, float) else str(value))
        length = round(span * value / top, 1) if top else 0
        out.append(f'<text x="0" y="{y + 18}" fill="#1a202c">{escape(shown)}</text>')
        out.append(f'<rect class="bar" x="{LEFT}" y="{y + 5}" width="{length}" height="16" fill="#2b6cb0">'
                   f"<title>{escape(label)}: {number}</title></rect>")
        if mark is not None:
            x = round(LEFT + span * mark / top, 1)
            out.append(f'<line class="asked" x1="{x}" x2="{x}" y1="{y}" y2="{y + 24}" stroke="#c53030" stroke-width="2">'
                       f"<title>{escape(mark_title)}: {mark:.1f}</title></line>")
        ahead = max(length, round(span * mark / top, 1) if mark is not None else 0)
        out.append(f'<text x="{round(LEFT + ahead + 6, 1)}" y="{y + 18}" fill="#1a202c">{number}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
