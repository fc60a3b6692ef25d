"""Driving the exploration page in a real headless browser: Debian's chromium through Selenium and
Debian's chromedriver (the two come from one Debian source package, so their versions always
match; Selenium's own driver download is never used).

`ExplorePage` starts `changwon-sim explore` as a process, reads the address it prints, and opens
it in chromium; closing it quits the browser and stops the server with Ctrl-C (SIGINT), as a
user would, then kills whatever is left. Run as a script it makes the README's screenshot:

    python tests/explore/explore_page.py docs/explore.png
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def browser_missing() -> str | None:
    """Why the browser test cannot run here (None if it can)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        return f"{' and '.join(missing)} missing: apt-get install chromium chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium missing: pip install -e '.[test]'"
    return None


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something true; `TimeoutError` naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


class ExplorePage:
    """The page served by `changwon-sim explore`, open in headless chromium."""

    def __init__(self, args: list[str], width: int = 1500, height: int = 1150) -> None:
        self.args, self.size = args, (width, height)
        self.server: subprocess.Popen | None = None
        self.driver = None
        self.stderr: list[str] = []

    def __enter__(self) -> ExplorePage:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        command = [sys.executable, "-m", "sim", "explore", "--port", "0", "--no-browser"]
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.server = subprocess.Popen(
            [*command, *self.args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Read stderr as it comes, so that a full pipe never blocks the server.
        threading.Thread(target=self._collect_stderr, daemon=True).start()
        self.url = self._printed_url(timeout=60)
        self.driver = self._open_browser()
        self.driver.get(self.url)

    def _collect_stderr(self) -> None:
        assert self.server is not None and self.server.stderr is not None
        for line in self.server.stderr:
            self.stderr.append(line)

    def _printed_url(self, timeout: float) -> str:
        assert self.server is not None and self.server.stdout is not None
        found: list[str] = []

        def read() -> None:
            for line in self.server.stdout:
                match = re.search(r"Page: (http://127\.0\.0\.1:\d+/)", line)
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            raise TimeoutError(f"the page printed no address within {timeout:.0f} s: {self.log()}")
        return found[0]

    def _open_browser(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            f"--window-size={self.size[0]},{self.size[1]}",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)

    # --- what the page shows -------------------------------------------------------------------

    def text(self, css: str) -> str:
        from selenium.webdriver.common.by import By

        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""

    def chart_source(self) -> str:
        """The address of the fan chart's image (a new blob for each drawing of the chart)."""
        from selenium.webdriver.common.by import By

        images = self.driver.find_elements(By.CSS_SELECTOR, ".explore-fan img")
        return images[0].get_attribute("src") or "" if images else ""

    def wait_until_done(self, timeout: float = 60) -> str:
        """Wait until every replicate of the current inputs is in; returns the effects text."""
        wait_for(lambda: self.text(".explore-done"), timeout, "all runs in")
        return self.text(".explore-effects")

    def press_on_tariff_slider(self, key: str) -> None:
        """Focus the tariff slider's handle and press `key` (e.g. Keys.END)."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By

        slider = ".explore-tariff-rate [role=slider]"
        handle = wait_for(
            lambda: self.driver.find_elements(By.CSS_SELECTOR, slider),
            20,
            "the tariff slider",
        )[0]
        # The handle (role=slider) takes the keys; it has no size of its own to click on.
        self.driver.execute_script("arguments[0].focus();", handle)
        ActionChains(self.driver).send_keys(key).perform()

    def log(self) -> str:
        return "".join(self.stderr[-20:])

    # --- the end -------------------------------------------------------------------------------

    def close(self) -> int | None:
        """Quit the browser, stop the server with SIGINT (killed if it lingers); returns the
        server's exit code."""
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None
        code = None
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                code = self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        elif self.server is not None:
            code = self.server.returncode
        return code


def screenshot(path: Path) -> None:
    """The README's picture: the shipped baseline with a 25% US tariff from July 2025."""
    from selenium.webdriver.common.keys import Keys

    with ExplorePage(["--replicates", "40"], width=1500, height=1000) as page:
        page.wait_until_done(timeout=300)
        for _ in range(10):  # 15% -> 25%
            page.press_on_tariff_slider(Keys.ARROW_RIGHT)
        wait_for(lambda: "25%" in page.text(".explore-setting"), 30, "the new setting")
        page.wait_until_done(timeout=300)
        time.sleep(1)  # the last chart reaches the browser
        path.parent.mkdir(parents=True, exist_ok=True)
        page.driver.save_screenshot(str(path))


if __name__ == "__main__":
    problem = browser_missing()
    if problem:
        sys.exit(problem)
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/explore.png")
    screenshot(target)
    print(f"wrote {target}")
