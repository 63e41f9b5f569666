"""Loading items into pgstac: stac-bridge's loader beside pypgstac's own ``Loader``, fresh and again.

Each run loads the same synthetic items into a throwaway database of its own (``benchmarks/catalog.py``):
pypgstac's ``Loader.load_items`` with ``upsert`` (the baseline), then ``PgstacLoader.load_items``; then each
loads the same items a second time into its database, which is what an incremental re-harvest does.
Run: ``python -m benchmarks.load [--items N] [--batch-size N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.catalog import collection, database, items


def pypgstac_load(url: str, records: list[dict[str, Any]], batch_size: int) -> Callable[[], None]:
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods

    db = PgstacDB(dsn=url)
    loader = Loader(db=db)
    loader.load_collections([collection()], insert_mode=Methods.upsert)

    def load() -> None:
        loader.load_items(iter(records), insert_mode=Methods.upsert, chunksize=batch_size)

    return load


def stac_bridge_load(url: str, records: list[dict[str, Any]], batch_size: int) -> Callable[[], None]:
    from stac_bridge.pgstac.loader import PgstacLoader

    loader = PgstacLoader(url, batch_size=batch_size)
    loader.load_collections([collection()])

    def load() -> None:
        summary = loader.load_items(records)
        assert summary.failed == 0, summary.errors[:3]

    return load


def timed(load: Callable[[], None]) -> float:
    start = time.perf_counter()
    load()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    records = items(args.items)
    rows: list[tuple[str, float]] = []
    loaders = (("pypgstac Loader, upsert", pypgstac_load), ("stac-bridge PgstacLoader, upsert", stac_bridge_load))
    for name, make in loaders:
        with database() as url:
            load = make(url, records, args.batch_size)
            rows.append((f"{name}, fresh", args.items / timed(load)))
            rows.append((f"{name}, again (nothing changed)", args.items / timed(load)))
    print(f"loading {args.items} items, batches of {args.batch_size}:")
    baseline = {again: rate for (name, rate), again in zip(rows, [False, True] * 2, strict=True)
                if name.startswith("pypgstac")}
    for (name, rate), again in zip(rows, [False, True] * 2, strict=True):
        print(f"  {name:<58} {rate:>9.0f} items/s  {rate / baseline[again]:5.2f}x")


if __name__ == "__main__":
    main()
