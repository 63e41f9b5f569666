"""Serving and loading the catalog: ``stac-bridge serve`` and ``load`` beside stock stac-fastapi-pgstac and pypgstac.

On one throwaway database (``benchmarks/catalog.py``) holding the items our transforms make of every provider's
demo records (``benchmarks/corpus.py``, 100,000 by default):

* **load**: ``stac-bridge load`` beside ``pypgstac load items --method upsert`` (its other flags at their defaults,
  chunks of 10,000), each a whole process timed, on the same fresh ndjson into a fresh database of its own, then
  the same file again (nothing changed: what an incremental re-harvest does). The collections are loaded first,
  untimed, by each tool, after a checkpoint (so that neither load writes out the other's dirty pages).
* **search**: stock stac-fastapi-pgstac (``stac_fastapi.pgstac.app:create_app``, its own factory, default
  settings, in its own venv under ``$STAC_BRIDGE_HOME/bench-venvs/`` with the same stac-fastapi-pgstac version
  as ours, under uvicorn) and ``stac-bridge serve`` over the same database, with the same number of worker
  processes; one mix of searches (a random 20-degree bbox, a random month, ``limit`` 10) asked one at a time
  (p50/p95/p99) and by 8 and 32 concurrent clients (requests/s and p95), the two servers alternating (A B B A);
  pgstac's own ``search()`` called through psycopg on the same searches (the floor: what any API over pgstac
  pays); and ``GET /search`` with a CQL2 text filter beside the same ``POST`` in CQL2 JSON.

Run: ``python -m benchmarks.serve [--quick] [--items N] [--seconds S] [--workers N]`` (``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import httpx

from benchmarks.catalog import database
from benchmarks.corpus import Corpus, bench_dir, corpus, home_dir
from benchmarks.http import Connection, Request

HOST = "127.0.0.1"
STOCK_PACKAGE = "stac-fastapi-pgstac"
FILTER_TEXT = "eo:cloud_cover <= 60 OR sar:instrument_mode = 'SM'"
FILTER_JSON = {"op": "or", "args": [{"op": "<=", "args": [{"property": "eo:cloud_cover"}, 60]},
                                    {"op": "=", "args": [{"property": "sar:instrument_mode"}, "SM"]}]}


# --- processes ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stock_venv(version: str, *, reuse: str | None = None) -> Path:
    """The venv of stock stac-fastapi-pgstac ``version`` (made on first use), or ``reuse``'s interpreter prefix."""
    if reuse:
        return Path(reuse)
    venv = home_dir() / "bench-venvs" / f"{STOCK_PACKAGE}-{version}"
    if not (venv / "bin" / "uvicorn").exists():
        print(f"making {venv} (pip install {STOCK_PACKAGE}[server]=={version}) ...", flush=True)
        try:  # pip's own chatter (this machine's index warnings among it) is shown only if the install fails
            run_quietly([sys.executable, "-m", "venv", str(venv)])
            run_quietly([str(venv / "bin" / "pip"), "install", "--quiet", f"{STOCK_PACKAGE}[server]=={version}"])
        except RuntimeError:
            shutil.rmtree(venv, ignore_errors=True)
            raise
    return venv


def run_quietly(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run ``argv`` with its output captured; if it fails, raise with the end of what it said."""
    result = subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({result.returncode}): "
                           f"{result.stdout[-2000:]}{result.stderr[-2000:]}")


def server_log(name: str) -> Path:
    """Where the server ``name`` of the last run wrote what it said (kept to explain a failure)."""
    return bench_dir() / "logs" / f"{name}.log"


@dataclass
class Server:
    """A running API."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def _wait_until_up(server: Server, workers: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/", timeout=5).status_code == 200:
                break
        if time.monotonic() > deadline or server.process.poll() is not None:
            said = server_log(server.name).read_bytes()[-4000:].decode(errors="replace")
            raise RuntimeError(f"{server.name} did not start; it said:\n{said}")
        time.sleep(0.3)
    time.sleep(1.0 if workers > 1 else 0.2)  # the other workers finish starting


@contextlib.contextmanager
def served(name: str, argv: list[str], env: dict[str, str], port: int, workers: int) -> Iterator[Server]:
    """A server process (``argv``) on ``port``, stopped afterwards; what it says goes to :func:`server_log`."""
    path = server_log(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as log:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        server = Server(name, port, process)
        try:
            _wait_until_up(server, workers)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def stock_server(url: str, venv: Path, workers: int) -> contextlib.AbstractContextManager[Server]:
    """Stock stac-fastapi-pgstac, as its documentation runs it: uvicorn on its factory, settings from PG*."""
    parts = urlsplit(url)
    env = {"PGUSER": unquote(parts.username or ""), "PGPASSWORD": unquote(parts.password or ""),
           "PGHOST": parts.hostname or HOST, "PGPORT": str(parts.port or 5432),
           "PGDATABASE": parts.path.lstrip("/")}
    port = _free_port()
    argv = [str(venv / "bin" / "python"), "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
            "--host", HOST, "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return served("stock", argv, env, port, workers)


def our_server(url: str, workers: int) -> contextlib.AbstractContextManager[Server]:
    """``stac-bridge serve`` over ``url``."""
    port = _free_port()
    argv = [sys.executable, "-m", "stac_bridge.cli", "serve", "--port", str(port), "--log-level", "warning"]
    if workers != 1 or os.environ.get("STAC_BRIDGE_BENCH_NO_WORKERS_FLAG") is None:
        argv += ["--workers", str(workers)]
    return served("stac-bridge", argv, {"STAC_BRIDGE_DATABASE_URL": url}, port, workers)


# --- load -----------------------------------------------------------------------------------------------------

def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds the whole process ``argv`` took (it must succeed)."""
    start = time.perf_counter()
    run_quietly(argv, env)
    return time.perf_counter() - start


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def checkpoint(url: str) -> None:
    """A checkpoint of the database's server (superuser or ``pg_checkpoint``; skipped without the right)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute("CHECKPOINT")


def load_ours(url: str, data: Corpus) -> tuple[float, float]:
    env = {"STAC_BRIDGE_DATABASE_URL": url}
    timed([_bin("stac-bridge"), "load", str(data.collections)], env)
    load = [_bin("stac-bridge"), "load", str(data.items)]
    return timed(load, env), timed(load, env)


def load_pypgstac(url: str, data: Corpus) -> tuple[float, float]:
    pypgstac = _bin("pypgstac")
    timed([pypgstac, "load", "collections", str(data.collections), "--dsn", url, "--method", "upsert"], {})
    load = [pypgstac, "load", "items", str(data.items), "--dsn", url, "--method", "upsert"]
    return timed(load, {}), timed(load, {})


# --- searches -------------------------------------------------------------------------------------------------

def searches(count: int, seed: int = 16) -> list[dict[str, Any]]:
    """The search mix: a random 20-degree bbox, a random month of the two years, 10 items a page."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        west, south = rng.uniform(-180, 160), rng.uniform(-70, 50)
        start = 1_672_531_200 + rng.uniform(0, 23 * 30 * 86400)  # 2023-01-01 on
        made.append({"bbox": [round(west, 3), round(south, 3), round(west + 20, 3), round(south + 20, 3)],
                     "datetime": f"{_iso(start)}/{_iso(start + 30 * 86400)}", "limit": 10})
    return made


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def post(body: dict[str, Any]) -> Request:
    return Request("POST", "/search", json.dumps(body).encode())


def get(body: dict[str, Any], filter_text: str | None = None) -> Request:
    params: dict[str, Any] = {"bbox": ",".join(map(str, body["bbox"])), "datetime": body["datetime"],
                              "limit": body["limit"]}
    if filter_text is not None:
        params.update({"filter": filter_text, "filter-lang": "cql2-text"})
    return Request("GET", "/search?" + urlencode(params, quote_via=quote))


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass
class Figures:
    """What one phase measured of one target."""

    latencies: list[float]
    seconds: float = 0.0
    done: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 1000 / statistics.fmean(self.latencies)

    def p(self, fraction: float) -> float:
        return _percentile(self.latencies, fraction)

    def add(self, other: Figures) -> None:
        self.latencies.extend(other.latencies)
        self.seconds += other.seconds
        self.done += other.done
        self.failures.extend(other.failures)


async def _ask(connection: Connection, request: bytes, failures: list[str] | None = None) -> float:
    """The milliseconds one request took; a non-200 answer raises, or with ``failures`` is noted there (NaN)."""
    start = time.perf_counter()
    status, body = await connection.send(request)
    took = (time.perf_counter() - start) * 1000
    if status != 200:
        if failures is None:
            raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
        failures.append(f"HTTP {status}: {body[:200]!r}")
        return math.nan
    return took


async def sequential(server: Server, requests: Sequence[Request]) -> Figures:
    """The requests one after the other on one connection."""
    connection = Connection(HOST, server.port)
    prepared = [r.encode(HOST, server.port) for r in requests]
    await _ask(connection, prepared[0])  # the connection and the caches, warmed
    latencies = [await _ask(connection, request) for request in prepared]
    connection.close()
    return Figures(latencies)


async def concurrent(server: Server, requests: Sequence[Request], clients: int, seconds: float) -> Figures:
    """``clients`` connections asking one request after the other for ``seconds``, the requests in turn."""
    prepared = [r.encode(HOST, server.port) for r in requests]
    connections = [Connection(HOST, server.port) for _ in range(clients)]
    await asyncio.gather(*(_ask(c, prepared[i % len(prepared)]) for i, c in enumerate(connections)))
    latencies: list[float] = []
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    failures: list[str] = []  # under load a server may shed requests (a 503): counted, not fatal

    async def client(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            latency = await _ask(connection, prepared[next(counter) % len(prepared)], failures)
            if not math.isnan(latency):
                latencies.append(latency)

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    took = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return Figures(latencies, took, len(latencies), failures)


def floor(url: str, bodies: Sequence[dict[str, Any]], *, as_ours: bool = False) -> Figures:
    """pgstac's ``search()`` through psycopg, one after the other, its answer fetched as text.

    ``as_ours``: as stac-bridge's read pool calls it (hydrated by the API, in sessions set as the server sets them:
    ``stac_bridge.server.faults.read_session_settings``); else as stock calls it (pgstac's and PostgreSQL's
    defaults).
    """
    import psycopg

    from stac_bridge.server.faults import read_session_settings
    from stac_bridge.server.settings import ServerSettings

    if as_ours:
        bodies = [{**b, "conf": {"nohydrate": True}} for b in bodies]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path TO pgstac, public")
        if as_ours:
            for name, value in read_session_settings(ServerSettings()).items():
                conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        query = "SELECT search(%s::text::jsonb)::text"
        conn.execute(query, (json.dumps(bodies[0]),)).fetchone()
        latencies = []
        for body in bodies:
            start = time.perf_counter()
            conn.execute(query, (json.dumps(body),)).fetchone()
            latencies.append((time.perf_counter() - start) * 1000)
    return Figures(latencies)


def alternating(servers: Sequence[Server], rounds: int, measure: Callable[[Server], Figures]) -> list[Figures]:
    """Each server measured ``rounds`` times, in the order A B B A A B ..., the figures summed per server."""
    totals = [Figures([]) for _ in servers]
    for round_ in range(rounds):
        order = list(range(len(servers)))
        if round_ % 2:
            order.reverse()
        for index in order:
            totals[index].add(measure(servers[index]))
    return totals


def same_answers(stock: Server, ours: Server, body: dict[str, Any]) -> None:
    """Both servers find the same items for one search (else the comparison means nothing)."""
    found = [[f["id"] for f in httpx.post(s.url + "/search", json=body, timeout=30).json()["features"]]
             for s in (stock, ours)]
    if found[0] != found[1]:
        raise RuntimeError(f"the servers disagree on {body}: {found}")


# --- the run --------------------------------------------------------------------------------------------------

@dataclass
class Settings:
    items: int
    seconds: float
    sequential: int
    rounds: int
    workers: int
    clients: tuple[int, ...]
    stock_venv: str | None
    skip_load: bool


class Printed(list[str]):
    """Lines printed as they are added (a long run shows its figures as it goes)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)

    def __iadd__(self, lines: Any) -> Printed:  # type: ignore[override,misc]
        for line in lines:
            self.append(line)
        return self


def run(settings: Settings) -> list[str]:
    version = importlib.metadata.version(STOCK_PACKAGE)
    venv = stock_venv(version, reuse=settings.stock_venv)
    data = corpus(settings.items)
    lines = Printed()
    lines.append(f"stac-bridge benchmark: {settings.items} items from {len(data.providers)} sources "
             f"({', '.join(f'{k} {v} templates' for k, v in data.providers.items())}); "
             f"{os.cpu_count()} cores; load average before: {_load_average()}")
    with database() as url:
        if not settings.skip_load:
            with database() as other:
                checkpoint(other)
                theirs = load_pypgstac(other, data)
            checkpoint(url)  # the other's dirty pages written out first: neither load pays for the other's
            ours = load_ours(url, data)
            lines += _load_table(settings.items, theirs, ours)
        else:
            timed([_bin("stac-bridge"), "load", str(data.collections), str(data.items)],
                  {"STAC_BRIDGE_DATABASE_URL": url})
        lines.extend(_serve(url, venv, version, settings))  # printed as they came
    lines.append(f"load average after: {_load_average()}")
    return lines


def _load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _load_table(count: int, theirs: tuple[float, float], ours: tuple[float, float]) -> list[str]:
    lines = ["", f"load {count} items (whole processes; items/s):",
             f"  {'':28} {'pypgstac load items':>22} {'stac-bridge load':>18} {'ratio':>7}"]
    for label, t, o in (("fresh", theirs[0], ours[0]), ("again, unchanged", theirs[1], ours[1])):
        lines.append(f"  {label:28} {count / t:>14.0f} ({t:5.1f} s) {count / o:>10.0f} ({o:5.1f} s) "
                     f"{t / o:>6.2f}x")
    return lines


def _serve(url: str, venv: Path, version: str, settings: Settings) -> list[str]:
    bodies = searches(max(settings.sequential, 200))
    posts = [post(b) for b in bodies]
    workers = settings.workers
    lines = Printed()
    lines += ["", f"search (random bbox + month, limit 10); stock {STOCK_PACKAGE} {version} from {venv} and "
             f"stac-bridge serve, {workers} worker process{'es' if workers > 1 else ''} each, alternating:"]
    with stock_server(url, venv, workers) as stock, our_server(url, workers) as ours:
        servers = (stock, ours)
        for body in bodies[:5]:
            same_answers(stock, ours, body)
        per_round = max(1, settings.sequential // settings.rounds)

        def seq(server: Server, batch: Sequence[Request]) -> Figures:
            return asyncio.run(sequential(server, batch))

        seq_figures = [Figures([]) for _ in servers]
        floor_figures, our_floor = Figures([]), Figures([])
        for round_ in range(settings.rounds):
            chunk = slice(round_ * per_round, (round_ + 1) * per_round)
            floor_figures.add(floor(url, bodies[chunk]))
            our_floor.add(floor(url, bodies[chunk], as_ours=True))
            order = (0, 1) if round_ % 2 == 0 else (1, 0)
            for index in order:
                seq_figures[index].add(seq(servers[index], posts[chunk]))
        lines.append(f"  {'':34} {'stock':>24} {'stac-bridge':>24} {'ratio':>7}")
        s, o = seq_figures
        lines.append(f"  {'sequential POST p50/p95/p99 ms':34} {_ppp(s):>24} {_ppp(o):>24} "
                     f"{s.p(0.5) / o.p(0.5):>6.2f}x")
        lines.append(f"  {'SQL floor: pgstac search() p50/p95/p99':34} {_ppp(floor_figures):>24} "
                     f"{_ppp(our_floor):>24}   (each as its server calls it)")
        lines.append(f"  {'server p50 / its floor p50':34} {s.p(0.5) / floor_figures.p(0.5):>24.2f} "
                     f"{o.p(0.5) / our_floor.p(0.5):>24.2f}")
        for clients in settings.clients:
            def measure(server: Server, clients: int = clients) -> Figures:
                return asyncio.run(concurrent(server, posts, clients, settings.seconds / 2))

            s, o = alternating(servers, 2, measure)
            lines.append(f"  {f'{clients} clients: req/s, p95 ms':34} {f'{s.rate:.0f}, {s.p(0.95):.1f}':>24} "
                         f"{f'{o.rate:.0f}, {o.p(0.95):.1f}':>24} {o.rate / s.rate:>6.2f}x"
                         f"  (p95 {s.p(0.95) / o.p(0.95):.2f}x)" + _failed(s, o))
        n = max(1, settings.sequential // 2)
        filtered_posts = [post({**b, "filter": FILTER_JSON, "filter-lang": "cql2-json"}) for b in bodies[:n]]
        filtered_gets = [get(b, FILTER_TEXT) for b in bodies[:n]]
        # The two forms in turn (POST GET GET POST ...), each over both servers in turn, in chunks: a drift of the
        # machine's load falls on both forms alike.
        forms = {"POST": filtered_posts, "GET": filtered_gets}
        totals = {name: [Figures([]) for _ in servers] for name in forms}
        rounds = 2 * settings.rounds
        step = max(1, n // rounds)
        for round_ in range(rounds):
            chunk = slice(round_ * step, (round_ + 1) * step)
            for name in (("POST", "GET") if round_ % 2 == 0 else ("GET", "POST")):
                for index in ((0, 1) if round_ % 4 < 2 else (1, 0)):
                    totals[name][index].add(seq(servers[index], forms[name][chunk]))
        medians = {name: [f.p(0.5) for f in figures] for name, figures in totals.items()}
        lines.append(f"  {'filtered POST (CQL2 JSON) p50 ms':34} {medians['POST'][0]:>24.1f} "
                     f"{medians['POST'][1]:>24.1f} {medians['POST'][0] / medians['POST'][1]:>6.2f}x")
        lines.append(f"  {'filtered GET (CQL2 text) p50 ms':34} {medians['GET'][0]:>24.1f} "
                     f"{medians['GET'][1]:>24.1f} {medians['GET'][0] / medians['GET'][1]:>6.2f}x")
        lines.append(f"  {'GET / POST with the filter':34} {medians['GET'][0] / medians['POST'][0]:>24.2f} "
                     f"{medians['GET'][1] / medians['POST'][1]:>24.2f}")
    return lines


def _failed(*figures: Figures) -> str:
    """What each server answered other than 200 under load, if anything (requests/s count only the 200s)."""
    if not any(f.failures for f in figures):
        return ""
    return "; not 200: " + " | ".join(f"{len(f.failures)} ({f.failures[0][:90]})" if f.failures else "0"
                                      for f in figures) + f" (the servers' logs: {server_log('').parent})"


def _ppp(figures: Figures) -> str:
    return f"{figures.p(0.5):.1f} / {figures.p(0.95):.1f} / {figures.p(0.99):.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a try: 5,000 items, 4 s per concurrency level, 60 sequential requests")
    parser.add_argument("--items", type=int, help="items in the catalog (default 100,000; quick 5,000)")
    parser.add_argument("--seconds", type=float, help="seconds per server per concurrency level (default 20)")
    parser.add_argument("--sequential", type=int, help="sequential requests per server (default 600)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes of each server (default: the number of cores)")
    parser.add_argument("--clients", default="8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--stock-venv", metavar="DIR",
                        help="run stock stac-fastapi-pgstac from this venv (e.g. ours: the same version) instead "
                        "of its own under $STAC_BRIDGE_HOME/bench-venvs/")
    parser.add_argument("--skip-load", action="store_true", help="no load benchmark (the catalog is loaded once)")
    args = parser.parse_args(argv)
    settings = Settings(
        items=args.items or (5_000 if args.quick else 100_000),
        seconds=args.seconds or (4.0 if args.quick else 20.0),
        sequential=args.sequential or (60 if args.quick else 600),
        rounds=2 if args.quick else 12,
        workers=args.workers,
        clients=tuple(int(c) for c in args.clients.split(",") if c.strip()),
        stock_venv=args.stock_venv,
        skip_load=args.skip_load,
    )
    if shutil.which("uptime"):
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    run(settings)


if __name__ == "__main__":
    main()
