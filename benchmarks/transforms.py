"""Transform throughput, one core, side by side with the cost of a plain ``json.loads`` + ``json.dumps``.

Each provider contributes ``benchmarks/transform_cases/<provider>.py`` with a function
``cases() -> list[Case]``. Run: ``python -m benchmarks.transforms [--seconds S] [provider ...]``.

Rates are of CPU time on one core (``time.thread_time``), the best of alternating rounds of the case and its
baseline, so that the figures hold on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import benchmarks.transform_cases as cases_pkg


@dataclass(frozen=True)
class Case:
    """One measured function.

    Attributes:
        name: What is measured, e.g. ``byoc.tile_to_stac``.
        func: Called once per input.
        inputs: The records it is called on, cycled (also the baseline's records, serialised to JSON).
        unit: What one call handles, e.g. ``tiles``.
    """

    name: str
    func: Callable[[Any], Any]
    inputs: Sequence[Any]
    unit: str = "records"
    baseline_inputs: Sequence[Any] | None = None


#: Rounds per measurement: the best one counts (a shared machine's other work only ever slows a round down).
ROUNDS = 7


def _round(func: Callable[[Any], Any], inputs: Sequence[Any], seconds: float) -> float:
    """Records per second of one core (the thread's CPU time, so that other processes do not count)."""
    done = 0
    start = time.thread_time()
    deadline = start + seconds
    while True:
        for value in inputs:
            func(value)
        done += len(inputs)
        now = time.thread_time()
        if now >= deadline:
            return done / (now - start)


def _rates(func: Callable[[Any], Any], inputs: Sequence[Any], texts: Sequence[str],
           seconds: float) -> tuple[float, float]:
    """The best rates of ``func`` and of the JSON baseline, measured in alternating rounds."""
    rate = base = 0.0
    for _ in range(ROUNDS):
        rate = max(rate, _round(func, inputs, seconds / ROUNDS))
        base = max(base, _round(_json_roundtrip, texts, seconds / ROUNDS))
    return rate, base


def _as_json(record: Any) -> Any:
    """A record as JSON data: dicts and lists as they are, SDK objects through their ``to_dict``."""
    if isinstance(record, dict | list):
        return record
    return record.to_dict()


def _json_roundtrip(text: str) -> str:
    return json.dumps(json.loads(text))


def run(providers: Sequence[str], seconds: float) -> list[tuple[str, float, float]]:
    """Measure every case of the named providers (all when empty); return (name, rate, baseline rate)."""
    rows = []
    for info in pkgutil.iter_modules(cases_pkg.__path__):
        if providers and info.name not in providers:
            continue
        module = importlib.import_module(f"{cases_pkg.__name__}.{info.name}")
        for case in module.cases():
            records = case.baseline_inputs if case.baseline_inputs is not None else case.inputs
            texts = [json.dumps(_as_json(r)) for r in records]
            rate, base = _rates(case.func, case.inputs, texts, seconds)
            rows.append((f"{case.name} ({case.unit})", rate, base))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("providers", nargs="*")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    rows = run(args.providers, args.seconds)
    print(f"{'case':50} {'records/s':>12} {'json loads+dumps/s':>20} {'ratio':>7}")
    for name, rate, base in rows:
        print(f"{name:50} {rate:12.0f} {base:20.0f} {base / rate:6.1f}x")


if __name__ == "__main__":
    main()
