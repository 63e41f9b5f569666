"""A source that reads saved records from files or stdin, for ``stac-bridge convert`` and ``export``.

A file may hold one JSON document (a record, an array of records, or a page envelope: a FeatureCollection's
``features`` or a ``data`` array as Sentinel Hub and Descartes Labs send them) or ndjson (one such document a
line). ndjson is streamed, so files of any length convert in bounded memory; a JSON document is read whole.
``-`` reads stdin.

Records are read in order, and some need others to be translated (a BYOC tile its collection, a Descartes
Labs image its product and bands). Each record is classified by the adapter, whose
:meth:`~stac_bridge.registry.Adapter.link` then gives each record its context from the ones before it: list
the files of collections, products and bands before those of tiles and images.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from stac_bridge.errors import ConfigError, TransformError
from stac_bridge.harvest.engine import Page, Raw
from stac_bridge.jsonfiles import Unreadable, read_json_objects
from stac_bridge.registry import Adapter, ProviderRecord, get_adapter

__all__ = ["FileSource", "read_records"]

PAGE_SIZE: Final = 500


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every record in a JSON or ndjson file (``-`` for stdin), in order (read by :mod:`stac_bridge.jsonfiles`).

    Raises:
        ConfigError: the file cannot be read or is not JSON (naming the file and the line).
    """
    for entry in read_json_objects([path]):
        if isinstance(entry, Unreadable):
            raise ConfigError(str(entry))
        yield entry


def _classified(records: Iterable[Raw], adapter: Adapter) -> Iterator[Raw]:
    for raw in records:
        if isinstance(raw, ProviderRecord):
            yield raw
            continue
        try:
            yield adapter.classify(raw)
        except TransformError:
            yield raw  # the transform refuses it again, and it goes to the dead letters with the reason


class FileSource:
    """Saved records, read in order from files; a :class:`~stac_bridge.harvest.engine.Source` for the engine.

    Pages are read sequentially (a file cannot be fetched out of order), so this source is meant for runs
    without checkpoints (``convert``, ``export``).

    Args:
        paths: Files (``-`` for stdin).
        adapter: The adapter that reads the records.
        page_size: Records per page.
        classify: Classify and link the records with the adapter (provider records); ``False`` yields them as
            read (STAC to export).
    """

    name = "files"

    def __init__(
        self, paths: Sequence[str | Path], *, adapter: str, page_size: int = PAGE_SIZE, classify: bool = True
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.adapter = adapter
        self._page_size = page_size
        records: Iterator[Raw] = itertools.chain.from_iterable(read_records(p) for p in self.paths)
        if classify:
            resolved = get_adapter(adapter)
            records = _classified(records, resolved)
            records = resolved.link(records)
        self._records = records
        self._page = 0

    def query(self) -> dict[str, Any]:
        """The files read."""
        return {"paths": self.paths}

    def start(self, since: dt.datetime | None) -> int:
        """Page 0 (``since`` does not apply to files)."""
        return 0

    def fetch(self, position: Any) -> Page:
        """The next page of records.

        Raises:
            ConfigError: asked for any page but the next one.
        """
        if position != self._page:
            raise ConfigError(f"files are read in order: page {self._page} is next, not {position}")
        records: list[Raw] = list(itertools.islice(self._records, self._page_size))
        self._page += 1
        return Page(records, self._page if records else None)

    def following(self, position: Any) -> None:
        """Never known in advance: files are read in order."""
        return None

    def close(self) -> None:
        """Nothing to release."""
