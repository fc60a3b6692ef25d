"""Writing a brief into its results folder, never over an existing one.

`write_brief(results, lang, baseline=None)` reads a folder written by `changwon-sim run` and writes
next to its files

* ``brief.md`` / ``brief.html`` (English) or ``brief.ko.md`` / ``brief.ko.html`` (Korean);
* ``figures/brief_<chart>.png`` (``.ko.png``): the figures the markdown points to, redrawn in the
  brief's language.

If ``brief.ko.md`` (or its HTML or figures) exists, the next free stem is used: ``brief-2.ko.md``,
``brief-3.ko.md``, ... Each file is written to a temporary file in the same folder, flushed, and
hard-linked into place (`os.link` fails instead of replacing a file that appeared meanwhile), so a
brief file is complete or absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sim.report.brief import numbers
from sim.report.brief.compose import build_brief
from sim.report.brief.document import Document
from sim.report.brief.folders import load_run
from sim.report.brief.render import render_html, render_markdown

# ---------------------------------------------------------------------------------------------
# writing, never over an existing brief


def _stems() -> Iterator[str]:
    yield "brief"
    k = 2
    while True:
        yield f"brief-{k}"
        k += 1


def brief_paths(folder: Path, stem: str, lang: str, figures: Sequence[str]) -> dict[str, Path]:
    """Target paths of one brief: 'md', 'html' and one per figure name."""
    suffix = "" if lang == "en" else f".{lang}"
    paths = {
        "md": folder / f"{stem}{suffix}.md",
        "html": folder / f"{stem}{suffix}.html",
    }
    for name in figures:
        paths[name] = folder / "figures" / f"{stem}_{name}{suffix}.png"
    return paths


def _write_new(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically; FileExistsError if `target` exists (never replaced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails if target exists (os.replace would not)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if os.path.lexists(target):
                raise FileExistsError(target) from None
            os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_document(folder: Path, doc: Document) -> list[Path]:
    """Write the brief's markdown, HTML and figures under the first free stem; returns paths."""
    names = [f.name for f in doc.figures]
    for stem in _stems():
        paths = brief_paths(folder, stem, doc.lang, names)
        if any(os.path.lexists(p) for p in paths.values()):
            continue
        relative = {n: paths[n].relative_to(folder).as_posix() for n in names}
        contents = {
            "md": render_markdown(doc, relative).encode("utf-8"),
            "html": render_html(doc).encode("utf-8"),
            **{f.name: f.png for f in doc.figures},
        }
        written: list[Path] = []
        try:
            # Figures first: the markdown never points at a figure that is not there yet.
            for key in [*names, "md", "html"]:
                _write_new(paths[key], contents[key])
                written.append(paths[key])
        except FileExistsError:  # another brief took this stem meanwhile: undo, next stem
            for path in written:
                path.unlink(missing_ok=True)
            continue
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return [paths["md"], paths["html"], *(paths[n] for n in names)]
    raise AssertionError("unreachable")


def write_brief(
    results: str | Path,
    lang: str = "ko",
    baseline: str | Path | None = None,
    *,
    years: Sequence[int] | None = None,
    sensitivity: Path | str | None = "auto",
) -> list[Path]:
    """Build the brief of a results folder in `lang` and write it there; returns written paths.

    The first two paths are the markdown and the HTML. Raises `BriefError` for bad input.
    """
    numbers.check_lang(lang)
    run = load_run(results)
    base = load_run(baseline) if baseline is not None else None
    doc = build_brief(run, lang, base, years=years, sensitivity=sensitivity)
    return write_document(run.path, doc)
