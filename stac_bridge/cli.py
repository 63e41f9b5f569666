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
from typing import Any

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
    from stac_bridge.pgstac.loader import LoadSummary, PgstacLoader

    url = database_url(start=args.start_db)
    with PgstacLoader(url, mode=args.mode, batch_size=args.batch_size) as loader, \
            _progress(None, "items", "loading") as bar:

        def advance(batch: LoadSummary) -> None:
            bar.update(batch.loaded + batch.unchanged + batch.failed)

        summary = loader.load_paths(args.paths, on_batch=advance)
    for error in summary.errors[:50]:
        print(f"failed: {error}", file=sys.stderr)
    if len(summary.errors) > 50:
        print(f"... and {len(summary.errors) - 50} more failures", file=sys.stderr)
    print(summary)
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
    for add in (_add_db, _add_load, _add_serve, _add_validate):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some records failed, 2 an error)."""
    args = build_parser().parse_args(argv)
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
