"""`brief` refuses a results folder whose files no longer match the sha256 that `run` recorded
in manifest.json (DESIGN §7): exit 2, one line naming the file, nothing written. It used to
quote an edited annual.csv as the run's."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sim.cli.main import main

SCENARIO = """\
name: integrity
period: {start: 2025-01, end: 2026-12}
runs: {replicates: 4, seed: 2}
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    scenario = root / "integrity.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    code, out, err = cli("run", str(scenario), "--out", str(root / "out"), "--workers", "1")
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("Results: ")]
    return Path(line.removeprefix("Results: "))


@pytest.fixture
def copy(result, tmp_path) -> Path:
    folder = tmp_path / result.name
    shutil.copytree(result, folder)
    return folder


def refused(folder: Path) -> str:
    before = sorted(p.name for p in folder.iterdir())
    code, out, err = cli("brief", str(folder), "--lang", "en")
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    return err.strip()


def test_an_intact_folder_is_briefed(copy):
    code, out, err = cli("brief", str(copy), "--lang", "en")
    assert code == 0, err
    assert all(Path(line).is_file() for line in out.splitlines())


@pytest.mark.parametrize("name", ["annual.csv", "summary.json", "scenario.yaml", "monthly.parquet"])
def test_a_file_changed_after_the_run_is_refused_naming_it(copy, name):
    path = copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(data))
    line = refused(copy)
    assert line == (
        f"error: {path}: does not match the sha256 in manifest.json; the results were changed "
        "after `run` wrote them"
    )


def test_a_number_edited_in_annual_csv_is_refused(copy):
    path = copy / "annual.csv"
    text = path.read_text(encoding="utf-8-sig")
    first_digit = next(i for i, c in enumerate(text) if c.isdigit() and i > text.index("\n"))
    edited = text[:first_digit] + str((int(text[first_digit]) + 1) % 10) + text[first_digit + 1 :]
    path.write_text(edited, encoding="utf-8-sig")
    assert "annual.csv: does not match the sha256" in refused(copy)


def test_a_missing_file_is_refused(copy):
    (copy / "monthly.parquet").unlink()
    assert refused(copy) == f"error: {copy / 'monthly.parquet'}: missing or unreadable"


def test_a_manifest_without_hashes_or_pointing_outside_is_refused(copy):
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"] = {"../outside.csv": "0" * 64}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert refused(copy).endswith("manifest.json: lists a file outside the folder")
    del manifest["files"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert refused(copy).endswith("manifest.json: lists no file hashes (not written by `run`)")
