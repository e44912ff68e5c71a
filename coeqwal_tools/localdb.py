"""The embedded PostgreSQL + PostGIS cluster: `coeqwal db up | down | status | url`.

With no `COEQWAL_DATABASE_URL` configured, the warehouse runs on a private
cluster under `.coeqwal/pg/` (ignored by git): its own port (not 5432), loopback
only, password (SCRAM) authentication because dlt insists on a password, and
PostGIS created in every database it hands out.

PostgreSQL refuses to run as root. When the caller is root the cluster is owned
by, and started as, the `postgres` system user through `runuser`; otherwise it
runs as the calling user. Missing server or PostGIS packages are installed with
apt-get when the caller is root, and named exactly otherwise.

`up` is idempotent, and recovers from a crash: a `postmaster.pid` whose process
is gone (or is no longer a postgres process) is removed before starting.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.config import STATE_DIR, ConfigError, DatabaseUrl
from ingest.errors import DatabaseError

PG_MAJOR = 15
PG_PACKAGE = f"postgresql-{PG_MAJOR}"
POSTGIS_PACKAGE = f"postgresql-{PG_MAJOR}-postgis-3"
DEFAULT_PORT = 54329
SUPERUSER = "coeqwal"
SYSTEM_USER = "postgres"  # the OS account that runs the server when we are root

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "'512MB'",
    "work_mem": "'64MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'15min'",
    "synchronous_commit": "off",  # a crash may lose the last commits, never corrupt
    "jit": "off",  # compiling a build's large queries costs more than it saves (ingest/guard.py)
    # A generic plan locks every partition (one per scenario) of each partitioned
    # table it names: at 103 scenarios one /rpc/exceedance request holds 424 locks
    # and 48 open requests filled the default table (64) (docs/scaling.md).
    "max_locks_per_transaction": "1024",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


def _is_root() -> bool:
    return os.geteuid() == 0


def _run(cmd: list[str], *, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise DatabaseError(f"{Path(cmd[0]).name} failed: {last}")
    return proc


def _apt_install(package: str) -> None:
    """Install a Debian package (root only); refresh the package lists once if needed."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise DatabaseError(f"apt-get install {package} failed: {proc.stderr.strip()[-200:]}")


def find_bindir() -> Path:
    """The PostgreSQL server binaries, installing the server package if root."""
    candidates = [os.environ.get("COEQWAL_PG_BIN"), f"/usr/lib/postgresql/{PG_MAJOR}/bin"]
    for cand in candidates:
        if cand and (Path(cand) / "postgres").exists():
            return Path(cand)
    if _is_root() and shutil.which("apt-get"):
        _apt_install(PG_PACKAGE)
        return find_bindir_no_install()
    raise DatabaseError(
        f"PostgreSQL {PG_MAJOR} server binaries not found: install {PG_PACKAGE} "
        f"(sudo apt-get install {PG_PACKAGE}) or set COEQWAL_PG_BIN"
    )


def find_bindir_no_install() -> Path:
    path = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
    if not (path / "postgres").exists():
        raise DatabaseError(f"PostgreSQL binaries still missing after installing {PG_PACKAGE}")
    return path


def ensure_postgis(bindir: Path) -> None:
    """Make sure the PostGIS extension files exist for this server."""
    sharedir = _run([str(bindir / "pg_config"), "--sharedir"]).stdout.strip()
    control = Path(sharedir) / "extension" / "postgis.control"
    if control.exists():
        return
    if _is_root() and shutil.which("apt-get"):
        _apt_install(POSTGIS_PACKAGE)
        if control.exists():
            return
    raise DatabaseError(
        f"PostGIS is not installed for PostgreSQL {PG_MAJOR}: "
        f"install {POSTGIS_PACKAGE} (sudo apt-get install {POSTGIS_PACKAGE})"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pid_is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


def _owner_can_traverse(path: Path) -> bool:
    """As root: can the postgres system user reach `path` (every parent has o+x)?"""
    probe = subprocess.run(
        ["runuser", "-u", SYSTEM_USER, "--", "test", "-x", str(path)], capture_output=True
    )
    return probe.returncode == 0


def default_root() -> Path:
    """Where the cluster lives: `.coeqwal/pg`, unless the postgres user cannot reach
    the project folder (a checkout under /root, say); then a folder under
    /var/lib/coeqwal named after the project path, recorded in `.coeqwal/pg-location`.
    """
    local = STATE_DIR / "pg"
    pointer = STATE_DIR / "pg-location"
    if pointer.exists():
        return Path(pointer.read_text().strip())
    if local.exists() or not _is_root():
        return local
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    if _owner_can_traverse(STATE_DIR):
        return local
    digest = hashlib.sha1(str(STATE_DIR.resolve()).encode()).hexdigest()[:12]
    outside = Path("/var/lib/coeqwal") / digest
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.parent.chmod(0o755)
    pointer.write_text(f"{outside}\n")
    return outside


@dataclass
class EmbeddedCluster:
    """A private PostgreSQL cluster under the project's `.coeqwal/pg` folder."""

    root: Path = field(default_factory=default_root)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @property
    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    # --- persisted settings -------------------------------------------------
    def _read(self, name: str) -> str | None:
        path = self.root / name
        return path.read_text().strip() if path.exists() else None

    @property
    def port(self) -> int:
        env = os.environ.get("COEQWAL_PG_PORT")
        if env:
            return int(env)
        saved = self._read("port")
        return int(saved) if saved else DEFAULT_PORT

    @property
    def password(self) -> str:
        saved = self._read("password")
        if saved is None:
            raise ConfigError("the embedded database is not initialised: run `coeqwal db up`")
        return saved

    def url(self, database: str = "coeqwal") -> DatabaseUrl:
        return DatabaseUrl("127.0.0.1", self.port, SUPERUSER, self.password, database)

    # --- running commands as the cluster's owner ------------------------------
    def _as_owner(self, cmd: list[str]) -> list[str]:
        if _is_root():
            return ["runuser", "-u", SYSTEM_USER, "--", *cmd]
        return cmd

    def _chown(self, path: Path) -> None:
        if _is_root():
            shutil.chown(path, SYSTEM_USER, SYSTEM_USER)

    def _check_owner_can_reach(self) -> None:
        """As root, the postgres user must be able to traverse every parent folder."""
        if not _is_root():
            return
        probe = subprocess.run(
            ["runuser", "-u", SYSTEM_USER, "--", "test", "-w", str(self.root)],
            capture_output=True,
        )
        if probe.returncode != 0:
            raise DatabaseError(
                f"user {SYSTEM_USER} cannot write {self.root}: make its parent folders "
                "traversable (chmod o+x) or set COEQWAL_DATABASE_URL"
            )

    # --- lifecycle ------------------------------------------------------------
    def init(self, bindir: Path) -> None:
        if self.initialized:
            return
        if _is_root():
            try:
                import pwd

                pwd.getpwnam(SYSTEM_USER)
            except KeyError as exc:
                raise DatabaseError(
                    f"running as root needs the '{SYSTEM_USER}' system user "
                    f"(it comes with {PG_PACKAGE})"
                ) from exc
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self._chown(self.root)
        self._check_owner_can_reach()
        if self.datadir.exists():  # a half-finished earlier init
            shutil.rmtree(self.datadir)
        password = secrets.token_urlsafe(18)
        pwfile = self.root / "password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        port = DEFAULT_PORT
        if "COEQWAL_PG_PORT" not in os.environ:
            while not _port_free(port):
                port += 1
        (self.root / "port").write_text(f"{port}\n")
        _run(
            self._as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        )
        settings = "\n".join(f"{k} = {v}" for k, v in SERVER_SETTINGS.items())
        with (self.datadir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"\n# written by coeqwal db up\n{settings}\n")
            conf.write(f"unix_socket_directories = '{self.root}'\n")

    def pid(self) -> int | None:
        """The live postmaster's pid, or None; removes a stale pid file."""
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = -1
        if pid > 0 and _pid_is_postgres(pid):
            return pid
        # Left behind by a crash or a kill -9 (the dead postmaster may linger as a
        # zombie, which PostgreSQL's own check takes for alive): clear the pid file
        # and the socket lock files of our private socket folder.
        pidfile.unlink(missing_ok=True)
        for lock in self.root.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        return None

    def running(self) -> bool:
        return self.initialized and self.pid() is not None

    def start(self, bindir: Path) -> None:
        if self.running():
            return
        port = self.port
        if not _port_free(port):
            raise DatabaseError(
                f"port {port} is taken by another server: set COEQWAL_PG_PORT to a free port"
            )
        self.logfile.touch()
        self._chown(self.logfile)
        log_offset = self.logfile.stat().st_size
        proc = _run(
            self._as_owner(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-o",
                    f"-p {port}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=False,
        )
        if proc.returncode != 0:
            with self.logfile.open() as log:
                log.seek(log_offset)
                fatal = [line.strip() for line in log if "FATAL" in line or "ERROR" in line]
            reason = fatal[-1] if fatal else (proc.stderr.strip() or "see the log")
            raise DatabaseError(f"the embedded server did not start: {reason} ({self.logfile})")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.2)
        raise DatabaseError(f"the embedded server did not accept connections; see {self.logfile}")

    def stop(self, bindir: Path) -> bool:
        """Stop the server; True if it was running."""
        if not self.running():
            return False
        _run(
            self._as_owner(
                [str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
            )
        )
        return True

    def up(self) -> DatabaseUrl:
        """Install what is missing, initialise once, start if stopped, create the DB."""
        bindir = find_bindir()
        ensure_postgis(bindir)
        self.init(bindir)
        self.start(bindir)
        url = self.url()
        ensure_database(url)
        return url


def ensure_database(url: DatabaseUrl) -> None:
    """Create the database if missing, and PostGIS inside it (idempotent)."""
    import psycopg2
    from psycopg2 import sql

    admin = url.with_database("postgres")
    try:
        conn = psycopg2.connect(admin.url(), connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {admin.host}:{admin.port}: {exc}".strip()) from exc
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (url.database,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(url.database)))
    conn.close()
    conn = psycopg2.connect(url.url(), connect_timeout=10)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create extension if not exists postgis")
    conn.close()


def drop_database(url: DatabaseUrl) -> None:
    """Drop a database (used by tests for a clean slate)."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(url.with_database("postgres").url(), connect_timeout=10)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(url.database))
        )
    conn.close()
