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
    # each table's key and its scenario_id's planner settings, by model
    shape = """
        select parts.model_name, array(
            select att.attname::text
            from pg_constraint as pk
            cross join unnest(pk.conkey) with ordinality as key (attnum, position)
            inner join pg_attribute as att on att.attrelid = pk.conrelid and att.attnum = key.attnum
            where pk.conrelid = sid.attrelid and pk.contype = 'p'
            order by key.position
        ), sid.attoptions
        from store.scenario_parts as parts
        inner join pg_attribute as sid
            on sid.attrelid = format('store.%%I', parts.relation_name)::regclass
            and sid.attname = 'scenario_id'
        where parts.scenario_id = %s
        order by 1
    """
    keys = {scenario: sql(shape, (scenario,)) for scenario in (SOURCE, "b0001")}
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
        "url": url,
        "sql": sql,
        "parts_before": parts_before[0],
        "after_clone": after_clone,
        "computed_after_clone": computed,
        "keys": keys,
    }


def test_the_build_after_cloning_computes_nothing(scaled):
    assert scaled["parts_before"] >= 8  # every scenario_store model with rows of s0020
    assert scaled["after_clone"].returncode == 0
    assert scaled["computed_after_clone"] == []


def test_clones_are_keyed_like_their_source(scaled):
    """The clone's tables have the keys and planner settings the build gave its
    source's (docs/scaling.md, lists of scenarios): else the first build after
    cloning would add them, and the benchmark would time that."""
    source, clone = scaled["keys"][SOURCE], scaled["keys"]["b0001"]
    assert len(source) >= 8
    assert clone == source
    assert {(key[0], tuple(options)) for _, key, options in source} == {
        ("scenario_id", ("n_distinct=-1",))
    }


def test_settling_vacuums_what_the_added_scenario_wrote(scaled):
    """Before the latency step, the benchmark vacuums and analyzes the tables of
    the scenario it just added (its published per-scenario tables and its raw
    partition), so autovacuum does not run during the measurement."""
    from coeqwal_tools.bench import scale as bench_scale

    sql = scaled["sql"]
    _seconds, tables = bench_scale._settle(scaled["url"], "b0002")
    published = sql(
        "select format('store.%I', relation_name) from store.scenario_parts"
        " where scenario_id = 'b0002'"
        " and relation_name in (select relation_name from store.part_readers)"
    )
    raw = sql(
        "select tree.relid::regclass::text from pg_partition_tree('raw_dss.dss_series') as tree"
        " join pg_class as cls on cls.oid = tree.relid"
        " where tree.isleaf and pg_get_expr(cls.relpartbound, cls.oid) like '%''b0002''%'"
    )
    assert len(published) >= 8 and len(raw) == 1
    assert tables == len(published) + 1
    vacuumed = dict(
        sql(
            "select format('%I.%I', schemaname, relname), last_vacuum is not null"
            " and last_analyze is not null from pg_stat_user_tables"
            " where schemaname in ('store', 'raw_dss')"
        )
    )
    names = [name for (name,) in published + raw]
    assert all(vacuumed.get(name.replace('"', "")) for name in names), (names, vacuumed)


def test_added_scenarios_are_alternatives_of_the_bench_scenario(tmp_path):
    """Clones are baselines; each scenario an add-one build loads has
    BENCH_SCENARIO as its baseline and its themes, so the add-one build pays
    for comparisons as an alternative's build does."""
    import csv

    from coeqwal_tools.bench import scale as bench_scale

    work = bench_scale.project_copy(2, tmp_path / "project", alternatives=2)
    with (work / "seeds" / "scenarios" / "scenarios.csv").open(newline="") as f:
        baselines = {row["scenario_id"]: row["baseline_scenario_id"] for row in csv.DictReader(f)}
    assert {k: baselines[k] for k in ("b0001", "b0002", "a0001", "a0002")} == {
        "b0001": "",
        "b0002": "",
        "a0001": SOURCE,
        "a0002": SOURCE,
    }
    assert "a0003" not in baselines and "b0003" not in baselines
    with (work / "seeds" / "scenarios" / "theme_scenarios.csv").open(newline="") as f:
        links = list(csv.DictReader(f))
    themes = {
        scenario: sorted(
            tuple(v for k, v in row.items() if k != "scenario_id")
            for row in links
            if row["scenario_id"] == scenario
        )
        for scenario in (SOURCE, "a0002")
    }
    assert themes[SOURCE] and themes["a0002"] == themes[SOURCE]


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
