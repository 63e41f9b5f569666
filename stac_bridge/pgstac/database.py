"""The database: a managed local PostgreSQL cluster with PostGIS and pgstac, or an external one.

One database per project, found as git finds its repository: ``$STAC_BRIDGE_HOME`` when set, else the nearest
``.stac-bridge/`` directory in the current directory or one of its parents (see :func:`find_home`), so every
command of a project uses the same database from any of its directories.

``stac-bridge db up`` creates a private cluster there (or in ``./.stac-bridge`` when there is none), listening
on 127.0.0.1 only, on a free port that it remembers, with a generated password; it migrates the pgstac schema
with pypgstac. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user
(whose home the data directory then lives in, when ``$STAC_BRIDGE_HOME`` is not reachable by that user).

When ``STAC_BRIDGE_DATABASE_URL`` or the libpq ``PGHOST``/``PGDATABASE`` variables are set, that database is
used instead and nothing is managed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from stac_bridge.errors import DatabaseError

__all__ = [
    "HOME_DIR",
    "Database",
    "ManagedCluster",
    "ClusterState",
    "Status",
    "configured_url",
    "database_url",
    "default_home",
    "find_home",
    "locate_database",
    "where_looked",
    "migrate",
    "create_database",
    "drop_database",
    "pgstac_version",
    "redact_url",
]

log = logging.getLogger(__name__)

DATABASE_NAME: Final = "stac_bridge"
SUPERUSER: Final = "postgres"
STATE_FILE: Final = "cluster.json"
REPLICA_STATE_FILE: Final = "replica.json"
POSTGIS_PACKAGE: Final = "postgresql-{major}-postgis-3"
_SERVICE_USER: Final = "postgres"
QUERYABLES_PATH: Final = Path(__file__).with_name("queryables.json")
INDEXED_QUERYABLES: Final = ("eo:cloud_cover",)


HOME_DIR: Final = ".stac-bridge"


def find_home(start: Path | None = None) -> Path | None:
    """The project's home: ``$STAC_BRIDGE_HOME``, else the nearest ``.stac-bridge/`` from ``start`` upwards.

    Args:
        start: Where to start looking (default: the current directory).

    Returns:
        The home directory, or ``None`` when the variable is unset and no directory on the way up has one.
    """
    configured = os.environ.get("STAC_BRIDGE_HOME")
    if configured:
        return Path(configured).absolute()
    here = (start or Path.cwd()).absolute()
    for directory in (here, *here.parents):
        if (directory / HOME_DIR).is_dir():
            return directory / HOME_DIR
    return None


def default_home() -> Path:
    """The home :func:`find_home` finds, else ``./.stac-bridge`` here (where ``db up`` creates one)."""
    return find_home() or Path(HOME_DIR).absolute()


def where_looked(start: Path | None = None) -> str:
    """Where :func:`find_home` looked, in words, for an error message."""
    here = (start or Path.cwd()).absolute()
    return (f"no {HOME_DIR}/ in {here} or its parents, and STAC_BRIDGE_HOME and STAC_BRIDGE_DATABASE_URL are unset")


@dataclass(frozen=True)
class Database:
    """The database a command uses.

    Attributes:
        url: Its connection URL (with the password).
        description: Which one it is, for the user, without the password.
        started: Whether finding it started the managed cluster (a caller that only serves may stop it again).
        cluster: The managed cluster, when it is one.
    """

    url: str
    description: str
    started: bool = False
    cluster: ManagedCluster | None = None


def configured_url() -> str | None:
    """The external database the environment names, if any: ``STAC_BRIDGE_DATABASE_URL``, else libpq ``PG*``."""
    url = os.environ.get("STAC_BRIDGE_DATABASE_URL")
    if url:
        return url
    if os.environ.get("PGHOST") or os.environ.get("PGDATABASE"):
        user = os.environ.get("PGUSER", SUPERUSER)
        password = os.environ.get("PGPASSWORD", "")
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        host = os.environ.get("PGHOST", "127.0.0.1")
        port = os.environ.get("PGPORT", "5432")
        name = os.environ.get("PGDATABASE", user)
        return f"postgresql://{auth}@{host}:{port}/{quote(name, safe='')}"
    return None


def database_url(home: Path | None = None, *, start: bool = False) -> str:
    """The URL of the database to use: the configured external one, else the managed cluster's.

    Args:
        home: The managed cluster's home (default: :func:`default_home`).
        start: Bring the managed cluster up when it is not running.

    Raises:
        DatabaseError: no database is configured and the managed cluster is not running (and ``start`` is off).
    """
    return locate_database(home, start=start, create=start).url


def locate_database(home: Path | None = None, *, start: bool = False, create: bool = False) -> Database:
    """The database to use, and which it is: the configured external one, else the project's managed cluster.

    Args:
        home: The managed cluster's home (default: :func:`find_home`).
        start: Start the managed cluster when it exists but is stopped.
        create: Create it (in ``./.stac-bridge`` when no home is found) when there is none; implies ``start``.

    Raises:
        DatabaseError: there is no database to use: the message says where it looked and how to make one.
    """
    url = configured_url()
    if url:
        variable = "STAC_BRIDGE_DATABASE_URL" if os.environ.get("STAC_BRIDGE_DATABASE_URL") else "PG*"
        return Database(url, f"{_redact(url)} (from {variable})")
    found = home or find_home()
    if found is None and not create:
        raise DatabaseError(
            f"no database: {where_looked()}; run `stac-bridge db up` in the project's directory to create one "
            "there, or set STAC_BRIDGE_HOME or STAC_BRIDGE_DATABASE_URL"
        )
    cluster = ManagedCluster(found or Path(HOME_DIR))
    status = cluster.status()
    started = False
    if not status.running:
        if not (create or (start and status.initialised)):
            if status.initialised:
                raise DatabaseError(f"no database: the managed database of {cluster.home} is {status.detail}; "
                                    "`stac-bridge db up` starts it")
            raise DatabaseError(f"no database: {status.detail}; `stac-bridge db up` creates one")
        log.info("%s", cluster.up())
        started = True
    state = cluster.state()
    where = f"127.0.0.1:{state.port}" if state else "?"
    return Database(cluster.url(), f"the managed database of {cluster.home} ({where})", started, cluster)


@dataclass
class ClusterState:
    """What a managed cluster remembers between runs (``<home>/cluster.json``, mode 0600)."""

    data_dir: str
    port: int
    password: str
    bindir: str
    major: int

    @classmethod
    def read(cls, path: Path) -> ClusterState | None:
        """The state in ``path``, or ``None`` when there is none yet."""
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise DatabaseError(f"{path} is unreadable ({exc}); remove it with the cluster to start over") from exc
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in fields})

    def write(self, path: Path) -> None:
        """Save to ``path``, readable by this user only (it holds the password)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(dataclasses.asdict(self), handle, indent=2)
        os.replace(tmp, path)


@dataclass(frozen=True)
class Status:
    """Whether the managed cluster exists and runs."""

    initialised: bool
    running: bool
    detail: str
    url: str | None = None


def _find_bindir() -> Path:
    """The PostgreSQL server binaries: ``$STAC_BRIDGE_PG_BINDIR``, else the newest Debian install, else PATH."""
    configured = os.environ.get("STAC_BRIDGE_PG_BINDIR")
    candidates: list[Path] = [Path(configured)] if configured else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates += [v / "bin" for v in versions]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise DatabaseError(
        "PostgreSQL server binaries not found (initdb, pg_ctl). Install them, e.g. on Debian/Ubuntu: "
        "`apt-get install --no-install-recommends postgresql-15 postgresql-15-postgis-3`, "
        "or set STAC_BRIDGE_PG_BINDIR, or point STAC_BRIDGE_DATABASE_URL at an existing database."
    )


def _major_version(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True)
    # "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    return int(out.stdout.split(")")[1].strip().split(".")[0])


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path("/usr/share/postgresql") / bindir.parent.name


def _check_postgis(bindir: Path, major: int) -> None:
    if not (_sharedir(bindir) / "extension" / "postgis.control").exists():
        raise DatabaseError(
            f"PostGIS is not installed for PostgreSQL {major}. Install it, e.g. on Debian/Ubuntu: "
            f"`apt-get install --no-install-recommends {POSTGIS_PACKAGE.format(major=major)}`."
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL does: a port whose last connections linger in TIME_WAIT is free to listen on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ManagedCluster:
    """A private PostgreSQL cluster under ``home``.

    Args:
        home: The directory that holds the cluster's state (and, unless running as root with a home the
            ``postgres`` user cannot reach, its data directory).
    """

    def __init__(self, home: Path) -> None:
        self.home = home.absolute()
        self.state_path = self.home / STATE_FILE

    # -- running commands as the right user ------------------------------------------------------------

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _run(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self._as_root():
            try:
                pwd.getpwnam(_SERVICE_USER)
            except KeyError:
                raise DatabaseError(
                    "running as root, but there is no 'postgres' system user to run PostgreSQL as "
                    "(PostgreSQL refuses to run as root); install the postgresql package or run as another user"
                ) from None
            command = ["runuser", "-u", _SERVICE_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise DatabaseError(f"{Path(argv[0]).name} failed: {(result.stderr or result.stdout).strip()}")
        return result

    def _reachable_by_service_user(self, path: Path) -> bool:
        probe = ["test", "-w", str(path), "-a", "-x", str(path)]
        return subprocess.run(["runuser", "-u", _SERVICE_USER, "--", *probe], capture_output=True).returncode == 0

    def _choose_data_dir(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        if not self._as_root():
            return self.home / "pgdata"
        # As root the server runs as 'postgres', which must own the data directory and reach it.
        service = pwd.getpwnam(_SERVICE_USER)
        inside = self.home / "pgdata"
        inside.mkdir(mode=0o700, exist_ok=True)
        os.chown(inside, service.pw_uid, service.pw_gid)
        if self._reachable_by_service_user(inside):
            return inside
        inside.rmdir()
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
        outside = Path(service.pw_dir) / "stac-bridge" / digest / "pgdata"
        log.info("%s is not reachable by the postgres user; keeping the data in %s", self.home, outside)
        self._run(["mkdir", "-p", "-m", "700", str(outside)])
        return outside

    # -- life cycle -------------------------------------------------------------------------------------

    def state(self) -> ClusterState | None:
        """The remembered state, or ``None`` before the first ``up``."""
        return ClusterState.read(self.state_path)

    def url(self, database: str = DATABASE_NAME) -> str:
        """The connection URL of a database in this cluster."""
        state = self.state()
        if state is None:
            raise DatabaseError(f"no managed cluster in {self.home}: run `stac-bridge db up`")
        return _local_url(state, database)

    def status(self) -> Status:
        """Whether the cluster is initialised and running."""
        state = self.state()
        if state is None:
            return Status(False, False, f"no cluster in {self.home}")
        result = self._run([str(Path(state.bindir) / "pg_ctl"), "status", "-D", state.data_dir], check=False)
        if result.returncode == 4:
            return Status(False, False, f"no cluster in {state.data_dir}")
        if result.returncode != 0:
            return Status(True, False, f"stopped (data in {state.data_dir}, port {state.port})")
        return Status(True, True, f"running on 127.0.0.1:{state.port} (data in {state.data_dir})", self.url())

    def up(self) -> str:
        """Create (first time), start and migrate the cluster; idempotent.

        Returns:
            What was done, in one line.

        Raises:
            DatabaseError: PostgreSQL or PostGIS is missing, or the server would not start.
        """
        current = self.status()
        if current.running:
            return f"already running: {current.detail}"
        created = False
        state = self.state()
        if state is None or not current.initialised:
            state = self._init(state)
            created = True
        if not _port_is_free(state.port):
            state.port = _free_port()
            state.write(self.state_path)
        self._start(state)
        self._ensure_database(state)
        version = migrate(self.url())
        action = "created and started" if created else "started"
        return f"{action}: running on 127.0.0.1:{state.port}, pgstac {version} (data in {state.data_dir})"

    def _init(self, previous: ClusterState | None) -> ClusterState:
        bindir = _find_bindir()
        major = _major_version(bindir)
        _check_postgis(bindir, major)
        data_dir = Path(previous.data_dir) if previous else self._choose_data_dir()
        password = previous.password if previous else secrets.token_urlsafe(24)
        pwfile = data_dir.parent / ".pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        if self._as_root():
            service = pwd.getpwnam(_SERVICE_USER)
            os.chown(pwfile, service.pw_uid, service.pw_gid)
        try:
            self._run([
                str(bindir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--pwfile", str(pwfile),
                "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C.UTF-8",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        state = ClusterState(str(data_dir), _free_port(), password, str(bindir), major)
        state.write(self.state_path)
        return state

    def _start(self, state: ClusterState) -> None:
        options = (
            f"-c port={state.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=200 -c shared_buffers=256MB -c fsync=on"
        )
        log_file = Path(state.data_dir) / "server.log"
        self._run([
            str(Path(state.bindir) / "pg_ctl"), "start", "-D", state.data_dir, "-w", "-t", "60",
            "-l", str(log_file), "-o", options,
        ])

    def _ensure_database(self, state: ClusterState) -> None:
        with _connect(self.url("postgres")) as conn:
            create_database(conn, DATABASE_NAME)

    def down(self) -> str:
        """Stop the cluster cleanly (fast shutdown: open sessions are ended, no recovery needed)."""
        current = self.status()
        state = self.state()
        if not current.running or state is None:
            return f"not running: {current.detail}"
        self._run([str(Path(state.bindir) / "pg_ctl"), "stop", "-D", state.data_dir, "-m", "fast", "-w"])
        return f"stopped (data kept in {state.data_dir})"

    # -- a local streaming replica (for trying STAC_BRIDGE_READ_DATABASE_URL) -----------------------------

    @property
    def replica_state_path(self) -> Path:
        """Where the replica's state is kept (``<home>/replica.json``)."""
        return self.home / REPLICA_STATE_FILE

    def replica_state(self) -> ClusterState | None:
        """The replica's remembered state, or ``None`` before the first :meth:`replica_up`."""
        return ClusterState.read(self.replica_state_path)

    def replica_url(self, database: str = DATABASE_NAME) -> str:
        """The connection URL of a database on the replica (the primary's users and passwords)."""
        state = self.replica_state()
        if state is None:
            raise DatabaseError(f"no replica of the cluster of {self.home}: run `stac-bridge db replica`")
        return _local_url(state, database)

    def replica_up(self) -> str:
        """Start a streaming replica of the running cluster (made by ``pg_basebackup -R`` the first time).

        The replica is a hot standby on a port of its own, its data beside the primary's: it answers reads,
        refuses writes, and follows the primary's WAL as it is written (PostgreSQL's streaming replication).

        Returns:
            What was done, in one line, with the replica's address.

        Raises:
            DatabaseError: the primary is not running, or the base backup or the start failed.
        """
        primary = self.state()
        if primary is None or not self.status().running:
            raise DatabaseError(f"the managed database of {self.home} is not running: `stac-bridge db up` first")
        state = self.replica_state()
        created = False
        if state is None or not (Path(state.data_dir) / "PG_VERSION").exists():
            data_dir = Path(primary.data_dir).parent / "replica-pgdata"
            state = ClusterState(str(data_dir), _free_port(), primary.password, primary.bindir, primary.major)
            self._base_backup(primary, data_dir)
            state.write(self.replica_state_path)
            created = True
        running = self._run([str(Path(state.bindir) / "pg_ctl"), "status", "-D", state.data_dir], check=False)
        if running.returncode == 0:
            return f"replica already running on 127.0.0.1:{state.port} (data in {state.data_dir})"
        if not _port_is_free(state.port):
            state.port = _free_port()
            state.write(self.replica_state_path)
        self._start(state)
        action = "created and started" if created else "started"
        return (f"replica {action}: running on 127.0.0.1:{state.port}, streaming from 127.0.0.1:{primary.port} "
                f"(data in {state.data_dir})")

    def _base_backup(self, primary: ClusterState, data_dir: Path) -> None:
        if data_dir.exists():
            shutil.rmtree(data_dir)  # an unfinished earlier backup
        # -R writes this connection, password included, as the replica's primary_conninfo (in
        # postgresql.auto.conf, readable by the server's user only).
        conninfo = (f"host=127.0.0.1 port={primary.port} user={SUPERUSER} password={primary.password} "
                    "application_name=stac-bridge-replica")
        self._run([str(Path(primary.bindir) / "pg_basebackup"), "-D", str(data_dir), "-d", conninfo,
                   "-R", "-X", "stream", "-c", "fast", "-w"])
        self._run(["chmod", "600", str(data_dir / "postgresql.auto.conf")])

    def replica_down(self) -> str:
        """Stop the replica (its data is kept: the next :meth:`replica_up` catches up from the primary)."""
        state = self.replica_state()
        if state is None:
            return "no replica"
        running = self._run([str(Path(state.bindir) / "pg_ctl"), "status", "-D", state.data_dir], check=False)
        if running.returncode != 0:
            return "replica not running"
        self._run([str(Path(state.bindir) / "pg_ctl"), "stop", "-D", state.data_dir, "-m", "fast", "-w"])
        return f"replica stopped (data kept in {state.data_dir})"

    def destroy(self) -> str:
        """Stop the cluster (and its replica) and delete their data and state."""
        replica = self.replica_state()
        if replica is not None:
            self.replica_down()
            if Path(replica.data_dir).exists():
                shutil.rmtree(replica.data_dir)
            self.replica_state_path.unlink(missing_ok=True)
        self.down()
        state = self.state()
        # As ourselves: root may remove what 'postgres' owns, and 'postgres' may not own the parent.
        if state is not None and Path(state.data_dir).exists():
            shutil.rmtree(state.data_dir)
        self.state_path.unlink(missing_ok=True)
        return f"removed the cluster of {self.home}"


def _local_url(state: ClusterState, database: str) -> str:
    return f"postgresql://{SUPERUSER}:{quote(state.password, safe='')}@127.0.0.1:{state.port}/{database}"


@contextlib.contextmanager
def _connect(url: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {_redact(url)}: {exc}") from exc
    with conn:
        yield conn


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


_redact = redact_url


def create_database(conn: psycopg.Connection[Any], name: str) -> bool:
    """Create database ``name`` unless it exists (``conn`` in autocommit). Returns whether it was created."""
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        return False
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    """Drop database ``name`` if it exists, ending its sessions (``conn`` in autocommit)."""
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def temporary_database(server_url: str, *, prefix: str = "stac_bridge_tmp") -> Iterator[str]:
    """A new database on the server of ``server_url``, PostGIS and pgstac migrated; dropped on exit.

    For tests and benchmarks: each gets a catalog of its own, whatever else the server holds.

    Args:
        server_url: Any database URL of the server (its database part is replaced).
        prefix: The new database's name begins with it (then the process id and a random suffix).

    Yields:
        The new database's URL.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    maintenance = urlunsplit(urlsplit(server_url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        create_database(conn, name)
    try:
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        migrate(url)
        yield url
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            drop_database(conn, name)


def migrate(url: str) -> str:
    """Create PostGIS and migrate the pgstac schema in the database at ``url`` to pypgstac's version.

    Returns:
        The pgstac version now in the database.
    """
    from pypgstac.db import PgstacDB
    from pypgstac.migrate import Migrate

    with _connect(url) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.errors.FeatureNotSupported as exc:  # pragma: no cover - depends on the server
            raise DatabaseError(f"PostGIS is not available in {_redact(url)}: {exc}") from exc
        except psycopg.errors.UndefinedFile as exc:
            raise DatabaseError(
                f"PostGIS is not installed on the server of {_redact(url)}: install the postgis package "
                f"for its PostgreSQL version (Debian: postgresql-<major>-postgis-3). {exc}"
            ) from exc
    db = PgstacDB(dsn=url)
    try:
        version = str(Migrate(db).run_migration())
    except psycopg.Error as exc:
        raise DatabaseError(f"pgstac migration of {_redact(url)} failed: {exc}") from exc
    finally:
        db.close()
    with _connect(url) as conn:
        # numberMatched in search answers: exact for small results, estimated for large ones (pgstac 'auto').
        conn.execute("UPDATE pgstac.pgstac_settings SET value = 'auto' WHERE name = 'context' AND value = 'off'")
        # Typed queryables, so that numbers filter and sort as numbers (and clients can list them).
        conn.execute(
            "SELECT pgstac.upsert_queryables(%s::jsonb, NULL, %s::text[], false)",
            (QUERYABLES_PATH.read_text(), list(INDEXED_QUERYABLES)),
        )
        declared = provider_queryables()
        if declared:  # the installed providers' own (a third party's): the catalog's file names the built-ins'
            conn.execute("SELECT pgstac.upsert_queryables(%s::jsonb, NULL, NULL, false)",
                         (json.dumps({"type": "object", "properties": declared}),))
    return version


def provider_queryables() -> dict[str, Any]:
    """The queryables the installed providers declare that the catalog's own file does not name, by name."""
    from stac_bridge.errors import ConfigError
    from stac_bridge.plugin import providers

    named = json.loads(QUERYABLES_PATH.read_text())["properties"]
    try:
        installed = providers()
    except ConfigError as exc:  # a broken install: the catalog still gets its own queryables
        log.warning("no provider queryables: %s", exc)
        return {}
    found: dict[str, Any] = {}
    for provider in installed.values():
        if provider.queryables is not None:
            for name, schema in provider.queryables().get("properties", {}).items():
                if name not in named:
                    found.setdefault(name, schema)
    return found


def pgstac_version(url: str) -> str | None:
    """The pgstac version of the database at ``url``, or ``None`` when pgstac is not installed there."""
    with _connect(url) as conn:
        try:
            row = conn.execute("SELECT pgstac.get_version()").fetchone()
        except psycopg.errors.UndefinedFunction:
            return None
        except psycopg.errors.InvalidSchemaName:
            return None
    return str(row[0]) if row else None
