"""`coeqwal run`: the whole pipeline on the bundled sample data.

Starts the database (embedded unless COEQWAL_DATABASE_URL is set), writes the
synthetic sample DSS files when missing, ingests the three sample scenarios and
the synthetic GIS layers (coeqwal_tools/sample/gis.py), builds the dbt project and
prints a short summary read back as the API role.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingest.config import STATE_DIR, active_database, external_url


def sample_dir() -> Path:
    return Path(os.environ.get("COEQWAL_SAMPLE_DIR", STATE_DIR / "sample"))


def ensure_samples(out: Path) -> list[Path]:
    """The sample files, written once (deterministic, so reusing them is exact) and
    again when the generator or the seeds it follows changed (the stamp holds its
    fingerprint)."""
    from coeqwal_tools.sample import dss as sample

    expected = [out / f"{s.scenario_id}_DV.dss" for s in sample.SAMPLE_SCENARIOS]
    stamp = out / ".complete"
    version = sample.fingerprint()
    if (
        stamp.exists()
        and stamp.read_text().strip() == version
        and all(p.exists() for p in expected)
    ):
        return expected
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    paths = sample.write_samples(out)
    stamp.write_text(version + "\n")
    return paths


def database_up():
    from coeqwal_tools import localdb

    if external_url():
        db = active_database()
        localdb.ensure_database(db)
        return db
    localdb.EmbeddedCluster().up()
    db = active_database()
    localdb.ensure_database(db)
    return db


def api_summary(db) -> list[tuple]:
    """Rows of api.scenarios as the anonymous API role sees them."""
    from ingest.ops import connect

    conn = connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("begin")
            cur.execute("set local role web_anon")
            cur.execute(
                "select scenario_id, short_title, series_count, value_count "
                "from api.scenarios where is_loaded order by scenario_id"
            )
            rows = cur.fetchall()
            cur.execute("rollback")
        return rows
    finally:
        conn.close()


def ingest_sample_gis(db) -> None:
    """The project's synthetic GIS layers (coeqwal_tools/sample/gis.py), landed in raw_gis."""
    from coeqwal_tools.sample import gis as sample_gis
    from ingest.gis import pipeline as gis_pipeline

    for layer_name, path in sample_gis.ensure_layers(sample_dir() / "gis").items():
        print(gis_pipeline.ingest_gis(layer_name, str(path), db=db).summary())


def run_all() -> int:
    from coeqwal_tools.sample import dss as sample
    from ingest import build
    from ingest.dss import pipeline

    db = database_up()
    files = ensure_samples(sample_dir())
    by_id = {s.scenario_id: p for s, p in zip(sample.SAMPLE_SCENARIOS, files, strict=True)}
    for scenario_id, path in by_id.items():
        print(pipeline.ingest_dss(scenario_id, [str(path)], db=db).summary())
    ingest_sample_gis(db)
    build.run_dbt_build(db=db)
    rows = api_summary(db)
    print(f"api.scenarios as web_anon: {len(rows)} loaded scenario(s)")
    for scenario_id, title, n_series, n_values in rows:
        print(f"  {scenario_id}  {title:<40} {n_series:>6,} series {n_values:>12,} values")
    return 0
