"""Land one GIS layer in `raw_gis.<layer>` with dlt: the whole layer, or nothing.

Loading semantics (the DSS loader's, for a layer instead of a scenario):
- the file is read, reprojected and repaired completely before anything is
  written, so a corrupt file or a layer without CRS loads nothing;
- the table is replaced with dlt's `insert-from-staging` strategy: rows go to
  `raw_gis_staging` first, then the layer's table is truncated and refilled in ONE
  transaction, so a failure at any point leaves the previous layer intact;
- the same file (same SHA-256 and GeoPackage layer) already loaded is skipped and
  recorded as `unchanged` (`force` reloads it);
- every run, failed or not, is a row in `ops.ingest_runs` (kind `gis`).

Layers the dbt project models (`water_budget_areas`, `demand_units`) must carry
their id attribute (checked here, so a wrong file fails at ingest, not at build).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest import dlt_settings
from ingest.config import DatabaseUrl, active_database
from ingest.dss.pipeline import _workroot
from ingest.errors import IngestError, one_line, root_cause
from ingest.gis import reader, sources

DATASET = "raw_gis"
LAYER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# The id attribute (after snake_case) each modelled layer must have.
REQUIRED_ATTRIBUTES = {
    "water_budget_areas": "water_budget_area_id",
    "demand_units": "du_id",
}


@dataclass
class GisIngestResult:
    """What one GIS ingest run did, as recorded in ops.ingest_runs."""

    layer_name: str
    source: str
    features: int = 0
    repaired: int = 0
    empty: int = 0
    source_crs: str | None = None
    geometry_types: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    unchanged: bool = False
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.layer_name}: unchanged (same file already loaded), nothing to do"
        types = ", ".join(f"{n:,} {t}" for t, n in sorted(self.geometry_types.items()))
        return (
            f"{self.layer_name}: {self.features:,} features ({types}) from {self.source}, "
            f"{self.source_crs} -> EPSG:4326, {self.repaired:,} invalid geometries repaired, "
            f"{self.seconds:.1f} s"
        )


def validate_layer_name(name: str) -> None:
    if not LAYER_NAME.match(name or ""):
        raise IngestError(
            f"layer name {name!r} must be lower-case letters, digits and '_', "
            "starting with a letter (e.g. water_budget_areas)"
        )


def ingest_gis(
    layer_name: str,
    source: str,
    *,
    gpkg_layer: str | None = None,
    db: DatabaseUrl | None = None,
    force: bool = False,
) -> GisIngestResult:
    """Load one layer into raw_gis.<layer_name>, replacing the previous one atomically."""
    validate_layer_name(layer_name)
    db = db or active_database()
    result = GisIngestResult(layer_name=layer_name, source=source)
    started = time.monotonic()
    info: dict = {"file": source, "gpkg_layer": gpkg_layer}
    workdir = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=_workroot()))
    try:
        with sources.local_layer(source) as local:
            info["sha256"] = sources.layer_digest(local)
            info["size_bytes"] = sum(p.stat().st_size for p in sources.layer_files(local))
            if not force and _already_loaded(db, layer_name, info):
                result.unchanged = True
                result.seconds = time.monotonic() - started
                record_gis_run(db, result, [info], status="unchanged", error=None)
                return result
            layer = reader.read_layer(
                local,
                source=source,
                sha256=info["sha256"],
                ingested_at=result.started_at,
                gpkg_layer=gpkg_layer,
            )
        result.features = layer.features
        result.repaired = layer.repaired
        result.empty = layer.empty
        result.source_crs = layer.source_crs
        result.geometry_types = layer.geometry_types
        info.update(
            crs=layer.source_crs,
            features=layer.features,
            repaired=layer.repaired,
            empty_geometries=layer.empty,
            geometry_types=layer.geometry_types,
            columns=layer.columns,
        )
        required = REQUIRED_ATTRIBUTES.get(layer_name)
        if required and required not in layer.table.column_names:
            raise IngestError(
                f"{source}: layer {layer_name} needs an id attribute that snake-cases to "
                f"{required!r}; the file has {', '.join(layer.columns) or 'no attributes'}"
            )
        _load(db, workdir, layer_name, layer)
    except Exception as exc:
        result.seconds = time.monotonic() - started
        known = (IngestError, reader.GisReadError, sources.SourceError)
        root = root_cause(exc)
        if isinstance(exc, known):
            message = str(exc)
        elif isinstance(root, known):
            message = one_line(root)
        else:
            message = f"ingest of layer {layer_name} failed, nothing loaded: {one_line(root_cause(exc), exc)}"
        # the run's row carries the very line the user sees
        record_gis_run(db, result, [info], status="failed", error=message)
        raise IngestError(message) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    record_gis_run(db, result, [info], status="succeeded", error=None)
    return result


def _load(db: DatabaseUrl, workdir: Path, layer_name: str, layer: reader.Layer) -> None:
    import dlt

    resource = dlt.resource(
        [layer.table],
        name=layer_name,
        write_disposition="replace",
        primary_key="feature_index",
        columns={
            "feature_index": {"nullable": False},
            "source_file": {"nullable": False},
            "source_sha256": {"nullable": False},
            "ingested_at": {"nullable": False},
        },
    )
    dlt_settings.configure()
    pipeline = dlt.pipeline(
        pipeline_name="coeqwal_gis",
        destination=dlt.destinations.postgres(credentials=db.url()),
        dataset_name=DATASET,
        pipelines_dir=str(workdir),
    )
    pipeline.run(resource, loader_file_format="csv").raise_on_failed_jobs()


def _already_loaded(db: DatabaseUrl, layer_name: str, info: dict) -> bool:
    """True if the layer's last successful load used this very file and its rows are present."""
    from ingest.ops import connect, ensure_ops

    conn = connect(db)
    try:
        ensure_ops(conn)
        with conn.cursor() as cur:
            cur.execute(
                "select files from ops.ingest_runs where kind = 'gis' and layer_name = %s "
                "and status = 'succeeded' order by run_id desc limit 1",
                (layer_name,),
            )
            row = cur.fetchone()
            if row is None or not row[0]:
                return False
            last = row[0][0]
            if (last.get("sha256"), last.get("gpkg_layer")) != (
                info["sha256"],
                info["gpkg_layer"],
            ):
                return False
            cur.execute("select to_regclass(%s) is not null", (f"{DATASET}.{layer_name}",))
            if not cur.fetchone()[0]:
                return False
            cur.execute(f'select exists (select 1 from {DATASET}."{layer_name}")')
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


def record_gis_run(
    db: DatabaseUrl, result: GisIngestResult, files: list[dict], *, status: str, error: str | None
) -> None:
    """One row in ops.ingest_runs (kind 'gis'); never raises over a recording failure."""
    from ingest.ops import insert_ingest_run

    insert_ingest_run(
        db,
        kind="gis",
        layer_name=result.layer_name,
        status=status,
        error=error,
        files=files,
        values_loaded=result.features if status == "succeeded" else 0,
        seconds=round(result.seconds, 3),
    )
