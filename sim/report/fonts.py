"""A Korean font for figures, from a pip-installed package.

Matplotlib's default DejaVu Sans has no Hangul, so Korean labels would render as boxes with a
"Glyph ... missing from font" warning. The pip package `pylopdf-fonts-ko` ships Noto Sans KR (SIL
OFL) as a plain .otf file, which `font_manager.addfont` registers without any system install.
(`koreanize-matplotlib` would do the same but does not import on Python 3.12: it uses `distutils`.)

Only figures with `lang="ko"` call `use_korean_font()`, so English-only work never pays for it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

KOREAN_FONT_PACKAGE = "pylopdf_fonts_ko"
KOREAN_FONT_FILE = "NotoSansKR-Regular.otf"


@cache
def korean_font_path() -> Path:
    """Path of the Noto Sans KR file inside the installed `pylopdf-fonts-ko` package."""
    try:
        package = resources.files(KOREAN_FONT_PACKAGE)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "Korean figures need the package pylopdf-fonts-ko (pip install pylopdf-fonts-ko)"
        ) from exc
    candidates = [package / KOREAN_FONT_FILE]
    # Fall back to any Noto Sans KR file, in case a later release renames the file.
    candidates += sorted(
        (p for p in package.iterdir() if p.name.startswith("NotoSansKR")), key=lambda p: p.name
    )
    for candidate in candidates:
        path = Path(str(candidate))
        if path.is_file():
            return path
    raise RuntimeError(f"no Noto Sans KR font file found in the package {KOREAN_FONT_PACKAGE}")


def use_korean_font() -> str:
    """Register Noto Sans KR with matplotlib and make it the first sans-serif font.

    Idempotent. Returns the font's family name. The font also covers Latin letters, digits and
    the Unicode minus sign, so mixed Korean/English labels and negative tick labels render
    without missing-glyph warnings.
    """
    from matplotlib import font_manager, rcParams

    path = korean_font_path()
    if not any(Path(entry.fname) == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    rcParams["font.family"] = ["sans-serif"]
    rcParams["font.sans-serif"] = [name, *(f for f in rcParams["font.sans-serif"] if f != name)]
    return name
