"""``export --bucket`` and ``stac-bridge migrate``: one provider's catalog as STAC and as another's payloads.

``export byoc``/``export descartes`` of STAC of any origin go through :mod:`stac_bridge.migrate.prepare` first
(:class:`RegistrationTransform`), then through the target's own transform. ``migrate descartes byoc --product
ID`` chains the harvest (or the conversion of saved records, ``--from``), the STAC, and the target's payloads,
with the files to copy and a report of what could not be carried over and why.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from stac_bridge.errors import ConfigError
from stac_bridge.migrate.prepare import Bucket, Loss, Move, Prepared, for_byoc, for_descartes, parse_bucket, summarise

__all__ = ["RegistrationTransform", "add_export_options", "add_migrate", "registration"]

TARGETS: Final = ("byoc", "descartes")
SOURCES: Final = ("descartes", "byoc")


class RegistrationTransform:
    """An export transform that first puts STAC in the shape the target reads, noting losses and files to copy.

    Args:
        inner: The target's export transform (STAC -> its records).
        target: ``byoc`` or ``descartes``.
        bucket: For BYOC, where the files go in S3.
    """

    def __init__(self, inner: Callable[[Any], Any], target: str, bucket: Bucket | None = None) -> None:
        self.inner = inner
        self.target = target
        self.bucket = bucket
        self.losses: list[Loss] = []
        self.moves: list[Move] = []

    def prepare(self, stac: Mapping[str, Any]) -> Prepared:
        """The object in the target's shape (see :func:`~stac_bridge.migrate.prepare.for_byoc`)."""
        return for_byoc(stac, self.bucket) if self.target == "byoc" else for_descartes(stac)

    def __call__(self, raw: Any) -> Any:
        """Prepare a STAC object, then translate it with the target's transform."""
        stac = getattr(raw, "data", raw)
        if not isinstance(stac, Mapping):
            return self.inner(raw)
        prepared = self.prepare(stac)
        result = self.inner(prepared.stac)
        self.losses.extend(prepared.losses)
        self.moves.extend(prepared.moves)
        return result


def registration(args: argparse.Namespace, transform: Any) -> Any:
    """The export transform of ``export byoc``/``export descartes`` wrapped in a :class:`RegistrationTransform`."""
    if args.provider not in TARGETS:
        if getattr(args, "bucket", None):
            raise ConfigError(f"--bucket is for export byoc, not export {args.provider}")
        return transform
    bucket = parse_bucket(args.bucket) if getattr(args, "bucket", None) else None
    if bucket is not None and args.provider != "byoc":
        raise ConfigError("--bucket is for export byoc (BYOC reads files from S3)")
    return RegistrationTransform(transform, args.provider, bucket)


def write_copy_plan(moves: Sequence[Move], path: Path) -> None:
    """The files to copy, ``source<TAB>destination<TAB>action`` a line (written beside, then renamed).

    ``action`` is ``copy``, or ``to-cog``: make a COG of it on the way (``gdal_translate -of COG``).
    """
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(f"{m.source}\t{m.destination}\t{m.action}\n" for m in dict.fromkeys(moves)))
    partial.replace(path)


def report_registration(args: argparse.Namespace, transform: Any) -> None:
    """After ``export``: what was not carried over (stderr), and the copy plan (``--copy-plan``)."""
    if not isinstance(transform, RegistrationTransform):
        return
    for field, reason, count in summarise(transform.losses)[:20]:
        print(f"not carried over to {transform.target}: {field} ({count} records): {reason}", file=sys.stderr)
    if transform.moves:
        if args.copy_plan:
            write_copy_plan(transform.moves, Path(args.copy_plan))
            print(f"{len(set(transform.moves))} files to copy to S3 before the tiles are created: {args.copy_plan}",
                  file=sys.stderr)
        else:
            print(f"{len(set(transform.moves))} files must be copied to S3 before the tiles are created: "
                  "--copy-plan FILE lists them", file=sys.stderr)


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """``--bucket`` and ``--copy-plan`` of ``export``."""
    parser.add_argument("--bucket", metavar="s3://BUCKET/PREFIX",
                        help="byoc: where the files will be in S3; data assets elsewhere get hrefs "
                        "<bucket>/<prefix><item>/<asset>.tif (with --copy-plan, the copies to make)")
    parser.add_argument("--copy-plan", metavar="FILE",
                        help="byoc: write the files to copy, source<TAB>destination<TAB>copy|to-cog")


# --- migrate ---------------------------------------------------------------------------------------------------

class _Collect:
    """A harvest sink that keeps the records in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        self.records.extend(batch)

    def close(self) -> None:
        return


def _stac(args: argparse.Namespace, dead_letters: Path) -> tuple[list[dict[str, Any]], Any, Any]:
    """The source's STAC (harvested, or converted from ``--from`` files), its summary and the enricher."""
    from stac_bridge.harvest.engine import adapter_transform, run_harvest
    from stac_bridge.harvest.sinks import NdjsonSink
    from stac_bridge.rasters.commands import enriching

    sink = _Collect()
    sinks, enricher = enriching(args, [sink])
    dead = NdjsonSink(dead_letters, create_empty=False)
    if args.from_files:
        from stac_bridge.harvest.files import FileSource

        source: Any = FileSource(args.from_files, adapter=args.source, classify=True)
        summary = run_harvest(source, sinks, transform=adapter_transform(args.source), dead_letters=dead,
                              since=None, concurrency=1)
    else:
        from stac_bridge.harvest import SourceOptions, create_source

        if not args.product:
            raise ConfigError("say what to migrate: --product ID (harvested from --url), or --from FILE...")
        options = SourceOptions(args.url, collections=[args.product], extra=dict(args.option))
        source = create_source(args.source, options)
        try:
            summary = run_harvest(source, sinks, dead_letters=dead, since=None)
        finally:
            source.close()
    records = sink.records
    if args.product:
        # BYOC's STAC ids are byoc-<uuid>; the product's own records only (saved files may hold others).
        wanted = {args.product, f"byoc-{args.product}"}
        records = [r for r in records if (r.get("id") if r.get("type") == "Collection" else r.get("collection"))
                   in wanted]
    return records, summary, enricher


def _payloads(records: Sequence[dict[str, Any]], target: str,
              bucket: Bucket | None) -> tuple[list[dict[str, Any]], RegistrationTransform, list[str]]:
    from stac_bridge.harvest.engine import export_transform

    transform = RegistrationTransform(export_transform(target), target, bucket)
    payloads: list[dict[str, Any]] = []
    failures: list[str] = []
    for record in records:
        try:
            made = transform(record)
        except Exception as exc:  # one record that cannot be expressed never stops the others
            failures.append(f"{record.get('type')} {record.get('id')}: {type(exc).__name__}: {exc}")
            continue
        payloads.extend(made if isinstance(made, list) else [made])
    return payloads, transform, failures


def _report(args: argparse.Namespace, records: Sequence[Mapping[str, Any]], payloads: Sequence[Any],
            transform: RegistrationTransform, failures: Sequence[str], enricher: Any) -> str:
    items = sum(1 for r in records if r.get("type") == "Feature")
    lines = [f"# Migration of {args.product or ', '.join(args.from_files)}: {args.source} -> {args.target}", "",
             f"- STAC: {len(records) - items} collection(s), {items} items (`stac.ndjson`)",
             f"- {args.target} payloads: {len(payloads)} (`{args.target}.ndjson`)",
             f"- records that could not be expressed in {args.target}: {len(failures)}"]
    if enricher is not None:
        lines.append(f"- {enricher.summary}")
    if transform.moves:
        lines.append(f"- files to copy before the tiles are created: {len(set(transform.moves))} (`copy-plan.tsv`)")
    if failures:
        lines += ["", "## Not migrated", ""] + [f"- {f}" for f in failures]
    losses = summarise(transform.losses)
    if losses:
        lines += ["", "## Not carried over", "", "| field | records | why |", "| --- | ---: | --- |"]
        lines += [f"| `{field}` | {count} | {reason} |" for field, reason, count in losses]
    return "\n".join(lines) + "\n"


def _cmd_migrate(args: argparse.Namespace) -> int:
    from stac_bridge.cli import EXIT_FAILED_RECORDS, EXIT_OK, _say
    from stac_bridge.rasters.commands import report_enrichment, write_records

    if args.source == args.target:
        raise ConfigError(f"migrate {args.source} {args.target}: the source and the target are the same provider")
    bucket = parse_bucket(args.bucket) if args.bucket else None
    if bucket is not None and args.target != "byoc":
        raise ConfigError("--bucket is for migrating to byoc (BYOC reads files from S3)")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records, summary, enricher = _stac(args, out / "dead-letters.ndjson")
    report_enrichment(enricher)
    if not records:
        raise ConfigError(f"nothing to migrate: {summary}")
    # Collections first: the target creates a collection (product) before its tiles (images).
    records.sort(key=lambda r: r.get("type") != "Collection")
    write_records(records, str(out / "stac.ndjson"))
    payloads, transform, failures = _payloads(records, args.target, bucket)
    write_records(payloads, str(out / f"{args.target}.ndjson"))
    if transform.moves:
        write_copy_plan(transform.moves, out / "copy-plan.tsv")
    report = _report(args, records, payloads, transform, failures, enricher)
    (out / "report.md").write_text(report)
    (out / "report.json").write_text(json.dumps({
        "failures": list(failures),
        "not_carried_over": [{"field": f, "reason": r, "records": n} for f, r, n in summarise(transform.losses)],
        "copies": len(set(transform.moves)),
    }, indent=2) + "\n")
    for failure in failures[:20]:
        _say(f"failed: {failure}")
    _say(f"migrate {args.source} {args.target}: {len(records)} STAC records, {len(payloads)} {args.target} "
         f"payloads, {len(failures)} not migrated, {len(summarise(transform.losses))} fields not carried over; "
         f"see {out / 'report.md'}")
    return EXIT_FAILED_RECORDS if failures or summary.errors else EXIT_OK


def add_migrate(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``migrate`` to the subcommands."""
    from stac_bridge.cli import _option
    from stac_bridge.rasters.commands import add_enrich_options

    parser = sub.add_parser(
        "migrate", help="a provider's product as STAC and as another provider's registration payloads",
        formatter_class=formatter,
        description="Harvests the product (or converts saved records, --from), writes its STAC, the target's "
        "payloads (BYOC create-collection/create-tile JSON; DL add_product/add_band/add_image calls), the files "
        "to copy and a report of what could not be carried over, into --out-dir. See "
        "docs/migrate-descartes-to-byoc.md.",
    )
    parser.add_argument("source", choices=SOURCES, metavar="SOURCE", help=f"one of: {', '.join(SOURCES)}")
    parser.add_argument("target", choices=TARGETS, metavar="TARGET", help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument("--product", metavar="ID", help="the product (DL) or collection (BYOC) to migrate")
    parser.add_argument("--url", default="", help="the source's API root (default: the provider's service)")
    parser.add_argument("--from", dest="from_files", nargs="+", default=[], metavar="FILE",
                        help="saved provider records to convert instead of harvesting (products and bands first)")
    parser.add_argument("--bucket", metavar="s3://BUCKET/PREFIX",
                        help="byoc: where the files will be copied in S3 (the copy plan lists them)")
    parser.add_argument("--out-dir", required=True, metavar="DIR",
                        help="where stac.ndjson, <target>.ndjson, copy-plan.tsv and report.md go")
    parser.add_argument("--option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                        help="a harvest source's own option (repeatable), e.g. descartes: api=v1")
    add_enrich_options(parser)
    parser.set_defaults(func=_cmd_migrate)
