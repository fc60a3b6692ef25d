"""Rendering a brief's document as a Hangul file (.hwpx, the OWPML package of Hancom Office that
Korean public offices work in), with python-hwpx: headings, paragraphs with bold, italic and
code, bullet lists, tables and figures with captions.
"""

from __future__ import annotations

from sim.report.brief.document import (
    Bullets,
    Document,
    Figure,
    Heading,
    Paragraph,
    Table,
    pieces,
    plain,
)

KOREAN_FONT = "맑은 고딕"
CODE_FONT = "D2Coding"
FIGURE_WIDTH_MM = 160.0  # an A4 page's text width with the default margins
SMALL = 9  # points: the subtitle, table notes and captions
GREY = "#5A6372"


def render_hwpx(doc: Document) -> bytes:
    """The brief as the bytes of a .hwpx file."""
    from hwpx import HwpxDocument

    hangul = HwpxDocument.new()
    hangul.add_heading(plain(doc.title), level=1)
    for k, block in enumerate(doc.blocks):
        if isinstance(block, Heading):
            hangul.add_heading(plain(block.text), level=min(block.level, 4))
        elif isinstance(block, Paragraph):
            subtitle = k == 0
            _add_inline(hangul, block.text, size=SMALL if subtitle else None,
                        color=GREY if subtitle else None)  # fmt: skip
        elif isinstance(block, Bullets):
            for item in block.items:
                _add_inline(hangul, "• " + item)
        elif isinstance(block, Table):
            table = hangul.add_table(1 + len(block.rows), len(block.header))
            for j, head in enumerate(block.header):
                table.set_cell_text(0, j, plain(head))
            for i, row in enumerate(block.rows, start=1):
                for j, value in enumerate(row):
                    table.set_cell_text(i, j, plain(value))
            if block.note:
                _add_inline(hangul, block.note, size=SMALL)
        elif isinstance(block, Figure):
            hangul.add_picture(block.png, "png", width_mm=FIGURE_WIDTH_MM, align="CENTER")
            _add_inline(hangul, block.caption, size=SMALL)
    return hangul.to_bytes()


def _add_inline(hangul, text: str, *, size: float | None = None, color: str | None = None) -> None:
    """A paragraph of `text` (our inline markup) as runs of one style each."""
    paragraph = hangul.add_paragraph("", include_run=False)
    for piece in pieces(text):
        paragraph.add_run(
            piece.text,
            bold=piece.bold,
            italic=piece.italic,
            font=CODE_FONT if piece.code else None,
            size=size,
            color=color,
        )
