"""The brief quotes the forecasts' record beside its ranges, from validate's validation.json."""

from __future__ import annotations

import json

import pytest

import sim.inputs.paths as paths
from sim.report.brief.assumptions import record_section, record_sentence


def entry(indicator: str, horizon: int, held80: int, checks: int, skill: float) -> dict:
    skills = {"skill": skill, "low": skill - 0.2, "high": skill + 0.2, "n": checks}
    return {
        "drivers": "drawn",
        "indicator": indicator,
        "horizon": horizon,
        "checks": checks,
        "origins": [2020, 2021, 2022, 2023][:checks],
        "held50": held80 // 2,
        "held80": held80,
        "held90": held80,
        "skill_no_change": skills,
        "skill_random_walk_drift": skills,
        "skill_ar1_growth": skills,
    }


@pytest.fixture
def validation(tmp_path, monkeypatch):
    folder = tmp_path / "validation"
    folder.mkdir()
    record = [
        entry("production_krw", 1, 3, 4, 0.4),
        entry("production_krw", 2, 2, 3, 0.2),
        entry("exports_usd", 1, 4, 4, 0.1),
        entry("employment", 1, 2, 4, -0.1),
        entry("all", 1, 9, 12, 0.3),
        entry("all", 2, 2, 3, 0.1),
        {**entry("production_krw", 1, 0, 4, -1.0), "drivers": "realised"},  # not quoted
    ]
    data = {"fit_id": "fit-abc", "record": record}
    (folder / "validation.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(paths, "CALIBRATION_DIR", tmp_path)
    return data


def test_the_summary_says_how_often_ranges_held_and_how_they_did_against_no_change(validation):
    sentence = record_sentence("en")
    assert "5 of 7 times for production" in sentence  # horizons 1 and 2 together
    assert "4 of 4 times for exports" in sentence and "2 of 4 times for jobs" in sentence
    assert "26% more accurate than 'same as last year'" in sentence  # (0.3 x 12 + 0.1 x 3) / 15
    korean = record_sentence("ko")
    assert "7회 중 5회" in korean and "26% 더 정확했습니다" in korean


def test_the_record_section_lists_each_indicator_and_horizon(validation):
    text = " ".join(getattr(b, "text", "") for b in record_section("en"))
    assert "3 of 4 times" in text and "2 of 3 times" in text
    assert "-1.00" not in text  # the conditional (realised drivers) record is not quoted
    assert "fit-abc" in text


def test_without_a_validation_the_brief_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CALIBRATION_DIR", tmp_path)
    assert record_sentence("en") is None
    assert len(record_section("en")) == 2
