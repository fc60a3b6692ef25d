"""Errors in scenario input: `ScenarioError` (one line per problem), the collection of several
problems found by one validator, each at its own location, and a value shown as the user would
write it.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import typing
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class _Nothing:
    """Marks a custom error that has no meaningful input to show as `(got X)`."""

    def __repr__(self) -> str:
        return "<nothing>"


_NOTHING = _Nothing()


class ScenarioError(ValueError):
    """Invalid scenario input: one line per problem, `FILE:LINE: path.to.key: message (got X)`."""

    def __init__(self, messages: list[str] | tuple[str, ...]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))

    def __str__(self) -> str:
        return "\n".join(self.messages)


def _error(message: str) -> PydanticCustomError:
    # The message goes in as a context value so braces in it are never read as placeholders.
    return PydanticCustomError("scenario", "{message}", {"message": message})


class _Problems:
    """Collects several problems found by one validator, each at its own location."""

    def __init__(self) -> None:
        self.errors: list[InitErrorDetails] = []

    def add(self, loc: tuple[Any, ...], message: str, value: Any = _NOTHING) -> None:
        self.errors.append(InitErrorDetails(type=_error(message), loc=tuple(loc), input=value))

    def extend(self, error: ValidationError) -> None:
        """Add the errors of a nested validation (locations relative to the same place)."""
        for detail in error.errors(include_url=False):
            context = detail.get("ctx")
            if detail["type"] == "scenario":
                kind: Any = _error(str(context["message"]))
                context = None
            else:
                kind = detail["type"]
            item = InitErrorDetails(type=kind, loc=tuple(detail["loc"]), input=detail["input"])
            if context:
                item["ctx"] = context
            self.errors.append(item)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError.from_exception_data("Scenario", self.errors)


def _suggest(word: Any, options: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _show(value: Any) -> str:
    """A value as the user would write it in YAML, cut short if long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value)
        return text[:-2] if text.endswith(".0") and "e" not in text else text
    if isinstance(value, (int, str)):
        text = str(value)
        if isinstance(value, str) and (
            not value or value != value.strip() or not value.isprintable()
        ):
            text = repr(value)
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
