"""The one JSON/ndjson reader of saved records and STAC files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stac_bridge.jsonfiles import Unreadable, read_json_lines, read_json_objects


def test_envelopes_ndjson_and_pretty_json(tmp_path: Path) -> None:
    (tmp_path / "page.json").write_text(json.dumps({"data": [{"id": "a"}, {"id": "b"}], "links": {}}, indent=2))
    (tmp_path / "fc.json").write_text(json.dumps({"type": "FeatureCollection", "features": [{"id": "c"}]}))
    (tmp_path / "lines.jsonl").write_text('\n{"id": "d"}\n\n[{"id": "e"}]\n')
    ids = [o["id"] for o in read_json_objects([tmp_path]) if isinstance(o, dict)]
    assert ids == ["c", "d", "e", "a", "b"]


def test_a_broken_ndjson_line_is_one_unreadable_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text('{"type": \n{"id": "ok"}\n7\n')
    entries = list(read_json_objects([path]))
    assert isinstance(entries[0], Unreadable) and entries[0].where == f"{path}:1"
    assert entries[1] == {"id": "ok"}
    assert isinstance(entries[2], Unreadable) and str(entries[2]).startswith(f"{path}:3 holds int")


def test_a_missing_file_is_fatal(tmp_path: Path) -> None:
    (entry,) = read_json_objects([tmp_path / "missing.json"])
    assert isinstance(entry, Unreadable) and entry.fatal
    assert str(entry).startswith(f"cannot read {tmp_path / 'missing.json'}: ")


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": "x"}\n{"id": "y"}\n'))
    assert list(read_json_objects(["-"])) == [{"id": "x"}, {"id": "y"}]


def test_objects_come_with_their_line_when_they_are_one(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_bytes(b' {"id": "d"} \n[{"id": "e"}]\n{"data": [{"id": "f"}]}\nnot json\n')
    (tmp_path / "b.json").write_text(json.dumps({"id": "g"}, indent=2))
    (tmp_path / "c.json").write_text('{"id": "h"}')
    found = [(o["id"] if isinstance(o, dict) else "?", line) for o, line in read_json_lines(sorted(tmp_path.iterdir()))]
    assert found == [("d", b'{"id": "d"}'), ("e", None), ("f", None), ("?", None), ("g", None), ("h", b'{"id": "h"}')]
