"""Guards for the commands that hold the database for minutes: one build at a
time, and bounded waits when the connection freezes or drops.

- `build_lock`: a PostgreSQL advisory lock, taken by `coeqwal build` (and so by
  the ETL task) for the whole build. A second build waits for it, says once for
  whom (server pid, application name with the CLI's own pid, since when), and
  gives up after `--wait-timeout` seconds. The lock lives in the holder's
  session: a killed build releases it when its connection closes.
- `Watchdog`: a thread that opens a fresh connection and runs `select 1` every
  `PING_INTERVAL` seconds, each attempt bounded to `PING_TIMEOUT` seconds on the
  client side (libpq cannot bound a query on a frozen socket; the ping polls an
  asynchronous connection). After `PING_MISSES` failed pings in a row the
  command is ended with one line naming the lost server. A freeze (a proxy or
  network that stops answering) or a drop is therefore noticed within
  `LOST_AFTER_SECONDS`, whatever the command was waiting for.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from ingest.config import DatabaseUrl
from ingest.errors import one_line

# pg_advisory_lock(int4, int4): "CQW" and the build lock's number.
BUILD_LOCK = (0x435157, 1)
PING_INTERVAL = 5.0
PING_TIMEOUT = 10.0
PING_MISSES = 2
LOST_AFTER_SECONDS = PING_INTERVAL + PING_MISSES * (PING_TIMEOUT + PING_INTERVAL)

# Server-side settings of build sessions (dbt's connections): no statement of a
# full-size build runs near 30 minutes (the longest measured ~2 minutes); a DDL
# waiting for a lock gives up after 5 minutes instead of queueing forever. No
# JIT compilation: a build's queries are planned at costs far above
# jit_above_cost and compiling them cost more than it saved (the year-type
# statistics of one full-size scenario: 37.7 s with JIT, 24.4 s without).
BUILD_SESSION_OPTIONS = (
    "-c statement_timeout=30min -c lock_timeout=5min -c idle_in_transaction_session_timeout=30min"
    " -c jit=off"
)


class LockTimeout(Exception):
    """The build lock was not free within the wait timeout; the message is one line."""


class ConnectionLost(Exception):
    """The database stopped answering; the message is one line naming it."""


def lost_message(db: DatabaseUrl, detail: str) -> str:
    return f"lost the connection to {db.host}:{db.port} ({detail})"


def _wait_ready(conn, deadline: float) -> None:
    import psycopg2.extensions as ext

    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer")
        fd = conn.fileno()
        if state == ext.POLL_READ:
            ready = select.select([fd], [], [], remaining)[0]
        elif state == ext.POLL_WRITE:
            ready = select.select([], [fd], [], remaining)[1]
        else:  # pragma: no cover - psycopg2 documents only the three states
            raise RuntimeError(f"unexpected poll state {state}")
        if not ready:
            raise TimeoutError("no answer")


def ping(db: DatabaseUrl, timeout: float = PING_TIMEOUT) -> str | None:
    """None when the server answers `select 1` within `timeout` seconds on a new
    connection, else a short reason."""
    import psycopg2

    deadline = time.monotonic() + timeout
    conn = None
    try:
        conn = psycopg2.connect(
            db.url(),
            async_=1,
            connect_timeout=max(1, int(timeout)),
            application_name="coeqwal watchdog",
        )
        _wait_ready(conn, deadline)
        cur = conn.cursor()
        cur.execute("select 1")
        _wait_ready(conn, deadline)
        cur.fetchone()
        return None
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # refused, reset, authentication, ...
        return one_line(exc)
    finally:
        if conn is not None:
            with suppress(Exception):
                conn.close()


class Watchdog:
    """Pings the database in a thread; calls `on_lost(message)` once when it stops answering."""

    def __init__(
        self,
        db: DatabaseUrl,
        on_lost: Callable[[str], None],
        *,
        interval: float = PING_INTERVAL,
        timeout: float = PING_TIMEOUT,
        misses: int = PING_MISSES,
    ) -> None:
        self.db = db
        self.on_lost = on_lost
        self.interval = interval
        self.timeout = timeout
        self.misses = misses
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coeqwal-watchdog", daemon=True)

    def _run(self) -> None:
        failed = 0
        started = None
        while not self._stop.wait(self.interval):
            reason = ping(self.db, self.timeout)
            if reason is None:
                failed, started = 0, None
                continue
            failed += 1
            started = started or time.monotonic()
            if failed >= self.misses and not self._stop.is_set():
                waited = time.monotonic() - started + self.timeout
                detail = f"no answer for {waited:.0f} s"
                if not reason.startswith("no answer"):
                    detail += f": {reason}"
                self.lost = lost_message(self.db, detail)
                self.on_lost(self.lost)
                return

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


@contextmanager
def watched(db: DatabaseUrl, on_lost: Callable[[str], None]) -> Iterator[Watchdog]:
    with Watchdog(db, on_lost) as dog:
        yield dog


# Process groups started by this process (dbt runs in one of its own) that
# exit_lost kills with everything in them.
PROCESS_GROUPS: set[int] = set()


def exit_lost(message: str) -> None:
    """For commands whose work cannot be interrupted cleanly (a COPY blocked on a
    frozen socket): kill this process's children (dbt with its helpers, DSS
    reading processes), print the one line and leave. The loaders and the
    build's publishing are atomic: nothing half-done stays visible, and the next
    run cleans up."""
    import signal

    for group in list(PROCESS_GROUPS):
        with suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    kill_children()
    print(f"coeqwal: {message}", file=sys.stderr, flush=True)
    os._exit(1)


def kill_children() -> None:
    """SIGKILL every live child process of this process (Linux /proc)."""
    import signal

    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            with suppress(OSError):
                os.kill(int(entry), signal.SIGKILL)


@dataclass(frozen=True)
class LockHolder:
    server_pid: int
    application_name: str
    since: str

    def describe(self) -> str:
        who = self.application_name or "an unnamed client"
        return f"{who}, server pid {self.server_pid}, holding it since {self.since}"


def _holder(cur) -> LockHolder | None:
    cur.execute(
        "select a.pid, coalesce(a.application_name, ''),"
        " to_char(coalesce(a.xact_start, a.backend_start) at time zone 'UTC',"
        " 'YYYY-MM-DD HH24:MI:SS') || ' UTC'"
        " from pg_locks as l join pg_stat_activity as a on a.pid = l.pid"
        " where l.locktype = 'advisory' and l.granted and l.classid = %s and l.objid = %s"
        " and l.objsubid = 2 and l.database = (select oid from pg_database"
        " where datname = current_database())",
        BUILD_LOCK,
    )
    row = cur.fetchone()
    return LockHolder(*row) if row else None


def wait_for_build(cur, what: str) -> None:
    """Inside a transaction: wait until no build runs, and keep builds out until it ends.

    A load publishes its raw data (the swap of its partition) under the build
    lock taken shared, so a build reads the same loads from its first model to
    its last and publishes exactly the loads it started with (ops.publishes)."""
    cur.execute("select pg_try_advisory_xact_lock_shared(%s, %s)", BUILD_LOCK)
    if cur.fetchone()[0]:
        return
    holder = _holder(cur)
    who = holder.describe() if holder else "a build"
    print(f"coeqwal: {what}: waiting for the running build to finish ({who})", flush=True)
    cur.execute("select pg_advisory_xact_lock_shared(%s, %s)", BUILD_LOCK)


@contextmanager
def build_lock(
    db: DatabaseUrl,
    wait_timeout: float | None,
    *,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    poll: float = 1.0,
) -> Iterator[None]:
    """Hold the build lock of `db` for the body; wait at most `wait_timeout` s
    (None: as long as it takes) for another build to finish."""
    import psycopg2

    conn = psycopg2.connect(
        db.url(),
        connect_timeout=10,
        application_name=f"coeqwal build (pid {os.getpid()})",
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )
    conn.autocommit = True
    try:
        cur = conn.cursor()
        started = time.monotonic()
        announced = False
        while True:
            cur.execute("select pg_try_advisory_lock(%s, %s)", BUILD_LOCK)
            if cur.fetchone()[0]:
                break
            holder = _holder(cur)
            waited = time.monotonic() - started
            what = holder.describe() if holder else "a build that is just finishing"
            if wait_timeout is not None and waited >= wait_timeout:
                raise LockTimeout(
                    f"another build still holds the build lock after {waited:.0f} s "
                    f"(--wait-timeout {wait_timeout:g}): {what}"
                )
            if not announced:
                limit = f"at most {wait_timeout:g} s" if wait_timeout is not None else "no limit"
                say(f"coeqwal build: waiting for another build to finish ({what}; {limit})")
                announced = True
            time.sleep(poll)
        yield
    finally:
        with suppress(Exception):
            conn.close()  # closing the session releases the lock
