"""The harvest engine: pages from a source, through a transform, into sinks; checkpointed and resumable.

A harvest is three things, all given to :func:`run_harvest`:

* a :class:`Source`, the protocol client of one provider: it says where the first page is, fetches one page
  at a position (a JSON value: a URL, a token, a request body, an offset), and, where the protocol allows it,
  where the page after a position is without fetching it (offset and ``startIndex`` paging);
* a transform, by default the provider's adapter (:func:`adapter_transform`);
* one or more :class:`Sink` objects (an ndjson file, the pgstac loader), and a sink for dead letters.

Memory stays bounded whatever the size of the catalog: a background thread fetches pages ahead of the one
being transformed and loaded (up to ``concurrency`` pages, several at once when the source allows random
access), records are handed to the sinks in batches of about ``batch_size``, and nothing else is kept.

After each batch is durable in every sink, a checkpoint (source, query, position of the next page, counts,
and the sinks' own positions) is written atomically to a :class:`HarvestState` file. A harvest killed at any
moment, even by SIGKILL, resumes from there: resumable sinks (:class:`ResumableSink`, e.g. the ndjson file)
are rewound to their checkpointed state, so what was written after the checkpoint is written once again, not
twice; idempotent sinks (the pgstac loader upserts) simply receive the batch again.

When a run completes, the time it started becomes the query's high-water mark, and the next run of the same
query asks the source only for what changed since then (unless told otherwise).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
import logging
import os
import pickle
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

from stac_bridge.errors import ConfigError, HarvestError, LoadError
from stac_bridge.registry import Adapter, ProviderRecord, get_adapter
from stac_bridge.transforms._plain import format_datetime, parse_datetime

__all__ = [
    "LAST_RUN",
    "CollectionSink",
    "CollectionSource",
    "HarvestState",
    "HarvestSummary",
    "LoadResult",
    "Page",
    "Progress",
    "Raw",
    "ResumableSink",
    "Sink",
    "Source",
    "Transform",
    "adapter_transform",
    "export_transform",
    "run_harvest",
]

log = logging.getLogger(__name__)

#: A raw provider record: the JSON object as the API sent it, or a :class:`ProviderRecord` with context.
Raw = Mapping[str, Any] | ProviderRecord
#: Turns one raw record into the dict the sinks receive (or several, e.g. the client calls of an export);
#: raises on a record it cannot translate.
Transform = Callable[[Raw], dict[str, Any] | list[dict[str, Any]]]

#: ``since`` value of :func:`run_harvest`: the high-water mark of the last complete run of the same query.
LAST_RUN: Final = "last-run"
DEFAULT_CONCURRENCY: Final = 4
DEFAULT_BATCH_SIZE: Final = 500
_POLL: Final = 0.1


@dataclass(frozen=True)
class Page:
    """One page of a source.

    Attributes:
        records: The raw records of the page, in the provider's order.
        next: The position of the following page (JSON-serialisable: it goes into the checkpoint), or
            ``None`` when this page is the last. An empty page also ends the harvest.
        total: How many records the whole query matches, when the provider says (for progress only).
    """

    records: Sequence[Raw]
    next: Any = None
    total: int | None = None


@runtime_checkable
class Source(Protocol):
    """The protocol client of one provider, as the engine sees it.

    A position is any JSON value that lets :meth:`fetch` get one page on its own: typically the request
    (URL, method, body) of that page. The engine stores positions in checkpoints, so they must survive a
    ``json.dumps`` round trip, and a position of an earlier process must still be fetchable.

    Attributes:
        name: The source's name, e.g. ``"stac"``.
        adapter: The provider (:mod:`stac_bridge.plugin`) whose adapter's ``classify``/``to_stac`` turn the raw records
            into STAC; sources may instead yield :class:`ProviderRecord` objects that carry their context.
    """

    name: str
    adapter: str

    def query(self) -> dict[str, Any]:
        """What is harvested, as JSON: the URL, collection and filters, never credentials nor ``since``.

        Two runs with the same query share a checkpoint and a high-water mark.
        """
        ...

    def start(self, since: dt.datetime | None) -> Any:
        """The position of the first page.

        Args:
            since: Ask only for records created or changed at or after this instant; ``None`` for all.
                A provider that cannot filter so logs a warning and ignores it (loading is idempotent).
        """
        ...

    def fetch(self, position: Any) -> Page:
        """Fetch the page at ``position``. Called from worker threads, possibly several at once.

        Raises:
            HarvestError: the page cannot be had (after the HTTP client's retries).
        """
        ...

    def following(self, position: Any) -> Any | None:
        """The position of the page after ``position``, when it can be known without fetching it.

        That is random access (offset or ``startIndex`` paging): the engine then fetches several pages at
        once. Otherwise ``None``, and the engine waits for :attr:`Page.next`. A position past the end must
        give an empty page.
        """
        ...

    def close(self) -> None:
        """Release the connections (the caller closes the source; the engine does not)."""
        ...


@runtime_checkable
class Sink(Protocol):
    """Where transformed records go."""

    def write(self, batch: Sequence[dict[str, Any]]) -> Sequence[tuple[int, str]] | None:
        """Write a batch; it must be durable when this returns, since a checkpoint follows.

        Returns:
            The records the sink cannot hold (a STAC item without a footprint, for pgstac), as ``(index in
            batch, reason)``; they go to the dead letters and the rest of the batch is written. ``None`` (or
            nothing) when every record was taken. A failure of the whole batch is raised instead.
        """
        ...

    def close(self) -> None:
        """Flush and release what the sink holds."""
        ...


@runtime_checkable
class ResumableSink(Sink, Protocol):
    """A sink that can be rewound to a checkpoint, so a resumed harvest writes nothing twice (a file).

    Sinks that are not resumable must be idempotent (an upsert) for a resumed harvest to load nothing twice.
    """

    def open(self, state: Mapping[str, Any] | None) -> None:
        """Called once before the first write: start empty (``None``) or rewind to a :meth:`tell` state."""
        ...

    def tell(self) -> dict[str, Any]:
        """The sink's state after the last write, as JSON, for the checkpoint."""
        ...


@runtime_checkable
class CollectionSource(Protocol):
    """A source whose items belong to collections it can also fetch (optional beside :class:`Source`).

    On a fresh run the engine transforms these first and hands them to the sinks before any item.
    """

    def collection_records(self) -> Sequence[Raw]:
        """The raw collection records of the harvested items."""
        ...


class LoadResult(Protocol):
    """What :meth:`CollectionSink.load_collections` reports."""

    failed: int
    errors: list[str]


@runtime_checkable
class CollectionSink(Protocol):
    """A sink that stores collections apart from items (pgstac); other sinks get them through ``write``."""

    def load_collections(self, collections: Iterable[Mapping[str, Any]]) -> LoadResult:
        """Insert or update collections."""
        ...


@dataclass(frozen=True)
class Progress:
    """How far a harvest is, reported after each page.

    Attributes:
        records: Records written so far (transformed and handed to the sinks or about to be).
        pages: Pages fetched so far.
        errors: Records sent to the dead letters so far.
        total: Records the query matches, when the source knows.
        seconds: Time since this run started.
    """

    records: int
    pages: int
    errors: int
    total: int | None
    seconds: float


@dataclass(frozen=True)
class HarvestSummary:
    """What a harvest did (the counts include the runs it resumed).

    Attributes:
        source: The source's name.
        records: Records written to the sinks.
        pages: Pages fetched.
        errors: Records that failed to transform (in the dead letters).
        seconds: Duration of this run.
        since: The ``since`` the source was asked for, if any.
        resumed: Whether this run continued an earlier, killed one.
    """

    source: str
    records: int
    pages: int
    errors: int
    seconds: float
    since: dt.datetime | None
    resumed: bool

    def __str__(self) -> str:
        rate = self.records / self.seconds if self.seconds > 0 else 0.0
        since = f" since {format_datetime(self.since)}" if self.since else ""
        resumed = " (resumed)" if self.resumed else ""
        return (
            f"{self.source}{since}{resumed}: {self.records} records, {self.pages} pages, "
            f"{self.errors} errors in {self.seconds:.1f}s ({rate:.0f} records/s)"
        )


# --- transforms ---------------------------------------------------------------------------------------------


class _AdapterTransform:
    """A transform through an adapter, picklable (by name or by its instance) for transform processes."""

    def __init__(self, adapter: Adapter | str, *, reverse: bool) -> None:
        self.adapter = adapter
        self.reverse = reverse
        self._resolved: Adapter | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "reverse": self.reverse, "_resolved": None}

    def _get(self) -> Adapter:
        if self._resolved is None:
            self._resolved = get_adapter(self.adapter) if isinstance(self.adapter, str) else self.adapter
        return self._resolved

    def __call__(self, raw: Raw) -> dict[str, Any] | list[dict[str, Any]]:
        adapter = self._get()
        if not self.reverse:
            return adapter.to_stac(raw if isinstance(raw, ProviderRecord) else adapter.classify(raw))
        stac = raw.data if isinstance(raw, ProviderRecord) else raw
        return adapter.export_records(stac)


def adapter_transform(adapter: Adapter | str) -> Transform:
    """Raw provider records to STAC dicts through an adapter (``classify`` unless already classified)."""
    transform = _AdapterTransform(adapter, reverse=False)
    transform._get()  # an unknown adapter is an error now, not at the first record
    return transform


def export_transform(adapter: Adapter | str) -> Transform:
    """STAC dicts back to the provider's records through the adapter.

    Through the adapter's ``export_records`` (one record for most providers; Descartes Labs' calls
    ``add_product``/``add_band``/``add_image``, written to through its client rather than as records).
    """
    transform = _AdapterTransform(adapter, reverse=True)
    transform._get()
    return transform


@dataclass(frozen=True)
class _Failure:
    """A record the transform refused, as a worker process reports it."""

    error: str


_Outcome = dict[str, Any] | list[dict[str, Any]] | _Failure


def _apply(transform: Transform, records: Sequence[Raw]) -> list[_Outcome]:
    """Transform the records of one page; a refusal is kept as a :class:`_Failure`, in its place."""
    outcomes: list[_Outcome] = []
    for raw in records:
        try:
            outcomes.append(transform(raw))
        except Exception as exc:  # any failure: one bad record must not stop a harvest of millions
            outcomes.append(_Failure(f"{type(exc).__name__}: {exc}"))
    return outcomes


class _Transformer:
    """Transforms pages in order: in this thread, or in ``workers`` processes with pages in flight.

    The transforms are CPU-bound Python, so threads would wait on one another; processes run them on every
    core while the prefetcher keeps fetching. Pages come out in the order they went in.
    """

    def __init__(self, transform: Transform, workers: int) -> None:
        self._transform = transform
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._workers = workers
        if workers > 1:
            try:
                pickle.dumps(transform)
            except Exception as exc:
                raise ConfigError(f"this transform cannot run in worker processes ({exc}): use workers=1") from exc
            import multiprocessing

            # spawn, not fork: the process holds threads (the prefetcher) and connections (the sinks).
            context = multiprocessing.get_context("spawn")
            self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)

    def pages(self, pages: Iterable[Page]) -> Iterator[tuple[Page, list[_Outcome]]]:
        if self._pool is None:
            for page in pages:
                yield page, _apply(self._transform, page.records)
            return
        pending: deque[tuple[Page, concurrent.futures.Future[list[_Outcome]]]] = deque()
        for page in pages:
            pending.append((page, self._pool.submit(_apply, self._transform, list(page.records))))
            if len(pending) >= 2 * self._workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _add(out: list[dict[str, Any]], result: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Append one transform result (a record or a list of them) to ``out``."""
    if isinstance(result, list):
        out.extend(result)
    else:
        out.append(result)


# --- state: checkpoints and high-water marks ----------------------------------------------------------------


class HarvestState:
    """Checkpoints and high-water marks, one JSON file per (source, query) in a directory.

    Args:
        directory: Where the files live, e.g. ``$STAC_BRIDGE_HOME/harvest``; created when needed.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, source: str, query: Mapping[str, Any]) -> Path:
        """The state file of one query of one source."""
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(f"{source}\n{canonical}".encode()).hexdigest()[:16]
        return self.directory / f"{source}-{digest}.json"

    def load(self, source: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored state of a query, or ``None`` when it never ran.

        Raises:
            ConfigError: the file is not readable JSON.
        """
        path = self.path(source, query)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the harvest state {path}: {exc}") from exc
        try:
            document: dict[str, Any] = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"the harvest state {path} is not JSON: {exc}") from exc
        return document

    def save(self, source: str, query: Mapping[str, Any], document: Mapping[str, Any]) -> None:
        """Replace the stored state atomically (written beside, synced, then renamed over)."""
        path = self.path(source, query)
        self.directory.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        with scratch.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)


# --- fetching pages ahead -----------------------------------------------------------------------------------


class _End:
    """Marks the end of the pages in the queue."""


class _Prefetcher:
    """Fetches pages in a background thread, ahead of the consumer, in order.

    When the source allows random access, ``concurrency`` requests are in flight at once, and up to as many
    again are queued behind them, so that no worker idles while the oldest page is awaited; otherwise one,
    each request starting as soon as the previous page has told where the next one is. At most
    ``concurrency`` fetched pages wait for the consumer besides those, which bounds memory.
    """

    def __init__(self, source: Source, start: Any, concurrency: int) -> None:
        self._source = source
        self._start = start
        self._concurrency = concurrency
        self._queue: queue.Queue[Page | BaseException | _End] = queue.Queue(maxsize=concurrency)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harvest-prefetch", daemon=True)

    def __iter__(self) -> Iterator[Page]:
        self._thread.start()
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop fetching and let the thread end (requests in flight are abandoned)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue

    def _put(self, item: Page | BaseException | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
            except queue.Full:
                continue
            return True
        return False

    def _result(self, future: concurrent.futures.Future[Page]) -> Page | None:
        while not self._stop.is_set():
            try:
                return future.result(timeout=_POLL)
            except concurrent.futures.TimeoutError:
                continue
        return None

    def _run(self) -> None:
        pool = concurrent.futures.ThreadPoolExecutor(self._concurrency, thread_name_prefix="harvest-fetch")
        complete = False
        try:
            pending: deque[concurrent.futures.Future[Page]] = deque()
            position = self._start
            while True:
                while position is not None and len(pending) < 2 * self._concurrency:
                    pending.append(pool.submit(self._source.fetch, position))
                    position = self._source.following(position)
                if not pending:  # resumed from a checkpoint written after the last page
                    break
                page = self._result(pending.popleft())
                if page is None or not self._put(page):
                    return
                if page.next is None or not page.records:
                    break
                if position is None and not pending:
                    position = page.next
            complete = True
            self._put(_End())
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            self._put(exc)
        finally:
            # At the end, requests for pages past it may still be in flight (random access fetches ahead):
            # let them finish before the caller closes the client. On a failure, abandon them.
            pool.shutdown(wait=complete, cancel_futures=True)


# --- the engine ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """The part of the state file that describes the run in progress (the checkpoint)."""

    started: str
    since: str | None
    position: Any
    records: int = 0
    pages: int = 0
    errors: int = 0
    sinks: list[dict[str, Any] | None] = field(default_factory=list)
    dead_letters: dict[str, Any] | None = None


def run_harvest(
    source: Source,
    sinks: Sequence[Sink],
    *,
    transform: Transform | None = None,
    dead_letters: Sink | None = None,
    state: HarvestState | None = None,
    resume: bool = False,
    since: dt.datetime | Literal["last-run"] | None = LAST_RUN,
    concurrency: int = DEFAULT_CONCURRENCY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[Progress], None] | None = None,
    workers: int = 1,
) -> HarvestSummary:
    """Harvest ``source`` into ``sinks``; the sinks are closed at the end, whether it succeeded or not.

    Args:
        source: Where the pages come from.
        sinks: Where the transformed records go, each batch to every sink in turn.
        transform: Raw record to output dict; by default the source's adapter to STAC.
        dead_letters: Receives ``{"id", "error", "record"}`` for each record the transform refused; without
            one such records are only logged. The harvest goes on either way.
        state: Where checkpoints and high-water marks are kept; without one the run cannot be resumed and
            ``since=LAST_RUN`` means everything.
        resume: Continue the unfinished run of the same query, if ``state`` holds one (else start afresh).
        since: Ask only for what changed since then: an instant, ``LAST_RUN`` (the start of the last complete
            run of the same query, if any) or ``None`` (everything). Ignored when resuming, which keeps the
            ``since`` of the run it continues.
        concurrency: Pages fetched ahead, and at once when the source allows random access.
        batch_size: Records per sink write (and per checkpoint); whole pages are never split.
        progress: Called after each page.
        workers: Processes that transform pages at once (1: in this process). The transforms are CPU-bound:
            with fast fetching, more workers (up to the cores) is what makes a harvest faster. The transform
            must pickle (the adapters' do).

    Returns:
        The counts, including those of the runs this one resumed.

    Raises:
        HarvestError: the source failed for good (the checkpoint allows a resume).
        ConfigError: the state cannot be read, or the checkpoint does not fit the sinks given.
    """
    if concurrency < 1 or batch_size < 1 or workers < 1:
        raise ConfigError("concurrency, batch size and workers must be at least 1")
    clock = time.monotonic()
    convert = transform or adapter_transform(source.adapter)
    try:
        transformer = _Transformer(convert, workers)  # first: an unfit transform fails before any request
    except BaseException:
        _close_all(sinks, dead_letters)
        raise
    query = source.query()
    # A source that remembers what it fetched (to catch a server that loops) forgets it at each run's start.
    new_run = getattr(source, "new_run", None)
    if callable(new_run):
        new_run()
    stored = state.load(source.name, query) if state is not None else None
    unfinished = stored.get("run") if stored else None
    high_water = stored.get("high_water") if stored else None
    try:
        if resume and unfinished:
            run = _Run(**unfinished)
            _reopen(sinks, dead_letters, run)
            log.info("resuming %s at %d records, %d pages", source.name, run.records, run.pages)
        else:
            if resume:
                log.info("nothing to resume for %s: starting afresh", source.name)
            elif unfinished:
                log.warning("discarding the unfinished run of %s (use resume to continue it)", source.name)
            if since == LAST_RUN:
                since_at = parse_datetime(high_water) if high_water else None
            else:
                since_at = since if isinstance(since, dt.datetime) else None
            started = format_datetime(dt.datetime.now(dt.UTC))
            run = _Run(started, format_datetime(since_at) if since_at else None, source.start(since_at))
            _reopen(sinks, dead_letters, None)
            if isinstance(source, CollectionSource):
                run.errors += _write_collections(source, sinks, dead_letters, convert)
    except BaseException:
        transformer.close()
        _close_all(sinks, dead_letters)
        raise

    def checkpoint(done: bool) -> None:
        if state is None:
            return
        run.sinks = [s.tell() if isinstance(s, ResumableSink) else None for s in sinks]
        run.dead_letters = dead_letters.tell() if isinstance(dead_letters, ResumableSink) else None
        document = {
            "source": source.name,
            "query": query,
            "high_water": run.started if done else high_water,
            "run": None if done else asdict(run),
        }
        state.save(source.name, query, document)

    resumed = bool(resume and unfinished)
    batch: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []

    def flush(position: Any) -> None:
        taken = len(batch)
        if batch:
            rejected: dict[int, str] = {}
            for sink in sinks:
                for index, reason in sink.write(batch) or ():
                    rejected.setdefault(index, f"{type(sink).__name__} refused it: {reason}")
            for index, reason in sorted(rejected.items()):
                refused.append(_dead_letter(batch[index], LoadError(reason)))
            taken -= len(rejected)
        if refused and dead_letters is not None:
            dead_letters.write(refused)
        run.records += taken
        run.errors += len(refused)
        run.position = position
        batch.clear()
        refused.clear()
        checkpoint(done=False)

    prefetcher = _Prefetcher(source, run.position, concurrency)
    try:
        checkpoint(done=False)
        total: int | None = None
        for page, outcomes in transformer.pages(prefetcher):
            run.pages += 1
            total = page.total if page.total is not None else total
            for raw, outcome in zip(page.records, outcomes, strict=True):
                if isinstance(outcome, _Failure):
                    refused.append(_dead_letter(raw, outcome.error))
                else:
                    _add(batch, outcome)
            if len(batch) + len(refused) >= batch_size:
                flush(page.next)
            if progress is not None:
                progress(Progress(run.records + len(batch), run.pages, run.errors + len(refused), total,
                                  time.monotonic() - clock))
        flush(None)
        checkpoint(done=True)
    except HarvestError:
        log.error("%s stopped at %d records; resume continues from there", source.name, run.records)
        raise
    finally:
        prefetcher.close()
        transformer.close()
        _close_all(sinks, dead_letters)
    since_used = parse_datetime(run.since) if run.since else None
    seconds = time.monotonic() - clock
    return HarvestSummary(source.name, run.records, run.pages, run.errors, seconds, since_used, resumed)


def _reopen(sinks: Sequence[Sink], dead_letters: Sink | None, run: _Run | None) -> None:
    """Open the resumable sinks, empty or rewound to the checkpoint of ``run``."""
    if run is not None:
        kinds = ["file" if state is not None else "other" for state in run.sinks]
        given = ["file" if isinstance(sink, ResumableSink) else "other" for sink in sinks]
        if kinds != given:
            raise ConfigError(f"the checkpoint was written with outputs {kinds}, this run has {given}: "
                              "resume with the same outputs")
    for index, sink in enumerate(sinks):
        if isinstance(sink, ResumableSink):
            sink.open(run.sinks[index] if run is not None else None)
    if isinstance(dead_letters, ResumableSink):
        dead_letters.open(run.dead_letters if run is not None else None)


def _write_collections(source: CollectionSource, sinks: Sequence[Sink], dead_letters: Sink | None,
                       transform: Transform) -> int:
    """Transform and store the source's collections; the number refused."""
    collections: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    records = source.collection_records()
    for raw, outcome in zip(records, _apply(transform, records), strict=True):
        if isinstance(outcome, _Failure):  # as for items: the harvest goes on
            refused.append(_dead_letter(raw, outcome.error))
        else:
            _add(collections, outcome)
    if collections:
        for sink in sinks:
            if isinstance(sink, CollectionSink):
                result = sink.load_collections(collections)
                if result.failed:
                    raise LoadError("the collections could not be loaded: " + "; ".join(result.errors))
            else:
                sink.write(collections)
    if refused and dead_letters is not None:
        dead_letters.write(refused)
    return len(refused)


def _close_all(sinks: Sequence[Sink], dead_letters: Sink | None) -> None:
    for sink in [*sinks, *([dead_letters] if dead_letters is not None else [])]:
        try:
            sink.close()
        except Exception:
            log.exception("closing %s failed", type(sink).__name__)


def _dead_letter(raw: Raw, exc: Exception | str) -> dict[str, Any]:
    if isinstance(raw, ProviderRecord):
        record: Any = {"kind": raw.kind, "data": raw.data, "context": raw.context}
        record_id = raw.id
    else:
        record = raw
        # A provider may send anything where a record belongs (a string, a number): it is kept as sent.
        value = raw.get("id") if isinstance(raw, Mapping) else None
        record_id = str(value) if value is not None else None
    error = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    log.warning("record %s refused: %s", record_id, error)
    return {"id": record_id, "error": error, "record": record}
