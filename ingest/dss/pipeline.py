"""Land CalSim DSS output in `raw_dss` with dlt: exactly once, or not at all.

Shape of the raw table (`raw_dss.dss_series`): one row per (scenario, file role,
series) holding the series' monthly values as a PostgreSQL array literal in
month order from `start_month`, each value the shortest decimal that reads back
to the file's value (32-bit for CalSim3 output, 64-bit where a file stores
doubles). The compact row keeps raw storage near 5-7 bytes per value where a long
(series, month, value) table costs ~44 (see the README's measurements). Staging
casts the literal to `double precision[]`; no file parsing happens in SQL.

Loading semantics:
- the scenario id comes from the caller or the manifest, never from the F part;
- `merge` with the `delete-insert` strategy keyed on (scenario_id, file_role):
  dlt copies into `raw_dss_staging`, then deletes the scenario's previous rows
  and inserts the new ones in ONE transaction, so a failure or a kill at any
  point leaves the previous state intact and a rerun never duplicates;
- the whole file is validated (version, catalog) before anything is extracted,
  and every run, failed or not, is recorded in `ops.ingest_runs`.
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

from ingest.config import STATE_DIR, DatabaseUrl, active_database
from ingest.dss import reader
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
        pa.field("monthly_values", pa.string(), nullable=False),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

COLUMN_HINTS = {
    "scenario_id": {"nullable": False},
    "file_role": {"nullable": False},
    "series_path": {"nullable": False},
    "start_month": {"nullable": False},
    "month_count": {"nullable": False},
    "monthly_values": {"nullable": False},
    "ingested_at": {"nullable": False},
}


class IngestError(Exception):
    """An ingest that loaded nothing; the message is one line."""


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


def values_literals(arrays: Sequence[np.ndarray]) -> pa.Array:
    """PostgreSQL array literals (`{v1,v2,NULL,...}`), one per series, at source precision.

    CalSim3 output stores 32-bit floats: a value that is exactly a float32 is
    written as the shortest decimal that reads back to the same float32 (so
    `2454.2605`, not `2454.260498046875`); a value that needs 64 bits (some
    post-processed files store doubles) as the shortest decimal of the double.
    NaN becomes NULL. The whole batch is formatted in one vectorised pass.
    """
    flat = np.concatenate(arrays) if arrays else np.empty(0)
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(a) for a in arrays])
    with np.errstate(over="ignore", invalid="ignore"):
        as32 = flat.astype(np.float32)
        fits32 = (as32.astype(np.float64) == flat) | np.isnan(flat)
    text = pc.cast(pa.array(as32, from_pandas=True), pa.string())
    if not fits32.all():
        text64 = pc.cast(pa.array(flat, from_pandas=True), pa.string())
        text = pc.if_else(pa.array(fits32), text, text64)
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
    rows: dict[str, list] = {name: [] for name in ARROW_SCHEMA.names}
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
        rows["source_file"].append(source)
        rows["source_sha256"].append(sha)
        rows["ingested_at"].append(counters.started_at)
        counters.series += 1
        counters.values += len(series.values)
        counters.nulls += series.missing_count
        if len(rows["scenario_id"]) >= BATCH_SERIES:
            yield _table(rows)
            rows = {name: [] for name in ARROW_SCHEMA.names}
        if progress and (done % 250 == 0 or done == total):
            progress(done, total)
    if rows["scenario_id"]:
        yield _table(rows)


def _table(rows: dict[str, list]) -> pa.Table:
    rows = {**rows, "monthly_values": values_literals(rows["monthly_values"])}
    return pa.Table.from_pydict(rows, schema=ARROW_SCHEMA)


def _dlt_pipeline(db: DatabaseUrl, workdir: Path):
    import dlt

    return dlt.pipeline(
        pipeline_name="coeqwal_dss",
        destination=dlt.destinations.postgres(credentials=db.url()),
        dataset_name=DATASET,
        pipelines_dir=str(workdir),
    )


def _validate_scenario_id(scenario_id: str) -> None:
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

    When the same files (by role and SHA-256) are already the scenario's last
    successful load and its rows are present, nothing is re-read: the run is
    recorded as `unchanged` (use `force` to reload anyway).
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
        record_ingest_run(db, result, file_records, status="failed", error=_one_line(exc))
        root = _root_cause(exc)
        if isinstance(exc, (IngestError, reader.DssReadError, sources.SourceError)):
            raise IngestError(str(exc)) from exc
        if isinstance(root, (IngestError, reader.DssReadError, sources.SourceError)):
            raise IngestError(_one_line(root)) from exc
        raise IngestError(
            f"ingest of {scenario_id} failed, nothing loaded: {_one_line(exc)}"
        ) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    record_ingest_run(db, result, file_records, status="succeeded", error=None)
    return result


def _already_loaded(db: DatabaseUrl, scenario_id: str, files: list[dict]) -> bool:
    """True if the scenario's last successful load used exactly these files."""
    from ingest.ops import connect, ensure_ops

    wanted = sorted((f["role"], f["sha256"]) for f in files)
    conn = connect(db)
    try:
        ensure_ops(conn)
        with conn.cursor() as cur:
            cur.execute(
                "select files from ops.ingest_runs where kind = 'dss' and scenario_id = %s "
                "and status = 'succeeded' order by run_id desc limit 1",
                (scenario_id,),
            )
            row = cur.fetchone()
            if row is None or sorted((f["role"], f["sha256"]) for f in row[0]) != wanted:
                return False
            cur.execute("select to_regclass('raw_dss.dss_series') is not null")
            if not cur.fetchone()[0]:
                return False
            cur.execute(
                "select count(*) from raw_dss.dss_series where scenario_id = %s", (scenario_id,)
            )
            return cur.fetchone()[0] > 0
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


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: dlt wraps the real error in step and resource errors."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return exc


def _one_line(exc: BaseException) -> str:
    for candidate in (_root_cause(exc), exc):
        for line in str(candidate).splitlines():
            if line.strip():
                return line.strip()
    return type(exc).__name__


def _scan(local: Path, source: str, info: dict, result: IngestResult) -> reader.Scan:
    """Validate and catalog one file; record what was found even when refusing it."""
    try:
        info["dss_version"] = reader.dss_version(local)
        scan = reader.scan(local)
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
    import dlt

    def series_rows():
        for source, local, scan, info in prepared:
            show = progress(f"reading {Path(source).name}") if progress else None
            yield from _batches(
                scenario_id, info["role"], local, source, info["sha256"], scan, result, show
            )

    resource = dlt.resource(
        series_rows,
        name=TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=("scenario_id", "file_role", "series_path"),
        merge_key=("scenario_id", "file_role"),
        columns=COLUMN_HINTS,
    )
    # dlt gzips its intermediate files by default: 23 of the 26 s of normalising a
    # full-size file were zlib. The files are local and deleted after the run.
    os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    pipeline = _dlt_pipeline(db, workdir)
    # The three dlt steps, timed separately (reported by `coeqwal bench`).
    started = time.monotonic()
    pipeline.extract(resource, loader_file_format="csv")
    result.phases["read+extract"] = time.monotonic() - started
    started = time.monotonic()
    pipeline.normalize()
    result.phases["normalize"] = time.monotonic() - started
    started = time.monotonic()
    pipeline.load(raise_on_failed_jobs=True)
    result.phases["load (COPY + merge)"] = time.monotonic() - started


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


def ingest_manifest(
    path: Path, *, progress=None, db: DatabaseUrl | None = None, force: bool = False
) -> list[IngestResult]:
    """Ingest every scenario of a manifest; each scenario is its own atomic load."""
    return [
        ingest_dss(e.scenario_id, e.paths, progress=progress, db=db, force=force)
        for e in read_manifest(path)
    ]
