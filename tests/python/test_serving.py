"""What a client sees while the warehouse is built: a reader loop (PostgREST's
request shape, as web_anon, every 50 ms, tests/python/api_reader.py) runs during
each event on a database of its own holding the three sample scenarios:

- a build with no data change, a build that fails a data test, builds killed with
  SIGKILL at several points, two builds started together: every request
  succeeds and every answer equals the one before;
- a scenario re-ingested during a build, then built: the load waits for the
  running build (which publishes the loads it started with), the next build
  publishes it, and every answer is either the old one or the new one, switching
  once.

Each test prints its requests / errors / max latency (`pytest -s`)."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from tests.python.api_reader import ReaderLoop
from tests.python.conftest import ROOT, coeqwal, fresh_database, plan_nodes, sql_runner

pytestmark = pytest.mark.db

EXE = str(Path(sys.executable).parent / "coeqwal")


@pytest.fixture(scope="module")
def served(test_db, sample_files):
    """(url, env, sql) of a database with the three sample scenarios built."""
    name = f"{test_db.database}_serving"
    url = fresh_database(test_db, name)
    env = {"COEQWAL_DATABASE": name}
    for scenario_id, path in sample_files.items():
        coeqwal("ingest", "dss", "--scenario", scenario_id, str(path), env=env)
    coeqwal("build", env=env)
    return url, env, sql_runner(url.url())


class Run(subprocess.Popen):
    """A CLI run writing to files (pipes would fill up and stall a build nobody
    reads yet); finish() waits and keeps its output."""

    def finish(self, timeout: float = 900) -> Run:
        self.wait(timeout=timeout)
        self.out, self.err = (Path(f.name).read_text() for f in self.files)
        for f in self.files:
            f.close()
        return self


def _start(*args: str, env: dict, home: Path | None = None) -> Run:
    extra = {"COEQWAL_HOME": str(home)} if home else {}
    files = [tempfile.NamedTemporaryFile("w+", suffix=".log") for _ in range(2)]  # noqa: SIM115
    run = Run(
        [EXE, *args],
        stdout=files[0],
        stderr=files[1],
        text=True,
        env={**os.environ, **env, **extra},
        cwd=home or ROOT,
    )
    run.files = files
    return run


def _read_during(url, event) -> tuple[ReaderLoop, dict[str, str]]:
    loop = ReaderLoop(url.url())
    before = loop.baseline()
    loop.start()
    try:
        time.sleep(1)
        event()
        time.sleep(1)
    finally:
        loop.stop()
    print(f"\n{event.__doc__ or event.__name__}: {loop.summary()}")
    return loop, before


def _assert_nothing_changed(loop: ReaderLoop, before: dict[str, str]) -> None:
    assert len(loop.answers) > 40, loop.summary()
    assert loop.failures() == [], loop.summary()
    assert {a.name for a in loop.answers} == set(before), loop.summary()
    assert loop.changed(before) == [], loop.summary()
    assert loop.baseline() == before


def _leftovers(sql) -> list:
    """Shadow schemas, and store tables that no view reads, left after a build."""
    schemas = sql(
        "select nspname from pg_namespace where nspname like '%%\\_\\_next' or nspname like '%%\\_\\_old'"
    )
    orphans = sql(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'store' and c.relkind = 'r' and c.relname <> 'scenario_parts'"
        " and c.relname not in (select relation_name from store.part_readers)"
    )
    return schemas + orphans


def test_a_no_change_build_keeps_every_answer(served):
    url, env, sql = served

    def no_change_build():
        """no-change build"""
        proc = coeqwal("build", env=env)
        assert "published:" in proc.stdout, proc.stdout[-2000:]

    loop, before = _read_during(url, no_change_build)
    _assert_nothing_changed(loop, before)
    assert _leftovers(sql) == []


def test_a_build_failing_a_data_test_publishes_nothing(served, tmp_path):
    """A copy of the project with one more data test, which every sample build
    fails: it runs after the api views are built in the shadow schemas."""
    url, env, sql = served
    home = tmp_path / "project"
    for part in ("models", "macros", "seeds", "tests", "analyses"):
        shutil.copytree(ROOT / part, home / part, ignore=shutil.ignore_patterns("python"))
    for part in ("dbt_project.yml", "profiles.example.yml"):
        shutil.copy(ROOT / part, home / part)
    (home / "tests" / "dbt" / "assert_no_tier_is_rated.sql").write_text(
        "select * from {{ ref('api_tiers') }} where tier_level is not null\n"
    )
    published = sql("select count(*) from ops.publishes")[0][0]
    proc = None

    def failing_build():
        """build failing a data test"""
        nonlocal proc
        proc = _start("build", env={**env, "COEQWAL_DATABASE_URL": url.url()}, home=home).finish()

    loop, before = _read_during(url, failing_build)
    assert proc.returncode == 1, proc.out[-2000:]
    errors = proc.err.strip().splitlines()
    assert len(errors) == 1 and "assert_no_tier_is_rated" in errors[0], proc.err
    assert "nothing published" in errors[0], errors
    _assert_nothing_changed(loop, before)
    assert sql("select count(*) from ops.publishes")[0][0] == published
    assert _leftovers(sql) == []


def test_killed_builds_change_nothing(served):
    """SIGKILL of `coeqwal build` (its dbt dies with it) while seeds, models or
    tests are running, three times; then the next build succeeds and cleans up."""
    url, env, sql = served
    published = sql("select count(*) from ops.publishes")[0][0]
    for after_seconds in (4, 14, 26):
        proc = None

        def killed_build():
            """build killed with SIGKILL"""
            nonlocal proc
            proc = _start("build", env=env)
            time.sleep(after_seconds)  # noqa: B023 - called within this iteration
            proc.send_signal(signal.SIGKILL)
            proc.finish(timeout=60)

        loop, before = _read_during(url, killed_build)
        print(f"(killed after {after_seconds} s)")
        assert proc.returncode == -signal.SIGKILL
        _assert_nothing_changed(loop, before)
        assert sql("select count(*) from ops.publishes")[0][0] == published
        # dbt did not outlive it: no session of the killed build is left.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _build_sessions(sql):
            time.sleep(0.5)
        assert _build_sessions(sql) == 0
    proc = coeqwal("build", env=env)
    assert "published:" in proc.stdout
    assert _leftovers(sql) == []
    assert loop.baseline() == before


def _build_sessions(sql) -> int:
    return sql(
        "select count(*) from pg_stat_activity where datname = current_database()"
        " and (application_name = 'dbt' or application_name like 'coeqwal build%%')"
    )[0][0]


def test_two_builds_started_together_both_publish_in_turn(served):
    url, env, sql = served
    published = sql("select count(*) from ops.publishes")[0][0]
    procs = []

    def two_builds():
        """two builds started together"""
        procs.extend([_start("build", env=env), _start("build", env=env)])
        for proc in procs:
            proc.finish()

    loop, before = _read_during(url, two_builds)
    assert [p.returncode for p in procs] == [0, 0], [p.err for p in procs]
    assert any("waiting for another build" in p.out + p.err for p in procs)
    _assert_nothing_changed(loop, before)
    assert sql("select count(*) from ops.publishes")[0][0] == published + 2
    assert _leftovers(sql) == []


def test_a_changed_scenario_is_published_whole_by_the_next_build(served, sample_files):
    """s0044 re-ingested (with s0029's file) while a build runs: the load waits
    for that build, which publishes the loads it started with; the next build
    publishes the new s0044. Every answer is the old or the new one, and each
    request switches once."""
    url, env, sql = served
    run_before = sql(
        "select max(run_id) from ops.ingest_runs where scenario_id = 's0044' and status = 'succeeded'"
    )[0][0]
    outputs = {}

    def ingest_and_build():
        """ingest during a build, then a build"""
        first = _start("build", env=env)
        time.sleep(3)
        ingest = _start("ingest", "dss", "--scenario", "s0044", str(sample_files["s0029"]), env=env)
        outputs["ingest"] = ingest.finish().out
        outputs["first"] = first.finish().out
        assert (first.returncode, ingest.returncode) == (0, 0), outputs
        outputs["second"] = coeqwal("build", env=env).stdout

    loop = ReaderLoop(url.url())
    before = loop.baseline()
    loop.start()
    try:
        time.sleep(1)
        ingest_and_build()
        time.sleep(1)
    finally:
        loop.stop()
    print(f"\ningest during a build, then a build: {loop.summary()}")
    after = loop.baseline()

    assert "waiting for the running build" in outputs["ingest"], outputs["ingest"]
    loads = sql(
        "select scenario_loads ->> 's0044' from ops.publishes order by publish_id desc limit 2"
    )
    run_after = sql(
        "select max(run_id) from ops.ingest_runs where scenario_id = 's0044' and status = 'succeeded'"
    )[0][0]
    assert run_after != run_before
    assert loads[0][0].startswith(f"run {run_after} ") and loads[1][0].startswith(
        f"run {run_before} "
    )

    # The new data is served: s0044's annual values are now those of s0029's file,
    # and its tiers follow.
    assert after["annual_values"] != before["annual_values"]
    assert after["tiers"] != before["tiers"]
    same = sql(
        "select count(*) from (select variable_key, water_year, total_taf from marts.fct_annual_values"
        " where scenario_id = 's0044' except select variable_key, water_year, total_taf"
        " from marts.fct_annual_values where scenario_id = 's0029') as differing"
    )
    assert same == [(0,)]

    assert loop.failures() == [], loop.summary()
    for name in before:
        digests = [a.digest for a in loop.answers if a.name == name]
        assert set(digests) <= {before[name], after[name]}, name
        switches = sum(1 for x, y in itertools.pairwise(digests) if x != y)
        assert switches <= 1, (name, switches)
    assert _leftovers(sql) == []


def test_published_marts_read_one_partition_per_scenario(served):
    """After a publish every per-scenario mart is a view of one partitioned table
    whose partitions are the scenarios' own tables, so a one-scenario request is
    planned against that scenario's table only, whatever the number of scenarios."""
    sql = served[2]
    models = {m for (m,) in sql("select model_name from store.scenario_parts")}
    read = sql(
        "select view.relname, count(distinct part.oid), count(distinct parts.scenario_id),"
        " array_agg(distinct parts.relation_name)"
        " from pg_class as view"
        " join pg_rewrite as rule on rule.ev_class = view.oid"
        " join pg_depend as dep on dep.objid = rule.oid and dep.classid = 'pg_rewrite'::regclass"
        " join pg_class as parent on parent.oid = dep.refobjid and parent.relkind = 'p'"
        " join pg_inherits as inh on inh.inhparent = parent.oid"
        " join pg_class as part on part.oid = inh.inhrelid"
        " join store.scenario_parts as parts on parts.relation_name = part.relname"
        " where view.relnamespace = 'marts'::regnamespace"
        " group by view.relname"
    )
    by_view = {row[0]: row for row in read}
    assert models == set(by_view), read
    assert all(tables == scenarios for _, tables, scenarios, _ in read), read
    assert by_view["fct_series_statistics_compact"][2] == 3, read

    parts = sql(
        "select scenario_id, relation_name from store.scenario_parts"
        " where model_name = 'fct_series_statistics_compact'"
        " and relation_name in (select relation_name from store.part_readers)"
    )
    for scenario_id, table in parts:
        ((plan,),) = sql(
            "explain (format json, verbose) select * from api.statistics"
            " where scenario_id = %s and variable_key = 'S_SHSTA/STORAGE' and period = 'all'",
            (scenario_id,),
        )
        scanned = [
            node["Relation Name"]
            for node in plan_nodes(plan[0]["Plan"])
            if node.get("Schema") == "store"
        ]
        assert scanned == [table], plan


def web_anon_session(url, sql):
    """A connection set up as PostgREST's: web_anon's own settings, then its role."""
    settings = sql(
        "select cfg from pg_db_role_setting s join pg_roles r on r.oid = s.setrole,"
        " unnest(s.setconfig) cfg where r.rolname = 'web_anon'"
    )
    assert ("plan_cache_mode=force_generic_plan",) in settings
    conn = psycopg2.connect(url.url())
    with conn.cursor() as cur:
        for (cfg,) in settings:
            name, value = cfg.split("=", 1)
            cur.execute("select set_config(%s, %s, false)", (name, value))
        cur.execute("set role web_anon")
    return conn


def executed_reads(cur, statement, args):
    """The store tables an executed plan read (ran at least once) and the
    subplans its appends removed when it started."""
    cur.execute(f"explain (analyze, verbose, format json) {statement}", args)
    plan = cur.fetchone()[0][0]
    nodes = list(plan_nodes(plan["Plan"]))
    read = [
        node["Relation Name"]
        for node in nodes
        if node.get("Schema") == "store" and node.get("Actual Loops", 0) > 0
    ]
    removed = [node["Subplans Removed"] for node in nodes if "Subplans Removed" in node]
    return read, removed, plan


def test_api_requests_reuse_a_generic_plan_pruned_to_the_scenario(served):
    """A request as PostgREST sends it (web_anon's own settings, a prepared
    statement with the scenario as a parameter) reuses one generic plan, which
    reads the requested scenario's table only: the others are pruned when it starts."""
    url, _env, sql = served
    scenarios = [s for (s,) in sql("select scenario_id from api.scenarios where is_loaded")]
    conn = web_anon_session(url, sql)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "prepare request(text) as select * from api.statistics"
                " where scenario_id = $1 and variable_key = 'S_SHSTA/STORAGE' and period = 'all'"
            )
            for scenario_id in scenarios:
                read, removed, plan = executed_reads(cur, "execute request(%s)", (scenario_id,))
                # only a generic plan prunes when it starts (a custom plan when planned)
                assert len(scenarios) - 1 in removed, plan
                assert len(read) == 1 and f"__{scenario_id}__" in read[0], plan
    finally:
        conn.close()


def store_tables_in_plan(plan) -> list[str]:
    """Every store table a plan holds, run or not (a pruned subplan is not held)."""
    return [
        node["Relation Name"] for node in plan_nodes(plan["Plan"]) if node.get("Schema") == "store"
    ]


def statistics_tables_read(cur, statement: str, args) -> set[str]:
    """The scenarios whose fct_series_statistics_compact table `statement` read,
    reads inside functions included: the session's own table statistics
    (pg_stat_xact_user_tables) before and after it, since they also hold
    counts of earlier transactions not yet reported."""
    counts = (
        "select relname, seq_scan + coalesce(idx_scan, 0) from pg_stat_xact_user_tables"
        " where schemaname = 'store'"
        " and relname like 'fct\\_series\\_statistics\\_compact\\_\\_%'"
    )
    cur.execute(counts)
    before = dict(cur.fetchall())
    cur.execute(statement, args)
    assert cur.rowcount > 0
    cur.execute(counts)
    after = dict(cur.fetchall())
    return {name.split("__")[1] for name, n in after.items() if n > before.get(name, 0)}


def test_comparison_requests_read_the_scenario_and_its_baseline_only(served):
    """A /comparisons request reads two statistics tables, the scenario's and its
    baseline's, whatever the number of scenarios, and its plan holds the
    scenario's table only: the baseline is looked up by
    marts.series_statistics_of, whose own generic plan is pruned to the
    baseline's table when it starts. The marts' comparison views look the
    baseline up in the view: they read the same two tables, but their plan holds
    every scenario's table (pruned as it runs), so their cost per request grows
    with the number of scenarios."""
    url, _env, sql = served
    baselines = dict(
        sql("select scenario_id, baseline_scenario_id from api.scenarios where is_loaded")
    )
    alternatives = {a: b for a, b in baselines.items() if b is not None and b != a}
    assert alternatives and len(baselines) >= 3, baselines
    statement = "select * from {} where scenario_id = $1 and variable_key = 'S_SHSTA/STORAGE'"
    conn = web_anon_session(url, sql)
    try:
        with conn.cursor() as cur:
            cur.execute(f"prepare request(text) as {statement.format('api.comparisons')}")
            for _ in range(7):  # past the function's first calls, on its cached generic plan
                for scenario_id, baseline_id in alternatives.items():
                    _read, _removed, plan = executed_reads(
                        cur, "execute request(%s)", (scenario_id,)
                    )
                    conn.rollback()
                    held = store_tables_in_plan(plan)
                    assert {name.split("__")[1] for name in held} == {scenario_id}, plan
                    read = statistics_tables_read(cur, "execute request(%s)", (scenario_id,))
                    assert read == {scenario_id, baseline_id}
                    conn.rollback()
    finally:
        conn.close()
    conn = psycopg2.connect(url.url())
    try:
        with conn.cursor() as cur:
            cur.execute("set plan_cache_mode = force_generic_plan")
            cur.execute(
                "prepare request(text) as "
                + statement.format("marts.fct_year_type_comparisons_compact")
            )
            for scenario_id, baseline_id in alternatives.items():
                read, _removed, plan = executed_reads(cur, "execute request(%s)", (scenario_id,))
                assert {name.split("__")[1] for name in read} == {scenario_id, baseline_id}, plan
                assert len(store_tables_in_plan(plan)) > len(baselines), plan
    finally:
        conn.close()


def test_the_api_comparisons_are_the_marts_comparisons(served):
    """api.comparisons (the baseline looked up by marts.series_statistics_of) holds
    exactly the rows of marts.fct_series_comparisons (looked up in the view),
    bit for bit; series_statistics_of reads fct_series_statistics_compact only."""
    _url, _env, sql = served
    columns = (
        "scenario_id, variable_key, period, statistic_code, baseline_scenario_id, value_unit,"
        " value, baseline_value, difference, percent_difference"
    )
    [(api_rows, marts_rows, only_api, only_marts)] = sql(
        f"""
        with api_rows as (select {columns} from api.comparisons),
        marts_rows as (select {columns} from marts.fct_series_comparisons)
        select
            (select count(*) from api_rows),
            (select count(*) from marts_rows),
            (select count(*) from (select * from api_rows except all select * from marts_rows) a),
            (select count(*) from (select * from marts_rows except all select * from api_rows) m)
        """
    )
    assert api_rows > 0 and api_rows == marts_rows
    assert (only_api, only_marts) == (0, 0)
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="reads fct_series_statistics"):
        sql(
            "select * from marts.series_statistics_of("
            "'marts.fct_year_type_statistics_compact'::regclass, 's0020', 'S_SHSTA/STORAGE')"
        )


def test_timeseries_function_reads_the_requested_scenarios_only(served):
    """/rpc/scenario_timeseries looks each requested scenario up on its own, so
    its generic plan reads the requested scenarios' tables only, whatever the
    number of scenarios (`scenario_id = any(<array parameter>)` is not pruned by
    PostgreSQL: it read every scenario's table). Counted by the transaction's own
    table statistics (pg_stat_xact_user_tables), rows in the order requested, a
    repeated id once."""
    url, _env, sql = served
    scenarios = sorted(s for (s,) in sql("select scenario_id from api.scenarios where is_loaded"))
    assert len(scenarios) >= 3, scenarios
    requested = [scenarios[-1], scenarios[0], scenarios[-1]]
    conn = web_anon_session(url, sql)
    try:
        with conn.cursor() as cur:
            for _ in range(7):  # past the first calls, on the function's cached generic plan
                cur.execute(
                    "select scenario_id, month_count from api.scenario_timeseries(%s, %s)",
                    ("S_SHSTA/STORAGE", requested),
                )
                rows = cur.fetchall()
                cur.execute(
                    "select relname from pg_stat_xact_user_tables where schemaname = 'store'"
                    " and relname like 'fct\\_series\\_values\\_compact\\_\\_%%'"
                    " and seq_scan + coalesce(idx_scan, 0) > 0"
                )
                read = sorted(name.split("__")[1] for (name,) in cur.fetchall())
                conn.rollback()
                assert [r[0] for r in rows] == [scenarios[-1], scenarios[0]]
                assert all(count > 0 for _, count in rows), rows
                assert read == sorted([scenarios[0], scenarios[-1]]), read
    finally:
        conn.close()
