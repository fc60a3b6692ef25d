"""Wall time, CPU time and peak memory of `changwon-sim run`, and the start-up time of `check`.

- `run` of a scenario cut to its first `--months` months (default 36) with 1,000 replicates
  (targets: at most 12 s wall and 1 GB, memory flat in the number of replicates; worker start-up
  and figures included). Peak memory is the largest sum over the command's process tree (the
  command, its forkserver and worker processes) of resident memory (RSS, sampled every 20 ms:
  pages that forked workers share with their forkserver count once per process) and of
  proportional memory (PSS, every 100 ms: shared pages split between the processes that share
  them); CPU time is the sum of user and system time over that tree. All read from /proc.
- `check` of one scenario, best and median of several starts (target: at most 0.5 s).

Run: `.venv/bin/python benchmarks/run_and_check.py [--replicates 100 1000] [--months 36]
[--workers 2] [--repeats 2]`. With --repeats, the runs of each size are repeated and each
figure is given for every repeat. Results go to a temporary folder that is removed afterwards.
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


TICKS = os.sysconf("SC_CLK_TCK")


def tree_sample(root_pid: int) -> tuple[int, dict[int, float]]:
    """Resident memory of a process and all its descendants, and each one's CPU seconds so far
    (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
            seconds = (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
        cpu[int(entry)] = seconds
    total, stack, seen = 0, [root_pid], {}
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        seen[pid] = cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total, seen


def pss_bytes(pids) -> int:
    """Proportional set size summed over processes (Linux /proc/PID/smaps_rollup)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total * 1024


def measure(argv: list[str]) -> tuple[float, int, float, int]:
    """Wall seconds, peak tree RSS, CPU seconds and peak tree PSS of a command."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = peak_pss = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        count = 0
        while not stop.is_set():
            rss, seconds = tree_sample(process.pid)
            peak = max(peak, rss)
            for pid, value in seconds.items():
                cpu[pid] = max(cpu.get(pid, 0.0), value)
            if count % 5 == 0:
                peak_pss = max(peak_pss, pss_bytes(seconds))
            count += 1
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.decode()[-500:]}")
    return elapsed, peak, sum(cpu.values()), peak_pss


def cut_scenario(path: Path, months: int, folder: Path) -> Path:
    """A scenario that extends `path` and runs only its first `months` months."""
    from sim.inputs.calendar import format_month
    from sim.inputs.scenario_files import load_scenario

    scenario = load_scenario(path)
    start = scenario.period.start_month
    cut = folder / f"{path.stem}-{months}m.yaml"
    cut.write_text(
        f"extends: {os.path.relpath(path, folder)}\n"
        f"name: {scenario.name}-{months}m\n"
        f"period: {{start: {format_month(start)}, end: {format_month(start + months - 1)}}}\n",
        encoding="utf-8",
    )
    return cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "us_tariff_15.yaml")
    parser.add_argument("--replicates", type=int, nargs="+", default=[1000])
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-figures", action="store_true", help="pass --no-figures to run")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}; scenario "
        f"{args.scenario.name} cut to {args.months} months, --workers {args.workers}"
    )
    with tempfile.TemporaryDirectory() as out:
        scenario = cut_scenario(args.scenario.resolve(), args.months, Path(out))
        for replicates in args.replicates:
            for _ in range(args.repeats):
                seconds, peak, cpu, pss = measure(
                    [
                        *COMMAND,
                        "run",
                        str(scenario),
                        "--replicates",
                        str(replicates),
                        "--workers",
                        str(args.workers),
                        "--out",
                        str(Path(out) / "results"),
                        *(["--no-figures"] if args.no_figures else []),
                    ]
                )
                print(
                    f"run, {replicates:5d} replicates: {seconds:6.1f} s wall, {cpu:6.1f} s CPU "
                    f"(process tree), peak memory {peak / 2**20:6.0f} MiB RSS, "
                    f"{pss / 2**20:6.0f} MiB PSS"
                )
        starts = [measure([*COMMAND, "check", str(scenario)]) for _ in range(5)]
    walls = sorted(s[0] for s in starts)
    cpus = sorted(s[2] for s in starts)
    print(
        f"check: {walls[0]:.2f} s wall, {cpus[0]:.2f} s CPU (best of 5; median {walls[2]:.2f} s "
        f"wall, {cpus[2]:.2f} s CPU)"
    )


if __name__ == "__main__":
    main()
