"""Sinks that write records as newline-delimited JSON: a file (resumable) or a stream such as stdout.

The pgstac loader (``stac_bridge.pgstac.loader.PgstacLoader``) is the other sink; the CLI passes it in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

import orjson

from stac_bridge.errors import ConfigError

_ORJSON: Final = orjson.OPT_NON_STR_KEYS

__all__ = ["NdjsonSink", "StreamSink", "ndjson_bytes"]


def ndjson_bytes(batch: Sequence[Mapping[str, Any]]) -> bytes:
    """A batch as ndjson: one compact JSON object per line, UTF-8 (orjson: about ten times json's speed)."""
    return b"".join(orjson.dumps(record, default=str, option=_ORJSON) + b"\n" for record in batch)


class NdjsonSink:
    """An ndjson file, resumable: the checkpoint holds its length, and a resume truncates it back to that.

    By default the file is written in place. ``atomic`` and ``append`` are what the command line uses, so that
    a run that fails never costs the user an earlier file: the caller ends a run with :meth:`commit` when it
    succeeded and :meth:`discard` when it did not (the engine only closes its sinks).

    Args:
        path: The file; created, or emptied when a harvest starts afresh (unless ``append``).
        fsync: Sync each batch to disk before :meth:`write` returns (what makes a checkpoint after it safe
            against a power cut; a killed process needs only the flush).
        create_empty: Create the file even when nothing is written (``False`` for dead letters: a stale
            file of an earlier run is then removed, and a new one appears only with the first record).
        atomic: Write a ``<name>.partial`` file beside ``path`` (a resumed run continues it), renamed over
            ``path`` by :meth:`commit`; ``path`` itself is untouched until then.
        append: Add to the end of an existing ``path`` (an incremental harvest): :meth:`discard` cuts it back
            to its length before the run.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: bool = True,
        create_empty: bool = True,
        atomic: bool = False,
        append: bool = False,
    ) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._fsync = fsync
        self._create_empty = create_empty
        self._atomic = atomic and not append
        self._append = append
        self._base: int | None = None  # the length of an appended-to file before this run
        self._collections: set[bytes] = set()  # the collection lines an appended-to file holds already
        self._handle: IO[bytes] | None = None

    @property
    def _target(self) -> Path:
        """The file actually written: the partial file when atomic."""
        return self.partial if self._atomic else self.path

    def open(self, state: Mapping[str, Any] | None) -> None:
        """Start an empty file (``state`` ``None``) or truncate the file to a checkpointed length.

        Raises:
            ConfigError: the checkpoint is of another file, or the file is shorter than the checkpoint says.
        """
        self.close()
        if state is None:
            if self._append and self.path.exists():
                handle = self.path.open("r+b")
                # A source sends its collections again on every run: an unchanged one is not written twice.
                self._collections = {line.rstrip(b"\n") for line in handle if b'"Collection"' in line}
                self._base = handle.seek(0, os.SEEK_END)
                self._handle = handle
            elif self._create_empty:
                self._start()
            else:
                self.path.unlink(missing_ok=True)
            return
        offset = int(state["offset"])
        if Path(state["path"]).resolve() != self.path.resolve():
            raise ConfigError(f"the checkpoint is of {state['path']}, not {self.path}: use the same file")
        # The checkpoint says which file the run was writing: the partial one, or the file itself.
        self._atomic = bool(state.get("partial"))
        self._base = state.get("base")
        target = self._target
        if offset == 0 and not target.exists():
            return
        try:
            handle = target.open("r+b")
        except FileNotFoundError as exc:
            raise ConfigError(f"{target} is gone: it cannot be resumed") from exc
        if os.fstat(handle.fileno()).st_size < offset:
            handle.close()
            raise ConfigError(f"{target} is shorter than its checkpoint ({offset} bytes): cannot resume")
        handle.truncate(offset)
        handle.seek(offset)
        self._handle = handle

    def tell(self) -> dict[str, Any]:
        """The file and its length after the last write."""
        offset = self._handle.tell() if self._handle is not None else (self._base or 0)
        state: dict[str, Any] = {"path": str(self.path.resolve()), "offset": offset}
        if self._atomic:
            state["partial"] = True
        if self._base is not None:
            state["base"] = self._base
        return state

    def write(self, batch: Sequence[Mapping[str, Any]]) -> None:
        """Append a batch, flushed (and synced, unless disabled) when this returns."""
        handle = self._open()
        data = ndjson_bytes(batch)
        if self._collections:
            data = b"".join(line + b"\n" for line in data.splitlines() if line not in self._collections)
        handle.write(data)
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def commit(self) -> None:
        """The run succeeded: an atomic sink's partial file replaces the file (a no-op otherwise)."""
        self.close()
        if self._atomic and self.partial.exists():
            os.replace(self.partial, self.path)

    def discard(self, *, keep_partial: bool = False) -> None:
        """The run failed: drop what it wrote, so the file is as it was before the run.

        Args:
            keep_partial: Keep an atomic sink's partial file, for a resume to continue.
        """
        self.close()
        if self._atomic and not keep_partial:
            self.partial.unlink(missing_ok=True)
        elif self._base is not None and not keep_partial and self.path.exists():
            with self.path.open("r+b") as handle:
                handle.truncate(self._base)

    def _open(self) -> IO[bytes]:
        return self._handle if self._handle is not None else self._start()

    def _start(self) -> IO[bytes]:
        target = self._target
        target.parent.mkdir(parents=True, exist_ok=True)
        self._handle = target.open("wb")
        return self._handle


class StreamSink:
    """ndjson to an open binary stream (``sys.stdout.buffer`` for ``--out -``); not resumable, and not closed.

    Args:
        stream: Where to write; flushed after each batch.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def write(self, batch: Sequence[Mapping[str, Any]]) -> None:
        """Write a batch and flush."""
        self._stream.write(ndjson_bytes(batch))
        self._stream.flush()

    def close(self) -> None:
        """Flush (the stream belongs to the caller)."""
        self._stream.flush()
