"""The publish step: clients see a build only once it has passed, all at once.

`coeqwal build` runs dbt into shadow schemas (`staging__next`, `marts__next`,
`api__next`, ... : var schema_suffix, see macros/generate_schema_name.sql). The
large marts keep one table per scenario in schema `store`
(macros/publish/scenario_store.sql): the shadow views read the published tables
of unchanged scenarios and new tables for the scenarios this build computed, so
nothing is copied. When dbt exits 0 (every model built, every test passed),
`publish`, in one transaction, switches each shadow view to one partitioned
table per model whose partitions are those tables (`partition_views`), renames
the shadow schemas into place and notifies PostgREST. Readers are not blocked
by it, except for a moment when a re-ingested scenario's old table is taken off
its partitioned table. A failed or killed build never reaches that transaction:
clients keep reading the published schemas, and the next build discards what
the failed one left (`prepare`).

All of this runs under the build lock (ingest/guard.py), so one build at a time
touches the shadow schemas and the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time

import psycopg2.errors

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
# The publish transaction waits at most this for a lock, and is retried: it needs
# an exclusive lock only to take a replaced scenario's table off its partitioned
# table, and readers queue behind a waiting exclusive lock, so it must not wait long.
SWITCH_LOCK_TIMEOUT = "1s"
SWITCH_ATTEMPTS = 20
SWITCH_RETRY_SECONDS = 0.5


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
    """Drop the store tables no view reads (replaced scenarios, failed builds),
    and the partitioned tables no view reads (their partitions detached first).

    A table is dropped without CASCADE: one that some view still reads cannot be
    dropped, so a wrong guess fails instead of removing data that is served.
    Before the first build has created store.part_readers there is nothing to
    collect yet."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (f"{STORE}.part_readers",))
        if not cur.fetchone()[0]:
            return 0
        cur.execute(
            """
            select parent.oid::regclass::text,
                array_remove(array_agg(inh.inhrelid::regclass::text), null)
            from pg_class as parent
            left join pg_inherits as inh on inh.inhparent = parent.oid
            where
                parent.relnamespace = %s::regnamespace
                and parent.relkind = 'p'
                and not exists (
                    select from pg_depend as dep
                    where dep.refobjid = parent.oid and dep.classid = 'pg_rewrite'::regclass
                )
            group by parent.oid
            """,
            (STORE,),
        )
        parents = cur.fetchall()
    for parent, children in parents:
        try:
            with _transaction(conn) as cur:
                cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                for child in children:
                    cur.execute(f"alter table {parent} detach partition {child}")
                cur.execute(f"drop table {parent}")
        except Exception as exc:
            print(f"coeqwal: warning: {parent} kept ({joined(exc)})", file=sys.stderr)
    with conn.cursor() as cur:
        cur.execute(
            """
            select part.relname
            from pg_class as part
            where
                part.relnamespace = %s::regnamespace
                and part.relkind = 'r'
                and part.relname <> 'scenario_parts'
                and part.relname not in (select relation_name from store.part_readers)
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


def columns(cur, relation: int | str) -> list[tuple[str, str]]:
    """(name, SQL type) of each column of a relation (its oid or name), in order."""
    cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute"
        " where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (relation,),
    )
    return cur.fetchall()


def partition_views(cur, schemas: list[str]) -> list[str]:
    """Switch the scenario_store views of `schemas` to read one partitioned table
    per model, with each scenario's table attached as its partition; returns the
    views switched.

    A build writes each model's view as a UNION ALL of per-scenario tables
    (macros/publish/scenario_store.sql): right for the build and its tests, but
    the planner examines every branch, so a one-scenario request is planned in
    time that grows with the number of scenarios (7-19 ms at 26). A partitioned
    table is pruned to the scenario's partition before planning. The parent
    (store.<model>__p<signature of its columns>) holds no rows and no index;
    each table keeps its own key. A table is attached without being read (its
    CHECK on scenario_id, written by the build, proves the bound). Attaching
    locks neither readers nor the tables they read; detaching a replaced
    scenario's table takes the parent's exclusive lock for a moment (the caller
    sets lock_timeout). A view whose tables differ in columns (written before a
    column was added) or that has a table without a scenario stays a UNION ALL.
    A packed model's tables (macros/publish/packing.sql) are attached alike; its
    view reads the parent through store.unpacked_select.
    """
    cur.execute(
        """
        select view.oid, format('%%I.%%I', nsp.nspname, view.relname), min(parts.model_name),
            array_agg(parts.relation_name order by parts.scenario_id),
            array_agg(parts.scenario_id order by parts.scenario_id)
        from store.part_readers as readers
        inner join store.scenario_parts as parts using (relation_name)
        inner join pg_class as view on view.oid = readers.reader
        inner join pg_namespace as nsp on view.relnamespace = nsp.oid
        where nsp.nspname = any(%s) and view.relkind = 'v'
        group by view.oid, nsp.nspname, view.relname
        order by 2
        """,
        (schemas,),
    )
    switched = []
    for oid, view, model, tables, scenarios in cur.fetchall():
        view_columns = columns(cur, oid)
        names = [name for name, _ in view_columns]
        if None in scenarios or len(set(scenarios)) != len(scenarios) or "scenario_id" not in names:
            continue
        cur.execute(
            "select cls.relname, cls.oid from pg_class as cls"
            " where cls.relnamespace = %s::regnamespace and cls.relname = any(%s)",
            (STORE, tables),
        )
        oids = dict(cur.fetchall())
        # The tables' own columns: the view's, or for packed tables
        # (macros/publish/packing.sql) the packed shape, which holds the view's rows.
        shapes = {table: columns(cur, oids[table]) for table in tables}
        shape = shapes[tables[0]]
        packed = any(name == "packed_rows" for name, _ in shape)
        if any(sorted(table_shape) != sorted(shape) for table_shape in shapes.values()):
            continue
        if packed:
            cur.execute(
                f"select column_name, column_type from {STORE}.unpacked_columns(%s)"
                " order by column_position",
                (oids[tables[0]],),
            )
            if [tuple(row) for row in cur.fetchall()] != [tuple(col) for col in view_columns]:
                continue
        elif sorted(shape) != sorted(view_columns):
            continue
        signed = shape if packed else view_columns
        signature = hashlib.md5(repr(signed).encode()).hexdigest()[:8]
        parent = f"{model}__p{signature}"
        cur.execute("select to_regclass(%s)", (f"{STORE}.{_quote(parent)}",))
        if cur.fetchone()[0] is None:
            definition = ", ".join(
                f"{_quote(name)} {type_}" for name, type_ in (shape if packed else view_columns)
            )
            cur.execute(
                f"create table {STORE}.{_quote(parent)} ({definition})"
                " partition by list (scenario_id)"
            )
        parent_name = f"{STORE}.{_quote(parent)}"
        # Partitions to keep, and tables to take off a parent first: replaced
        # scenarios of this model, or tables of a parent of other columns.
        cur.execute(
            "select inhrelid, inhrelid::regclass::text, inhparent::regclass::text,"
            " inhparent = %s::regclass"
            " from pg_inherits where inhrelid = any(%s) or inhparent = %s::regclass",
            (parent_name, list(oids.values()), parent_name),
        )
        attached = set()
        for child, child_name, of, ours in cur.fetchall():
            if ours and child in oids.values():
                attached.add(child)
            else:
                cur.execute(f"alter table {of} detach partition {child_name}")
        for table, scenario in zip(tables, scenarios, strict=True):
            if oids[table] not in attached:
                cur.execute(
                    f"alter table {parent_name} attach partition {STORE}.{_quote(table)}"
                    " for values in (%s)",
                    (scenario,),
                )
        select = ", ".join(_quote(name) for name in names)
        source = parent_name
        if packed:
            cur.execute(f"select {STORE}.unpacked_select(%s::regclass)", (parent_name,))
            source = f"({cur.fetchone()[0]}) as stored_rows"
        cur.execute(f"create or replace view {view} as select {select} from {source}")
        switched.append(view)
    return switched


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


def _constrain_parts(conn, schemas: list[str]) -> None:
    """Give every table the views of `schemas` read the CHECK on its scenario
    that lets it be attached unread. A build writes it with each new table;
    tables written before it get it here, validated without blocking readers
    (NOT VALID, then VALIDATE, which reads the table under a lock readers share)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select distinct format('%%I.%%I', %s, parts.relation_name), parts.scenario_id
            from store.part_readers as readers
            inner join store.scenario_parts as parts using (relation_name)
            inner join pg_class as view on view.oid = readers.reader
            where
                view.relnamespace::regnamespace::text = any(%s)
                and parts.scenario_id is not null
                and not exists (
                    select from pg_constraint as con
                    where
                        con.conrelid = format('%%I.%%I', %s, parts.relation_name)::regclass
                        and con.conname = 'scenario_store_scenario'
                )
                and exists (
                    select from pg_attribute as att
                    where
                        att.attrelid = format('%%I.%%I', %s, parts.relation_name)::regclass
                        and att.attname = 'scenario_id'
                        and not att.attisdropped
                )
            """,
            (STORE, schemas, STORE, STORE),
        )
        tables = cur.fetchall()
    for table, scenario_id in tables:
        with _transaction(conn) as cur:
            cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
            cur.execute(
                f"alter table {table} add constraint scenario_store_scenario"
                " check (scenario_id is not null and scenario_id = %s) not valid",
                (scenario_id,),
            )
        with _transaction(conn) as cur:
            cur.execute(f"alter table {table} validate constraint scenario_store_scenario")


def key_parts(conn, schemas: list[str]) -> list[str]:
    """Give every table the views of `schemas` read the key a build writes with
    each new table (macros/publish/scenario_store.sql): a primary key that
    starts with scenario_id, and scenario_id declared distinct for the planner.
    Without them, a generic plan of `scenario_id = any($1)` scans the table of
    every scenario not listed. Tables written before them get them here: the
    new key is built beside the old one (readers are not blocked), then takes
    its place in a short transaction that waits at most SWITCH_LOCK_TIMEOUT for
    readers and is retried. Returns the tables changed."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select distinct
                format('%%I.%%I', %s, parts.relation_name),
                pk.conname,
                array(
                    select att.attname::text
                    from unnest(pk.conkey) with ordinality as key (attnum, position)
                    inner join pg_attribute as att
                        on att.attrelid = pk.conrelid and att.attnum = key.attnum
                    order by key.position
                ),
                coalesce('n_distinct=-1' = any(sid.attoptions), false)
            from store.part_readers as readers
            inner join store.scenario_parts as parts using (relation_name)
            inner join pg_class as view on view.oid = readers.reader
            inner join pg_attribute as sid
                on sid.attrelid = format('%%I.%%I', %s, parts.relation_name)::regclass
                and sid.attname = 'scenario_id' and not sid.attisdropped
            left join pg_constraint as pk on pk.conrelid = sid.attrelid and pk.contype = 'p'
            where
                view.relnamespace::regnamespace::text = any(%s)
                and parts.scenario_id is not null
            order by 1
            """,
            (STORE, STORE, schemas),
        )
        tables = cur.fetchall()
    changed = []
    for table, constraint, key, distinct in tables:
        rekey = constraint is not None and key[0] != "scenario_id"
        if distinct and not rekey:
            continue
        if rekey:
            index = _quote(f"{constraint}__scenario")
            with _transaction(conn) as cur:
                cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                cur.execute(
                    f"create unique index {index} on {table} (scenario_id, "
                    + ", ".join(_quote(name) for name in key)
                    + ")"
                )
            for attempt in range(1, SWITCH_ATTEMPTS + 1):
                try:
                    with _transaction(conn) as cur:
                        cur.execute(f"set local lock_timeout = '{SWITCH_LOCK_TIMEOUT}'")
                        cur.execute(
                            f"alter table {table} drop constraint {_quote(constraint)},"
                            f" add constraint {_quote(constraint)} primary key using index {index}"
                        )
                    break
                except psycopg2.errors.LockNotAvailable:
                    if attempt == SWITCH_ATTEMPTS:
                        raise
                    time.sleep(SWITCH_RETRY_SECONDS)
        with _transaction(conn) as cur:
            cur.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
            cur.execute(f"alter table {table} alter column scenario_id set (n_distinct = -1)")
            cur.execute(f"analyze {table}")
        changed.append(table)
    return changed


def _switch(conn, invocation_id: str | None, loads: dict[str, str]) -> list[str]:
    """The publish transaction: partitioned views, then the schema renames."""
    with _transaction(conn) as cur:
        cur.execute(f"set local lock_timeout = '{SWITCH_LOCK_TIMEOUT}'")
        shadows = _schemas_ending(cur, SUFFIX)
        partition_views(cur, shadows)
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
    return replaced


def publish(db: DatabaseUrl, invocation_id: str | None, loads: dict[str, str]) -> float:
    """Rename the shadow schemas into place, in one transaction; returns its seconds.

    Then drops the replaced schemas and the store tables nobody reads any more
    (each in its own short transaction, after the switch)."""
    conn = ops.connect(db)
    try:
        with conn.cursor() as cur:
            shadows = _schemas_ending(cur, SUFFIX)
        _constrain_parts(conn, shadows)
        key_parts(conn, shadows)
        started = time.monotonic()
        for attempt in range(1, SWITCH_ATTEMPTS + 1):
            try:
                replaced = _switch(conn, invocation_id, loads)
                break
            except psycopg2.errors.LockNotAvailable:
                if attempt == SWITCH_ATTEMPTS:
                    raise
                time.sleep(SWITCH_RETRY_SECONDS)
        seconds = time.monotonic() - started
        _drop_schemas(conn, replaced)
        collect_garbage(conn)
        return seconds
    finally:
        conn.close()
