"""Shared fixtures: the real database (embedded cluster or COEQWAL_DATABASE_URL),
the read-only reference data in ../shared/data, and the synthetic sample files.

Tests work in their own database (`coeqwal_test`), recreated once per session,
so they never touch the data `make run` leaves in `coeqwal`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# COEQWAL_TEST_DATABASE lets two test runs share one server without colliding.
TEST_DATABASE = os.environ.get("COEQWAL_TEST_DATABASE", "coeqwal_test")


def shared_data_dir() -> Path | None:
    env = os.environ.get("COEQWAL_SHARED_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("reference data folder ../shared/data is absent (set COEQWAL_SHARED_DATA)")
    return path


def coeqwal(*args: str, env: dict | None = None, check: bool = True, timeout: float = 900):
    """Run the real CLI in a subprocess, as a user would."""
    exe = Path(sys.executable).parent / "coeqwal"
    proc = subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"coeqwal {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def plan_nodes(node: dict):
    """Every node of an EXPLAIN (FORMAT JSON) plan, from `plan["Plan"]` down."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def table_reads(sql, condition: str, params: tuple = ()) -> int:
    """Scans (sequential and index) so far of the tables of pg_stat_user_tables
    that `condition` selects, from the server's table statistics, once two reads
    half a second apart agree (the builds' sessions report theirs as they end)."""
    query = (
        "select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::bigint"
        f" from pg_stat_user_tables where {condition}"
    )
    last = sql(query, params or None)[0][0]
    for _ in range(20):
        time.sleep(0.5)
        now = sql(query, params or None)[0][0]
        if now == last:
            return now
        last = now
    raise AssertionError("the tables' scan counts did not settle")


@pytest.fixture(scope="session")
def test_db(tmp_path_factory):
    """A fresh test database on the active server; sets COEQWAL_DATABASE for the CLI."""
    from coeqwal_tools import localdb
    from ingest.config import active_database, external_url

    os.environ["COEQWAL_DATABASE"] = TEST_DATABASE
    if not external_url():
        localdb.EmbeddedCluster().up()
    db = active_database()
    assert db.database == TEST_DATABASE
    localdb.drop_database(db)
    localdb.ensure_database(db)
    return db


def fresh_database(test_db, name: str):
    """The URL of a database of its own on the test server, created empty (dropped
    first if a previous run left it)."""
    from coeqwal_tools import localdb

    url = test_db.with_database(name)
    localdb.drop_database(url)
    localdb.ensure_database(url)
    return url


def s3_client(endpoint_env: dict):
    """A boto3 S3 client on the loopback moto server described by `endpoint_env`."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=endpoint_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=endpoint_env["AWS_SECRET_ACCESS_KEY"],
        region_name=endpoint_env["AWS_DEFAULT_REGION"],
    )


@contextlib.contextmanager
def transaction(url: str):
    """A cursor in one transaction on `url`, rolled back and closed afterwards
    (what a test did there leaves nothing behind)."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.rollback()
        conn.close()


def sql_runner(url: str):
    """A function running one SQL string (autocommit) on `url`, returning all rows or []."""
    import psycopg2

    def run(query: str, params=None):
        conn = psycopg2.connect(url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    return run


@pytest.fixture
def sql(test_db):
    """Run one SQL statement on the test database; returns all rows (or [])."""
    return sql_runner(test_db.url())


@pytest.fixture(scope="module")
def module_sql(test_db):
    """Like `sql`, for module-scoped fixtures."""
    return sql_runner(test_db.url())


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory) -> dict[str, Path]:
    """The three sample scenarios' DV files, written once per session."""
    from coeqwal_tools.sample import dss as sample

    out = tmp_path_factory.mktemp("sample")
    paths = sample.write_samples(out)
    return {s.scenario_id: p for s, p in zip(sample.SAMPLE_SCENARIOS, paths, strict=True)}


@pytest.fixture(scope="session")
def warehouse(test_db, sample_files) -> dict[str, Path]:
    """The three sample scenarios ingested through the CLI and built with dbt."""
    for scenario_id, path in sample_files.items():
        coeqwal("ingest", "dss", "--scenario", scenario_id, str(path))
    build = coeqwal("build")
    assert "dbt build:" in build.stdout, build.stdout[-3000:]
    return sample_files
