"""Where a search's time goes beyond pgstac's: ``stac-bridge serve`` beside the least a Python server pays.

On one throwaway database holding the serving benchmark's catalog (``benchmarks/corpus.py``), the same random
searches (``benchmarks/serve.py``'s mix) are asked, one at a time, of:

* pgstac's ``search()`` through psycopg, as ``stac-bridge serve``'s read pool calls it (the SQL floor);
* ``benchmarks/minimal_server.py``: a bare ASGI application on uvicorn over asyncpg that queries, decodes,
  encodes and gzips, and does nothing else (the floor of any asynchronous Python server over pgstac);
* ``stac-bridge serve`` with one worker process.

Asked two ways: paired (each search of the three in turn, the order alternating, so that the machine's drift falls
on all alike; the overhead of each server is the median of its paired differences with the floor), and in chunks
(each answerer a quarter of the searches one after the other, in turn: how ``benchmarks/serve.py`` asks, which
lets pgstac's backend run its searches back to back for the floor). Printed: p50, p50 over the floor's p50 (the
ratio ``make bench`` holds against 1.3), the paired overhead in milliseconds.

Run: ``python -m benchmarks.overhead [--items N] [--searches N]`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from benchmarks.catalog import database
from benchmarks.corpus import corpus
from benchmarks.http import Connection
from benchmarks.serve import HOST, Server, _ask, _bin, _free_port, post, searches, served, timed


def _floor(url: str) -> Callable[[dict[str, Any]], float]:
    """One pgstac ``search()`` through psycopg, in a session set as the API's read pool sets its own."""
    import psycopg

    from stac_bridge.server.faults import read_session_settings
    from stac_bridge.server.settings import ServerSettings

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET search_path TO pgstac, public")
    for name, value in read_session_settings(ServerSettings()).items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def ask(body: dict[str, Any]) -> float:
        start = time.perf_counter()
        conn.execute("SELECT search(%s::text::jsonb)::text",
                     (json.dumps({**body, "conf": {"nohydrate": True}}),)).fetchone()
        return (time.perf_counter() - start) * 1000

    return ask


@contextlib.contextmanager
def _servers(url: str) -> Iterator[dict[str, Server]]:
    env = {"STAC_BRIDGE_DATABASE_URL": url}
    minimal, ours = _free_port(), _free_port()
    minimal_argv = [sys.executable, "-m", "uvicorn", "benchmarks.minimal_server:app", "--host", HOST, "--port",
                    str(minimal), "--log-level", "warning"]
    ours_argv = [sys.executable, "-m", "stac_bridge.cli", "serve", "--port", str(ours), "--log-level", "warning",
                 "--workers", "1"]
    with served("minimal", minimal_argv, env, minimal, 1) as a, served("stac-bridge", ours_argv, env, ours, 1) as b:
        yield {"minimal ASGI + asyncpg": a, "stac-bridge serve": b}


async def _paired(servers: dict[str, Server], bodies: Sequence[dict[str, Any]],
                  floor: Callable[[dict[str, Any]], float]) -> dict[str, list[float]]:
    names = ["SQL floor", *servers]
    connections = {name: Connection(HOST, server.port) for name, server in servers.items()}
    prepared = {name: [post(b).encode(HOST, server.port) for b in bodies] for name, server in servers.items()}
    for index in range(min(20, len(bodies))):  # connections, caches and plans warmed
        floor(bodies[index])
        for name in servers:
            await _ask(connections[name], prepared[name][index])
    taken: dict[str, list[float]] = {name: [] for name in names}
    for index, body in enumerate(bodies):
        for name in names if index % 2 == 0 else reversed(names):
            taken[name].append(floor(body) if name == "SQL floor" else
                               await _ask(connections[name], prepared[name][index]))
    for connection in connections.values():
        connection.close()
    return taken


async def _chunked(servers: dict[str, Server], bodies: Sequence[dict[str, Any]],
                   floor: Callable[[dict[str, Any]], float], rounds: int = 4) -> dict[str, list[float]]:
    """As ``benchmarks/serve.py`` asks: each answerer a chunk of searches one after the other, in turn."""
    names = ["SQL floor", *servers]
    taken: dict[str, list[float]] = {name: [] for name in names}
    step = max(1, len(bodies) // rounds)
    for round_ in range(rounds):
        chunk = bodies[round_ * step:(round_ + 1) * step]
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            if name == "SQL floor":
                taken[name] += [floor(body) for body in chunk]
                continue
            server = servers[name]
            connection = Connection(HOST, server.port)
            prepared = [post(body).encode(HOST, server.port) for body in chunk]
            await _ask(connection, prepared[0])
            taken[name] += [await _ask(connection, request) for request in prepared]
            connection.close()
    return taken


def run(items: int, count: int) -> list[str]:
    """Load the catalog, ask ``count`` searches of each, and return the printed lines."""
    data = corpus(items)
    bodies = searches(count)
    with database() as url:
        timed([_bin("stac-bridge"), "load", str(data.collections), str(data.items)],
              {"STAC_BRIDGE_DATABASE_URL": url})
        with _servers(url) as servers:
            floor_of = _floor(url)
            taken = asyncio.run(_paired(servers, bodies, floor_of))
            chunked = asyncio.run(_chunked(servers, bodies, floor_of))
    floor, chunked_floor = statistics.median(taken["SQL floor"]), statistics.median(chunked["SQL floor"])
    lines = ["", f"where a search's time goes ({count} searches of {items} items; paired: each search asked of the "
             "three in turn; in chunks: each a quarter of them one after the other, as benchmarks/serve.py asks):",
             f"  {'':26} {'paired p50 ms':>14} {'/ floor':>8} {'paired overhead ms':>19} {'in chunks p50 ms':>17} "
             f"{'/ floor':>8}"]
    for name, values in taken.items():
        overhead = statistics.median(v - f for v, f in zip(values, taken["SQL floor"], strict=True))
        in_chunks = statistics.median(chunked[name])
        lines.append(f"  {name:26} {statistics.median(values):>14.2f} {statistics.median(values) / floor:>8.2f} "
                     f"{overhead:>19.2f} {in_chunks:>17.2f} {in_chunks / chunked_floor:>8.2f}")
    for line in lines:
        print(line, flush=True)
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=100_000, help="items in the catalog (default 100,000)")
    parser.add_argument("--searches", type=int, default=600, help="searches asked of each (default 600)")
    args = parser.parse_args(argv)
    run(args.items, args.searches)


if __name__ == "__main__":
    main()
