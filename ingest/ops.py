"""Schema `ops`: the warehouse's own record of what was loaded and built.

Python writes these rows directly (not through dlt) so that a failed run is
recorded even when nothing else was written. dbt reads them as sources.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.config import DatabaseUrl

DDL = """
create schema if not exists ops;
create table if not exists ops.ingest_runs (
    run_id bigserial primary key,
    kind text not null,
    scenario_id text,
    layer_name text,
    status text not null check (status in ('succeeded', 'failed', 'unchanged')),
    error text,
    files jsonb not null default '[]',
    series_read integer not null default 0,
    series_skipped jsonb not null default '{}',
    values_loaded bigint not null default 0,
    null_values bigint not null default 0,
    seconds double precision not null default 0,
    finished_at timestamptz not null default now()
);
create index if not exists ingest_runs_scenario_idx on ops.ingest_runs (scenario_id, finished_at);
"""


def connect(db: DatabaseUrl):
    import psycopg2

    conn = psycopg2.connect(db.url(), connect_timeout=10, application_name="coeqwal")
    conn.autocommit = True
    return conn


def ensure_ops(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(DDL)


INGEST_RUN_COLUMNS = (
    "kind",
    "scenario_id",
    "layer_name",
    "status",
    "error",
    "files",
    "series_read",
    "series_skipped",
    "values_loaded",
    "null_values",
    "seconds",
)


def insert_ingest_run(db: DatabaseUrl, **columns: Any) -> None:
    """Append one row to ops.ingest_runs (columns of INGEST_RUN_COLUMNS; `files`
    and `series_skipped` as Python objects); never raises over a recording failure."""
    unknown = set(columns) - set(INGEST_RUN_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of ops.ingest_runs: {sorted(unknown)}")
    for key in ("files", "series_skipped"):
        if key in columns:
            columns[key] = json.dumps(columns[key])
    try:
        conn = connect(db)
    except Exception:  # the database itself is unreachable: the caller reports that
        return
    try:
        ensure_ops(conn)
        names = list(columns)
        with conn.cursor() as cur:
            cur.execute(
                f"insert into ops.ingest_runs ({', '.join(names)}) "
                f"values ({', '.join(['%s'] * len(names))})",
                [columns[n] for n in names],
            )
    finally:
        conn.close()


def record_ingest_run(
    db: DatabaseUrl,
    result: Any,
    files: list[dict],
    *,
    status: str,
    error: str | None,
    kind: str = "dss",
) -> None:
    """One row in ops.ingest_runs for a DSS ingest (`result`: an IngestResult)."""
    loaded = status != "failed"
    insert_ingest_run(
        db,
        kind=kind,
        scenario_id=result.scenario_id,
        status=status,
        error=error,
        files=files,
        series_read=result.series if loaded else 0,
        series_skipped=result.skipped,
        values_loaded=result.values if loaded else 0,
        null_values=result.nulls if loaded else 0,
        seconds=round(result.seconds, 3),
    )


# --- dbt builds (issue 9): run_results.json / sources.json landed after every invocation ---

DBT_DDL = """
create schema if not exists ops;
create table if not exists ops.dbt_runs (
    invocation_id text primary key,
    command text not null,
    status text not null check (status in ('succeeded', 'warned', 'failed')),
    exit_code integer not null,
    error text,
    dbt_version text,
    started_at timestamptz,
    finished_at timestamptz not null default now(),
    elapsed_seconds double precision not null default 0,
    node_count integer not null default 0,
    success_count integer not null default 0,
    warn_count integer not null default 0,
    error_count integer not null default 0,
    fail_count integer not null default 0,
    skipped_count integer not null default 0
);
create index if not exists dbt_runs_finished_idx on ops.dbt_runs (command, finished_at);
create table if not exists ops.dbt_node_results (
    invocation_id text not null references ops.dbt_runs (invocation_id) on delete cascade,
    unique_id text not null,
    resource_type text not null,
    status text not null,
    seconds double precision,
    rows_affected bigint,
    failures integer,
    message text,
    relation_name text,
    started_at timestamptz,
    finished_at timestamptz,
    primary key (invocation_id, unique_id)
);
create table if not exists ops.publishes (
    publish_id bigserial primary key,
    invocation_id text,
    published_at timestamptz not null default now(),
    schemas text[] not null,
    scenario_loads jsonb not null default '{}'
);
comment on table ops.publishes is
    'One row per published build: the dbt invocation, the schemas switched in, and the load of each scenario it published (ops.ingest_runs).';
create table if not exists ops.audit_batches (
    invocation_id text primary key references ops.dbt_runs (invocation_id) on delete cascade,
    audit_id uuid not null,
    batch integer not null,
    batch_count integer not null,
    scenario_ids text[] not null
);
create index if not exists audit_batches_audit_idx on ops.audit_batches (audit_id, batch);
create table if not exists ops.audit_failures (
    invocation_id text not null references ops.dbt_runs (invocation_id) on delete cascade,
    unique_id text not null,
    scenario_id text,
    failing_row jsonb not null
);
create index if not exists audit_failures_invocation_idx
    on ops.audit_failures (invocation_id, unique_id);
comment on table ops.audit_batches is
    'One row per batch of a coeqwal audit: its dbt invocation (ops.dbt_runs, command audit), the audit it belongs to, its number of batch_count, and the scenarios its per-scenario tests checked (the first batch also runs the tests of the whole warehouse).';
comment on table ops.audit_failures is
    'The failing rows of the failed tests of every audit batch, as JSON (at most 10,000 per test and batch; ops.dbt_node_results.failures counts them all): ops_audit keeps only the last run of each test.';
create table if not exists ops.source_freshness (
    invocation_id text not null references ops.dbt_runs (invocation_id) on delete cascade,
    unique_id text not null,
    status text not null,
    max_loaded_at timestamptz,
    snapshotted_at timestamptz,
    age_seconds double precision,
    warn_after text,
    error_after text,
    error text,
    primary key (invocation_id, unique_id)
);
"""

# dbt node statuses, per outcome: run_results.json uses success/error/skipped for
# models and seeds, pass/warn/fail/error for tests; sources.json pass/warn/error
# and "runtime error".
_FAILED = {"error", "fail", "runtime error"}


def dbt_run_status(exit_code: int, statuses: list[str]) -> str:
    """succeeded, warned or failed: failed if dbt exited non-zero or any node failed."""
    if exit_code != 0 or any(s in _FAILED for s in statuses):
        return "failed"
    return "warned" if "warn" in statuses else "succeeded"


def _node_row(invocation_id: str, res: dict) -> tuple:
    timing = {t.get("name"): t for t in res.get("timing") or []}
    started = (timing.get("compile") or timing.get("execute") or {}).get("started_at")
    finished = (timing.get("execute") or timing.get("compile") or {}).get("completed_at")
    rows = (res.get("adapter_response") or {}).get("rows_affected")
    unique_id = res["unique_id"]
    return (
        invocation_id,
        unique_id,
        unique_id.split(".", 1)[0],
        res.get("status") or "unknown",
        res.get("execution_time"),
        rows if rows is not None and rows >= 0 else None,
        res.get("failures"),
        (res.get("message") or None),
        res.get("relation_name"),
        started,
        finished,
    )


def _period(criteria: dict | None, key: str) -> str | None:
    value = (criteria or {}).get(key) or {}
    if value.get("count") is None or value.get("period") is None:
        return None
    return f"{value['count']} {value['period']}"


def record_dbt_invocation(
    db: DatabaseUrl,
    command: str,
    exit_code: int,
    artifact: dict,
    *,
    error: str | None = None,
) -> str | None:
    """Land one dbt invocation (run_results.json, or sources.json for `source freshness`)
    in ops.dbt_runs and its nodes in ops.dbt_node_results / ops.source_freshness.

    `artifact` is {} when dbt wrote nothing for this invocation (it died before
    running a node): the run is still recorded, as failed, under a fresh id.
    Returns the invocation id, or None when the row could not be written (the
    caller's own exit status is what matters; a warning is printed).
    """
    import sys
    import uuid

    meta = artifact.get("metadata") or {}
    invocation_id = meta.get("invocation_id") or str(uuid.uuid4())
    results = artifact.get("results") or []
    statuses = [r.get("status") or "unknown" for r in results]
    counts = {s: statuses.count(s) for s in set(statuses)}
    status = dbt_run_status(exit_code, statuses)
    freshness = command.startswith("source freshness")
    if status == "failed" and not error:
        failed = [r for r in results if r.get("status") in _FAILED]
        if failed:
            first = failed[0]
            text = (first.get("message") or first.get("error") or "").strip()
            error = f"{first['unique_id']}: {text.splitlines()[0] if text else first['status']}"
        else:
            error = f"dbt exited {exit_code}"
    try:
        conn = connect(db)
    except Exception as exc:
        print(f"coeqwal: warning: dbt run not recorded in ops: {exc}", file=sys.stderr)
        return None
    try:
        conn.autocommit = False
        with conn, conn.cursor() as cur:
            cur.execute(DDL + DBT_DDL)
            cur.execute(
                """
                insert into ops.dbt_runs (invocation_id, command, status, exit_code, error,
                    dbt_version, started_at, finished_at, elapsed_seconds, node_count,
                    success_count, warn_count, error_count, fail_count, skipped_count)
                values (%s, %s, %s, %s, %s, %s, %s, coalesce(%s::timestamptz, now()), %s,
                    %s, %s, %s, %s, %s, %s)
                on conflict (invocation_id) do nothing
                """,
                (
                    invocation_id,
                    command,
                    status,
                    exit_code,
                    error,
                    meta.get("dbt_version"),
                    meta.get("invocation_started_at"),
                    meta.get("generated_at"),
                    round(float(artifact.get("elapsed_time") or 0.0), 3),
                    len(results),
                    counts.get("success", 0) + counts.get("pass", 0),
                    counts.get("warn", 0),
                    counts.get("error", 0) + counts.get("runtime error", 0),
                    counts.get("fail", 0),
                    counts.get("skipped", 0),
                ),
            )
            if freshness:
                cur.executemany(
                    """
                    insert into ops.source_freshness (invocation_id, unique_id, status,
                        max_loaded_at, snapshotted_at, age_seconds, warn_after, error_after, error)
                    values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                    on conflict do nothing
                    """,
                    [
                        (
                            invocation_id,
                            r["unique_id"],
                            r.get("status") or "unknown",
                            r.get("max_loaded_at"),
                            r.get("snapshotted_at"),
                            r.get("max_loaded_at_time_ago_in_s"),
                            _period(r.get("criteria"), "warn_after"),
                            _period(r.get("criteria"), "error_after"),
                            r.get("error"),
                        )
                        for r in results
                    ],
                )
            else:
                cur.executemany(
                    """
                    insert into ops.dbt_node_results (invocation_id, unique_id, resource_type,
                        status, seconds, rows_affected, failures, message, relation_name,
                        started_at, finished_at)
                    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    on conflict do nothing
                    """,
                    [_node_row(invocation_id, r) for r in results],
                )
        return invocation_id
    except Exception as exc:
        print(f"coeqwal: warning: dbt run not recorded in ops: {exc}", file=sys.stderr)
        return None
    finally:
        conn.close()


AUDIT_FAILING_ROWS_KEPT = 10_000  # per test and batch; ops.dbt_node_results counts them all


def record_audit_batch(
    db: DatabaseUrl,
    *,
    audit_id: str,
    batch: int,
    batch_count: int,
    invocation_id: str | None,
    scenario_ids: list[str],
    failing: list[tuple[str, str | None]],
) -> None:
    """One batch of `coeqwal audit` (its dbt invocation, already in ops.dbt_runs)
    in ops.audit_batches, and the failing rows of its failed tests (`failing`:
    unique id and the ops_audit table dbt stored them in) in ops.audit_failures,
    where the next batch's run of the same test does not replace them."""
    import sys

    if invocation_id is None:
        print("coeqwal: warning: audit batch not recorded: dbt wrote no results", file=sys.stderr)
        return
    conn = connect(db)
    try:
        conn.autocommit = False
        with conn, conn.cursor() as cur:
            cur.execute(DDL + DBT_DDL)
            cur.execute(
                "insert into ops.audit_batches (invocation_id, audit_id, batch, batch_count,"
                " scenario_ids) values (%s, %s, %s, %s, %s) on conflict do nothing",
                (invocation_id, audit_id, batch, batch_count, scenario_ids),
            )
            for unique_id, relation in failing:
                if not relation:
                    continue  # an error, not failing rows: its message is in dbt_node_results
                cur.execute("select to_regclass(%s) is not null", (relation,))
                if not cur.fetchone()[0]:
                    continue
                cur.execute(
                    "insert into ops.audit_failures (invocation_id, unique_id, scenario_id,"
                    " failing_row) select %s, %s, failing.row ->> 'scenario_id', failing.row"
                    f" from (select to_jsonb(f) as row from {relation} as f limit %s) as failing",
                    (invocation_id, unique_id, AUDIT_FAILING_ROWS_KEPT),
                )
    finally:
        conn.close()


def ensure_ops_tables(db: DatabaseUrl) -> None:
    """Create every ops table dbt reads as a source, so the first build finds them."""
    conn = connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(DDL + DBT_DDL)
    finally:
        conn.close()
