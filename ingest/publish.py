"""The publish step: clients see a build only once it has passed, all at once.

`coeqwal build` runs dbt into shadow schemas (`staging__next`, `marts__next`,
`api__next`, ... : var schema_suffix, see macros/generate_schema_name.sql). The
large marts are views over per-scenario tables of schema `store`
(macros/publish/scenario_store.sql): the shadow views read the published tables
of unchanged scenarios and new tables for the scenarios this build computed, so
nothing is copied. When dbt exits 0 (every model built, every test passed),
`publish` renames the shadow schemas into place in one transaction (catalog
changes only: no relation is locked, a reader waits for nothing) and notifies
PostgREST in it. A failed or killed build never reaches that transaction:
clients keep reading the published schemas, and the next build discards what
the failed one left (`prepare`).

All of this runs under the build lock (ingest/guard.py), so one build at a time
touches the shadow schemas and the store.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

from ingest import ops
from ingest.config import DatabaseUrl
from ingest.errors import joined

SUFFIX = "__next"
OLD = "__old"
STORE = "store"
# How long the publish transaction and the clean-up wait for a lock before giving
# up (a reader inside a long transaction on an old relation): the rename itself
# takes none; dropping replaced relations is retried by the next build.
LOCK_TIMEOUT = "10s"


def _schemas_ending(cur, suffix: str) -> list[str]:
    cur.execute(
        "select nspname from pg_namespace where right(nspname, %s) = %s order by nspname",
        (len(suffix), suffix),
    )
    return [row[0] for row in cur.fetchall()]


@contextlib.contextmanager
def _transaction(conn):
    """One transaction on a psycopg2 connection (commit, or rollback on error)."""
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        conn.autocommit = True


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _drop_schemas(conn, names: list[str]) -> list[str]:
    """Drop schemas one transaction each; returns those left (a lock not granted)."""
    left = []
    for name in names:
        try:
            with _transaction(conn) as cur:
                cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                cur.execute(f"drop schema if exists {_quote(name)} cascade")
        except Exception as exc:
            left.append(name)
            print(f"coeqwal: warning: {name} not dropped yet ({joined(exc)})", file=sys.stderr)
    return left


def collect_garbage(conn) -> int:
    """Drop the store tables no view reads (replaced scenarios, failed builds).

    A table is dropped without CASCADE: one that some view still reads cannot be
    dropped, so a wrong guess fails instead of removing data that is served."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (f"{STORE}.scenario_parts",))
        if not cur.fetchone()[0]:
            return 0
        cur.execute(
            """
            select part.relname
            from pg_class as part
            inner join pg_namespace as nsp on part.relnamespace = nsp.oid
            where
                nsp.nspname = %s
                and part.relkind = 'r'
                and part.relname <> 'scenario_parts'
                and not exists (
                    select from pg_depend as dep
                    where dep.refobjid = part.oid and dep.classid = 'pg_rewrite'::regclass
                )
            order by part.relname
            """,
            (STORE,),
        )
        names = [row[0] for row in cur.fetchall()]
    dropped = 0
    for name in names:
        try:
            with _transaction(conn) as cur:
                cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                cur.execute(f"drop table {STORE}.{_quote(name)}")
                cur.execute(f"delete from {STORE}.scenario_parts where relation_name = %s", (name,))
            dropped += 1
        except Exception as exc:
            print(f"coeqwal: warning: {STORE}.{name} kept ({joined(exc)})", file=sys.stderr)
    with _transaction(conn) as cur:
        cur.execute(
            f"delete from {STORE}.scenario_parts as parts where not exists ("
            " select from pg_class c join pg_namespace n on c.relnamespace = n.oid"
            " where n.nspname = %s and c.relname = parts.relation_name)",
            (STORE,),
        )
    return dropped


def prepare(db: DatabaseUrl) -> None:
    """Before a build: discard what a failed or killed build left behind."""
    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            leftovers = _schemas_ending(cur, SUFFIX) + _schemas_ending(cur, OLD)
        _drop_schemas(conn, leftovers)
        collect_garbage(conn)
    finally:
        conn.close()


def discard(db: DatabaseUrl) -> None:
    """After a failed build: the shadow schemas and the tables only they read."""
    prepare(db)


def published_loads(cur) -> dict[str, str]:
    """The latest successful load of each scenario (what a build publishes)."""
    cur.execute(
        """
        select distinct on (scenario_id) scenario_id, run_id, finished_at
        from ops.ingest_runs
        where kind = 'dss' and status = 'succeeded' and scenario_id is not null
        order by scenario_id, finished_at desc, run_id desc
        """
    )
    return {row[0]: f"run {row[1]} at {row[2].isoformat()}" for row in cur.fetchall()}


def publish(db: DatabaseUrl, invocation_id: str | None, loads: dict[str, str]) -> float:
    """Rename the shadow schemas into place, in one transaction; returns its seconds.

    Then drops the replaced schemas and the store tables nobody reads any more
    (each in its own short transaction, after the switch)."""
    conn = ops.connect(db)
    try:
        started = time.monotonic()
        with _transaction(conn) as cur:
            cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
            shadows = _schemas_ending(cur, SUFFIX)
            replaced = []
            for shadow in shadows:
                live = shadow[: -len(SUFFIX)]
                cur.execute("select to_regnamespace(%s) is not null", (_quote(live),))
                if cur.fetchone()[0]:
                    cur.execute(f"alter schema {_quote(live)} rename to {_quote(live + OLD)}")
                    replaced.append(live + OLD)
                cur.execute(f"alter schema {_quote(shadow)} rename to {_quote(live)}")
            cur.execute(
                "insert into ops.publishes (invocation_id, schemas, scenario_loads)"
                " values (%s, %s, %s)",
                (invocation_id, [s[: -len(SUFFIX)] for s in shadows], json.dumps(loads)),
            )
            cur.execute("notify pgrst, 'reload schema'")
        seconds = time.monotonic() - started
        _drop_schemas(conn, replaced)
        collect_garbage(conn)
        return seconds
    finally:
        conn.close()
