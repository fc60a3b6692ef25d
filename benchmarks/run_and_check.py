"""Wall time and peak memory of `changwon-sim run`, and the start-up time of `check`.

- `run` of a scenario over 72 months with 100 and 1,000 replicates (DESIGN §9: 1,000 replicates in
  at most 15 s and 1 GB, memory flat in the number of replicates). Peak memory is the largest sum
  of resident memory over the command's process tree (the command and its worker processes),
  sampled every 20 ms from /proc.
- `check` of one scenario, best of several starts (target: at most 1.5 s).

Run: `.venv/bin/python benchmarks/run_and_check.py [--replicates 100 1000] [--workers 2]`.
Results go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "sim"]


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak tree memory of a command."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode()[-500:]}")
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "us_tariff_15.yaml")
    parser.add_argument("--replicates", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; scenario {args.scenario.name}, --workers {args.workers}"
    )
    with tempfile.TemporaryDirectory() as out:
        for replicates in args.replicates:
            seconds, peak = measure(
                [
                    *COMMAND,
                    "run",
                    str(args.scenario),
                    "--replicates",
                    str(replicates),
                    "--workers",
                    str(args.workers),
                    "--out",
                    out,
                ]
            )
            print(
                f"run, {replicates:5d} replicates: {seconds:6.1f} s wall, "
                f"peak memory {peak / 2**20:6.0f} MiB (process tree)"
            )
    starts = [measure([*COMMAND, "check", str(args.scenario)])[0] for _ in range(5)]
    print(f"check: {min(starts):.2f} s (best of 5; median {sorted(starts)[2]:.2f} s)")


if __name__ == "__main__":
    main()
