"""What `changwon-sim run` prints, read back by the tests of this folder."""

from pathlib import Path


def printed_folder(stdout: str) -> Path:
    """The results folder `run` printed after "Results: "."""
    (line,) = [x for x in stdout.splitlines() if x.startswith("Results: ")]
    return Path(line.removeprefix("Results: "))
