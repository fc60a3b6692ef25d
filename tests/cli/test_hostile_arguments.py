"""Command-line values that used to run, hang or fail with exit 1 (DESIGN §10): each is now
refused with exit 2 before any work, or handled."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sim.cli.main import main

SMALL = "name: small\nperiod: {start: 2025-01, end: 2025-06}\nruns: {replicates: 2, seed: 1}\n"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--seed", str(2**63), "must be at most 9223372036854775807"),  # seeds are int64
        ("--workers", "100000", "must be at most 256"),  # thousands of processes otherwise
        ("--workers", "0", "must be at least 1"),
    ],
)
@pytest.mark.parametrize("command", ["run", "sensitivity", "calibrate", "validate"])
def test_out_of_range_flags_are_refused(scenario, tmp_path, command, flag, value, words):
    args = [command] + ([str(scenario)] if command in ("run", "sensitivity") else [])
    code, out, err = cli(*args, flag, value, "--out", str(tmp_path / "out"))
    assert code == 2 and out == "" and words in err
    assert not (tmp_path / "out").exists()


def test_an_out_folder_name_too_long_for_the_file_system_is_refused_before_running(
    scenario, tmp_path
):
    """It failed after simulating: `OSError: [Errno 36] File name too long`, exit 1."""
    out = tmp_path / ("x" * 300) / "results"
    code, printed, err = cli("run", str(scenario), "--out", str(out), "--workers", "1")
    assert code == 2 and printed == ""
    assert err == f"error: --out {out}: a folder name is longer than 255 bytes\n"


def test_a_file_where_the_job_folder_goes_is_refused(scenario, tmp_path):
    """A file named .jobs in the scenario's folder: exit 1 NotADirectoryError, now exit 2."""
    (tmp_path / "out" / "small").mkdir(parents=True)
    (tmp_path / "out" / "small" / ".jobs").write_text("not a folder", encoding="utf-8")
    code, _, err = cli("run", str(scenario), "--out", str(tmp_path / "out"), "--workers", "1")
    assert code == 2 and err.startswith(f"error: --out {tmp_path / 'out'}: ")
    assert err.rstrip().endswith("is not a folder") and len(err.splitlines()) == 1


def test_at_most_99_quantiles(tmp_path):
    """10,000 quantiles passed check, then run wrote 10,000 columns a row for minutes."""
    levels = ", ".join(f"{(i + 1) / 101:.6f}" for i in range(100))
    path = tmp_path / "q.yaml"
    path.write_text(f"name: q\noutputs: {{quantiles: [{levels}]}}\n", encoding="utf-8")
    code, _, err = cli("check", str(path))
    assert code == 2 and f"{path}:2: outputs.quantiles: may have at most 99 items" in err
