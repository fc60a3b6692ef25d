"""Rendering a brief's document: markdown with figures as linked files, and one self-contained
HTML page (inline CSS, figures as base64 PNG data URIs, no external reference).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping

from sim.report.brief.document import (
    INLINE,
    Bullets,
    Document,
    Figure,
    Heading,
    Paragraph,
    Table,
)

# ---------------------------------------------------------------------------------------------
# rendering


def render_markdown(doc: Document, figure_paths: Mapping[str, str] | None = None) -> str:
    """The brief as markdown; figures link to `figure_paths[name]` (relative paths), if given."""
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(block.header) + " |")
            out.append(
                "|"
                + "|".join(
                    " ---: " if block.is_numeric(j) else " --- " for j in range(len(block.header))
                )
                + "|"
            )
            out += ["| " + " | ".join(row) + " |" for row in block.rows]
            out.append("")
            if block.note:
                out += [f"*{block.note}*" if "*" not in block.note else block.note, ""]
        elif isinstance(block, Figure):
            if figure_paths and block.name in figure_paths:
                out += [f"![{block.alt}]({figure_paths[block.name]})", ""]
            out += [block.caption, ""]
    return "\n".join(out).rstrip() + "\n"


def inline_html(source: str) -> str:
    """Our inline markup to HTML: backslash escapes, **bold**, *italic*, `code`; rest escaped."""
    parts: list[str] = []
    pos = 0
    for match in INLINE.finditer(source):
        parts.append(html.escape(source[pos : match.start()], quote=False))
        escaped, bold, code_text, italic = match.groups()
        if escaped is not None:
            parts.append(html.escape(escaped, quote=False))
        elif bold is not None:
            parts.append(f"<strong>{inline_html(bold)}</strong>")
        elif code_text is not None:
            parts.append(f"<code>{html.escape(code_text, quote=False)}</code>")
        else:
            parts.append(f"<em>{inline_html(italic)}</em>")
        pos = match.end()
    parts.append(html.escape(source[pos:], quote=False))
    return "".join(parts)


_CSS = """
body { margin: 0; background: #f4f5f7; color: #1d2330;
  font-family: "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "Segoe UI", Arial,
  sans-serif; font-size: 15px; line-height: 1.6; }
main { max-width: 860px; margin: 0 auto; padding: 32px 40px 48px; background: #fff; }
h1 { font-size: 1.55em; margin: 0 0 4px; color: #12335e; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.5em; padding-bottom: 3px;
  border-bottom: 2px solid #d6dde8; color: #12335e; }
h3 { font-size: 1.02em; margin: 1.2em 0 0.4em; }
p.subtitle { color: #5a6372; font-size: 0.9em; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0 0.2em; font-size: 0.86em; width: 100%; }
th, td { border-bottom: 1px solid #e3e7ee; padding: 5px 7px; vertical-align: top; }
th { background: #eef2f8; text-align: left; font-weight: 600; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
td:first-child { white-space: nowrap; }
td .range { display: block; color: #5a6372; font-size: 0.9em; }
div.table { overflow-x: auto; }
p.note { color: #5a6372; font-size: 0.84em; margin-top: 0.2em; }
figure { margin: 1.2em 0; }
figure img { display: block; width: 100%; max-width: 680px; height: auto; margin: 0 auto;
  border: 1px solid #e3e7ee; }
figcaption { color: #5a6372; font-size: 0.86em; }
code { font-family: "D2Coding", Consolas, "Courier New", monospace; font-size: 0.9em;
  background: #f1f3f6; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
section.summary p { font-size: 1.04em; background: #f3f7fc; border-left: 4px solid #1f5a99;
  padding: 10px 14px; }
@media print { body { background: #fff; } main { padding: 0; max-width: none; }
  figure, table { page-break-inside: avoid; } }
"""


_CELL_RANGE = re.compile(r"^(\S+) (\(.+\))$")


def _cell_html(cell: str) -> str:
    """A 'median (range)' cell on two lines, the range below in grey, so wide tables fit."""
    match = _CELL_RANGE.match(cell)
    if match is None:
        return inline_html(cell)
    median, rng = match.groups()
    return f'{inline_html(median)}<span class="range">{inline_html(rng)}</span>'


def render_html(doc: Document) -> str:
    """The brief as one self-contained HTML page: inline CSS, figures as PNG data URIs."""
    body: list[str] = [f"<h1>{inline_html(doc.title)}</h1>"]
    in_summary = False
    for k, block in enumerate(doc.blocks):
        if isinstance(block, Heading):
            if in_summary:
                body.append("</section>")
                in_summary = False
            if k == 1:  # the summary heading: its paragraph is set off as the headline
                body.append('<section class="summary">')
                in_summary = True
            body.append(f"<h{block.level}>{inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="subtitle"' if k == 0 else ""
            body.append(f"<p{css}>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append(
                "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
            )
        elif isinstance(block, Table):
            head = "".join(
                f"<th{' class=num' if block.is_numeric(j) else ''}>{inline_html(h)}</th>"
                for j, h in enumerate(block.header)
            )
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td{' class=num' if block.is_numeric(j) else ''}>{_cell_html(c)}</td>"
                    for j, c in enumerate(row)
                )
                + "</tr>"
                for row in block.rows
            )
            body.append(
                f'<div class="table"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table></div>"
            )
            if block.note:
                body.append(f'<p class="note">{inline_html(block.note)}</p>')
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(block.alt)}"><figcaption>{inline_html(block.caption)}'
                "</figcaption></figure>"
            )
    if in_summary:
        body.append("</section>")
    title = html.escape(re.sub(r"\\(.)", r"\1", doc.title))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{doc.lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
