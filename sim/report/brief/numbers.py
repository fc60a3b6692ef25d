"""Numbers, ranges and months as policy writing in each language shows them, and Korean particles.

Numbers follow the habits of each language's policy writing:

* Korean: 조원 and 억원 for won, 억 달러 for dollars, 만 명 for large head counts
  (61.4조원, 184억 달러, 12.0만 명), ranges joined with "~" (58.1~61.4조원);
* English: trillion / bn / m (61.4 trillion KRW, 18.4 bn USD), head counts to the nearest 100
  (120,300 jobs), ranges joined with an en dash, or "to" when a bound is negative.

A range is always formatted in one unit chosen from its larger bound, and with enough decimals
that its two ends differ: "11.9~11.9만 명" would hide the very spread it is meant to show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

LANGS: tuple[str, ...] = ("ko", "en")
#: Value kinds a brief formats; the first five are `sim.model.indicators.Indicator.unit` values.
KINDS = ("KRW", "USD", "persons", "firms", "share", "percent", "pp", "number")
MISSING = {"ko": "–", "en": "–"}


def check_lang(lang: str) -> str:
    """`lang` if it is a brief language; ValueError otherwise."""
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)} (got {lang!r})")
    return lang


# ---------------------------------------------------------------------------------------------
# units and rounding


@dataclass(frozen=True, slots=True)
class Scale:
    """How a value is shown: divided by `divisor`, followed by `unit` (with a space if `space`)."""

    divisor: float
    unit: str
    space: bool = True
    #: Counts are shown as whole numbers, never with decimals.
    count: bool = False
    #: Counts rounded to a step for reading (jobs: 120,289 -> 120,300); firms stay exact.
    rounded: bool = True


# (smallest magnitude, scale), largest first; the first whose threshold the value reaches wins.
_SCALES: dict[str, dict[str, tuple[tuple[float, Scale], ...]]] = {
    "KRW": {
        "ko": (
            (1e12, Scale(1e12, "조원", False)),
            (1e8, Scale(1e8, "억원", False)),
            (1e4, Scale(1e4, "만원", False)),
            (0.0, Scale(1.0, "원", False)),
        ),
        "en": (
            (1e12, Scale(1e12, "trillion KRW")),
            (1e9, Scale(1e9, "bn KRW")),
            (1e6, Scale(1e6, "m KRW")),
            (0.0, Scale(1.0, "KRW")),
        ),
    },
    "USD": {
        "ko": (
            (1e12, Scale(1e12, "조 달러", False)),
            (1e8, Scale(1e8, "억 달러", False)),
            (1e4, Scale(1e4, "만 달러", False)),
            (0.0, Scale(1.0, "달러")),
        ),
        "en": (
            (1e9, Scale(1e9, "bn USD")),
            (1e6, Scale(1e6, "m USD")),
            (0.0, Scale(1.0, "USD")),
        ),
    },
    "persons": {
        # 12.0만 명 reads better than 120,289명 for the complex's ~120,000 jobs; differences of a
        # few thousand stay in 명.
        "ko": ((1e5, Scale(1e4, "만 명", False)), (0.0, Scale(1.0, "명", False, count=True))),
        "en": ((0.0, Scale(1.0, "jobs", count=True)),),
    },
    "firms": {
        "ko": ((0.0, Scale(1.0, "개사", False, count=True, rounded=False)),),
        "en": ((0.0, Scale(1.0, "firms", count=True, rounded=False)),),
    },
    "share": {
        "ko": ((0.0, Scale(0.01, "%", False)),),
        "en": ((0.0, Scale(0.01, "%", False)),),
    },
    "percent": {
        "ko": ((0.0, Scale(1.0, "%", False)),),
        "en": ((0.0, Scale(1.0, "%", False)),),
    },
    "pp": {
        "ko": ((0.0, Scale(0.01, "%p", False)),),
        "en": ((0.0, Scale(0.01, "pp")),),
    },
    "number": {
        "ko": ((0.0, Scale(1.0, "", False)),),
        "en": ((0.0, Scale(1.0, "", False)),),
    },
}


def choose_scale(kind: str, values: Iterable[float], lang: str) -> Scale:
    """The display scale for `values` of `kind`, chosen from their largest magnitude."""
    check_lang(lang)
    if kind not in _SCALES:
        raise ValueError(f"unknown kind of value {kind!r}; known: {', '.join(_SCALES)}")
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    largest = max(finite, default=0.0)
    for threshold, scale in _SCALES[kind][lang]:
        if largest >= threshold:
            return scale
    return _SCALES[kind][lang][-1][1]  # pragma: no cover - the last threshold is 0


def _decimals(magnitude: float) -> int:
    """Decimals for a scaled magnitude: about 3 significant digits (61.4, 184, 2.1, 0.52)."""
    if magnitude >= 100:
        return 0
    if magnitude >= 1:
        return 1
    return 2


def _count_step(magnitude: float) -> int:
    """Rounding step of a head count: 120,289 -> 120,300; 4,321 -> 4,320; 87 -> 87."""
    if magnitude >= 10_000:
        return 100
    if magnitude >= 1_000:
        return 10
    return 1


@dataclass(frozen=True, slots=True)
class Precision:
    """Decimals (for amounts) or rounding step (for counts) of one formatted number."""

    decimals: int = 1
    step: int = 1

    def finer(self) -> Precision:
        return Precision(self.decimals + 1, max(1, self.step // 10))


def precision_for(scale: Scale, values: Iterable[float]) -> Precision:
    """Rounding for `values` shown in `scale`, from the largest scaled magnitude."""
    finite = [abs(float(v)) / scale.divisor for v in values if _finite(v)]
    largest = max(finite, default=0.0)
    if scale.count:
        return Precision(0, _count_step(largest) if scale.rounded else 1)
    return Precision(_decimals(largest), 1)


def number(x: float | None, scale: Scale, precision: Precision, *, signed: bool = False) -> str:
    """`x` in `scale` without the unit: '61.4', '-1,230', '+0.35'. NaN/None -> '–'."""
    if not _finite(x):
        return MISSING["en"]
    value = float(x) / scale.divisor
    if scale.count:
        value = round(value / precision.step) * precision.step
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.{precision.decimals}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("-")  # no "-0.0"
    elif signed and value > 0:
        text = "+" + text
    return text


def with_unit(text: str, scale: Scale) -> str:
    """Attach the unit: '61.4조원', '18.4 bn USD', '23.5%'."""
    if not scale.unit or text == MISSING["en"]:
        return text
    return f"{text}{' ' if scale.space else ''}{scale.unit}"


def format_value(
    x: float | None, kind: str, lang: str, *, signed: bool = False, trim: bool = False
) -> str:
    """One value of `kind` rounded for reading, with its unit, in `lang`.

    `trim` drops zero decimals, for round numbers such as thresholds: '2억 달러', not '2.0억 달러'.
    """
    values = [x] if _finite(x) else []
    scale = choose_scale(kind, values, lang)
    shown = number(x, scale, precision_for(scale, values), signed=signed)
    if trim and "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    return with_unit(shown, scale)


def format_krw(x: float | None, lang: str, *, signed: bool = False) -> str:
    """Won for reading: 61.4조원 / 61.4 trillion KRW; 1,840억원 / 184 bn KRW."""
    return format_value(x, "KRW", lang, signed=signed)


def format_usd(x: float | None, lang: str, *, signed: bool = False) -> str:
    """Dollars for reading: 184억 달러 / 18.4 bn USD; 5,000만 달러 / 500 m USD."""
    return format_value(x, "USD", lang, signed=signed)


def format_persons(x: float | None, lang: str, *, signed: bool = False) -> str:
    """Head counts for reading: 12.0만 명 / 120,300 jobs; -1,230명 / -1,230 jobs."""
    return format_value(x, "persons", lang, signed=signed)


def range_numbers(
    lo: float | None, hi: float | None, scale: Scale, *, signed: bool = False
) -> tuple[str, str]:
    """Both ends of a range in one scale, with the precision that keeps distinct ends distinct."""
    precision = precision_for(scale, [lo, hi])
    a, b = number(lo, scale, precision, signed=signed), number(hi, scale, precision, signed=signed)
    for _ in range(3):  # add decimals (or shrink the count step) until the ends differ
        if a != b or not (_finite(lo) and _finite(hi)) or float(lo) == float(hi):
            break
        precision = precision.finer()
        a = number(lo, scale, precision, signed=signed)
        b = number(hi, scale, precision, signed=signed)
    return a, b


def join_range(a: str, b: str, lang: str) -> str:
    """'58.1~61.4' (ko); '58.1–61.4' or '-4.0 to -2.1' (en, where a dash would read as minus)."""
    if lang == "ko":
        return f"{a}~{b}"
    if a.startswith("-") or b.startswith("-"):
        return f"{a} to {b}"
    return f"{a}–{b}"


def format_range(
    lo: float | None,
    hi: float | None,
    kind: str,
    lang: str,
    *,
    signed: bool = False,
    scale: Scale | None = None,
) -> str:
    """A range in one unit: '58.1~61.4조원', '17.0–17.8 bn USD', '-4.0 to -2.1%'."""
    finite = [v for v in (lo, hi) if _finite(v)]
    scale = scale or choose_scale(kind, finite, lang)
    a, b = range_numbers(lo, hi, scale, signed=signed)
    return with_unit(join_range(a, b, lang), scale)


def range_and_median(
    lo: float | None,
    hi: float | None,
    median: float | None,
    scale: Scale,
    lang: str,
    *,
    signed: bool = False,
) -> tuple[str, str]:
    """('58.1~61.4', '59.8') without unit, in one scale; the median as precise as the range."""
    a, b = range_numbers(lo, hi, scale, signed=signed)
    precision = precision_for(scale, [lo, hi])
    m = number(median, scale, precision, signed=signed)
    while not scale.count and _decimals_of(m) < _decimals_of(a) and precision.decimals < 6:
        precision = precision.finer()
        m = number(median, scale, precision, signed=signed)
    return join_range(a, b, lang), m


def format_range_median(
    lo: float | None, hi: float | None, median: float | None, kind: str, lang: str
) -> tuple[str, str]:
    """('58.1~61.4조원', '59.8조원'): an 80% range and its median, in one unit."""
    scale = choose_scale(kind, [v for v in (lo, hi, median) if _finite(v)], lang)
    rng, m = range_and_median(lo, hi, median, scale, lang)
    return with_unit(rng, scale), with_unit(m, scale)


def format_cell(
    median: float | None,
    lo: float | None,
    hi: float | None,
    scale: Scale,
    lang: str,
    *,
    signed: bool = False,
) -> str:
    """A table cell without unit (the unit is in the column header): '59.8 (58.1~61.4)'."""
    if not _finite(median):
        return MISSING[lang]
    rng, m = range_and_median(lo, hi, median, scale, lang, signed=signed)
    return f"{m} ({rng})"


def _decimals_of(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def format_percent(x: float | None, lang: str, *, signed: bool = False) -> str:
    """A percentage already in percent units: 2.1 -> '2.1%'."""
    return format_value(x, "percent", lang, signed=signed)


def format_share(x: float | None, lang: str) -> str:
    """A share (0..1) as a percentage: 0.235 -> '23.5%'."""
    return format_value(x, "share", lang)


def format_probability(k: int, n: int, lang: str) -> str:
    """The share of runs in which something happens, with its basis: '97% (100회 중 97회)'."""
    pct = round(100 * k / n) if n else 0
    # Never round a minority or majority away: 1 of 300 is not "0%", 299 of 300 not "100%".
    if 0 < k < n:
        pct = min(max(pct, 1), 99)
    if lang == "ko":
        return f"{pct}% ({n:,}회 중 {k:,}회)"
    return f"{pct}% of runs ({k:,} of {n:,})"


def nice_number(x: float, *, how: str = "nearest") -> float:
    """A round number (1, 2 or 5 times a power of ten) near x > 0.

    `how`: "down" (largest not above x), "up" (smallest not below x) or "nearest" (closest on a
    log scale, so 7 -> 5 and 8 -> 10).
    """
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"need a positive finite number (got {x})")
    power = 10.0 ** math.floor(math.log10(x))
    candidates = [s * power for s in (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)]
    tol = 1e-12
    if how == "down":
        return max(c for c in candidates if c <= x * (1 + tol))
    if how == "up":
        return min(c for c in candidates if c >= x * (1 - tol))
    if how == "nearest":
        return min(candidates, key=lambda c: abs(math.log(c / x)))
    raise ValueError(f"how must be 'down', 'up' or 'nearest' (got {how!r})")


def _finite(x: object) -> bool:
    try:
        return x is not None and math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# dates and Korean particles


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_month(month: str, lang: str) -> str:
    """'2025-08' -> '2025년 8월' / 'Aug 2025'."""
    year, mon = str(month).split("-")
    if lang == "ko":
        return f"{int(year)}년 {int(mon)}월"
    return f"{_MONTHS_EN[int(mon) - 1]} {int(year)}"


def format_span(start: str, end: str | None, lang: str) -> str:
    """Months in force: '2025년 8월~' (open-ended), 'Apr 2025 – Jul 2025'."""
    if lang == "ko":
        if end == start:
            return format_month(start, lang)
        return f"{format_month(start, lang)}~{format_month(end, lang) if end else ''}"
    if end is None:
        return f"from {format_month(start, lang)}"
    if end == start:
        return format_month(start, lang)
    return f"{format_month(start, lang)} – {format_month(end, lang)}"


def has_final_consonant(word: str) -> bool:
    """Whether the last Hangul syllable of `word` ends in a consonant (받침); digits read aloud."""
    for char in reversed(word.strip()):
        code = ord(char)
        if 0xAC00 <= code <= 0xD7A3:
            return (code - 0xAC00) % 28 != 0
        if char.isdigit():  # 영 일 이 삼 사 오 육 칠 팔 구
            return char in "0136789"
        if char.isalpha():
            return False
    return False


def topic(word: str) -> str:
    """word + 은/는."""
    return word + ("은" if has_final_consonant(word) else "는")


def euro(word: str) -> str:
    """word + 으로/로 (로 after a vowel or ㄹ)."""
    last = next((c for c in reversed(word.strip()) if 0xAC00 <= ord(c) <= 0xD7A3), None)
    if last is not None and word.strip()[-1] == last:
        final = (ord(last) - 0xAC00) % 28
        return word + ("으로" if final not in (0, 8) else "로")
    return word + ("으로" if has_final_consonant(word) else "로")


def subject(word: str) -> str:
    """word + 이/가."""
    return word + ("이" if has_final_consonant(word) else "가")
