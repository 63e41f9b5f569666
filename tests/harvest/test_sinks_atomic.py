"""The ndjson sink's atomic and append modes: what a failed, interrupted or resumed run leaves in the file."""

from __future__ import annotations

from pathlib import Path

from stac_bridge.harvest.sinks import NdjsonSink


def test_atomic_writes_beside_and_renames_on_commit(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text("old\n")
    sink = NdjsonSink(out, atomic=True)
    sink.open(None)
    sink.write([{"id": "a"}])
    assert out.read_text() == "old\n"
    assert sink.tell()["partial"] is True and sink.tell()["path"] == str(out.resolve())
    sink.commit()
    assert out.read_text() == '{"id":"a"}\n' and not sink.partial.exists()


def test_atomic_discard_keeps_the_earlier_file(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text("old\n")
    sink = NdjsonSink(out, atomic=True)
    sink.open(None)
    sink.write([{"id": "a"}])
    sink.discard()
    assert out.read_text() == "old\n" and not sink.partial.exists()


def test_atomic_resume_continues_the_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    first = NdjsonSink(out, atomic=True)
    first.open(None)
    first.write([{"id": "a"}])
    checkpoint = first.tell()
    first.write([{"id": "after-the-checkpoint"}])
    first.discard(keep_partial=True)  # killed
    again = NdjsonSink(out, atomic=True)
    again.open(checkpoint)
    again.write([{"id": "b"}])
    again.commit()
    assert out.read_text() == '{"id":"a"}\n{"id":"b"}\n'


def test_append_adds_to_the_end_and_discard_cuts_back(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text('{"type":"Collection","id":"c"}\n{"id":"x"}\n')
    sink = NdjsonSink(out, atomic=True, append=True)
    sink.open(None)
    # The unchanged collection is not written twice; a changed one is.
    sink.write([{"type": "Collection", "id": "c"}, {"id": "y"}])
    sink.write([{"type": "Collection", "id": "c", "title": "new"}])
    assert out.read_text().splitlines()[2:] == ['{"id":"y"}', '{"type":"Collection","id":"c","title":"new"}']
    sink.discard()
    assert out.read_text() == '{"type":"Collection","id":"c"}\n{"id":"x"}\n'


def test_append_resume_truncates_to_the_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text('{"id":"x"}\n')
    sink = NdjsonSink(out, append=True)
    sink.open(None)
    sink.write([{"id": "y"}])
    checkpoint = sink.tell()
    assert checkpoint["base"] == len('{"id":"x"}\n') and "partial" not in checkpoint
    sink.write([{"id": "z"}])
    sink.close()
    again = NdjsonSink(out, append=True)
    again.open(checkpoint)
    again.write([{"id": "w"}])
    again.commit()
    assert out.read_text() == '{"id":"x"}\n{"id":"y"}\n{"id":"w"}\n'


def test_default_mode_is_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "f.ndjson"
    out.write_text("old\n")
    sink = NdjsonSink(out)
    sink.open(None)
    sink.write([{"id": "a"}])
    sink.close()
    assert out.read_text() == '{"id":"a"}\n' and not sink.partial.exists()
