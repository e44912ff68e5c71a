"""The REST API (schema `api`) tested the way PostgREST calls it.

PostgREST is not installed in the test environment, so `Pgrst` below runs each request
as PostgREST v12+ does: in a transaction, the request settings first (search
path, the anonymous role's own settings such as its statement_timeout, then
`set_config('role', 'web_anon', true)` - PostgREST's `SET LOCAL ROLE` - and
`request.method`, `request.path`, `request.headers`), then the statement
PostgREST generates for the request (`WITH pgrst_source AS (SELECT ... FROM
"api"."x" WHERE ... ORDER BY ... LIMIT ... OFFSET ...) SELECT ...
coalesce(json_agg(_postgrest_t), '[]') ...`, request values bound as
parameters, never spliced), then ROLLBACK. `/rpc/` calls pass their arguments
as one JSON object through `json_to_record`, as PostgREST does for GET.

Expected values are computed independently: time series, statistics, exceedance
curves, annual volumes and comparisons from the raw array literals in
`raw_dss.dss_series` parsed in Python (numpy), lookups from the seeds' CSV
files. HTTP tests against a real PostgREST run when POSTGREST_URL is set.
"""

from __future__ import annotations

import calendar
import csv
import json
import os
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import ClassVar

import numpy as np
import psycopg2
import pytest
from psycopg2 import errors
from psycopg2 import sql as pgsql

from tests.python.conftest import ROOT, coeqwal, plan_nodes, transaction

pytestmark = pytest.mark.db

CONF = ROOT / "infra" / "postgrest" / "postgrest.conf"
SEEDS = ROOT / "seeds"
TAF_PER_CFS_DAY = 86400 / 43560 / 1000  # one CFS for a day, in thousand acre-feet
RTOL = 1e-9
HOSTILE = [
    "'; drop table api.scenarios; --",
    "s0020'--",
    'x" or "1"="1',
    "S_SHSTA/STORAGE' or '1'='1",
    "%",
    "\\",
    "s0020; select pg_sleep(10)",
    "x" * 100_000,
]
API_FUNCTIONS = {
    "exceedance": {"scenario_id": "s0020", "variable_key": "S_SHSTA/STORAGE", "period": "all"},
    "compare_scenarios": {
        "scenario_a": "s0020",
        "scenario_b": "s0029",
        "variable_key": "S_SHSTA/STORAGE",
    },
    "scenario_timeseries": {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{s0020,s0029}"},
}
PRIVATE_SCHEMAS = [
    "raw_dss",
    "raw_gis",
    "staging",
    "intermediate",
    "marts",
    "seeds",
    "ops",
    "store",
]


def postgrest_conf() -> dict[str, str]:
    """The `key = value` lines of infra/postgrest/postgrest.conf."""
    conf = {}
    for line in CONF.read_text().splitlines():
        match = re.match(r'\s*([a-z-]+)\s*=\s*"?([^"]*)"?\s*$', line)
        if match:
            conf[match[1]] = match[2]
    return conf


MAX_ROWS = int(postgrest_conf()["db-max-rows"])


# ----------------------------------------------------------------------------- the client


class Pgrst:
    """Runs GET requests the way PostgREST does, as web_anon, and returns the body."""

    OPERATORS: ClassVar[dict[str, str]] = {
        "eq": "=",
        "neq": "<>",
        "gt": ">",
        "gte": ">=",
        "lt": "<",
        "lte": "<=",
    }

    def __init__(self, url: str):
        self.conn = psycopg2.connect(url)
        with self.conn.cursor() as cur:
            # PostgREST applies the impersonated role's own settings on each request.
            cur.execute(
                "select coalesce(array_agg(cfg), '{}') from pg_db_role_setting s "
                "join pg_roles r on r.oid = s.setrole, unnest(s.setconfig) cfg "
                "where r.rolname = 'web_anon' and s.setdatabase in (0, "
                "(select oid from pg_database where datname = current_database()))"
            )
            self.role_settings = [cfg.split("=", 1) for cfg in cur.fetchone()[0]]
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    # -- request settings and execution

    def _run(self, path: str, headers: dict, statement: pgsql.Composable, params: list, pre=None):
        cur = self.conn.cursor()
        try:
            # db-schemas = api, db-extra-search-path = public (PostGIS).
            settings = [pgsql.SQL("set_config('search_path', '\"api\", \"public\"', true)")]
            params_pre: list = []
            for name, value in self.role_settings:
                settings.append(pgsql.SQL("set_config(%s, %s, true)"))
                params_pre += [name, value]
            settings.append(pgsql.SQL("set_config('role', %s, true)"))
            params_pre.append("web_anon")
            for name, value in (
                ("request.jwt.claims", json.dumps({"role": "web_anon"})),
                ("request.method", "GET"),
                ("request.path", path),
                ("request.headers", json.dumps(headers)),
                ("request.cookies", "{}"),
            ):
                settings.append(pgsql.SQL("set_config(%s, %s, true)"))
                params_pre += [name, value]
            cur.execute(pgsql.SQL("select ") + pgsql.SQL(", ").join(settings), params_pre)
            if pre:
                cur.execute(pre)
            cur.execute(statement, params)
            _total, _page_total, body, _headers, _status = cur.fetchone()
            return body
        finally:
            cur.close()
            self.conn.rollback()

    @staticmethod
    def _body(accept: str, rpc: bool = False) -> pgsql.Composable:
        if accept == "application/geo+json":
            return pgsql.SQL(
                "json_build_object('type', 'FeatureCollection', 'features', "
                "coalesce(json_agg(ST_AsGeoJSON(_postgrest_t)::json), '[]'))"
            )
        return pgsql.SQL("coalesce(json_agg(_postgrest_t), '[]')")

    def _where_order_range(self, table: pgsql.Composable, query: list[tuple[str, str]]):
        """WHERE, ORDER BY and LIMIT/OFFSET of a query string, with its parameters."""
        conditions, params, order = [], [], []
        limit, offset, columns = None, 0, None
        for key, value in query:
            if key == "select":
                columns = value.split(",")
            elif key == "order":
                for term in value.split(","):
                    name, *mods = term.split(".")
                    words = {"asc": "ASC", "desc": "DESC", "nullsfirst": "NULLS FIRST"}
                    words["nullslast"] = "NULLS LAST"
                    order.append(
                        pgsql.SQL("{}.{} {}").format(
                            table,
                            pgsql.Identifier(name),
                            pgsql.SQL(" ".join(words[m] for m in mods)),
                        )
                    )
            elif key == "limit":
                limit = int(value)
            elif key == "offset":
                offset = int(value)
            else:
                op, _, operand = value.partition(".")
                column = pgsql.SQL("{}.{}").format(table, pgsql.Identifier(key))
                if op == "in":
                    items = operand.strip("()").split(",") if operand.strip("()") else []
                    # PostgREST's pgBuildArrayLiteral: backslashes, then quotes, escaped.
                    quoted = (
                        '"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items
                    )
                    literal = "{" + ",".join(quoted) + "}"
                    conditions.append(pgsql.SQL("{} = ANY (%s)").format(column))
                    params.append(literal)
                elif op == "is":
                    words = {"null": "NULL", "true": "TRUE", "false": "FALSE"}
                    conditions.append(
                        pgsql.SQL("{} IS {}").format(column, pgsql.SQL(words[operand]))
                    )
                elif op in ("like", "ilike"):
                    conditions.append(pgsql.SQL("{} {} %s").format(column, pgsql.SQL(op)))
                    params.append(operand.replace("*", "%"))
                else:
                    conditions.append(
                        pgsql.SQL("{} {} %s").format(column, pgsql.SQL(self.OPERATORS[op]))
                    )
                    params.append(operand)
        # db-max-rows caps every response: the range becomes min(limit, max rows).
        limit = MAX_ROWS if limit is None else min(limit, MAX_ROWS)
        clause = pgsql.SQL("")
        if conditions:
            clause += pgsql.SQL(" WHERE ") + pgsql.SQL(" AND ").join(conditions)
        if order:
            clause += pgsql.SQL(" ORDER BY ") + pgsql.SQL(", ").join(order)
        clause += pgsql.SQL(" LIMIT %s OFFSET %s")
        return columns, clause, [*params, limit, offset]

    def get(self, resource: str, query: str = "", accept: str = "application/json", pre=None):
        """`GET /<resource>?<query>`: the response body (parsed JSON)."""
        table = pgsql.SQL("{}.{}").format(pgsql.Identifier("api"), pgsql.Identifier(resource))
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        columns, clause, params = self._where_order_range(table, pairs)
        select = (
            pgsql.SQL(", ").join(
                pgsql.SQL("{}.{}").format(table, pgsql.Identifier(c)) for c in columns
            )
            if columns
            else pgsql.SQL("{}.*").format(table)
        )
        statement = pgsql.SQL(
            "WITH pgrst_source AS ( SELECT {select} FROM {table}{clause} ) "
            "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, "
            "{body} AS body, nullif(current_setting('response.headers', true), '') "
            "AS response_headers, nullif(current_setting('response.status', true), '') "
            "AS response_status FROM ( SELECT * FROM pgrst_source ) _postgrest_t"
        ).format(select=select, table=table, clause=clause, body=self._body(accept))
        return self._run(f"/{resource}", {"accept": accept}, statement, params, pre)

    def rpc(self, function: str, args: dict, query: str = ""):
        """`GET /rpc/<function>?<args>&<query>`: arguments go through json_to_record."""
        with self.conn.cursor() as cur:
            cur.execute(
                "select a.name, format_type(a.type, null) from pg_proc p "
                "join pg_namespace n on n.oid = p.pronamespace, "
                "unnest(p.proargnames, p.proallargtypes::oid[], p.proargmodes::text[]) "
                "as a (name, type, mode) where n.nspname = 'api' and p.proname = %s "
                "and a.mode = 'i'",
                (function,),
            )
            types = dict(cur.fetchall())
        self.conn.rollback()
        names = list(args)
        typed = pgsql.SQL(", ").join(
            pgsql.SQL("{} {}").format(pgsql.Identifier(n), pgsql.SQL(types[n])) for n in names
        )
        call_args = pgsql.SQL(", ").join(
            pgsql.SQL("{} := pgrst_body.{}").format(pgsql.Identifier(n), pgsql.Identifier(n))
            for n in names
        )
        source = pgsql.Identifier("pgrst_source")
        _, clause, params = self._where_order_range(
            source, urllib.parse.parse_qsl(query, keep_blank_values=True)
        )
        statement = pgsql.SQL(
            "WITH pgrst_source AS (SELECT pgrst_call.* FROM (SELECT %s::json AS json_data) "
            "pgrst_payload, LATERAL (SELECT {names} FROM json_to_record(pgrst_payload.json_data) "
            "AS _({typed}) LIMIT 1) pgrst_body , LATERAL {function}({call_args}) pgrst_call) "
            "SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, "
            "{body} AS body, nullif(current_setting('response.headers', true), '') "
            "AS response_headers, nullif(current_setting('response.status', true), '') "
            "AS response_status FROM (SELECT {source}.* FROM {source}{clause}) _postgrest_t"
        ).format(
            names=pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names),
            typed=typed,
            function=pgsql.SQL("{}.{}").format(pgsql.Identifier("api"), pgsql.Identifier(function)),
            call_args=call_args,
            body=self._body("application/json", rpc=True),
            source=source,
            clause=clause,
        )
        return self._run(
            f"/rpc/{function}",
            {"accept": "application/json"},
            statement,
            [json.dumps(args), *params],
        )


@pytest.fixture(scope="module")
def api(warehouse, test_db):
    client = Pgrst(test_db.url())
    yield client
    client.close()


@pytest.fixture(scope="module")
def raw(warehouse, test_db):
    """The raw series as the loader wrote them: {(scenario, VARIABLE_KEY): (start, float64[])}."""
    with transaction(test_db.url()) as cur:
        cur.execute(
            "select scenario_id, upper(b_part || '/' || c_part), start_month,"
            " coalesce(monthly_values_f4::double precision[], monthly_values_f8)::text"
            " from raw_dss.dss_series"
        )
        return {(s, k): (start, parse_values(v)) for s, k, start, v in cur.fetchall()}


def parse_values(literal: str) -> np.ndarray:
    """`{1.5,NULL,...}` as the file's float32 values widened to float64 (NaN for NULL)."""
    items = literal.strip("{}").split(",")
    return np.array(
        [np.nan if i == "NULL" else float(np.float32(i)) for i in items], dtype=np.float64
    )


def seed(path: str) -> list[dict]:
    with open(SEEDS / path, newline="") as f:
        return list(csv.DictReader(f))


def months(start: date, n: int) -> list[date]:
    return [
        date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def water_month(d: date) -> int:
    return (d.month + 2) % 12 + 1


def water_year(d: date) -> int:
    return d.year + 1 if d.month >= 10 else d.year


def close(a, b, rtol=RTOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


# ----------------------------------------------------------------------------- resources


def test_no_api_function_shares_a_name_with_a_view(sql, api):
    """dbt 1.11 lists functions as relations: a function named like a view makes a
    later build rename a view that a cascade drop removed (and fail)."""
    clashes = sql(
        "select p.proname from pg_proc p join pg_class c"
        " on c.relname = p.proname and c.relnamespace = p.pronamespace"
        " where p.pronamespace = 'api'::regnamespace"
    )
    assert clashes == []
    functions = {
        r[0] for r in sql("select proname from pg_proc where pronamespace = 'api'::regnamespace")
    }
    assert {"scenario_timeseries", "exceedance", "compare_scenarios"} <= functions


def test_themes_list_their_active_scenarios_from_the_seeds(api):
    active = {r["scenario_id"] for r in seed("scenarios/scenarios.csv") if r["is_active"] == "true"}
    expected = []
    for theme in sorted(seed("scenarios/themes.csv"), key=lambda r: int(r["display_order"])):
        if theme["is_active"] != "true":
            continue
        ids = sorted(
            r["scenario_id"]
            for r in seed("scenarios/theme_scenarios.csv")
            if r["theme_code"] == theme["theme_code"] and r["scenario_id"] in active
        )
        expected.append(
            {
                "theme_code": theme["theme_code"],
                "short_title": theme["short_title"],
                "scenario_ids": ids,
            }
        )
    got = api.get("themes", "select=theme_code,short_title,scenario_ids&order=display_order")
    assert got == expected
    one = api.get("themes", "theme_code=eq.flow&select=theme_code,display_order")
    assert one == [{"theme_code": "flow", "display_order": 3}]


def test_scenarios_filter_by_loaded_and_baseline(api, warehouse):
    rows = {r["scenario_id"]: r for r in seed("scenarios/scenarios.csv")}
    got = api.get(
        "scenarios",
        "is_loaded=is.true&select=scenario_id,baseline_scenario_id,short_title&order=scenario_id",
    )
    assert got == [
        {
            "scenario_id": s,
            "baseline_scenario_id": rows[s]["baseline_scenario_id"] or None,
            "short_title": rows[s]["short_title"],
        }
        for s in sorted(warehouse)
    ]
    alternatives = api.get(
        "scenarios",
        "baseline_scenario_id=eq.s0020&select=scenario_id&order=scenario_id.desc&limit=3&offset=1",
    )
    expected = sorted(
        (
            s
            for s, r in rows.items()
            if r["baseline_scenario_id"] == "s0020" and r["is_active"] == "true"
        ),
        reverse=True,
    )[1:4]
    assert [r["scenario_id"] for r in alternatives] == expected


def test_variables_filter_by_name_kind_category_and_entity(api):
    variables = seed("variables/variables.csv")

    def key(r):
        return f"{r['b_part']}/{r['c_part']}".upper()

    got = api.get(
        "variables",
        "kind=eq.storage&entity_code=eq.SHSTA&select=variable_key,unit_code,outcome_category_code",
    )
    assert got == [
        {
            "variable_key": key(r),
            "unit_code": r["unit_code"],
            "outcome_category_code": r["outcome_category_code"],
        }
        for r in variables
        if r["kind"] == "storage" and r["entity_code"] == "SHSTA"
    ]
    got = api.get(
        "variables",
        "outcome_category_code=eq.community_water&kind=in.(delivery,shortage)&select=variable_key&order=variable_key",
    )
    assert [r["variable_key"] for r in got] == sorted(
        key(r)
        for r in variables
        if r["outcome_category_code"] == "community_water" and r["kind"] in ("delivery", "shortage")
    )
    got = api.get("variables", "b_part=eq.S_SHSTA&select=variable_key,kind")
    assert got == [{"variable_key": "S_SHSTA/STORAGE", "kind": "storage"}]
    got = api.get("variables", "label=ilike.*shasta*&entity_type=eq.reservoir&select=entity_code")
    assert got and {r["entity_code"] for r in got} == {"SHSTA"}


def test_timeseries_view_and_function_return_the_raw_values_in_order(api, raw):
    start, values = raw[("s0020", "S_SHSTA/STORAGE")]
    dates = months(start, len(values))
    got = api.get(
        "timeseries",
        "variable_key=eq.S_SHSTA/STORAGE&scenario_id=eq.s0020&water_year=gte.1990"
        "&select=month_date,water_month,value&order=month_date&limit=24&offset=12",
    )
    expected = [
        {"month_date": d.isoformat(), "water_month": water_month(d), "value": v}
        for d, v in zip(dates, values, strict=True)
        if water_year(d) >= 1990
    ][12:36]
    assert got == expected

    got = api.rpc(
        "scenario_timeseries", {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{s0029,s0020}"}
    )
    expected = []
    for scenario in ("s0029", "s0020"):  # one row per scenario, in the order requested
        start, values = raw[(scenario, "S_SHSTA/STORAGE")]
        expected.append(
            {
                "scenario_id": scenario,
                "unit_code": "TAF",
                "start_month": start.isoformat(),
                "month_count": len(values),
                "month_dates": [d.isoformat() for d in months(start, len(values))],
                "monthly_values": list(values),
            }
        )
    assert got == expected
    # select= applies as PostgREST applies it to a function's rows.
    got = api.rpc(
        "scenario_timeseries",
        {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{s0044,s0404}"},
        "select=scenario_id,month_dates,monthly_values",
    )
    start, values = raw[("s0044", "S_SHSTA/STORAGE")]
    assert [r["scenario_id"] for r in got] == ["s0044"]  # unknown s0404: no row
    assert got[0]["month_dates"][0] == start.isoformat()
    assert got[0]["month_dates"][-1] == months(start, len(values))[-1].isoformat()
    assert len(got[0]["month_dates"]) == len(got[0]["monthly_values"]) == len(values)


def test_statistics_match_numpy_on_the_raw_values(api, raw):
    for scenario, variable in [("s0020", "S_SHSTA/STORAGE"), ("s0044", "C_KSWCK/CHANNEL")]:
        start, values = raw[(scenario, variable)]
        dates = months(start, len(values))
        got = api.get(
            "statistics",
            f"scenario_id=eq.{scenario}&variable_key=eq.{variable}&period=in.(all,1)"
            "&statistic_code=in.(mean,sd,min,q50,max,exc90)&select=period,statistic_code,value,value_count",
        )
        assert len(got) == 12
        for row in got:
            x = (
                values
                if row["period"] == "all"
                else np.array(
                    [v for d, v in zip(dates, values, strict=True) if water_month(d) == 1]
                )
            )
            expected = {
                "mean": np.mean(x),
                "sd": np.std(x, ddof=1),
                "min": np.min(x),
                "q50": np.percentile(x, 50),
                "max": np.max(x),
                "exc90": np.percentile(x, 10, method="weibull"),
            }[row["statistic_code"]]
            assert row["value_count"] == len(x)
            assert close(row["value"], float(expected)), (scenario, variable, row)


def test_exceedance_curve_is_the_weibull_ranking_of_the_raw_values(api, raw):
    a = float(
        next(
            r["value"]
            for r in seed("statistics/statistics_parameters.csv")
            if r["parameter_code"] == "plotting_position_a"
        )
    )
    start, values = raw[("s0029", "S_SHSTA/STORAGE")]
    dates = months(start, len(values))
    for period, subset in [
        ("all", values),
        ("5", np.array([v for d, v in zip(dates, values, strict=True) if water_month(d) == 5])),
    ]:
        got = api.rpc(
            "exceedance",
            {"scenario_id": "s0029", "variable_key": "S_SHSTA/STORAGE", "period": period},
        )
        ranked = np.sort(subset)[::-1]
        n = len(ranked)
        assert [r["value_rank"] for r in got] == list(range(1, n + 1))
        assert [r["value"] for r in got] == [float(v) for v in ranked]
        for i, row in enumerate(got, start=1):
            assert close(row["exceedance_pct"], 100 * (i - a) / (n + 1 - 2 * a))
    # period defaults to all; PostgREST's filters apply to the result
    got = api.rpc(
        "exceedance",
        {"scenario_id": "s0029", "variable_key": "S_SHSTA/STORAGE"},
        "exceedance_pct=lte.10&order=value_rank",
    )
    n = len(values)
    assert len(got) == sum(1 for i in range(1, n + 1) if 100 * (i - a) / (n + 1 - 2 * a) <= 10)


def test_annual_values_sum_flow_volumes_and_read_september_storage(api, raw):
    start, flows = raw[("s0020", "C_KSWCK/CHANNEL")]
    dates = months(start, len(flows))
    got = api.get(
        "annual_values",
        "scenario_id=eq.s0020&variable_key=eq.C_KSWCK/CHANNEL&water_year=gte.1990&water_year=lte.1992"
        "&select=water_year,total_taf,is_complete_year,sac_year_type_abbrev&order=water_year",
    )
    sac_types = {
        int(r["water_year"]): r["year_type_abbrev"]
        for r in seed("water_years/water_year_types.csv")
        if r["valley"] == "SAC"
    }
    assert [r["water_year"] for r in got] == [1990, 1991, 1992]
    for row in got:
        volume = sum(
            v * calendar.monthrange(d.year, d.month)[1] * TAF_PER_CFS_DAY
            for d, v in zip(dates, flows, strict=True)
            if water_year(d) == row["water_year"]
        )
        assert close(row["total_taf"], volume, rtol=1e-6)
        assert row["is_complete_year"] is True
        assert row["sac_year_type_abbrev"] == sac_types[row["water_year"]]
    start, storage = raw[("s0044", "S_FOLSM/STORAGE")]
    september = {
        water_year(d): v
        for d, v in zip(months(start, len(storage)), storage, strict=True)
        if d.month == 9
    }
    got = api.get(
        "annual_values",
        "scenario_id=eq.s0044&variable_key=eq.S_FOLSM/STORAGE&select=water_year,sep_value,total_taf&order=water_year.desc&limit=3",
    )
    assert [(r["water_year"], r["sep_value"], r["total_taf"]) for r in got] == [
        (y, september[y], None) for y in sorted(september, reverse=True)[:3]
    ]


def test_comparisons_and_compare_scenarios_are_differences_of_raw_means(api, raw):
    baseline = next(
        r["baseline_scenario_id"]
        for r in seed("scenarios/scenarios.csv")
        if r["scenario_id"] == "s0029"
    )
    assert baseline == "s0020"
    variable = "S_SHSTA/STORAGE"
    mean_b = float(np.mean(raw[(baseline, variable)][1]))
    mean_s = float(np.mean(raw[("s0029", variable)][1]))
    got = api.get(
        "comparisons",
        f"scenario_id=eq.s0029&variable_key=eq.{variable}&period=eq.all&statistic_code=eq.mean",
    )
    assert len(got) == 1
    row = got[0]
    assert row["baseline_scenario_id"] == baseline
    assert close(row["baseline_value"], mean_b) and close(row["value"], mean_s)
    assert close(row["difference"], mean_s - mean_b, rtol=1e-7)
    assert close(row["percent_difference"], 100 * (mean_s - mean_b) / abs(mean_b), rtol=1e-7)

    # Any two scenarios, either way round, including two alternatives.
    mean_44 = float(np.mean(raw[("s0044", variable)][1]))
    rows = api.rpc(
        "compare_scenarios",
        {"scenario_a": "s0044", "scenario_b": "s0029", "variable_key": variable},
    )
    assert [r["period"] for r in rows[:: len(rows) // 14]][:3] == ["all", "annual", "1"]
    mean = next(r for r in rows if r["period"] == "all" and r["statistic_code"] == "mean")
    assert close(mean["value_a"], mean_44) and close(mean["value_b"], mean_s)
    assert close(mean["difference"], mean_s - mean_44, rtol=1e-7)
    assert close(mean["percent_difference"], 100 * (mean_s - mean_44) / abs(mean_44), rtol=1e-7)
    # With the baseline as scenario_a it is exactly the comparisons resource.
    view = api.get(
        "comparisons",
        f"scenario_id=eq.s0029&variable_key=eq.{variable}&order=period,statistic_code",
    )
    pairs = api.rpc(
        "compare_scenarios",
        {"scenario_a": baseline, "scenario_b": "s0029", "variable_key": variable},
        "order=period,statistic_code",
    )
    assert len(view) == len(pairs) == 14 * len(seed("outcomes/statistic_types.csv"))
    for v, p in zip(view, pairs, strict=True):
        assert (v["period"], v["statistic_code"]) == (p["period"], p["statistic_code"])
        assert (v["baseline_value"], v["value"]) == (p["value_a"], p["value_b"])
        assert close(v["difference"], p["difference"]) and close(
            v["percent_difference"], p["percent_difference"]
        )


def test_comparisons_of_a_list_of_scenarios_compare_those_scenarios_only(api, test_db, sql):
    """`/comparisons?scenario_id=in.(…)` compares the listed scenarios only:
    the baseline is looked up from each of the scenario's own rows, which the
    list filters. Looked up for every scenario's series first, the request
    compared every alternative in the warehouse (s0044's here) and filtered
    afterwards. Run as PostgREST runs it: the list an array parameter of a
    prepared statement, web_anon's generic plan."""
    series = (
        "select count(distinct variable_key) from marts.fct_series_statistics_compact"
        " where scenario_id = %s"
    )
    s0029, s0044 = (sql(series, (s,))[0][0] for s in ("s0029", "s0044"))
    assert s0029 > 0 and s0044 > 0
    with transaction(test_db.url()) as cur:
        cur.execute("set local role web_anon")
        cur.execute("set local plan_cache_mode = force_generic_plan")
        cur.execute(
            "prepare listed(text[]) as select * from api.comparisons where scenario_id = any($1)"
        )
        lookups = []
        for ids in ("{s0029}", "{s0029,s0044}"):
            cur.execute("explain (analyze, format json) execute listed(%s)", (ids,))
            ((plan,),) = cur.fetchall()
            lookups.append(
                sum(
                    node["Actual Loops"]
                    for node in plan_nodes(plan[0]["Plan"])
                    if node.get("Function Name") == "series_statistics_of"
                )
            )
    # One baseline lookup per listed scenario's series; the second list shows
    # that the count sees every scenario listed.
    assert lookups == [s0029, s0029 + s0044]

    # The rows are those of the one-scenario request, every statistic of both series.
    variables = "variable_key=in.(S_SHSTA/STORAGE,S_OROVL/STORAGE)"
    listed = api.get("comparisons", f"scenario_id=in.(s0020,s0029)&{variables}")
    one = api.get("comparisons", f"scenario_id=eq.s0029&{variables}")
    key = lambda r: (r["variable_key"], r["period"], r["statistic_code"])  # noqa: E731
    assert sorted(listed, key=key) == sorted(one, key=key)
    assert len(one) == 2 * 14 * len(seed("outcomes/statistic_types.csv"))
    page = api.get("comparisons", "scenario_id=in.(s0020,s0029)&limit=100")
    assert len(page) == 100 and {r["scenario_id"] for r in page} == {"s0029"}


def _listed_statistics_scans(url: str, listed: str) -> dict[str, tuple[str, int]]:
    """Scan type and rows of each `fct_series_statistics_compact` table read by
    `/statistics?scenario_id=in.(listed)` as PostgREST runs it (web_anon's
    generic plan of `scenario_id = any($1)`), by table."""
    with transaction(url) as cur:
        cur.execute("set local role web_anon")
        cur.execute("set local plan_cache_mode = force_generic_plan")
        cur.execute(
            "prepare listed(text[]) as"
            " select * from api.statistics where scenario_id = any($1) limit 100 offset 0"
        )
        cur.execute("explain (analyze, format json) execute listed(%s)", ("{" + listed + "}",))
        ((plan,),) = cur.fetchall()
    return {
        node["Relation Name"]: (node["Node Type"], node["Actual Rows"])
        for node in plan_nodes(plan[0]["Plan"])
        if node.get("Relation Name", "").startswith("fct_series_statistics_compact__")
        and "Actual Rows" in node
    }


def test_a_list_of_scenarios_reads_other_scenarios_tables_through_their_key(test_db, sql):
    """PostgreSQL does not prune partitions on `scenario_id = any(<array
    parameter>)` (PostgREST's `in.(...)`), so a list's plan reads every
    scenario's table. Each table's key starts with scenario_id and the column is
    declared distinct, so those reads are key lookups that find nothing, not
    scans. Tables written before that get both at the next publish
    (publish.key_parts), without blocking readers."""
    from ingest import publish

    # Every published per-scenario table: key first on scenario_id, declared distinct.
    shapes = sql(
        """
        select parts.relation_name, att.attname, sid.attoptions
        from store.scenario_parts as parts
        inner join pg_attribute as sid
            on sid.attrelid = format('store.%I', parts.relation_name)::regclass
            and sid.attname = 'scenario_id'
        inner join pg_constraint as pk on pk.conrelid = sid.attrelid and pk.contype = 'p'
        inner join pg_attribute as att on att.attrelid = pk.conrelid and att.attnum = pk.conkey[1]
        where parts.scenario_id is not null
        """
    )
    assert len(shapes) >= 3 * 10
    assert {(first, tuple(options or ())) for _, first, options in shapes} == {
        ("scenario_id", ("n_distinct=-1",))
    }

    tables = dict(
        sql(
            "select scenario_id, relation_name from store.scenario_parts"
            " where model_name = 'fct_series_statistics_compact'"
        )
    )
    assert sorted(tables) == ["s0020", "s0029", "s0044"]
    url = test_db.url()
    scans = _listed_statistics_scans(url, "s0044")
    assert scans[tables["s0044"]][1] > 0
    for unlisted in ("s0020", "s0029"):
        assert scans[tables[unlisted]] == ("Index Scan", 0)

    # A table in the shape written before: key (variable_key), no declaration.
    old = f"store.{tables['s0020']}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select conname from pg_constraint where conrelid = %s::regclass and contype = 'p'",
                (old,),
            )
            ((pkey,),) = cur.fetchall()
            cur.execute(
                f'alter table {old} drop constraint "{pkey}", add constraint "{pkey}"'
                " primary key (variable_key)"
            )
            cur.execute(f"alter table {old} alter column scenario_id reset (n_distinct)")
            cur.execute(f"analyze {old}")
        assert _listed_statistics_scans(url, "s0044")[tables["s0020"]][0] == "Seq Scan"
        assert publish.key_parts(conn, ["marts"]) == [old]
        assert publish.key_parts(conn, ["marts"]) == []
    finally:
        publish.key_parts(conn, ["marts"])
        conn.close()
    assert _listed_statistics_scans(url, "s0044")[tables["s0020"]] == ("Index Scan", 0)
    assert sql(
        "select array(select attname::text from pg_attribute as att, pg_constraint as pk"
        " where pk.conrelid = %s::regclass and pk.contype = 'p' and att.attrelid = pk.conrelid"
        " and att.attnum = any(pk.conkey) order by array_position(pk.conkey, att.attnum))",
        (old,),
    ) == [(["scenario_id", "variable_key"],)]


def test_reservoirs_carry_seed_coordinates_as_geojson(api):
    seeds = {r["reservoir_code"]: r for r in seed("entities/reservoirs.csv")}
    got = api.get(
        "reservoirs",
        "is_tier_reservoir=is.true&select=reservoir_code,capacity_taf&order=reservoir_code",
    )
    assert got == [
        {"reservoir_code": c, "capacity_taf": float(r["capacity_taf"])}
        for c, r in sorted(seeds.items())
        if r["is_tier_reservoir"] == "true"
    ]
    body = api.get(
        "reservoirs",
        "reservoir_code=in.(SHSTA,ALOHA)&select=reservoir_code,name,geometry&order=reservoir_code",
        accept="application/geo+json",
    )
    assert body["type"] == "FeatureCollection"
    features = {f["properties"]["reservoir_code"]: f for f in body["features"]}
    assert set(features) == {"SHSTA", "ALOHA"}
    shasta = features["SHSTA"]
    assert shasta["type"] == "Feature" and shasta["properties"]["name"] == seeds["SHSTA"]["name"]
    assert shasta["geometry"]["type"] == "Point"
    lon, lat = shasta["geometry"]["coordinates"]
    assert close(lon, float(seeds["SHSTA"]["longitude"]), 1e-9)
    assert close(lat, float(seeds["SHSTA"]["latitude"]), 1e-9)
    # No public coordinates in the seed: PostGIS (3.3) writes a NULL geometry as
    # {"type": null}, later versions as null.
    assert features["ALOHA"]["geometry"] in (None, {"type": None})


def test_map_layers_list_the_seed_areas_and_units(api):
    areas = seed("entities/water_budget_areas.csv")
    got = api.get("water_budget_areas", "select=wba_code&order=wba_code")
    assert [r["wba_code"] for r in got] == sorted(r["wba_code"] for r in areas)
    body = api.get("water_budget_areas", "wba_code=eq.02", accept="application/geo+json")
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 1
    feature = body["features"][0]
    assert feature["properties"]["wba_code"] == "02" and "geometry" not in feature["properties"]
    assert (
        feature["geometry"] in (None, {"type": None})
        or feature["geometry"]["type"] == "MultiPolygon"
    )

    units = [r for r in seed("entities/demand_units.csv")]
    got = api.get("demand_units", "select=du_code&order=du_code")
    assert {u["du_code"] for u in units} <= {r["du_code"] for r in got}
    body = api.get("demand_units", "du_class=eq.urban&limit=2", accept="application/geo+json")
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 2
    assert all(f["properties"]["du_class"] == "urban" for f in body["features"])


def test_tiers_summarise_their_locations(api):
    indicators = {r["indicator_code"] for r in seed("tiers/tier_indicators.csv")}
    tiers = api.get("tiers", "scenario_id=eq.s0029&order=indicator_code")
    assert tiers and {t["indicator_code"] for t in tiers} <= indicators
    locations = api.get(
        "tier_locations",
        "scenario_id=eq.s0029&select=indicator_code,tier_level,unrated_reason,is_placeholder",
    )
    for tier in tiers:
        rows = [r for r in locations if r["indicator_code"] == tier["indicator_code"]]
        levels = [r["tier_level"] for r in rows if r["tier_level"] is not None]
        if tier["result_source"] == "computed" and tier["tier_type"] == "multi_value":
            # Recomputed from the per-location levels: counts, shares, scores; a
            # location without a level says why and counts as unrated only.
            assert [tier[f"tier_{k}_count"] for k in (1, 2, 3, 4)] == [
                levels.count(k) for k in (1, 2, 3, 4)
            ]
            assert tier["unrated_count"] == len(rows) - len(levels)
            assert all((r["tier_level"] is None) == (r["unrated_reason"] is not None) for r in rows)
            weighted = sum(levels) / len(levels)
            assert close(tier["weighted_score"], weighted)
            assert close(tier["normalized_score"], (4 - weighted) / 3)
        if tier["result_source"] == "computed":
            assert tier["source"] == "computed" and tier["is_placeholder"] is False
            assert all(r["is_placeholder"] is False for r in rows)
        else:
            # the sample's delivered results are COEQWAL's published ones, flagged
            assert tier["source"] == "coeqwal_tier_result_csv" and tier["is_placeholder"] is True
        shares = [tier[f"tier_{k}_share"] for k in (1, 2, 3, 4)]
        assert close(sum(shares), 1.0)


def test_tier_locations_map_reservoirs_at_their_dams(api):
    seeds = {r["reservoir_code"]: r for r in seed("entities/reservoirs.csv")}
    body = api.get(
        "tier_locations",
        "scenario_id=eq.s0020&indicator_code=eq.RES_STOR&select=location_code,tier_level,geometry",
        accept="application/geo+json",
    )
    assert body["type"] == "FeatureCollection" and body["features"]
    for feature in body["features"]:
        code = feature["properties"]["location_code"]
        assert feature["properties"]["tier_level"] in (1, 2, 3, 4)
        lon, lat = feature["geometry"]["coordinates"]
        assert close(lon, float(seeds[code]["longitude"])) and close(
            lat, float(seeds[code]["latitude"])
        )


def test_every_resource_and_function_is_documented_for_openapi(sql):
    undocumented = sql(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'api' and c.relkind in ('v', 'm', 'r') "
        "and coalesce(obj_description(c.oid, 'pg_class'), '') = ''"
    )
    assert undocumented == []
    columns = sql(
        "select c.relname, a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'api' "
        "and c.relkind = 'v' and a.attnum > 0 and not a.attisdropped "
        "and coalesce(col_description(c.oid, a.attnum), '') = ''"
    )
    assert columns == []
    functions = sql(
        "select p.proname, coalesce(obj_description(p.oid, 'pg_proc'), ''), p.provolatile "
        "from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api'"
    )
    assert {name for name, _, _ in functions} == set(API_FUNCTIONS)
    for name, comment, volatility in functions:
        assert comment.startswith(f"GET /rpc/{name}?"), name
        assert volatility == "s", f"{name} must be STABLE to be called with GET"
    resources = {
        r[0]
        for r in sql("select table_name from information_schema.views where table_schema = 'api'")
    }
    expected = {
        "themes",
        "scenarios",
        "variables",
        "statistics",
        "comparisons",
        "annual_values",
        "timeseries",
        "reservoirs",
        "water_budget_areas",
        "demand_units",
        "pipeline_status",
        "tiers",
        "tier_locations",
    }
    assert expected <= resources


def test_readme_lists_every_endpoint_with_an_example(warehouse, sql):
    """The README's API table has a row for every view and function of schema
    `api`, each with an example request under /api/v1/ and an example response."""
    readme = (ROOT / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = (
            re.fullmatch(r"`(rpc/)?([a-z_]+)`( \(map\))?", cells[0]) if len(cells) == 3 else None
        )
        if match:
            rows.setdefault(match[2], []).append(cells)
    endpoints = {r[0] for r in sql("select table_name from information_schema.views "
                                   "where table_schema = 'api'")}  # fmt: skip
    assert len(endpoints) >= 13  # the built warehouse's views
    endpoints |= set(API_FUNCTIONS)
    assert endpoints <= set(rows), sorted(endpoints - set(rows))
    for name in endpoints:
        for _, request, response in rows[name]:
            path = f"/api/v1/rpc/{name}" if name in API_FUNCTIONS else f"/api/v1/{name}"
            assert f"GET {path}" in request, (name, request)
            assert response.startswith(("`[", "`{")), (name, response)


# ----------------------------------------------------------------------------- security


def api_views(sql) -> list[str]:
    return [
        r[0]
        for r in sql(
            "select table_name from information_schema.views where table_schema = 'api' order by 1"
        )
    ]


def test_writes_are_refused_on_every_api_view(api, sql):
    for view in api_views(sql):
        assert sql(
            "select has_table_privilege('web_anon', %s, 'INSERT') or has_table_privilege('web_anon', %s, 'UPDATE') "
            "or has_table_privilege('web_anon', %s, 'DELETE') or has_table_privilege('web_anon', %s, 'TRUNCATE')",
            (f"api.{view}",) * 4,
        ) == [(False,)]
        auto_updatable = sql(
            "select is_insertable_into = 'YES' or is_updatable = 'YES' from information_schema.views "
            "where table_schema = 'api' and table_name = %s",
            (view,),
        )[0][0]
        column = sql(
            "select column_name from information_schema.columns where table_schema = 'api' "
            "and table_name = %s order by ordinal_position limit 1",
            (view,),
        )[0][0]
        for statement in (
            sql_text("insert into api.{v} ({c}) values (null)", view, column),
            sql_text("update api.{v} set {c} = {c}", view, column),
            sql_text("delete from api.{v}", view, column),
        ):
            refused = (
                errors.InsufficientPrivilege,
                errors.ObjectNotInPrerequisiteState,
                errors.FeatureNotSupported,
            )
            with pytest.raises(refused) as exc:
                api.get(view, "limit=0", pre=statement)
            if auto_updatable:
                # A simple view PostgreSQL could write through: only the grant stops it.
                assert isinstance(exc.value, errors.InsufficientPrivilege), (view, statement)


def sql_text(template: str, view: str, column: str) -> pgsql.Composed:
    return pgsql.SQL(template.replace("api.{v}", "api.{}").replace("{c}", "{}")).format(
        pgsql.Identifier(view), *([pgsql.Identifier(column)] * template.count("{c}"))
    )


def test_a_simple_view_would_be_writable_so_select_only_grants_protect_it(test_db, warehouse):
    """The api views (CTE style) are not auto-updatable, but a simple one-table
    view is: given only SELECT, as dbt's grants config gives, web_anon still
    cannot write through it."""
    with transaction(test_db.url()) as cur:
        cur.execute(
            "create view api.zz_simple as select scenario_id, short_title "
            "from marts.dim_scenarios; grant select on api.zz_simple to web_anon"
        )
        cur.execute(
            "select is_insertable_into, is_updatable from information_schema.views "
            "where table_schema = 'api' and table_name = 'zz_simple'"
        )
        assert cur.fetchone() == ("YES", "YES")
        cur.execute("set local role web_anon")
        for statement in (
            "insert into api.zz_simple (scenario_id) values ('x')",
            "update api.zz_simple set short_title = 'x'",
            "delete from api.zz_simple",
        ):
            cur.execute("savepoint s")
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute(statement)
            cur.execute("rollback to savepoint s")


def test_web_anon_reads_nothing_outside_api(api, sql):
    schemas = [
        s
        for (s,) in sql("select nspname from pg_namespace")
        if s in PRIVATE_SCHEMAS or s.startswith(("raw_", "ops"))
    ]
    assert {"raw_dss", "staging", "intermediate", "marts", "seeds", "ops"} <= set(schemas)
    for schema in schemas:
        assert sql("select has_schema_privilege('web_anon', %s, 'USAGE')", (schema,)) == [
            (False,)
        ], schema
        readable = sql(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p', 'f') "
            "and has_table_privilege('web_anon', c.oid, 'SELECT')",
            (schema,),
        )
        assert readable == [], schema
    for relation in (
        "raw_dss.dss_series",
        "marts.dim_scenarios",
        "seeds.scenarios",
        "staging.stg_dss__series",
        "marts.fct_series_values_compact",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            api.get("scenarios", "limit=0", pre=f"select * from {relation} limit 1")
    with pytest.raises(errors.InsufficientPrivilege):
        api.get(
            "scenarios",
            "limit=0",
            pre="select * from marts.exceedance_curve('s0020', 'S_SHSTA/STORAGE')",
        )


def test_functions_execute_for_web_anon_only_and_the_default_is_revoked(sql):
    rows = sql(
        "select p.proname, p.proacl::text[], p.prosecdef, "
        "coalesce(array_to_string(p.proconfig, ','), '') "
        "from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api'"
    )
    for name, acl, security_definer, config in rows:
        assert acl is not None and not any(entry.startswith("=") for entry in acl), (name, acl)
        assert any(entry.startswith("web_anon=X/") for entry in acl), (name, acl)
        # A security definer function must pin its search_path.
        assert security_definer and config.startswith("search_path=pg_catalog"), (name, config)
    # ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC for the role
    # running dbt (global: a per-schema revoke is a no-op in PostgreSQL).
    defaults = sql(
        "select d.defaclacl::text[] from pg_default_acl d "
        "join pg_roles r on r.oid = d.defaclrole "
        "where r.rolname = current_user and d.defaclnamespace = 0 and d.defaclobjtype = 'f'"
    )
    assert defaults
    assert all(not entry.startswith("=") for (acl,) in defaults for entry in acl)
    assert sql("select has_schema_privilege('public', 'api', 'USAGE')") == [(False,)]


def test_no_dynamic_sql_in_api_functions(sql):
    bodies = sql(
        "select p.proname, p.prosrc from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api'"
    )
    for name, body in bodies:
        assert not re.search(r"\bexecute\b|\bformat\s*\([^)]*%[IL]", body, re.IGNORECASE), name


def test_hostile_inputs_return_nothing_or_a_clean_error(api, sql):
    before = sql("select count(*) from api.scenarios")
    for value in HOSTILE:
        for name, args in API_FUNCTIONS.items():
            for arg in args:
                hostile = {
                    **args,
                    arg: value if arg != "scenario_ids" else "{" + json.dumps(value) + "}",
                }
                assert api.rpc(name, hostile) == [], (name, arg, value[:40])
        assert api.get("scenarios", urllib.parse.urlencode({"scenario_id": f"eq.{value}"})) == []
        assert api.get("variables", urllib.parse.urlencode({"kind": f"in.({value},x)"})) == []
    for name, args in API_FUNCTIONS.items():
        for arg in args:
            assert api.rpc(name, {**args, arg: None}) == [], (name, arg)  # NULL: no rows
    assert (
        api.rpc("scenario_timeseries", {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{}"})
        == []
    )
    assert (
        api.rpc(
            "scenario_timeseries",
            {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{NULL,s0404}"},
        )
        == []
    )
    assert (
        api.rpc(
            "exceedance",
            {"scenario_id": "s0020", "variable_key": "S_SHSTA/STORAGE", "period": "13"},
        )
        == []
    )
    # A huge array is refused with one clear error (PostgREST answers 400 for 22023).
    huge = "{" + ",".join(f"s{i:04d}" for i in range(100_000)) + "}"
    with pytest.raises(errors.InvalidParameterValue) as exc:
        api.rpc("scenario_timeseries", {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": huge})
    assert "at most 8 scenario ids per request, got 100000" in str(exc.value)
    # Eight distinct scenarios are accepted: one row for each of the three loaded.
    eight = "{s0020,s0029,s0044,s0011,s0021,s0023,s0024,s0025}"
    got = api.rpc("scenario_timeseries", {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": eight})
    assert [(r["scenario_id"], len(r["monthly_values"])) for r in got] == [
        ("s0020", 1200),
        ("s0029", 1200),
        ("s0044", 1200),
    ]
    assert sql("select count(*) from api.scenarios") == before


def test_latency_benchmark_requests_are_the_api_and_return_data(api, test_db):
    """Each request `coeqwal bench` times is a real API statement that, run as
    web_anon like PostgREST, returns a non-empty body (a request answering []
    would measure nothing); then pgbench itself runs the mix for 2 s and the
    report has a line per request type with transactions and the index plans,
    and each request type run alone gives its percentiles.
    Latencies are the benchmark's to report, not asserted here."""
    from coeqwal_tools.bench import api as bench_api

    draws = bench_api.Draws(["s0020", "s0029"], ["s0029"], ["S_SHSTA/STORAGE"])
    for request in bench_api.requests(MAX_ROWS):
        text = (
            bench_api.statement(request, draws)
            .replace("[:s]", "[1]")
            .replace("[:t]", "[2]")
            .replace("[:a]", "[1]")
            .replace("[:v]", "[1]")
            .replace("%", "%%")
        )
        accept = "application/geo+json" if "geo+json" in request.name else "application/json"
        body = api._run(request.path, {"accept": accept}, pgsql.SQL(text), [])
        rows = body["features"] if accept == "application/geo+json" else body
        assert rows, request.name
    report = bench_api.run(test_db, seconds=2, clients=2)
    for request in bench_api.requests():
        line = next(r for r in report if r.startswith(request.name + " "))
        assert int(line[len(request.name) :].split()[0].replace(",", "")) > 0, line
    assert any(r.startswith("total: ") for r in report)
    # Each request type alone, one key: every type ran, its percentiles ordered.
    alone = bench_api.alone_percentiles(test_db, seconds=1, one_key=True)
    assert list(alone) == [request.name for request in bench_api.requests()]
    for name, (count, p50, p95) in alone.items():
        assert count > 0 and 0 < p50 <= p95, (name, count, p50, p95)
    plans = "\n".join(report)
    # The per-scenario tables' keys (store.<model>__<scenario>__<build>).
    assert re.search(r"Index Scan using fct_series_values_compact__\w+_pkey", plans), plans
    assert re.search(r"Index Scan using fct_series_statistics_compact__\w+_pkey", plans), plans


def test_statement_timeout_cancels_long_queries(api, sql):
    configured = dict(api.role_settings).get("statement_timeout")
    assert configured is not None, "web_anon has no statement_timeout"
    seconds = {"ms": 0.001, "s": 1, "min": 60}
    number, unit = re.fullmatch(r"(\d+)\s*(ms|s|min)?", configured).groups()
    assert 0 < int(number) * seconds[unit or "ms"] <= 10
    # Inside a request the role's timeout is in force ...
    got = api.get("scenarios", "limit=1&select=scenario_id", pre="select 1")
    assert len(got) == 1
    conn = api.conn
    # ... and a query past a (here shortened) timeout is cancelled, not left running.
    with pytest.raises(errors.QueryCanceled):
        api.get(
            "scenarios", "limit=0", pre="set local statement_timeout = '200ms'; select pg_sleep(3)"
        )
    assert not conn.closed


def test_request_settings_are_visible_to_the_query(api):
    body = api.get(
        "scenarios",
        "limit=1&select=scenario_id",
        pre="do $$ begin if current_user <> 'web_anon' or current_setting('request.method') <> 'GET' "
        "or current_setting('request.path') <> '/scenarios' then raise 'request settings not set'; "
        "end if; end $$",
    )
    assert len(body) == 1


def test_responses_are_capped_at_db_max_rows(api, raw):
    assert 0 < MAX_ROWS <= 10_000
    series = sum(1 for (s, _) in raw if s == "s0020")
    got = api.get("timeseries", "scenario_id=eq.s0020&select=value")
    assert len(got) == min(series * 1200, MAX_ROWS)


# ----------------------------------------------------------------------------- serving


def fake_bin(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_coeqwal_api_starts_postgrest_with_the_conf_and_database_url(tmp_path, test_db):
    log = tmp_path / "postgrest.log"
    fake_bin(tmp_path, "postgrest", f'echo "$@" > {log}\necho "$PGRST_DB_URI" >> {log}\n')
    proc = coeqwal(
        "api", env={"PATH": f"{tmp_path}:/usr/bin:/bin", "PGRST_DB_URI": ""}, check=False
    )
    assert proc.returncode == 0, proc.stderr
    conf, url = log.read_text().splitlines()
    assert Path(conf) == CONF
    assert url == test_db.url()


def test_coeqwal_api_without_postgrest_or_docker_says_how_to_get_it(tmp_path):
    fake_bin(tmp_path, "docker", "exit 1\n")  # a docker CLI without a running engine
    proc = coeqwal("api", env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "postgrest" in lines[0].lower() and "releases" in lines[0] and "docker" in lines[0].lower()
    )


def test_coeqwal_api_uses_docker_compose_when_an_engine_runs(tmp_path):
    log = tmp_path / "docker.log"
    fake_bin(tmp_path, "docker", f'echo "$@" >> {log}\n')
    proc = coeqwal("api", env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("info")
    compose = ROOT / "infra" / "docker" / "docker-compose.yml"
    assert calls[-1].startswith(f"compose -f {compose} up")


# ----------------------------------------------------------------------------- over HTTP

POSTGREST_URL = os.environ.get("POSTGREST_URL")
http = pytest.mark.skipif(not POSTGREST_URL, reason="POSTGREST_URL is not set (no PostgREST here)")


def http_get(path: str, accept: str = "application/json"):
    request = urllib.request.Request(POSTGREST_URL.rstrip("/") + path, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


@http
def test_http_resources_answer_like_the_database_contract(api):
    for path, resource, query in [
        (
            "/scenarios?is_loaded=is.true&select=scenario_id&order=scenario_id",
            "scenarios",
            "is_loaded=is.true&select=scenario_id&order=scenario_id",
        ),
        (
            "/variables?kind=eq.storage&entity_code=eq.SHSTA",
            "variables",
            "kind=eq.storage&entity_code=eq.SHSTA",
        ),
    ]:
        status, body = http_get(path)
        assert status == 200 and body == api.get(resource, query)
    status, body = http_get(
        "/rpc/scenario_timeseries?variable_key=S_SHSTA/STORAGE&scenario_ids={s0020,s0029}"
    )
    assert status == 200
    assert body == api.rpc(
        "scenario_timeseries", {"variable_key": "S_SHSTA/STORAGE", "scenario_ids": "{s0020,s0029}"}
    )
    status, body = http_get("/reservoirs?reservoir_code=eq.SHSTA", accept="application/geo+json")
    assert status == 200 and body["type"] == "FeatureCollection"
    status, openapi = http_get("/", accept="application/openapi+json")
    assert (
        status == 200
        and "/timeseries" in openapi["paths"]
        and "/rpc/compare_scenarios" in openapi["paths"]
    )


@http
def test_http_writes_are_refused():
    request = urllib.request.Request(
        POSTGREST_URL.rstrip("/") + "/scenarios",
        data=b'{"scenario_id": "x"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code in (401, 403, 405)
