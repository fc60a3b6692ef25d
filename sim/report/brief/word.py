"""Rendering a brief's document as a Word file (.docx, python-docx): headings, paragraphs with
bold, italic and code, bullet lists, tables and figures with captions, in a font that has Hangul
(Malgun Gothic, the Korean default of Windows and Word; Noto Sans KR where it is installed).
"""

from __future__ import annotations

import io

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

KOREAN_FONT = "Malgun Gothic"
LATIN_FONT = "Calibri"


def render_docx(doc: Document) -> bytes:
    """The brief as the bytes of a .docx file."""
    import docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt, RGBColor

    word = docx.Document()
    _set_fonts(word)
    section = word.sections[0]
    section.left_margin = section.right_margin = Inches(0.8)
    word.core_properties.title = plain(doc.title)
    word.core_properties.language = doc.lang
    word.add_heading(plain(doc.title), level=0)
    for k, block in enumerate(doc.blocks):
        if isinstance(block, Heading):
            word.add_heading(plain(block.text), level=min(block.level, 4))
        elif isinstance(block, Paragraph):
            paragraph = word.add_paragraph()
            _add_inline(paragraph, block.text)
            if k == 0:  # the subtitle
                for run in paragraph.runs:
                    run.font.size = Pt(9)
                    run.font.color.rgb = RGBColor(0x5A, 0x63, 0x72)
        elif isinstance(block, Bullets):
            for item in block.items:
                _add_inline(word.add_paragraph(style="List Bullet"), item)
        elif isinstance(block, Table):
            table = word.add_table(rows=1 + len(block.rows), cols=len(block.header))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for j, head in enumerate(block.header):
                cell = table.rows[0].cells[j]
                _add_inline(cell.paragraphs[0], head, bold=True, size=8)
            for i, row in enumerate(block.rows, start=1):
                for j, value in enumerate(row):
                    paragraph = table.rows[i].cells[j].paragraphs[0]
                    _add_inline(paragraph, value, size=8)
                    if block.is_numeric(j):
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if block.note:
                note = word.add_paragraph()
                _add_inline(note, block.note, size=8)
        elif isinstance(block, Figure):
            word.add_picture(io.BytesIO(block.png), width=Inches(6.2))
            word.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            caption = word.add_paragraph()
            _add_inline(caption, block.caption, size=8)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _set_fonts(word) -> None:
    """Latin text in Calibri, Hangul in Malgun Gothic (w:eastAsia), for every style in use."""
    from docx.oxml.ns import qn

    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet"):
        style = word.styles[name]
        style.font.name = LATIN_FONT
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), KOREAN_FONT)


def _add_inline(paragraph, text: str, *, bold: bool = False, size: float | None = None) -> None:
    """Add `text` (our inline markup: **bold**, *italic*, `code`, backslash escapes) as runs."""
    from docx.shared import Pt

    for piece in pieces(text):
        run = paragraph.add_run(piece.text)
        run.bold = bold or piece.bold or None
        run.italic = piece.italic or None
        if piece.code:
            run.font.name = "Consolas"
        if size is not None:
            run.font.size = Pt(size)
