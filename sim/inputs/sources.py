"""The published sources behind the data: `calibration/SOURCES.md`, read as entries with a stable
key, and the citations found in a text (a parameter's `source`, a history series' source).

An entry is a `### key` heading in a `## N. Topic` section followed by `- **Field:** text` lines
(Outlet, Date, Says, Used for, Cited as; a field's text may continue on indented lines). A text
cites an entry by its key, by its outlet's first word and date ("etnews 2025-02-19") or by one
of its "Cited as" phrases; "§N" refers to section N of the file. Cheap to import (the standard
library only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sim.inputs.paths import CALIBRATION_DIR

SOURCES_FILE = CALIBRATION_DIR / "SOURCES.md"
#: Where users read the list (named in citations so a reader knows where to look).
SOURCES_NAME = "calibration/SOURCES.md"

_SECTION = re.compile(r"^## (\d+)\. (.+?)\s*$")
_ENTRY = re.compile(r"^### ([a-z0-9][a-z0-9-]*)\s*$")
_FIELD = re.compile(r"^- \*\*([A-Za-z ]+):\*\* ?(.*)$")
_SECTION_REFERENCE = re.compile(
    r"\b(?:calibration/)?SOURCES\.md §(\d+)[a-j]?|(?<![\w.])§(\d+)[a-j]?"
)


@dataclass(frozen=True, slots=True)
class Source:
    """One published source: who, when, what it says and which data use it."""

    key: str
    section: int
    topic: str
    outlet: str
    date: str
    says: str
    used_for: str
    cited_as: tuple[str, ...] = ()

    @property
    def citation(self) -> str:
        """'etnews (Electronic Times), reporting KICOX figures, 2025-02-19' — outlet and date."""
        return f"{self.outlet}, {self.date}"

    def aliases(self) -> tuple[str, ...]:
        """Ways a text may cite this entry: its key, and the outlet's first word with the date."""
        first = re.split(r"[\s(,]", self.outlet, maxsplit=1)[0]
        date = re.match(r"\d{4}(?:-\d{2}){0,2}", self.date)
        named = f"{first} {date.group(0)}" if first and date and len(date.group(0)) >= 7 else None
        return tuple(dict.fromkeys(a for a in (self.key, named, *self.cited_as) if a))


@dataclass(frozen=True)
class SourceList:
    """The entries of SOURCES.md in file order, and its section titles."""

    entries: tuple[Source, ...]
    sections: dict[int, str]

    def get(self, key: str) -> Source:
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise KeyError(key)

    def cited_in(self, text: str) -> list[Source]:
        """The entries a text cites (by key or by outlet and date), in file order."""
        lowered = text.lower()
        found = []
        for entry in self.entries:
            for alias in entry.aliases():
                if re.search(rf"(?<![\w-]){re.escape(alias.lower())}(?![\w-])", lowered):
                    found.append(entry)
                    break
        return found

    def spell_out(self, text: str) -> str:
        """A text with its section references ("§4", "SOURCES.md §4") written as the topic they name
        in SOURCES.md, so that a reader can look them up."""

        def replace(match: re.Match) -> str:
            number = int(match.group(1) or match.group(2))
            topic = self.sections.get(number)
            if topic is None:
                return match.group(0)
            return f"{SOURCES_NAME} §{number} ({topic})"

        return _SECTION_REFERENCE.sub(replace, text)

    def references(self, text: str) -> str:
        """The text's citations spelled out: 'outlet, date: what it says' for each entry it names,
        '; '-separated ('' if it names none)."""
        return "; ".join(f"{s.citation}: {s.says}" for s in self.cited_in(text))


@cache
def load_sources(path: Path = SOURCES_FILE) -> SourceList:
    """Parse SOURCES.md; a malformed entry (no outlet, date or says) is a ValueError."""
    entries: list[Source] = []
    sections: dict[int, str] = {}
    section, topic = 0, ""
    current: dict[str, str] | None = None
    field: str | None = None

    def close() -> None:
        if current is None:
            return
        missing = [k for k in ("outlet", "date", "says") if not current.get(k)]
        if missing:
            raise ValueError(f"{path}: {current['key']}: no {', '.join(missing)}")
        entries.append(
            Source(
                key=current["key"],
                section=section_of[current["key"]],
                topic=sections.get(section_of[current["key"]], ""),
                outlet=current["outlet"],
                date=current["date"],
                says=current["says"],
                used_for=current.get("used for", ""),
                cited_as=tuple(
                    a.strip() for a in current.get("cited as", "").split(";") if a.strip()
                ),
            )
        )

    section_of: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _SECTION.match(line):
            close()
            current, field = None, None
            section, topic = int(match.group(1)), match.group(2)
            sections[section] = topic
        elif match := _ENTRY.match(line):
            close()
            key = match.group(1)
            if key in section_of:
                raise ValueError(f"{path}: the key {key} is used twice")
            section_of[key] = section
            current, field = {"key": key}, None
        elif current is not None and (match := _FIELD.match(line)):
            field = match.group(1).strip().lower()
            current[field] = _unmark(match.group(2))
        elif current is not None and field and line.startswith("  ") and line.strip():
            current[field] = f"{current[field]} {_unmark(line.strip())}".strip()
        elif not line.strip():
            field = None
    close()
    return SourceList(tuple(entries), sections)


def _unmark(text: str) -> str:
    """Plain text from the file's light markdown (bold, code)."""
    return text.replace("**", "").replace("`", "")
