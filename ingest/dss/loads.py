"""`raw_dss.dss_loads`: one row per scenario, the load its raw partition holds.

A build decides which scenarios to (re)compute by comparing each scenario's
latest load with the load its published tables were computed from. Read from
the raw series that is one scan of every scenario's rows (O(stored)); read
from this table it is one row per scenario. The row is written in the same
transaction as the partition it describes (`pipeline._swap_in`), so the two
never disagree; `coeqwal audit` reconciles them
(tests/dbt/staging/assert_dss_loads_match_raw_series.sql).
"""

from __future__ import annotations

TABLE = "raw_dss.dss_loads"
# Held (transaction-level advisory lock) by whatever changes the raw partitions.
SWAP_LOCK = "raw_dss.dss_series swap"

_CREATE = f"""
create table {TABLE} (
    scenario_id varchar primary key,
    ingested_at timestamp with time zone not null,
    series_count integer not null,
    recorded_at timestamp with time zone not null default now()
)
"""

_UPSERT = f"""
insert into {TABLE} (scenario_id, ingested_at, series_count) values (%s, %s, %s)
on conflict (scenario_id) do update set
    ingested_at = excluded.ingested_at,
    series_count = excluded.series_count,
    recorded_at = now()
"""


def ensure(cur) -> None:
    """Create the table if it is missing, filled from the raw series already
    landed (a database loaded before the table existed): one scan, once.

    Call inside the transaction that holds the raw table's swap lock, so that
    no partition changes between the scan and the commit."""
    cur.execute("select to_regclass(%s) is not null", (TABLE,))
    if cur.fetchone()[0]:
        return
    cur.execute("create schema if not exists raw_dss")
    cur.execute(_CREATE)
    cur.execute("select to_regclass('raw_dss.dss_series') is not null")
    if cur.fetchone()[0]:
        cur.execute(
            f"insert into {TABLE} (scenario_id, ingested_at, series_count) "
            "select scenario_id, max(ingested_at), count(*) "
            "from raw_dss.dss_series group by scenario_id"
        )


def summary_of(cur, table: str) -> tuple[object, int] | None:
    """(latest ingested_at, series count) of the rows of `table` (one scenario's)."""
    cur.execute(f"select max(ingested_at), count(*)::integer from {table}")
    latest, count = cur.fetchone()
    return None if latest is None else (latest, count)


def record(cur, scenario_id: str, summary: tuple[object, int] | None) -> None:
    """The scenario's row: the load its partition now holds (none when empty)."""
    if summary is None:
        cur.execute(f"delete from {TABLE} where scenario_id = %s", (scenario_id,))
    else:
        cur.execute(_UPSERT, (scenario_id, *summary))


def ensure_committed(conn) -> None:
    """ensure() in a transaction of its own, under the swap lock (`coeqwal build`
    runs it first, so that a database loaded before the table existed gets it
    once, and every build after reads the table)."""
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select to_regclass(%s) is null and to_regclass('raw_dss.dss_series') is not null",
                (TABLE,),
            )
            if cur.fetchone()[0]:  # series landed before the table existed
                cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (SWAP_LOCK,))
                ensure(cur)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = autocommit
