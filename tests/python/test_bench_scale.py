"""`coeqwal bench --scenarios`: a scenario cloned in SQL is what a build of the
same file computes, and the next build sees it as built.

The scale benchmark's figures are only worth something if its clones stand for
real scenarios: here the clone of s0020 (b0001) and a real ingest + build of the
same file (b0002) must serve identical statistics, tiers and time series, and
the build after the clone must compute no scenario at all."""

from __future__ import annotations

import pytest

from tests.python.conftest import coeqwal, fresh_database, sql_runner

SOURCE = "s0020"


@pytest.fixture(scope="module")
def scaled(test_db, sample_files, tmp_path_factory):
    from coeqwal_tools.bench import scale as bench_scale

    name = f"{test_db.database}_scale"
    url = fresh_database(test_db, name)
    work = bench_scale.project_copy(2, tmp_path_factory.mktemp("bench") / "project")
    env = {"COEQWAL_DATABASE": name, "COEQWAL_HOME": str(work), "PYTHONPATH": str(work)}
    coeqwal("ingest", "dss", "--scenario", SOURCE, str(sample_files[SOURCE]), env=env)
    coeqwal("build", env=env)
    bench_scale.clone_scenarios(url, SOURCE, ["b0001"])
    sql = sql_runner(url.url())
    (parts_before,) = sql("select count(*) from store.scenario_parts where scenario_id = 'b0001'")
    after_clone = coeqwal("build", env=env)
    (invocation,) = sql(
        "select invocation_id from ops.dbt_runs where command = 'build' "
        "order by finished_at desc limit 1"
    )[0]
    computed = sql(
        "select distinct scenario_id from store.scenario_parts "
        "where invocation_id = %s and scenario_id is not null",
        (invocation,),
    )
    coeqwal("ingest", "dss", "--scenario", "b0002", str(sample_files[SOURCE]), env=env)
    coeqwal("build", env=env)
    return {
        "sql": sql,
        "parts_before": parts_before[0],
        "after_clone": after_clone,
        "computed_after_clone": computed,
    }


def test_the_build_after_cloning_computes_nothing(scaled):
    assert scaled["parts_before"] >= 8  # every scenario_store model with rows of s0020
    assert scaled["after_clone"].returncode == 0
    assert scaled["computed_after_clone"] == []


ENDPOINTS = ["statistics", "tiers", "timeseries", "annual_values", "scenarios"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_clone_equals_a_real_load_of_the_same_file(scaled, endpoint):
    """Exact equality (no tolerance) of what the API serves for the source, its
    SQL clone and a real ingest + build of the same file under another id."""
    sql = scaled["sql"]
    query = (
        f"select (to_jsonb(t) - 'scenario_id' - 'loaded_at' - 'short_code' - 'name' "
        f"- 'short_title' - 'description')::text from api.{endpoint} as t "
        "where scenario_id = %s"
        # COEQWAL's delivered tier results are seeded for its own scenario ids only
        + (" and result_source = 'computed'" if endpoint == "tiers" else "")
        + " order by 1"
    )
    rows = {s: sql(query, (s,)) for s in (SOURCE, "b0001", "b0002")}
    assert rows[SOURCE], f"{endpoint}: no rows for {SOURCE}"
    assert rows["b0001"] == rows[SOURCE]
    assert rows["b0002"] == rows[SOURCE]
