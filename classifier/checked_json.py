"""Reading untrusted JSON into typed values: every value checked, every failure naming its place.

`Node(value, "where")` wraps one parsed JSON value; its methods return the value as the type asked
for (a whole number in range, finite number, short text, list, object) or raise `Invalid` with a
sentence like "backbone.input_size is 'abc', not a whole number from 1 to 4096".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_MISSING = object()
MAX_TEXT = 4096  # characters in any text value unless told otherwise


class Invalid(ValueError):
    """A value is not what it must be; the message says where and why."""


def shown(value: object) -> str:
    """A value as the message shows it: short, on one line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def has_control_characters(text: str) -> bool:
    """Control characters or line breaks, which no name or label may hold."""
    return any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in text)


@dataclass(frozen=True)
class Node:
    value: object
    where: str

    def _fail(self, expected: str) -> Invalid:
        return Invalid(f"{self.where} is {shown(self.value)}, not {expected}")

    def _missing(self, key: str) -> Invalid:
        return Invalid(f"{self._join(key)} is missing")

    def _join(self, key: str | int) -> str:
        return f"{self.where}[{key}]" if isinstance(key, int) else f"{self.where}.{key}".lstrip(".")

    def object(self) -> dict:
        if not isinstance(self.value, dict):
            raise self._fail("an object")
        return self.value

    def has(self, key: str) -> bool:
        return self.object().get(key) is not None

    def get(self, key: str, default: object = _MISSING) -> Node:
        """The value under `key`; `default` stands in when it is missing or null."""
        value = self.object().get(key)
        if value is None:
            if default is _MISSING:
                raise self._missing(key)
            value = default
        return Node(value, self._join(key))

    def optional(self, key: str) -> Node | None:
        """The value under `key`, or None when it is missing or null."""
        return self.get(key) if self.has(key) else None

    def items(self, max_items: int = 1_000_000) -> list[Node]:
        if not isinstance(self.value, list):
            raise self._fail("a list")
        if len(self.value) > max_items:
            raise Invalid(f"{self.where} has {len(self.value)} entries, more than {max_items}")
        return [Node(v, self._join(i)) for i, v in enumerate(self.value)]

    def entries(self) -> Iterator[tuple[str, Node]]:
        """(key, value) of an object, in order."""
        for key, value in self.object().items():
            yield key, Node(value, self._join(key))

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._fail("true or false")
        return self.value

    def integer(self, low: int = 0, high: int = 2**53) -> int:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._fail(f"a whole number from {low} to {high}")
        return value

    def number(self, low: float = -math.inf, high: float = math.inf, finite=True) -> float:
        """A number in [low, high]; NaN and infinities only where `finite` is False."""
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail("a number")
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            if finite:
                raise self._fail("a finite number")
            return value
        if not low <= value <= high:
            raise self._fail(f"a number from {low:g} to {high:g}")
        return value

    def text(self, max_chars: int = MAX_TEXT, pattern: str | None = None, plain=True) -> str:
        """A string without control characters (unless not `plain`: a path, which may hold
        them on some systems) and matching `pattern` when given."""
        value = self.value
        if not isinstance(value, str):
            raise self._fail("text")
        if len(value) > max_chars:
            raise Invalid(f"{self.where} is {len(value)} characters long, more than {max_chars}")
        if plain and has_control_characters(value):
            raise self._fail("text without control characters or line breaks")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self._fail(f"text of the form {pattern}")
        return value

    def choice(self, options) -> str:
        if not isinstance(self.value, str) or self.value not in options:
            raise self._fail("one of " + ", ".join(options))
        return self.value
