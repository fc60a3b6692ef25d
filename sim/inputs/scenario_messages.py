"""Validation errors in plain words: a pydantic error becomes `path.to.key: what is wrong (got X)`,
and in a file `FILE:LINE: path.to.key: ...`, located at the file and line that set the offending
value (through `extends`). The functions walk the field types of the root model they are given
(`Scenario`), to name the keys a mapping may have.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from sim.inputs import safe_yaml
from sim.inputs.scenario_errors import _NOTHING, _Nothing, _show, _suggest
from sim.inputs.scenario_fields import _DISTRIBUTIONS, _TAGS

#: Where each value of a scenario's data was set: path -> (file, line).
Where = dict[tuple[Any, ...], tuple[str, int]]


def _report(
    error: ValidationError,
    root: type[BaseModel],
    data: dict[str, Any],
    where: Where,
    label: str,
    extended: bool,
) -> list[str]:
    located = []
    for detail in error.errors(include_url=False):
        path, shown = _data_path(detail, data)
        file, line = safe_yaml.nearest_line(where, path) if where else (label, 1)
        message = _message(detail, root)
        if detail["type"] == "missing" and detail["loc"] == ("name",) and extended:
            message += " (names are not inherited through extends)"
        located.append((file != label, file, line, f"{file}:{line}: {shown}: {message}"))
    # Group by file, the scenario's own file first, then in line order; drop repeats.
    located.sort(key=lambda item: item[:3])
    return list(dict.fromkeys(item[3] for item in located))


def _data_path(detail: Mapping[str, Any], data: Any) -> tuple[tuple[Any, ...], str]:
    """The path in the data that an error's loc points to, and how to show it.

    A pydantic loc also contains union members (a distribution's `dist`, type labels); those are
    skipped by following the loc through the data itself.
    """
    loc = tuple(detail["loc"])
    if detail["type"] == "union_tag_invalid" and isinstance(detail.get("input"), dict):
        loc = (*loc, "dist")
    node = data
    path: list[Any] = []
    shown = ""
    for position, segment in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict) and isinstance(segment, str) and segment not in node:
            # pydantic writes a key that is not text (null, true, 3) as text in its loc
            segment = next(
                (key for key in node if not isinstance(key, str) and str(key) == segment),
                segment,
            )
        if isinstance(node, dict) and _hashable(segment) and segment in node:
            path.append(segment)
            key = segment if isinstance(segment, str) else _show(segment)
            shown = f"{shown}.{key}" if shown else key
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            path.append(segment)
            item = node[segment]
            name = item.get("name") if isinstance(item, dict) else None
            names = [other.get("name") for other in node if isinstance(other, dict)]
            if isinstance(name, str) and names.count(name) == 1 and "." not in name:
                shown = f"{shown}.{name}"
            else:
                shown = f"{shown}[{segment}]"
            node = item
        elif (
            last
            and isinstance(node, dict)
            and isinstance(segment, str)
            and segment not in _TAGS
            and segment != "[key]"
        ):
            shown = f"{shown}.{segment}" if shown else segment  # a missing key
    return tuple(path), shown or "(top level)"


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_BOUND_WORDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
_NO_GOT = {"missing", "extra_forbidden", "union_tag_not_found", "union_tag_invalid"}


def _message(detail: Mapping[str, Any], root: type[BaseModel], got: bool = True) -> str:
    """A plain-language message for a pydantic error, ending with `(got X)` where useful."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    value = detail.get("input", _NOTHING)
    loc = tuple(detail["loc"])
    if kind == "scenario":
        message = str(context.get("message", detail["msg"]))
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        expected = _expected_keys(loc[:-1], root)
        message = "unknown key" + _suggest(loc[-1], expected)
        if expected and not message.endswith("?"):
            message += " (known keys: " + ", ".join(expected) + ")"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        message = "must be one of: " + ", ".join(options) + _suggest(value, options)
    elif kind == "union_tag_invalid":
        options = re.findall(r"'([^']*)'", str(context.get("expected_tags", "")))
        tag = context.get("tag")
        message = f"must be one of: {', '.join(options)}{_suggest(tag, options)} (got {tag})"
    elif kind == "union_tag_not_found" or (
        kind == "model_attributes_type" and _is_distribution(loc, root)
    ):
        message = (
            "must be a distribution with a `dist` key, e.g. {dist: uniform, low: 1.5, high: 2.5}; "
            "dist is one of uniform, triangular, normal, lognormal"
        )
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "must be a mapping of keys (key: value)"
    elif kind in ("tuple_type", "list_type"):
        message = "must be a list"
    elif kind == "string_type":
        message = "must be text"
    elif kind in _BOUND_WORDS:
        key, sign = _BOUND_WORDS[kind]
        message = f"must be {sign} {_show(context.get(key))}"
    elif kind == "too_short":
        minimum = context.get("min_length", 1)
        message = "must not be empty" if minimum == 1 else f"needs at least {minimum} items"
    elif kind == "too_long":
        message = f"may have at most {context.get('max_length')} items"
    else:
        text = str(detail["msg"])
        message = text[:1].lower() + text[1:]
    if got and kind not in _NO_GOT and not isinstance(value, _Nothing):
        message += f" (got {_show(value)})"
    return message


def _types_at(loc: tuple[Any, ...], root: type[BaseModel]) -> list[Any]:
    """The declared types at a pydantic loc, starting from `root` (`Scenario`)."""
    current: list[Any] = [root]
    for segment in loc:
        following = [result for kind in current for result in _step(kind, segment)]
        if following:
            current = following  # otherwise a label of a union member: the position is unchanged
    return current


def _step(kind: Any, segment: Any) -> list[Any]:
    while typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        return [result for member in typing.get_args(kind) for result in _step(member, segment)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        if segment in kind.model_fields:
            return [kind.model_fields[segment].annotation]
        if kind in _DISTRIBUTIONS and segment == kind.model_fields["dist"].annotation.__args__[0]:
            return [kind]
        return []
    if origin in (tuple, list) and isinstance(segment, int):
        return [typing.get_args(kind)[0]]
    if origin is dict:
        return [typing.get_args(kind)[1]]
    return []


def _models(kind: Any) -> list[type[BaseModel]]:
    while typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    if typing.get_origin(kind) in (Union, types.UnionType):
        return [model for member in typing.get_args(kind) for model in _models(member)]
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [kind]
    return []


def _expected_keys(loc: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    keys: list[str] = ["extends"] if not loc else []
    for model in (model for kind in _types_at(loc, root) for model in _models(kind)):
        keys.extend(name for name in model.model_fields if name not in keys)
    return keys


def _is_distribution(loc: tuple[Any, ...], root: type[BaseModel]) -> bool:
    models = [model for kind in _types_at(loc, root) for model in _models(kind)]
    return bool(models) and all(model in _DISTRIBUTIONS for model in models)
