"""The outcome statistics (models/marts/statistics) checked against an
independent recomputation with numpy.

The independent path starts from the raw arrays the loader wrote
(`raw_dss.dss_series.monthly_values_f4` or `_f8`, read as text and parsed here
in Python at the precision its `value_precision` column states), rebuilds the calendar (water month, water
year, days per month) and the annual values in Python (flows in TAF with the
exact 86400 / 43560 / 1000, not the units seed), and computes every statistic
with numpy: `np.percentile` (linear, the default) for percentiles,
`np.percentile(x, 100 - X, method="weibull")` for the value exceeded X % of the
time (the Weibull plotting position rank / (n + 1)), `np.std(ddof=1)` for the
sample standard deviation. A seeded random sample of series is compared with
the marts at a relative tolerance of 1e-12 by water month, over all months and
over annual values, plus exceedance, year types, reservoir pools, delivery
reliability, salinity shares, comparisons and the exceedance_curve() function
(every row of every statistics mart is compared in test_statistics_real.py).
The last tests re-ingest one scenario and show, with dbt's own run_results,
that a build then processes only that scenario.
"""

from __future__ import annotations

import calendar
import json
import math
import random
from datetime import date

import numpy as np
import pytest

from ingest.build import target_path
from tests.python.conftest import coeqwal, table_reads

pytestmark = pytest.mark.db

RTOL = 1e-12
#: One CFS for one day in thousand acre-feet, by definition (not read from the units seed).
TAF_PER_CFS_DAY = 86_400 / 43_560 / 1_000
SAMPLE_SIZE = 24
SEED = 20261126
STATISTICS_MODELS = [
    "fct_series_statistics_compact",
    "fct_year_type_statistics_compact",
    "fct_reservoir_statistics",
    "fct_delivery_annual",
    "fct_delivery_statistics",
    "fct_delta_statistics",
]
#: The stored comparisons (fct_series_comparisons_compact and
#: fct_year_type_comparisons_compact are views: computed when read).
COMPARISON_MODELS = ["fct_outcome_comparisons"]


# ----------------------------------------------------------------------------- helpers


def parse_array(literal: str, precision: str) -> np.ndarray:
    """A PostgreSQL array literal `{1.5,NULL,...}` as the file's values, float64
    with NaN for NULL. The loader writes each value as the shortest decimal that
    reads back to the file's value at the precision of the series'
    `value_precision`: for `float32` (CalSim's output) the decimals are read as
    32-bit floats and widened exactly; for `float64` (a file storing doubles)
    they are the doubles themselves."""
    body = literal.strip()[1:-1]
    if not body:
        return np.array([], dtype=float)
    items = [item.strip() for item in body.split(",")]
    values = [np.nan if item.upper() == "NULL" else item for item in items]
    assert precision in ("float32", "float64"), precision
    return np.array(values, dtype=np.float32 if precision == "float32" else np.float64).astype(
        np.float64
    )


def close(actual: float | None, expected: float | None, scale: float = 1.0) -> bool:
    """Equal within RTOL, both missing, or both ~0 relative to the series' scale."""
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        return actual is None
    if actual is None:
        return False
    return bool(np.isclose(actual, expected, rtol=RTOL, atol=RTOL * 1e-3 * max(scale, 1.0)))


class Series:
    """One raw series with its calendar, rebuilt in Python."""

    def __init__(self, units: str, start: date, values: np.ndarray, taf_per_cfs_day: float):
        self.units = units
        self.values = values
        n = len(values)
        months = [(start.month - 1 + i) % 12 + 1 for i in range(n)]
        years = [start.year + (start.month - 1 + i) // 12 for i in range(n)]
        self.water_month = np.array([(m + 2) % 12 + 1 for m in months])
        self.water_year = np.array(
            [y + (1 if m >= 10 else 0) for y, m in zip(years, months, strict=True)]
        )
        self.calendar_month = np.array(months)
        days = np.array([calendar.monthrange(y, m)[1] for y, m in zip(years, months, strict=True)])
        self.is_flow = units == "CFS"
        self.taf = values * days * taf_per_cfs_day if self.is_flow else None

    def annual(self, min_months: int) -> dict[int, float]:
        """Annual values of complete years: TAF volume for flows, mean otherwise."""
        out = {}
        for wy in np.unique(self.water_year):
            sel = self.water_year == wy
            vals = self.values[sel]
            if np.count_nonzero(~np.isnan(vals)) < min_months:
                continue
            out[int(wy)] = float(np.sum(self.taf[sel])) if self.is_flow else float(np.mean(vals))
        return out


def numpy_statistics(values: np.ndarray, levels: list[tuple[str, float, bool]], guard: float):
    """Every statistic of the marts for one group of values (NaN = NULL, ignored)."""
    x = values[~np.isnan(values)]
    out: dict[str, float | None] = {}
    if len(x) == 0:
        return {code: None for code in ["mean", "sd", "cv", *[lvl[0] for lvl in levels]]}
    mean = float(np.mean(x))
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else None
    out["mean"] = mean
    out["sd"] = sd
    out["cv"] = sd / mean if sd is not None and abs(mean) >= guard else None
    for code, probability, is_exceedance in levels:
        if is_exceedance:
            out[code] = float(np.percentile(x, 100 * (1 - probability), method="weibull"))
        else:
            out[code] = float(np.percentile(x, 100 * probability))
    return out


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def parameters(warehouse, module_sql):
    sql = module_sql
    rows = sql("select parameter_code, value from seeds.statistics_parameters")
    params = dict(rows)
    assert params["plotting_position_a"] == 0, "the numpy path implements Weibull (a = 0)"
    levels = sql(
        "select statistic_code, coalesce(exceedance_pct, percentile)::float8 / 100,"
        " exceedance_pct is not null from seeds.statistic_types"
        " where percentile is not null or exceedance_pct is not null order by display_order"
    )
    return {
        "guard": params["cv_mean_guard"],
        "min_months": int(params["annual_min_months"]),
        "shortage_threshold": params["shortage_year_threshold_taf"],
        "levels": [(code, float(p), bool(e)) for code, p, e in levels],
    }


@pytest.fixture(scope="module")
def raw(warehouse, module_sql) -> dict[tuple[str, str], Series]:
    rows = module_sql(
        "select scenario_id, upper(b_part) || '/' || upper(c_part), upper(units), start_month,"
        " coalesce(monthly_values_f4::double precision[], monthly_values_f8)::text,"
        " value_precision from raw_dss.dss_series where file_role = 'DV'"
    )
    return {
        (s, k): Series(u, start, parse_array(v, precision), TAF_PER_CFS_DAY)
        for s, k, u, start, v, precision in rows
    }


@pytest.fixture(scope="module")
def sampled(raw) -> list[tuple[str, str]]:
    keys = sorted(raw)
    picked = random.Random(SEED).sample(keys, SAMPLE_SIZE)
    # always include a storage, a flow and the all-year-type series
    for must in (("s0020", "S_SHSTA/STORAGE"), ("s0020", "DEL_SWP_PMI/DELIVERY-SWP")):
        if must not in picked:
            picked.append(must)
    return picked


def mart_statistics(sql, scenario_id: str, variable_key: str) -> dict:
    rows = sql(
        "select period, statistic_code, value, value_count, missing_count"
        " from marts.fct_series_statistics where scenario_id = %s and variable_key = %s",
        (scenario_id, variable_key),
    )
    return {(p, code): (value, n, missing) for p, code, value, n, missing in rows}


def assert_group(got: dict, period: str, values: np.ndarray, parameters, label: str):
    expected = numpy_statistics(values, parameters["levels"], parameters["guard"])
    finite = values[~np.isnan(values)]
    scale = float(np.max(np.abs(finite))) if len(finite) else 1.0
    for code, value in expected.items():
        actual = got[(period, code)][0]
        assert close(actual, value, scale), f"{label} {period} {code}: mart {actual}, numpy {value}"
    n = int(np.count_nonzero(~np.isnan(values)))
    assert got[(period, "mean")][1] == n, f"{label} {period}: value_count"


# ----------------------------------------------------------------------------- statistics


def test_series_statistics_by_water_month_all_months_and_annual(sql, raw, sampled, parameters):
    for scenario_id, key in sampled:
        series = raw[(scenario_id, key)]
        got = mart_statistics(sql, scenario_id, key)
        label = f"{scenario_id} {key}"
        assert_group(got, "all", series.values, parameters, label)
        assert got[("all", "mean")][2] == int(np.count_nonzero(np.isnan(series.values)))
        for wm in range(1, 13):
            assert_group(got, str(wm), series.values[series.water_month == wm], parameters, label)
        annual = np.array(list(series.annual(parameters["min_months"]).values()))
        assert_group(got, "annual", annual, parameters, label)


def sequential_mean_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample sd accumulated one value at a time in double precision,
    the way PostgreSQL's avg and stddev_samp on float8 do it (float8_accum: a
    running sum and the Youngs-Cramer running sum of squares)."""
    n = total = squares = 0.0
    for x in values:
        n += 1.0
        total += x
        if n > 1.0:
            t = x * n - total
            squares += t * t / (n * (n - 1.0))
    sd = None if n < 2.0 else (0.0 if squares <= 0.0 else math.sqrt(squares / (n - 1.0)))
    return total / n, sd


def test_annual_mean_and_sd_are_summed_in_water_year_order(warehouse, sql):
    """docs/domain.md, "Same file, same bits": the annual mean and sd of every
    series are its annual values accumulated in water-year order, to the last bit.
    The same values reversed give other bits for some series, so the order is
    what this checks."""
    rows = sql(
        "select a.scenario_id, a.variable_key,"
        " array_agg(a.annual_value order by a.water_year) filter (where a.is_counted),"
        " s.mean, s.sd"
        " from intermediate.int_annual_values_selected as a"
        " join marts.fct_series_statistics_compact as s"
        "   on s.scenario_id = a.scenario_id and s.variable_key = a.variable_key"
        "   and s.period = 'annual'"
        " group by a.scenario_id, a.variable_key, s.mean, s.sd"
    )
    assert len(rows) > 800
    exact = reversed_differs = 0
    for scenario_id, key, values, mean, sd in rows:
        values = [v for v in values or [] if v is not None]
        if len(values) < 2 or min(values) == max(values):
            continue  # sd is exactly 0 there (a rule of its own, tested elsewhere)
        expected = sequential_mean_sd(values)
        assert (mean, sd) == expected, f"{scenario_id} {key}: mart {mean!r}, {sd!r}; {expected}"
        exact += 1
        reversed_differs += sequential_mean_sd(values[::-1]) != expected
    assert exact > 800
    assert reversed_differs > 0, "no series where the order changes the bits: nothing was shown"


def test_exceedance_is_weibull_and_curve_function_agrees(sql, raw, parameters):
    series = raw[("s0020", "S_SHSTA/STORAGE")]
    april = series.values[series.water_month == 7]
    april = april[~np.isnan(april)]
    ranked = np.sort(april)[::-1]
    n = len(ranked)
    curve = sql(
        "select exceedance_pct, value, value_rank from marts.exceedance_curve('s0020', 'S_SHSTA/STORAGE', '7')"
    )
    assert [r[2] for r in curve] == list(range(1, n + 1))
    for (pct, value, rank), expected in zip(curve, ranked, strict=True):
        assert close(pct, 100 * rank / (n + 1))
        assert close(value, float(expected))
    # the curve read at X % is the exceedance statistic
    got = mart_statistics(sql, "s0020", "S_SHSTA/STORAGE")
    pcts = np.array([r[0] for r in curve])
    for code, probability, is_exceedance in parameters["levels"]:
        if is_exceedance:
            read = float(np.interp(100 * probability, pcts, ranked))
            assert close(got[("7", code)][0], read, float(ranked[0])), code
    assert sql("select count(*) from marts.exceedance_curve('s0020', 'NO_SUCH/SERIES')") == [(0,)]
    annual = sql(
        "select count(*) from marts.exceedance_curve('s0020', 'S_SHSTA/STORAGE', 'annual')"
    )
    assert annual == [(len(series.annual(parameters["min_months"])),)]


def test_statistics_by_year_type_both_sources(sql, raw, parameters):
    cdec = dict(
        sql("select water_year, year_type_code from seeds.water_year_types where valley = 'SAC'")
    )
    for scenario_id, key in (("s0020", "S_SHSTA/STORAGE"), ("s0029", "NDOI/FLOW")):
        series = raw[(scenario_id, key)]
        wyt = raw[(scenario_id, "WYT_SAC_/WATERYEARTYPE")]
        may = wyt.calendar_month == 5
        model = {
            int(wy): round(float(v))
            for wy, v in zip(wyt.water_year[may], wyt.values[may], strict=True)
        }
        rows = sql(
            "select year_type_source, year_type_code, period, statistic_code, value"
            " from marts.fct_year_type_statistics where scenario_id = %s and variable_key = %s",
            (scenario_id, key),
        )
        got = {(s, t, p, c): v for s, t, p, c, v in rows}
        annual = series.annual(parameters["min_months"])
        for source, types in (("cdec", cdec), ("model", model)):
            year_types = np.array([types.get(int(wy), 0) for wy in series.water_year])
            for code in sorted(set(year_types) - {0}):
                expected = numpy_statistics(
                    series.values[year_types == code], parameters["levels"], parameters["guard"]
                )
                for stat, value in expected.items():
                    assert close(got[(source, code, "all", stat)], value, 1e4), (
                        scenario_id,
                        key,
                        source,
                        code,
                        stat,
                    )
                yearly = np.array([v for wy, v in annual.items() if types.get(wy) == code])
                if len(yearly):
                    expected = numpy_statistics(yearly, parameters["levels"], parameters["guard"])
                    for stat, value in expected.items():
                        assert close(got[(source, code, "annual", stat)], value, 1e4), (
                            source,
                            code,
                            stat,
                        )


def test_reservoir_pools_and_percent_of_capacity(sql, raw):
    storage = raw[("s0020", "S_SHSTA/STORAGE")]
    level5 = raw[("s0020", "S_SHSTALEVEL5DV/STORAGE-LEVEL")].values
    level1 = raw[("s0020", "S_SHSTALEVEL1DV/STORAGE-LEVEL")].values
    capacity = sql(
        "select capacity_taf::float8 from marts.dim_reservoirs where reservoir_code = 'SHSTA'"
    )[0][0]
    rows = sql(
        "select metric_code, period, statistic_code, value from marts.fct_reservoir_statistics"
        " where scenario_id = 's0020' and reservoir_code = 'SHSTA'"
    )
    got = {(m, p, s): v for m, p, s, v in rows}
    for period, sel in (
        ("all", slice(None)),
        ("7", storage.water_month == 7),
        ("12", storage.water_month == 12),
    ):
        s = storage.values[sel]
        assert close(got[("flood_pool", period, "probability")], float(np.mean(s >= level5[sel])))
        assert close(got[("dead_pool", period, "probability")], float(np.mean(s <= level1[sel])))
    april = storage.values[storage.water_month == 7]
    assert close(
        got[("storage_pct_capacity", "7", "q50")], float(np.percentile(april, 50)) * 100 / capacity
    )
    assert close(got[("storage", "7", "mean")], float(np.mean(april)))
    assert not any(m == "spill" for m, _, _ in got), "the sample has no flood-release series"


def test_delivery_reliability_and_shortage_years(sql, raw, parameters):
    for scenario_id in ("s0020", "s0029"):
        delivery = raw[(scenario_id, "DEL_SWP_PMI/DELIVERY-SWP")].annual(parameters["min_months"])
        shortage = raw[(scenario_id, "SHORT_SWP_PMI/DELIVERY-SHORTAGE-SWP")]
        # annual() gives volumes for flows; both are CFS series
        shortage = shortage.annual(parameters["min_months"])
        years = sorted(set(delivery) & set(shortage))
        d = np.array([delivery[y] for y in years])
        s = np.array([shortage[y] for y in years])
        rows = sql(
            "select metric_code, statistic_code, value, value_count from marts.fct_delivery_statistics"
            " where scenario_id = %s and delivery_code = 'SWP_PMI'",
            (scenario_id,),
        )
        got = {(m, st): (v, n) for m, st, v, n in rows}
        assert got[("delivery", "reliability")][1] == len(years)
        assert close(got[("delivery", "reliability")][0], 1 - s.mean() / (d + s).mean())
        assert close(got[("delivery", "mean")][0], d.mean())
        assert close(
            got[("shortage", "shortage_years")][0],
            float(np.sum(s > parameters["shortage_threshold"])),
        )
        assert close(got[("percent_demand_met", "mean")][0], float(np.mean(100 * d / (d + s))))


def test_delta_salinity_shares_x2_and_outflow(sql, raw):
    thresholds = sql(
        "select series_code, threshold_umhos_cm::float8 from seeds.salinity_thresholds"
    )
    for scenario_id in ("s0020", "s0044"):
        rows = sql(
            "select series_code, metric_code, period, statistic_code, value"
            " from marts.fct_delta_statistics where scenario_id = %s",
            (scenario_id,),
        )
        got = {(c, m, p, s): v for c, m, p, s, v in rows}
        for code, threshold in thresholds:
            key = {"EM": "EM_EC_MONTH/SALINITY", "JP": "JP_EC_MONTH/SALINITY"}[code]
            ec = raw[(scenario_id, key)].values
            ec = ec[~np.isnan(ec)]
            share = float(np.mean(ec > threshold))
            assert close(got[(code, "salinity", "all", f"share_above_{threshold:g}")], share), (
                code,
                threshold,
            )
        x2 = raw[(scenario_id, "X2_PRV_KM/X2-POSITION-PREV")]
        spring = x2.values[np.isin(x2.calendar_month, [3, 4, 5])]
        fall = x2.values[np.isin(x2.calendar_month, [9, 10, 11])]
        assert close(got[("X2", "x2_position", "spring", "mean")], float(np.nanmean(spring)))
        assert close(got[("X2", "x2_position", "fall", "mean")], float(np.nanmean(fall)))
        ndoi = raw[(scenario_id, "NDOI/FLOW")]
        annual = np.array(list(ndoi.annual(12).values()))
        assert close(got[("NDOI", "outflow", "annual", "mean")], float(annual.mean()))
        assert close(
            got[("NDOI", "outflow", "4", "mean")],
            float(np.mean(ndoi.values[ndoi.water_month == 4])),
        )


def test_comparisons_with_the_baseline(sql, raw, sampled, parameters):
    baselines = dict(
        sql("select scenario_id, baseline_scenario_id from marts.dim_scenarios where is_loaded")
    )
    for scenario_id, key in sampled:
        baseline = baselines[scenario_id]
        rows = sql(
            "select period, statistic_code, value, baseline_value, difference, percent_difference"
            " from marts.fct_series_comparisons where scenario_id = %s and variable_key = %s",
            (scenario_id, key),
        )
        if baseline is None:
            assert rows == [], f"{scenario_id} is a baseline: no comparisons"
            continue
        assert baseline == "s0020"
        got = {(p, c): (v, b, d, pct) for p, c, v, b, d, pct in rows}
        current = raw[(scenario_id, key)].values
        base = raw[(baseline, key)].values
        for code in ("mean", "q50", "exc90"):
            mine = numpy_statistics(current, parameters["levels"], parameters["guard"])[code]
            theirs = numpy_statistics(base, parameters["levels"], parameters["guard"])[code]
            value, baseline_value, difference, percent = got[("all", code)]
            scale = float(np.nanmax(np.abs(current)))
            assert close(value, mine, scale) and close(baseline_value, theirs, scale)
            assert close(difference, mine - theirs, scale)
            if theirs == 0:
                assert percent is None
            else:
                assert close(percent, 100 * (mine - theirs) / abs(theirs), 100)


# ----------------------------------------------------------------------------- incremental builds


def build_statistics() -> dict[str, dict]:
    """`coeqwal build` of the statistics and everything upstream; dbt's run results per model."""
    coeqwal("build", "--select", "+path:models/marts/statistics")
    results = json.loads((target_path() / "run_results.json").read_text())
    out = {}
    for res in results["results"]:
        name = res["unique_id"].split(".")[-1]
        if res["unique_id"].startswith("model.") and name in STATISTICS_MODELS + COMPARISON_MODELS:
            out[name] = {
                "rows": (res.get("adapter_response") or {}).get("rows_affected"),
                "seconds": res["execution_time"],
            }
    return out


def rows_per_scenario(sql, model: str) -> dict[str, int]:
    return dict(sql(f"select scenario_id, count(*)::int from marts.{model} group by scenario_id"))


def timing_table(results: dict[str, dict]) -> str:
    return "\n".join(f"{m}: {r['rows']} rows in {r['seconds']:.2f} s" for m, r in results.items())


def test_rebuilding_one_alternative_processes_only_it(warehouse, sql, record_property):
    """Re-ingest s0044 (an alternative): the statistics models insert exactly its
    rows (dbt's rows_affected), the comparisons only its own."""
    # Other test modules share the session's warehouse (and may have left a
    # scenario changed since the last build): bring the statistics up to date first.
    build_statistics()
    coeqwal("ingest", "dss", "--scenario", "s0044", "--force", str(warehouse["s0044"]))
    results = build_statistics()
    record_property("incremental_alternative", timing_table(results))
    print("\nrebuild after re-ingesting s0044:\n" + timing_table(results))
    for model in STATISTICS_MODELS + COMPARISON_MODELS:
        expected = rows_per_scenario(sql, model).get("s0044", 0)
        assert results[model]["rows"] == expected, (
            f"{model}: {results[model]} vs {expected} rows of s0044"
        )
        total = sum(rows_per_scenario(sql, model).values())
        assert expected < total, f"{model}: other scenarios must exist to make the point"


def test_rebuilding_the_baseline_recomputes_its_alternatives_comparisons(
    warehouse, sql, record_property
):
    """Re-ingest s0020 (the baseline): statistics recompute s0020 only, the
    comparisons recompute every alternative compared with it (s0029, s0044)."""
    coeqwal("ingest", "dss", "--scenario", "s0020", "--force", str(warehouse["s0020"]))
    results = build_statistics()
    record_property("incremental_baseline", timing_table(results))
    print("\nrebuild after re-ingesting the baseline s0020:\n" + timing_table(results))
    for model in STATISTICS_MODELS:
        expected = rows_per_scenario(sql, model).get("s0020", 0)
        assert results[model]["rows"] == expected, model
    for model in COMPARISON_MODELS:
        per_scenario = rows_per_scenario(sql, model)
        assert set(per_scenario) == {"s0029", "s0044"}, model
        assert results[model]["rows"] == per_scenario["s0029"] + per_scenario["s0044"], model


def raw_series_reads(sql) -> int:
    """Scans of the raw series' partitions so far."""
    return table_reads(sql, "schemaname = 'raw_dss' and relname like 'dss\\_series\\_\\_%'")


def test_a_build_tests_what_it_computed_model_by_model(warehouse, sql):
    """A test's scope is the scenarios that this build computed for the
    per-scenario models the test reads, not for any model: here one scenario's
    series inventory alone is recomputed (its registry row made stale, as when a
    release adds a per-scenario model), and no test reads that scenario's
    statistics tables, while the inventory's own test checks that scenario."""
    coeqwal("build")  # whatever another test left changed
    scenario = sorted(warehouse)[0]
    statistics_parts = [
        name
        for (name,) in sql(
            "select parts.relation_name from store.scenario_parts as parts "
            "join store.part_readers as readers using (relation_name) "
            "where parts.scenario_id = %s and parts.model_name in "
            "('fct_series_statistics_compact', 'fct_year_type_statistics_compact')",
            (scenario,),
        )
    ]
    assert len(set(statistics_parts)) == 2, statistics_parts
    condition = "schemaname = 'store' and relname = any(%s)"
    sql(
        "update store.scenario_parts set loaded_at = null "
        "where model_name = 'fct_series_inventory' and scenario_id = %s",
        (scenario,),
    )
    before = table_reads(sql, condition, (statistics_parts,))
    coeqwal("build")
    results = {
        res["unique_id"]: res
        for res in json.loads((target_path() / "run_results.json").read_text())["results"]
    }
    inventory = results["model.coeqwal.fct_series_inventory"]
    assert (inventory.get("adapter_response") or {}).get("rows_affected") == 1
    assert table_reads(sql, condition, (statistics_parts,)) == before
    # The scope each test was given: the inventory's checks name the scenario,
    # the statistics' tests nothing (limit 0).
    assert (
        f"in ('{scenario}')"
        in (results["test.coeqwal.assert_series_inventory_matches_series"]["compiled_code"])
    )
    statistics_tests = [
        res
        for uid, res in results.items()
        if uid.startswith("test.coeqwal.unique_combination_fct_year_type_statistics_compact")
    ]
    assert statistics_tests and all(
        "limit 0" in res["compiled_code"] for res in statistics_tests
    ), [res["compiled_code"] for res in statistics_tests]
    # The counters do see a test's read of those tables (the check above can fail).
    sql(f'select count(*) from store."{statistics_parts[0]}"')
    assert table_reads(sql, condition, (statistics_parts,)) > before


def test_nothing_changed_nothing_rebuilt(warehouse, sql):
    """A build with nothing new rebuilds no row, and deciding so reads the load
    records (raw_dss.dss_loads, one row per scenario), not the raw series: no
    raw partition is scanned, by the models or by the tests of the raw views."""
    build_statistics()  # whatever another test left changed
    before = raw_series_reads(sql)
    results = build_statistics()
    assert raw_series_reads(sql) == before
    for model, res in results.items():
        assert res["rows"] == 0, f"{model} rebuilt {res['rows']} rows with no change"
    # The counts do see a read of the series (the check above can fail).
    sql("select count(*) from raw_dss.dss_series where month_count > 0")
    assert raw_series_reads(sql) > before
