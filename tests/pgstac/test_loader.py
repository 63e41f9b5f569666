"""The loader on the real pgstac database: idempotence, modes, error cases, input forms."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from stac_bridge.cli import main
from stac_bridge.errors import LoadError
from stac_bridge.pgstac.loader import PgstacLoader, read_stac
from tests.pgstac.conftest import DEMO, demo_collection, demo_items

pytestmark = pytest.mark.db



@pytest.fixture()
def loader(fresh_dsn: str) -> Iterator[PgstacLoader]:
    with PgstacLoader(fresh_dsn, batch_size=10) as instance:
        yield instance


def test_demo_catalog_is_valid(assert_valid: Any) -> None:
    for stac in read_stac([DEMO]):
        assert_valid(stac)


def test_loading_twice_changes_nothing(loader: PgstacLoader, fresh_dsn: str) -> None:
    first = loader.load_paths([DEMO])
    assert (first.loaded, first.unchanged, first.failed) == (49, 0, 0)
    with psycopg.connect(fresh_dsn) as conn:
        before = conn.execute("SELECT id, content, geometry FROM pgstac.items ORDER BY id").fetchall()
        xmin_before = conn.execute("SELECT sum(xmin::text::bigint) FROM pgstac.items").fetchone()
    second = loader.load_paths([DEMO])
    assert (second.loaded, second.unchanged, second.failed) == (0, 49, 0)
    with psycopg.connect(fresh_dsn) as conn:
        assert conn.execute("SELECT id, content, geometry FROM pgstac.items ORDER BY id").fetchall() == before
        # Not even rewritten: the row versions are the same.
        assert conn.execute("SELECT sum(xmin::text::bigint) FROM pgstac.items").fetchone() == xmin_before


def test_upsert_replaces_a_changed_item_only(loader: PgstacLoader) -> None:
    loader.load_collections([demo_collection()])
    items = demo_items()
    loader.load_items(items)
    changed = copy.deepcopy(items[3])
    changed["properties"]["eo:cloud_cover"] = 99
    summary = loader.load_items([items[2], changed])
    assert (summary.loaded, summary.unchanged) == (1, 1)
    stored = loader._conn.execute("SELECT pgstac.get_item(%s)", (changed["id"],)).fetchone()
    assert stored is not None and stored[0]["properties"]["eo:cloud_cover"] == 99


def test_a_line_read_is_the_same_item_as_the_dict_orjson_writes_it_from(loader: PgstacLoader,
                                                                        tmp_path: Path) -> None:
    """The digest of an item read from a line is taken of the line: a harvest's ndjson (orjson's lines) and its
    items as dicts are one item; the same item written otherwise is written once more, the same content."""
    loader.load_collections([demo_collection()])
    items = demo_items()[:5]
    harvested = tmp_path / "harvested.ndjson"
    harvested.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in items))
    assert loader.load_paths([harvested]).loaded == 5
    assert (loader.load_items(items).unchanged, loader.load_paths([harvested]).unchanged) == (5, 5)
    before = loader._conn.execute("SELECT id, content FROM pgstac.items ORDER BY id").fetchall()
    spaced = tmp_path / "spaced.ndjson"
    spaced.write_text("".join(json.dumps(item, indent=None) + "\n" for item in items))
    assert loader.load_paths([spaced]).loaded == 5
    assert loader.load_paths([spaced]).unchanged == 5
    assert loader._conn.execute("SELECT id, content FROM pgstac.items ORDER BY id").fetchall() == before


def test_insert_ignore_leaves_existing_items(fresh_dsn: str) -> None:
    with PgstacLoader(fresh_dsn) as loader:
        loader.load_paths([DEMO])
    items = demo_items()
    changed = copy.deepcopy(items[0])
    changed["properties"]["eo:cloud_cover"] = 99
    with PgstacLoader(fresh_dsn, mode="insert-ignore") as loader:
        summary = loader.load_items([changed])
        assert (summary.loaded, summary.unchanged) == (0, 1)
        stored = loader._conn.execute(
            "SELECT content->'properties'->'eo:cloud_cover' FROM items WHERE id = %s", (changed["id"],)
        ).fetchone()
    assert stored == (items[0]["properties"]["eo:cloud_cover"],)


def test_unknown_collection_is_named_and_the_rest_loads(loader: PgstacLoader) -> None:
    loader.load_collections([demo_collection()])
    orphan = dict(demo_items()[0], id="orphan", collection="no-such-collection")
    summary = loader.load_items([orphan, *demo_items()[:5]])
    assert (summary.loaded, summary.failed) == (5, 1)
    assert "no-such-collection" in summary.errors[0] and summary.errors[0].startswith("orphan")


def test_sink_write_loads_the_batch_and_names_the_items_pgstac_cannot_hold(loader: PgstacLoader) -> None:
    loader.load_collections([demo_collection()])
    orphan = dict(demo_items()[0], id="orphan", collection="no-such-collection")
    footless = dict(demo_items()[1], id="footless", geometry=None)
    refused = loader.write([*demo_items()[:5], orphan, footless])
    assert [index for index, _ in refused] == [5, 6]
    assert "no-such-collection" in refused[0][1] and "'geometry' is null" in refused[1][1]
    assert loader.count_items() == 5


def test_an_item_the_database_refuses_fails_alone_and_loads_once_the_cause_is_gone(
    loader: PgstacLoader, fresh_dsn: str
) -> None:
    loader.load_collections([demo_collection()])
    items = demo_items()[:6]
    # A trigger that fails on the sixth row: the five before it load, the sixth is named.
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION pgstac.fail_on_005() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.id = 'demo-005' THEN RAISE EXCEPTION 'refused %', NEW.id; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER fail_on_005 BEFORE INSERT ON pgstac.items "
            "FOR EACH ROW EXECUTE FUNCTION pgstac.fail_on_005()"
        )
    summary = loader.load_items(items)
    assert (summary.loaded, summary.failed) == (5, 1) and summary.errors[0].startswith("demo-005")
    assert loader.count_items() == 5
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute("DROP TRIGGER fail_on_005 ON pgstac.items")
    again = loader.load_items(items)
    assert (again.loaded, again.unchanged) == (1, 5)


def test_items_without_datetime_or_id_fail_with_reasons(loader: PgstacLoader) -> None:
    loader.load_collections([demo_collection()])
    no_dt = copy.deepcopy(demo_items()[0])
    no_dt["properties"]["datetime"] = None
    no_id = copy.deepcopy(demo_items()[1])
    del no_id["id"]
    summary = loader.load_items([no_dt, no_id])
    assert summary.failed == 2
    assert "datetime" in summary.errors[0] and "'id' is missing" in summary.errors[1]


def test_collection_update_and_unchanged(loader: PgstacLoader) -> None:
    collection = demo_collection()
    assert loader.load_collections([collection]).loaded == 1
    assert loader.load_collections([collection]).unchanged == 1
    collection["title"] = "Renamed"
    assert loader.load_collections([collection]).loaded == 1


def test_reads_json_lists_feature_collections_ndjson_and_directories(tmp_path: Path) -> None:
    items = demo_items()[:3]
    (tmp_path / "list.json").write_text(json.dumps(items))
    (tmp_path / "fc.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    (tmp_path / "one.json").write_text(json.dumps(items[0], indent=2))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lines.ndjson").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    assert len(list(read_stac([tmp_path / "list.json"]))) == 3
    assert len(list(read_stac([tmp_path / "fc.json"]))) == 3
    assert len(list(read_stac([tmp_path / "one.json"]))) == 1
    assert len(list(read_stac([tmp_path]))) == 10


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"type": "Feature"}\n{"type": \n')
    with pytest.raises(LoadError, match=r"bad.ndjson:2"):
        list(read_stac([bad]))


def test_cli_load_summary_and_exit_codes(
    fresh_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    assert main(["load", str(DEMO)]) == 0
    assert capsys.readouterr().out.strip() == "49 loaded, 0 unchanged, 0 failed"
    assert main(["load", str(DEMO)]) == 0
    assert capsys.readouterr().out.strip() == "0 loaded, 49 unchanged, 0 failed"
    orphan = tmp_path / "orphan.json"
    orphan.write_text(json.dumps(dict(demo_items()[0], id="orphan", collection="elsewhere")))
    assert main(["load", str(orphan)]) == 1
    out, err = capsys.readouterr()
    assert "elsewhere" in err and out.strip() == "0 loaded, 0 unchanged, 1 failed"
