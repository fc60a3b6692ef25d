"""A brief as a document of a few kinds of blocks (headings, paragraphs, bullets, tables, figures),
which every renderer reads, and the inline markup their text uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# the document: a few kinds of blocks, rendered to markdown and to HTML


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str  # inline markup: **bold**, `code`; other markdown characters escaped with md()


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    #: Columns (by position) aligned right, as numbers are; None = all but the first.
    numeric: tuple[int, ...] | None = None

    def is_numeric(self, column: int) -> bool:
        return column > 0 if self.numeric is None else column in self.numeric


@dataclass(frozen=True)
class Figure:
    name: str  # file-name part, e.g. "fan_production_krw"
    png: bytes
    caption: str
    alt: str


Block = Heading | Paragraph | Bullets | Table | Figure


@dataclass(frozen=True)
class Document:
    lang: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


_MD_SPECIAL = re.compile(r"([\\`*|<\[\]])")


def md(value: object) -> str:
    """Text from data (titles, names, sources) made safe for our inline markup."""
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def code(value: object) -> str:
    """An identifier or command as inline code (backticks inside are dropped)."""
    return f"`{str(value).replace('`', '')}`"


#: The inline markup: a backslash escape, **bold**, `code` or *italic* (groups in that order).
INLINE = re.compile(r"\\([\\`*|<\[\]_])|\*\*(.+?)\*\*|`([^`]*)`|\*([^*]+)\*")


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of inline text in one style."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False


def pieces(text: str) -> Iterator[Piece]:
    """Inline text as runs of one style each (markup removed), for the word processors."""
    pos = 0
    for match in INLINE.finditer(text):
        if match.start() > pos:
            yield Piece(text[pos : match.start()])
        escaped, strong, code_text, italic = match.groups()
        if escaped is not None:
            yield Piece(escaped)
        elif strong is not None:
            yield Piece(plain(strong), bold=True)
        elif code_text is not None:
            yield Piece(code_text, code=True)
        else:
            yield Piece(plain(italic), italic=True)
        pos = match.end()
    if pos < len(text):
        yield Piece(text[pos:])


def plain(text: str) -> str:
    """Inline markup removed: what a heading or a document title shows."""
    return INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), text)
