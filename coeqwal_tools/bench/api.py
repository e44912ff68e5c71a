"""Latency benchmark of the REST API (schema `api`), for `coeqwal bench`.

PostgREST cannot run on these machines, so the benchmark drives the database
with exactly what PostgREST sends for each typical request: one pgbench script
per request type, each a transaction of the request settings (search path, the
anonymous role's own settings such as its statement timeout and plan cache mode,
`set_config('role', 'web_anon', true)`,
request.method/path/headers), the statement PostgREST generates (`WITH
pgrst_source AS (...) SELECT ... json_agg(_postgrest_t) ...`, with `-M prepared`
like PostgREST's prepared statements) and ROLLBACK (db-tx-end = rollback).
Request parameters (scenario, variable) are drawn at random per transaction from
what is loaded. 8 clients for 30 s on 2 threads; `--log` records every
transaction's latency, from which p50/p95 per request type and the total
requests/s are computed. HTTP and JSON transfer in PostgREST are not included.

`EXPLAIN` of the time series and statistics requests shows which indexes they
use: the plan as chosen, and with sequential scans disabled to show the index
is usable (on the sample data the tables are small enough that a sequential
scan can be the cheaper plan).

`run(db)` returns the report lines; `python -m coeqwal_tools.bench.api` prints them for
the active database.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.config import DatabaseUrl

PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")
CLIENTS = 8
THREADS = 2
SECONDS = 30
TARGET_P95_MS = 50.0
TARGET_RPS = 500.0
BODY = "coalesce(json_agg(_postgrest_t), '[]')"
GEOJSON_BODY = (
    "json_build_object('type', 'FeatureCollection', 'features', "
    "coalesce(json_agg(ST_AsGeoJSON(_postgrest_t)::json), '[]'))"
)


@dataclass(frozen=True)
class Request:
    name: str  # the HTTP request, for the report
    path: str  # request.path
    source: str  # the SELECT inside pgrst_source (placeholders :scenario etc., see Draws)
    body: str = BODY


def _read(source: str, body: str = BODY) -> str:
    return (
        f"WITH pgrst_source AS ( {source} ) SELECT null::bigint AS total_result_set, "
        f"pg_catalog.count(_postgrest_t) AS page_total, {body} AS body, "
        "nullif(current_setting('response.headers', true), '') AS response_headers, "
        "nullif(current_setting('response.status', true), '') AS response_status "
        "FROM ( SELECT * FROM pgrst_source ) _postgrest_t"
    )


def _rpc(function: str, args: dict[str, str], extra: str = "") -> str:
    """The statement of `GET /rpc/<function>?...`: arguments through json_to_record."""
    payload = "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in args.items()) + ")"
    names = ", ".join(f'"{k}"' for k in args)
    typed = ", ".join(f'"{k}" {"text[]" if k == "scenario_ids" else "text"}' for k in args)
    call = ", ".join(f'"{k}" := pgrst_body."{k}"' for k in args)
    return (
        f"SELECT pgrst_call.* FROM (SELECT {payload} AS json_data) pgrst_payload, "
        f"LATERAL (SELECT {names} FROM json_to_record(pgrst_payload.json_data) "
        f'AS _({typed}) LIMIT 1) pgrst_body , LATERAL "api"."{function}"({call}) pgrst_call'
        f"{extra}"
    )


def requests(max_rows: int = 10000) -> list[Request]:
    """The typical client requests and the SQL PostgREST sends for them."""
    page = f"LIMIT {max_rows} OFFSET 0"
    s, v, t, a = ":scenario", ":variable", ":other", ":alternative"
    return [
        Request(
            "GET /scenarios?is_loaded=is.true&order=scenario_id",
            "/scenarios",
            'SELECT "api"."scenarios".* FROM "api"."scenarios" '
            'WHERE "api"."scenarios"."is_loaded" IS TRUE '
            f'ORDER BY "api"."scenarios"."scenario_id" {page}',
        ),
        Request(
            # One scenario's page on the site: a fixed-size answer at any N,
            # where the list above grows with the scenarios loaded.
            "GET /scenarios?scenario_id=eq.S",
            "/scenarios",
            'SELECT "api"."scenarios".* FROM "api"."scenarios" '
            f'WHERE "api"."scenarios"."scenario_id" = {s} {page}',
        ),
        Request(
            "GET /themes?order=display_order",
            "/themes",
            'SELECT "api"."themes".* FROM "api"."themes" '
            f'ORDER BY "api"."themes"."display_order" {page}',
        ),
        Request(
            "GET /variables?kind=eq.storage&entity_type=eq.reservoir",
            "/variables",
            'SELECT "api"."variables".* FROM "api"."variables" '
            'WHERE "api"."variables"."kind" = \'storage\' '
            f'AND "api"."variables"."entity_type" = \'reservoir\' {page}',
        ),
        Request(
            "GET /statistics?scenario_id=eq.S&variable_key=eq.V&period=eq.all",
            "/statistics",
            'SELECT "api"."statistics".* FROM "api"."statistics" '
            f'WHERE "api"."statistics"."scenario_id" = {s} '
            f'AND "api"."statistics"."variable_key" = {v} '
            f'AND "api"."statistics"."period" = \'all\' {page}',
        ),
        Request(
            "GET /comparisons?scenario_id=eq.A&variable_key=eq.V",
            "/comparisons",
            'SELECT "api"."comparisons".* FROM "api"."comparisons" '
            f'WHERE "api"."comparisons"."scenario_id" = {a} '
            f'AND "api"."comparisons"."variable_key" = {v} {page}',
        ),
        Request(
            "GET /rpc/compare_scenarios?scenario_a=S&scenario_b=T&variable_key=V",
            "/rpc/compare_scenarios",
            _rpc("compare_scenarios", {"scenario_a": s, "scenario_b": t, "variable_key": v}),
        ),
        Request(
            "GET /rpc/exceedance?scenario_id=S&variable_key=V&period=all",
            "/rpc/exceedance",
            _rpc("exceedance", {"scenario_id": s, "variable_key": v, "period": "'all'"}),
        ),
        Request(
            "GET /rpc/scenario_timeseries?variable_key=V&scenario_ids={S,T}",
            "/rpc/scenario_timeseries",
            _rpc(
                "scenario_timeseries",
                {"variable_key": v, "scenario_ids": f"'{{' || {s} || ',' || {t} || '}}'"},
            ),
        ),
        Request(
            "GET /timeseries?variable_key=eq.V&scenario_id=eq.S&select=month_date,value"
            "&order=month_date",
            "/timeseries",
            'SELECT "api"."timeseries"."month_date", "api"."timeseries"."value" '
            'FROM "api"."timeseries" '
            f'WHERE "api"."timeseries"."variable_key" = {v} '
            f'AND "api"."timeseries"."scenario_id" = {s} '
            f'ORDER BY "api"."timeseries"."month_date" {page}',
        ),
        Request(
            "GET /annual_values?scenario_id=eq.S&variable_key=eq.V&order=water_year",
            "/annual_values",
            'SELECT "api"."annual_values".* FROM "api"."annual_values" '
            f'WHERE "api"."annual_values"."scenario_id" = {s} '
            f'AND "api"."annual_values"."variable_key" = {v} '
            f'ORDER BY "api"."annual_values"."water_year" {page}',
        ),
        Request(
            "GET /tiers?scenario_id=eq.S",
            "/tiers",
            f'SELECT "api"."tiers".* FROM "api"."tiers" WHERE "api"."tiers"."scenario_id" = {s} '
            f"{page}",
        ),
        Request(
            "GET /reservoirs (Accept: application/geo+json)",
            "/reservoirs",
            f'SELECT "api"."reservoirs".* FROM "api"."reservoirs" {page}',
            GEOJSON_BODY,
        ),
    ]


def _connect(db: DatabaseUrl):
    import psycopg2

    return psycopg2.connect(db.url())


@dataclass(frozen=True)
class Draws:
    """What a request's parameters are drawn from, uniformly per transaction:
    :scenario and :other from the loaded scenarios (pgbench variables s, t),
    :alternative from the loaded scenarios whose baseline is loaded too (a, the
    scenarios /comparisons has rows for), :variable from the variable keys
    present in every loaded scenario (v)."""

    scenarios: list[str]
    alternatives: list[str]
    variables: list[str]


def _loaded(db: DatabaseUrl) -> tuple[Draws, list[tuple[str, str]]]:
    """What is loaded (the draws) and web_anon's own settings (ALTER ROLE ... SET),
    which PostgREST applies in every request's transaction."""
    conn = _connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("select scenario_id from api.scenarios where is_loaded order by 1")
            scenarios = [r[0] for r in cur.fetchall()]
            cur.execute(
                "select s.scenario_id from api.scenarios s join api.scenarios b "
                "on b.scenario_id = s.baseline_scenario_id and b.scenario_id <> s.scenario_id "
                "where s.is_loaded and b.is_loaded order by 1"
            )
            alternatives = [r[0] for r in cur.fetchall()] or scenarios
            cur.execute(
                "select variable_key from api.variables where scenario_count = %s order by 1",
                (len(scenarios),),
            )
            variables = [r[0] for r in cur.fetchall()]
            cur.execute(
                "select coalesce(array_agg(cfg order by cfg), '{}') from pg_db_role_setting s "
                "join pg_roles r on r.oid = s.setrole, unnest(s.setconfig) cfg "
                "where r.rolname = 'web_anon'"
            )
            settings = [tuple(cfg.split("=", 1)) for cfg in cur.fetchone()[0]]
        return Draws(scenarios, alternatives, variables), settings
    finally:
        conn.close()


def _literal_array(values: list[str]) -> str:
    return "(array[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "])"


def statement(request: Request, draws: Draws) -> str:
    """The request's statement, its placeholders drawn from `draws` by the
    pgbench variables :s, :t, :a and :v (1-based indexes)."""
    return (
        _read(request.source, request.body)
        .replace(":scenario", f"{_literal_array(draws.scenarios)}[:s]")
        .replace(":other", f"{_literal_array(draws.scenarios)}[:t]")
        .replace(":alternative", f"{_literal_array(draws.alternatives)}[:a]")
        .replace(":variable", f"{_literal_array(draws.variables)}[:v]")
    )


def script(request: Request, draws: Draws, role_settings: list[tuple[str, str]]) -> str:
    """The pgbench script of one request: settings, the statement, rollback."""
    n_s, n_a, n_v = len(draws.scenarios), len(draws.alternatives), len(draws.variables)
    settings = (
        "select set_config('search_path', '\"api\", \"public\"', true), "
        + "".join(f"set_config('{name}', '{value}', true), " for name, value in role_settings)
        + "set_config('role', 'web_anon', true), "
        "set_config('request.method', 'GET', true), "
        f"set_config('request.path', '{request.path}', true), "
        "set_config('request.headers', '{\"accept\": \"application/json\"}', true);"
    )
    return "\n".join(
        [
            f"\\set s random(1, {n_s})",
            f"\\set t random(1, {n_s})",
            f"\\set a random(1, {n_a})",
            f"\\set v random(1, {n_v})",
            "begin;",
            settings,
            statement(request, draws) + ";",
            "rollback;",
            "",
        ]
    )


def _pgbench_env(db: DatabaseUrl) -> dict[str, str]:
    return {
        **os.environ,
        "PGHOST": db.host,
        "PGPORT": str(db.port),
        "PGUSER": db.user,
        "PGPASSWORD": db.password,
        "PGDATABASE": db.database,
    }


def _latencies(log_dir: Path, prefix: str) -> dict[int, list[float]]:
    """Per-script transaction latencies (ms) from pgbench's --log files."""
    by_script: dict[int, list[float]] = {}
    for path in log_dir.glob(prefix + ".*"):
        for line in path.read_text().splitlines():
            # client_id transaction_no time script_no time_epoch time_us
            fields = line.split()
            if len(fields) >= 6 and fields[2].isdigit():
                by_script.setdefault(int(fields[3]), []).append(int(fields[2]) / 1000.0)
    return by_script


def explain_lines(db: DatabaseUrl) -> list[str]:
    """EXPLAIN of the time series and statistics requests, as web_anon."""
    draws, _ = _loaded(db)
    scenarios, variables = draws.scenarios, draws.variables
    variable = "S_SHSTA/STORAGE" if "S_SHSTA/STORAGE" in variables else variables[0]
    pair = "{" + ",".join(scenarios[:2]) + "}"
    queries = [
        (
            "/timeseries view",
            "select * from api.timeseries where variable_key = %s and scenario_id = %s "
            "order by month_date",
            (variable, scenarios[0]),
        ),
        (
            "/rpc/scenario_timeseries body (the series rows it reads)",
            "select scenario_id, month_count from marts.fct_series_values "
            "where variable_key = %s and scenario_id = any(%s::text[])",
            (variable, pair),
        ),
        (
            "/statistics",
            "select * from api.statistics where scenario_id = %s and variable_key = %s "
            "and period = 'all'",
            (scenarios[0], variable),
        ),
        (
            "/variables",
            "select * from api.variables where kind = %s and entity_type = %s",
            ("storage", "reservoir"),
        ),
    ]
    lines = []
    conn = _connect(db)
    try:
        with conn.cursor() as cur:
            for label, query, params in queries:
                for seqscan in ("on", "off"):
                    cur.execute(f"set local enable_seqscan = {seqscan}")
                    if label.startswith("/rpc"):
                        cur.execute("reset role")  # the function reads marts as its owner
                    else:
                        cur.execute("set local role web_anon")
                    cur.execute("explain " + query, params)
                    plan = [r[0] for r in cur.fetchall()]
                    scans = [p.strip() for p in plan if re.search(r"Scan|Index Cond", p)]
                    lines.append(f"EXPLAIN {label} (enable_seqscan={seqscan}):")
                    lines.extend("    " + s for s in scans)
                    conn.rollback()
    finally:
        conn.close()
    return lines


def run(db: DatabaseUrl, seconds: int = SECONDS, clients: int = CLIENTS) -> list[str]:
    """Run the request mix with pgbench on `db` and return the report lines."""
    draws, role_settings = _loaded(db)
    scenarios, variables = draws.scenarios, draws.variables
    if not scenarios or not variables:
        raise RuntimeError("bench_api: no loaded scenarios (ingest and build first)")
    mix = requests()
    with tempfile.TemporaryDirectory(prefix="bench_api_") as tmp:
        work = Path(tmp)
        args = [str(PGBENCH), "-n", "-M", "prepared", "-c", str(clients), "-j", str(THREADS)]
        args += ["-T", str(seconds), "--log", f"--log-prefix={work}/tx"]
        for i, request in enumerate(mix):
            path = work / f"request_{i:02d}.sql"
            path.write_text(script(request, draws, role_settings))
            args += ["-f", f"{path}@1"]
        proc = subprocess.run(args, capture_output=True, text=True, env=_pgbench_env(db), cwd=work)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            raise RuntimeError(f"bench_api: pgbench failed: {' '.join(tail)}")
        latencies = _latencies(work, "tx")
    total = sum(len(v) for v in latencies.values())
    rps = total / seconds
    width = max(len(r.name) for r in mix)
    lines = [
        f"API latency (pgbench, {clients} clients, {THREADS} threads, {seconds} s, -M prepared, "
        f"as web_anon; {len(scenarios)} loaded scenarios ({len(draws.alternatives)} with their "
        f"baseline), {len(variables)} variables; "
        f"database {db.database})",
        f"{'request':<{width}}  {'n':>7}  {'p50 ms':>7}  {'p95 ms':>7}",
    ]
    worst = 0.0
    for i, request in enumerate(mix):
        values = np.array(latencies.get(i, [np.nan]))
        p50, p95 = np.percentile(values, 50), np.percentile(values, 95)
        worst = max(worst, float(p95))
        lines.append(
            f"{request.name:<{width}}  {len(latencies.get(i, [])):>7,}  {p50:>7.2f}  {p95:>7.2f}"
        )
    verdict_latency = "ok" if worst <= TARGET_P95_MS else "MISSED"
    verdict_rps = "ok" if rps >= TARGET_RPS else "MISSED"
    lines.append(
        f"total: {total:,} requests in {seconds} s = {rps:,.0f} requests/s "
        f"(target >= {TARGET_RPS:.0f}: {verdict_rps}); worst p95 {worst:.2f} ms "
        f"(target <= {TARGET_P95_MS:.0f} ms: {verdict_latency})"
    )
    lines += explain_lines(db)
    return lines


def alone_percentiles(
    db: DatabaseUrl, seconds: int = 5, one_key: bool = False
) -> dict[str, tuple[int, float, float]]:
    """Each request type alone: 1 client for `seconds`, every transaction logged;
    {request name: (transactions, p50 ms, p95 ms)}. With `one_key`, the same
    scenario and variable every time (its data in memory): what a request costs
    apart from reading its rows from disk."""
    draws, role_settings = _loaded(db)
    if one_key:
        draws = Draws(draws.scenarios[:1], draws.alternatives[:1], draws.variables[:1])
    out: dict[str, tuple[int, float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_api_alone_") as tmp:
        work = Path(tmp)
        for i, request in enumerate(requests()):
            path = work / f"request_{i:02d}.sql"
            path.write_text(script(request, draws, role_settings))
            args = [str(PGBENCH), "-n", "-M", "prepared", "-c", "1", "-T", str(seconds)]
            args += ["--log", f"--log-prefix={work}/r{i:02d}", "-f", str(path)]
            proc = subprocess.run(args, capture_output=True, text=True, env=_pgbench_env(db))
            values = _latencies(work, f"r{i:02d}").get(0, [])
            if proc.returncode != 0 or not values:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
                raise RuntimeError(f"bench_api: pgbench failed: {' '.join(tail)}")
            p50, p95 = np.percentile(values, [50, 95])
            out[request.name] = (len(values), float(p50), float(p95))
    return out


def alone(db: DatabaseUrl, seconds: int = 5, one_key: bool = False) -> list[str]:
    """The report lines of `alone_percentiles`."""
    found = alone_percentiles(db, seconds, one_key)
    draws, _ = _loaded(db)
    lines = [
        f"API requests alone (pgbench, 1 client, {seconds} s each, -M prepared, as web_anon, "
        f"{'one scenario and variable' if one_key else 'random scenarios and variables'}; "
        f"{len(draws.scenarios)} loaded scenario(s); database {db.database})",
        f"{'n':>7}  {'p50 ms':>7}  {'p95 ms':>7}  request",
    ]
    for name, (count, p50, p95) in found.items():
        lines.append(f"{count:>7,}  {p50:7.3f}  {p95:7.3f}  {name}")
    return lines


def main() -> int:
    """`python -m coeqwal_tools.bench.api [--alone [--one-key]]`: the report for the
    active database (COEQWAL_BENCH_API_SECONDS, COEQWAL_BENCH_API_CLIENTS)."""
    import sys

    from ingest.config import active_database

    seconds = int(os.environ.get("COEQWAL_BENCH_API_SECONDS", SECONDS))
    clients = int(os.environ.get("COEQWAL_BENCH_API_CLIENTS", CLIENTS))
    try:
        if "--alone" in sys.argv[1:]:
            lines = alone(active_database(), one_key="--one-key" in sys.argv[1:])
        else:
            lines = run(active_database(), seconds=seconds, clients=clients)
        for line in lines:
            print(line)
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
