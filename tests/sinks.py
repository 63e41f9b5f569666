"""A harvest sink for tests: it keeps what it is given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ListSink:
    """Keeps every record written to it, in order, in :attr:`records`."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        self.records.extend(batch)

    def close(self) -> None:
        pass
