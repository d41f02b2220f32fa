"""The page around a report: one self-contained HTML file (styles inline, images as data: URIs,
no script, nothing fetched), readable on screen and on paper. Every text passed in is escaped
here; only the charts (classifier/svg.py, escaped there) go in as markup."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from html import escape

from PIL import Image

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430;
       max-width: 1080px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 1px solid #d5dae1; padding-bottom: 3px; }
.sub { color: #5b6675; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid #d5dae1; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.score { font-size: 20px; font-weight: 600; } .note { color: #5b6675; }
.warn { background: #fff4e0; border-left: 4px solid #e3a008; padding: 6px 10px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { font: 11px system-ui, sans-serif; fill: #1d2430; background: #fff;
            border: 1px solid #e3e7ec; max-width: 100%; height: auto; }
svg.chart .title { font-size: 13px; font-weight: 600; } svg.chart .grid { stroke: #e3e7ec; }
.cm td.n { min-width: 36px; text-align: center; }
.thumbs { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: 150px; font-size: 12px; break-inside: avoid; }
figure img { width: 150px; height: 150px; object-fit: contain; background: #f1f3f6; }
figcaption { overflow-wrap: anywhere; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; } table, svg.chart, figure { break-inside: avoid; }
  .warn { border: 1px solid #e3a008; }
}
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )


def section(heading: str, *parts: str) -> str:
    return f"<section><h2>{esc(heading)}</h2>{''.join(parts)}</section>"


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{css}">{esc(text)}</p>' if css else f"<p>{esc(text)}</p>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], css: str = "") -> str:
    """Cells that are numbers are right-aligned; everything is escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{esc(c)}</td>' if isinstance(c, int | float) else f"<td>{esc(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def key_values(pairs: Iterable[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{rows}</tbody></table>"


def charts(*svgs: str) -> str:
    return f'<div class="charts">{"".join(svgs)}</div>'


def data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure(image: Image.Image, caption_lines: Sequence[str]) -> str:
    caption = "<br>".join(esc(line) for line in caption_lines)
    return (
        f'<figure><img src="{data_uri(image)}" alt=""><figcaption>{caption}</figcaption></figure>'
    )


def thumbnails(figures: Sequence[str]) -> str:
    return f'<div class="thumbs">{"".join(figures)}</div>'
