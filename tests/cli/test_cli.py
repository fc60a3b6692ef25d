"""The command line end to end, through `main(argv)` and through a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli.main import main
from sim.model.indicators import INDICATOR_NAMES

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

SMALL = """\
name: small-tariff
period: {start: 2025-01, end: 2026-06}
runs: {replicates: 4, seed: 0}
tariffs:
  - {name: reciprocal, partner: US, sectors: all, rate: 0.25, start: 2025-04}
uncertain:
  tariffs.reciprocal.rate: {dist: uniform, low: 0.1, high: 0.3}
"""

BASE = """\
name: small-base
period: {start: 2025-01, end: 2026-06}
runs: {replicates: 4, seed: 0}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def only_run(root: Path) -> Path:
    (run,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    return run


def test_run_writes_a_complete_results_folder(tmp_path, capsys):
    scenario = write(tmp_path, "s.yaml", SMALL)
    out = tmp_path / "results"
    assert main(["run", str(scenario), "--out", str(out), "--workers", "1"]) == 0
    folder = only_run(out / "small-tariff")
    assert str(folder) in capsys.readouterr().out
    for name in ("manifest.json", "scenario.yaml", "monthly.parquet", "annual.csv", "summary.json"):
        assert (folder / name).is_file(), name
    assert (folder / "figures" / "fan_production_krw.png").is_file()
    monthly = pd.read_parquet(folder / "monthly.parquet")
    assert len(monthly) == 4 * 18
    assert list(monthly.columns[2:]) == list(INDICATOR_NAMES)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 0 and manifest["replicates"] == 4
    assert (folder / "annual.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_same_seed_gives_identical_annual_csv_whatever_the_workers(tmp_path):
    scenario = write(tmp_path, "s.yaml", SMALL.replace("replicates: 4", "replicates: 30"))
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["run", str(scenario), "--out", str(one), "--workers", "1", "--no-figures"]) == 0
    assert main(["run", str(scenario), "--out", str(two), "--workers", "2", "--no-figures"]) == 0
    first = (only_run(one / "small-tariff") / "annual.csv").read_bytes()
    second = (only_run(two / "small-tariff") / "annual.csv").read_bytes()
    assert first == second


def test_a_different_seed_gives_different_numbers(tmp_path):
    scenario = write(tmp_path, "s.yaml", SMALL)
    out = tmp_path / "r"
    assert main(["run", str(scenario), "--out", str(out), "--no-figures", "--workers", "1"]) == 0
    assert (
        main(
            [
                "run",
                str(scenario),
                "--out",
                str(out),
                "--no-figures",
                "--seed",
                "1",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    first, second = sorted((out / "small-tariff").iterdir())
    assert (first / "annual.csv").read_bytes() != (second / "annual.csv").read_bytes()


def test_broken_scenario_exits_2_lists_every_problem_and_writes_nothing(tmp_path, capsys):
    broken = write(
        tmp_path,
        "broken.yaml",
        "name: broken\n"
        "period: {start: 2025-13, end: 2030-12}\n"
        "tariffs:\n"
        "  - {name: x, partner: Mars, sectors: all, rate: 0.1, start: 2025-01}\n",
    )
    out = tmp_path / "results"
    assert main(["run", str(broken), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) >= 2
    assert all(line.startswith(f"{broken}:") for line in lines), err
    assert "Traceback" not in err
    assert not out.exists()


def test_check_schema_and_params(tmp_path, capsys):
    scenario = write(tmp_path, "s.yaml", SMALL)
    assert main(["check", str(scenario)]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "tariffs" in schema["properties"]
    assert main(["params", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"elasticity_long_run", "tariff_passthrough"} <= {r["name"] for r in rows}
    assert all(r["source"] for r in rows)


def test_bad_flag_values_exit_2(tmp_path):
    scenario = write(tmp_path, "s.yaml", SMALL)
    assert main(["run", str(scenario), "--replicates", "0"]) == 2
    assert main(["run", str(scenario), "--seed", "-1"]) == 2
    not_a_folder = write(tmp_path, "file", "")
    assert main(["run", str(scenario), "--out", str(not_a_folder)]) == 2


def test_compare_writes_paired_differences(tmp_path):
    base = write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", SMALL)
    out = tmp_path / "results"
    assert main(["compare", str(base), str(alt), "--out", str(out), "--no-figures"]) == 0
    folder = only_run(out / "compare-small-base-vs-small-tariff")
    table = pd.read_csv(folder / "differences.csv", encoding="utf-8-sig")
    us = table[(table.indicator == "exports_usd_US") & (table.year == 2026)]
    assert (us["q95_diff"] < 0).all()  # the tariff lowers US exports in every paired replicate


@pytest.mark.skipif(not SCENARIOS.is_dir(), reason="no scenarios folder")
def test_every_shipped_scenario_passes_check():
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    assert main(["check", *map(str, files)]) == 0


def test_module_entry_point_in_a_subprocess(tmp_path):
    scenario = write(tmp_path, "s.yaml", SMALL)
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(scenario)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    broken = write(tmp_path, "b.yaml", "name: [not, a, name]\n")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"{broken}:1:")


def test_compare_lists_the_problems_of_every_file_and_checks_periods(tmp_path, capsys):
    bad_base = write(tmp_path, "base.yaml", "name: base\nperiod: {start: 2025-13, end: 2026-06}\n")
    bad_alt = write(tmp_path, "alt.yaml", "name: alt\nrate: 3\n")
    out = tmp_path / "results"
    assert main(["compare", str(bad_base), str(bad_alt), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad_base}:" in err and f"{bad_alt}:" in err
    longer = write(tmp_path, "longer.yaml", SMALL.replace("2026-06", "2026-12"))
    base = write(tmp_path, "ok.yaml", BASE)
    assert main(["compare", str(base), str(longer), "--out", str(out)]) == 2
    assert "same period" in capsys.readouterr().err
    assert not out.exists()
