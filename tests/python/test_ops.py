"""Monitoring in the warehouse (issue 9): every build lands in schema `ops`,
source freshness is checked and recorded, data-quality failures keep their rows'
keys in `ops_audit`, `api.pipeline_status` serves the state to `web_anon`, and a
failed build is visible in ops while the previous marts keep serving.

All on the real database built by the `warehouse` fixture; the expected values
are read independently from the data (raw tables, catalog), never from ops."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from ingest.build import target_path
from tests.python.conftest import ROOT, coeqwal, table_reads, transaction

pytestmark = pytest.mark.db

SCENARIO = "s0044"
SHORT_B_PART = "OPSCHECK_SHORT"  # a valid but short series: a data-quality warning
BAD_B_PART = "OPSCHECK_BAD"  # an unreadable value literal: the series mart fails
SELECT = "source:raw_dss+"  # everything built from the raw DSS data, not the seeds


def as_web_anon(test_db, query: str):
    """Run `query` the way PostgREST does: in a transaction as web_anon."""
    with transaction(test_db.url()) as cur:
        cur.execute("set local role web_anon")
        cur.execute(query)
        return cur.fetchall()


def latest_build(sql, pattern: str = "build%"):
    rows = sql(
        "select invocation_id, command, status, exit_code, error, node_count, error_count, "
        "skipped_count from ops.dbt_runs where command like %s "
        "order by finished_at desc limit 1",
        (pattern,),
    )
    return rows[0]


def test_the_build_and_each_node_are_recorded(warehouse, sql):
    # the warehouse fixture's whole-project build (later tests may build selections)
    invocation_id, command, status, exit_code, error, node_count, *_ = latest_build(sql, "build")
    assert command == "build" and exit_code == 0 and error is None
    assert status in ("succeeded", "warned")
    # the run results dbt wrote for that invocation, while no other build followed it
    results = json.loads((target_path() / "run_results.json").read_text())
    if results["metadata"]["invocation_id"] == invocation_id:
        assert node_count == len(results["results"])
        statuses = [r["status"] for r in results["results"]]
        assert status == ("warned" if "warn" in statuses else "succeeded")
    nodes = dict(
        sql(
            "select unique_id, status from ops.dbt_node_results where invocation_id = %s",
            (invocation_id,),
        )
    )
    assert len(nodes) == node_count
    assert nodes["model.coeqwal.dim_scenarios"] == "success"
    assert nodes["model.coeqwal.api_pipeline_status"] == "success"
    # rows written by a table model, against a count of the table itself
    (rows_affected,) = sql(
        "select rows_affected from ops.dbt_node_results "
        "where invocation_id = %s and unique_id = 'model.coeqwal.dim_scenarios'",
        (invocation_id,),
    )[0]
    assert rows_affected == sql("select count(*) from marts.dim_scenarios")[0][0]
    # the dbt models over ops see the same rows
    assert (
        sql(
            "select count(*) from marts.fct_dbt_node_results where invocation_id = %s",
            (invocation_id,),
        )[0][0]
        == node_count
    )
    assert (
        sql("select count(*) from marts.fct_ingest_runs")[0][0]
        == sql("select count(*) from ops.ingest_runs")[0][0]
    )


def test_source_freshness_is_checked_after_the_build(warehouse, sql):
    rows = sql(
        "select f.status, f.max_loaded_at, f.warn_after, f.error_after, r.finished_at "
        "from ops.source_freshness as f join ops.dbt_runs as r using (invocation_id) "
        "where f.unique_id = 'source.coeqwal.raw_dss.dss_loads' "
        "order by r.finished_at desc limit 1"
    )
    assert rows, "no freshness check recorded"
    status, max_loaded_at, warn_after, error_after, _ = rows[0]
    assert status == "pass"
    assert (warn_after, error_after) == ("90 day", "365 day")
    assert max_loaded_at == sql("select max(ingested_at) from raw_dss.dss_series")[0][0]


def test_pipeline_status_as_web_anon(warehouse, test_db, sql):
    rows = as_web_anon(
        test_db,
        "select component, subject_id, status, is_ok, run_count, last_run_at, data_as_of "
        "from api.pipeline_status order by component, subject_id",
    )
    by_key = {(r[0], r[1]): r for r in rows}
    for scenario_id in warehouse:
        ingest = by_key[("ingest_dss", scenario_id)]
        assert ingest[2] in ("succeeded", "unchanged") and ingest[3] is True
    expected_runs = sql(
        "select scenario_id, count(*) from ops.ingest_runs where kind = 'dss' group by 1 order by 1"
    )
    for scenario_id, runs in expected_runs:
        assert by_key[("ingest_dss", scenario_id)][4] == runs
    build = by_key[("dbt_build", "build")]
    latest = sql(
        "select status, finished_at at time zone 'UTC' from ops.dbt_runs "
        "where command like 'build%' order by finished_at desc limit 1"
    )[0]
    assert (build[2], build[5]) == latest
    # a successful latest build is the one serving; otherwise an earlier one is
    if build[3]:
        assert build[5] == build[6]
    else:
        assert build[6] is None or build[6] < build[5]
    assert by_key[("source_freshness", "raw_dss.dss_loads")][2] == "pass"
    # the JSON PostgREST would send, and nothing of ops itself for web_anon
    (payload,) = as_web_anon(test_db, "select json_agg(t) from api.pipeline_status as t")[0]
    assert set(payload[0]) == {
        "component",
        "subject_id",
        "status",
        "message",
        "seconds",
        "run_count",
        "is_ok",
        "last_run_at",
        "data_as_of",
    }
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_web_anon(test_db, "select * from ops.dbt_runs")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        as_web_anon(test_db, "select * from marts.fct_dbt_runs")


def test_failed_ingest_is_visible_and_the_previous_load_still_serves(warehouse, test_db, sql):
    before = as_web_anon(
        test_db,
        "select data_as_of, run_count from api.pipeline_status "
        "where component = 'ingest_dss' and subject_id = 's0029'",
    )[0]
    series_before = sql("select count(*) from raw_dss.dss_series where scenario_id = 's0029'")
    proc = coeqwal("ingest", "dss", "--scenario", "s0029", "/nonexistent/s0029_DV.dss", check=False)
    assert proc.returncode != 0
    status, is_ok, run_count, message, data_as_of = as_web_anon(
        test_db,
        "select status, is_ok, run_count, message, data_as_of from api.pipeline_status "
        "where component = 'ingest_dss' and subject_id = 's0029'",
    )[0]
    assert (status, is_ok, run_count) == ("failed", False, before[1] + 1)
    assert message
    assert data_as_of == before[0]
    assert sql("select count(*) from raw_dss.dss_series where scenario_id = 's0029'") == (
        series_before
    )


def _published_part(sql, model: str, scenario_id: str) -> str:
    """The store table a published view reads for one scenario (from the catalog)."""
    rows = sql(
        "select distinct parts.relation_name from store.scenario_parts as parts "
        "join store.part_readers as readers using (relation_name) "
        "where parts.model_name = %s and parts.scenario_id = %s "
        "and readers.reader = %s::regclass",
        (model, scenario_id, f"marts.{model}"),
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def _audit_id(text: str) -> str:
    """The audit's id, from the last line `coeqwal audit` printed (stdout or stderr)."""
    match = re.search(r"audit ([0-9a-f-]{36})\s*$", text.strip())
    assert match, text[-2000:]
    return match[1]


def _audit_batches(sql, audit_id: str) -> list[tuple]:
    """(batch, batch_count, scenario ids, dbt invocation, its command and exit code)."""
    return sql(
        "select b.batch, b.batch_count, b.scenario_ids, b.invocation_id, r.command, r.exit_code "
        "from ops.audit_batches as b join ops.dbt_runs as r using (invocation_id) "
        "where b.audit_id = %s order by b.batch",
        (audit_id,),
    )


def _node_statuses(sql, invocation_id: str) -> dict[str, str]:
    return dict(
        sql(
            "select unique_id, status from ops.dbt_node_results where invocation_id = %s",
            (invocation_id,),
        )
    )


def _failing_rows(sql, audit_id: str, test: str) -> list[tuple[int, dict]]:
    """The failing rows of `test` kept for the audit, with the batch that found them."""
    return sql(
        "select b.batch, f.failing_row from ops.audit_failures as f "
        "join ops.audit_batches as b using (invocation_id) "
        "where b.audit_id = %s and f.unique_id = %s order by b.batch, f.failing_row::text",
        (audit_id, f"test.coeqwal.{test}"),
    )


def test_audit_checks_every_scenario_and_records_it(warehouse, test_db, sql):
    """`coeqwal audit` runs the tests a build leaves out (tag `audit`) and every
    scoped test on every scenario, a batch of scenarios at a time (the tests of
    the whole warehouse once); it finds a stored value that no build computed,
    goes on through every batch, keeps every batch's failing rows in ops and
    says so in one line."""
    scenarios = sorted(warehouse)
    assert len(scenarios) == 3
    audit_only = {
        "test.coeqwal.assert_every_raw_value_reaches_monthly_facts",
    }
    whole = {  # tests of the whole warehouse: run once, in the first batch
        "test.coeqwal.assert_variables_match_series",
        "test.coeqwal.assert_water_year_types_complete",
    }
    build_id = latest_build(sql, "build")[0]
    built = set(_node_statuses(sql, build_id))
    assert not audit_only & built  # a build leaves them out
    assert not [u for u in built if u.startswith("test.coeqwal.unique_combination_api_timeseries")]

    passed = coeqwal("audit", "--batch-size", "2")
    last = passed.stdout.strip().splitlines()[-1]
    assert last.startswith("audit:") and "3 scenario(s) in 2 batch(es)" in last, passed.stdout[
        -2000:
    ]
    batches = _audit_batches(sql, _audit_id(last))
    assert [(b[0], b[1], b[2]) for b in batches] == [(1, 2, scenarios[:2]), (2, 2, scenarios[2:])]
    assert {(b[4], b[5]) for b in batches} == {("audit", 0)}
    first, second = (_node_statuses(sql, b[3]) for b in batches)
    assert {first[u] for u in audit_only | whole} == {"pass"}
    assert [u for u in first if u.startswith("test.coeqwal.unique_combination_api_timeseries")]
    # it tests, it builds nothing
    assert not [u for u in {**first, **second} if u.startswith(("model.", "seed.", "snapshot."))]
    # the second batch runs the per-scenario tests again, and nothing else
    tests_second = {u for u in second if u.startswith("test.")}
    assert tests_second < {u for u in first if u.startswith("test.")}
    assert {
        "test.coeqwal.assert_compact_series_match_raw",
        "test.coeqwal.assert_every_raw_value_reaches_monthly_facts",
        "test.coeqwal.assert_series_inventory_matches_series",
    } <= tests_second
    assert not whole & tests_second
    assert [
        u for u in tests_second if u.startswith("test.coeqwal.unique_combination_api_timeseries")
    ]

    # One value of a published series changed behind the build's back: no build
    # recomputes the scenario, so only the audit can see it.
    scenario = scenarios[0]
    part = _published_part(sql, "fct_series_values_compact", scenario)
    table = f'store."{part}"'
    key, original = sql(
        f"select variable_key, monthly_values_f4::text from {table} "
        "where monthly_values_f4[1] is not null order by variable_key limit 1"
    )[0]
    sql(
        f"update {table} set monthly_values_f4[1] = monthly_values_f4[1] + 1000 "
        "where variable_key = %s",
        (key,),
    )
    # The summaries the dimensions read, wrong behind the build's back too: the
    # scenario's inventory row counts a series too many, and dim_variables a
    # scenario too many for that series' variable.
    inventory = f'store."{_published_part(sql, "fct_series_inventory", scenario)}"'
    sql(f"update {inventory} set series_count = series_count + 1")
    sql(
        "update marts.dim_variables set scenario_count = scenario_count + 1 "
        "where variable_key = %s",
        (key,),
    )
    try:
        failed = coeqwal("audit", "--batch-size", "1", check=False)
        assert failed.returncode == 1
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("coeqwal: audit failed:"), failed.stderr
        audit_id = _audit_id(lines[0])
        # the audit went on through every batch, one scenario each
        batches = _audit_batches(sql, audit_id)
        assert [(b[0], b[2]) for b in batches] == [
            (1, [scenarios[0]]),
            (2, [scenarios[1]]),
            (3, [scenarios[2]]),
        ]
        statuses = [_node_statuses(sql, b[3]) for b in batches]
        failing = {u for u, status in statuses[0].items() if status == "fail"}
        assert {
            "test.coeqwal.assert_every_raw_value_reaches_monthly_facts",
            "test.coeqwal.assert_compact_series_match_raw",
            "test.coeqwal.assert_series_inventory_matches_series",
            "test.coeqwal.assert_variables_match_series",
        } <= failing, failing
        # the other scenarios' batches test their own scenario only, and pass
        for later in statuses[1:]:
            assert later["test.coeqwal.assert_compact_series_match_raw"] == "pass"
            assert later["test.coeqwal.assert_series_inventory_matches_series"] == "pass"
        assert sql(
            "select status, exit_code from ops.dbt_runs where invocation_id = %s", (batches[0][3],)
        ) == [("failed", 1)]

        # every batch's failing rows are kept in ops.audit_failures (ops_audit
        # holds the last run of each test), naming the scenario and the series
        series_count = sql(
            "select count(*) from marts.fct_series_values where scenario_id = %s", (scenario,)
        )[0][0]
        rows = _failing_rows(sql, audit_id, "assert_series_inventory_matches_series")
        assert [
            (batch, row["scenario_id"], row["series_count"], row["inventory_series_count"])
            for batch, row in rows
        ] == [(1, scenario, series_count, series_count + 1)]
        scenarios_with_key = sql(
            "select count(distinct scenario_id) from marts.fct_series_values "
            "where variable_key = %s",
            (key,),
        )[0][0]
        rows = _failing_rows(sql, audit_id, "assert_variables_match_series")
        assert [
            (batch, row["variable_key"], row["scenario_count"], row["dim_scenario_count"])
            for batch, row in rows
        ] == [(1, key, scenarios_with_key, scenarios_with_key + 1)]
        rows = _failing_rows(sql, audit_id, "assert_compact_series_match_raw")
        assert [
            (batch, row["scenario_id"], row["variable_key"], row["mismatch"]) for batch, row in rows
        ] == [(1, scenario, key, "values differ")]
        rows = _failing_rows(sql, audit_id, "assert_every_raw_value_reaches_monthly_facts")
        assert {(batch, row["scenario_id"]) for batch, row in rows} == {(1, scenario)}
        assert sql(
            "select count(*) from ops.audit_failures as f join ops.audit_batches as b "
            "using (invocation_id) where b.audit_id = %s and f.scenario_id <> %s",
            (audit_id, scenario),
        ) == [(0,)]
    finally:
        sql(
            f"update {table} set monthly_values_f4 = %s::real[] where variable_key = %s",
            (original, key),
        )
        sql(f"update {inventory} set series_count = series_count - 1")
        sql(
            "update marts.dim_variables set scenario_count = scenario_count - 1 "
            "where variable_key = %s",
            (key,),
        )
    # restored: the scenario's own audit passes; an unknown scenario is one line
    restored = coeqwal("audit", "--scenarios", scenario)
    batches = _audit_batches(sql, _audit_id(restored.stdout))
    assert [(b[0], b[1], b[2], b[5]) for b in batches] == [(1, 1, [scenario], 0)]
    unknown = coeqwal("audit", "--scenarios", f"{scenario},NO_SUCH_SCENARIO", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "coeqwal: audit: no scenario loaded or computed: NO_SUCH_SCENARIO"
    ], unknown.stderr


def test_a_test_of_several_scenarios_reads_no_other(warehouse, sql):
    """A test given several scenarios (an audit's batch here; a build that
    computed several is scoped the same way) reads those scenarios' tables and
    no other's: each scenario is a branch of its own, its id a literal that the
    planner carries through the comparison views' joins. Given as one list, the
    ids reached the views' first scan only: the views read and unpacked the
    statistics of every alternative (s0044's here) before they filtered."""
    scenarios = sorted(warehouse)
    outside = "s0044"  # an alternative of s0020, like s0029
    inside = [s for s in scenarios if s != outside]
    assert len(inside) == 2
    models = ("fct_series_statistics_compact", "fct_year_type_statistics_compact")
    condition = "schemaname = 'store' and relname = any(%s)"

    def parts(scenario_id: str) -> list[str]:
        return [_published_part(sql, model, scenario_id) for model in models]

    before = table_reads(sql, condition, (parts(outside),))
    before_inside = table_reads(sql, condition, (parts("s0029"),))
    passed = coeqwal("audit", "--scenarios", ",".join(inside), "--batch-size", "2")
    ((batch, count, ids, invocation, _command, code),) = _audit_batches(
        sql, _audit_id(passed.stdout)
    )
    assert (batch, count, ids, code) == (1, 1, inside, 0)
    statuses = _node_statuses(sql, invocation)
    comparison_tests = [
        u
        for u in statuses
        if u.startswith("test.coeqwal.")
        and ("comparisons_compact" in u or "comparison_views" in u or "cover_alternatives" in u)
    ]
    assert len(comparison_tests) > 10, comparison_tests
    assert {statuses[u] for u in comparison_tests} == {"pass"}
    assert table_reads(sql, condition, (parts(outside),)) == before
    # The tests did read the scenarios in scope, and the counters see a read
    # of the other scenario's tables (the check above can fail).
    assert table_reads(sql, condition, (parts("s0029"),)) > before_inside
    sql(f'select count(*) from store."{parts(outside)[0]}"')
    assert table_reads(sql, condition, (parts(outside),)) > before


def _dbt_run_window(sql, invocation_id: str) -> tuple:
    return sql(
        "select started_at, finished_at from ops.dbt_runs where invocation_id = %s",
        (invocation_id,),
    )[0]


def test_a_build_waits_for_one_audit_batch_not_the_whole_audit(warehouse, sql, tmp_path):
    """An audit takes hours at full size: it lets go of the build lock between
    batches, so a build started during the first batch runs before the second
    (it waited, and said so), and the audit goes on and passes."""
    scenarios = sorted(warehouse)
    # files, not pipes: nobody reads the audit's output until the build is done
    out_path, err_path = tmp_path / "audit.out", tmp_path / "audit.err"
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        audit = subprocess.Popen(
            [str(Path(sys.executable).parent / "coeqwal"), "audit", "--batch-size", "1"],
            stdout=out_file,
            stderr=err_file,
            cwd=ROOT,
        )
    try:
        # the audit's first batch holds the lock (its session is named after its process)
        deadline = time.monotonic() + 300
        while not sql(
            "select 1 from pg_locks as l join pg_stat_activity as a using (pid) "
            "where l.locktype = 'advisory' and l.granted and a.application_name = %s",
            (f"coeqwal build (pid {audit.pid})",),
        ):
            assert audit.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "the audit never took the build lock"
            time.sleep(0.2)
        build = coeqwal("build")
        audit.wait(timeout=900)
    finally:
        if audit.poll() is None:
            audit.kill()
            audit.wait()
    out, err = out_path.read_text(), err_path.read_text()
    assert audit.returncode == 0, err[-3000:]
    assert "waiting for another build to finish" in build.stderr, build.stderr
    batches = _audit_batches(sql, _audit_id(out))
    assert [b[2] for b in batches] == [[s] for s in scenarios]
    first, second = (_dbt_run_window(sql, b[3]) for b in batches[:2])
    built = _dbt_run_window(sql, latest_build(sql, "build")[0])
    assert first[1] <= built[0] and built[1] <= second[0], (first, built, second)


def record_raw_load(sql, scenario_id: str) -> None:
    """Write the scenario's row of raw_dss.dss_loads from its series, as the loader
    does with every partition it swaps in: a load faked with SQL must too, or no
    build sees it."""
    sql(
        "insert into raw_dss.dss_loads (scenario_id, ingested_at, series_count) "
        "select scenario_id, max(ingested_at), count(*) from raw_dss.dss_series "
        "where scenario_id = %s group by scenario_id "
        "on conflict (scenario_id) do update set ingested_at = excluded.ingested_at, "
        "series_count = excluded.series_count, recorded_at = now()",
        (scenario_id,),
    )


def test_raw_series_tests_check_the_scenarios_a_build_computed(warehouse, sql):
    """The data tests of the views over the raw series (stg_dss__series and the
    views on it) check the scenarios a build computes, so that a build with
    nothing new scans no raw partition: a bad row slipped into a scenario's
    partition as part of its last load (no new load, so no build recomputes
    it) passes the build and fails the audit, which tests every scenario; the
    same row as a new load fails the build (its tests run before the marts
    that record what the build computed)."""
    scenario = sorted(warehouse)[0]
    test_id = "test.coeqwal.accepted_values_stg_dss__series_file_role"
    columns = [
        name
        for (name,) in sql(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_dss' and table_name = 'dss_series' order by ordinal_position"
        )
    ]
    overrides = {"file_role": "'XX'", "_dlt_id": "md5(random()::text)"}
    names = ", ".join(f'"{c}"' for c in columns)
    select = ", ".join(overrides.get(c, f'"{c}"') for c in columns)
    sql(
        f"insert into raw_dss.dss_series ({names}) select {select} from raw_dss.dss_series "
        "where scenario_id = %s and file_role = 'DV' order by series_path limit 1",
        (scenario,),
    )
    try:
        assert coeqwal("build").returncode == 0
        build_id = latest_build(sql, "build")[0]
        (status,) = sql(
            "select status from ops.dbt_node_results where invocation_id = %s "
            "and unique_id like %s",
            (build_id, test_id + "%"),
        )[0]
        assert status == "pass"
        failed = coeqwal("audit", check=False)
        assert failed.returncode == 1, failed.stdout[-2000:]
        failing = sql(
            "select n.unique_id, n.failures from ops.dbt_node_results as n "
            "join ops.audit_batches as b using (invocation_id) "
            "where b.audit_id = %s and n.status = 'fail' and n.unique_id like %s",
            (_audit_id(failed.stderr), test_id + "%"),
        )
        assert [failures for _, failures in failing] == [1], failing

        sql("update raw_dss.dss_series set ingested_at = now() where file_role = 'XX'")
        record_raw_load(sql, scenario)
        assert coeqwal("build", check=False).returncode != 0
        build_id = latest_build(sql, "build")[0]
        assert sql(
            "select status, failures from ops.dbt_node_results where invocation_id = %s "
            "and unique_id like %s",
            (build_id, test_id + "%"),
        ) == [("fail", 1)]
    finally:
        sql("delete from raw_dss.dss_series where file_role = 'XX'")
        record_raw_load(sql, scenario)


def test_one_read_of_the_comparison_views_checks_their_keys(warehouse, sql):
    """The comparison views are checked at build time by one read each
    (assert_comparison_views_are_well_formed), their per-column tests, which
    recompute the comparisons once per test, being tagged audit: the build ran
    the one check and none of those; and the check finds a repeated key and an
    unknown variable put into fct_series_comparisons_compact (its view replaced
    by one that adds the two rows), run by the audit, which checks every scenario."""
    check = "test.coeqwal.assert_comparison_views_are_well_formed"
    assert coeqwal("build").returncode == 0  # whole project (earlier tests build selections)
    build_id = latest_build(sql, "build")[0]
    ran = dict(
        sql(
            "select unique_id, status from ops.dbt_node_results where invocation_id = %s"
            " and unique_id like 'test.%%'",
            (build_id,),
        )
    )
    assert ran.get(check) == "pass", sorted(ran)
    per_column = [
        name
        for name in ran
        if any(view in name for view in ("series_comparisons", "year_type_comparisons", "api_comp"))
        and name.split(".")[2].startswith(("not_null", "relationships", "unique"))
    ]
    assert per_column == [], per_column

    view = "marts.fct_series_comparisons_compact"
    ((definition,),) = sql("select pg_get_viewdef(%s::regclass)", (view,))
    columns = [
        name
        for (name,) in sql(
            "select column_name from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'fct_series_comparisons_compact' order by ordinal_position"
        )
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    unknown = ", ".join("'NO/SUCH'" if c == "variable_key" else f'"{c}"' for c in columns)
    original = definition.rstrip().rstrip(";")
    sql(
        f"create or replace view {view} as "
        f"with original as ({original}) "
        f"select {names} from original "
        f"union all (select {names} from original order by scenario_id, variable_key, period limit 1) "
        f"union all (select {unknown} from original order by scenario_id, variable_key, period limit 1)"
    )
    try:
        failed = coeqwal("audit", check=False)
        assert failed.returncode == 1, failed.stdout[-2000:]
        # both rows name the first scenario: its batch fails, the others pass
        assert sql(
            "select n.status, n.failures from ops.dbt_node_results as n "
            "join ops.audit_batches as b using (invocation_id) "
            "where b.audit_id = %s and n.unique_id = %s and n.status <> 'pass'",
            (_audit_id(failed.stderr), check),
        ) == [("fail", 2)]
    finally:
        sql(f"create or replace view {view} as {original}")
    assert sql(f"select count(*) from {view} where variable_key = 'NO/SUCH'") == [(0,)]


def _insert_raw_copy(
    sql, b_part: str, values: str, month_count: int, precision: str = "float32"
) -> None:
    """A copy of one loaded s0044 series under another B part with the given values
    at the given precision (`text`: a float32 literal in the text column of
    partitions loaded before the values were typed), stamped as a new load (every
    other column copied as the loader wrote it, whatever the raw schema)."""
    overrides = {
        "series_path": "'/CALSIM/' || %(b)s || '/' || c_part || '//1MON/' || f_part || '/'",
        "b_part": "%(b)s",
        "month_count": "%(n)s",
        "missing_count": "0",
        "monthly_values": "%(text)s",
        "monthly_values_f4": "%(f4)s::real[]",
        "monthly_values_f8": "%(f8)s::float8[]",
        "value_precision": "case when %(p)s = 'text' then 'float32' else %(p)s end",
        "ingested_at": "clock_timestamp()",
        "_dlt_id": "md5(random()::text)",
    }
    columns = [
        name
        for (name,) in sql(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_dss' and table_name = 'dss_series' order by ordinal_position"
        )
    ]
    select = ", ".join(overrides.get(c, f'"{c}"') for c in columns)
    sql(
        f"""
        insert into raw_dss.dss_series ({", ".join(f'"{c}"' for c in columns)})
        select {select}
        from raw_dss.dss_series
        where scenario_id = %(s)s and file_role = 'DV'
        order by series_path
        limit 1
        """,
        {
            "b": b_part,
            "v": values,
            "n": month_count,
            "s": SCENARIO,
            "p": precision,
            "text": values if precision == "text" else None,
            "f4": values if precision == "float32" else None,
            "f8": values if precision == "float64" else None,
        },
    )
    record_raw_load(sql, SCENARIO)


@pytest.fixture(scope="module")
def short_series_build(warehouse, test_db):
    """s0044 gains a 12-month series (every other one has 1,200): the warn test
    assert_series_month_counts_consistent reports it. Teardown removes the extra
    raw rows and rebuilds s0044, so later tests see the sample warehouse again."""
    from tests.python.conftest import sql_runner

    sql = sql_runner(test_db.url())
    _insert_raw_copy(sql, SHORT_B_PART, "{" + ",".join(str(i) for i in range(1, 13)) + "}", 12)
    proc = coeqwal("build", "--select", SELECT, check=False)
    yield proc
    sql("delete from raw_dss.dss_series where b_part in (%s, %s)", (SHORT_B_PART, BAD_B_PART))
    record_raw_load(sql, SCENARIO)
    coeqwal("build", "--select", SELECT)
    assert sql(
        "select count(*) from marts.fct_series_values where b_part in (%s, %s)",
        (SHORT_B_PART, BAD_B_PART),
    ) == [(0,)]


def test_data_quality_failures_are_kept_with_their_keys(short_series_build, sql):
    assert short_series_build.returncode == 0, short_series_build.stderr
    invocation_id, _, status, *_ = latest_build(sql)
    assert status == "warned"
    node = sql(
        "select status, failures, relation_name from ops.dbt_node_results "
        "where invocation_id = %s and unique_id like 'test.coeqwal.assert_series_month_counts%%'",
        (invocation_id,),
    )
    assert node and node[0][0] == "warn" and node[0][1] >= 1
    relation = node[0][2]
    assert '"ops_audit"' in relation
    kept = sql(f"select scenario_id, variable_key, month_count from {relation}")
    assert (SCENARIO, f"{SHORT_B_PART}/", 12) in [
        (s, k[: len(SHORT_B_PART) + 1], n) for s, k, n in kept
    ]


def test_failed_build_is_visible_and_previous_marts_still_serve(short_series_build, test_db, sql):
    assert short_series_build.returncode == 0, short_series_build.stderr
    serving = "select scenario_id, count(*), sum(month_count) from marts.fct_series_values group by 1 order by 1"
    marts_before = sql(serving)
    api_before = as_web_anon(
        test_db,
        "select scenario_id, series_count, value_count, loaded_at from api.scenarios order by 1",
    )
    status_before = as_web_anon(
        test_db, "select data_as_of from api.pipeline_status where component = 'dbt_build'"
    )[0][0]

    # The loader types the values, so a malformed one can only come from a
    # partition loaded before they were typed: their text column, added as such
    # a warehouse has it, holds an unreadable literal.
    sql("alter table raw_dss.dss_series add column if not exists monthly_values varchar")
    _insert_raw_copy(sql, BAD_B_PART, "{1,oops}", 2, "text")
    proc = coeqwal("build", "--select", SELECT, check=False)

    # recorded in ops: the failing model (the first to materialize the raw values)
    # and everything downstream of it skipped
    invocation_id, command, status, exit_code, error, _, error_count, skipped = latest_build(sql)
    assert (command, status) == (f"build --select {SELECT}", "failed")
    assert exit_code != 0 and error_count == 1 and skipped >= 1
    nodes = dict(
        sql(
            "select unique_id, status from ops.dbt_node_results where invocation_id = %s",
            (invocation_id,),
        )
    )
    failed = [uid for uid, st in nodes.items() if st == "error"]
    assert len(failed) == 1 and failed[0].startswith("model.coeqwal.fct_series_values")
    (message,) = sql(
        "select message from ops.dbt_node_results where invocation_id = %s and unique_id = %s",
        (invocation_id, failed[0]),
    )[0]
    assert "invalid input syntax" in message and '"oops"' in message
    assert failed[0] in error
    manifest = json.loads((target_path() / "manifest.json").read_text())
    downstream, todo = set(), [failed[0]]
    while todo:
        for child in manifest["child_map"][todo.pop()]:
            if child not in downstream:
                downstream.add(child)
                todo.append(child)
    assert "model.coeqwal.dim_scenarios" in downstream
    # (a model's unit tests run before it, so they are not downstream of its failure)
    not_skipped = {
        u: nodes[u]
        for u in downstream
        if u in nodes and nodes[u] != "skipped" and not u.startswith("unit_test.")
    }
    assert not not_skipped, f"ran although upstream failed: {not_skipped}"
    # the CLI contract: non-zero, one line naming the failing model
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("coeqwal:")]
    assert lines and failed[0] in lines[-1], proc.stderr[-2000:]
    # the previous marts still serve, unchanged
    assert sql(serving) == marts_before
    assert (
        as_web_anon(
            test_db,
            "select scenario_id, series_count, value_count, loaded_at from api.scenarios order by 1",
        )
        == api_before
    )
    # and the API says so: the build failed, the data served is the previous build's
    row = as_web_anon(
        test_db,
        "select status, is_ok, message, data_as_of, last_run_at from api.pipeline_status "
        "where component = 'dbt_build'",
    )[0]
    assert row[0] == "failed" and row[1] is False and failed[0] in row[2]
    assert row[3] == status_before and row[4] > row[3]


def test_in_place_build_keeps_every_api_relation(short_series_build, sql):
    """A `--select` build replaces tables in place; dbt drops each old table with
    `cascade`, which takes the views reading it along. The in-place build also
    rebuilds the views downstream of its selection, so every endpoint is back."""
    assert short_series_build.returncode == 0, short_series_build.stderr
    from ingest.config import PROJECT_ROOT

    expected = {
        p.stem.removeprefix("api_") for p in (PROJECT_ROOT / "models" / "api").glob("*.sql")
    }
    present = {
        name
        for (name,) in sql(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'api' and c.relkind in ('v', 'r', 'm')"
        )
    }
    assert expected - present == set(), (
        f"api relations missing after the build: {expected - present}"
    )
    exists = sql("select to_regprocedure('api.exceedance(text, text, text)') is not null")
    assert exists == [(True,)]
