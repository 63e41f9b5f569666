"""Bad records fail one by one, on the real pgstac database: a refused batch is split until they are found."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stac_bridge.cli import main
from stac_bridge.pgstac.loader import LoadInterrupted, PgstacLoader
from tests.pgstac.conftest import demo_collection, demo_items

pytestmark = pytest.mark.db



@pytest.fixture()
def loader(demo_loader: PgstacLoader) -> PgstacLoader:
    return demo_loader


def refuse_in_database(dsn: str, item_id: str, *, action: str = "RAISE EXCEPTION 'refused %', NEW.id") -> None:
    """A trigger standing for whatever the database refuses that no check here foresees."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION pgstac.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.id = '{item_id}' THEN {action}; END IF; RETURN NEW; END $$"
        )
        conn.execute("CREATE TRIGGER refuse_one BEFORE INSERT ON pgstac.items "
                     "FOR EACH ROW EXECUTE FUNCTION pgstac.refuse_one()")


def with_datetime(item: dict[str, Any], item_id: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(item)
    changed["id"] = item_id
    changed["properties"]["datetime"] = value
    return changed


def test_a_batch_the_database_refuses_is_split_until_the_bad_item_is_found(
    loader: PgstacLoader, fresh_dsn: str
) -> None:
    refuse_in_database(fresh_dsn, "demo-005")
    summary = loader.load_items(demo_items()[:10])
    assert (summary.loaded, summary.failed) == (9, 1)
    assert summary.errors[0].startswith("demo-005: the database refused it") and "refused demo-005" in summary.errors[0]
    assert loader.count_items() == 9


def test_the_sink_names_each_item_the_database_refuses_and_loads_the_others(
    loader: PgstacLoader, fresh_dsn: str
) -> None:
    refuse_in_database(fresh_dsn, "demo-003")
    batch = demo_items()[:8]
    batch[6] = dict(batch[6], geometry=None)
    refused = loader.write(batch)
    assert [index for index, _ in refused] == [3, 6]
    assert loader.count_items() == 6


@pytest.mark.parametrize("value", ["2024-13-01T00:00:00Z", "0000-06-01T00:00:00Z", "not-a-date", 1717200000,
                                   "2024-06-01T00:00:00"])
def test_a_bad_datetime_fails_its_item_only(loader: PgstacLoader, value: Any) -> None:
    items = demo_items()[:5]
    items[2] = with_datetime(items[2], "bad-datetime", value)
    summary = loader.load_items(items)
    assert (summary.loaded, summary.failed) == (4, 1)
    assert summary.errors[0].startswith("bad-datetime: 'datetime'")


def test_duplicates_in_one_batch_keep_the_last(loader: PgstacLoader) -> None:
    first, second = demo_items()[:2]
    older = copy.deepcopy(first)
    older["properties"]["eo:cloud_cover"] = 1
    newer = copy.deepcopy(first)
    newer["properties"]["eo:cloud_cover"] = 77
    summary = loader.load_items([older, second, newer])
    assert (summary.loaded, summary.failed, summary.replaced) == (2, 0, 1)
    stored = loader._conn.execute(
        "SELECT content->'properties'->'eo:cloud_cover' FROM items WHERE id = %s", (first["id"],)).fetchone()
    assert stored == (77,)


def test_a_mixed_file_loads_every_good_record_and_names_every_bad_one(
    fresh_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    items = demo_items()[:12]
    refuse_in_database(fresh_dsn, items[9]["id"])
    lines = [json.dumps(i) for i in items]
    lines[1] = json.dumps(with_datetime(items[1], "month-13", "2024-13-01T00:00:00Z"))
    lines[3] = json.dumps(with_datetime(items[3], "numeric", 5))
    lines[5] = '{"type": "Feature", "id": "cut-short'
    lines[7] = '"a string"'
    lines.append(json.dumps(dict(items[0], properties=dict(items[0]["properties"], title="last"))))  # duplicate
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join(lines) + "\n")
    (tmp_path / "collection.json").write_text(json.dumps(demo_collection()))
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    assert main(["load", "--batch-size", "20", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    # 1 collection + 12 item lines + 1 duplicate: 8 items load (the duplicate replaces the first), 5 fail.
    assert out.strip().splitlines()[-1] == "8 loaded, 0 unchanged, 5 failed, 1 replaced by a later duplicate"
    for named in ("month-13", "numeric", f"{path}:6", f"{path}:8", items[9]["id"]):
        assert f"failed: {named}:" in err, named
    with psycopg.connect(fresh_dsn) as conn:
        titles = conn.execute("SELECT content->'properties'->>'title' FROM pgstac.items WHERE id = %s",
                              (items[0]["id"],)).fetchall()
        count = conn.execute("SELECT count(*) FROM pgstac.items").fetchone()
    assert titles == [("last",)] and count == (7,)


def test_the_summary_survives_the_database_going_away(loader: PgstacLoader, fresh_dsn: str) -> None:
    items = demo_items()[:25]
    refuse_in_database(fresh_dsn, items[22]["id"], action="PERFORM pg_terminate_backend(pg_backend_pid())")
    with pytest.raises(LoadInterrupted) as caught:
        loader.load_items(items)
    assert (caught.value.summary.loaded, caught.value.summary.failed) == (20, 0)


def test_load_prints_the_summary_when_the_database_goes_away(
    fresh_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    items = demo_items()[:25]
    (tmp_path / "collection.json").write_text(json.dumps(demo_collection()))
    (tmp_path / "items.ndjson").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    refuse_in_database(fresh_dsn, items[22]["id"], action="PERFORM pg_terminate_backend(pg_backend_pid())")
    monkeypatch.setenv("STAC_BRIDGE_DATABASE_URL", fresh_dsn)
    assert main(["load", "--batch-size", "10", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == "21 loaded, 0 unchanged, 0 failed"  # the collection and two batches
    assert "the database failed" in err
