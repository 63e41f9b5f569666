"""The ``stac-bridge`` command: it parses arguments and calls the layers, nothing more.

Subcommands: ``db`` (up, down, status, url, destroy), ``load``, ``serve``, ``validate``, and the harvest
commands (``harvest``, ``convert``, ``export``).

Exit status (``docs/cli.md``): 0 done; 1 done, but some records failed (each is named on stderr); 2 an error
(one line on stderr: what, why, what to do); 3 ``db status``/``db url``: the database is not running; 130
interrupted (what was done, and the command that continues, are printed).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from stac_bridge import __version__
from stac_bridge.errors import StacBridgeError

log = logging.getLogger("stac_bridge")

Command = Callable[[argparse.Namespace], int]

EXIT_OK: Final = 0
EXIT_FAILED_RECORDS: Final = 1
EXIT_ERROR: Final = 2
EXIT_NOT_RUNNING: Final = 3
EXIT_INTERRUPTED: Final = 130
SERVER_EXTRA: Final = "pip install 'stac-bridge[server]'"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with each option's default, except where there is none to show (``None``, a flag's ``False``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, [], argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def _progress(total: int | None, unit: str, desc: str) -> Any:
    """A progress bar on a terminal; nothing otherwise (the one-line summary suffices in logs)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not sys.stderr.isatty(), leave=False)


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (argparse turns the refusal into a usage error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


class _Interrupts:
    """Notes a Ctrl-C while raising :class:`KeyboardInterrupt` as usual.

    What reaches the command is not always the ``KeyboardInterrupt``: psycopg cancels the query in flight, and
    the rollback may raise the cancellation instead. The note tells such an error from a real one.
    """

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def caused(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the interrupt, or what it turned into."""
        return isinstance(exc, KeyboardInterrupt) or self.seen


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _continue_command(args: argparse.Namespace, *, add: str | None = None) -> str:
    """The command line that was run (plus ``add``, once), for the user to copy."""
    argv: list[str] = list(getattr(args, "argv", []))
    if add and add not in argv:
        argv.append(add)
    return "stac-bridge " + shlex.join(argv)


# -- db ----------------------------------------------------------------------------------------------------

def _cmd_db(args: argparse.Namespace) -> int:
    from stac_bridge.pgstac.database import ManagedCluster, configured_url, default_home, find_home, where_looked

    external = configured_url()
    found = Path(args.home) if args.home else find_home()
    cluster = ManagedCluster(found or default_home())
    if args.action == "url":
        if external:
            print(external)
            return EXIT_OK
        status = cluster.status()
        if not status.running:
            _say(f"not running: {status.detail}")
            return EXIT_NOT_RUNNING
        print(cluster.url())
        return EXIT_OK
    if external and args.action in ("up", "down"):
        print("STAC_BRIDGE_DATABASE_URL (or PG*) is set: that database is used, nothing is managed here.")
        if args.action == "up":
            from stac_bridge.pgstac.database import migrate

            print(f"pgstac {migrate(external)} in the configured database")
        return EXIT_OK
    if args.action.startswith("replica") and external:
        print("STAC_BRIDGE_DATABASE_URL (or PG*) is set: replicate that database with its own tools "
              "(docs/deployment.md), then set STAC_BRIDGE_READ_DATABASE_URL")
        return EXIT_ERROR
    if args.action == "up":
        print(cluster.up())
    elif args.action == "replica":
        print(cluster.replica_up())
        _say("reads through it: STAC_BRIDGE_READ_DATABASE_URL=$(stac-bridge db replica-url) stac-bridge serve")
    elif args.action == "replica-url":
        print(cluster.replica_url())
    elif args.action == "replica-down":
        print(cluster.replica_down())
    elif args.action == "down":
        print(cluster.down())
    elif args.action == "destroy":
        print(cluster.destroy())
    else:
        status = cluster.status()
        detail = status.detail if found is not None else f"no database: {where_looked()}"
        print(detail)
        return EXIT_OK if status.running else EXIT_NOT_RUNNING
    return EXIT_OK


def _add_db(sub: Any) -> None:
    parser = sub.add_parser(
        "db", help="the managed PostgreSQL + PostGIS + pgstac database", formatter_class=_HelpFormatter,
        description="The project's managed database, found as git finds its repository: $STAC_BRIDGE_HOME, "
        "else the nearest .stac-bridge/ in this directory or a parent (db up creates ./.stac-bridge when there "
        "is none). STAC_BRIDGE_DATABASE_URL names an external database instead.",
    )
    parser.add_argument(
        "action", choices=["up", "down", "status", "url", "destroy", "replica", "replica-url", "replica-down"],
        help="up: create (first time), start and migrate; down: stop, keeping the data; status: running or not "
        "(exit 3 when not); url: the connection URL (exit 3 when not running); destroy: stop and delete the data "
        "(and the replica's); replica: start a local streaming replica of the running database (pg_basebackup "
        "the first time), for STAC_BRIDGE_READ_DATABASE_URL; replica-url: its URL; replica-down: stop it",
    )
    parser.add_argument("--home", metavar="DIR",
                        help="the cluster's home (default: $STAC_BRIDGE_HOME, else the nearest .stac-bridge/ "
                        "upwards, else ./.stac-bridge)")
    parser.set_defaults(func=_cmd_db)


# -- reading STAC, and refusing what is not ------------------------------------------------------------------

def _files(paths: Sequence[str]) -> Iterator[Path]:
    """The files :func:`~stac_bridge.pgstac.loader.read_stac` reads, in its order."""
    from stac_bridge.jsonfiles import files

    return files(paths)


def _refuse_provider_records(paths: Sequence[str], command: str) -> None:
    """Stop ``load``/``validate`` given a provider's own records, saying to convert them first.

    Only the first records of each file are looked at: enough to tell a provider's export from STAC.

    Raises:
        ConfigError: a file holds provider records.
    """
    import itertools

    from stac_bridge.errors import ConfigError, LoadError
    from stac_bridge.pgstac.loader import read_stac
    from stac_bridge.recognise import first_recognised

    flagged: list[tuple[Path, Any]] = []
    for path in _files(paths):
        try:
            found = first_recognised(itertools.islice(read_stac([path]), 20))
        except LoadError:
            continue  # the command itself reports the unreadable file, as before
        if found is not None:
            flagged.append((path, found))
    if flagged:
        path, found = flagged[0]
        more = f" (and {len(flagged) - 1} more files of provider records)" if len(flagged) > 1 else ""
        raise ConfigError(f"{path}: this is a {found.provider} {found.kind}: run `stac-bridge convert "
                          f"{found.provider}` first (`stac-bridge convert {found.provider} {path} --out FILE`, "
                          f"then `stac-bridge {command} FILE`){more}")


def _count_items(paths: Sequence[str]) -> int | None:
    """How many items ndjson inputs hold (lines that are not collections), for the bar's total and ETA.

    ``None`` when an input is a JSON document, whose items cannot be counted without parsing it whole.
    """
    total = 0
    for path in _files(paths):
        if path.suffix not in (".ndjson", ".jsonl"):
            return None
        try:
            with path.open("rb") as handle:
                for line in handle:
                    if line.strip() and b'"Collection"' not in line[:200]:
                        total += 1
        except OSError:
            return None
    return total


# -- load --------------------------------------------------------------------------------------------------

def _cmd_load(args: argparse.Namespace) -> int:
    from stac_bridge.pgstac.database import locate_database
    from stac_bridge.pgstac.loader import LoadInterrupted, LoadSummary, PgstacLoader

    _refuse_provider_records(args.paths, "load")
    database = locate_database(start=args.start_db, create=args.start_db)
    _say(f"database: {database.description}" + (" (started now)" if database.started else ""))
    done = LoadSummary()
    interrupted: LoadInterrupted | None = None
    total = _count_items(args.paths) if sys.stderr.isatty() else None
    try:
        with _Interrupts() as interrupts, \
                PgstacLoader(database.url, mode=args.mode, batch_size=args.batch_size) as loader, \
                _progress(total, "items", "loading") as bar:

            def advance(batch: LoadSummary) -> None:
                done.add(batch)
                bar.update(batch.loaded + batch.unchanged + batch.failed)

            try:
                summary = loader.load_paths(args.paths, on_batch=advance)
            except LoadInterrupted as exc:  # what was committed before is said all the same
                interrupted, summary = exc, exc.summary
    except BaseException as exc:
        if not interrupts.caused(exc):
            raise
        # Each batch is its own transaction: what was committed stays, the batch in flight is rolled back.
        _say(f"interrupted: {done} items committed (the batch in flight was rolled back); loading is "
             f"idempotent, so the same command finishes the job: {_continue_command(args)}")
        return EXIT_INTERRUPTED
    for error in summary.errors[:50]:
        _say(f"failed: {error}")
    if len(summary.errors) > 50:
        _say(f"... and {len(summary.errors) - 50} more failures")
    print(summary)
    if interrupted is not None:
        raise interrupted
    return EXIT_FAILED_RECORDS if summary.failed else EXIT_OK


def _add_load(sub: Any) -> None:
    parser = sub.add_parser(
        "load", help="load STAC collections and items (JSON, ndjson, directories) into pgstac",
        formatter_class=_HelpFormatter,
        description="Collections first, then items in batches, one transaction each; prints loaded/unchanged/"
        "failed. Loading the same data twice changes nothing. Provider records are refused: convert them first.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="STAC JSON or ndjson files, or directories of them")
    parser.add_argument("--mode", choices=["upsert", "insert-ignore"], default="upsert",
                        help="upsert: new and changed objects are written; insert-ignore: existing ones are kept")
    parser.add_argument("--batch-size", type=_at_least(1), default=10_000, metavar="N",
                        help="items per transaction (pypgstac load's chunks are as many)")
    parser.add_argument("--start-db", action="store_true",
                        help="start the project's managed database first (created when there is none)")
    parser.set_defaults(func=_cmd_load)


# -- serve -------------------------------------------------------------------------------------------------

def _port_is_taken(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _cmd_serve(args: argparse.Namespace) -> int:
    from stac_bridge.errors import ConfigError

    try:
        import uvicorn

        from stac_bridge.server.app import create_app
        from stac_bridge.server.settings import ServerSettings
    except ModuleNotFoundError as exc:
        raise ConfigError(f"serve needs the server extra, which is not installed ({exc.name} is missing): "
                          f"{SERVER_EXTRA}") from None
    from stac_bridge.pgstac.database import Database, configured_url, locate_database, redact_url

    if _port_is_taken(args.host, args.port):
        raise ConfigError(f"port {args.port} on {args.host} is in use: stop what serves there, or choose "
                          "another with --port")
    settings = ServerSettings()
    if settings.database_url and settings.database_url.get_secret_value() != configured_url():
        url = settings.database_url.get_secret_value()
        database = Database(url, f"{redact_url(url)} (from the server settings)")
    else:
        # Never a new, empty cluster: the project's own, started if it is stopped (and stopped again after).
        database = locate_database(start=True)
    _say(f"database: {database.description}" + (" (started; stopped again when serve ends)"
                                                 if database.started else ""))
    workers = args.workers or _cores()
    root = f"http://{args.host}:{args.port}"
    if workers == 1:
        target: Any = create_app(settings, database_url=database.url)
    else:
        # Each worker process builds its own application (and pools) from the environment.
        os.environ.update(STAC_BRIDGE_DATABASE_URL=database.url, STAC_BRIDGE_WORKERS=str(workers))
        create_app(ServerSettings(), database_url=database.url)  # a bad configuration fails here, once
        target = "stac_bridge.server.app:create_worker_app"
    _say(f"serving the STAC API on {root}/ with {workers} worker process{'es' if workers > 1 else ''} "
         f"(OGC OpenSearch for terracatalogueclient on {root}/opensearch/, "
         f"Capella's catalog search for capella-console-client on {root}/capella/)")
    try:
        uvicorn.run(target, host=args.host, port=args.port, log_level=args.log_level, workers=workers,
                    factory=workers > 1)
    except SystemExit as exc:  # uvicorn exits when it cannot start (the port taken meanwhile)
        if exc.code not in (0, None):
            _say(f"stac-bridge: the server could not start on {args.host}:{args.port} (see above)")
            return EXIT_ERROR
    finally:
        if database.started and database.cluster is not None:
            _say(database.cluster.down())
    return EXIT_OK


def _add_serve(sub: Any) -> None:
    parser = sub.add_parser(
        "serve", help="serve the catalog as a STAC API at /, with /opensearch/ and /capella/ beside it",
        formatter_class=_HelpFormatter,
        description="The STAC API (stac-fastapi-pgstac) at /, the OGC OpenSearch API (17-047r1, for "
        "terracatalogueclient) at /opensearch/ and Capella's catalog search (for capella-console-client) at "
        "/capella/catalog/search, over the same catalog: STAC_BRIDGE_DATABASE_URL's database, else the "
        "project's managed one (started when stopped; never created: `stac-bridge db up` does that). "
        f"Needs the server extra: {SERVER_EXTRA}.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=_at_least(1), default=8080, help="the port to listen on")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                        help="uvicorn's log level")
    parser.add_argument("--workers", type=_at_least(1), default=None, metavar="N",
                        help="API processes (default: the number of cores); each has its own database pools, "
                        "sized so that all of them fit in PostgreSQL's max_connections")
    parser.set_defaults(func=_cmd_serve)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- validate ----------------------------------------------------------------------------------------------

def _cmd_validate(args: argparse.Namespace) -> int:
    from stac_bridge.errors import ValidationError
    from stac_bridge.pgstac.loader import read_stac
    from stac_bridge.validate import Validator

    _refuse_provider_records(args.paths, "validate")
    validator = Validator(args.schemas)
    valid = invalid = 0
    for stac in read_stac(args.paths):
        try:
            validator.validate(stac)
        except ValidationError as exc:
            invalid += 1
            _say(f"invalid: {exc.object_id}")
            for problem in exc.errors:
                _say(f"  {problem}")
        else:
            valid += 1
    print(f"{valid} valid, {invalid} invalid")
    return EXIT_FAILED_RECORDS if invalid else EXIT_OK


def _add_validate(sub: Any) -> None:
    parser = sub.add_parser(
        "validate", help="validate STAC items and collections against their JSON schemas, offline",
        formatter_class=_HelpFormatter,
        description="Every object against its core schema and each of its stac_extensions, offline: the "
        "schemas of STAC 1.0/1.1 and of the extensions stac-bridge writes ship with it. A schema that is not "
        "shipped is an error naming its URL; --schemas adds a directory of others.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="STAC JSON or ndjson files, or directories of them")
    parser.add_argument(
        "--schemas",
        metavar="DIR",
        help="a directory of more schemas, laid out by URL, with an index.json mapping each schema URL to its "
        "file; they take precedence over the shipped ones",
    )
    parser.set_defaults(func=_cmd_validate)


# -- harvest, convert, export -----------------------------------------------------------------------------

def _bbox(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a bbox: {text!r}") from exc
    if len(values) not in (4, 6):
        raise argparse.ArgumentTypeError("a bbox is west,south,east,north")
    return values


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"a header is 'Name: value', not {text!r}")
    return name.strip(), value.strip()


def _option(text: str) -> tuple[str, Any]:
    import json

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def _instant(text: str) -> Any:
    from stac_bridge.transforms._common import parse_datetime

    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 datetime: {text!r}") from exc


def _dead_letter_path(args: argparse.Namespace, out: str | None) -> Path:
    """Beside the output file; with no output file, in the project's home (never the current directory)."""
    if args.dead_letters:
        return Path(args.dead_letters)
    if out and out != "-":
        return Path(out).with_suffix(".dead-letters.ndjson")
    from stac_bridge.pgstac.database import find_home

    home = find_home() or Path.home() / ".cache" / "stac-bridge"
    return home / "dead-letters" / f"{args.command}-{args.provider}.ndjson"


def _run_with_progress(desc: str, run: Callable[[Callable[[Any], None]], Any]) -> Any:
    """Run a harvest with a progress bar (records, pages, rate, errors) on a terminal."""
    with _progress(None, "records", desc) as bar:
        return run(_progress_updater(bar))


def _progress_updater(bar: Any) -> Callable[[Any], None]:
    """Update ``bar`` from the engine's progress: with the total, when the source knows it, tqdm shows an ETA."""

    def update(progress: Any) -> None:
        if progress.total is not None and progress.total != bar.total:
            bar.total = max(progress.total, progress.records)
        bar.n = progress.records
        bar.set_postfix(pages=progress.pages, errors=progress.errors, refresh=False)
        bar.refresh()

    return update


class _RefusalCounter(logging.Filter):
    """Counts the engine's one-warning-per-refused-record, to report each reason once with a count.

    Reasons are told apart without the record's id, so 48 tiles refused for the same missing field are one
    line, not 48.
    """

    _ID = re.compile(r"record '[^']*'")

    def __init__(self) -> None:
        super().__init__()
        self.reasons: collections.Counter[str] = collections.Counter()
        self.first: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "record %s refused: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            record_id, error = record.args
            reason = self._ID.sub("record", str(error))
            self.reasons[reason] += 1
            self.first.setdefault(reason, str(record_id))
            # With -v each record is still named as it is refused.
            return logging.getLogger("stac_bridge").getEffectiveLevel() <= logging.INFO
        return True


class _Refusals:
    """Installs a :class:`_RefusalCounter` on the engine's logger for the duration of a run."""

    def __init__(self) -> None:
        self.counter = _RefusalCounter()
        self._logger = logging.getLogger("stac_bridge.harvest.engine")

    def __enter__(self) -> _RefusalCounter:
        self._logger.addFilter(self.counter)
        return self.counter

    def __exit__(self, *exc: object) -> None:
        self._logger.removeFilter(self.counter)


def _report_refusals(counter: _RefusalCounter, dead_letters: Path) -> None:
    for reason, count in counter.reasons.most_common(10):
        hint = ""
        if "context" in reason:
            hint = (" (inputs are read in order: list the collection, product and band files before the tiles "
                    "and images that need them)")
        _say(f"{_records(count)} refused: {reason} (first: {counter.first[reason]}){hint}")
    if len(counter.reasons) > 10:
        _say(f"... and {len(counter.reasons) - 10} more reasons")


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


def _report(summary: Any, label: str, dead_letters: Path, to_stdout: bool) -> int:
    import dataclasses

    print(dataclasses.replace(summary, source=label), file=sys.stdout if to_stdout else sys.stderr)
    if summary.errors:
        _say(f"{label}: {_records(summary.errors)} refused, kept in {dead_letters}")
    return EXIT_FAILED_RECORDS if summary.errors else EXIT_OK


class _CountingLoader:
    """The pgstac loader as a harvest sink that also counts loaded/unchanged/failed, for the summary line.

    Args:
        loader: The loader; its ``load_items`` does the work, one transaction per batch.
    """

    def __init__(self, loader: Any) -> None:
        from stac_bridge.pgstac.loader import LoadSummary

        self.loader = loader
        self.summary = LoadSummary()

    def load_collections(self, collections: Any) -> Any:
        result = self.loader.load_collections(collections)
        self.summary.add(result)
        return result

    def write(self, batch: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
        result = self.loader.load_items(batch)
        self.summary.add(result)
        # The loader names each failure "<id>: <reason>"; ids may hold ':' (Descartes Labs'), so match them whole.
        ids = [(str(item.get("id", "<item without id>")), index) for index, item in enumerate(batch)]
        ids.sort(key=lambda pair: len(pair[0]), reverse=True)
        refused: list[tuple[int, str]] = []
        for error in result.errors:
            for record_id, index in ids:
                if error.startswith(record_id + ": "):
                    refused.append((index, error[len(record_id) + 2:]))
                    break
        return refused

    def close(self) -> None:
        self.loader.close()


def _checkpointed_records(state: Any, source: Any) -> int | None:
    stored = state.load(source.name, source.query())
    run = stored.get("run") if stored else None
    return int(run["records"]) if run else None


def _exit_if_fetches_linger(grace: float = 1.0) -> None:
    """End the process now when fetch threads outlive an interrupt by ``grace`` seconds.

    Requests in flight cannot be cancelled, and Python joins their threads at exit: a slow provider (or the
    retries of a request on the closed client) would hold Ctrl-C for up to the timeout times the retries.
    Everything worth keeping is saved by then (the checkpoint, the sinks closed), so nothing is lost.
    """
    import os
    import threading
    import time

    deadline = time.monotonic() + grace
    while any(t.name.startswith("harvest-fetch") and t.is_alive() for t in threading.enumerate()):
        if time.monotonic() > deadline:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        time.sleep(0.05)


def _drop_unfinished_append(stored: dict[str, Any] | None, out: Path) -> None:
    """Cut ``out`` back to its length before an unfinished incremental run that is not resumed.

    That run appended part of what changed; the new run asks for all of it again, so without this those
    records would be in the file twice.
    """
    run = stored.get("run") if stored else None
    for sink in (run or {}).get("sinks") or []:
        if sink and sink.get("base") is not None and Path(sink["path"]) == out.resolve() and out.exists():
            with out.open("r+b") as handle:
                handle.truncate(int(sink["base"]))


def _cmd_harvest(args: argparse.Namespace) -> int:
    import datetime

    from stac_bridge.errors import ConfigError, HarvestError
    from stac_bridge.harvest import SourceOptions, create_source
    from stac_bridge.harvest.engine import LAST_RUN, HarvestState, run_harvest
    from stac_bridge.harvest.http import RetryPolicy
    from stac_bridge.harvest.sinks import NdjsonSink, StreamSink
    from stac_bridge.pgstac.database import default_home

    if args.out is None and not args.load:
        raise ConfigError("say where the records go: --out FILE, --out - (stdout) and/or --load")
    extra = {**dict(args.option), "headers": dict(args.header), "method": args.method}
    options = SourceOptions(args.url, collections=args.collection, bbox=args.bbox, datetime=args.datetime,
                            page_size=args.page_size, timeout=args.timeout,
                            retry=RetryPolicy(attempts=args.retries + 1), extra=extra)
    state = HarvestState(Path(args.state_dir) if args.state_dir else default_home() / "harvest")
    since: datetime.datetime | Literal["last-run"] | None = LAST_RUN
    if args.full or args.since:
        since = args.since
    source = create_source(args.provider, options)
    stored = state.load(source.name, source.query())
    incremental = bool(args.since) or (since == LAST_RUN and bool(stored and stored.get("high_water")))
    sinks: list[Any] = []
    out_file: NdjsonSink | None = None
    if args.out == "-":
        sinks.append(StreamSink(sys.stdout.buffer))
    elif args.out is not None:
        existing = Path(args.out).exists()
        # An incremental run brings only what changed: it adds to the earlier harvest's file, never replaces it.
        append = incremental and existing
        if append and not args.resume:
            _drop_unfinished_append(stored, Path(args.out))
        out_file = NdjsonSink(args.out, atomic=True, append=append)
        if append:
            mark = args.since.isoformat() if args.since else stored.get("high_water") if stored else None
            _say(f"appending to {args.out}: an incremental run brings what changed since {mark} "
                 "(--full harvests everything again and replaces the file)")
        sinks.append(out_file)
    loader: _CountingLoader | None = None
    if args.load:
        from stac_bridge.pgstac.database import locate_database
        from stac_bridge.pgstac.loader import PgstacLoader

        database = locate_database(start=args.start_db, create=args.start_db)
        _say(f"database: {database.description}" + (" (started now)" if database.started else ""))
        loader = _CountingLoader(PgstacLoader(database.url))
        sinks.append(loader)
    dead_path = _dead_letter_path(args, args.out)
    label = f"harvest {args.provider}"
    from stac_bridge.rasters.commands import enriching, report_enrichment

    sinks, enricher = enriching(args, sinks)
    try:
        with _Interrupts() as interrupts, _Refusals() as refusals:
            summary = _run_with_progress(label, lambda update: run_harvest(
                source, sinks, dead_letters=NdjsonSink(dead_path, create_empty=False), state=state,
                resume=args.resume, since=since, concurrency=args.concurrency, batch_size=args.batch_size,
                progress=update, workers=args.workers))
    except BaseException as exc:
        # The output file is as it was; the records so far stay in its .partial file for --resume.
        if out_file is not None:
            out_file.discard(keep_partial=True)
        if interrupts.caused(exc):
            # Fetch threads may still be retrying on the closed client: their warnings would only confuse.
            logging.getLogger("stac_bridge.harvest").setLevel(logging.CRITICAL)
            source.close()
            done = _checkpointed_records(state, source)
            where = ""
            if out_file is not None:
                kept = "is unchanged" if out_file.path.exists() else "is written when the harvest completes"
                where = f" ({out_file.path} {kept}; the records so far wait in {out_file.partial})"
            if loader is not None:
                where += f" (into pgstac, committed: {loader.summary})"
            _say(f"interrupted: harvest {args.provider} checkpointed {done or 0} records{where}; continue with: "
                 f"{_continue_command(args, add='--resume')}")
            _exit_if_fetches_linger()
            return EXIT_INTERRUPTED
        if isinstance(exc, HarvestError):
            _say(f"stac-bridge: {exc}")
            _say(f"the harvest is checkpointed: {_continue_command(args, add='--resume')} continues it")
            return EXIT_ERROR
        raise
    finally:
        source.close()
    if out_file is not None:
        out_file.commit()
    report_enrichment(enricher)
    _report_refusals(refusals, dead_path)
    status = _report(summary, label, dead_path, args.out != "-")
    if loader is not None:
        _say(f"harvest {args.provider} into pgstac: {loader.summary}")
        for error in loader.summary.errors[:20]:
            _say(f"failed: {error}")
        status = max(status, EXIT_FAILED_RECORDS if loader.summary.failed else EXIT_OK)
    return status


def _add_harvest(sub: Any) -> None:
    from stac_bridge.harvest import list_sources

    providers = list_sources()
    parser = sub.add_parser(
        "harvest", help=f"harvest a provider API into STAC (ndjson and/or pgstac): {', '.join(providers)}",
        formatter_class=_HelpFormatter,
        description="Streams the provider's pages through its transform into an ndjson file and/or pgstac, with "
        "a checkpoint after each written batch (--resume continues a killed run) and incremental by default "
        "(only what changed since the last complete run; added to the earlier file). See docs/harvesting.md.",
    )
    parser.add_argument("provider", metavar="PROVIDER", choices=providers,
                        help=f"one of: {', '.join(providers)} (stac: any STAC API's /search; credentials from the "
                        "environment: see docs/harvesting.md)")
    parser.add_argument("--url", default="", help="the API root (default: the provider's service; "
                        "a STAC API's landing page for stac)")
    parser.add_argument("--collection", action="append", default=[], metavar="ID", help="a collection (repeatable)")
    parser.add_argument("--bbox", type=_bbox, metavar="W,S,E,N", help="only records that intersect it (WGS84)")
    parser.add_argument("--datetime", metavar="INTERVAL", help="only records in it, e.g. 2024-01-01/2024-02-01")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--since", type=_instant, metavar="DATETIME",
                      help="only records changed since (default: the start of the last complete run)")
    when.add_argument("--full", action="store_true", help="everything, ignoring the last run")
    parser.add_argument("--out", metavar="FILE", help="ndjson file, or - for stdout; written beside and renamed "
                        "when done (an incremental run adds to it)")
    parser.add_argument("--load", action="store_true", help="load into the pgstac database")
    parser.add_argument("--start-db", action="store_true",
                        help="start the project's managed database first (created when there is none)")
    parser.add_argument("--concurrency", type=_at_least(1), default=4, metavar="N", help="pages fetched at once")
    parser.add_argument("--workers", type=_at_least(1), default=1, metavar="N",
                        help="processes transforming pages at once; up to the cores for large harvests")
    parser.add_argument("--resume", action="store_true", help="continue the killed run of the same query")
    parser.add_argument("--dead-letters", metavar="FILE", help="records that failed to transform (default: "
                        "<out>.dead-letters.ndjson, or dead-letters/ in the project's .stac-bridge/)")
    parser.add_argument("--state-dir", metavar="DIR", help="checkpoints (default: $STAC_BRIDGE_HOME/harvest)")
    parser.add_argument("--page-size", type=_at_least(1), metavar="N",
                        help="records per request (default: the provider's)")
    parser.add_argument("--batch-size", type=_at_least(1), default=500, metavar="N",
                        help="records per write/checkpoint")
    parser.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                        help="per-response timeout")
    parser.add_argument("--retries", type=_at_least(0), default=5, metavar="N", help="retries after the first try")
    parser.add_argument("--method", choices=["GET", "POST"], help="stac: force the search method")
    parser.add_argument("--header", type=_header, action="append", default=[], metavar="'NAME: VALUE'",
                        help="sent with every request (repeatable)")
    parser.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                        help="a source's own option, VALUE as JSON or text (repeatable), e.g. descartes: api=v1, "
                        "max_cloud_cover=20; opensearch, capella: filter='<CQL2 text or JSON>'")
    from stac_bridge.rasters.commands import add_enrich_options

    add_enrich_options(parser)
    parser.set_defaults(func=_cmd_harvest)


def _refuse_stac_input(args: argparse.Namespace) -> None:
    """``convert`` given STAC (made by stac-bridge, or any for providers that are not STAC): ``export`` was meant.

    Raises:
        ConfigError: the first records of an input are STAC.
    """
    import itertools

    from stac_bridge.errors import ConfigError
    from stac_bridge.harvest.files import read_records
    from stac_bridge.recognise import is_stac, recognise
    from stac_bridge.registry import get_adapter
    from stac_bridge.transforms.kernel import source_of

    if args.provider == "stac":
        return
    adapter = get_adapter(args.provider)
    for name in args.inputs:
        if name == "-":
            continue  # stdin cannot be read twice
        try:
            head = list(itertools.islice(read_records(name), 20))
        except StacBridgeError:
            continue  # the conversion reports it
        for record in head:
            # Capella's own items are STAC 1.0 already: they are to convert until stac-bridge has normalised them;
            # and an adapter may take some STAC as it is (Capella's collections): only what it refuses is refused.
            if is_stac(record) and recognise(record) is None and not _classifies(adapter, record):
                made = " made by stac-bridge" if source_of(record) is not None else ""
                raise ConfigError(f"{name} holds STAC{made} ({record.get('type')} {record.get('id')!r}), not "
                                  f"{args.provider} records: did you mean `stac-bridge export {args.provider} "
                                  f"{name}`?")


def _refuse_provider_input(args: argparse.Namespace) -> None:
    """``export`` given a provider's own records: ``convert`` was meant.

    Raises:
        ConfigError: the first records of an input are a provider's records.
    """
    import itertools

    from stac_bridge.errors import ConfigError
    from stac_bridge.harvest.files import read_records
    from stac_bridge.recognise import first_recognised

    for name in args.inputs:
        if name == "-":
            continue
        try:
            found = first_recognised(itertools.islice(read_records(name), 20))
        except StacBridgeError:
            continue
        if found is not None:
            raise ConfigError(f"{name}: this is a {found.provider} {found.kind}, not STAC: did you mean "
                              f"`stac-bridge convert {found.provider} {name}`?")


def _classifies(adapter: Any, record: Any) -> bool:
    from stac_bridge.errors import TransformError

    try:
        adapter.classify(record)
    except TransformError:
        return False
    return True


def _cmd_convert(args: argparse.Namespace, *, reverse: bool = False) -> int:
    from stac_bridge.harvest.engine import adapter_transform, export_transform, run_harvest
    from stac_bridge.harvest.files import FileSource
    from stac_bridge.harvest.sinks import NdjsonSink, StreamSink
    from stac_bridge.registry import get_adapter

    if reverse:
        _refuse_provider_input(args)
    else:
        _refuse_stac_input(args)
    adapter = get_adapter(args.provider)
    transform = export_transform(adapter) if reverse else adapter_transform(adapter)
    if reverse:
        from stac_bridge.migrate.commands import registration

        transform = registration(args, transform)
    dead_path = _dead_letter_path(args, args.out)
    source = FileSource(args.inputs, adapter=args.provider, classify=not reverse)
    out_file = None if args.out == "-" else NdjsonSink(args.out, atomic=True)
    sink: Any = StreamSink(sys.stdout.buffer) if out_file is None else out_file
    label = f"{args.command} {args.provider}"
    from stac_bridge.rasters.commands import enriching, report_enrichment

    sinks, enricher = enriching(args, [sink])
    try:
        with _Refusals() as refusals:
            summary = _run_with_progress(label, lambda update: run_harvest(
                source, sinks, transform=transform, dead_letters=NdjsonSink(dead_path, create_empty=False),
                since=None, concurrency=1, progress=update))
    except BaseException as exc:
        if out_file is not None:
            out_file.discard()  # an earlier file of the same name stays as it was
        if isinstance(exc, KeyboardInterrupt):
            kept = f"{args.out} is unchanged" if out_file is not None else "the records so far went to stdout"
            _say(f"interrupted: {label}: {kept}; run it again: {_continue_command(args)}")
            return EXIT_INTERRUPTED
        raise
    if out_file is not None:
        out_file.commit()
    report_enrichment(enricher)
    if reverse:
        from stac_bridge.migrate.commands import report_registration

        report_registration(args, transform)
    _report_refusals(refusals, dead_path)
    return _report(summary, label, dead_path, args.out != "-")


def _cmd_export(args: argparse.Namespace) -> int:
    return _cmd_convert(args, reverse=True)


def _add_convert(sub: Any) -> None:
    from stac_bridge.registry import list_adapters

    adapters = list_adapters()
    for name, func, what, reads in (
        ("convert", _cmd_convert, "provider records (JSON, ndjson) to STAC ndjson, offline",
         "saved provider records (JSON, ndjson; list collections, products and bands before the tiles and "
         "images that need them)"),
        ("export", _cmd_export, "STAC (JSON, ndjson) to the provider's records as ndjson, offline",
         "STAC items and collections (JSON, ndjson)"),
    ):
        parser = sub.add_parser(name, help=what, formatter_class=_HelpFormatter,
                                description=f"{what[0].upper()}{what[1:]}. Records that fail go to the dead "
                                "letters (beside --out), the others are written; --out is replaced only when "
                                "the run succeeds.")
        parser.add_argument("provider", metavar="PROVIDER", choices=adapters, help=f"one of: {', '.join(adapters)}")
        parser.add_argument("inputs", nargs="+", metavar="INPUT", help=f"{reads}; - for stdin")
        parser.add_argument("--out", default="-", metavar="FILE", help="ndjson file, or - for stdout")
        parser.add_argument("--dead-letters", metavar="FILE", help="records that failed to transform (default: "
                            "<out>.dead-letters.ndjson, or dead-letters/ in the project's .stac-bridge/)")
        if name == "convert":
            from stac_bridge.rasters.commands import add_enrich_options

            add_enrich_options(parser)
        else:
            from stac_bridge.migrate.commands import add_export_options

            add_export_options(parser)
        parser.set_defaults(func=func)


def _cmd_providers(args: argparse.Namespace) -> int:
    import json

    from stac_bridge.plugin import ENTRY_POINT_GROUP, providers

    found = providers()
    if args.json:
        print(json.dumps([{"name": p.name, "title": p.title, "kinds": [str(k) for k in p.kinds],
                           "can": p.capabilities()} for p in found.values()], indent=2))
        return EXIT_OK
    for provider in found.values():
        print(f"{provider.name:<12} {provider.title}")
        print(f"{'':<12} records: {', '.join(map(str, provider.kinds)) or '-'}")
        print(f"{'':<12} can: {', '.join(provider.capabilities())}")
    _say(f"{len(found)} providers installed (entry-point group {ENTRY_POINT_GROUP})")
    return EXIT_OK


def _add_providers(sub: Any) -> None:
    parser = sub.add_parser("providers", help="list the installed providers and what each can do",
                            formatter_class=_HelpFormatter,
                            description="Every provider installed under the entry-point group "
                            "stac_bridge.providers (the built-in ones and third parties'), with its record kinds "
                            "and what it can do: convert, export, harvest, query translation, a compatible "
                            "endpoint, queryables. See docs/ARCHITECTURE.md, 'How to add a provider'.")
    parser.add_argument("--json", action="store_true", help="as JSON")
    parser.set_defaults(func=_cmd_providers)


# -- main --------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``stac-bridge``."""
    parser = argparse.ArgumentParser(
        prog="stac-bridge",
        description="Translate, harvest, load and serve non-STAC Earth-observation catalogs as one STAC catalog.",
        epilog="Exit status: 0 done, 1 done but some records failed, 2 an error, 3 db status/url: not running, "
        "130 interrupted. See docs/cli.md.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_db, _add_load, _add_serve, _add_validate, _add_harvest, _add_convert, _add_providers):
        add(sub)
    from stac_bridge.migrate.commands import add_migrate
    from stac_bridge.rasters.commands import add_from_raster

    add_from_raster(sub, _HelpFormatter)
    add_migrate(sub, _HelpFormatter)
    return parser


def _glue_negative_values(argv: Sequence[str]) -> list[str]:
    """``--bbox -97,38,-91,44`` as ``--bbox=-97,...``: argparse would take the value for an option."""
    glued: list[str] = []
    for arg in argv:
        if glued and glued[-1] == "--bbox" and arg.startswith("-") and arg[1:2].isdigit():
            glued[-1] = f"--bbox={arg}"
        else:
            glued.append(arg)
    return glued


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring and ``docs/cli.md``)."""
    given = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(_glue_negative_values(given))
    args.argv = given
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Command = args.func
    try:
        return func(args)
    except StacBridgeError as exc:
        _say(f"stac-bridge: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
