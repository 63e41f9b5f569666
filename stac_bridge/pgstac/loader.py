"""Load STAC Collections and Items into pgstac, idempotently, one transaction per batch.

Items are formatted into the rows pypgstac's ``Loader.format_item`` makes (dehydration against the
collection's base item; :mod:`stac_bridge.pgstac.rows`), then each batch is written in a single transaction in
binary COPY: straight into ``items`` when none of its items is stored, else the way pgstac's own staging tables
write; pgstac's ``check_partition`` makes the partitions (no private pypgstac name is used). Bad records
fail one by one, never their batch: what can be checked here (JSON, ids, datetimes, footprints, collections)
is checked before writing, and a batch the database still refuses is split in halves, each written on its own,
until the items it refuses are found. Within a batch the last of several items with the same id wins. An
upsert only rewrites rows whose content changed, so loading the same file twice changes nothing, and the
summary tells loaded (new or changed) from unchanged; it is kept when a load stops on an error
(:class:`LoadInterrupted`).

What the STAC API does not serve is kept in pgstac's ``private`` column (never
hydrated into search results): an object's ledger (``stac_bridge:ledger``, the transforms' round-trip
bookkeeping), its provenance tag (``stac_bridge:source``) and, for a collection, the extent its transform
wrote (``stac_bridge:extent``). The served extent is computed from the collection's items after each load
(antimeridian-aware); the compatible endpoints and the source routes join the rest back in
(:mod:`stac_bridge.server.search`), so a provider record comes back exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

import orjson
import psycopg
from psycopg import sql

from stac_bridge.errors import LoadError
from stac_bridge.jsonfiles import Unreadable, read_json_lines
from stac_bridge.pgstac import binarycopy
from stac_bridge.pgstac.rows import LOAD_KEY, BaseItem, FormatError, digest_of, format_rows, instant

__all__ = ["LoadInterrupted", "LoadSummary", "PgstacLoader", "Mode", "read_stac"]

log = logging.getLogger(__name__)

Mode = Literal["upsert", "insert-ignore"]
MODES: Final[tuple[Mode, ...]] = ("upsert", "insert-ignore")
DEFAULT_BATCH_SIZE: Final = 10_000


@dataclass
class LoadSummary:
    """What a load did.

    Attributes:
        loaded: Objects written (new, or changed under upsert).
        unchanged: Objects already there with the same content (or, under insert-ignore, already there).
        failed: Objects not loaded, each with its reason in ``errors``.
        errors: ``"<id>: <reason>"`` for each failed object.
        replaced: Items of a batch superseded by a later item with the same id in that batch.
    """

    loaded: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    replaced: int = 0

    def add(self, other: LoadSummary) -> None:
        """Add another summary's counts into this one."""
        self.loaded += other.loaded
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.replaced += other.replaced

    def fail(self, what: str, reason: str) -> None:
        """Count one object as failed, with ``"<what>: <reason>"``."""
        self.failed += 1
        self.errors.append(f"{what}: {reason}")

    def __str__(self) -> str:
        text = f"{self.loaded} loaded, {self.unchanged} unchanged, {self.failed} failed"
        return text + (f", {self.replaced} replaced by a later duplicate" if self.replaced else "")


#: The one bookkeeping member of the transforms' STAC (:data:`stac_bridge.transforms.kernel.LEDGER`).
LEDGER: Final = "stac_bridge:ledger"
#: The provenance tag (:data:`stac_bridge.transforms.kernel.SOURCE`): an Item property, a Collection field.
SOURCE: Final = "stac_bridge:source"
#: A collection's extent as its transform wrote it, kept for the way back.
SOURCE_EXTENT: Final = "stac_bridge:extent"


def split_private(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split a STAC object into what pgstac serves and what goes to its ``private`` column.

    The ledger and the provenance tag move to ``private``; a collection's extent is copied there too (the
    served one is computed from the items).
    """
    content = dict(obj)
    private: dict[str, Any] = {}
    ledger = content.pop(LEDGER, None)
    if ledger:
        private[LEDGER] = ledger
    if content.get("type") == "Collection":
        if SOURCE in content:
            private[SOURCE] = content.pop(SOURCE)
        if "extent" in content:
            private[SOURCE_EXTENT] = content["extent"]
    elif isinstance(content.get("properties"), Mapping) and SOURCE in content["properties"]:
        properties = dict(content["properties"])
        private[SOURCE] = properties.pop(SOURCE)
        content["properties"] = properties
    return content, private or None


class LoadInterrupted(LoadError):
    """The load stopped on an error that is not one record's (the database went away).

    Attributes:
        summary: What was done before it stopped: every batch counted there is committed.
    """

    def __init__(self, message: str, summary: LoadSummary) -> None:
        super().__init__(message)
        self.summary = summary


def read_stac(
    paths: Iterable[str | Path], *, on_error: Callable[[str, str], None] | None = None,
    lines: Callable[[bytes], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every STAC object in files and directories, in order (read by :mod:`stac_bridge.jsonfiles`).

    Args:
        paths: Files and directories.
        on_error: Called with ``(where, reason)`` for each file or ndjson line that is not JSON or holds
            something other than objects; it is skipped and reading goes on. Without it, such input raises.
        lines: Of ndjson files, only the lines (bytes) this accepts are parsed: a cheap prefilter.

    Raises:
        LoadError: a file cannot be opened, or (only without ``on_error``) a file or line is not JSON, naming
            the file and the line.
    """
    for entry, _ in _read_stac_lines(paths, on_error=on_error, lines=lines):
        yield entry


def _read_stac_lines(
    paths: Iterable[str | Path], *, on_error: Callable[[str, str], None] | None = None,
    lines: Callable[[bytes], bool] | None = None,
) -> Iterator[tuple[dict[str, Any], bytes | None]]:
    """:func:`read_stac`, each object with the ndjson line it was read from (when it is a whole line)."""
    for entry, line in read_json_lines(paths, lines=lines):
        if not isinstance(entry, Unreadable):
            yield entry, line
        elif on_error is None or entry.fatal:
            raise LoadError(str(entry))
        else:
            on_error(entry.where, entry.reason)


def _maybe_collection(line: bytes) -> bool:
    """Whether an ndjson line may hold a collection (a cheap test: the ones that pass are parsed)."""
    return b'"Collection"' in line


class PgstacLoader:
    """Loads STAC objects into the pgstac database at ``dsn``.

    Also a harvest sink: :meth:`write` loads one batch of items atomically and returns only once it is
    committed, so a checkpoint may follow.

    Args:
        dsn: A PostgreSQL connection URL of a database with pgstac migrated.
        mode: ``"upsert"`` (default: new objects inserted, changed ones replaced) or ``"insert-ignore"``
            (objects already there are left as they are).
        batch_size: Items per transaction.
    """

    def __init__(self, dsn: str, *, mode: Mode = "upsert", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if mode not in MODES:
            raise LoadError(f"unknown load mode {mode!r}; use one of {', '.join(MODES)}")
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader

        self.mode = mode
        self.batch_size = batch_size
        self._touched: set[str] = set()
        self._bases: dict[str, BaseItem] = {}
        #: The partition ranges made sure of by committed loads: (collection, bucket) -> the four bounds.
        self._partitions: dict[tuple[str, Any], tuple[Any, Any, Any, Any]] = {}
        #: Whether the server compresses with lz4 (built with it); asked on the first write.
        self._lz4: bool | None = None
        self._dsn = dsn
        self._read_conn: psycopg.Connection[Any] | None = None
        self._db = PgstacDB(dsn=dsn)
        try:
            self._pypgstac = Loader(self._db)
            self._pypgstac.check_version()
        except psycopg.Error as exc:
            raise LoadError(f"cannot reach pgstac: {exc}") from exc
        except Exception as exc:  # pypgstac raises a bare Exception on a version mismatch
            raise LoadError(str(exc)) from exc

    def close(self) -> None:
        """Bring the extents of the collections written to up to date, then close the database connection."""
        try:
            self.update_extents()
        except psycopg.Error as exc:  # closing after a failure: the extents wait for the next load
            log.warning("collection extents not updated: %s", _first_line(exc))
        finally:
            self._db.close()
            if self._read_conn is not None:
                self._read_conn.close()

    def update_extents(self, collections: Iterable[str] = ()) -> None:
        """Set the served extent of ``collections``, and of the collections loaded into since, to their items'.

        The spatial extent is the items' bounding box, west > east when the items lie on both sides of the
        antimeridian and that box is narrower (PostGIS's ``ST_ShiftLongitude``); the temporal extent runs from
        the first ``datetime`` to the last ``end_datetime``. A collection without items keeps the extent its
        transform wrote.
        """
        ids = sorted(self._touched | set(collections))
        self._touched.clear()
        if not ids:
            return
        conn = self._conn
        with conn.transaction():
            conn.execute(_EXTENT_SQL, (ids,))

    def __enter__(self) -> PgstacLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = self._db.connect()
        return conn

    # -- collections -------------------------------------------------------------------------------------

    def load_collections(self, collections: Iterable[Mapping[str, Any]]) -> LoadSummary:
        """Insert or update collections (all in one transaction); identical ones are left untouched."""
        summary = LoadSummary()
        rows = []
        for collection in collections:
            cid = collection.get("id")
            if not isinstance(cid, str) or not cid:
                summary.failed += 1
                summary.errors.append("<collection without id>: 'id' is missing")
                continue
            served, kept = split_private(collection)
            rows.append((cid, json.dumps(served), json.dumps(kept) if kept else None))
        if not rows:
            return summary
        conn = self._conn
        loaded: list[str] = []
        with conn.transaction(), conn.cursor() as cur:
            for cid, content, private in rows:
                # The served extent is the items' (see update_extents): compare everything else.
                cur.execute(
                    "SELECT content - 'extent' = %s::jsonb - 'extent' AND private IS NOT DISTINCT FROM %s::jsonb "
                    "FROM collections WHERE id = %s",
                    (content, private, cid),
                )
                existing = cur.fetchone()
                if existing is not None and (existing[0] or self.mode == "insert-ignore"):
                    summary.unchanged += 1
                    continue
                function = "update_collection" if existing is not None else "create_collection"
                try:
                    with conn.transaction():
                        cur.execute(sql.SQL("SELECT {}(%s::jsonb)").format(sql.Identifier(function)), (content,))
                        cur.execute("UPDATE collections SET private = %s::jsonb WHERE id = %s", (private, cid))
                except psycopg.Error as exc:
                    summary.failed += 1
                    summary.errors.append(f"{cid}: {_first_line(exc)}")
                    continue
                summary.loaded += 1
                loaded.append(cid)
        self.update_extents(loaded)
        # Base items may have changed: pypgstac caches them per collection, and so does this loader.
        self._pypgstac.collection_json.cache_clear()
        self._bases.clear()
        self._partitions.clear()  # a collection's partitioning may have changed too
        return summary

    # -- items -------------------------------------------------------------------------------------------

    def load_items(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        on_batch: Callable[[LoadSummary], None] | None = None,
        summary: LoadSummary | None = None,
    ) -> LoadSummary:
        """Load items in batches of ``batch_size``, one transaction each.

        An item that cannot be loaded (no id, a bad datetime, an unknown collection, one the database
        refuses...) is counted as failed with its reason; the others of its batch are loaded.

        Args:
            items: STAC Item dicts.
            on_batch: Called with each batch's summary once it is committed (for progress bars).
            summary: Counts to add to (the loader's caller may have counted unreadable input already).

        Raises:
            LoadInterrupted: the database failed for another reason than an item (it went away): the summary
                of what was committed before is attached.
        """
        with _no_cyclic_gc():
            return self._load_items(((item, None) for item in items), on_batch, summary, owned=False)

    def _load_items(self, entries: Iterable[tuple[Mapping[str, Any], bytes | None]],
                    on_batch: Callable[[LoadSummary], None] | None, summary: LoadSummary | None, *,
                    owned: bool) -> LoadSummary:
        """:meth:`load_items` of ``(item, the JSON text it was read from, or None)``.

        ``owned``: the items are this loader's to consume (read from files by it).
        """
        summary = summary if summary is not None else LoadSummary()
        iterator = iter(entries)
        # Two stages on two cores: while one batch is looked up, formatted and written by the writer thread
        # (the database works, that thread waits in psycopg without the GIL), the next is read and checked here.
        pending: Future[LoadSummary] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="stac-bridge-writer") as writer:
            try:
                mostly_new: bool | None = None
                while chunk := list(itertools.islice(iterator, self.batch_size)):
                    batch = [item for item, _ in chunk]
                    checked, accepted = self._check(batch, None, [text for _, text in chunk])
                    stored = None
                    if mostly_new is None:
                        # The first batch: nothing is being written yet, so its lookup is made here, and tells
                        # whether the load is mostly new (an incremental re-load formats nothing it keeps).
                        stored = self._stored_digests({entry.key for entry in accepted})
                        mostly_new = len(_unchanged(accepted, stored, self.mode)) * 2 < len(accepted)
                    # When the last batch was mostly new or changed, this one's rows are made here, beside the
                    # writing of the last; else only the changed ones are, after the lookup.
                    formatted = self._formatted(batch, accepted, owned=owned) if mostly_new else None
                    if pending is not None:
                        done = pending.result()
                        mostly_new = done.unchanged * 2 < done.loaded + done.unchanged + done.failed
                        self._committed(done, summary, on_batch)
                    pending = writer.submit(self._store, batch, checked, accepted, None, formatted, owned=owned,
                                            stored=stored)
                if pending is not None:
                    self._committed(pending.result(), summary, on_batch)
            except LoadError as exc:
                if pending is not None:
                    with contextlib.suppress(LoadError):
                        self._committed(pending.result(), summary, on_batch)
                # The database is gone: the extents of what was committed wait for the next load.
                self._touched.clear()
                raise LoadInterrupted(str(exc), summary) from exc
        self.update_extents()
        return summary

    @staticmethod
    def _committed(result: LoadSummary, summary: LoadSummary,
                   on_batch: Callable[[LoadSummary], None] | None) -> None:
        summary.add(result)
        if on_batch is not None:
            on_batch(result)


    def write(self, batch: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
        """Sink protocol: load one batch; committed when this returns.

        Returns:
            The items pgstac cannot hold or the database refused, as ``(index, reason)``: the harvest engine
            puts them in the dead letters. The others are loaded.

        Raises:
            LoadError: the database failed for another reason than the items (nothing more is loaded).
        """
        refused: list[tuple[int, str]] = []
        self._load_batch(batch, refused=refused)
        return refused

    def load_paths(
        self,
        paths: Sequence[str | Path],
        *,
        on_batch: Callable[[LoadSummary], None] | None = None,
    ) -> LoadSummary:
        """Load every STAC object in files and directories (see :func:`read_stac`).

        The collections are loaded first, wherever they stand, then the items, streamed in batches. A line or
        file that is not JSON counts as one failed record, named by file and line.

        Raises:
            LoadInterrupted: the database went away; the summary so far is attached.
        """
        summary = LoadSummary()
        # A first reading for the collections parses only the ndjson lines that may hold one; unreadable input
        # is reported by the second, which reads everything once.
        summary.add(self.load_collections(o for o in read_stac(paths, on_error=lambda where, reason: None,
                                                               lines=_maybe_collection)
                                          if o.get("type") == "Collection"))
        items = ((o, text) for o, text in _read_stac_lines(paths, on_error=summary.fail)
                 if o.get("type") != "Collection")
        with _no_cyclic_gc():  # the items read here are nobody else's: formatting may consume them
            return self._load_items(items, on_batch, summary, owned=True)

    def _load_batch(
        self, batch: Sequence[Mapping[str, Any]], *, refused: list[tuple[int, str]] | None = None
    ) -> LoadSummary:
        summary, accepted = self._check(batch, refused)
        self._store(batch, summary, accepted, refused)
        if refused is not None:
            refused.sort()
        return summary

    def _check(self, batch: Sequence[Mapping[str, Any]], refused: list[tuple[int, str]] | None,
               texts: Sequence[bytes | None] | None = None) -> tuple[LoadSummary, list[Accepted]]:
        """Check a batch and take each good item's digest (reading only collections, on the second connection).

        Args:
            batch: The items.
            refused: Where to note the items refused, for :meth:`write`.
            texts: The JSON each item was read from, when it was read whole from one line: its digest is taken
                of that text, which is not written again.

        Returns:
            The counts so far (failed, replaced) and the items to store.
        """
        summary = LoadSummary()
        known = self._existing_collections({str(i.get("collection")) for i in batch if isinstance(i, Mapping)})
        # The last of several items with one id wins, as loading them one batch after the other would do
        # (the database refuses to upsert one row twice in one statement).
        keys = {index: _key(item) for index, item in enumerate(batch) if isinstance(item, Mapping)}
        last = {key: index for index, key in keys.items()}
        accepted: list[Accepted] = []
        for index, item in enumerate(batch):
            problem = _item_problem(item, known)  # None: a Mapping, with its key
            if problem is None and last[keys[index]] != index:
                summary.replaced += 1
                continue
            if problem is None:
                try:
                    base = self._base_item(str(item["collection"]))
                except LoadError:
                    raise
                except (psycopg.Error, ValueError) as exc:
                    problem = _first_line(exc)
            if problem is not None:
                _refuse(summary, refused, index, item, problem)
                continue
            # In the order given (sorting the keys cost as much again): the same source, read or harvested
            # again, gives the same order; an item only reordered is written once more, nothing worse. Of a line
            # read, its text: the same text is the same item (orjson writes the lines stac-bridge writes, so that
            # a harvest's items and the same items read back from its ndjson have one digest).
            text = texts[index] if texts is not None else None
            data = text if text is not None else orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS)
            accepted.append(Accepted(index, base, digest_of(data, base), keys[index]))
        return summary, accepted

    def _formatted(self, batch: Sequence[Mapping[str, Any]], todo: list[Accepted], *,
                   owned: bool = False) -> list[tuple[int, dict[str, Any] | FormatError]]:
        """The rows of the ``todo`` items of ``batch``, as :func:`~stac_bridge.pgstac.rows.format_rows` makes them.

        Dehydration consumes what an item shares with its base item: unless ``owned``, it works on a copy.
        """
        items = []
        for entry in todo:
            item = batch[entry.at] if owned else _dehydratable_copy(batch[entry.at], entry.base)
            content, private = split_private(item)
            if private is not None:
                content["private"] = private
            items.append((content, entry.base, entry.digest))
        return [(entry.at, row) for entry, row in zip(todo, format_rows(items), strict=True)]

    def _store(self, batch: Sequence[Mapping[str, Any]], summary: LoadSummary,
               accepted: list[Accepted], refused: list[tuple[int, str]] | None,
               formatted: list[tuple[int, dict[str, Any] | FormatError]] | None = None, *,
               owned: bool = False, stored: dict[tuple[str, str], str | None] | None = None) -> LoadSummary:
        """Format and write the checked items of a batch but those stored with the same digest (unchanged).

        On the loader's (writing) connection: reads of the items never meet the writes of another batch.

        Args:
            batch: The batch.
            summary: Its counts so far (added to).
            accepted: Its checked items (:meth:`_check`).
            refused: Where to note the items refused, for :meth:`write`.
            formatted: Rows of the accepted items made beforehand (by the reading thread), if any.
            owned: Whether formatting may consume the batch's items.
            stored: The digests of its stored items, when already looked up (:meth:`_stored_digests`).
        """
        if stored is None:
            stored = self._stored_digests({entry.key for entry in accepted})
        kept = _unchanged(accepted, stored, self.mode)
        summary.unchanged += len(kept)  # the same items, as this loader stored them: nothing to format or write
        todo = [entry for entry in accepted if entry.at not in kept]
        keys = {entry.at: entry.key for entry in todo}
        if formatted is None:
            formatted = self._formatted(batch, todo, owned=owned)
        else:
            formatted = [(index, row) for index, row in formatted if index in keys]
        rows: list[tuple[int, dict[str, Any]]] = []
        for index, row in formatted:
            if isinstance(row, FormatError):
                _refuse(summary, refused, index, batch[index], _first_line(row))
            else:
                rows.append((index, {**row, "exists": keys[index] in stored}))
        self._write_isolating(rows, summary, refused)
        return summary

    def _base_item(self, collection: str) -> BaseItem:
        """The collection's base item (pypgstac's), cached until collections are loaded again."""
        base = self._bases.get(collection)
        if base is None:
            row = self._read_row(_BASE_ITEM_SQL, (collection,))
            if row is None or row[1] is None:  # removed since the batch was checked
                raise ValueError(f"collection {collection!r} does not exist: load the collection first")
            base = self._bases[collection] = BaseItem.of(*row)
        return base

    @property
    def _reads(self) -> psycopg.Connection[Any]:
        """The loader's second connection (autocommit): what a batch needs to know while another is written."""
        if self._read_conn is None or self._read_conn.closed:
            try:
                self._read_conn = psycopg.connect(self._dsn, autocommit=True)
                self._read_conn.execute("SET search_path TO pgstac, public")
            except psycopg.OperationalError as exc:
                raise LoadError(f"the database failed: {_first_line(exc)}") from exc
        return self._read_conn

    def _read_row(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._reads.execute(query, params).fetchone()
        except psycopg.OperationalError as exc:
            raise LoadError(f"the database failed: {_first_line(exc)}") from exc
        return row

    def _stored_digests(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """Of the items ``keys`` names that are stored, the digest they were loaded with.

        ``None`` for an item stored without one, or written since by another writer (the API's transactions,
        pypgstac): it is written again.
        """
        by_collection: dict[str, list[str]] = {}
        for collection, item_id in keys:
            by_collection.setdefault(collection, []).append(item_id)
        stored: dict[tuple[str, str], str | None] = {}
        try:
            for collection, ids in by_collection.items():
                # Per collection: the lookup probes only that collection's partitions.
                for item_id, digest, intact in self._conn.execute(_STORED_SQL, (collection, ids)).fetchall():
                    stored[(collection, item_id)] = digest if intact else None
        except psycopg.OperationalError as exc:
            raise LoadError(f"the database failed: {_first_line(exc)}") from exc
        return stored

    def _write_isolating(self, rows: list[tuple[int, dict[str, Any]]], summary: LoadSummary,
                         refused: list[tuple[int, str]] | None) -> None:
        """Write ``rows`` in one transaction; if the database refuses it, each half on its own.

        Down to the single rows it refuses: about log2(batch size) more transactions per bad row.
        """
        if not rows:
            return
        try:
            written = self._write_rows([row for _, row in rows])
        except psycopg.OperationalError as exc:  # the connection, not the rows
            self._partitions.clear()
            raise LoadError(f"the database failed: {_first_line(exc)}") from exc
        except psycopg.Error as exc:  # rolled back, partitions included
            self._partitions.clear()
            if len(rows) == 1:
                index, row = rows[0]
                reason = f"the database refused it: {_first_line(exc)}"
                summary.fail(str(row.get("id")), reason)
                if refused is not None:
                    refused.append((index, reason))
                return
            middle = len(rows) // 2
            log.info("a batch of %d items was refused (%s): loading its halves apart", len(rows), _first_line(exc))
            self._write_isolating(rows[:middle], summary, refused)
            self._write_isolating(rows[middle:], summary, refused)
            return
        summary.loaded += written
        summary.unchanged += len(rows) - written
        if written:
            self._touched.update(str(row["collection"]) for _, row in rows)

    def _existing_collections(self, ids: set[str]) -> set[str]:
        try:
            rows = self._reads.execute("SELECT id FROM collections WHERE id = ANY(%s)", (list(ids),)).fetchall()
        except psycopg.OperationalError as exc:
            raise LoadError(f"the database failed: {_first_line(exc)}") from exc
        return {r[0] for r in rows}

    def _write_rows(self, rows: list[dict[str, Any]]) -> int:
        """Write formatted rows in one transaction; how many were new or changed.

        A batch of items none of which is stored (the digest lookup found none: a fresh load) is copied straight
        into ``items``, which routes the rows to their partitions. Any other batch goes the way pgstac's own
        staging tables write: the rows are copied to a temporary table and inserted into ``items`` from there;
        under upsert, a row whose content changed is deleted first (pgstac's ``items_staging_upsert``), so an
        unchanged row is neither rewritten nor counted. Either way pgstac's ``check_partition`` first makes (or
        widens) the partition of each collection and time bucket.
        """
        if not any(row.get("exists", True) for row in rows):
            try:
                return self._write_once(rows, staged=False)
            except psycopg.errors.UniqueViolation:
                # Another writer stored some of these items since the lookup: the staged way sorts them out.
                self._partitions.clear()  # rolled back with the rest
        return self._write_once(rows, staged=True)

    def _write_once(self, rows: list[dict[str, Any]], *, staged: bool) -> int:
        conn = self._conn
        with conn.transaction(), conn.cursor() as cur:
            if self._lz4 is None:
                self._lz4 = bool(cur.execute(_LZ4_SQL).fetchone())
            if self._lz4:
                # An item's content is compressed when stored (TOAST): lz4 does it several times faster than
                # PostgreSQL's default pglz (a fifth of the database's work in a fresh load), and searches read
                # it back faster too. Readers need nothing: each value names its compression.
                cur.execute("SET LOCAL default_toast_compression = lz4")
            # The transaction's id goes with each row's digest (see _STORED_SQL), as xmin shows it.
            xid = cur.execute("SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text").fetchone()
            assert xid is not None
            self._check_partitions(cur, rows)
            if not staged:
                self._copy(cur, "items", rows, xid[0])
                return len(rows)
            cur.execute(_INGEST_TABLE_SQL)
            self._copy(cur, "stac_bridge_ingest", rows, xid[0])
            insert = "INSERT INTO items SELECT * FROM stac_bridge_ingest ON CONFLICT DO NOTHING"
            if self.mode == "insert-ignore":
                cur.execute(insert)
                return max(cur.rowcount, 0)
            cur.execute(_DELETE_CHANGED_SQL)
            return max(cur.execute(insert).rowcount, 0)

    @staticmethod
    def _copy(cur: psycopg.Cursor[Any], table: str, rows: Sequence[Mapping[str, Any]], xid: str) -> None:
        """COPY the rows into ``table`` (binary: :mod:`stac_bridge.pgstac.binarycopy`), a megabyte at a time."""
        with cur.copy(f"COPY {table} {_INGEST_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
            chunk: list[bytes] = []
            size = 0
            for data in _copied(rows, xid):
                chunk.append(data)
                size += len(data)
                if size >= 1 << 20:
                    copy.write(b"".join(chunk))
                    chunk, size = [], 0
            copy.write(b"".join(chunk))

    def _check_partitions(self, cur: psycopg.Cursor[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        """Make (or widen) the partitions the rows go to with pgstac's ``check_partition``.

        Only for the collection and time buckets whose ranges no earlier batch of this loader made sure of:
        ``check_partition`` takes locks and, to widen a partition's constraints, reads the whole partition. So
        that few batches widen them, the ranges it is given are rounded outwards to whole UTC months (years, for
        a collection partitioned by year): a search's partition pruning loses at most that much.
        """
        spans = _spans(rows)
        for (collection, bucket), (low, high, end_low, end_high) in sorted(spans.items(), key=_span_order):
            known = self._partitions.get((collection, bucket))
            if known is not None and known[0] <= low and high <= known[1] and known[2] <= end_low \
                    and end_high <= known[3]:
                continue
            if known is not None:
                low, high = min(low, known[0]), max(high, known[1])
                end_low, end_high = min(end_low, known[2]), max(end_high, known[3])
            cur.execute("SELECT check_partition(%s, tstzrange(%s, %s, '[]'), tstzrange(%s, %s, '[]'))",
                        (collection, low, high, end_low, end_high))
            self._partitions[(collection, bucket)] = (low, high, end_low, end_high)

    # -- reading back ------------------------------------------------------------------------------------

    def count_items(self, collection: str | None = None) -> int:
        """How many items pgstac holds (in one collection, or in all)."""
        if collection is None:
            row = self._conn.execute("SELECT count(*) FROM items").fetchone()
        else:
            row = self._conn.execute("SELECT count(*) FROM items WHERE collection = %s", (collection,)).fetchone()
        return int(row[0]) if row else 0


_INGEST_COLUMN_NAMES: Final = ("id", "collection", "datetime", "end_datetime", "geometry", "content", "private")
_INGEST_COLUMNS: Final = f"({', '.join(_INGEST_COLUMN_NAMES)})"
_INGEST_TABLE_SQL: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS stac_bridge_ingest (LIKE items) ON COMMIT DELETE ROWS; TRUNCATE stac_bridge_ingest"
)
#: The rows that changed, deleted before the insert (locked in a fixed order first, as pgstac's upsert does, so
#: that concurrent loads of overlapping ids cannot deadlock).
_DELETE_CHANGED_SQL: Final = """
WITH locked AS (
    SELECT o.collection, o.id
    FROM stac_bridge_ingest s JOIN items o ON o.id = s.id AND o.collection = s.collection
    WHERE o IS DISTINCT FROM s
    ORDER BY o.collection, o.id
    FOR UPDATE OF o
)
DELETE FROM items i USING locked l WHERE i.collection = l.collection AND i.id = l.id
"""

#: Whether the server can compress TOASTed values with lz4.
_LZ4_SQL: Final = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"

#: What pypgstac's ``Loader.collection_json`` asks.
_BASE_ITEM_SQL: Final = """
SELECT b.base_item, c.key, c.partition_trunc, b.base_item_id
FROM collections c, current_base_item(c.id) b WHERE c.id = %s
"""

#: A stored digest is trusted while the row is the one the loader's transaction wrote (any later write of the
#: row, by the API's transactions or pypgstac, gives it another ``xmin``).
_STORED_SQL: Final = f"""
SELECT id, private->'{LOAD_KEY}'->>'digest', private->'{LOAD_KEY}'->>'xid' IS NOT DISTINCT FROM xmin::text
FROM items WHERE collection = %s AND id = ANY(%s)
"""

_EXTENT_SQL: Final = """
WITH spans AS (
    SELECT collection,
           ST_Extent(geometry) AS plain,
           ST_Extent(ST_ShiftLongitude(geometry)) AS shifted,
           min(datetime) AS first,
           max(end_datetime) AS last
    FROM items WHERE collection = ANY(%s) GROUP BY collection
), boxes AS (
    SELECT collection, first, last,
           CASE WHEN ST_XMax(shifted) - ST_XMin(shifted) < ST_XMax(plain) - ST_XMin(plain) - 1e-9
                THEN jsonb_build_array(ST_XMin(shifted), ST_YMin(plain),
                                       CASE WHEN ST_XMax(shifted) > 180 THEN ST_XMax(shifted) - 360
                                            ELSE ST_XMax(shifted) END,
                                       ST_YMax(plain))
                ELSE jsonb_build_array(ST_XMin(plain), ST_YMin(plain), ST_XMax(plain), ST_YMax(plain))
           END AS bbox
    FROM spans
)
UPDATE collections c SET content = jsonb_set(
    c.content, '{extent}',
    jsonb_build_object(
        'spatial', jsonb_build_object('bbox', jsonb_build_array(b.bbox)),
        'temporal', jsonb_build_object('interval', jsonb_build_array(jsonb_build_array(
            to_char(b.first AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            to_char(b.last AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))
    )
)
FROM boxes b WHERE c.id = b.collection
"""


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Python's cycle collector, paused.

    Parsed JSON holds no cycles (reference counting frees it all), and with batches of thousands of items alive
    each full collection walks millions of objects: a load of 100,000 items spent most of its time there.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _dehydratable_copy(item: Mapping[str, Any], base: BaseItem) -> dict[str, Any]:
    """A copy of ``item`` that dehydration (which works in place) may consume.

    The members the base item has too (``assets``...) are copied whole, the others shared; the footprint is not
    dehydrated (it becomes a column).
    """
    return {key: orjson.loads(orjson.dumps(value)) if key in base.item and key != "geometry" else value
            for key, value in item.items()}


def _copied(rows: Iterable[Mapping[str, Any]], xid: str) -> Iterator[bytes]:
    """The rows in binary COPY format, each ``private`` column with the writing transaction beside the digest."""
    yield binarycopy.HEADER
    for row in rows:
        private = {**row["private"], LOAD_KEY: {**row["private"][LOAD_KEY], "xid": xid}}
        yield row["fields"] + binarycopy.jsonb_field(orjson.dumps(private))
    yield binarycopy.TRAILER


#: A partition's (collection, time bucket): the bucket is ``None`` for a collection not partitioned by time.
_Bucket = tuple[str, dt.datetime | None]
#: The rounded ranges of a bucket's rows: first and last ``datetime``, first and last ``end_datetime``.
_Span = tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]


def _spans(rows: Iterable[Mapping[str, Any]]) -> dict[_Bucket, _Span]:
    """The rows' partition buckets, each with its rows' time ranges rounded outwards (see ``_check_partitions``).

    Buckets are UTC months or years, as pgstac's ``partition_name`` makes them.
    """
    found: dict[_Bucket, list[Any]] = {}  # the bucket's rounding unit, then its four bounds
    for row in rows:
        unit = row.get("partition_trunc")
        start, end = row["datetime"], row["end_datetime"]
        bucket: _Bucket = (str(row["collection"]), _floor(start, unit) if unit else None)
        span = found.get(bucket)
        if span is None:
            found[bucket] = [unit or "month", start, start, end, end]
        else:
            span[1], span[2] = min(span[1], start), max(span[2], start)
            span[3], span[4] = min(span[3], end), max(span[4], end)
    return {bucket: (_floor(low, unit), _last_instant(high, unit), _floor(end_low, unit),
                     _last_instant(end_high, unit))
            for bucket, (unit, low, high, end_low, end_high) in found.items()}


def _span_order(entry: tuple[_Bucket, _Span]) -> tuple[str, dt.datetime]:
    """A fixed order of the buckets (``check_partition`` holds locks until commit: no two loads deadlock)."""
    (collection, bucket), span = entry
    return collection, bucket or span[0]


def _floor(value: dt.datetime, unit: str) -> dt.datetime:
    """The start of the UTC month (or year) of ``value``."""
    return value.replace(month=1 if unit == "year" else value.month, day=1, hour=0, minute=0, second=0,
                         microsecond=0)


def _last_instant(value: dt.datetime, unit: str) -> dt.datetime:
    """The last microsecond of the UTC month (or year) of ``value``."""
    start = _floor(value, unit)
    try:
        if unit == "year" or start.month == 12:
            following = start.replace(year=start.year + 1, month=1)
        else:
            following = start.replace(month=start.month + 1)
    except ValueError:  # the last month of year 9999
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return following - dt.timedelta(microseconds=1)


def _refuse(summary: LoadSummary, refused: list[tuple[int, str]] | None, index: int, item: Any,
            problem: str) -> None:
    summary.fail(_id_of(item), problem)
    if refused is not None:
        refused.append((index, problem))


class Accepted(NamedTuple):
    """An item of a batch that passed the checks, to be stored unless it is stored unchanged."""

    at: int  # the index in the batch
    base: BaseItem
    digest: str
    key: tuple[str, str]


def _unchanged(accepted: Iterable[Accepted], stored: Mapping[tuple[str, str], str | None], mode: Mode) -> set[int]:
    """The batch indexes of the accepted items stored with the same digest (or stored at all, for insert-ignore)."""
    return {entry.at for entry in accepted
            if entry.key in stored and (mode == "insert-ignore" or stored[entry.key] == entry.digest)}


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (str(item.get("collection")), str(item.get("id")))


def _id_of(item: Any) -> str:
    value = item.get("id") if isinstance(item, Mapping) else None
    return value if isinstance(value, str) and value else "<item without id>"


def _datetime_problem(properties: Mapping[str, Any]) -> str | None:
    """A datetime property that is not an RFC 3339 instant PostgreSQL can store (month 13, year 0, a number)."""
    for key in ("datetime", "start_datetime", "end_datetime"):
        value = properties.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"'{key}' is {type(value).__name__}, not an RFC 3339 string"
        try:
            instant(value)  # as the rows are written
        except ValueError as exc:
            if str(exc) == "no time zone":
                return f"'{key}' has no time zone: {value[:40]!r}"
            return f"'{key}' is not an RFC 3339 datetime: {value[:40]!r}"
    return None


def _item_problem(item: Any, known_collections: set[str]) -> str | None:
    if not isinstance(item, Mapping):
        return f"not a JSON object but {type(item).__name__}"
    if item.get("type") != "Feature":
        return f"'type' is {item.get('type')!r}, not 'Feature'"
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "'id' is missing"
    collection = item.get("collection")
    if not isinstance(collection, str) or not collection:
        return "'collection' is missing (pgstac stores every item in a collection)"
    if collection not in known_collections:
        return f"collection {collection!r} does not exist: load the collection first"
    if not isinstance(item.get("geometry"), Mapping):
        return "'geometry' is null: pgstac stores items with a footprint only"
    properties = item.get("properties")
    if not isinstance(properties, Mapping):
        return "'properties' is missing"
    if properties.get("datetime") is None and not (
        properties.get("start_datetime") and properties.get("end_datetime")
    ):
        return "'datetime' is null and 'start_datetime'/'end_datetime' are not both set"
    return _datetime_problem(properties)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
