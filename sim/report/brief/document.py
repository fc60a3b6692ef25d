"""A brief as a document of a few kinds of blocks (headings, paragraphs, bullets, tables, figures),
which both renderers read, and the inline markup their text uses.
"""

from __future__ import annotations

import re
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
