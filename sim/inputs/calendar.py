"""Months as integers: `y * 12 + (m - 1)`, so arithmetic on months is arithmetic on ints."""

import re
from functools import lru_cache

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> int:
    """'2025-08' -> month number. Raises ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError(f"not a month of the form YYYY-MM: {text!r}")
    return _parse_month_text(text)


@lru_cache(maxsize=4096)  # the same few dates are read for every replicate
def _parse_month_text(text: str) -> int:
    match = MONTH_PATTERN.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"not a month of the form YYYY-MM: {text!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def format_month(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def year_of(month: int) -> int:
    return month // 12


def calendar_month(month: int) -> int:
    """1 for January ... 12 for December."""
    return month % 12 + 1
