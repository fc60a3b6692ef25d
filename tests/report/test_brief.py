"""Policy briefs: numbers equal the results folder, both languages, clean Korean figures,
self-contained HTML, never overwritten, clear errors."""

from __future__ import annotations

import base64
import json
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.ensemble.tables import annual_table, compare_tables
from sim.report.brief import compose as brief
from sim.report.brief import wording as brief_text
from sim.report.brief.document import md
from sim.report.brief.folders import BriefError, headline_years, load_run, read_sensitivity
from sim.report.brief.numbers import (
    euro,
    format_krw,
    format_persons,
    format_probability,
    format_range,
    format_range_median,
    format_usd,
    format_value,
    nice_number,
    topic,
)
from sim.report.brief.render import inline_html, render_markdown

TARIFF = """\
name: brief-tariff
title: US tariff of 25% from April 2025
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 8, seed: 11}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.15, high: 0.35}
  elasticity_long_run: {dist: uniform, low: 1.75, high: 2.25}
"""

BASE = """\
name: brief-base
title: No new tariff
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 8, seed: 11}
"""


def cli_main(argv: list[str]) -> int:
    """`changwon-sim` through `main(argv)`."""
    from sim.cli.main import main

    return main(argv)


def only_run(root: Path) -> Path:
    (run,) = [p for p in root.iterdir() if (p / "manifest.json").is_file()]
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tariff run, its paired baseline, and a baseline with another seed (not pairable)."""
    from sim.cli.main import main

    tmp = tmp_path_factory.mktemp("brief")
    (tmp / "tariff.yaml").write_text(TARIFF, encoding="utf-8")
    (tmp / "base.yaml").write_text(BASE, encoding="utf-8")
    out = tmp / "results"
    common = ["--replicates", "8", "--out", str(out), "--workers", "1", "--no-figures"]
    assert main(["run", str(tmp / "tariff.yaml"), *common]) == 0
    assert main(["run", str(tmp / "base.yaml"), *common]) == 0
    other = tmp / "other"
    assert (
        main(
            [
                "run",
                str(tmp / "base.yaml"),
                *common[:2],
                "--seed",
                "12",
                "--out",
                str(other),
                "--workers",
                "1",
                "--no-figures",
            ]
        )
        == 0
    )
    return {
        "tariff": only_run(out / "brief-tariff"),
        "base": only_run(out / "brief-base"),
        "other_seed": only_run(other / "brief-base"),
        "tmp": tmp,
    }


@pytest.fixture(scope="module")
def briefs(runs) -> dict[str, dict[str, str]]:
    """Both languages written through the command line, with the baseline."""
    written = {}
    for lang in ("ko", "en"):
        code = cli_main(
            ["brief", str(runs["tariff"]), "--lang", lang, "--baseline", str(runs["base"])]
        )
        assert code == 0
        suffix = ".ko" if lang == "ko" else ""
        written[lang] = {
            "md": (runs["tariff"] / f"brief{suffix}.md").read_text(encoding="utf-8"),
            "html": (runs["tariff"] / f"brief{suffix}.html").read_text(encoding="utf-8"),
        }
    return written


# --- number formatting ---------------------------------------------------------------------------


def test_amounts_are_rounded_for_reading_in_each_language():
    assert format_krw(61.42e12, "ko") == "61.4조원"
    assert format_krw(61.42e12, "en") == "61.4 trillion KRW"
    assert format_krw(5.0e11, "ko") == "5,000억원"
    assert format_krw(5.0e11, "en") == "500 bn KRW"
    assert format_usd(18.43e9, "ko") == "184억 달러"
    assert format_usd(18.43e9, "en") == "18.4 bn USD"
    assert format_usd(-3.5e8, "en") == "-350 m USD"
    assert format_persons(120_289, "ko") == "12.0만 명"
    assert format_persons(120_289, "en") == "120,300 jobs"
    assert format_persons(-1_234, "ko", signed=False) == "-1,230명"
    assert format_persons(2_000, "en", signed=True) == "+2,000 jobs"
    assert format_value(2e8, "USD", "ko", trim=True) == "2억 달러"
    assert format_value(3216, "firms", "en") == "3,216 firms"  # firms stay exact


def test_ranges_share_one_unit_and_never_collapse():
    assert format_range(58.1e12, 61.4e12, "KRW", "ko") == "58.1~61.4조원"
    assert format_range(58.1e12, 61.4e12, "KRW", "en") == "58.1–61.4 trillion KRW"
    assert format_range(-4.0, -2.1, "percent", "en") == "-4.0 to -2.1%"
    # 119,960 and 120,040 both read 12.0만: more decimals until the ends differ
    assert format_range(119_960, 120_040, "persons", "ko") == "11.996~12.004만 명"
    assert format_range(17.0e9, 17.8e9, "USD", "ko") == "170~178억 달러"


def test_chances_keep_their_basis_and_are_never_rounded_to_certainty():
    assert format_probability(97, 100, "ko") == "97% (100회 중 97회)"
    assert format_probability(97, 100, "en") == "97% of runs (97 of 100)"
    assert format_probability(299, 300, "en").startswith("99%")
    assert format_probability(1, 300, "en").startswith("1%")


def test_round_thresholds():
    assert nice_number(0.67e9, how="nearest") == 0.5e9
    assert nice_number(0.8e9, how="nearest") == 1e9
    assert nice_number(0.38e9, how="down") == 0.2e9
    assert nice_number(1.0e9, how="down") == 1e9
    assert nice_number(1.0005e9, how="up") == 2e9
    diffs = -np.linspace(0.4e9, 1.2e9, 100)  # falls of 0.4 to 1.2 bn USD
    assert brief.thresholds(diffs) == [0.2e9, 1e9]
    assert brief.thresholds(np.zeros(5)) == []


def test_korean_particles_follow_the_last_syllable():
    assert topic("생산액") == "생산액은"
    assert topic("부가가치") == "부가가치는"
    assert euro("61.4조원") == "61.4조원으로"
    assert euro("184억 달러") == "184억 달러로"
    assert brief_text.diff_short(-4.0, -2.1, "ko") == "기준 대비 2.1~4.0% 감소"
    assert brief_text.diff_short(-1.0, 0.5, "en") == (
        "-1.0 to +0.5% against the baseline, direction uncertain"
    )


# --- the briefs ----------------------------------------------------------------------------------


def test_both_languages_are_written_with_their_figures(runs, briefs):
    folder = runs["tariff"]
    for lang, suffix in (("ko", ".ko"), ("en", "")):
        for kind in ("fan", "compare"):
            for name in brief.FIGURE_INDICATORS:
                figure = folder / "figures" / f"brief_{kind}_{name}{suffix}.png"
                assert figure.read_bytes().startswith(b"\x89PNG"), figure
                assert f"figures/brief_{kind}_{name}{suffix}.png" in briefs[lang]["md"]
    assert "## 요약" in briefs["ko"]["md"] and "## Summary" in briefs["en"]["md"]
    assert "## Summary" not in briefs["ko"]["md"]
    # the scenario's assumptions, calibration and footer are there
    ko, en = briefs["ko"]["md"], briefs["en"]["md"]
    assert "관세 조치 'reciprocal'의 세율: 15%~35% 균등분포" in ko
    assert "The rate of tariff 'reciprocal': uniform 15% to 35%" in en
    assert "calibration/parameters.yaml" in ko and ("prior-" in ko or "fit-" in ko)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for doc in (ko, en):
        assert manifest["scenario_hash"] in doc
        assert "--seed 11 --replicates 8" in doc
        assert f"changwon-sim brief {folder}" in doc


def test_headline_quotes_summary_json_exactly(runs, briefs):
    summary = json.loads((runs["tariff"] / "summary.json").read_text(encoding="utf-8"))
    (year,) = headline_years(load_run(runs["tariff"]))
    assert year == 2026
    for lang in ("ko", "en"):
        headline = briefs[lang]["md"].split("\n## ")[1]
        for name in brief.HEADLINE_INDICATORS:
            entry = summary["indicators"][name]["years"][str(year)]
            kind = summary["indicators"][name]["unit"]
            rng, median = format_range_median(*entry["q10_q90"], entry["median"], kind, lang)
            assert rng in headline and median in headline, (lang, name, rng, median)
        assert str(year) in headline and "80%" in headline


# The units in the headers of the table by year, as divisors of the raw values.
DIVISORS = {
    "조원": 1e12,
    "억 달러": 1e8,
    "만 명": 1e4,
    "명": 1.0,
    "개사": 1.0,
    "%": 0.01,
    "trillion KRW": 1e12,
    "bn USD": 1e9,
    "m USD": 1e6,
    "jobs": 1.0,
    "firms": 1.0,
}


def markdown_table(doc: str, heading: str) -> tuple[list[str], list[list[str]]]:
    """Header and body rows of the first table after `heading`."""
    lines = doc.split(heading, 1)[1].splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[0], rows[2:]


CELL = re.compile(r"^([-+]?[\d,.]+) \(([-+]?[\d,.]+)(?:~| to |–)([-+]?[\d,.]+)\)$")


def parse_cell(cell: str) -> tuple[float, float, float, int]:
    """'65.9 (63.9~68.2)' -> (65.9, 63.9, 68.2, decimals)."""
    match = CELL.match(cell)
    assert match, cell
    values = [float(g.replace(",", "")) for g in match.groups()]
    decimals = max(len(g.split(".")[1]) if "." in g else 0 for g in match.groups())
    return values[0], values[1], values[2], decimals


def unit_of(header: str) -> float:
    unit = header.rsplit("(", 1)[1].rstrip(")")
    return DIVISORS[unit]


def test_table_by_year_equals_annual_csv(runs, briefs):
    annual = pd.read_csv(runs["tariff"] / "annual.csv", encoding="utf-8-sig").set_index(
        ["indicator", "year"]
    )
    for lang, heading in (("ko", "## 연도별 주요 지표"), ("en", "## Main indicators by year")):
        header, body = markdown_table(briefs[lang]["md"], heading)
        assert len(header) == 1 + len(brief.TABLE_INDICATORS)
        year_rows = [r for r in body if re.fullmatch(r"\d{4}", r[0])]
        assert [int(r[0]) for r in year_rows] == [2025, 2026]
        checked = 0
        for row in year_rows:
            for column, name in enumerate(brief.TABLE_INDICATORS, start=1):
                divisor = unit_of(header[column])
                median, lo, hi, decimals = parse_cell(row[column])
                # jobs are rounded to the nearest 100 in English
                tol = 0.5 * 10.0**-decimals * divisor + (
                    50 if divisor == 1 and lang == "en" and name == "employment" else 0
                )
                expected = annual.loc[(name, int(row[0]))]
                for shown, q in ((median, "q50"), (lo, "q10"), (hi, "q90")):
                    assert abs(shown * divisor - expected[q]) <= tol + 1e-9 * abs(expected[q]), (
                        lang,
                        name,
                        row[0],
                        q,
                        shown,
                        expected[q],
                    )
                    checked += 1
        assert checked == 2 * 6 * 3


def test_paired_differences_and_chances_equal_compare_tables(runs, briefs):
    base = pd.read_parquet(runs["base"] / "monthly.parquet")
    alt = pd.read_parquet(runs["tariff"] / "monthly.parquet")
    table = compare_tables(base, alt).set_index(["indicator", "year"])
    per = annual_table(alt).copy()
    per[list(brief.HEADLINE_INDICATORS)] -= annual_table(base)[list(brief.HEADLINE_INDICATORS)]
    for lang, heading in (("ko", "## 기준 시나리오 대비"), ("en", "## Against the baseline")):
        doc = briefs[lang]["md"]
        header, body = markdown_table(doc, heading)
        for row in body:
            year = int(row[0])
            for k, name in enumerate(brief.HEADLINE_INDICATORS):
                expected = table.loc[(name, year)]
                divisor = unit_of(header[1 + 2 * k])
                median, lo, hi, decimals = parse_cell(row[1 + 2 * k])
                tol = 0.5 * 10.0**-decimals * divisor * (10 if divisor == 1 else 1)
                assert abs(median * divisor - expected["q50_diff"]) <= tol
                assert abs(lo * divisor - expected["q10_diff"]) <= tol
                assert abs(hi * divisor - expected["q90_diff"]) <= tol
                median, lo, hi, decimals = parse_cell(row[2 + 2 * k])
                tol = 0.5 * 10.0**-decimals
                assert abs(median - expected["q50_pct"]) <= tol + 1e-12
                assert abs(lo - expected["q10_pct"]) <= tol + 1e-12
                assert abs(hi - expected["q90_pct"]) <= tol + 1e-12
        # the chance of being lower than the baseline: compare_tables' prob_negative; the
        # thresholds' chances: counted on the same pairs
        chances = (
            "### 확률로 본 차이 (2026년)"
            if lang == "ko"
            else "### The differences as chances (2026)"
        )
        bullets = [b for b in doc.split(chances, 1)[1].splitlines() if b.startswith("- ")][:3]
        pattern = r"(\d+)% \(8회 중 (\d+)회\)" if lang == "ko" else r"(\d+)% of runs \((\d+) of 8\)"
        for name, line in zip(brief.HEADLINE_INDICATORS, bullets, strict=True):
            assert brief_text.NOUN[lang][name].lower() in line.lower()
            diffs = per.loc[per["year"] == 2026, name].to_numpy()
            assert np.median(diffs) < 0  # a tariff lowers all three
            counts = [int(k) for _, k in re.findall(pattern, line)]
            expected = [round(table.loc[(name, 2026), "prob_negative"] * 8)]
            expected += [int((diffs < -t).sum()) for t in brief.thresholds(diffs)]
            assert counts == expected, line


def test_korean_figures_have_no_missing_glyphs(runs, caplog):
    run, base = load_run(runs["tariff"]), load_run(runs["base"])
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        doc = brief.build_brief(run, "ko", base)
    problems = [str(w.message) for w in caught if "glyph" in str(w.message).lower()]
    problems += [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("matplotlib")
        and r.levelno >= logging.WARNING
        and any(s in r.getMessage().lower() for s in ("glyph", "missing from font", "findfont"))
    ]
    assert problems == []
    assert len(doc.figures) == 6


def test_html_is_self_contained(briefs):
    for lang in ("ko", "en"):
        page = briefs[lang]["html"]
        assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
        lowered = page.lower()
        for bad in ("http://", "https://", "<link", "<script", "url(", "@import"):
            assert bad not in lowered, bad
        assert not re.search(r"""(src|href)\s*=\s*["']?//""", lowered)
        assert "href=" not in lowered
        sources = re.findall(r'src="([^"]+)"', page)
        assert len(sources) == 6
        for src in sources:
            assert src.startswith("data:image/png;base64,")
            assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
        # the text is the markdown's: the headline's first sentence is there, escaped properly
        assert "<strong>" in page and "**" not in page


def test_a_new_brief_replaces_the_previous_one_of_its_language_and_format(runs, briefs):
    folder = runs["tariff"]
    korean = (folder / "brief.ko.md").read_bytes()
    code = cli_main(["brief", str(folder), "--lang", "en"])
    assert code == 0
    again = (folder / "brief.md").read_text(encoding="utf-8")
    # without a baseline the brief says so, and names no baseline figures
    assert "No baseline comparison was made" in again
    assert "brief_compare" not in again
    assert (folder / "brief.ko.md").read_bytes() == korean  # another language: left alone
    assert not list(folder.glob("brief-*")) and not list(folder.glob(".*tmp*"))
    # put back the brief with the baseline for the tests that read it
    assert cli_main(["brief", str(folder), "--lang", "en", "--baseline", str(runs["base"])]) == 0


def test_word_brief_has_the_korean_title_tables_and_figures(runs):
    import docx

    folder = runs["tariff"]
    code = cli_main(
        ["brief", str(folder), "--lang", "ko", "--baseline", str(runs["base"]), "--format", "docx"]
    )
    assert code == 0
    word = docx.Document(str(folder / "brief.ko.docx"))
    texts = [p.text for p in word.paragraphs]
    # the scenario's title is English: the Korean brief gets a Korean one, the original kept
    assert texts[0] == "정책 브리프: 미국 관세 25% 시나리오"
    assert any("원제: US tariff of 25% from April 2025" in t for t in texts)
    assert "요약" in texts and "과거 예측의 적중 기록" in texts
    assert len(word.tables) >= 2 and len(word.inline_shapes) >= 6  # fan and difference charts
    table = word.tables[0]
    assert table.rows[0].cells[0].text == "연도"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["indicators"]["production_krw"]  # the table quotes the run's own numbers
    fonts = word.styles["Normal"].element.rPr.rFonts
    assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")


def test_hangul_brief_is_a_valid_package_with_the_korean_title_tables_and_figures(runs):
    import docx
    from hwpx import HwpxDocument, validate_package

    folder = runs["tariff"]
    argv = ["brief", str(folder), "--lang", "ko", "--baseline", str(runs["base"])]
    assert cli_main([*argv, "--format", "hwpx", "--format", "docx"]) == 0
    path = folder / "brief.ko.hwpx"
    report = validate_package(path)
    assert not [issue for issue in report.issues if issue.level != "warning"], report.issues
    hangul = HwpxDocument.open(path)
    text = hangul.text.plain()
    assert text.startswith("정책 브리프: 미국 관세 25% 시나리오")
    assert "요약" in text and "과거 예측의 적중 기록" in text
    assert "**" not in text and "`" not in text  # markup became runs of a style
    assert len(hangul.tables) >= 2
    assert len(hangul.media.images) >= 6  # fan and difference charts
    word = docx.Document(str(folder / "brief.ko.docx"))
    first = word.tables[0]
    for i in (0, 1):  # the same table as in Word: the header and the first year's figures
        cells = [hangul.tables[0].cell(i, j).text for j in range(len(first.columns))]
        assert cells == [c.text for c in first.rows[i].cells]


def test_a_brief_title_can_be_given(runs):
    folder = runs["tariff"]
    assert (
        cli_main(["brief", str(folder), "--lang", "ko", "--title", "관세 점검", "--format", "md"])
        == 0
    )
    assert (
        (folder / "brief.ko.md").read_text(encoding="utf-8").startswith("# 정책 브리프: 관세 점검")
    )
    assert cli_main(["brief", str(folder), "--lang", "ko", "--baseline", str(runs["base"])]) == 0


def test_pdf_brief_prints_hangul(runs, tmp_path):
    import shutil

    from sim.report.brief.pdf import find_browser

    if find_browser() is None:
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    folder = runs["tariff"]
    assert cli_main(["brief", str(folder), "--lang", "ko", "--format", "pdf"]) == 0
    pdf = (folder / "brief.ko.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        import subprocess

        text = subprocess.run(
            ["pdftotext", str(folder / "brief.ko.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "정책 브리프" in text and "요약" in text


def test_a_pdf_without_a_browser_is_a_one_line_error(runs, monkeypatch, capsys):
    monkeypatch.setenv("CHANGWON_SIM_BROWSER", "/nonexistent/chromium")
    folder = runs["tariff"]
    before = sorted(p.name for p in folder.iterdir())
    assert cli_main(["brief", str(folder), "--lang", "en", "--format", "pdf"]) == 2
    assert "apt-get install chromium" in one_line_error(capsys)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_sensitivity_drivers_are_read_when_present(runs):
    run = load_run(runs["tariff"])
    sens = run.path.parent / "sensitivity-20260101T000000Z-abcd1234"
    sens.mkdir()
    try:
        pd.DataFrame(
            {
                "output": ["exports_usd:2026"] * 4,
                "factor": [
                    "elasticity_long_run",
                    "tariffs.reciprocal.rate",
                    "dummy",
                    "macro.krw_per_usd",
                ],
                "S1": [0.5, 0.3, 0.0, 0.01],
                "ST": [0.6, 0.35, 0.02, 0.015],
                "ST_conf": [0.05, 0.04, 0.01, 0.01],
            }
        ).to_csv(sens / "indices.csv", index=False)
        doc = render_markdown(brief.build_brief(run, "en"))
        section = doc.split("## What drives the range", 1)[1].split("\n## ", 1)[0]
        assert "Exports in 2026" in section
        assert section.index("long-run trade elasticity") < section.index("tariff 'reciprocal'")
        assert "total-order index 0.60 ± 0.05" in section
        assert "won/dollar" not in section  # below the dummy's noise floor
        assert "(noise floor 0.03)" in section  # the dummy's index plus its interval
        ko = render_markdown(brief.build_brief(run, "ko"))
        assert "장기 무역탄력성" in ko and "총효과 지수" in ko
        assert "다른 버전의 시나리오" not in ko
        # a sensitivity run of an edited scenario is flagged
        (sens / "manifest.json").write_text(json.dumps({"scenario_hash": "f" * 64}), "utf-8")
        ko = render_markdown(brief.build_brief(run, "ko"))
        assert "다른 버전의 시나리오(해시 ffffffff…)" in ko
    finally:
        for path in sens.iterdir():
            path.unlink()
        sens.rmdir()
    doc = render_markdown(brief.build_brief(run, "ko"))
    assert "민감도 분석은 실행되지 않았습니다" in doc


def test_sensitivity_in_the_long_layout_of_sim_sensitivity(tmp_path):
    """indices.csv as `changwon-sim sensitivity` writes it: one row per output, measure, factor."""
    rows = []
    for factor, s1, st, flag in (
        ("tariff_passthrough", 0.30, 0.45, "yes"),
        ("elasticity_long_run", 0.20, 0.40, "yes"),
        ("macro.krw_per_usd", 0.01, 0.06, "no"),
        ("dummy", 0.00, 0.05, ""),
    ):
        for measure, value in (("S1", s1), ("ST", st)):
            rows.append(
                {
                    "output": "exports_usd:2027",
                    "indicator": "exports_usd",
                    "year": 2027,
                    "measure": measure,
                    "factor": factor,
                    "factor_2": "",
                    "value": value,
                    "conf": 0.02,
                    "above_noise_floor": flag,
                }
            )
    rows.append({**rows[0], "measure": "S2", "factor_2": "dummy", "value": 0.9})
    path = tmp_path / "indices.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    manifest = {"method": "sobol", "outputs": ["exports_usd:2027"]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    sens = read_sensitivity(path)
    assert sens.error is None and sens.method == "Sobol" and sens.index_kind == "total"
    drivers = sens.drivers["exports_usd:2027"]
    assert [d.factor for d in drivers] == ["tariff_passthrough", "elasticity_long_run"]
    assert drivers[0].index == 0.45 and drivers[0].conf == 0.02
    assert sens.noise_floor["exports_usd:2027"] == pytest.approx(0.07)
    assert sens.outputs == ("exports_usd:2027",)
    assert sens.leaders["exports_usd:2027"].factor == "tariff_passthrough"


def test_an_unreadable_sensitivity_result_is_reported_not_fatal(tmp_path):
    path = tmp_path / "indices.csv"
    path.write_text("something,else\n1,2\n", encoding="utf-8")
    sens = read_sensitivity(path)
    assert sens.error and not sens.drivers


def test_headline_years_are_the_second_and_last_full_years(runs):
    run = load_run(runs["tariff"])
    assert headline_years(run) == [2026]
    assert headline_years(run, [2025]) == [2025]
    with pytest.raises(BriefError, match="--year 2031"):
        headline_years(run, [2031])


def test_markup_from_data_is_escaped():
    assert inline_html(md("<script>a*b*</script>")) == ("&lt;script&gt;a*b*&lt;/script&gt;")
    assert inline_html("**61.4조원** `x<y`") == "<strong>61.4조원</strong> <code>x&lt;y</code>"


# --- bad input -----------------------------------------------------------------------------------


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_not_a_results_folder_exits_2(tmp_path, capsys):
    assert cli_main(["brief", str(tmp_path)]) == 2
    assert "not a results folder" in one_line_error(capsys)
    assert cli_main(["brief", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_baseline_with_another_seed_exits_2(runs, capsys):
    folder = runs["tariff"]
    before = sorted(p.name for p in folder.iterdir())
    code = cli_main(["brief", str(folder), "--baseline", str(runs["other_seed"])])
    assert code == 2
    err = one_line_error(capsys)
    assert "seed 11 vs 12" in err and "--baseline" in err
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


def test_a_scenario_folder_with_one_run_is_accepted(runs):
    assert load_run(runs["base"].parent).path == runs["base"]


def test_a_folder_whose_files_changed_is_refused(runs, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(runs["tariff"], copy)
    for old in copy.glob("brief*"):
        old.unlink()
    annual = copy / "annual.csv"
    annual.write_bytes(annual.read_bytes().replace(b"production_krw", b"production_krw ", 1))
    assert cli_main(["brief", str(copy), "--lang", "en", "--format", "md"]) == 2
    err = one_line_error(capsys)
    assert "annual.csv: does not match the sha256 in manifest.json" in err
    assert not list(copy.glob("brief*"))
