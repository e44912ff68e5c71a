"""`coeqwal bench --scenarios 1,10,25,...`: what the next build costs with N scenarios.

A benchmark, not a product path. It builds a warehouse of N full-size scenarios
cheaply: one generated file is ingested and built as BENCH_SCENARIO, then its raw
partition and its computed tables of schema `store` are cloned in SQL under ids
of a bench-only seed (`b0001`, ...), with the registry state the clone's load
would have left, so that the next build sees them as built. At each N it then
measures, through the CLI as a user would run it:

- a no-change `coeqwal build` (nothing loaded since the last build);
- an add-one build: a real ingest of the file under the next added id
  (`a0001`, ...), then `coeqwal build` (computes that scenario, runs its scoped
  tests, publishes). An added scenario is an alternative of BENCH_SCENARIO, as
  most of COEQWAL's scenarios are: its build compares it with its baseline
  (outcome comparisons, tiers) and tests its comparisons;
- dbt's ten slowest nodes of each;
- database bytes per scenario, by relation family;
- the API's latency (the pgbench mix of `coeqwal bench`) at that N.

Clones are baselines; the added scenarios are alternatives. The project runs
from a copy (under .coeqwal/bench/) whose scenarios seed has the bench ids
appended; the repository's seeds are not touched.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

from coeqwal_tools.bench.runner import BENCH_SCENARIO, _psql, _store_sizes, timed_child
from ingest import publish
from ingest.config import PROJECT_ROOT, STATE_DIR

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".coeqwal", "target*", "logs", "__pycache__", "*.log", ".pytest_cache"
)


ALONE_SECONDS = 3  # per request type and key draw, in the latency step of each N


def bench_id(n: int) -> str:
    """The n-th clone (a baseline)."""
    return f"b{n:04d}"


def added_id(n: int) -> str:
    """The n-th scenario an add-one build loads (an alternative of BENCH_SCENARIO)."""
    return f"a{n:04d}"


def project_copy(ids: int, dest: Path | None = None, alternatives: int = 0) -> Path:
    """The project under `dest` (.coeqwal/bench/project), its scenarios seed with `ids`
    bench scenarios (baselines, the hydroclimate and themes of BENCH_SCENARIO)
    and `alternatives` added scenarios (the same, with BENCH_SCENARIO as
    baseline) appended."""
    work = dest or STATE_DIR / "bench" / "project"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(PROJECT_ROOT, work, ignore=IGNORED, symlinks=True)
    (work / ".coeqwal").symlink_to(STATE_DIR.resolve())
    seed = work / "seeds" / "scenarios" / "scenarios.csv"
    with seed.open(newline="") as f:
        rows = list(csv.DictReader(f))
    source = next(r for r in rows if r["scenario_id"] == BENCH_SCENARIO)
    added = [
        (bench_id(n), f"Benchmark copy {n} of {BENCH_SCENARIO}", f"Bench {n}", "")
        for n in range(1, ids + 1)
    ] + [
        (added_id(n), f"Benchmark alternative {n}", f"Bench alt {n}", BENCH_SCENARIO)
        for n in range(1, alternatives + 1)
    ]
    with seed.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        for scenario_id, name, title, baseline in added:
            writer.writerow(
                {
                    **source,
                    "scenario_id": scenario_id,
                    "short_code": f"{scenario_id}_bench",
                    "name": name,
                    "short_title": title,
                    "description": f"Benchmark scenario: the data of {BENCH_SCENARIO}",
                    "baseline_scenario_id": baseline,
                }
            )
    links = work / "seeds" / "scenarios" / "theme_scenarios.csv"
    with links.open(newline="") as f:
        link_rows = list(csv.DictReader(f))
    own = [r for r in link_rows if r["scenario_id"] == BENCH_SCENARIO]
    with links.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(link_rows[0]))
        for scenario_id, *_ in added:
            for row in own:  # the themes of BENCH_SCENARIO, its primary one included
                writer.writerow({**row, "scenario_id": scenario_id})
    return work


def _select_as(cur, relation: str, scenario_id: str) -> str:
    """The columns of `relation` for a `select`, scenario_id replaced by a literal."""
    literal = cur.mogrify("%s", (scenario_id,)).decode()
    return ", ".join(
        f"{literal}::{t} as scenario_id" if c == "scenario_id" else f'"{c}"'
        for c, t in publish.columns(cur, relation)
    )


def _published_parts(cur, scenario_id: str) -> list[tuple]:
    """Registry rows of `scenario_id` whose table a published view reads, with that view."""
    cur.execute(
        """
        select distinct parts.relation_name, parts.model_name, parts.invocation_id,
            parts.loaded_at, parts.baseline_scenario_id, parts.baseline_loaded_at,
            parts.parameters_hashes, readers.reader::text
        from store.scenario_parts as parts
        join store.part_readers as readers using (relation_name)
        where parts.scenario_id = %s and readers.reader::text not like '%%\\_\\_next.%%'
        """,
        (scenario_id,),
    )
    return cur.fetchall()


def clone_scenarios(db, source: str, targets: list[str]) -> float:
    """Copy `source`'s raw partition, its load record and its store tables under
    each target id, and add the copies to the published views; returns seconds.

    The copies are vacuumed and analyzed before this returns: left to autovacuum,
    several workers would rewrite the copies' visibility maps and TOAST for
    minutes, on the same CPUs as the builds and API requests being measured
    (at N = 26 they halved the API's requests/s). A real load writes one
    scenario at a time."""
    from ingest import ops
    from ingest.dss import loads as dss_loads
    from ingest.dss.pipeline import _partition_name

    started = time.monotonic()
    conn = ops.connect(db)
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            parts = _published_parts(cur, source)
            src_raw = f"raw_dss.{_partition_name(source)}"
            raw_select = {t: _select_as(cur, src_raw, t) for t in targets}
            branches: dict[str, list[str]] = {}
            copies: list[str] = []
            for target in targets:
                part = f"raw_dss.{_partition_name(target)}"
                copies.append(part)
                cur.execute(
                    f"create table {part} (like {src_raw} including defaults including compression)"
                )
                cur.execute(f"insert into {part} select {raw_select[target]} from {src_raw}")
                cur.execute(
                    f"alter table raw_dss.dss_series attach partition {part} for values in (%s)",
                    (target,),
                )
                dss_loads.ensure(cur)
                dss_loads.record(cur, target, dss_loads.summary_of(cur, part))
                cur.execute(
                    "insert into ops.ingest_runs (kind, scenario_id, status, files, series_read, "
                    "series_skipped, values_loaded, null_values, seconds) "
                    "select kind, %s, status, files, series_read, series_skipped, values_loaded, "
                    "null_values, 0 from ops.ingest_runs where scenario_id = %s and kind = 'dss' "
                    "and status = 'succeeded' order by finished_at desc limit 1",
                    (target, source),
                )
                for relation, model, invocation, loaded, base, base_loaded, hashes, view in parts:
                    token = relation.rsplit("__", 1)[1]
                    name = f"{model}__{target}__{token}"
                    cur.execute(
                        f'create table store."{name}" (like store."{relation}" including all)'
                    )
                    cur.execute(
                        f'alter table store."{name}" drop constraint if exists'
                        " scenario_store_scenario, add constraint scenario_store_scenario"
                        " check (scenario_id is not null and scenario_id = %s)",
                        (target,),
                    )
                    # the planner's settings of its scenario_id (LIKE copies no column options)
                    cur.execute(
                        "select attoptions from pg_attribute where attrelid = %s::regclass"
                        " and attname = 'scenario_id' and attoptions is not null",
                        (f'store."{relation}"',),
                    )
                    for (options,) in cur.fetchall():
                        cur.execute(
                            f'alter table store."{name}" alter column scenario_id'
                            f" set ({', '.join(options)})"
                        )
                    select = _select_as(cur, f'store."{relation}"', target)
                    cur.execute(
                        f'insert into store."{name}" select {select} from store."{relation}"'
                    )
                    copies.append(f'store."{name}"')
                    cur.execute(
                        "insert into store.scenario_parts (relation_name, model_name, scenario_id, "
                        "invocation_id, loaded_at, baseline_scenario_id, baseline_loaded_at, "
                        "parameters_hashes) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (name, model, target, invocation, loaded, base, base_loaded, hashes),
                    )
                    literal = cur.mogrify("%s", (target,)).decode()
                    source_rows = f'store."{name}"'
                    if any(c == "packed_rows" for c, _ in publish.columns(cur, source_rows)):
                        # a packed table (macros/publish/packing.sql): the rows it holds
                        cur.execute("select store.unpacked_select(%s::regclass)", (source_rows,))
                        source_rows = f"({cur.fetchone()[0]}) as stored_rows"
                    branches.setdefault(view, []).append(
                        f"select {_select_as(cur, view, target)} "
                        f"from {source_rows} where scenario_id = {literal}"
                    )
            for view, selects in branches.items():
                cur.execute("select pg_get_viewdef(%s::regclass)", (view,))
                definition = cur.fetchone()[0].strip().rstrip(";")
                union = "\nunion all\n".join([definition, *selects])
                cur.execute(f"create or replace view {view} as {union}")
            publish.partition_views(cur, sorted({view.split(".")[0] for view in branches}))
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in copies:
                cur.execute(f"vacuum (analyze) {table}")
    except BaseException:
        if not conn.autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()
    return time.monotonic() - started


def _loaded_count(db) -> int:
    return int(
        _psql(db, "select count(*) from pg_partition_tree('raw_dss.dss_series') where isleaf")[0]
    )


def _cpu_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat: user ... steal), or [] where absent."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:9]]
    except OSError:
        return []


def _steal_share(before: list[int], after: list[int]) -> str:
    """The share of CPU time the hypervisor gave to other machines between two
    readings (a busy host makes every figure slower than this machine's own)."""
    if not before or not after:
        return "steal n/a"
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return f"steal {100 * spent[7] / max(sum(spent), 1):.0f} %"


def _settle(db, scenario_id: str) -> tuple[float, int]:
    """Vacuum and analyze the tables the scenario's build just wrote (its raw
    partition and its per-scenario tables), then checkpoint: the state the API
    serves once autovacuum has passed, which would otherwise run during the
    latency measurement. Returns (seconds, tables)."""
    import psycopg2

    started = time.monotonic()
    conn = psycopg2.connect(db.url())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select format('store.%%I', parts.relation_name) from store.scenario_parts as parts"
                " where parts.scenario_id = %s"
                " and parts.relation_name in (select relation_name from store.part_readers)"
                " union all"
                " select tree.relid::regclass::text"
                " from pg_partition_tree('raw_dss.dss_series') as tree"
                " inner join pg_class as cls on cls.oid = tree.relid"
                " where tree.isleaf and pg_get_expr(cls.relpartbound, cls.oid) like %s",
                (scenario_id, f"%'{scenario_id}'%"),
            )
            tables = [table for (table,) in cur.fetchall()]
            for table in tables:
                cur.execute(f"vacuum (analyze) {table}")
            # a role not allowed to checkpoint leaves it to the server's own schedule
            with contextlib.suppress(psycopg2.Error):
                cur.execute("checkpoint")
    finally:
        conn.close()
    return time.monotonic() - started, len(tables)


def _top_nodes(work: Path, top: int = 10) -> list[str]:
    path = work / os.environ.get("DBT_TARGET_PATH", "target") / "run_results.json"
    results = json.loads(path.read_text()).get("results", [])
    slow = sorted(results, key=lambda r: -r["execution_time"])[:top]
    return [f"{r['execution_time']:7.1f} s  {r['unique_id'].split('.', 1)[1]}" for r in slow]


def _bytes_by_family(db) -> list[tuple[str, int]]:
    rows = _psql(
        db,
        """
        select case
                when nsp.nspname = 'store'
                    then 'store.' || coalesce(parts.model_name, '(unregistered)')
                else nsp.nspname end,
            sum(pg_total_relation_size(cls.oid))
        from pg_class as cls
        join pg_namespace as nsp on nsp.oid = cls.relnamespace
        left join store.scenario_parts as parts
            on nsp.nspname = 'store' and parts.relation_name = cls.relname
        where cls.relkind in ('r', 'm') and nsp.nspname not in ('pg_catalog', 'information_schema')
        group by 1 order by 2 desc
        """,
    )
    return [(r.split("|")[0], int(r.split("|")[1])) for r in rows]


def run(db, env: dict[str, str], coeqwal: str, path: Path, steps: list[int], budget_s: float):
    """The scale benchmark; prints its report. Stops before a step that the time
    budget would not cover (estimated from the previous step) and reports what
    it reached."""
    from coeqwal_tools.bench import api as bench_api
    from ingest import ops

    steps = sorted(set(steps))
    run_start = time.monotonic()
    work = project_copy(max(steps), alternatives=len(steps))
    env = {**env, "COEQWAL_HOME": str(work), "PYTHONPATH": str(work)}
    load = os.getloadavg()
    print(
        f"scale benchmark on {db.database}: {path.name} under ids {BENCH_SCENARIO}, "
        f"{bench_id(1)}.. (clones) and {added_id(1)}.. (added, alternatives of "
        f"{BENCH_SCENARIO}); steps N = {', '.join(map(str, steps))}; budget {budget_s / 60:.0f} "
        f"min; {os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in load)}",
        flush=True,
    )

    def build(label: str) -> tuple[float, list[str]]:
        out: list[str] = []
        cpu = _cpu_times()
        seconds, _ = timed_child([coeqwal, "build"], env, lines=out)
        steal = _steal_share(cpu, _cpu_times())
        nodes = _top_nodes(work)
        print(f"{label}: coeqwal build {seconds:.1f} s ({steal}); slowest nodes:", flush=True)
        for line in nodes:
            print(f"    {line}")
        return seconds, nodes

    ingest = [coeqwal, "ingest", "dss", "--scenario"]
    seconds, _ = timed_child([*ingest, BENCH_SCENARIO, str(path)], env)
    print(f"ingest {BENCH_SCENARIO}: {seconds:.1f} s", flush=True)
    ops.ensure_ops_tables(db)
    build(f"first build ({BENCH_SCENARIO})")
    next_id = 1
    next_added = 1
    clone_rate = 60.0  # seconds per cloned scenario, until measured
    rows: list[dict] = []
    for n in steps:
        have = _loaded_count(db)
        if rows:
            spent = time.monotonic() - run_start
            last = rows[-1]
            builds = last["no_change"] + last["ingest"] + last["add_one"] + 30
            estimate = 1.2 * (builds + clone_rate * max(n - have, 0))
            if spent + estimate > budget_s:
                print(
                    f"\nstopped before N = {n}: {spent / 60:.0f} min spent, the step would take "
                    f"~{estimate / 60:.0f} min more (budget {budget_s / 60:.0f} min)"
                )
                break
        step_start = time.monotonic()
        if n > have:
            targets = [bench_id(i) for i in range(next_id, next_id + n - have)]
            next_id += len(targets)
            seconds = clone_scenarios(db, BENCH_SCENARIO, targets)
            clone_rate = seconds / len(targets)
            print(
                f"\nN = {n}: cloned (and vacuumed) {len(targets)} scenario(s) in {seconds:.0f} s",
                flush=True,
            )
        elif n < have:
            print(f"\nN = {n}: {have} scenarios already loaded; step measured at N = {have}")
            n = have
        no_change, no_change_nodes = build(f"N = {n}, no change")
        added = added_id(next_added)
        next_added += 1
        ingest_s, _ = timed_child([*ingest, added, str(path)], env)
        add_one, add_nodes = build(f"N = {n} -> {n + 1}, {added} added (ingest {ingest_s:.0f} s)")
        size = int(_psql(db, "select pg_database_size(current_database())")[0])
        families = _bytes_by_family(db)
        settle_s, settled = _settle(db, added)
        cpu = _cpu_times()
        api = bench_api.run(db, seconds=10, clients=2)
        api_steal = _steal_share(cpu, _cpu_times())
        cpu = _cpu_times()
        alone = {
            keys: bench_api.alone_percentiles(db, seconds=ALONE_SECONDS, one_key=keys == "one")
            for keys in ("one", "random")
        }
        alone_steal = _steal_share(cpu, _cpu_times())
        p95 = {}
        for line in api[2:]:
            if line.startswith("total:"):
                break
            name, _, _, value = line.rsplit(None, 3)
            p95[name.strip()] = float(value)
        rows.append(
            {
                "n": n,
                "no_change": no_change,
                "add_one": add_one,
                "ingest": ingest_s,
                "bytes": size,
                "scenarios": n + 1,
                "families": families,
                "p95": p95,
                "api": api,
                "alone": alone,
                "step_seconds": time.monotonic() - step_start,
                "nodes": (no_change_nodes, add_nodes),
            }
        )
        print(
            f"N = {n + 1} after the add: {size / 2**30:,.1f} GiB; {added}'s {settled} tables"
            f" vacuumed and analyzed, then a checkpoint, in {settle_s:.0f} s; API ({api_steal}):",
            flush=True,
        )
        for line in api[: 2 + len(p95) + 1]:
            print(f"    {line}")
        print(
            f"    each request type alone (1 client, {ALONE_SECONDS} s each; {alone_steal}), "
            "p50 / p95 ms, one key | random keys:"
        )
        for name, (_n, p50, p95_one) in alone["one"].items():
            _m, q50, q95 = alone["random"][name]
            print(f"    {p50:7.3f} {p95_one:7.3f} | {q50:7.3f} {q95:7.3f}  {name}")
    _report(rows, db, time.monotonic() - run_start, load)
    return 0


def _report(rows: list[dict], db, spent: float, load_start) -> None:
    print(f"\nscale benchmark: {db.database}, {spent / 60:.0f} min")
    if not rows:
        print("no step reached")
        return
    print("| N | no-change build s | add-one ingest s | add-one build s | bytes/scenario |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        per = r["bytes"] / r["scenarios"] / 2**20
        print(
            f"| {r['n']} | {r['no_change']:.1f} | {r['ingest']:.1f} | {r['add_one']:.1f} "
            f"| {per:,.0f} MiB |"
        )
    first, last = rows[0], rows[-1]
    if last["n"] > first["n"]:
        dn = last["n"] - first["n"]
        for key, label in (("no_change", "no-change build"), ("add_one", "add-one build")):
            slope = (last[key] - first[key]) / dn
            at_100 = last[key] + slope * (100 - last["n"])
            print(
                f"{label}: {slope:+.2f} s per scenario between N = {first['n']} and "
                f"{last['n']} (measured); extrapolated linearly to N = 100: {at_100:,.0f} s "
                "(an extrapolation, not a measurement)"
            )
    print("\nAPI p95 (ms) by request type, at each N (after the add):")
    names = list(first["p95"])
    print("| request | " + " | ".join(f"N={r['scenarios']}" for r in rows) + " | last / first |")
    print("|---|" + "---:|" * (len(rows) + 1))
    for name in names:
        values = [r["p95"].get(name, float("nan")) for r in rows]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {ratio:.2f} |")
    for keys, label in (
        ("one", "the same scenario and variable every time (rows in memory)"),
        ("random", "random scenarios and variables"),
    ):
        print(f"\nAPI p95 (ms), each request type alone (1 client, {ALONE_SECONDS} s), {label}:")
        print(
            "| request | " + " | ".join(f"N={r['scenarios']}" for r in rows) + " | last / first |"
        )
        print("|---|" + "---:|" * (len(rows) + 1))
        for name in first["alone"][keys]:
            values = [r["alone"][keys].get(name, (0, 0.0, float("nan")))[2] for r in rows]
            ratio = values[-1] / values[0] if values[0] else float("nan")
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {ratio:.2f} |")
    print(f"\nbytes at N = {last['scenarios']} by relation family (tables + TOAST + indexes):")
    print("| family | total | per scenario |")
    print("|---|---:|---:|")
    for family, size in last["families"][:16]:
        print(
            f"| {family} | {size / 2**20:,.1f} MiB | {size / last['scenarios'] / 2**20:,.1f} MiB |"
        )
    print("\nstore tables:")
    for line in _store_sizes(db, top=12):
        print(line)
    print(
        f"\nload average at start {', '.join(f'{x:.2f}' for x in load_start)}, at end "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs",
        file=sys.stdout,
    )
