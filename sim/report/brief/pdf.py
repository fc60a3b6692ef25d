"""Rendering a brief as PDF: the self-contained HTML page printed by headless Chromium (Debian's
`chromium` package), with the Noto Sans KR font of `pylopdf-fonts-ko` so that Hangul prints
whatever fonts the machine has.

Chromium is run with the network-related features off (no first-run, sync, component updates or
background networking) and a throw-away profile, so it works on a closed machine and leaves
nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sim.report.brief.document import Document
from sim.report.brief.render import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 120


class PdfError(RuntimeError):
    """No browser to print with, or printing failed; one line."""


def find_browser() -> str | None:
    """The path of a headless-capable Chromium, or None. `CHANGWON_SIM_BROWSER` may name one."""
    named = os.environ.get("CHANGWON_SIM_BROWSER")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def render_pdf(doc: Document) -> bytes:
    """The brief as PDF bytes; `PdfError` if there is no browser or it fails."""
    browser = find_browser()
    if browser is None:
        raise PdfError(
            "a PDF brief is printed by Chromium, which was not found: install it "
            "(Debian: apt-get install chromium) or choose --format docx or html"
        )
    page = _with_embedded_font(render_html(doc))
    with tempfile.TemporaryDirectory(prefix="changwon-brief-") as tmp:
        html_path = Path(tmp) / "brief.html"
        pdf_path = Path(tmp) / "brief.pdf"
        html_path.write_text(page, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={pdf_path}",
            html_path.as_uri(),
        ]
        try:
            subprocess.run(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the brief within {TIMEOUT_SECONDS} s") from None
        if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
            raise PdfError(f"Chromium ({browser}) did not write the PDF")
        return pdf_path.read_bytes()


def _with_embedded_font(page: str) -> str:
    """The page with Noto Sans KR loaded from the installed font file (for printing only: the
    HTML brief itself stays free of local file references)."""
    try:
        from sim.report.fonts import korean_font_path

        font = korean_font_path().as_uri()
    except RuntimeError:
        return page
    face = (
        f"<style>@font-face {{ font-family: 'Noto Sans KR'; src: url('{font}'); }}</style>\n</head>"
    )
    return page.replace("</head>", face, 1)
