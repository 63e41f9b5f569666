"""The one reader of JSON and ndjson files: saved provider records (``convert``, ``export``) and STAC (``load``).

A file holds one JSON document or ndjson (one document a line); a document is one object, an array of them,
or a page envelope (a FeatureCollection's ``features``; a ``data`` array, as Sentinel Hub and Descartes Labs
send their pages). A file is ndjson when it is named ``*.ndjson`` or ``*.jsonl``, or when its first line is a
whole JSON document; otherwise it is read whole. ndjson is streamed, so files of any length are read in
bounded memory. A directory is searched recursively for ``*.json``, ``*.ndjson`` and ``*.jsonl``; ``-`` is
stdin. Objects come in order.

What holds no object (a file or line that is not JSON, an array of numbers) comes as an :class:`Unreadable`
naming the file and the line, so that each caller decides whether it stops the run or is counted and skipped.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import orjson

__all__ = ["SUFFIXES", "Unreadable", "files", "read_json_lines", "read_json_objects"]

#: The files a directory is searched for.
SUFFIXES: Final = (".json", ".ndjson", ".jsonl")
_NDJSON: Final = (".ndjson", ".jsonl")


@dataclass(frozen=True)
class Unreadable:
    """A file or an ndjson line that holds no JSON object.

    Attributes:
        where: The file, or ``<file>:<line>``.
        reason: Why (``"is not JSON: ..."``), or the error opening the file.
        fatal: The file itself cannot be opened (nothing of it is read).
    """

    where: str
    reason: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"cannot read {self.where}: {self.reason}" if self.fatal else f"{self.where} {self.reason}"


def files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files that :func:`read_json_objects` reads, in its order: directories searched for :data:`SUFFIXES`."""
    for raw in paths:
        path = Path(raw)
        if str(raw) != "-" and path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
        else:
            yield path


def read_json_objects(
    paths: Iterable[str | Path], *, lines: Callable[[bytes], bool] | None = None
) -> Iterator[dict[str, Any] | Unreadable]:
    """Every JSON object in files and directories (``-`` for stdin), in order, and what could not be read.

    Args:
        paths: Files and directories.
        lines: Of ndjson, only the lines (bytes) this accepts are parsed: a cheap prefilter (the loader's pass
            for collections parses only the lines that say ``"Collection"``).
    """
    for entry, _ in read_json_lines(paths, lines=lines):
        yield entry


def read_json_lines(
    paths: Iterable[str | Path], *, lines: Callable[[bytes], bool] | None = None
) -> Iterator[tuple[dict[str, Any] | Unreadable, bytes | None]]:
    """:func:`read_json_objects`, each object with the text it was read from when that is a whole line.

    Yields:
        ``(object, line)``: the ndjson line (or one-line file) that is the object, without its surrounding
        whitespace; ``None`` for an object read from a larger document (an array, a page envelope, a
        pretty-printed file) and for what could not be read.
    """
    accept = lines or _any
    for path in files(paths):
        name = str(path)
        try:
            opened = _open(name)
        except OSError as exc:
            yield Unreadable(name, str(exc), fatal=True), None
            continue
        with opened as handle:
            yield from _file(name, handle, path.suffix in _NDJSON, accept)


def _any(line: bytes) -> bool:
    return True


def _open(name: str) -> AbstractContextManager[IO[bytes]]:
    if name == "-":
        binary = getattr(sys.stdin, "buffer", None)  # a text stream stood in for stdin has none: read it whole
        return contextlib.nullcontext(binary if binary is not None else io.BytesIO(sys.stdin.read().encode()))
    return open(name, "rb")  # noqa: SIM115 - the caller's with closes it


def _file(name: str, handle: IO[bytes], ndjson: bool,
          accept: Callable[[bytes], bool]) -> Iterator[tuple[dict[str, Any] | Unreadable, bytes | None]]:
    """One file's objects, parsed as bytes by orjson (UTF-8, as JSON is), each with its line when it is one."""
    first = handle.readline()
    number = 1
    while first and first.isspace():
        first = handle.readline()
        number += 1
    if not ndjson:
        try:
            document = orjson.loads(first) if first.strip() else None
        except ValueError:
            # Not a whole document on its first line: one (pretty-printed) JSON document.
            yield from _document(name, first + handle.read(), line=False)
            return
        if document is not None and accept(first):
            yield from _lined(f"{name}:{number}", document, first)
    elif first.strip() and accept(first):
        yield from _document(f"{name}:{number}", first)
    for at, line in enumerate(handle, start=number + 1):
        if not line.isspace() and accept(line):
            yield from _document(f"{name}:{at}", line)


def _document(where: str, text: bytes, *, line: bool = True
              ) -> Iterator[tuple[dict[str, Any] | Unreadable, bytes | None]]:
    """The objects of ``text``; ``line``: it is one line of its file."""
    try:
        document = orjson.loads(text)
    except ValueError as exc:
        yield Unreadable(where, f"is not JSON: {exc}"), None
        return
    yield from _lined(where, document, text if line else None)


def _lined(where: str, document: Any,
           line: bytes | None) -> Iterator[tuple[dict[str, Any] | Unreadable, bytes | None]]:
    """The objects of ``document``, each with ``line`` when it is the line's whole document, else with ``None``."""
    for entry in _objects(where, document):
        yield entry, (line.strip() if line is not None and entry is document else None)


def _objects(where: str, document: Any) -> Iterator[dict[str, Any] | Unreadable]:
    if isinstance(document, list):
        for entry in document:
            yield from _objects(where, entry)
    elif isinstance(document, dict):
        envelope = document.get("features") if document.get("type") == "FeatureCollection" else document.get("data")
        if isinstance(envelope, list):
            yield from _objects(where, envelope)
        else:
            yield document
    else:
        yield Unreadable(where, f"holds {type(document).__name__}, not a JSON object: {json.dumps(document)[:80]}")
