"""Load STAC Collections and Items into pgstac, idempotently, one transaction per batch.

Items go through pypgstac's own item formatting (dehydration against the collection's base item, partition
routing), then each batch is written in a single transaction: a batch is either wholly loaded or not at all.
An upsert only rewrites rows whose content changed, so loading the same file twice changes nothing, and the
summary tells loaded (new or changed) from unchanged.

What the STAC API does not serve is kept in pgstac's ``private`` column (never hydrated into search
results): an object's ledger (``stac_bridge:ledger``, the transforms' round-trip bookkeeping), its provenance
tag (``stac_bridge:source``) and, for a collection, the extent its transform wrote (``stac_bridge:extent``). The
served extent is computed from the collection's items after each load (antimeridian-aware); the compatible
endpoints and the source routes join the rest back in (:mod:`stac_bridge.server.search`), so a provider record
comes back exactly.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import psycopg
from psycopg import sql

from stac_bridge.errors import LoadError

__all__ = ["LoadSummary", "PgstacLoader", "Mode", "read_stac"]

log = logging.getLogger(__name__)

Mode = Literal["upsert", "insert-ignore"]
MODES: Final[tuple[Mode, ...]] = ("upsert", "insert-ignore")
DEFAULT_BATCH_SIZE: Final = 1000


@dataclass
class LoadSummary:
    """What a load did.

    Attributes:
        loaded: Objects written (new, or changed under upsert).
        unchanged: Objects already there with the same content (or, under insert-ignore, already there).
        failed: Objects not loaded, each with its reason in ``errors``.
        errors: ``"<id>: <reason>"`` for each failed object.
    """

    loaded: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: LoadSummary) -> None:
        """Add another summary's counts into this one."""
        self.loaded += other.loaded
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors.extend(other.errors)

    def __str__(self) -> str:
        return f"{self.loaded} loaded, {self.unchanged} unchanged, {self.failed} failed"


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


def read_stac(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Every STAC object in files and directories, in order.

    JSON files may hold one object, a list, or a FeatureCollection; ndjson files one object a line;
    directories are searched recursively for ``*.json``, ``*.ndjson`` and ``*.jsonl``.

    Raises:
        LoadError: a file is not JSON, naming the file and the line.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson", ".jsonl"))
            yield from read_stac(files)
            continue
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise LoadError(f"cannot read {path}: {exc}") from exc
        with handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
            handle.seek(0)
            if first == "[" or (first == "{" and not _is_ndjson(path)):
                try:
                    document = json.load(handle)
                except ValueError as exc:
                    raise LoadError(f"{path} is not valid JSON: {exc}") from exc
                yield from _objects_of(document)
            else:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        document = json.loads(line)
                    except ValueError as exc:
                        raise LoadError(f"{path}:{number} is not valid JSON: {exc}") from exc
                    yield from _objects_of(document)


def _is_ndjson(path: Path) -> bool:
    if path.suffix in (".ndjson", ".jsonl"):
        return True
    with path.open(encoding="utf-8") as handle:
        first_line = handle.readline()
    try:
        json.loads(first_line)
    except ValueError:
        return False
    return bool(handle) and path.stat().st_size > len(first_line.encode()) + 1


def _objects_of(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for entry in document:
            yield from _objects_of(entry)
    elif isinstance(document, dict) and document.get("type") == "FeatureCollection":
        yield from _objects_of(document.get("features", []))
    elif isinstance(document, dict):
        yield document
    else:
        raise LoadError(f"not a STAC object: {json.dumps(document)[:80]}")


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
        # Base items may have changed: pypgstac caches them per collection.
        self._pypgstac.collection_json.cache_clear()
        return summary

    # -- items -------------------------------------------------------------------------------------------

    def load_items(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        on_batch: Callable[[LoadSummary], None] | None = None,
    ) -> LoadSummary:
        """Load items in batches of ``batch_size``, one transaction each.

        An item that cannot be loaded (no id, no datetime, an unknown collection...) is counted as failed
        with its reason; the others of its batch are loaded.

        Args:
            items: STAC Item dicts.
            on_batch: Called with each batch's summary once it is committed (for progress bars).
        """
        summary = LoadSummary()
        iterator = iter(items)
        try:
            while batch := list(itertools.islice(iterator, self.batch_size)):
                result = self._load_batch(batch)
                summary.add(result)
                if on_batch is not None:
                    on_batch(result)
        finally:
            self.update_extents()
        return summary

    def write(self, batch: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
        """Sink protocol: load one batch in one transaction; committed when this returns.

        Returns:
            The items pgstac cannot hold (no footprint, no datetime, an unknown collection...) as ``(index,
            reason)``: the harvest engine puts them in the dead letters. The others are loaded.

        Raises:
            LoadError: the database refused the batch: nothing of it is loaded.
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

        The collections are loaded first, wherever they stand, then the items, streamed in batches.
        """
        summary = self.load_collections(o for o in read_stac(paths) if o.get("type") == "Collection")
        summary.add(self.load_items((o for o in read_stac(paths) if o.get("type") != "Collection"), on_batch=on_batch))
        return summary

    def _load_batch(
        self, batch: Sequence[Mapping[str, Any]], *, refused: list[tuple[int, str]] | None = None
    ) -> LoadSummary:
        summary = LoadSummary()
        known = self._existing_collections({str(i.get("collection")) for i in batch})
        rows: list[dict[str, Any]] = []
        for index, item in enumerate(batch):
            problem = _item_problem(item, known)
            if problem is None:
                try:
                    content, private = split_private(item)
                    if private is not None:
                        content["private"] = private  # pypgstac's own way into the private column
                    rows.append(self._pypgstac.format_item(content))
                except Exception as exc:  # pypgstac raises bare Exceptions for bad datetimes/geometries
                    problem = _first_line(exc)
            if problem is not None:
                summary.failed += 1
                summary.errors.append(f"{item.get('id', '<item without id>')}: {problem}")
                if refused is not None:
                    refused.append((index, problem))
        if not rows:
            return summary
        try:
            written = self._write_rows(rows)
        except psycopg.Error as exc:
            # The transaction is rolled back: the partition bounds pypgstac cached may be wrong now.
            self._pypgstac._partition_cache = {}
            raise LoadError(f"the batch was rolled back: {_first_line(exc)}") from exc
        summary.loaded += written
        summary.unchanged += len(rows) - written
        if written:
            self._touched.update(str(row["collection"]) for row in rows)
        return summary

    def _existing_collections(self, ids: set[str]) -> set[str]:
        rows = self._conn.execute("SELECT id FROM collections WHERE id = ANY(%s)", (list(ids),)).fetchall()
        return {r[0] for r in rows}

    def _write_rows(self, rows: list[dict[str, Any]]) -> int:
        for row in rows:
            row["partition"] = self._pypgstac._partition_update(row)
        rows.sort(key=lambda r: str(r["partition"]))
        written = 0
        conn = self._conn
        with conn.transaction(), conn.cursor() as cur:
            for name, group in itertools.groupby(rows, key=lambda r: str(r["partition"])):
                partition = self._pypgstac._partition_cache[name]
                if partition.requires_update:
                    cur.execute(
                        "SELECT check_partition(%s, tstzrange(%s, %s, '[]'), tstzrange(%s, %s, '[]'))",
                        (
                            partition.collection,
                            partition.datetime_range_min,
                            partition.datetime_range_max,
                            partition.end_datetime_range_min,
                            partition.end_datetime_range_max,
                        ),
                    )
                written += self._write_partition(cur, name, list(group))
        for partition in self._pypgstac._partition_cache.values():
            partition.requires_update = False
        return written

    def _write_partition(self, cur: psycopg.Cursor[Any], partition: str, rows: list[dict[str, Any]]) -> int:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stac_bridge_ingest (LIKE items) ON COMMIT DELETE ROWS; "
            "TRUNCATE stac_bridge_ingest"
        )
        columns = "(id, collection, datetime, end_datetime, geometry, content, private)"
        with cur.copy(f"COPY stac_bridge_ingest {columns} FROM STDIN") as copy:
            for row in rows:
                copy.write_row((
                    row["id"], row["collection"], row["datetime"], row["end_datetime"],
                    row["geometry"], row["content"], row.get("private"),
                ))
        target = sql.Identifier(partition)
        if self.mode == "insert-ignore":
            query = sql.SQL("INSERT INTO {} SELECT * FROM stac_bridge_ingest ON CONFLICT DO NOTHING").format(target)
        else:
            query = sql.SQL(
                "INSERT INTO {} AS t SELECT * FROM stac_bridge_ingest ON CONFLICT (id) DO UPDATE SET "
                "datetime = EXCLUDED.datetime, end_datetime = EXCLUDED.end_datetime, "
                "geometry = EXCLUDED.geometry, collection = EXCLUDED.collection, content = EXCLUDED.content "
                "WHERE t IS DISTINCT FROM EXCLUDED"
            ).format(target)
        cur.execute(query)
        return max(cur.rowcount, 0)

    # -- reading back ------------------------------------------------------------------------------------

    def count_items(self, collection: str | None = None) -> int:
        """How many items pgstac holds (in one collection, or in all)."""
        if collection is None:
            row = self._conn.execute("SELECT count(*) FROM items").fetchone()
        else:
            row = self._conn.execute("SELECT count(*) FROM items WHERE collection = %s", (collection,)).fetchone()
        return int(row[0]) if row else 0


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


def _item_problem(item: Mapping[str, Any], known_collections: set[str]) -> str | None:
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
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
