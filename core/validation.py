"""Declared ranges for config fields, checked in one place before a run builds or writes anything.

A field states what it accepts next to its declaration, as `typing.Annotated` metadata:

    batch_size: Annotated[int, positive] = 256
    \"\"\"Transitions per gradient update.\"\"\"

and `check_config(config)` checks every such field of a dataclass instance, raising `ConfigError` with one line
that names the command-line option: `--batch-size must be positive, got 0`.

Why `Annotated` rather than `dataclasses.field(metadata=...)` or a class-level table: the range stays on the
field's line, the default stays a plain `= value`, tyro ignores metadata it does not know (so `--help` and the
field docstrings are unchanged), and a class-level table would drift from the fields. A subclass that only
changes a default (`num_envs: int = 32` in ICRLConfig) keeps its base's range: a field's range is that of the
first class in the MRO whose own annotation of the field declares one, so presets never repeat ranges and a
subclass may still narrow one by annotating it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections.abc import Callable
from typing import Any


class ConfigError(ValueError):
    """A config that cannot run; reported to the user as one line."""


@dataclasses.dataclass(frozen=True)
class Range:
    """The values a field accepts: a type test and a range test, each with the words that complete "must be"."""

    kind: str
    is_kind: Callable[[Any], bool]
    words: str = ""
    accepts: Callable[[Any], bool] = lambda value: True

    def problem(self, value: Any) -> str | None:
        """What `value` fails to be, in words; None if it is in range."""
        if not self.is_kind(value):
            return self.kind
        if not self.accepts(value):
            return self.words
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    # nan and inf pass every comparison test wrongly or poison a run silently, so they are never in range.
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_ints(value: Any) -> bool:
    return isinstance(value, tuple) and all(_is_int(v) for v in value)


def _is_texts(value: Any) -> bool:
    return isinstance(value, tuple) and all(_is_text(v) for v in value)


# The factories are cached because string annotations are evaluated anew on every type-hint lookup; cached,
# a field's range is one object however often it is resolved.
@functools.cache
def integer_at_least(low: int, words: str) -> Range:
    return Range("an integer", _is_int, words, lambda v: v >= low)


@functools.cache
def number_in(low: float, high: float, *, open_low: bool = False) -> Range:
    bracket = "(" if open_low else "["
    above = (lambda v: v > low) if open_low else (lambda v: v >= low)
    return Range("a finite number", _is_number, f"in {bracket}{low:g}, {high:g}]", lambda v: above(v) and v <= high)


@functools.cache
def one_of(*choices: str) -> Range:
    return Range("a string", _is_text, f"one of {', '.join(choices)}", lambda v: v in choices)


@functools.cache
def optional(inner: Range) -> Range:
    """`inner`, or None (the option left out)."""
    return Range(f"{inner.kind} or None", lambda v: v is None or inner.is_kind(v), f"{inner.words} or None",
                 lambda v: v is None or inner.accepts(v))


positive = integer_at_least(1, "positive")
non_negative = integer_at_least(0, "non-negative")
seed_range = Range("an integer", _is_int, f"in [0, {2**32 - 1}]", lambda v: 0 <= v < 2**32)
positive_number = Range("a finite number", _is_number, "positive", lambda v: v > 0)
non_negative_number = Range("a finite number", _is_number, "non-negative", lambda v: v >= 0)
unit_interval = number_in(0, 1)
finite_number = Range("a finite number", _is_number)
flag = Range("true or false", lambda v: isinstance(v, bool))
text = Range("a non-empty string", lambda v: _is_text(v) and v != "")
widths = Range("a tuple of integers", _is_ints, "one or more positive integers", lambda v: len(v) > 0 and min(v) > 0)
optional_widths = Range("a tuple of integers", _is_ints, "positive integers", lambda v: all(w > 0 for w in v))
key_values = Range("a tuple of strings", _is_texts, "key=value pairs",
                   lambda v: all(k.partition("=")[0] and k.partition("=")[1] for k in v))


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


@functools.cache
def field_ranges(config_cls: type) -> dict[str, Range]:
    """Each field of a config dataclass -> its declared range, inherited through the MRO; undeclared ones absent."""
    ranges = {}
    for field in dataclasses.fields(config_cls):
        declared = (_own_range(klass, field.name) for klass in config_cls.__mro__)
        found = next((r for r in declared if r is not None), None)
        if found is not None:
            ranges[field.name] = found
    return ranges


def _own_range(klass: type, name: str) -> Range | None:
    if name not in klass.__dict__.get("__annotations__", {}):
        return None
    hint = typing.get_type_hints(klass, include_extras=True)[name]
    return next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Range)), None)


def undeclared_fields(config_cls: type) -> list[str]:
    """Fields that declare no range (a test keeps this empty for every config)."""
    ranges = field_ranges(config_cls)
    return [f.name for f in dataclasses.fields(config_cls) if f.name not in ranges]


def check_config(config: Any) -> None:
    """Raise ConfigError naming the first option of `config` (a dataclass instance) outside its declared range."""
    for name, declared in field_ranges(type(config)).items():
        value = getattr(config, name)
        problem = declared.problem(value)
        if problem is not None:
            raise ConfigError(f"{option_name(name)} must be {problem}, got {value!r}")
