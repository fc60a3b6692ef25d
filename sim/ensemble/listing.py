"""The results folders under an output root, for `changwon-sim runs`: each complete folder (one
with a manifest.json) of a run, a comparison or a sensitivity analysis, newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ResultEntry:
    """One results folder, as its manifest describes it."""

    path: Path
    kind: str  # "run", "compare" or "sensitivity"
    scenario: str
    title: str
    seed: int | None
    replicates: int | None
    created_utc: str


def list_results(out_root: Path) -> list[ResultEntry]:
    """Every complete results folder two levels under `out_root`, newest first.

    Hidden folders (unfinished work: `.tmp-*`, `.jobs`, `.partial`) and folders without a readable
    manifest.json are skipped.
    """
    out_root = Path(out_root)
    if not out_root.is_dir():
        return []
    entries = []
    for manifest_path in out_root.glob("*/*/manifest.json"):
        folder = manifest_path.parent
        if folder.name.startswith(".") or folder.parent.name.startswith("."):
            continue
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            entries.append(_entry(folder, manifest))
    return sorted(entries, key=lambda e: (e.created_utc, str(e.path)), reverse=True)


def _entry(folder: Path, manifest: dict) -> ResultEntry:
    command = manifest.get("command")
    if command == "compare":
        kind = "compare"
        scenario = " vs ".join(
            [str(manifest.get("base")), *map(str, manifest.get("alternatives", []))]
        )
    elif command == "sensitivity":
        kind, scenario = "sensitivity", str(manifest.get("scenario", folder.parent.name))
    else:
        kind, scenario = "run", str(manifest.get("scenario", folder.parent.name))
    replicates = manifest.get("replicates", manifest.get("simulations"))
    seed = manifest.get("seed")
    return ResultEntry(
        path=folder,
        kind=kind,
        scenario=scenario,
        title=str(manifest.get("title") or ""),
        seed=int(seed) if isinstance(seed, int) else None,
        replicates=int(replicates) if isinstance(replicates, int) else None,
        created_utc=str(manifest.get("created_utc", "")),
    )
