"""What an analyst takes away from `run` and `compare`: the printed headline and next command, the
workbook, inputs.csv, the recorded command line and overrides, `runs`, help texts, broken pipes."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli.main import build_parser, main

SMALL = """\
name: out-tariff
title: Tariff of 25% on US sales
period: {start: 2025-01, end: 2026-06}
runs: {replicates: 40, seed: 5}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.1, high: 0.3}
"""
BASE = """\
name: out-base
period: {start: 2025-01, end: 2026-06}
runs: {replicates: 40, seed: 5}
"""


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def printed_folder(stdout: str) -> Path:
    (line,) = [x for x in stdout.splitlines() if x.startswith("Results: ")]
    return Path(line.removeprefix("Results: "))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("outputs")
    scenario = tmp / "tariff.yaml"
    scenario.write_text(SMALL, encoding="utf-8")
    (tmp / "baseline.yaml").write_text(BASE, encoding="utf-8")
    found = {}
    for workers in ("1", "2"):  # with two workers, figures are drawn beside the tables
        figures = ["--no-figures"] if workers == "1" else []
        code, stdout = run_cli(
            "run", str(scenario), "--replicates", "30", "--out", str(tmp / f"w{workers}"),
            "--workers", workers, *figures,
        )  # fmt: skip
        assert code == 0
        found[workers] = (printed_folder(stdout), stdout)
    return {"tmp": tmp, "scenario": scenario, "one": found["1"], "two": found["2"]}


def test_run_prints_the_headline_of_the_first_full_and_last_year(runs):
    folder, stdout = runs["one"]
    annual = pd.read_csv(folder / "annual.csv", encoding="utf-8-sig").set_index(
        ["indicator", "year"]
    )
    lines = stdout.splitlines()
    assert lines[0].startswith("Tariff of 25% on US sales: 30 runs, median (80% range")
    first = next(line for line in lines if line.startswith("  2025: "))
    last = next(line for line in lines if line.startswith("  2026 (6 months): "))
    row = annual.loc[("production_krw", 2025)]
    expected = (
        f"production {row['q50'] / 1e12:.1f} trillion KRW "
        f"({row['q10'] / 1e12:.1f}-{row['q90'] / 1e12:.1f})"
    )
    assert expected in first
    jobs = annual.loc[("employment", 2026)]
    assert f"jobs {round(jobs['q50'], -2):,.0f} persons" in last
    # the next step: a Word brief of this folder, and the comparison with the baseline beside it
    assert f"changwon-sim brief {folder} --format docx" in stdout
    assert "changwon-sim compare" in stdout and "baseline.yaml" in stdout and "--seed 5" in stdout


def test_inputs_csv_has_every_replicate_its_seed_and_drawn_inputs(runs):
    from sim.ensemble.replicate import drawn_inputs
    from sim.inputs.parameters import PARAMETER_NAMES
    from sim.inputs.scenario_files import load_scenario

    folder, _ = runs["one"]
    table = pd.read_csv(folder / "inputs.csv", encoding="utf-8-sig")
    assert list(table["replicate"]) == list(range(30))
    assert (table["seed"] == 5).all()
    columns = [c for c in table.columns if c not in ("replicate", "seed")]
    assert columns == sorted(columns)
    drawn = {c for c in columns if not c.startswith(("driver.", "growth."))}
    assert set(PARAMETER_NAMES) | {"tariffs.reciprocal.rate"} == drawn
    # The driver model's parameters and the drivers' annual growths in the forecast years.
    assert {"driver.exports.mean", "driver.krw_per_usd.persistence", "growth.domestic.2025"} <= set(
        columns
    )
    scenario = load_scenario(runs["scenario"])
    for replicate in (0, 17, 29):
        _, _, expected = drawn_inputs(scenario, 5, replicate)
        row = table.iloc[replicate]
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, rel=1e-9), name
    rates = table["tariffs.reciprocal.rate"]
    assert rates.between(0.1, 0.3).all() and rates.nunique() == 30


def test_inputs_csv_and_workbook_are_the_same_bytes_whatever_the_workers(runs):
    one, two = runs["one"][0], runs["two"][0]
    for name in ("inputs.csv", "annual.xlsx", "annual.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_figures_drawn_beside_the_tables_are_those_drawn_here(runs):
    from sim.ensemble.tables import annual_summary, annual_table
    from sim.inputs.scenario_files import load_scenario
    from sim.report.result_figures import fan_figures

    folder = runs["two"][0]
    scenario = load_scenario(runs["scenario"])
    monthly = pd.read_parquet(folder / "monthly.parquet")
    summary = annual_summary(annual_table(monthly), scenario.outputs.quantiles)
    here = dict(fan_figures(summary, 30, ("en",), scenario.title))
    drawn = {f"figures/{path.name}": path.read_bytes() for path in (folder / "figures").iterdir()}
    assert drawn == here
    listed = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert set(here) <= set(listed)


def test_workbook_sheets_quote_annual_csv_in_reading_units(runs):
    import openpyxl

    folder, _ = runs["one"]
    annual = pd.read_csv(folder / "annual.csv", encoding="utf-8-sig").set_index(
        ["indicator", "year"]
    )
    book = openpyxl.load_workbook(folder / "annual.xlsx")
    assert book.sheetnames[:3] == ["생산 Production", "수출 Exports", "고용 Employment"]
    assert book.sheetnames[-1] == "가정과 출처 Sources"
    sheet = book["생산 Production"]
    header = sheet.cell(4, 2).value
    assert (
        header.startswith("생산액 (조원, 경상가격)")
        and "Production (trillion KRW, nominal)" in header
    )
    years = {sheet.cell(r, 1).value: r for r in range(6, sheet.max_row + 1)}
    assert "2024 실적 reported" in years and "2025" in years
    row = years["2025"]
    assert sheet.cell(row, 2).value == pytest.approx(
        annual.loc[("production_krw", 2025), "q50"] / 1e12
    )
    assert sheet.cell(row, 3).value == pytest.approx(
        annual.loc[("production_krw", 2025), "q10"] / 1e12
    )
    assert sheet.cell(years["2024 실적 reported"], 2).value == pytest.approx(62.223)
    exports = book["수출 Exports"]
    assert "억 달러" in exports.cell(4, 2).value
    r = next(r for r in range(6, exports.max_row + 1) if exports.cell(r, 1).value == "2025")
    assert exports.cell(r, 2).value == pytest.approx(annual.loc[("exports_usd", 2025), "q50"] / 1e8)
    sources = book["가정과 출처 Sources"]
    texts = [str(c.value) for row in sources.iter_rows() for c in row if c.value is not None]
    assert "elasticity_long_run" in texts
    # sources are spelled out: the published entry, with its outlet and date, not a file section
    assert any("Boehm, Levchenko and Pandalai-Nayar" in t and "2023" in t for t in texts)
    assert any(t.startswith("etnews (Electronic Times)") for t in texts)
    assert not any("FACTS" in t for t in texts)


def test_scenario_yaml_manifest_and_run_id_record_what_was_run(runs):
    import yaml

    folder, _ = runs["one"]
    scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    assert scenario["runs"] == {"replicates": 30, "seed": 5}  # --replicates 30, not the file's 40
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command_line"].startswith("changwon-sim run ")
    assert "--replicates 30" in manifest["command_line"]
    for library in ("numpy", "scipy", "pandas", "SALib", "mesa", "numba"):
        assert library in manifest["versions"]
    tmp = runs["tmp"]
    code, stdout = run_cli(
        "run", str(runs["scenario"]), "--replicates", "30", "--seed", "6",
        "--out", str(tmp / "w1"), "--workers", "1", "--no-figures",
    )  # fmt: skip
    assert code == 0
    other = printed_folder(stdout)
    assert other.name.split("-")[1] != folder.name.split("-")[1]  # the hash covers the seed


def test_runs_lists_results_newest_first(runs, capsys):
    out = runs["tmp"] / "w1"
    assert main(["runs", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "created",
        "(UTC)",
        "kind",
        "scenario",
        "seed",
        "replicates",
        "folder",
    ]
    rows = [line for line in lines[1:] if "out-tariff" in line]
    assert len(rows) >= 1 and all(" run " in f" {r} " for r in rows)
    assert main(["runs", "--out", str(runs["tmp"] / "nothing")]) == 0
    assert "no results" in capsys.readouterr().out


def test_compare_prints_paired_differences_and_writes_each_run(runs):
    tmp = runs["tmp"]
    out = tmp / "cmp"
    code, stdout = run_cli(
        "compare", str(tmp / "baseline.yaml"), str(runs["scenario"]), "--replicates", "20",
        "--out", str(out), "--workers", "1", "--no-figures",
    )  # fmt: skip
    assert code == 0
    folder = printed_folder(stdout)
    table = pd.read_csv(folder / "differences.csv", encoding="utf-8-sig").set_index(
        ["indicator", "year"]
    )
    assert stdout.startswith("out-tariff minus out-base, paired run by run (20 runs)")
    row = table.loc[("exports_usd", 2025)]
    assert f"P(fall) {row['prob_negative']:.0%}" in stdout
    assert f"exports {row['q50_diff'] / 1e9:+,.2f} bn USD" in stdout
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    base_run, alt_run = (Path(manifest["run_folders"][n]) for n in ("out-base", "out-tariff"))
    assert (base_run / "inputs.csv").is_file() and (alt_run / "annual.xlsx").is_file()
    assert f"changwon-sim brief {alt_run} --baseline {base_run} --format docx" in stdout
    assert "inputs of out-tariff that differ from out-base" in stdout
    assert "uncertain.tariffs.reciprocal.rate" in manifest["inputs_that_differ"]["out-tariff"]
    # common random numbers: the two runs drew the same parameters
    base_inputs = pd.read_csv(base_run / "inputs.csv", encoding="utf-8-sig")
    alt_inputs = pd.read_csv(alt_run / "inputs.csv", encoding="utf-8-sig")
    np.testing.assert_array_equal(
        base_inputs["elasticity_long_run"], alt_inputs["elasticity_long_run"]
    )


def test_every_argument_has_help_with_an_example():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            text = action.help or ""
            if not text or (action.nargs != 0 and "e.g." not in text):
                missing.append(f"{name} {action.dest}")
    assert missing == []


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["params", "--sources"]) == 0
    assert capsys.readouterr().err == ""


def test_params_piped_into_a_closed_reader_prints_no_error():
    # `true` exits without reading: every write of the command meets a closed pipe
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m sim params | true; echo ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "0"
    assert done.stderr == ""
