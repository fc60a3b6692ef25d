"""Scenario files. `load_scenario` reads one safely (`sim.inputs.safe_yaml`), resolves
`extends`, fills in every default and validates everything at once; any problem raises
`ScenarioError`, whose lines read `FILE:LINE: path.to.key: what is wrong (got X)`, one per problem,
pointing at the file and line that set the offending value. The other way: `resolved_yaml` (the
scenario after `extends` and defaults), `scenario_hash`, and the JSON Schema of scenario files.

`extends` rules: the parent file (a path relative to the extending file) is resolved first; then
the extending file is laid over it: mappings merge key by key, lists and single values replace, and
a key set to `null` removes the inherited value (so its default applies). `name`, `title` and
`description` are not inherited: they describe the file that sets them, and a copy of the parent's
name would send results into the parent's folder.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError

from sim.inputs import safe_yaml
from sim.inputs.scenario import Scenario
from sim.inputs.scenario_errors import ScenarioError, _show, _suggest
from sim.inputs.scenario_messages import Where, _report

MAX_EXTENDS_DEPTH = 20  # files extending each other, at most
_NOT_INHERITED = ("name", "title", "description")


def load_scenario(path: str | Path) -> Scenario:
    """Read, resolve (`extends`) and validate a scenario file.

    Raises `ScenarioError` listing every problem, one line each:
    `FILE:LINE: path.to.key: what is wrong (got X)`.
    """
    label = str(path)
    try:
        chain = (Path(label).resolve(),)
    except RuntimeError:  # Python 3.12 reports a symlink loop so; later versions as OSError
        raise ScenarioError([f"{label}:1: cannot be read (a loop of symbolic links)"]) from None
    except (OSError, ValueError):
        raise ScenarioError([f"{label}:1: not a usable file name"]) from None
    data, where = _load_tree(label, chain)
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        extended = "extends" in _top_keys(label)
        raise ScenarioError(_report(error, Scenario, data, where, label, extended)) from None


#: The name a scenario given as a mapping has in messages about the files it extends.
_MAPPING_LABEL = "<scenario>"


def scenario_from_data(data: Mapping[str, Any], relative_to: str | Path = ".") -> Scenario:
    """Validate a scenario given as a mapping with the keys of a scenario file (as from Python);
    `extends` names a file relative to the folder `relative_to` (default: the current one).

    Raises `ScenarioError` listing every problem, one line each, as `load_scenario` does: a value
    of the mapping as `path.to.key: what is wrong (got X)`, one set by an extended file as
    `FILE:LINE: path.to.key: ...`.
    """
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        raise ScenarioError([f"a scenario must be a mapping of keys to values, not {kind}"])
    label = os.path.join(str(relative_to), _MAPPING_LABEL)
    own = f"{label}:1: "
    tree = copy.deepcopy(dict(data))
    extended = "extends" in tree
    try:
        merged, where = _extend(tree, _everywhere(tree, (label, 1)), label, 1, ())
        return Scenario.model_validate(merged)
    except ValidationError as error:
        lines = _report(error, Scenario, merged, where, label, extended)
    except ScenarioError as error:
        lines = error.messages
    raise ScenarioError([line.removeprefix(own) for line in lines])


def _everywhere(data: Any, place: tuple[str, int]) -> Where:
    """Every path of `data` (mappings and lists), each set at `place`."""
    where: Where = {}

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        where[path] = place
        items = value.items() if isinstance(value, Mapping) else None
        if isinstance(value, (list, tuple)):
            items = enumerate(value)
        for key, item in items or ():
            visit(item, (*path, key))

    visit(data, ())
    return where


def _top_keys(label: str) -> set[Any]:
    """The top-level keys of a file that has already loaded without YAML errors."""
    data = safe_yaml.load_file(label).data
    return set(data) if isinstance(data, dict) else set()


def _load_tree(label: str, chain: tuple[Path, ...]) -> tuple[dict[str, Any], Where]:
    """A file's raw data with its `extends` ancestors merged in, and where each value was set."""
    try:
        located = safe_yaml.load_file(label)
    except safe_yaml.YamlError as error:
        raise ScenarioError([str(error)]) from None
    data = located.data
    where: Where = {path: (label, line) for path, line in located.lines.items()}
    if data is None:
        raise ScenarioError([f"{label}:1: the file is empty; a scenario needs at least a name"])
    if not isinstance(data, dict):
        # Not a scenario: say what it is without quoting it (it may be any file).
        kind = "a list" if isinstance(data, list) else "a single value"
        raise ScenarioError(
            [
                f"{label}:{located.lines[()]}: a scenario must be a mapping of keys "
                f"(key: value), not {kind}"
            ]
        )
    if data and not any(_scenario_like(key) for key in data):
        # Never quote a file that is not a scenario (a mistyped path, a link to a system file).
        line = located.lines[()]
        raise ScenarioError([f"{label}:{line}: not a scenario file: none of its keys is known"])
    return _extend(data, where, label, located.lines.get(("extends",), 1), chain)


def _extend(
    data: dict[str, Any], where: Where, label: str, line: int, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], Where]:
    """`data` (read from `label`; `extends` at `line`) with its `extends` ancestors merged in."""
    if "extends" not in data:
        return data, where
    parent_ref = data.pop("extends")
    at = f"{label}:{line}: extends"
    where = {path: place for path, place in where.items() if path[:1] != ("extends",)}
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(
            [f"{at}: must be a file name, relative to this file (got {_show(parent_ref)})"]
        )
    if os.path.splitext(parent_ref)[1].lower() not in (".yaml", ".yml"):
        # Only scenario files: a message must never quote lines of some other file.
        raise ScenarioError(
            [f"{at}: must name a scenario file ending in .yaml or .yml (got {_show(parent_ref)})"]
        )
    parent_label = os.path.normpath(os.path.join(os.path.dirname(label), parent_ref))
    try:
        parent_path = Path(parent_label).resolve()
        found = parent_path.is_file()
    except RuntimeError:  # a symlink loop (Python 3.12; later versions raise OSError)
        raise ScenarioError([f"{at}: a loop of symbolic links (got {_show(parent_ref)})"]) from None
    except (OSError, ValueError):  # e.g. a NUL character or a name too long for the system
        raise ScenarioError([f"{at}: not a usable file name (got {_show(parent_ref)})"]) from None
    if parent_path in chain:
        cycle = " -> ".join([*(item.name for item in chain), parent_path.name])
        raise ScenarioError([f"{at}: files extend each other in a cycle ({cycle})"])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"{at}: more than {MAX_EXTENDS_DEPTH} files extend each other"])
    if not found:
        what = "not a regular file" if parent_path.exists() else "file not found"
        raise ScenarioError([f"{at}: {what}: {parent_label}"])
    parent, parent_where = _load_tree(parent_label, (*chain, parent_path))
    for key in _NOT_INHERITED:
        parent.pop(key, None)
    return _merge(parent, parent_where, data, where)


def _scenario_like(key: Any) -> bool:
    """A top-level key of a scenario, or close enough to be a misspelt one."""
    known = ("extends", *Scenario.model_fields)
    return isinstance(key, str) and (key in known or bool(_suggest(key, known)))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if value is None and key in merged:
            del merged[key]  # null removes the inherited value: its default applies
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge(
    base: dict[str, Any], base_where: Where, over: dict[str, Any], over_where: Where
) -> tuple[dict[str, Any], Where]:
    """Lay `over` on `base`; every value keeps the file and line that set it."""
    merged = _deep_merge(base, over)
    where: Where = {}

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        place = over_where.get(path) or base_where.get(path)
        if place is not None:
            where[path] = place
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, (*path, index))

    visit(merged, ())
    where[()] = over_where[()]
    return merged, where


# --- output ---------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, multi-line text as a `|` block.

    Text is quoted by the loader's rules (which read `1e9` as a number), so it reads back as text.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[Any]]] = safe_yaml.implicit_resolvers()

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if any(char in text for char in "\r\x85\u2028\u2029"):
        style: str | None = '"'  # other line breaks: only double quotes keep them exactly
    elif "\n" in text:
        style = "|"  # the emitter falls back to quotes where a block cannot hold the text
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def resolved_yaml(scenario: Scenario) -> str:
    """The scenario after `extends` and defaults, as YAML text that loads back to an equal scenario.

    Deterministic: equal scenarios give the same text (dict keys are kept in canonical order).
    """
    data = scenario.model_dump(mode="json")
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of `resolved_yaml(scenario)`."""
    return hashlib.sha256(resolved_yaml(scenario).encode("utf-8")).hexdigest()


def with_runs(scenario: Scenario, replicates: int, seed: int) -> Scenario:
    """The scenario with `runs` set to the replicates and seed actually used (so that its
    resolved YAML and hash record them)."""
    if (scenario.runs.replicates, scenario.runs.seed) == (replicates, seed):
        return scenario
    runs = scenario.runs.model_copy(update={"replicates": replicates, "seed": seed})
    return scenario.model_copy(update={"runs": runs})


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editor completion and `changwon-sim schema`."""
    schema = Scenario.model_json_schema()
    properties = schema.setdefault("properties", {})
    extends = {
        "type": "string",
        "title": "Extends",
        "description": (
            "Optional. A scenario file, relative to this one, whose keys this file overrides: "
            "mappings merge key by key, lists and values replace, null removes an inherited "
            "value. name, title and description are not inherited."
        ),
    }
    schema["properties"] = {"name": properties.pop("name"), "extends": extends, **properties}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "changwon-sim scenario",
        **{key: item for key, item in schema.items() if key != "title"},
    }
