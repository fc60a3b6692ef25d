"""Writing a brief into its results folder.

`write_brief(results, lang, baseline=None, formats=("md", "html"))` reads a folder written by
`changwon-sim run` and writes next to its files

* ``brief.<format>`` (English) or ``brief.ko.<format>`` (Korean), for each format asked: ``md``
  (Markdown, figures as files), ``html`` (one self-contained page), ``docx`` (Word),
  ``hwpx`` (Hangul), ``pdf`` (the HTML page printed by headless Chromium);
* ``figures/brief_<chart>.png`` (``.ko.png``): the figures, redrawn in the brief's language.

A new brief replaces the previous one of the same language and format (briefs of other
languages and formats are left alone). Each file is written to a temporary file in the same
folder, flushed and renamed into place, so a brief file is complete or absent, never half
written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.report.brief import numbers
from sim.report.brief.compose import build_brief
from sim.report.brief.document import Document
from sim.report.brief.folders import BriefError, load_run
from sim.report.brief.render import render_html, render_markdown

FORMATS: tuple[str, ...] = ("md", "html", "docx", "hwpx", "pdf")
DEFAULT_FORMATS: tuple[str, ...] = ("md", "html")
STEM = "brief"


def brief_paths(
    folder: Path, lang: str, formats: Sequence[str], figures: Sequence[str]
) -> dict[str, Path]:
    """Target paths of one brief: one per format, and one per figure name."""
    suffix = "" if lang == "en" else f".{lang}"
    paths = {fmt: folder / f"{STEM}{suffix}.{fmt}" for fmt in formats}
    for name in figures:
        paths[name] = folder / "figures" / f"{STEM}_{name}{suffix}.png"
    return paths


def _write_replacing(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (a temporary file renamed over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _renderers(doc: Document, relative: dict[str, str]) -> dict[str, Callable[[], bytes]]:
    def docx() -> bytes:
        from sim.report.brief.word import render_docx

        return render_docx(doc)

    def hwpx() -> bytes:
        from sim.report.brief.hangul import render_hwpx

        return render_hwpx(doc)

    def pdf() -> bytes:
        from sim.report.brief.pdf import PdfError, render_pdf

        try:
            return render_pdf(doc)
        except PdfError as error:
            raise BriefError(str(error)) from None

    return {
        "md": lambda: render_markdown(doc, relative).encode("utf-8"),
        "html": lambda: render_html(doc).encode("utf-8"),
        "docx": docx,
        "hwpx": hwpx,
        "pdf": pdf,
    }


def write_document(
    folder: Path, doc: Document, formats: Sequence[str] = DEFAULT_FORMATS
) -> list[Path]:
    """Write the brief in each of `formats` and its figures, replacing an earlier brief of the
    same language and format; returns the paths, the documents first."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise BriefError(f"--format must be among {', '.join(FORMATS)} (got {unknown or 'none'})")
    formats = list(dict.fromkeys(formats))
    names = [f.name for f in doc.figures]
    paths = brief_paths(folder, doc.lang, formats, names)
    relative = {n: paths[n].relative_to(folder).as_posix() for n in names}
    render = _renderers(doc, relative)
    # Every document is made before anything is written: a failure (no browser for the PDF)
    # leaves the previous brief as it was.
    contents = {fmt: render[fmt]() for fmt in formats}
    for figure in doc.figures:  # figures first: the markdown never points at a missing one
        _write_replacing(paths[figure.name], figure.png)
    for fmt in formats:
        _write_replacing(paths[fmt], contents[fmt])
    return [*(paths[f] for f in formats), *(paths[n] for n in names)]


def write_brief(
    results: str | Path,
    lang: str = "ko",
    baseline: str | Path | None = None,
    *,
    years: Sequence[int] | None = None,
    sensitivity: Path | str | None = "auto",
    formats: Sequence[str] = DEFAULT_FORMATS,
    title: str | None = None,
) -> list[Path]:
    """Build the brief of a results folder in `lang` and write it there in `formats`; returns
    the written paths, the documents first. Raises `BriefError` for bad input."""
    numbers.check_lang(lang)
    run = load_run(results)
    base = load_run(baseline) if baseline is not None else None
    doc = build_brief(run, lang, base, years=years, sensitivity=sensitivity, title=title)
    return write_document(run.path, doc, formats)
