"""``stac-bridge from-raster``: a folder of COGs as a STAC Collection and its Items (ndjson and/or pgstac).

Kept beside the raster code so that :mod:`stac_bridge.cli` only adds the subcommand; it reuses the CLI's
helpers (the help format, atomic output, the exit statuses).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from stac_bridge.errors import ConfigError, StacBridgeError

__all__ = ["add_enrich_options", "add_from_raster", "enriching", "expand_inputs", "write_records"]

_TIFF_SUFFIXES: Final = (".tif", ".tiff", ".gtiff")


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files and URLs as given; a directory as its GeoTIFFs (``*.tif``, ``*.tiff``), sorted.

    Raises:
        ConfigError: a local path does not exist, or a directory holds no GeoTIFF.
    """
    found: list[str] = []
    for raw in inputs:
        if "://" in raw:
            found.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(str(p.resolve()) for p in path.rglob("*") if p.suffix.lower() in _TIFF_SUFFIXES)
            if not files:
                raise ConfigError(f"{raw}: the directory holds no GeoTIFF (*.tif, *.tiff)")
            found.extend(files)
        elif path.exists():
            found.append(str(path.resolve()))
        else:
            raise ConfigError(f"{raw}: no such file")
    return found


def write_records(records: Iterable[Mapping[str, Any]], out: str) -> int:
    """Write records as ndjson to ``out`` (``-``: stdout), atomically: a failure leaves an earlier file as it was."""
    from stac_bridge.harvest.sinks import NdjsonSink, StreamSink

    batch = [dict(r) for r in records]
    if out == "-":
        stream = StreamSink(sys.stdout.buffer)
        stream.write(batch)
        stream.close()
        return len(batch)
    sink = NdjsonSink(out, atomic=True)
    try:
        sink.open(None)
        sink.write(batch)
        sink.close()
    except BaseException:
        sink.discard()
        raise
    sink.commit()
    return len(batch)


def _items(args: argparse.Namespace, failures: list[str]) -> Iterator[dict[str, Any]]:
    from stac_bridge.rasters.items import group_files, item_from_files

    for item_id, files in group_files(expand_inputs(args.inputs), args.group).items():
        try:
            yield item_from_files(item_id, files, args.collection, when=args.datetime,
                                  check_cog=not args.allow_non_cog)
        except StacBridgeError as exc:
            failures.append(f"item {item_id}: {exc}")


def _cmd_from_raster(args: argparse.Namespace) -> int:
    from stac_bridge.cli import EXIT_FAILED_RECORDS, EXIT_OK, _say

    try:
        import rasterio  # noqa: F401
        import rio_stac  # noqa: F401
    except ModuleNotFoundError as exc:
        from stac_bridge.rasters import RASTER_EXTRA

        raise ConfigError(f"from-raster needs the raster extra ({exc.name} is missing): {RASTER_EXTRA}") from None
    from stac_bridge.rasters.items import collection_for

    if args.out is None and not args.load:
        args.out = "-"
    failures: list[str] = []
    items = list(_items(args, failures))
    for failure in failures:
        _say(f"failed: {failure}")
    if not items:
        raise ConfigError(f"no item could be made from {len(failures)} inputs (see above)")
    collection = collection_for(args.collection, items, title=args.title, description=args.description)
    if args.out is not None:
        write_records([collection, *items], args.out)
    if args.load:
        from stac_bridge.pgstac.database import locate_database
        from stac_bridge.pgstac.loader import PgstacLoader

        database = locate_database(start=args.start_db, create=args.start_db)
        _say(f"database: {database.description}" + (" (started now)" if database.started else ""))
        with PgstacLoader(database.url) as loader:
            summary = loader.load_collections([collection])
            summary.add(loader.load_items(items))
        _say(f"from-raster into pgstac: {summary}")
        failures.extend(summary.errors)
    _say(f"from-raster: 1 collection and {len(items)} items from {sum(len(i['assets']) for i in items)} files"
         + (f"; {len(failures)} failed" if failures else ""))
    return EXIT_FAILED_RECORDS if failures else EXIT_OK


def add_from_raster(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``from-raster`` to the subcommands."""
    parser = sub.add_parser(
        "from-raster", help="cloud-optimized GeoTIFFs (files, directories, URLs) as a STAC Collection and Items",
        formatter_class=formatter,
        description="One Item per file (asset `data`), or one per scene of band files (--group); rio-stac reads "
        "projection, raster and eo information, written as STAC 1.1 (proj:code, bands). Each file is checked to "
        "be a COG. Writes the Collection first, then the Items; see docs/cli.md.",
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_URL",
                        help="GeoTIFFs: paths, directories (their *.tif), http(s)://, s3:// or gs:// URLs")
    parser.add_argument("--collection", required=True, metavar="ID", help="the Collection's id")
    parser.add_argument("--out", metavar="FILE", help="ndjson file, or - for stdout (the default without --load)")
    parser.add_argument("--load", action="store_true", help="load into the pgstac database")
    parser.add_argument("--start-db", action="store_true",
                        help="start the project's managed database first (created when there is none)")
    parser.add_argument("--group", metavar="REGEX",
                        help="one Item per scene of single-band files: a regular expression searched in each file "
                        "name with the groups (?P<id>...) and (?P<band>...), e.g. '(?P<id>.+)_(?P<band>B\\d+)\\.tif$'")
    parser.add_argument("--datetime", metavar="DATETIME",
                        help="the Items' datetime (RFC 3339) where a file has no TIFFTAG_DATETIME")
    parser.add_argument("--title", help="the Collection's title (default: its id)")
    parser.add_argument("--description", help="the Collection's description")
    parser.add_argument("--allow-non-cog", action="store_true",
                        help="describe GeoTIFFs that are not cloud-optimized instead of refusing them")
    parser.set_defaults(func=_cmd_from_raster)


# --- --enrich on harvest and convert ---------------------------------------------------------------------------

def add_enrich_options(parser: argparse.ArgumentParser) -> None:
    """``--enrich`` and ``--enrich-workers`` (``harvest``, ``convert``)."""
    from stac_bridge.cli import _at_least

    parser.add_argument("--enrich", action="store_true",
                        help="fill proj:shape/transform/code and band data_type/nodata/statistics that the provider "
                        "left out from each GeoTIFF asset's header (HTTP range reads; s3/gs with credentials)")
    parser.add_argument("--enrich-workers", type=_at_least(1), default=8, metavar="N",
                        help="headers read at once with --enrich")


def enriching(args: argparse.Namespace, sinks: list[Any]) -> tuple[list[Any], Any]:
    """The sinks, each enriching its batches first when ``--enrich`` is given; and the enricher (or ``None``).

    Raises:
        ConfigError: ``--enrich`` without the raster extra.
    """
    if not getattr(args, "enrich", False):
        return sinks, None
    try:
        import rasterio  # noqa: F401
    except ModuleNotFoundError:
        from stac_bridge.rasters import RASTER_EXTRA

        raise ConfigError(f"--enrich needs the raster extra (rasterio is missing): {RASTER_EXTRA}") from None
    from stac_bridge.rasters.enrich import Enricher, EnrichingSink

    enricher = Enricher(args.enrich_workers)
    return [EnrichingSink(sink, enricher) for sink in sinks], enricher


def report_enrichment(enricher: Any) -> None:
    """Say what ``--enrich`` did (stderr), and stop its threads."""
    if enricher is None:
        return
    enricher.close()
    print(enricher.summary, file=sys.stderr)
