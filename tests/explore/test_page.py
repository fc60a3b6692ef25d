"""The exploration page in a real headless browser (chromium, driven by Selenium): it fills in,
a move of the tariff slider changes the chart and the ranges, and Ctrl-C ends the server.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them). Where they are missing
the test is skipped on a developer's machine, but fails under CI (`CI` set), so that CI never
passes without having driven the page.
"""

from __future__ import annotations

import os
import re

import pytest
from explore_page import ExplorePage, browser_missing, wait_for

SHORT = """\
extends: {baseline}
name: explore-test
period: {{start: 2025-01, end: 2026-12}}
"""


@pytest.fixture
def short_baseline(tmp_path):
    from sim.inputs.paths import SCENARIOS_DIR

    path = tmp_path / "short.yaml"
    path.write_text(SHORT.format(baseline=SCENARIOS_DIR / "baseline.yaml"), encoding="utf-8")
    return path


def median_effect(text: str, indicator: str) -> float:
    """The median percent effect on `indicator` in the page's lines ('2026 exports: -1.2% ...')."""
    match = re.search(rf"\d{{4}} {indicator}: ([+-]\d+\.\d+)%", text)
    assert match, f"no {indicator} effect in {text!r}"
    return float(match.group(1))


def test_moving_the_tariff_slider_moves_the_chart_and_the_ranges(short_baseline):
    problem = browser_missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {problem}")
        pytest.skip(problem)
    from selenium.webdriver.common.keys import Keys

    page = ExplorePage(["--scenario", str(short_baseline), "--replicates", "4"])
    try:
        page.start()
        before = page.wait_until_done(timeout=90)
        chart_before = page.chart_source()
        assert chart_before.startswith(("blob:", "data:image/png"))  # a new one for each drawing
        assert "15%" in page.text(".explore-setting")

        page.press_on_tariff_slider(Keys.END)  # the highest rate the slider offers: 50%
        wait_for(lambda: "50%" in page.text(".explore-setting"), 30, "the new tariff")
        after = page.wait_until_done(timeout=60)
        wait_for(lambda: page.chart_source() != chart_before, 10, "a new chart")
        # Paired runs: the same replicates, three times the tariff, a larger fall in exports.
        assert median_effect(after, "exports") < median_effect(before, "exports") < 0
    finally:
        code = page.close()
    assert code == 130, page.log()
    assert "stopped: the page is closed" in page.log()
