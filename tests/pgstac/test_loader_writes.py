"""How the loader writes: straight into ``items`` when nothing is stored, staged otherwise, partitions made once."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import psycopg
import pytest

from stac_bridge.pgstac.loader import PgstacLoader, _last_instant, _spans
from stac_bridge.pgstac.rows import instant
from tests.pgstac.conftest import demo_collection, demo_items

pytestmark = pytest.mark.db

UTC = dt.UTC


@pytest.fixture()
def loader(demo_loader: PgstacLoader) -> PgstacLoader:
    return demo_loader


def stored(dsn: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET search_path TO pgstac, public")
        return conn.execute(query).fetchall()


def test_items_another_writer_stored_since_the_lookup_are_written_the_staged_way(
    loader: PgstacLoader, fresh_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = demo_items()[:6]
    assert loader.load_items(items[:3]).loaded == 3
    changed = copy.deepcopy(items[0])
    changed["properties"]["title"] = "changed meanwhile"
    # The lookup finds nothing (as if the three were stored by another writer after it): the batch is copied
    # straight into items, the database refuses the duplicates, and the staged write sorts them out.
    monkeypatch.setattr(PgstacLoader, "_stored_digests", lambda self, keys: {})
    summary = loader.load_items([changed, *items[1:]])
    # All six written (the two the lookup missed are rewritten: a stored row of another writer is not trusted).
    assert (summary.loaded, summary.unchanged, summary.failed) == (6, 0, 0)
    titles = dict(stored(fresh_dsn, "SELECT id, content->'properties'->>'title' FROM items"))
    assert len(titles) == 6 and titles[changed["id"]] == "changed meanwhile"


def test_a_fresh_load_compresses_the_content_with_lz4_where_the_server_has_it(
    loader: PgstacLoader, fresh_dsn: str
) -> None:
    big = copy.deepcopy(demo_items()[0])
    big["properties"]["stac_bridge:padding"] = ["a fairly long value to make the content TOASTed"] * 200
    loader.load_items([big])
    [(method, has_lz4)] = stored(
        fresh_dsn,
        "SELECT pg_column_compression(content), 'lz4' = ANY(enumvals) FROM items, pg_settings "
        "WHERE name = 'default_toast_compression'",
    )
    assert method == ("lz4" if has_lz4 else "pglz")


def test_items_given_by_a_caller_are_left_as_they_were(loader: PgstacLoader) -> None:
    items = demo_items()[:3]
    before = copy.deepcopy(items)
    loader.load_items(items)
    assert items == before


def test_a_collection_partitioned_by_month_gets_one_partition_per_month_and_finds_its_items(
    fresh_dsn: str,
) -> None:
    collection = demo_collection()
    items = []
    for index, when in enumerate(["2023-01-31T23:30:00Z", "2023-02-01T00:30:00+01:00", "2023-02-15T12:00:00Z",
                                  "2023-03-01T00:00:00Z"]):
        item = copy.deepcopy(demo_items()[0])
        item["id"] = f"monthly-{index}"
        item["properties"]["datetime"] = when
        items.append(item)
    with PgstacLoader(fresh_dsn, batch_size=2) as instance:
        instance.load_collections([collection])
        with psycopg.connect(fresh_dsn, autocommit=True) as conn:
            conn.execute("UPDATE pgstac.collections SET partition_trunc = 'month' WHERE id = %s",
                         (collection["id"],))
        instance.load_collections([])  # forget the collection's partitioning
        instance._bases.clear()
        summary = instance.load_items(items)
    assert (summary.loaded, summary.failed) == (4, 0), summary.errors
    partitions = stored(fresh_dsn, "SELECT partition, lower(partition_dtrange) FROM partition_stats "
                                   "ORDER BY 2")
    assert [p[1] for p in partitions] == [dt.datetime(2023, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    # 2023-02-01T00:30+01:00 is in January, in UTC
    assert [r[0] for r in stored(fresh_dsn, "SELECT id FROM items WHERE datetime < '2023-02-01Z' ORDER BY 1")] \
        == ["monthly-0", "monthly-1"]


def test_partition_ranges_are_rounded_out_to_whole_utc_months_or_years() -> None:
    rows = [{"collection": "c", "datetime": "2023-05-10T10:00:00+02:00", "end_datetime": "2023-07-02T00:00:00Z"},
            {"collection": "c", "datetime": "2023-06-01T00:00:00Z", "end_datetime": "2023-06-01T00:00:00Z"},
            {"collection": "y", "partition_trunc": "year", "datetime": "2024-12-31T23:59:59Z",
             "end_datetime": "2025-01-05T00:00:00Z"}]
    for row in rows:  # as format_rows makes them
        row["datetime"], row["end_datetime"] = instant(row["datetime"]), instant(row["end_datetime"])
    spans = _spans(rows)
    first = dt.datetime(2023, 5, 1, tzinfo=UTC)
    assert spans[("c", None)] == (first, _last_instant(dt.datetime(2023, 6, 1, tzinfo=UTC), "month"),
                                  dt.datetime(2023, 6, 1, tzinfo=UTC),
                                  dt.datetime(2023, 7, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert spans[("y", dt.datetime(2024, 1, 1, tzinfo=UTC))] == (
        dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert _last_instant(dt.datetime(9999, 12, 5, tzinfo=UTC), "month") == dt.datetime.max.replace(tzinfo=UTC)


def test_later_batches_within_the_rounded_ranges_call_check_partition_no_more(
    loader: PgstacLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    original = psycopg.Cursor.execute

    def counting(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, str) and "check_partition" in query:
            calls.append(args)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    items = demo_items()  # one every five days from 2024-01-01
    loader.load_items(items[0:3])
    loader.load_items(items[3:6])  # the rest of January: within the range made sure of
    assert len(calls) == 1
    loader.load_items(items[6:8])  # 2024-01-31 and 2024-02-05: one widening
    assert len(calls) == 2


def test_the_rows_written_are_the_rows_pypgstac_writes(fresh_dsn: str) -> None:
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods

    items = demo_items()
    items[1]["properties"].update(start_datetime="2024-01-06T10:30:00.1234567+02:00",
                                  end_datetime="2024-01-07T00:00:00Z")
    items[2]["geometry"] = {"type": "MultiPolygon", "coordinates": [[[[5, 44, 1], [6, 44, 1], [6, 45, 2],
                                                                      [5, 44, 1]]]]}
    items[3]["geometry"] = {"type": "GeometryCollection",
                            "geometries": [{"type": "Point", "coordinates": [5.5, 44.5]}]}
    columns = ("SELECT id, datetime, end_datetime, encode(ST_AsEWKB(geometry), 'hex'), content FROM items "
               "ORDER BY id")
    with PgstacLoader(fresh_dsn) as instance:
        instance.load_collections([demo_collection()])
        assert instance.load_items(copy.deepcopy(items)).loaded == len(items)
    ours = stored(fresh_dsn, columns)
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM pgstac.items")
    with PgstacDB(dsn=fresh_dsn) as db:
        Loader(db).load_items(iter(copy.deepcopy(items)), insert_mode=Methods.insert)
    theirs = stored(fresh_dsn, columns)
    assert ours == theirs
