"""`coeqwal bench`: the performance benchmark, report to stdout.

Measures, in its own database (`coeqwal_bench`) on the active server:
1. the end-to-end ingest of a full-size synthetic DV file (≈21,500 series ×
   1,200 months) through the real CLI, as a child process whose peak RSS is
   read from the kernel (wait4);
2. a bare `COPY` of exactly the same rows, from a CSV prepared beforehand, into
   an equivalent table (same columns and types), through psql's `\\copy`;
3. as the reference architecture.md quotes, a bare `COPY` of the same values as
   long (series_id, month, value) rows.
For each: seconds, values per second, peak RSS of the client, and bytes per
value on disk (table + TOAST + indexes).

Speed targets are measured here, never by timed tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.config import STATE_DIR, active_database, external_url

# Its own database (COEQWAL_BENCH_DATABASE overrides it, so that two people sharing a
# server never drop each other's benchmark).
BENCH_DATABASE = os.environ.get("COEQWAL_BENCH_DATABASE", "coeqwal_bench")
BENCH_SCENARIO = "s0020"  # a seeded scenario id, so the dbt build accepts it
SECOND_SCENARIO = "s0029"


@dataclass
class Measure:
    label: str
    seconds: float
    values: int
    peak_rss_bytes: int | None
    disk_bytes: int | None

    def row(self) -> str:
        rate = self.values / self.seconds if self.seconds else 0
        rss = f"{self.peak_rss_bytes / 2**20:,.0f} MB" if self.peak_rss_bytes else "-"
        per_value = f"{self.disk_bytes / self.values:.2f}" if self.disk_bytes else "-"
        return f"| {self.label} | {self.seconds:,.1f} | {rate:,.0f} | {rss} | {per_value} |"


LAST_CPU_SECONDS: list[float] = []  # user + system CPU of each timed child, in order


def timed_child(
    cmd: list[str], env: dict[str, str] | None = None, echo: bool = False
) -> tuple[float, int]:
    """Run a child process; return (wall seconds, its peak RSS in bytes).

    Its CPU time (user + system, with its own children's: the DSS reading
    children) is appended to LAST_CPU_SECONDS: on a shared machine it varies much
    less than the wall time."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=None if echo else subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {proc.returncode}")
    LAST_CPU_SECONDS.append(usage.ru_utime + usage.ru_stime)
    return seconds, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def bench_file(progress: bool = True) -> Path:
    """The full-size sample, written once and reused (it is deterministic) until the
    generator or the seeds it follows change (the stamp holds its fingerprint)."""
    from ingest import sample

    out = STATE_DIR / "bench"
    path = out / "full_size_DV.dss"
    stamp = out / ".complete"
    version = sample.fingerprint()
    if path.exists() and stamp.exists() and stamp.read_text().strip() == version:
        return path
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    start = time.monotonic()
    show = None
    if progress and sys.stderr.isatty():

        def show(done: int, total: int) -> None:
            print(f"\rwriting full-size sample: {done:,}/{total:,}", end="", file=sys.stderr)

    sample.write_full_size(out, progress=show)
    stamp.write_text(version + "\n")
    print(
        f"wrote {path} ({path.stat().st_size / 2**20:,.0f} MB) in {time.monotonic() - start:.0f} s"
    )
    return path


def _psql_env(db) -> dict[str, str]:
    return {"PGPASSWORD": db.password}


def _psql(db, command: str) -> list[str]:
    proc = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", db.host, "-p", str(db.port),
         "-U", db.user, "-d", db.database, "-c", command],
        capture_output=True, text=True, env={**os.environ, **_psql_env(db)}, check=True,
    )  # fmt: skip
    return proc.stdout.splitlines()


def main(full_size: bool = True, warehouse: bool = True) -> int:
    """The ingest benchmark, then (unless `warehouse` is false) the dbt build's."""
    from ingest import localdb

    if not external_url():
        localdb.EmbeddedCluster().up()
    os.environ["COEQWAL_DATABASE"] = BENCH_DATABASE
    db = active_database()
    localdb.drop_database(db)
    localdb.ensure_database(db)
    env = {"COEQWAL_DATABASE": BENCH_DATABASE}

    if full_size:
        path = bench_file()
    else:
        from ingest.run import ensure_samples, sample_dir

        path = ensure_samples(sample_dir())[0]
    coeqwal = str(Path(sys.executable).parent / "coeqwal")

    # 1. end-to-end ingest through the CLI
    print("ingest through the CLI (its own summary, with dlt's phases):")
    seconds, rss = timed_child(
        [coeqwal, "ingest", "dss", "--scenario", BENCH_SCENARIO, str(path)], env, echo=True
    )
    ingest_cpu = LAST_CPU_SECONDS[-1]
    values = int(_psql(db, "select sum(month_count) from raw_dss.dss_series")[0])
    series = int(_psql(db, "select count(*) from raw_dss.dss_series")[0])
    disk = _raw_bytes(db)
    results = [Measure("ingest (dlt, end to end)", seconds, values, rss, disk)]

    # 2. bare COPY of the same rows into an equivalent table
    work = STATE_DIR / "bench" / BENCH_DATABASE
    work.mkdir(parents=True, exist_ok=True)
    wide_csv = work / "series_rows.csv"
    columns = (
        "scenario_id, file_role, series_path, a_part, b_part, c_part, e_part, f_part, units, "
        "data_type, start_month, month_count, missing_count, monthly_values, value_precision, "
        "source_file, source_sha256"
    )
    _psql(db, f"\\copy (select {columns} from raw_dss.dss_series) to '{wide_csv}' with csv")
    _psql(db, "create schema if not exists bench")
    _psql(db, "drop table if exists bench.series_rows")
    _psql(
        db,
        "create table bench.series_rows as select " + columns + " from raw_dss.dss_series limit 0",
    )
    # Same shape includes the values' TOAST compression (lz4 where the loader set it).
    compression = _psql(
        db,
        "select case attcompression when 'l' then 'lz4' when 'p' then 'pglz' else '' end "
        "from pg_attribute where attrelid = 'raw_dss.dss_series'::regclass "
        "and attname = 'monthly_values'",
    )[0]
    if compression:
        _psql(
            db,
            f"alter table bench.series_rows alter column monthly_values set compression {compression}",
        )
    seconds, rss = timed_child(
        ["psql", "-X", "-q", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d",
         db.database, "-c", f"\\copy bench.series_rows ({columns}) from '{wide_csv}' with csv"],
        _psql_env(db),
    )  # fmt: skip
    disk = int(_psql(db, "select pg_total_relation_size('bench.series_rows')")[0])
    results.append(Measure("bare COPY, same rows and table shape", seconds, values, rss, disk))

    # 3. reference: bare COPY of long (series_id, month, value) rows
    long_csv = work / "long_rows.csv"
    _psql(
        db,
        f"\\copy (select s.series_id, v.month, v.value from (select row_number() over () "
        f"as series_id, monthly_values::real[] as vals from raw_dss.dss_series) s, "
        f"unnest(s.vals) with ordinality as v(value, month)) to '{long_csv}' with csv",
    )
    _psql(db, "drop table if exists bench.long_rows")
    _psql(db, "create table bench.long_rows (series_id int, month smallint, value float8)")
    seconds, rss = timed_child(
        ["psql", "-X", "-q", "-h", db.host, "-p", str(db.port), "-U", db.user, "-d",
         db.database, "-c", f"\\copy bench.long_rows from '{long_csv}' with csv"],
        _psql_env(db),
    )  # fmt: skip
    disk = int(_psql(db, "select pg_total_relation_size('bench.long_rows')")[0])
    results.append(Measure("reference: bare COPY, long rows", seconds, values, rss, disk))
    wide_csv.unlink(missing_ok=True)
    long_csv.unlink(missing_ok=True)

    print(f"\nDSS ingest benchmark: {path.name}, {series:,} series, {values:,} values")
    print("| path | seconds | values/s | peak RSS (client) | bytes/value on disk |")
    print("|---|---:|---:|---:|---:|")
    for m in results:
        print(m.row())
    ratio = results[0].seconds / results[1].seconds
    print(f"\ningest / bare COPY (same shape) = {ratio:.2f} (target <= 2.0)")
    print(
        f"CPU of the ingest's processes (user + system, reading children included) = "
        f"{ingest_cpu:.1f} s; server CPU not counted. Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print(f"peak RSS of the ingest = {results[0].peak_rss_bytes / 2**30:.2f} GB (target < 2 GB)")
    print(f"raw storage = {results[0].disk_bytes / values:.2f} bytes/value (target <= 16)")

    if warehouse:
        bench_warehouse(db, env, coeqwal, path, values)
    return 0


def _raw_bytes(db) -> int:
    """On-disk bytes of raw_dss.dss_series: every partition's table, TOAST and indexes."""
    return int(
        _psql(
            db,
            "select sum(pg_total_relation_size(relid)) "
            "from pg_partition_tree('raw_dss.dss_series')",
        )[0]
    )


def _dbt_timings(label: str, select: str, db) -> float:
    """dbt build of `select` on the bench database; prints dbt's own per-model times."""
    from ingest.build import run_dbt, run_results

    started = time.monotonic()
    code = run_dbt(["build", "--select", select], db, quiet=True)
    wall = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"dbt build --select {select} failed on the bench database")
    timings = sorted(
        ((r["execution_time"], r["unique_id"].split(".")[-1], r.get("adapter_response", {}))
         for r in run_results().get("results", []) if r["unique_id"].startswith("model.")),
        reverse=True,
    )  # fmt: skip
    print(f"\n{label}: dbt build --select {select}: {wall:.1f} s wall")
    print("| model | seconds | rows |")
    print("|---|---:|---:|")
    for seconds, name, response in timings[:12]:
        print(f"| {name} | {seconds:.1f} | {response.get('rows_affected', '')} |")
    return wall


def bench_warehouse(db, env, coeqwal: str, path: Path, values: int) -> None:
    """The statistics alone (dbt run of them and their upstream, as dbt times them),
    then the whole dbt build, for one full-size scenario and again after a second;
    then the API's latency with both loaded."""
    from ingest import bench_api, bench_statistics, ops

    ensure_ops_tables = getattr(ops, "ensure_ops_tables", None)
    if ensure_ops_tables is not None:  # the ops marts read the tables `coeqwal build` makes
        ensure_ops_tables(db)
    for line in bench_statistics.run(db):
        print(line)
    first = _dbt_timings(f"warehouse build, first scenario ({BENCH_SCENARIO})", "*", db)
    raw = _raw_bytes(db)
    fct = int(_psql(db, "select pg_total_relation_size('marts.fct_series_values_compact')")[0])
    print(
        f"\nstorage: raw {raw / values:.2f} + fct_series_values_compact {fct / values:.2f} = "
        f"{(raw + fct) / values:.2f} bytes/value (target <= 16; fct_series_values and "
        "fct_monthly_values are views over it)"
    )
    timed_child([coeqwal, "ingest", "dss", "--scenario", SECOND_SCENARIO, str(path)], env)
    for line in bench_statistics.run(db):
        print(line)
    second = _dbt_timings(f"warehouse build, second scenario ({SECOND_SCENARIO}) added", "*", db)
    print(f"\nwhole dbt build: first scenario {first:.1f} s, second scenario {second:.1f} s")
    print("\nAPI latency with two full-size scenarios loaded (pgbench, as web_anon):")
    for line in bench_api.run(db):
        print(line)
