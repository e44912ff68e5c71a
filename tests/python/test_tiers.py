"""COEQWAL tiers (models/marts/tiers) on the three sample scenarios, and on the
real CalSim II file that has none of the tier inputs.

The marts are checked for coverage (every indicator for every loaded scenario,
computed or delivered as tier_indicators says; every rated location of a
computed indicator has a row: all 8 reservoirs, COEQWAL's 71 community water
system demand units, the 42 water budget areas), internal consistency (shares
sum to 1, scores follow from them), the placeholder flag of the delivered rows
(against COEQWAL's published tier_result.csv) and plausibility against what
each sample scenario changes (coeqwal_tools/sample/dss.py): s0044 raises Shasta's
carryover target, so its RES_STOR must be no worse than the baseline s0020 and
Shasta's April storage meets the thresholds more often; s0029 (functional
flows) releases more, delivers less and pumps more groundwater, so its
RES_STOR, CWS_DEL and GW_STOR are no better.

The computed levels of RES_STOR, CWS_DEL, FW_DELTA_USES and GW_STOR are then
recomputed independently: the raw arrays the loader wrote
(raw_dss.dss_series.monthly_values_f4 or _f8) parsed here, the water-year calendar and TAF volumes rebuilt
in Python, the rules of domain.md applied with numpy to the thresholds of the
seed tier_rule_parameters (a location's own rows, else the indicator's `*`
default rows) and, for CWS_DEL, to the series of the seed demand_unit_series
(delivery arcs summed; percent of demand met over the demand series where the
scenario has it, else over delivery + shortage).
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tests.python.conftest import ROOT, TEST_DATABASE, coeqwal, fresh_database, sql_runner

pytestmark = pytest.mark.db

SCENARIOS = ("s0020", "s0029", "s0044")
RTOL = 1e-9
COMPUTED = ("RES_STOR", "CWS_DEL", "FW_DELTA_USES", "FW_EXP", "GW_STOR")


# ----------------------------------------------------------------------------- helpers


def seed(relative: str) -> list[dict[str, str]]:
    with open(ROOT / "seeds" / relative, newline="") as f:
        return list(csv.DictReader(f))


def parse_array(literal: str, precision: str) -> np.ndarray:
    """A PostgreSQL array literal `{1.5,NULL,...}` as float64 with NaN for NULL.
    The loader writes float32 values (value_precision `float32`) as their
    shortest decimals; they are read back to float32 and widened exactly, as
    the warehouse's real -> double precision cast does."""
    body = literal.strip()[1:-1]
    if not body:
        return np.array([], dtype=float)
    values = np.array(
        [np.nan if item.strip().upper() == "NULL" else float(item) for item in body.split(",")]
    )
    if precision == "float32":
        return values.astype(np.float32).astype(np.float64)
    return values


class Raw:
    """One raw series with its water-year calendar, rebuilt in Python."""

    def __init__(self, start: date, values: np.ndarray, taf_per_cfs_day: float):
        n = len(values)
        months = np.array([(start.month - 1 + i) % 12 + 1 for i in range(n)])
        years = np.array([start.year + (start.month - 1 + i) // 12 for i in range(n)])
        self.values = values
        self.water_month = (months + 2) % 12 + 1  # Oct = 1 ... Sep = 12
        self.water_year = years + (months >= 10)
        self.month_key = years * 100 + months
        days = np.array([calendar.monthrange(y, m)[1] for y, m in zip(years, months, strict=True)])
        self.taf = values * days * taf_per_cfs_day

    def at_water_month(self, water_month: int) -> dict[int, float]:
        sel = self.water_month == water_month
        return dict(zip(self.water_year[sel].tolist(), self.values[sel].tolist(), strict=True))

    def annual_taf(self, min_months: int) -> dict[int, float]:
        """Water-year volume (TAF) of complete years (at least min_months values)."""
        out = {}
        for wy in np.unique(self.water_year):
            sel = self.water_year == wy
            if np.count_nonzero(~np.isnan(self.values[sel])) >= min_months:
                out[int(wy)] = float(np.nansum(self.taf[sel]))
        return out


def share_level(values: np.ndarray, params: dict[int, dict]) -> tuple[int, list, list]:
    """Level of a share rule (domain.md): the best level whose share of values
    meeting its threshold reaches min_share and whose limit share stays within
    max_limit_share. NaN values are missing and left out. Returns the level,
    the three met shares and the three limit shares (None without a limit)."""
    ops = {">=": np.greater_equal, ">": np.greater, "<": np.less, "<=": np.less_equal}
    x = values[~np.isnan(values)]
    shares, limits = [], []
    level = 4
    for lvl in (3, 2, 1):
        p = params[lvl]
        met = float(np.mean(ops[p["threshold_comparison"]](x, p["threshold_value"])))
        ok = met >= p["min_share"] - 1e-12
        bad = None
        if p["limit_value"] is not None:
            bad = float(np.mean(ops[p["limit_comparison"]](x, p["limit_value"])))
            ok = ok and bad <= p["max_limit_share"] + 1e-12
        shares.insert(0, met)
        limits.insert(0, bad)
        if ok:
            level = lvl
    return level, shares, limits


def rule_of(rule_parameters: dict, indicator: str, location: str) -> dict[int, dict]:
    """The rule a location is rated with: its own rows, else the indicator's `*` rows."""
    own = rule_parameters.get((indicator, location))
    return own if own is not None else rule_parameters[(indicator, "*")]


# ----------------------------------------------------------------------------- fixtures


def load_raw(module_sql) -> dict[tuple[str, str], Raw]:
    factor = module_sql("select taf_per_cfs_day::float8 from seeds.units where unit_code = 'CFS'")
    rows = module_sql(
        "select scenario_id, upper(b_part) || '/' || upper(c_part), upper(units), start_month,"
        " coalesce(monthly_values_f4::double precision[], monthly_values_f8)::text,"
        " value_precision from raw_dss.dss_series where file_role = 'DV'"
    )
    return {
        (s, k): Raw(start, parse_array(v, p), factor[0][0] if u == "CFS" else np.nan)
        for s, k, u, start, v, p in rows
    }


@pytest.fixture(scope="module")
def raw(warehouse, module_sql) -> dict[tuple[str, str], Raw]:
    return load_raw(module_sql)


@pytest.fixture(scope="module")
def rule_parameters(warehouse, module_sql) -> dict[tuple[str, str], dict[int, dict]]:
    rows = module_sql(
        "select indicator_code, location_code, tier_level, threshold_comparison,"
        " threshold_value::float8, min_share::float8, limit_comparison, limit_value::float8,"
        " max_limit_share::float8 from seeds.tier_rule_parameters"
    )
    out: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for ind, loc, lvl, cmp_, thr, share, lcmp, lim, maxlim in rows:
        out[(ind, loc)][lvl] = {
            "threshold_comparison": cmp_,
            "threshold_value": thr,
            "min_share": share,
            "limit_comparison": lcmp,
            "limit_value": lim,
            "max_limit_share": maxlim,
        }
    return dict(out)


def read_location_results(sql) -> dict[tuple[str, str, str], dict]:
    rows = sql(
        "select scenario_id, indicator_code, location_code, tier_level, value_count,"
        " level_1_share, level_2_share, level_3_share, level_1_limit_share,"
        " level_2_limit_share, level_3_limit_share, metric_value, baseline_metric_value,"
        " result_source, source, is_placeholder, unrated_reason"
        " from marts.fct_tier_location_results"
    )
    return {
        (r[0], r[1], r[2]): {
            "level": r[3],
            "n": r[4],
            "shares": list(r[5:8]),
            "limits": list(r[8:11]),
            "metric": r[11],
            "baseline": r[12],
            "result_source": r[13],
            "source": r[14],
            "placeholder": r[15],
            "reason": r[16],
        }
        for r in rows
    }


def read_results(sql) -> dict[tuple[str, str], dict]:
    rows = sql(
        "select scenario_id, indicator_code, result_source, tier_type, tier_1_count,"
        " tier_2_count, tier_3_count, tier_4_count, total_count, single_tier_level,"
        " tier_1_share, tier_2_share, tier_3_share, tier_4_share, weighted_score,"
        " normalized_score, source, is_placeholder, unrated_count from api.tiers"
    )
    return {
        (r[0], r[1]): {
            "result_source": r[2],
            "type": r[3],
            "counts": list(r[4:8]),
            "total": r[8],
            "single": r[9],
            "shares": list(r[10:14]),
            "weighted": r[14],
            "normalized": r[15],
            "source": r[16],
            "placeholder": r[17],
            "unrated": r[18],
        }
        for r in rows
    }


@pytest.fixture(scope="module")
def location_results(warehouse, module_sql) -> dict[tuple[str, str, str], dict]:
    return read_location_results(module_sql)


@pytest.fixture(scope="module")
def results(warehouse, module_sql) -> dict[tuple[str, str], dict]:
    return read_results(module_sql)


def rated_locations(indicator: str) -> list[tuple[str, str | None]]:
    """(location_code, B/C or None) of an indicator's rated locations, from the seed file."""
    return [
        (r["location_code"], f"{r['b_part']}/{r['c_part']}" if r["b_part"] else None)
        for r in seed("tiers/tier_locations.csv")
        if r["indicator_code"] == indicator and r["role"] == "rated"
    ]


def unit_series() -> dict[str, dict[str, list[str]]]:
    """{du_code: {role: [B/C, ...]}} of seeds/entities/demand_unit_series.csv."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in seed("entities/demand_unit_series.csv"):
        out[r["du_code"]][r["series_role"]].append(f"{r['b_part']}/{r['c_part']}")
    return out


# ----------------------------------------------------------------------------- coverage


def test_every_indicator_served_for_every_loaded_scenario(module_sql, results):
    indicators = {
        r["indicator_code"]: r["result_source"]
        for r in seed("tiers/tier_indicators.csv")
        if r["is_active"] == "true"
    }
    assert len(indicators) == 9
    loaded = {
        r[0] for r in module_sql("select scenario_id from marts.dim_scenarios where is_loaded")
    }
    assert loaded == set(SCENARIOS)
    # computed: every indicator; delivered: what the seed delivers (no salmon
    # result for s0044: COEQWAL publishes none and nothing is invented).
    delivered = {
        (r["scenario_id"], r["indicator_code"]) for r in seed("tiers/tier_delivered_results.csv")
    }
    assert ("s0044", "WRC_SALMON_AB") not in delivered
    expected = {(s, i) for s in loaded for i, src in indicators.items() if src == "computed"}
    expected |= {(s, i) for s, i in delivered if s in loaded}
    assert set(results) == expected
    for (scenario_id, indicator), row in results.items():
        assert row["result_source"] == indicators[indicator], (scenario_id, indicator)


def test_every_rated_location_has_a_row(location_results):
    """All 8 reservoirs, COEQWAL's 71 CWS units, the 42 water budget areas and the
    one DELTA location of FW_DELTA_USES and FW_EXP, for every loaded scenario."""
    sizes = {"RES_STOR": 8, "CWS_DEL": 71, "GW_STOR": 42, "FW_DELTA_USES": 1, "FW_EXP": 1}
    areas = {r["wba_code"] for r in seed("entities/water_budget_areas.csv")}
    assert len(areas) == 42
    assert {code for code, _ in rated_locations("GW_STOR")} == areas
    for indicator, size in sizes.items():
        codes = {code for code, _ in rated_locations(indicator)}
        assert len(codes) == size, indicator
        for scenario_id in SCENARIOS:
            got = {loc for (s, i, loc) in location_results if s == scenario_id and i == indicator}
            assert got == codes, (scenario_id, indicator)


def test_shares_sum_to_one_and_scores_follow(results, location_results):
    for key, row in results.items():
        assert sum(row["counts"]) == row["total"] > 0, key
        assert np.isclose(sum(row["shares"]), 1.0, rtol=0, atol=1e-12), key
        expected = [c / row["total"] for c in row["counts"]]
        assert np.allclose(row["shares"], expected, rtol=RTOL), key
        weighted = sum(level * share for level, share in zip((1, 2, 3, 4), expected, strict=True))
        assert np.isclose(row["weighted"], weighted, rtol=RTOL), key
        assert np.isclose(row["normalized"], (4 - weighted) / 3, rtol=RTOL), key
        assert 1 <= row["weighted"] <= 4 and 0 <= row["normalized"] <= 1, key
        if row["type"] == "single_value":
            assert row["total"] == 1 and row["counts"][row["single"] - 1] == 1, key
        else:
            assert row["single"] is None, key
        if row["result_source"] == "computed":
            levels = [v["level"] for (s, i, _), v in location_results.items() if (s, i) == key]
            assert row["counts"] == [levels.count(k) for k in (1, 2, 3, 4)], key
            assert row["unrated"] == levels.count(None), key


def test_units_without_calsim_series_are_unrated_with_the_reason(location_results, results):
    """JLIND and UPANG: COEQWAL rates them, CalSim3 output has no delivery for them."""
    codes = {code for code, _ in rated_locations("CWS_DEL")}
    assert len(codes) == 71 and codes - set(unit_series()) == {"JLIND", "UPANG"}
    for scenario_id in SCENARIOS:
        for code in ("JLIND", "UPANG"):
            row = location_results[(scenario_id, "CWS_DEL", code)]
            assert row["level"] is None and row["n"] is None and row["metric"] is None
            assert row["reason"] == "no CalSim3 series for this unit"
        rated = [
            v for (s, i, _), v in location_results.items() if s == scenario_id and i == "CWS_DEL"
        ]
        assert all((v["level"] is None) == (v["reason"] is not None) for v in rated)
        assert results[(scenario_id, "CWS_DEL")]["unrated"] == 2
        assert results[(scenario_id, "CWS_DEL")]["total"] == 69


def test_delivered_rows_are_flagged_placeholders_copied_from_coeqwal(
    shared_data, results, location_results
):
    delivered = seed("tiers/tier_delivered_results.csv")
    assert len(delivered) == 11
    published = {}
    with open(shared_data / "reference" / "coeqwal" / "tier_result.csv", newline="") as f:
        for r in csv.DictReader(f):
            published[(r["scenario_short_code"], r["tier_short_code"])] = r
    for r in delivered:
        key = (r["scenario_id"], r["indicator_code"])
        # every row copies COEQWAL's published value for that scenario id ...
        assert key in published, key
        pub = published[key]
        if r["single_tier_level"]:
            assert r["single_tier_level"] == pub["single_tier_level"], key
        else:
            counts = [r[f"tier_{k}_count"] for k in (1, 2, 3, 4)]
            assert counts == [pub[f"tier_{k}_value"] for k in (1, 2, 3, 4)], key
        # ... and says so
        assert r["source"] == "coeqwal_tier_result_csv" and r["is_placeholder"] == "true", key
        row = results[key]
        assert row["result_source"] == "delivered", key
        assert row["source"] == "coeqwal_tier_result_csv" and row["placeholder"] is True, key
        if r["single_tier_level"]:
            assert row["single"] == int(r["single_tier_level"]), key
            location = next(v for (s, i, _), v in location_results.items() if (s, i) == key)
            assert location["placeholder"] is True and location["source"] == r["source"], key
        else:
            assert row["counts"] == [int(r[f"tier_{k}_count"]) for k in (1, 2, 3, 4)], key
            assert row["unrated"] is None, key
    for key, row in results.items():
        if row["result_source"] == "computed":
            assert row["source"] == "computed" and row["placeholder"] is False, key
    for key, row in location_results.items():
        if row["result_source"] == "computed":
            assert row["source"] == "computed" and row["placeholder"] is False, key


# ----------------------------------------------------------------------------- plausibility


def test_sample_scenarios_get_different_plausible_tiers(results, location_results):
    profile = {
        s: tuple(
            tuple(results[(s, i)]["counts"]) for i in sorted({k[1] for k in results if k[0] == s})
        )
        for s in SCENARIOS
    }
    assert len(set(profile.values())) == 3, "the three scenarios should not rate identically"
    weighted = {
        (s, i): results[(s, i)]["weighted"]
        for s in SCENARIOS
        for i in ("RES_STOR", "GW_STOR", "CWS_DEL")
    }
    # s0044 raises Shasta's carryover target: RES_STOR no worse than the baseline,
    # and Shasta's April storage meets its middle threshold more often.
    assert weighted[("s0044", "RES_STOR")] <= weighted[("s0020", "RES_STOR")]
    shasta = {s: location_results[(s, "RES_STOR", "SHSTA")] for s in SCENARIOS}
    assert shasta["s0044"]["level"] <= shasta["s0020"]["level"]
    assert shasta["s0044"]["shares"][1] > shasta["s0020"]["shares"][1]
    # s0029 (functional flows) releases more: lower spring storage, lower
    # deliveries, more pumping.
    assert weighted[("s0029", "RES_STOR")] >= weighted[("s0020", "RES_STOR")]
    assert shasta["s0029"]["shares"][1] < shasta["s0020"]["shares"][1]
    assert weighted[("s0029", "GW_STOR")] > weighted[("s0020", "GW_STOR")]
    assert weighted[("s0029", "CWS_DEL")] > weighted[("s0020", "CWS_DEL")]
    # a spread of levels, as COEQWAL's own results have
    for s in SCENARIOS:
        assert sum(c > 0 for c in results[(s, "CWS_DEL")]["counts"]) >= 3, s
        assert sum(c > 0 for c in results[(s, "GW_STOR")]["counts"]) >= 3, s
    # the baseline compares its groundwater trend with itself
    for code, _ in rated_locations("GW_STOR"):
        base = location_results[("s0020", "GW_STOR", code)]
        assert base["metric"] == base["baseline"], code


# ----------------------------------------------------------------------------- numpy


def test_res_stor_levels_recomputed_with_numpy(raw, rule_parameters, location_results):
    reservoirs = rated_locations("RES_STOR")
    assert len(reservoirs) == 8
    for scenario_id in SCENARIOS:
        for code, key in reservoirs:
            april = raw[(scenario_id, key)].at_water_month(7)
            values = np.array([april[y] for y in sorted(april)])
            level, shares, limits = share_level(values, rule_of(rule_parameters, "RES_STOR", code))
            got = location_results[(scenario_id, "RES_STOR", code)]
            label = f"{scenario_id} {code}"
            assert got["level"] == level and got["reason"] is None, label
            assert got["n"] == np.count_nonzero(~np.isnan(values)), label
            assert np.allclose(got["shares"], shares, rtol=RTOL), label
            # no RES_STOR level has a limit: its limit shares are NULL, not 0
            assert limits == [None, None, None] and got["limits"] == [None, None, None], label
            assert np.isclose(got["metric"], np.nanmin(values), rtol=RTOL), label


def test_cws_del_levels_recomputed_with_numpy(module_sql, raw, rule_parameters, location_results):
    """Every one of the 69 units with CalSim3 series: the delivery arcs summed
    (complete years of every arc), over the demand series where the scenario
    has it, else over delivery + shortage."""
    min_months = int(
        module_sql(
            "select value from seeds.statistics_parameters where parameter_code = 'annual_min_months'"
        )[0][0]
    )
    units = unit_series()
    assert len(units) == 69
    # the list has multi-arc units, demand-series units, and units with and
    # without a shortage series
    assert {u for u, r in units.items() if len(r["delivery"]) > 1} == {
        "GRSVL", "AMADR", "AMCYN", "ANTOC", "FRFLD",
    }  # fmt: skip
    assert all(len(r["demand"]) == 1 for r in units.values())
    assert sum(1 for r in units.values() if not r["shortage"]) == 13
    checked = defaultdict(int)
    levels = defaultdict(set)
    for scenario_id in SCENARIOS:
        for code, roles in units.items():
            arcs = [raw[(scenario_id, key)].annual_taf(min_months) for key in roles["delivery"]]
            years = set.intersection(*(set(a) for a in arcs))
            delivery = {y: sum(a[y] for a in arcs) for y in years}
            demand_key = roles["demand"][0]
            if (scenario_id, demand_key) in raw:
                demand = raw[(scenario_id, demand_key)].annual_taf(min_months)
                checked["demand series"] += 1
            else:
                shortage = raw[(scenario_id, roles["shortage"][0])].annual_taf(min_months)
                demand = {y: delivery[y] + shortage[y] for y in years & set(shortage)}
                checked["delivery + shortage"] += 1
            years = sorted(y for y in years & set(demand) if demand[y] != 0)
            d = np.array([delivery[y] for y in years])
            q = np.array([demand[y] for y in years])
            percent = 100 * d / q
            level, shares, limits = share_level(percent, rule_of(rule_parameters, "CWS_DEL", code))
            got = location_results[(scenario_id, "CWS_DEL", code)]
            label = f"{scenario_id} {code}"
            assert got["level"] == level and got["reason"] is None, label
            assert got["n"] == len(years), label
            assert np.allclose(got["shares"], shares, rtol=RTOL), label
            assert np.allclose(got["limits"], limits, rtol=RTOL), label
            assert np.isclose(got["metric"], percent.min(), rtol=RTOL), label
            if len(roles["delivery"]) > 1:
                checked["multi-arc"] += 1
            levels[scenario_id].add(level)
    assert checked["demand series"] == 3 * 69 and checked["multi-arc"] == 3 * 5
    assert all(len(v) >= 3 for v in levels.values()), "units should not all share one level"


def test_fw_delta_uses_and_gw_stor_recomputed_with_numpy(raw, rule_parameters, location_results):
    for scenario_id in SCENARIOS:
        em = raw[(scenario_id, "EM_EC_MONTH/SALINITY")]
        jp = raw[(scenario_id, "JP_EC_MONTH/SALINITY")]
        assert np.array_equal(em.month_key, jp.month_key)
        ec = np.fmax(em.values, jp.values)
        level, shares, _ = share_level(ec, rule_of(rule_parameters, "FW_DELTA_USES", "DELTA"))
        got = location_results[(scenario_id, "FW_DELTA_USES", "DELTA")]
        assert got["level"] == level and got["n"] == len(ec), scenario_id
        assert np.allclose(got["shares"], shares, rtol=RTOL), scenario_id

    areas = rated_locations("GW_STOR")
    assert len(areas) == 42
    slopes = {}
    for scenario_id in SCENARIOS:
        for code, key in areas:
            september = raw[(scenario_id, key)].at_water_month(12)
            years = np.array(sorted(september), dtype=float)
            values = np.array([september[int(y)] for y in years])
            slopes[(scenario_id, code)] = float(np.polyfit(years, values, 1)[0])
    for (scenario_id, code), slope in slopes.items():
        params = rule_of(rule_parameters, "GW_STOR", code)
        baseline = slopes[("s0020", code)]
        if slope >= params[1]["threshold_value"] and slope >= baseline - 1e-9 * abs(baseline):
            level = 1
        elif slope >= params[2]["threshold_value"]:
            level = 2
        elif slope >= params[3]["threshold_value"]:
            level = 3
        else:
            level = 4
        got = location_results[(scenario_id, "GW_STOR", code)]
        assert np.isclose(got["metric"], slope, rtol=1e-7), (scenario_id, code)
        assert got["level"] == level, (scenario_id, code, slope, baseline)


# ----------------------------------------------------------------------------- real file

REAL_DATABASE = f"{TEST_DATABASE}_tiers_real"


@pytest.fixture(scope="module")
def real_tiers(test_db, shared_data, sample_files) -> dict:
    """The real CalSim II file (none of the tier inputs: post-processor B parts
    such as `d419_swp_dts`) loaded as an EXTRA scenario, s0021, into a database
    of its own that already serves two sample scenarios (s0020 and s0044, whose
    baseline it is), through the CLI: the tiers are read before and after, and
    the second build must pass every tier test."""
    url = fresh_database(test_db, REAL_DATABASE)
    env = {"COEQWAL_DATABASE": REAL_DATABASE}
    sql = sql_runner(url.url())
    for scenario_id in ("s0020", "s0044"):
        coeqwal("ingest", "dss", "--scenario", scenario_id, str(sample_files[scenario_id]), env=env)
    coeqwal("build", env=env)
    before = (read_results(sql), read_location_results(sql))
    path = Path(shared_data) / "dss" / "calsim2_postproc_v7.dss"
    coeqwal("ingest", "dss", "--scenario", "s0021", str(path), env=env)
    build = coeqwal("build", env=env, check=False)
    return {"build": build, "sql": sql, "before": before}


def test_other_scenarios_tiers_unchanged_by_a_file_without_tier_inputs(real_tiers):
    build, sql = real_tiers["build"], real_tiers["sql"]
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    results_before, locations_before = real_tiers["before"]
    assert {s for s, _ in results_before} == {"s0020", "s0044"}
    results = {k: v for k, v in read_results(sql).items() if k[0] != "s0021"}
    locations = {k: v for k, v in read_location_results(sql).items() if k[0] != "s0021"}
    assert results == results_before
    assert locations == locations_before


def test_real_file_without_tier_inputs_gets_rows_that_say_so(real_tiers):
    build, sql = real_tiers["build"], real_tiers["sql"]
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    loaded = {
        r[0]
        for r in sql(
            "select distinct upper(b_part) || '/' || upper(c_part) from raw_dss.dss_series"
            " where scenario_id = 's0021'"
        )
    }
    assert len(loaded) == 162
    locations = read_location_results(sql)
    results = read_results(sql)

    def missing(groups: list[list[str]]) -> str | None:
        """`missing input A, B or C` for the groups none of whose series is loaded."""
        absent = [" or ".join(g) for g in groups if not set(g) & loaded]
        return "missing input " + ", ".join(absent) if absent else None

    expected: dict[tuple[str, str], str | None] = {}
    for indicator in ("RES_STOR", "GW_STOR"):
        for code, key in rated_locations(indicator):
            expected[(indicator, code)] = missing([[key]])
    units = unit_series()
    for code, _ in rated_locations("CWS_DEL"):
        if code not in units:
            expected[("CWS_DEL", code)] = "no CalSim3 series for this unit"
            continue
        roles = units[code]
        groups = [[k] for k in sorted(roles["delivery"])]
        groups.append(roles["demand"] + roles["shortage"])
        expected[("CWS_DEL", code)] = missing(groups)
    expected[("FW_DELTA_USES", "DELTA")] = missing(
        [["EM_EC_MONTH/SALINITY"], ["JP_EC_MONTH/SALINITY"]]
    )
    expected[("FW_EXP", "DELTA")] = missing(
        [
            ["C_CAA003/CHANNEL"],
            ["C_DMC000/CHANNEL"],
            ["EM_EC_MONTH/SALINITY"],
            ["JP_EC_MONTH/SALINITY"],
        ]
    )
    assert all(reason is not None for reason in expected.values())
    got = {
        (i, loc): (v["level"], v["reason"])
        for (s, i, loc), v in locations.items()
        if s == "s0021" and i in COMPUTED
    }
    assert got == {key: (None, reason) for key, reason in expected.items()}
    assert expected[("CWS_DEL", "02_PU")] == (
        "missing input DL_02_PU/DELIVERY, UD_02_PU/DEMAND or SHRTG_02_PU/DELIVERY-SHORTAGE"
    )
    assert expected[("CWS_DEL", "AMADR")].startswith(
        "missing input D_TBAUD_AMADR_NU/DIVERSION, D_TGC003_AMADR_NU/DIVERSION, "
    )
    sizes = {"RES_STOR": 8, "CWS_DEL": 71, "GW_STOR": 42, "FW_DELTA_USES": 1, "FW_EXP": 1}
    for indicator, size in sizes.items():
        row = results[("s0021", indicator)]
        assert row["counts"] == [0, 0, 0, 0] and row["total"] == 0, indicator
        assert row["unrated"] == size, indicator
        assert row["shares"] == [None] * 4, indicator
        assert row["weighted"] is None and row["normalized"] is None, indicator
        assert row["single"] is None and row["placeholder"] is False, indicator
