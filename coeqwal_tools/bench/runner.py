"""`coeqwal bench`: the performance benchmark, report to stdout.

Measures, in its own database (`coeqwal_bench`) on the active server:
1. the end-to-end ingest of a full-size synthetic DV file (≈21,500 series ×
   1,200 months) through the real CLI, as a child process whose peak RSS is
   read from the kernel (wait4);
2. a bare `COPY` of exactly the same rows, from a CSV prepared beforehand, into
   an equivalent table (same columns and types), through psql's `\\copy`;
3. a bare `COPY` of the same values as
   long (series_id, month, value) rows.
For each: seconds, values per second, peak RSS of the client, and bytes per
value on disk (table + TOAST + indexes).

`coeqwal bench --publish` measures instead what publishing a build costs
(bench_publish): `coeqwal build` (shadow schemas, then the switch) against the
same build in place (`coeqwal build --select fqn:*`), wall time and the database's
extra bytes during the build.

`coeqwal bench --scenarios 1,10,25` measures what the next build costs with N
scenarios loaded (coeqwal_tools/bench/scale.py).

Speed targets are measured here, never by timed tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
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
    cmd: list[str],
    env: dict[str, str] | None = None,
    echo: bool = False,
    lines: list[str] | None = None,
) -> tuple[float, int]:
    """Run a child process; return (wall seconds, its peak RSS in bytes).

    Its CPU time (user + system, with its own children's: the DSS reading
    children) is appended to LAST_CPU_SECONDS: on a shared machine it varies much
    less than the wall time. `lines`, when given, receives its stdout (echoed
    too when `echo`)."""
    start = time.monotonic()
    capture = lines is not None
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE if capture else None if echo else subprocess.DEVNULL,
        text=capture,
    )
    if capture:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if echo:
                print(line, end="", flush=True)
        proc.stdout.close()
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
    from coeqwal_tools.sample import dss as sample

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


def main(
    full_size: bool = True,
    warehouse: bool = True,
    publish: bool = False,
    rounds: int = 2,
    scenarios: list[int] | None = None,
    budget_minutes: float = 120,
) -> int:
    """The ingest benchmark, then (unless `warehouse` is false) the dbt build's; or,
    with `publish`, only the cost of publishing a build (bench_publish)."""
    from coeqwal_tools import localdb

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
    if publish:
        return bench_publish(db, env, coeqwal, path, rounds)
    if scenarios:
        from coeqwal_tools.bench import scale as bench_scale

        return bench_scale.run(db, env, coeqwal, path, scenarios, budget_minutes * 60)

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
        "data_type, start_month, month_count, missing_count, monthly_values_f4, monthly_values_f8, "
        "value_precision, "
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
    for column in ("monthly_values_f4", "monthly_values_f8"):
        compression = _psql(
            db,
            "select case attcompression when 'l' then 'lz4' when 'p' then 'pglz' else '' end "
            "from pg_attribute where attrelid = 'raw_dss.dss_series'::regclass "
            f"and attname = '{column}'",
        )[0]
        if compression:
            _psql(
                db,
                f"alter table bench.series_rows alter column {column} set compression {compression}",
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
        f"as series_id, coalesce(monthly_values_f4::float8[], monthly_values_f8) as vals "
        f"from raw_dss.dss_series) s, "
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
    from coeqwal_tools.bench import api as bench_api
    from coeqwal_tools.bench import statistics as bench_statistics
    from ingest import ops

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


# `coeqwal build --select` builds in place; this selector names every node that
# `coeqwal build` builds (all but the sources, which dbt build never builds).
IN_PLACE_SELECT = "fqn:*"
SIZE_EVERY_SECONDS = 0.5


class _SizeSampler:
    """pg_database_size(current_database()) every SIZE_EVERY_SECONDS, from its own
    connection in a thread, while a build runs: its size before, peak and after."""

    def __init__(self, db) -> None:
        from ingest import ops

        self.conn = ops.connect(db)
        self.stop = threading.Event()
        self.samples = 0
        self.before = self.size()
        self.peak = self.before
        self.after = self.before
        self.thread = threading.Thread(target=self._run, daemon=True)

    def size(self) -> int:
        with self.conn.cursor() as cur:
            cur.execute("select pg_database_size(current_database())")
            return int(cur.fetchone()[0])

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.size())
                self.samples += 1
            except Exception:
                pass  # a missed sample (e.g. a file removed while counted): the next counts
            self.stop.wait(SIZE_EVERY_SECONDS)

    def __enter__(self) -> _SizeSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        try:
            self.after = self.size()
            self.peak = max(self.peak, self.after)
        finally:
            self.conn.close()


@dataclass
class BuildMeasure:
    kind: str
    mode: str  # "in place" or "publish"
    seconds: float
    extra_peak: int
    after_minus_before: int
    switch_ms: int | None
    nodes: int
    computed: str  # the scenarios whose store tables this build wrote

    def row(self) -> str:
        switch = "-" if self.switch_ms is None else f"{self.switch_ms:,}"
        return (
            f"| {self.kind} | {self.mode} | {self.seconds:,.1f} | {_mb(self.extra_peak)} | "
            f"{_mb(self.after_minus_before)} | {switch} | {self.nodes} | {self.computed or '-'} |"
        )


def _mb(n: int) -> str:
    return f"{n / 2**20:+,.1f} MB"


def _build_failure(db, cmd: list[str], exc: Exception) -> RuntimeError:
    """The failed build's nodes, from dbt's run_results.json, as one message."""
    from ingest.build import run_results, target_path

    failed = [
        f"{r['unique_id']}: {' '.join((r.get('message') or '').split())[:300]}"
        for r in run_results().get("results", [])
        if r.get("status") in ("error", "fail", "runtime error")
    ]
    where = target_path() / "run_results.json"
    return RuntimeError(
        f"`{' '.join(cmd[1:])}` failed on {db.database} ({exc}); failing nodes in {where}: "
        + ("; ".join(failed) if failed else "none recorded")
    )


def _measured_build(db, env, coeqwal: str, kind: str, in_place: bool) -> BuildMeasure:
    """One `coeqwal build` through the CLI, the database's size sampled meanwhile."""
    cmd = [coeqwal, "build", *(["--select", IN_PLACE_SELECT] if in_place else [])]
    started = _psql(db, "select now()")[0]
    out: list[str] = []
    print(f"\n$ coeqwal {' '.join(cmd[1:])}   ({kind})", flush=True)
    with _SizeSampler(db) as sizes:
        try:
            seconds, _ = timed_child(cmd, env, echo=True, lines=out)
        except RuntimeError as exc:
            raise _build_failure(db, cmd, exc) from None
    switched = [int(m.group(1)) for line in out if (m := re.search(r"switched in (\d+) ms", line))]
    invocation, nodes = _psql(
        db,
        "select invocation_id || '|' || node_count from ops.dbt_runs "
        f"where command like 'build%' and started_at >= '{started}'::timestamptz - interval '1 s' "
        "order by finished_at desc limit 1",
    )[0].split("|")
    computed = _psql(
        db,
        "select coalesce(string_agg(distinct scenario_id, ' '), '') from store.scenario_parts "
        f"where invocation_id = '{invocation}' and scenario_id is not null",
    )
    return BuildMeasure(
        kind=kind,
        mode="in place" if in_place else "publish",
        seconds=seconds,
        extra_peak=sizes.peak - sizes.before,
        after_minus_before=sizes.after - sizes.before,
        switch_ms=switched[-1] if switched else None,
        nodes=int(nodes),
        computed=computed[0] if computed else "",
    )


def _store_sizes(db, top: int = 8) -> list[str]:
    """The largest scenario_store models: their tables in schema store, as rows."""
    rows = _psql(
        db,
        """
        select parts.model_name, count(*), count(distinct parts.scenario_id),
            count(*) filter (where parts.relation_name in (
                select readers.relation_name from store.part_readers as readers
            )),
            sum(pg_total_relation_size(cls.oid))
        from store.scenario_parts as parts
        inner join pg_namespace as nsp on nsp.nspname = 'store'
        inner join pg_class as cls
            on cls.relnamespace = nsp.oid and cls.relname = parts.relation_name
        group by parts.model_name
        order by 5 desc
        """,
    )
    out = [
        "| store model | tables | scenarios | tables a view reads | bytes (tables + indexes) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows[:top]:
        model, tables, scenarios, read, size = row.split("|")
        out.append(f"| {model} | {tables} | {scenarios} | {read} | {int(size) / 2**20:,.1f} MB |")
    return out


def _print_builds(results: list[BuildMeasure]) -> None:
    print(
        "| build kind | mode | wall s | extra bytes peak | bytes after-before | switch ms "
        "| nodes | scenarios computed |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for m in results:
        print(m.row())


def bench_publish(db, env, coeqwal: str, path: Path, rounds: int = 2) -> int:
    """What publishing costs: `coeqwal build` (shadow schemas, then the switch)
    against the same build in place (`coeqwal build --select fqn:*`), alternating
    (ABBA) so that a busy machine weighs on both alike:
    a. no change: nothing loaded since the last build;
    b. one scenario to compute: SECOND_SCENARIO added once (reported apart: its
       first comparisons are created then), then loaded again before each
       measured build (a new load is a changed scenario), so that every build
       compared computes exactly one.
    Each build runs through the CLI as a child process; the database's size is
    sampled meanwhile from another connection."""
    load_start = os.getloadavg()
    run_start = time.monotonic()
    ingest = [coeqwal, "ingest", "dss", "--scenario"]
    print(
        f"publish benchmark on {db.database}: {path.name}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.2f}' for x in load_start)}",
        flush=True,
    )
    results: list[BuildMeasure] = []
    try:
        seconds, _ = timed_child([*ingest, BENCH_SCENARIO, str(path)], env)
        print(f"ingest {BENCH_SCENARIO}: {seconds:.1f} s", flush=True)
        kind = f"first scenario ({BENCH_SCENARIO})"
        results.append(_measured_build(db, env, coeqwal, kind, False))

        # a. no change, in place / publish alternating
        for n in range(rounds):
            for in_place in (True, False) if n % 2 == 0 else (False, True):
                results.append(_measured_build(db, env, coeqwal, "no change", in_place))

        # b. one scenario computed per build: added once (its first comparisons
        # are created then; reported, not in the ratio), then loaded again
        # before each measured build
        seconds, _ = timed_child([*ingest, SECOND_SCENARIO, str(path)], env)
        print(f"ingest {SECOND_SCENARIO}: {seconds:.1f} s", flush=True)
        results.append(_measured_build(db, env, coeqwal, f"{SECOND_SCENARIO} added", False))
        for n in range(rounds):
            for in_place in (False, True) if n % 2 == 0 else (True, False):
                cmd = [*ingest, SECOND_SCENARIO, str(path), "--force"]
                seconds, _ = timed_child(cmd, env)
                print(f"ingest {SECOND_SCENARIO} --force: {seconds:.1f} s", flush=True)
                kind = f"{SECOND_SCENARIO} loaded again"
                results.append(_measured_build(db, env, coeqwal, kind, in_place))
    except RuntimeError:
        print(
            f"\npublish benchmark stopped after {time.monotonic() - run_start:,.0f} s, load "
            f"average {', '.join(f'{x:.2f}' for x in os.getloadavg())}; builds measured before:"
        )
        _print_builds(results)
        raise

    load_end = os.getloadavg()
    print(f"\npublish benchmark: {path.name}, {db.database}")
    _print_builds(results)

    def mean(kinds: tuple[str, ...], mode: str) -> float:
        walls = [m.seconds for m in results[1:] if m.mode == mode and m.kind.startswith(kinds)]
        return sum(walls) / len(walls)

    one = (f"{SECOND_SCENARIO} loaded again",)
    for label, kinds in (("no change", ("no change",)), ("one scenario", one)):
        publish_wall, in_place_wall = mean(kinds, "publish"), mean(kinds, "in place")
        print(
            f"\n{label}: publish / in place wall = {publish_wall:.1f} / {in_place_wall:.1f} s "
            f"= {publish_wall / in_place_wall:.3f} (target <= 1.10)"
        )
    nodes = {
        mode: sorted({m.nodes for m in results if m.mode == mode})
        for mode in ("in place", "publish")
    }
    if len({m.nodes for m in results}) != 1:
        print(f"warning: the builds ran different numbers of nodes: {nodes}")
    else:
        print(
            f"every build, in place ({IN_PLACE_SELECT}) or published, ran {results[0].nodes} nodes"
        )
    print(
        f"\nload average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in load_start)}; "
        f"at end: {', '.join(f'{x:.2f}' for x in load_end)}; on {os.cpu_count()} CPUs"
    )
    print(
        f"database size at end: {int(_psql(db, 'select pg_database_size(current_database())')[0]) / 2**20:,.1f} MB; "
        f"raw_dss.dss_series {_raw_bytes(db) / 2**20:,.1f} MB"
    )
    print("\nlargest marts, their tables in schema store:")
    for line in _store_sizes(db):
        print(line)
    print(f"\nwhole publish benchmark: {time.monotonic() - run_start:,.0f} s")
    return 0
