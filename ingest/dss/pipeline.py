"""Land CalSim DSS output in `raw_dss` with dlt: exactly once, or not at all.

Shape of the raw table (`raw_dss.dss_series`): one row per (scenario, file role,
series) holding the series' monthly values in month order from `start_month`,
as `real[]` (`monthly_values_f4`: CalSim3 output, every value a 32-bit float)
or `double precision[]` (`monthly_values_f8`: a file storing doubles);
`value_precision` says which. The loader writes each value as the shortest
decimal that reads back to the file's value and the server's COPY reads it
into the typed array: 4 bytes a value for CalSim3 output, where a long
(series, month, value) table costs ~44 (docs/scaling.md). Partitions loaded
before the values were typed keep them as text (`monthly_values`), which
staging casts; no file parsing happens in SQL.

Loading semantics:
- the scenario id comes from the caller or the manifest, never from the F part;
- `raw_dss.dss_series` is partitioned by scenario (LIST, one partition each). A
  run loads with dlt (`append`, COPY of CSV files) into a table in a schema of its
  own (`raw_dss_load_<pid>_<time>`), then in ONE short transaction drops the
  scenario's previous partition and attaches the new table in its place
  (`_swap_in`): the values are written once, a failure or a kill at any point
  leaves the previous state intact, and a rerun never duplicates; the same
  transaction records the load in `raw_dss.dss_loads` (one row per scenario,
  what a build reads to find the scenarios to compute: `ingest/dss/loads.py`);
- the file is validated (version, header, catalog) before anything is extracted;
  HEC's integrity check runs alongside the reading and a failure there ends the
  extract before anything is loaded; every run, failed or not, is recorded in
  `ops.ingest_runs`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest import dlt_settings
from ingest import guard as build_guard
from ingest.config import STATE_DIR, DatabaseUrl, active_database
from ingest.dss import checks, loads, reader
from ingest.errors import IngestError, one_line, root_cause
from ingest.ops import record_ingest_run

DATASET = "raw_dss"
TABLE = "dss_series"
BATCH_SERIES = 500

ARROW_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.string(), nullable=False),
        pa.field("file_role", pa.string(), nullable=False),
        pa.field("series_path", pa.string(), nullable=False),
        ("a_part", pa.string()),
        ("b_part", pa.string()),
        ("c_part", pa.string()),
        ("e_part", pa.string()),
        ("f_part", pa.string()),
        ("units", pa.string()),
        ("data_type", pa.string()),
        pa.field("start_month", pa.date32(), nullable=False),
        pa.field("month_count", pa.int32(), nullable=False),
        ("missing_count", pa.int32()),
        ("monthly_values_f4", pa.string()),
        ("monthly_values_f8", pa.string()),
        ("value_precision", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

# The values land typed: each series' literal is read by the server's COPY into
# `real[]` (a float32 series, CalSim3 output) or `double precision[]`, exactly as
# a cast of the same literal would. Stored as text they took 8.85 bytes a value
# (lz4); as `real[]` 4 (docs/scaling.md). The run's table is created before dlt
# loads (dlt keeps a table's existing column types and adds only missing columns).
VALUE_COLUMN_TYPES = {"monthly_values_f4": "real[]", "monthly_values_f8": "double precision[]"}
_SQL_TYPES = {
    pa.string(): "varchar",
    pa.date32(): "date",
    pa.int32(): "integer",
    pa.timestamp("us", tz="UTC"): "timestamp with time zone",
}

COLUMN_HINTS = {
    "scenario_id": {"nullable": False},
    "file_role": {"nullable": False},
    "series_path": {"nullable": False},
    "start_month": {"nullable": False},
    "month_count": {"nullable": False},
    "ingested_at": {"nullable": False},
}


@dataclass
class IngestResult:
    """What one ingest run did, as recorded in ops.ingest_runs."""

    scenario_id: str
    files: list[str]
    series: int = 0
    values: int = 0
    nulls: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    unchanged: bool = False
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.scenario_id}: unchanged (same files already loaded), nothing to do"
        skipped = sum(self.skipped.values())
        return (
            f"{self.scenario_id}: {self.series:,} series, {self.values:,} values "
            f"({self.nulls:,} missing) from {len(self.files)} file(s), "
            f"{skipped:,} non-monthly records skipped, {self.seconds:.1f} s"
            + (
                " (" + ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items()) + ")"
                if self.phases
                else ""
            )
        )


def file_role(path: Path) -> str:
    """DV (decision variables, the output), SV (inputs) or INIT, from the file name."""
    stem = path.stem.upper()
    for role in ("DV", "SV", "INIT"):
        if stem.endswith("_" + role) or stem == role:
            return role
    return "DV"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def value_precision(values: np.ndarray) -> str:
    """`float32` when every value of the series is exactly a 32-bit float (NaN aside:
    CalSim3's case, and what lets the marts store it as `real[]`), else `float64`."""
    with np.errstate(over="ignore", invalid="ignore"):
        widened = values.astype(np.float32).astype(np.float64)
    exact = (widened == values) | np.isnan(values)
    return "float32" if bool(exact.all()) else "float64"


def values_literals(arrays: Sequence[np.ndarray], precisions: Sequence[str]) -> pa.Array:
    """PostgreSQL array literals (`{v1,v2,NULL,...}`), one per series, at the series' precision.

    `precisions` holds each series' `value_precision`. A `float32` series (CalSim3
    output: every value exactly a 32-bit float) is written as the shortest decimal
    that reads back to the same float32 (`2454.2605`, not `2454.260498046875`);
    staging reads it through `real`. A `float64` series is written as the shortest
    decimal that reads back to the same double, for EVERY value: staging reads it
    as `double precision`, so a value that happens to fit a float32 must not be
    written as the float32's decimal (`1.7763568394002505e-14`, not `1.7763568e-14`,
    which reads back as a different double). Arrow's float-to-string casts give
    those shortest round-trip decimals, denormals, -0 and ±max included
    (tests/python/test_exact_ingest.py checks every bit). NaN becomes NULL. The
    whole batch is formatted in one vectorised pass per precision.
    """
    if len(arrays) != len(precisions):
        raise ValueError(f"{len(arrays)} series but {len(precisions)} precisions")
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(lengths)
    flat = np.concatenate(arrays).astype(np.float64, copy=False) if arrays else np.empty(0)
    is32 = np.repeat(np.array([p == "float32" for p in precisions], dtype=bool), lengths)
    parts = []
    if is32.any():
        values32 = flat[is32]
        with np.errstate(over="ignore", invalid="ignore"):
            as32 = values32.astype(np.float32)
        if not ((as32.astype(np.float64) == values32) | np.isnan(values32)).all():
            raise ValueError("a series marked float32 holds a value that is not a 32-bit float")
        parts.append(pc.cast(pa.array(as32, from_pandas=True), pa.string()))
    if not is32.all():
        parts.append(pc.cast(pa.array(flat[~is32], from_pandas=True), pa.string()))
    if len(parts) == 1:
        text = parts[0]
    elif parts:  # both kinds: put each value back at its place in the batch
        order = np.empty(len(flat), dtype=np.int64)
        order[is32] = np.arange(len(parts[0]))
        order[~is32] = len(parts[0]) + np.arange(len(parts[1]))
        text = pa.concat_arrays(parts).take(pa.array(order))
    else:
        text = pa.array([], pa.string())
    text = pc.fill_null(text, "NULL")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), text), ",")
    return pc.binary_join_element_wise("{", joined, "}", "")


def _batches(
    scenario_id: str,
    role: str,
    local: Path,
    source: str,
    sha: str,
    scan: reader.Scan,
    counters: IngestResult,
    progress: Callable[[int, int], None] | None,
) -> Iterator[pa.Table]:
    try:
        yield from _rows_of(scenario_id, role, local, source, sha, scan, counters, progress)
    except reader.DssReadError as exc:  # e.g. the deferred integrity check, at the end
        raise IngestError(str(exc).replace(str(local), source)) from exc


def _csv_files(tables: Iterator[pa.Table], folder: Path) -> Iterator[object]:
    """Each Arrow batch written once as the CSV file dlt's COPY job reads, and handed
    to dlt as a file import (with the batch's schema as the table's hints).

    Measured on a full-size file: letting dlt write the batches itself cost ~6 s
    more (it extracts Arrow to parquet, then normalize rewrites parquet as CSV);
    an imported file is linked into the load package as it is.
    """
    import dlt
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    for number, table in enumerate(tables):
        path = folder / f"{TABLE}.{number:06d}.csv"
        pacsv.write_csv(table, path)
        yield dlt.mark.with_file_import(
            str(path), "csv", items_count=table.num_rows, hints=table.schema.empty_table()
        )


def _rows_of(
    scenario_id: str,
    role: str,
    local: Path,
    source: str,
    sha: str,
    scan: reader.Scan,
    counters: IngestResult,
    progress: Callable[[int, int], None] | None,
) -> Iterator[pa.Table]:
    names = [n for n in ARROW_SCHEMA.names if not n.startswith("monthly_values")]
    names.append("monthly_values")
    rows: dict[str, list] = {name: [] for name in names}
    total = len(scan.monthly)
    for done, series in enumerate(reader.iter_series(local, scan), start=1):
        ref = series.ref
        rows["scenario_id"].append(scenario_id)
        rows["file_role"].append(role)
        rows["series_path"].append(ref.logical_path)
        rows["a_part"].append(ref.a)
        rows["b_part"].append(ref.b)
        rows["c_part"].append(ref.c)
        rows["e_part"].append(ref.e)
        rows["f_part"].append(ref.f)
        rows["units"].append(series.units)
        rows["data_type"].append(series.data_type)
        rows["start_month"].append(series.start_month)
        rows["month_count"].append(len(series.values))
        rows["missing_count"].append(series.missing_count)
        rows["monthly_values"].append(series.values)
        rows["value_precision"].append(value_precision(series.values))
        rows["source_file"].append(source)
        rows["source_sha256"].append(sha)
        rows["ingested_at"].append(counters.started_at)
        counters.series += 1
        counters.values += len(series.values)
        counters.nulls += series.missing_count
        if len(rows["scenario_id"]) >= BATCH_SERIES:
            yield _table(rows)
            rows = {name: [] for name in names}
        if progress and (done % 250 == 0 or done == total):
            progress(done, total)
    if rows["scenario_id"]:
        yield _table(rows)


def _table(rows: dict[str, list]) -> pa.Table:
    """One batch: each series' literal in the column of its precision (the other NULL)."""
    values = rows.pop("monthly_values")
    literals = values_literals(values, rows["value_precision"])
    is32 = pa.array([p == "float32" for p in rows["value_precision"]], pa.bool_())
    empty = pa.nulls(len(literals), pa.string())
    rows["monthly_values_f4"] = pc.if_else(is32, literals, empty)
    rows["monthly_values_f8"] = pc.if_else(is32, empty, literals)
    return pa.Table.from_pydict(rows, schema=ARROW_SCHEMA)


def _create_run_table(conn, run_schema: str) -> None:
    """The run's table, with its values columns typed (VALUE_COLUMN_TYPES), never
    both set on a row (the loader sets the one of the series' precision)."""
    columns = [
        f"{_ident(f.name)} {VALUE_COLUMN_TYPES.get(f.name) or _SQL_TYPES[f.type]}"
        + ("" if f.nullable else " not null")
        for f in ARROW_SCHEMA
    ]
    columns.append(
        "constraint dss_series_one_precision check "
        "(monthly_values_f4 is null or monthly_values_f8 is null)"
    )
    with conn.cursor() as cur:
        cur.execute(f"create schema {_ident(run_schema)}")
        cur.execute(f"create table {_ident(run_schema)}.{TABLE} ({', '.join(columns)})")


def _dlt_pipeline(db: DatabaseUrl, workdir: Path, dataset: str, session_options: str = ""):
    """dlt's pipeline into `dataset`; `session_options` (`-c name=value ...`) are set
    in dlt's database sessions (dlt passes the URL's `options` to libpq)."""
    from urllib.parse import quote

    import dlt

    url = db.url()
    if session_options:
        url += ("&" if "?" in url else "?") + "options=" + quote(session_options)
    return dlt.pipeline(
        pipeline_name="coeqwal_dss",
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name=dataset,
        pipelines_dir=str(workdir),
    )


MAX_SCENARIO_ID_LENGTH = 64


def _validate_scenario_id(scenario_id: str) -> None:
    if len(scenario_id) > MAX_SCENARIO_ID_LENGTH:
        # not echoed: an id this long is a mistake (a path, a pasted file)
        raise IngestError(
            f"a scenario id of {len(scenario_id):,} characters was given: at most "
            f"{MAX_SCENARIO_ID_LENGTH} letters, digits, '_' or '-' (e.g. s0020)"
        )
    if not scenario_id or not scenario_id.replace("_", "").replace("-", "").isalnum():
        raise IngestError(
            f"scenario id {scenario_id!r} must be letters, digits, '_' or '-' (e.g. s0020)"
        )


def ingest_dss(
    scenario_id: str,
    paths: Sequence[str],
    *,
    progress: Callable[[str], Callable[[int, int], None] | None] | None = None,
    db: DatabaseUrl | None = None,
    force: bool = False,
) -> IngestResult:
    """Load every monthly series of the given DSS files as one scenario, atomically.

    When the scenario's rows already come from the same files (by role and
    SHA-256), nothing is re-read: the run is recorded as `unchanged` (use
    `force` to reload anyway).
    """
    from ingest.dss import sources

    _validate_scenario_id(scenario_id)
    db = db or active_database()
    result = IngestResult(scenario_id=scenario_id, files=list(paths))
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=_workroot()))
    file_records: list[dict] = []
    try:
        check_scenario_known(db, scenario_id)
        with sources.local_copies(paths) as locals_:
            # Validate every file before extracting anything: a bad file loads nothing.
            prepared = []
            for source, local in locals_:
                info = {
                    "source": source,
                    "sha256": sha256_of(local),
                    "size_bytes": local.stat().st_size,
                    "dss_version": None,
                    "role": file_role(Path(source.rsplit("/", 1)[-1])),
                }
                file_records.append(info)
            if not force and _already_loaded(db, scenario_id, file_records):
                for (_, local), info in zip(locals_, file_records, strict=True):
                    info["dss_version"] = reader.dss_version(local)
                result.unchanged = True
                result.seconds = time.monotonic() - started
                record_ingest_run(db, result, file_records, status="unchanged", error=None)
                return result
            for (source, local), info in zip(locals_, file_records, strict=True):
                started_scan = time.monotonic()
                scan = _scan(local, source, info, result)
                result.phases[f"scan {Path(source).name}"] = time.monotonic() - started_scan
                prepared.append((source, local, scan, info))
            roles = [info["role"] for *_, info in prepared]
            if len(set(roles)) != len(roles):
                raise IngestError(
                    f"two files of role {max(roles, key=roles.count)} given for scenario "
                    f"{scenario_id}: one DV, SV or INIT file per scenario"
                )
            _load(db, workdir, scenario_id, prepared, result, progress)
    except Exception as exc:
        result.seconds = time.monotonic() - started
        record_ingest_run(
            db, result, file_records, status="failed", error=one_line(root_cause(exc), exc)
        )
        root = root_cause(exc)
        if isinstance(exc, (IngestError, reader.DssReadError, sources.SourceError)):
            raise IngestError(str(exc)) from exc
        if isinstance(root, (IngestError, reader.DssReadError, sources.SourceError)):
            raise IngestError(one_line(root)) from exc
        raise IngestError(
            f"ingest of {scenario_id} failed, nothing loaded: {one_line(root_cause(exc), exc)}"
        ) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    record_ingest_run(db, result, file_records, status="succeeded", error=None)
    return result


def _already_loaded(db: DatabaseUrl, scenario_id: str, files: list[dict]) -> bool:
    """True if the scenario's rows in raw_dss.dss_series came from exactly these
    files (role and SHA-256, which every row records) and were written by the
    current loader (value_precision set).

    The rows themselves decide, not ops.ingest_runs: a run killed after its
    partition swap committed but before its ops row was written leaves the new
    file's rows behind an older `succeeded` record.
    """
    from ingest.ops import connect

    wanted = sorted((f["role"], f["sha256"]) for f in files)
    conn = connect(db)
    try:
        with conn.cursor() as cur:
            # Rows written by an older loader (no value_precision column) are
            # reloaded, which also converts the table to the current layout.
            cur.execute(
                "select count(*) from information_schema.columns where table_schema = 'raw_dss'"
                " and table_name = 'dss_series' and column_name = 'value_precision'"
            )
            if not cur.fetchone()[0]:
                return False
            cur.execute(
                "select file_role, source_sha256, count(*) = count(value_precision)"
                " from raw_dss.dss_series where scenario_id = %s group by 1, 2",
                (scenario_id,),
            )
            rows = cur.fetchall()
            return bool(rows) and all(r[2] for r in rows) and sorted(r[:2] for r in rows) == wanted
    finally:
        conn.close()


def check_scenario_known(db: DatabaseUrl, scenario_id: str) -> None:
    """Refuse a scenario id that the `scenarios` seed does not list, once seeds exist.

    Loading it anyway would leave orphan rows that no scenario dimension
    describes; the analyst adds the scenario to seeds/scenarios/scenarios.csv and
    runs `coeqwal build` first. A database without seeds (first load, benchmark)
    accepts any well-formed id; dbt's relationships test still guards the marts.
    """
    from ingest.ops import connect

    conn = connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("select to_regclass('seeds.scenarios') is not null")
            if not cur.fetchone()[0]:
                return
            cur.execute("select 1 from seeds.scenarios where scenario_id = %s", (scenario_id,))
            if cur.fetchone() is None:
                raise IngestError(
                    f"scenario {scenario_id} is not in the scenarios seed: add it to "
                    "seeds/scenarios/scenarios.csv and run `coeqwal build`, then ingest"
                )
    finally:
        conn.close()


def _workroot() -> Path:
    """dlt's working folders live under .coeqwal/dlt, one per run, named by pid.

    A run removes its folder when it ends; folders of runs that were killed (their
    pid is gone) are removed by the next run. The destination never sees them:
    nothing in a killed run's folder is ever loaded later.
    """
    root = STATE_DIR / "dlt"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("run-*"):
        try:
            pid = int(stale.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    return root


def _scan(local: Path, source: str, info: dict, result: IngestResult) -> reader.Scan:
    """Validate and catalog one file; record what was found even when refusing it.

    The library's integrity check (`check_file`, ~7 s on a full-size file) is
    deferred: it runs in its own child while the series are read, and
    `reader.iter_series` raises at the end of the file if it failed. dlt's extract
    consumes the whole generator before anything is loaded, so such a file still
    loads nothing (tests/python/test_ingest_dss.py proves it).
    """
    try:
        info["dss_version"] = reader.dss_version(local)
        scan = reader.scan(local, check="deferred")
    except reader.DssReadError as exc:
        msg = str(exc)
        if str(local) != source:
            msg = msg.replace(str(local), source)
        raise IngestError(msg) from exc
    for kind, count in scan.skipped.items():
        result.skipped[kind] = result.skipped.get(kind, 0) + count
    if not scan.monthly:
        skipped = ", ".join(f"{n:,} {kind}" for kind, n in sorted(scan.skipped.items()))
        raise IngestError(
            f"{source}: no regular monthly time series, nothing loaded "
            f"(skipped {skipped or 'nothing: the file holds no records'})"
        )
    return scan


def _load(db, workdir, scenario_id, prepared, result, progress) -> None:
    """Land the files in a schema of this run's own, then swap it in as the scenario's
    partition of `raw_dss.dss_series` in one short transaction (see `_swap_in`).

    The values are written once (dlt's COPY into the run's table); the swap is
    metadata only. Until it commits, nothing of the run is visible: a failure or a
    kill leaves the scenario's previous partition untouched, and the run's schema
    is dropped (by this run, or by the next one if this one was killed).
    """
    import dlt

    from ingest.ops import connect

    def series_rows():
        for source, local, scan, info in prepared:
            show = progress(f"reading {Path(source).name}") if progress else None
            yield from _batches(
                scenario_id, info["role"], local, source, info["sha256"], scan, result, show
            )

    def series_files():
        yield from _csv_files(series_rows(), workdir / "csv")

    resource = dlt.resource(
        series_files,
        name=TABLE,
        write_disposition="append",  # into this run's own, new table
        columns=COLUMN_HINTS,
    )
    dlt_settings.configure()
    guard = connect(db)  # holds the run schema's lock for as long as this run lives
    try:
        _drop_abandoned_run_schemas(guard)
        run_schema = f"{DATASET}_load_{os.getpid()}_{time.time_ns() // 1000}"
        with guard.cursor() as cur:
            cur.execute("select pg_advisory_lock(hashtext(%s))", (run_schema,))
        options = "-cdefault_toast_compression=lz4" if _has_lz4(guard) else ""
        pipeline = _dlt_pipeline(db, workdir, run_schema, options)
        try:
            _create_run_table(guard, run_schema)
            # The three dlt steps, timed separately (reported by `coeqwal bench`).
            started = time.monotonic()
            pipeline.extract(resource, loader_file_format="csv")
            result.phases["read+extract"] = time.monotonic() - started
            started = time.monotonic()
            pipeline.normalize()
            result.phases["normalize"] = time.monotonic() - started
            started = time.monotonic()
            pipeline.load(raise_on_failed_jobs=True)
            result.phases["load (COPY)"] = time.monotonic() - started
            started = time.monotonic()
            _swap_in(guard, run_schema, scenario_id)
            result.phases["swap"] = time.monotonic() - started
        finally:
            with guard.cursor() as cur:
                cur.execute(f"drop schema if exists {_ident(run_schema)} cascade")
    finally:
        guard.close()


RUN_SCHEMA_PREFIX = f"{DATASET}_load_"
SWAP_LOCK = loads.SWAP_LOCK


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _partition_name(scenario_id: str) -> str:
    """`dss_series__<scenario>`; a hash where the id would pass PostgreSQL's 63 bytes."""
    name = f"{TABLE}__{scenario_id}"
    if len(name.encode()) > 63:
        name = f"{TABLE}__{hashlib.md5(scenario_id.encode()).hexdigest()}"
    return name


def _has_lz4(conn) -> bool:
    """True when the server can compress TOAST values with lz4.

    The loader's COPY sessions use it (`default_toast_compression`) and the
    partitioned table sets it on `monthly_values`. Measured on a full-size file:
    the COPY took half the time it takes with pglz (compressing ~10 KB literals
    is most of a COPY of these rows), and the table ~6 % less room.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select coalesce(bool_or('lz4' = any(enumvals)), false) from pg_settings "
            "where name = 'default_toast_compression'"
        )
        return bool(cur.fetchone()[0])


def _drop_abandoned_run_schemas(conn) -> None:
    """Drop the schemas of runs that died before cleaning up (killed, machine lost).

    A live run holds an advisory lock named after its schema for as long as its
    session lasts, so a schema whose lock can be taken belongs to no live run, on
    any machine sharing this database.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select nspname from pg_namespace where starts_with(nspname, %s)",
            (RUN_SCHEMA_PREFIX,),
        )
        for (name,) in cur.fetchall():
            cur.execute("select pg_try_advisory_lock(hashtext(%s))", (name,))
            if cur.fetchone()[0]:
                cur.execute(f"drop schema if exists {_ident(name)} cascade")
                cur.execute("select pg_advisory_unlock(hashtext(%s))", (name,))


def _swap_in(conn, run_schema: str, scenario_id: str) -> None:
    """Make the run's table the scenario's partition of raw_dss.dss_series, atomically.

    One transaction: create the partitioned table on the first load (its shape is
    the loaded table's), drop the scenario's previous partition, move the run's
    table into raw_dss and attach it. Only catalog changes: the values were
    written once, by the COPY. A table from before partitioning (one plain table
    for every scenario) becomes the DEFAULT partition, from which a reloaded
    scenario's old rows are deleted in the same transaction.
    """
    partition = _partition_name(scenario_id)
    parent = f"{DATASET}.{TABLE}"
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            # Read before any lock: the run's table is this run's alone.
            summary = loads.summary_of(cur, f"{_ident(run_schema)}.{TABLE}")
            build_guard.wait_for_build(cur, f"publishing the load of {scenario_id}")
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (SWAP_LOCK,))
            loads.ensure(cur)  # before the swap: a first fill reads the other scenarios
            cur.execute(
                "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = %s",
                (DATASET, TABLE),
            )
            row = cur.fetchone()
            relkind = row[0] if row else None
            loaded = f"{_ident(run_schema)}.{TABLE}"
            if relkind != "p":
                legacy = f"{TABLE}__before_partitioning"
                cur.execute(f"create schema if not exists {DATASET}")
                if relkind is not None:
                    cur.execute(f"alter table {parent} rename to {legacy}")
                cur.execute(
                    f"create table {parent} (like {loaded} including defaults) "
                    "partition by list (scenario_id)"
                )
                if relkind is not None:
                    _align_columns(cur, f"{DATASET}.{legacy}", loaded)
                    _align_columns(cur, parent, f"{DATASET}.{legacy}")
                    cur.execute(f"alter table {parent} attach partition {DATASET}.{legacy} default")
            # A parent from before the values were typed (one text column,
            # `monthly_values`) gains the typed columns, its older partitions
            # keeping their text; the new table gains the text column, empty.
            _align_columns(cur, parent, loaded)
            _align_columns(cur, loaded, parent)
            _align_columns(cur, parent, loaded, nullable=True)
            cur.execute(f"drop table if exists {DATASET}.{_ident(partition)}")
            cur.execute(
                "select c.oid::regclass::text from pg_inherits i "
                "join pg_class c on c.oid = i.inhrelid "
                "join pg_partitioned_table p on p.partrelid = i.inhparent "
                "where i.inhparent = %s::regclass and p.partdefid = c.oid",
                (parent,),
            )
            default = cur.fetchone()
            if default:
                cur.execute(f"delete from {default[0]} where scenario_id = %s", (scenario_id,))
            if _has_lz4(conn):  # rows written later (through the parent) use it too
                cur.execute(
                    "select attname from pg_attribute where attrelid = %s::regclass"
                    " and attname = any(%s) and not attisdropped",
                    (loaded, ["monthly_values", *VALUE_COLUMN_TYPES]),
                )
                for (column,) in cur.fetchall():
                    for table in (parent, loaded):
                        cur.execute(
                            f"alter table {table} alter column {_ident(column)} set compression lz4"
                        )
            cur.execute(f"alter table {loaded} rename to {_ident(partition)}")
            cur.execute(
                f"alter table {_ident(run_schema)}.{_ident(partition)} set schema {DATASET}"
            )
            cur.execute(
                f"alter table {parent} attach partition {DATASET}.{_ident(partition)} "
                "for values in (%s)",
                (scenario_id,),
            )
            loads.record(cur, scenario_id, summary)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True


def _align_columns(cur, table: str, like: str, nullable: bool = False) -> None:
    """Add to `table` the columns of `like` it lacks (NULL for its old rows); with
    `nullable`, instead drop NOT NULL from the columns of `table` that `like`
    holds only as NULL (a column `like` was given by this alignment)."""
    if nullable:
        cur.execute(
            "select a.attname from pg_attribute a join pg_attribute b on b.attname = a.attname "
            "where a.attrelid = %s::regclass and b.attrelid = %s::regclass and a.attnum > 0 "
            "and not a.attisdropped and not b.attisdropped and a.attnotnull and not b.attnotnull",
            (table, like),
        )
        for (name,) in cur.fetchall():
            cur.execute(f"alter table {table} alter column {_ident(name)} drop not null")
        return
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
        "and a.attname not in (select attname from pg_attribute where attrelid = %s::regclass "
        "and attnum > 0 and not attisdropped)",
        (like, table),
    )
    for name, type_ in cur.fetchall():
        cur.execute(f"alter table {table} add column {_ident(name)} {type_}")


@dataclass
class ManifestEntry:
    scenario_id: str
    paths: list[str]


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Scenario ids and their files from a CSV (scenario_id,path) or YAML manifest.

    YAML: `scenarios: [{id: s0020, dv: path, sv: path, ...}]`. Relative paths are
    relative to the manifest's folder.
    """
    import csv

    import yaml

    if not path.exists():
        raise IngestError(f"manifest {path} not found")
    base = path.parent

    def resolve(p: str) -> str:
        if p.startswith("s3://") or os.path.isabs(p):
            return p
        return str(base / p)

    entries: dict[str, list[str]] = {}
    if path.suffix.lower() in (".yml", ".yaml"):
        doc = yaml.safe_load(path.read_text()) or {}
        for item in doc.get("scenarios", []):
            sid = str(item.get("id") or item.get("scenario_id") or "")
            _validate_scenario_id(sid)
            if sid in entries:
                raise IngestError(f"manifest {path}: scenario {sid} is listed twice")
            files = [item[k] for k in ("dv", "sv", "init") if item.get(k)]
            files += list(item.get("files", []))
            entries.setdefault(sid, []).extend(resolve(f) for f in files)
    else:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                sid = (row.get("scenario_id") or "").strip()
                entries.setdefault(sid, []).append(resolve((row.get("path") or "").strip()))
    if not entries:
        raise IngestError(f"manifest {path} lists no scenarios")
    out = []
    for sid, files in entries.items():
        _validate_scenario_id(sid)
        if not files or not all(files):
            raise IngestError(f"manifest {path}: scenario {sid} has an empty file path")
        out.append(ManifestEntry(sid, files))
    return out


def preflight_manifest(path: Path, entries: list[ManifestEntry], db: DatabaseUrl) -> None:
    """Check every entry before anything is read or loaded: the scenario is in the
    seed, each scenario has one file per role, every file exists, is readable and
    is a HEC-DSS file of a version this loader reads, with an intact DSS 7 header
    (local files; an S3 object's existence, size and signature). The first problem
    raises IngestError naming the manifest, the scenario and the file."""
    from ingest.dss import sources

    for entry in entries:
        where = f"manifest {path}: scenario {entry.scenario_id}"
        try:
            check_scenario_known(db, entry.scenario_id)
        except IngestError as exc:
            raise IngestError(f"{where}: {exc}") from None
        roles = [file_role(Path(p.rsplit("/", 1)[-1])) for p in entry.paths]
        for role in set(roles):
            if roles.count(role) > 1:
                raise IngestError(
                    f"{where}: {roles.count(role)} files of role {role}; one DV, SV or INIT "
                    "file per scenario"
                )
        for source in entry.paths:
            try:
                if source.startswith("s3://"):
                    sources.check_s3_object(source)
                else:
                    _preflight_local(Path(source))
            except (sources.SourceError, reader.DssReadError, OSError) as exc:
                raise IngestError(f"{where}: {one_line(exc)}") from None


def _preflight_local(path: Path) -> None:
    from ingest.dss import sources

    if not path.exists():
        raise sources.SourceError(f"{path}: no such file")
    with path.open("rb"):  # readable by this user
        pass
    version = reader.dss_version(path)
    reader.check_version_supported(path, version)
    if version == 7:
        checks.check_dss7_header(path)


def ingest_manifest(
    path: Path, *, progress=None, db: DatabaseUrl | None = None, force: bool = False
) -> list[IngestResult]:
    """Ingest every scenario of a manifest. The whole manifest is checked first
    (preflight_manifest): one bad entry loads nothing at all. Each scenario is
    then its own atomic load, in the manifest's order; a failure found only
    while reading (damage inside a file) stops the batch there, keeping the
    scenarios loaded before it."""
    db = db or active_database()
    entries = read_manifest(path)
    preflight_manifest(path, entries, db)
    return [
        ingest_dss(e.scenario_id, e.paths, progress=progress, db=db, force=force) for e in entries
    ]
