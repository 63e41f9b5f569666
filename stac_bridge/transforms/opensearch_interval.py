"""The interval notation of OGC 13-026r9 (OpenSearch EO) for numeric OpenSearch parameters.

``n`` (equal), ``[a,b]`` (between, inclusive), ``]a,b[`` (exclusive; the brackets mix freely), ``[a`` (at least),
``]a`` (more than), ``b]`` (at most), ``b[`` (less than) and ``{a,b,c}`` (one of). Pure functions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from stac_bridge.errors import UntranslatableQueryError

__all__ = ["Interval", "format_interval", "format_number", "parse_interval", "parse_number"]

PROVIDER: Final = "opensearch"


def _error(part: str, reason: str) -> UntranslatableQueryError:
    return UntranslatableQueryError(PROVIDER, part, reason)


# --- intervals ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """A numeric range; ``None`` bounds are open-ended. ``values`` instead holds a set (``{a,b}`` or ``n``).

    Attributes:
        low: The lower bound, or ``None``.
        high: The upper bound, or ``None``.
        low_inclusive: Whether ``low`` itself matches.
        high_inclusive: Whether ``high`` itself matches.
        values: The allowed values when the constraint is a set (a single value is an equality).
    """

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    values: frozenset[float] | None = None

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the range (or the set)."""
        if self.values is not None:
            return value in self.values
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        return not (self.high is not None
                    and (value > self.high or (value == self.high and not self.high_inclusive)))

    def intersect(self, other: Interval) -> Interval:
        """Both constraints at once (``and``)."""
        if self.values is not None or other.values is not None:
            base, rest = (self, other) if self.values is not None else (other, self)
            assert base.values is not None
            return Interval(values=frozenset(v for v in base.values if rest.contains(v)))
        low, low_inc = _tighter(self.low, self.low_inclusive, other.low, other.low_inclusive, max)
        high, high_inc = _tighter(self.high, self.high_inclusive, other.high, other.high_inclusive, min)
        return Interval(low, high, low_inc, high_inc)

    def empty(self) -> bool:
        """Whether nothing can match."""
        if self.values is not None:
            return not self.values
        if self.low is None or self.high is None:
            return False
        closed = self.low_inclusive and self.high_inclusive
        return self.low > self.high or (self.low == self.high and not closed)


def _tighter(
    a: float | None, a_inc: bool, b: float | None, b_inc: bool, pick: Any
) -> tuple[float | None, bool]:
    if a is None:
        return b, b_inc
    if b is None or a != b:
        chosen = a if b is None else pick(a, b)
        return chosen, a_inc if chosen == a else b_inc
    return a, a_inc and b_inc


def parse_number(text: str, part: str) -> float:
    """An integer or finite decimal of a query parameter; the error names ``part``."""
    try:
        value = float(text) if re.search(r"[.eE]|inf|nan", text) else int(text)
    except ValueError:
        raise _error(part, f"{text!r} is not a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _error(part, f"{text!r} is not a finite number")
    return value


def parse_interval(text: str, *, part: str = "interval") -> Interval:
    """Parse the OpenSearch EO interval notation: ``60]``, ``[10,60]``, ``]10,60[``, ``[10``, ``{1,2}``.

    Raises:
        UntranslatableQueryError: the text is not an interval; the error names ``part``.
    """
    value = text.strip()
    if value.startswith("{") and value.endswith("}"):
        return Interval(values=frozenset(parse_number(v.strip(), part) for v in value[1:-1].split(",")))
    match = re.fullmatch(r"([\[\]])\s*([^,\[\]]+?)\s*,\s*([^,\[\]]+?)\s*([\[\]])", value)
    if match:
        return Interval(parse_number(match[2], part), parse_number(match[3], part), match[1] == "[", match[4] == "]")
    match = re.fullmatch(r"([\[\]])\s*([^,\[\]]+)", value)
    if match:
        return Interval(low=parse_number(match[2].strip(), part), low_inclusive=match[1] == "[")
    match = re.fullmatch(r"([^,\[\]]+?)\s*([\[\]])", value)
    if match:
        return Interval(high=parse_number(match[1], part), high_inclusive=match[2] == "]")
    if "," not in value and value:
        return Interval(values=frozenset({parse_number(value, part)}))
    raise _error(part, f"{text!r} is not an OpenSearch interval ([a,b], a], [a, ]a, a[, {{a,b}}, a)")


def format_number(value: float) -> str:
    """A number as a query parameter writes it (integral floats without their ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def format_interval(interval: Interval) -> str:
    """Write an :class:`Interval` in the OpenSearch EO notation (the inverse of :func:`parse_interval`)."""
    if interval.values is not None:
        ordered = sorted(interval.values)
        if len(ordered) == 1:
            return format_number(ordered[0])
        return "{" + ",".join(format_number(v) for v in ordered) + "}"
    low, high = interval.low, interval.high
    if low is not None and high is not None:
        if low == high and interval.low_inclusive and interval.high_inclusive:
            return format_number(low)
        return (("[" if interval.low_inclusive else "]") + f"{format_number(low)},{format_number(high)}"
                + ("]" if interval.high_inclusive else "["))
    if low is not None:
        return ("[" if interval.low_inclusive else "]") + format_number(low)
    if high is not None:
        return format_number(high) + ("]" if interval.high_inclusive else "[")
    raise ValueError("an interval without bounds means no constraint")
