"""The ``stac-bridge`` command: it parses arguments and calls the layers, nothing more.

Subcommands: ``db`` (up, down, status, url), ``load``, ``serve``, ``validate``, and the harvest commands
(``harvest``, ``convert``, ``export``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from stac_bridge import __version__
from stac_bridge.errors import StacBridgeError

log = logging.getLogger("stac_bridge")

Command = Callable[[argparse.Namespace], int]


def _progress(total: int | None, unit: str, desc: str) -> Any:
    """A progress bar on a terminal; nothing otherwise (the one-line summary suffices in logs)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not sys.stderr.isatty(), leave=False)


# -- db ----------------------------------------------------------------------------------------------------

def _cmd_db(args: argparse.Namespace) -> int:
    from stac_bridge.pgstac.database import ManagedCluster, configured_url, default_home

    external = configured_url()
    cluster = ManagedCluster(Path(args.home) if args.home else default_home())
    if args.action == "url":
        if external:
            print(external)
            return 0
        status = cluster.status()
        if not status.running:
            print(f"not running: {status.detail}", file=sys.stderr)
            return 1
        print(cluster.url())
        return 0
    if external and args.action in ("up", "down"):
        print("STAC_BRIDGE_DATABASE_URL (or PG*) is set: that database is used, nothing is managed here.")
        if args.action == "up":
            from stac_bridge.pgstac.database import migrate

            print(f"pgstac {migrate(external)} in the configured database")
        return 0
    if args.action == "up":
        print(cluster.up())
    elif args.action == "down":
        print(cluster.down())
    elif args.action == "destroy":
        print(cluster.destroy())
    else:
        status = cluster.status()
        print(status.detail)
        return 0 if status.running else 3
    return 0


def _add_db(sub: Any) -> None:
    parser = sub.add_parser("db", help="the managed PostgreSQL + PostGIS + pgstac database")
    parser.add_argument("action", choices=["up", "down", "status", "url", "destroy"])
    parser.add_argument("--home", help="cluster home (default: $STAC_BRIDGE_HOME or ./.stac-bridge)")
    parser.set_defaults(func=_cmd_db)


# -- load --------------------------------------------------------------------------------------------------

def _cmd_load(args: argparse.Namespace) -> int:
    from stac_bridge.pgstac.database import database_url
    from stac_bridge.pgstac.loader import LoadInterrupted, LoadSummary, PgstacLoader

    url = database_url(start=args.start_db)
    interrupted: LoadInterrupted | None = None
    with PgstacLoader(url, mode=args.mode, batch_size=args.batch_size) as loader, \
            _progress(None, "items", "loading") as bar:

        def advance(batch: LoadSummary) -> None:
            bar.update(batch.loaded + batch.unchanged + batch.failed)

        try:
            summary = loader.load_paths(args.paths, on_batch=advance)
        except LoadInterrupted as exc:  # what was committed before is said all the same
            interrupted, summary = exc, exc.summary
    for error in summary.errors[:50]:
        print(f"failed: {error}", file=sys.stderr)
    if len(summary.errors) > 50:
        print(f"... and {len(summary.errors) - 50} more failures", file=sys.stderr)
    print(summary)
    if interrupted is not None:
        raise interrupted
    return 1 if summary.failed else 0


def _add_load(sub: Any) -> None:
    parser = sub.add_parser("load", help="load STAC collections and items (JSON, ndjson, directories) into pgstac")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--mode", choices=["upsert", "insert-ignore"], default="upsert")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--start-db", action="store_true", help="bring the managed database up first if needed")
    parser.set_defaults(func=_cmd_load)


# -- serve -------------------------------------------------------------------------------------------------

def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from stac_bridge.pgstac.database import ManagedCluster, configured_url, default_home
    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    settings = ServerSettings()
    url = settings.database_url.get_secret_value() if settings.database_url else configured_url()
    if not url:
        cluster = ManagedCluster(default_home())
        print(cluster.up(), file=sys.stderr)
        url = cluster.url()
    app = create_app(settings, database_url=url)
    print(f"serving the STAC API on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1)
    return 0


def _add_serve(sub: Any) -> None:
    parser = sub.add_parser("serve", help="serve the catalog as a STAC API (stac-fastapi-pgstac)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(func=_cmd_serve)


# -- validate ----------------------------------------------------------------------------------------------

def _cmd_validate(args: argparse.Namespace) -> int:
    from stac_bridge.errors import ValidationError
    from stac_bridge.pgstac.loader import read_stac
    from stac_bridge.validate import Validator

    validator = Validator(args.schemas)
    valid = invalid = 0
    for stac in read_stac(args.paths):
        try:
            validator.validate(stac)
        except ValidationError as exc:
            invalid += 1
            print(f"invalid: {exc.object_id}", file=sys.stderr)
            for problem in exc.errors:
                print(f"  {problem}", file=sys.stderr)
        else:
            valid += 1
    print(f"{valid} valid, {invalid} invalid")
    return 1 if invalid else 0


def _add_validate(sub: Any) -> None:
    parser = sub.add_parser("validate", help="validate STAC items and collections against their JSON schemas")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument(
        "--schemas",
        metavar="DIR",
        help="validate offline against this schema directory (with index.json); online otherwise",
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
    if args.dead_letters:
        return Path(args.dead_letters)
    if out and out != "-":
        return Path(out).with_suffix(".dead-letters.ndjson")
    return Path(f"{args.provider}-dead-letters.ndjson")


def _outputs(out: str | None) -> list[Any]:
    from stac_bridge.harvest.sinks import NdjsonSink, StreamSink

    if out is None:
        return []
    return [StreamSink(sys.stdout.buffer) if out == "-" else NdjsonSink(out)]


def _run_with_progress(desc: str, run: Callable[[Callable[[Any], None]], Any]) -> Any:
    """Run a harvest with a progress bar (records, pages, rate, errors) on a terminal."""
    with _progress(None, "records", desc) as bar:

        def update(progress: Any) -> None:
            if progress.total is not None:
                bar.total = progress.total
            bar.n = progress.records
            bar.set_postfix(pages=progress.pages, errors=progress.errors, refresh=False)
            bar.refresh()

        return run(update)


def _report(summary: Any, dead_letters: Path, to_stdout: bool) -> int:
    print(summary, file=sys.stdout if to_stdout else sys.stderr)
    if summary.errors:
        print(f"{summary.errors} records refused: see {dead_letters}", file=sys.stderr)
    return 1 if summary.errors else 0


def _cmd_harvest(args: argparse.Namespace) -> int:
    import datetime

    from stac_bridge.errors import ConfigError
    from stac_bridge.harvest import SourceOptions, create_source
    from stac_bridge.harvest.engine import LAST_RUN, HarvestState, run_harvest
    from stac_bridge.harvest.http import RetryPolicy
    from stac_bridge.harvest.sinks import NdjsonSink
    from stac_bridge.pgstac.database import default_home

    if args.out is None and not args.load:
        raise ConfigError("say where the records go: --out FILE, --out - (stdout) and/or --load")
    extra = {**dict(args.option), "headers": dict(args.header), "method": args.method}
    options = SourceOptions(args.url, collections=args.collection, bbox=args.bbox, datetime=args.datetime,
                            page_size=args.page_size, timeout=args.timeout,
                            retry=RetryPolicy(attempts=args.retries + 1), extra=extra)
    sinks = _outputs(args.out)
    if args.load:
        from stac_bridge.pgstac.database import database_url
        from stac_bridge.pgstac.loader import PgstacLoader

        sinks.append(PgstacLoader(database_url(start=args.start_db)))
    dead_path = _dead_letter_path(args, args.out)
    state = HarvestState(Path(args.state_dir) if args.state_dir else default_home() / "harvest")
    since: datetime.datetime | Literal["last-run"] | None = LAST_RUN
    if args.full or args.since:
        since = args.since
    source = create_source(args.provider, options)
    try:
        summary = _run_with_progress(f"harvest {args.provider}", lambda update: run_harvest(
            source, sinks, dead_letters=NdjsonSink(dead_path, create_empty=False), state=state,
            resume=args.resume, since=since, concurrency=args.concurrency, batch_size=args.batch_size,
            progress=update, workers=args.workers))
    finally:
        source.close()
    return _report(summary, dead_path, args.out != "-")


def _add_harvest(sub: Any) -> None:
    parser = sub.add_parser("harvest", help="harvest a provider API into STAC (ndjson and/or pgstac)")
    parser.add_argument("provider", metavar="PROVIDER", help="a harvest source: stac, byoc, descartes, "
                        "opensearch or capella (credentials from the environment: see docs/harvesting.md)")
    parser.add_argument("--url", default="", help="the API root (default: the provider's service; "
                        "a STAC API's landing page for stac)")
    parser.add_argument("--collection", action="append", default=[], metavar="ID", help="repeatable")
    parser.add_argument("--bbox", type=_bbox, metavar="W,S,E,N")
    parser.add_argument("--datetime", metavar="INTERVAL", help="e.g. 2024-01-01/2024-02-01")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--since", type=_instant, metavar="DATETIME",
                      help="only records changed since (default: the start of the last complete run)")
    when.add_argument("--full", action="store_true", help="everything, ignoring the last run")
    parser.add_argument("--out", metavar="FILE", help="ndjson file, or - for stdout")
    parser.add_argument("--load", action="store_true", help="load into the pgstac database")
    parser.add_argument("--start-db", action="store_true", help="bring the managed database up first if needed")
    parser.add_argument("--concurrency", type=int, default=4, metavar="N", help="pages fetched at once (4)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes transforming pages at once (1); up to the cores for large harvests")
    parser.add_argument("--resume", action="store_true", help="continue the killed run of the same query")
    parser.add_argument("--dead-letters", metavar="FILE", help="records that failed to transform")
    parser.add_argument("--state-dir", metavar="DIR", help="checkpoints (default: $STAC_BRIDGE_HOME/harvest)")
    parser.add_argument("--page-size", type=int, metavar="N")
    parser.add_argument("--batch-size", type=int, default=500, metavar="N", help="records per write/checkpoint")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--retries", type=int, default=5, metavar="N")
    parser.add_argument("--method", choices=["GET", "POST"], help="stac: force the search method")
    parser.add_argument("--header", type=_header, action="append", default=[], metavar="'NAME: VALUE'",
                        help="sent with every request (repeatable)")
    parser.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                        help="a source's own option, VALUE as JSON or text (repeatable), e.g. descartes: api=v1, "
                        "max_cloud_cover=20; opensearch: filter='<CQL2 JSON>'")
    parser.set_defaults(func=_cmd_harvest)


def _cmd_convert(args: argparse.Namespace, *, reverse: bool = False) -> int:
    from stac_bridge.harvest.engine import adapter_transform, export_transform, run_harvest
    from stac_bridge.harvest.files import FileSource
    from stac_bridge.harvest.sinks import NdjsonSink
    from stac_bridge.registry import get_adapter

    adapter = get_adapter(args.provider)
    transform = export_transform(adapter) if reverse else adapter_transform(adapter)
    dead_path = _dead_letter_path(args, args.out)
    source = FileSource(args.inputs, adapter=args.provider, classify=not reverse)
    summary = _run_with_progress("export" if reverse else "convert", lambda update: run_harvest(
        source, _outputs(args.out), transform=transform, dead_letters=NdjsonSink(dead_path, create_empty=False),
        since=None, concurrency=1, progress=update))
    return _report(summary, dead_path, args.out != "-")


def _cmd_export(args: argparse.Namespace) -> int:
    return _cmd_convert(args, reverse=True)


def _add_convert(sub: Any) -> None:
    for name, func, what in (
        ("convert", _cmd_convert, "provider records (JSON, ndjson) to STAC ndjson, offline"),
        ("export", _cmd_export, "STAC (JSON, ndjson) to the provider's records as ndjson, offline"),
    ):
        parser = sub.add_parser(name, help=what)
        parser.add_argument("provider", metavar="PROVIDER", help="an adapter name")
        parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, or - for stdin")
        parser.add_argument("--out", default="-", metavar="FILE", help="ndjson file, or - for stdout (default)")
        parser.add_argument("--dead-letters", metavar="FILE", help="records that failed to transform")
        parser.set_defaults(func=func)


# -- main --------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``stac-bridge``."""
    parser = argparse.ArgumentParser(
        prog="stac-bridge",
        description="Translate, harvest, load and serve non-STAC Earth-observation catalogs as one STAC catalog.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_db, _add_load, _add_serve, _add_validate, _add_harvest, _add_convert):
        add(sub)
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
    """Run the command line; returns the exit status (0 ok, 1 some records failed, 2 an error)."""
    args = build_parser().parse_args(_glue_negative_values(sys.argv[1:] if argv is None else argv))
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Command = args.func
    try:
        return func(args)
    except StacBridgeError as exc:
        print(f"stac-bridge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
