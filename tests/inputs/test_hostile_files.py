"""Hostile scenario files and names (DESIGN §10): each is refused by `check` and `run` with exit 2
and one line per problem naming the file and line, without quoting a file that is not a scenario,
and nothing is written."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sim.cli.main import main


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def refused(path: Path, out: Path) -> str:
    """`check` and `run` refuse the file alike, write nothing; returns the one error line."""
    code, printed, err = cli("check", str(path))
    assert code == 2 and printed == "" and "Traceback" not in err, (code, err)
    assert len(err.splitlines()) == 1, err
    code, printed, err_run = cli("run", str(path), "--out", str(out), "--workers", "1")
    assert (code, printed, err_run) == (2, "", err)
    assert not out.exists()
    return err.strip()


def test_a_name_with_a_trailing_newline_is_refused(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text('name: "abc\\n"\nruns: {replicates: 1}\n', encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line.startswith(f"{scenario}:1: name: may use only letters")
    assert "'abc\\n'" in line


def test_extends_into_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nextends: a.yaml\n", encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line == f"{scenario}:2: extends: a loop of symbolic links (got a.yaml)"


def test_a_scenario_that_is_a_symlink_loop_is_refused(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.symlink_to(tmp_path / "t.yaml")
    (tmp_path / "t.yaml").symlink_to(scenario)
    assert refused(scenario, tmp_path / "out").startswith(f"{scenario}:1: cannot be read")


@pytest.mark.parametrize("target", ["/etc/passwd", "/etc/hostname", "/etc/os-release"])
def test_a_scenario_linked_to_a_system_file_is_refused_without_quoting_it(tmp_path, target):
    if not os.access(target, os.R_OK) or not Path(target).read_text(errors="replace").strip():
        pytest.skip(f"{target} cannot be read here")
    scenario = tmp_path / "s.yaml"
    scenario.symlink_to(target)
    line = refused(scenario, tmp_path / "out")
    assert line.startswith(f"{scenario}:")
    message = line[len(str(scenario)) :]
    for text in Path(target).read_text(errors="replace").split():
        words = [w for w in text.replace("=", " ").replace(":", " ").split() if len(w) >= 4]
        for word in words:
            assert word.strip("\"'") not in message, f"quotes {word!r} of {target}: {line}"


def test_a_mapping_of_unknown_keys_is_not_quoted_back(tmp_path):
    """What /proc/self/status or a config file of another program looks like to YAML."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("Secret_Token: hunter2\nPassword_Hash: abcdef\n", encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line == f"{scenario}:1: not a scenario file: none of its keys is known"


def test_a_fifo_is_refused_instead_of_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == f"{fifo}:1: is not a regular file\n"


def test_a_null_key_is_reported_on_its_own_line(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nperiod:\n  start: 2025-01\n  ~: 2026-01\n", encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line.startswith(f"{scenario}:4: period.null: ")


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("010", "a leading zero would make it an octal number"),
        ("00", "a leading zero would make it an octal number"),
        ("0x10", "decimal digits"),
        ("0b101", "decimal digits"),
        ("1:30", "base-60"),
        ("1:30.5", "base-60"),
    ],
)
def test_yaml_1_1_numbers_that_read_otherwise_are_refused(tmp_path, written, words):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: s\nruns:\n  replicates: 3\n  seed: {written}\n", encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line.startswith(f"{scenario}:4: {written}") and words in line


@pytest.mark.parametrize(("written", "value"), [("10", 10), ("0", 0), ("-0", 0), ("1_000", 1000)])
def test_plain_decimal_numbers_are_read_as_written(tmp_path, written, value):
    from sim.inputs.scenario_files import load_scenario

    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: s\nruns: {{seed: {written}}}\n", encoding="utf-8")
    assert load_scenario(scenario).runs.seed == value


def test_thousands_of_items_are_checked_without_quadratic_work(tmp_path):
    """3,000 tariffs, each with an uncertain rate: checking every draw's extremes used to
    validate the whole file again for each (hours); the joint rules compared every measure with
    every other. The timeout only catches a hang; it is not a speed test."""
    lines = ["name: many", "tariffs:"]
    lines += [f"  - {{name: t{i}, partner: US, rate: 0.0001, start: 2025-02}}" for i in range(3000)]
    lines += ["uncertain:"]
    lines += [f"  tariffs.t{i}.rate: {{dist: uniform, low: 0, high: 0.0002}}" for i in range(3000)]
    path = tmp_path / "many.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: {path}: many, ") and "3000 uncertain inputs" in done.stdout


def test_extends_naming_a_fifo_says_it_is_not_a_file(tmp_path):
    os.mkfifo(tmp_path / "parent.yaml")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nextends: parent.yaml\n", encoding="utf-8")
    line = refused(scenario, tmp_path / "out")
    assert line == f"{scenario}:2: extends: not a regular file: {tmp_path / 'parent.yaml'}"
