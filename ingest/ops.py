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


def record_ingest_run(
    db: DatabaseUrl,
    result: Any,
    files: list[dict],
    *,
    status: str,
    error: str | None,
    kind: str = "dss",
) -> None:
    """Append one row to ops.ingest_runs; never raises over a recording failure."""
    try:
        conn = connect(db)
    except Exception:  # the database itself is unreachable: the caller reports that
        return
    try:
        ensure_ops(conn)
        with conn.cursor() as cur:
            cur.execute(
                """
                insert into ops.ingest_runs (kind, scenario_id, status, error, files, series_read,
                    series_skipped, values_loaded, null_values, seconds)
                values (%s, %s, %s, %s, %s::jsonb, %s, %s::jsonb, %s, %s, %s)
                """,
                (
                    kind,
                    result.scenario_id,
                    status,
                    error,
                    json.dumps(files),
                    result.series if status != "failed" else 0,
                    json.dumps(result.skipped),
                    result.values if status != "failed" else 0,
                    result.nulls if status != "failed" else 0,
                    round(result.seconds, 3),
                ),
            )
    finally:
        conn.close()
