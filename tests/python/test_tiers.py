"""COEQWAL tiers (models/marts/tiers) on the three sample scenarios.

The marts are checked for coverage (every indicator for every loaded scenario,
computed or delivered as tier_indicators says), internal consistency (shares
sum to 1, scores follow from them) and plausibility against what each sample
scenario changes (ingest/sample.py): s0044 raises Shasta's carryover target,
so its RES_STOR must be no worse than the baseline s0020 and Shasta's April
storage meets the thresholds more often; s0029 (functional flows) releases
more and pumps more groundwater, so its RES_STOR and GW_STOR are no better.

The computed levels of RES_STOR, CWS_DEL, FW_DELTA_USES and GW_STOR are then
recomputed independently: raw_dss.dss_series.monthly_values (the array literal
the loader wrote) parsed here, the water-year calendar and TAF volumes rebuilt
in Python, the rules of domain.md applied with numpy to the thresholds of the
seed tier_rule_parameters.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date

import numpy as np
import pytest

pytestmark = pytest.mark.db

SCENARIOS = ("s0020", "s0029", "s0044")
RTOL = 1e-9


# ----------------------------------------------------------------------------- helpers


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


def share_level(values: np.ndarray, params: dict[int, dict], worst) -> tuple[int, list[float]]:
    """Level of a share rule (domain.md): the best level whose share of values
    meeting its threshold reaches min_share and whose limit share stays within
    max_limit_share. NaN values are missing and left out."""
    ops = {">=": np.greater_equal, ">": np.greater, "<": np.less, "<=": np.less_equal}
    x = values[~np.isnan(values)]
    shares = []
    level = 4
    for lvl in (3, 2, 1):
        p = params[lvl]
        met = float(np.mean(ops[p["threshold_comparison"]](x, p["threshold_value"])))
        ok = met >= p["min_share"] - 1e-12
        if p["limit_value"] is not None:
            bad = float(np.mean(ops[p["limit_comparison"]](x, p["limit_value"])))
            ok = ok and bad <= p["max_limit_share"] + 1e-12
        shares.insert(0, met)
        if ok:
            level = lvl
    return level, shares


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def raw(warehouse, module_sql) -> dict[tuple[str, str], Raw]:
    factor = module_sql("select taf_per_cfs_day::float8 from seeds.units where unit_code = 'CFS'")
    rows = module_sql(
        "select scenario_id, upper(b_part) || '/' || upper(c_part), upper(units), start_month,"
        " monthly_values, value_precision from raw_dss.dss_series where file_role = 'DV'"
    )
    return {
        (s, k): Raw(start, parse_array(v, p), factor[0][0] if u == "CFS" else np.nan)
        for s, k, u, start, v, p in rows
    }


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
    return out


@pytest.fixture(scope="module")
def location_results(warehouse, module_sql) -> dict[tuple[str, str, str], dict]:
    rows = module_sql(
        "select scenario_id, indicator_code, location_code, tier_level, value_count,"
        " level_1_share, level_2_share, level_3_share, metric_value, baseline_metric_value,"
        " result_source from marts.fct_tier_location_results"
    )
    return {
        (s, i, loc): {
            "level": lvl,
            "n": n,
            "shares": [s1, s2, s3],
            "metric": m,
            "baseline": b,
            "source": src,
        }
        for s, i, loc, lvl, n, s1, s2, s3, m, b, src in rows
    }


@pytest.fixture(scope="module")
def results(warehouse, module_sql) -> dict[tuple[str, str], dict]:
    rows = module_sql(
        "select scenario_id, indicator_code, result_source, tier_type, tier_1_count,"
        " tier_2_count, tier_3_count, tier_4_count, total_count, single_tier_level,"
        " tier_1_share, tier_2_share, tier_3_share, tier_4_share, weighted_score,"
        " normalized_score from marts.fct_tier_results"
    )
    return {
        (r[0], r[1]): {
            "source": r[2],
            "type": r[3],
            "counts": list(r[4:8]),
            "total": r[8],
            "single": r[9],
            "shares": list(r[10:14]),
            "weighted": r[14],
            "normalized": r[15],
        }
        for r in rows
    }


def locations_of(module_sql, indicator: str) -> list[tuple[str, str]]:
    return module_sql(
        "select location_code, b_part || '/' || c_part from seeds.tier_locations"
        " where indicator_code = %s and role = 'rated' order by location_code",
        (indicator,),
    )


# ----------------------------------------------------------------------------- coverage


def test_every_indicator_served_for_every_loaded_scenario(module_sql, results):
    indicators = dict(
        module_sql(
            "select indicator_code, result_source from seeds.tier_indicators where is_active"
        )
    )
    assert len(indicators) == 9
    loaded = {
        r[0] for r in module_sql("select scenario_id from marts.dim_scenarios where is_loaded")
    }
    assert loaded == set(SCENARIOS)
    assert set(results) == {(s, i) for s in loaded for i in indicators}
    for (scenario_id, indicator), row in results.items():
        assert row["source"] == indicators[indicator], (scenario_id, indicator)


def test_shares_sum_to_one_and_scores_follow(results):
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


def test_delivered_rows_are_marked_and_match_the_seed(module_sql, results):
    delivered = module_sql(
        "select scenario_id, indicator_code, tier_1_count, tier_2_count, tier_3_count,"
        " tier_4_count, single_tier_level from seeds.tier_delivered_results"
    )
    assert len(delivered) == 12
    for scenario_id, indicator, c1, c2, c3, c4, single in delivered:
        row = results[(scenario_id, indicator)]
        assert row["source"] == "delivered"
        if single is None:
            assert row["counts"] == [c1, c2, c3, c4]
        else:
            assert row["single"] == single


# ----------------------------------------------------------------------------- plausibility


def test_sample_scenarios_get_different_plausible_tiers(results, location_results):
    profile = {
        s: tuple(tuple(results[(s, i)]["counts"]) for i in sorted({k[1] for k in results}))
        for s in SCENARIOS
    }
    assert len(set(profile.values())) == 3, "the three scenarios should not rate identically"
    weighted = {
        (s, i): results[(s, i)]["weighted"] for s in SCENARIOS for i in ("RES_STOR", "GW_STOR")
    }
    # s0044 raises Shasta's carryover target: RES_STOR no worse than the baseline,
    # and Shasta's April storage meets its middle threshold more often.
    assert weighted[("s0044", "RES_STOR")] <= weighted[("s0020", "RES_STOR")]
    shasta = {s: location_results[(s, "RES_STOR", "SHSTA")] for s in SCENARIOS}
    assert shasta["s0044"]["level"] <= shasta["s0020"]["level"]
    assert shasta["s0044"]["shares"][1] > shasta["s0020"]["shares"][1]
    # s0029 (functional flows) releases more: lower spring storage, more pumping.
    assert weighted[("s0029", "RES_STOR")] >= weighted[("s0020", "RES_STOR")]
    assert shasta["s0029"]["shares"][1] < shasta["s0020"]["shares"][1]
    assert weighted[("s0029", "GW_STOR")] >= weighted[("s0020", "GW_STOR")]
    # the baseline compares its groundwater trend with itself
    for loc in ("02", "07N", "13", "17N"):
        base = location_results[("s0020", "GW_STOR", loc)]
        assert base["metric"] == base["baseline"]


# ----------------------------------------------------------------------------- numpy


def test_res_stor_levels_recomputed_with_numpy(module_sql, raw, rule_parameters, location_results):
    reservoirs = locations_of(module_sql, "RES_STOR")
    assert len(reservoirs) == 8
    for scenario_id in SCENARIOS:
        for code, key in reservoirs:
            april = raw[(scenario_id, key)].at_water_month(7)
            values = np.array([april[y] for y in sorted(april)])
            level, shares = share_level(values, rule_parameters[("RES_STOR", code)], np.min)
            got = location_results[(scenario_id, "RES_STOR", code)]
            label = f"{scenario_id} {code}"
            assert got["level"] == level, label
            assert got["n"] == np.count_nonzero(~np.isnan(values)), label
            assert np.allclose(got["shares"], shares, rtol=RTOL), label
            assert np.isclose(got["metric"], np.nanmin(values), rtol=RTOL), label


def test_cws_del_levels_recomputed_with_numpy(module_sql, raw, rule_parameters, location_results):
    min_months = int(
        module_sql(
            "select value from seeds.statistics_parameters where parameter_code = 'annual_min_months'"
        )[0][0]
    )
    units = module_sql(
        "select t.location_code, d.delivery_b_part || '/' || d.delivery_c_part,"
        " d.shortage_b_part || '/' || d.shortage_c_part from seeds.tier_locations as t"
        " join seeds.demand_units as d on t.location_code = d.du_code"
        " where t.indicator_code = 'CWS_DEL' and t.role = 'rated'"
    )
    assert len(units) == 4
    levels = set()
    for scenario_id in SCENARIOS:
        for code, delivery_key, shortage_key in units:
            delivery = raw[(scenario_id, delivery_key)].annual_taf(min_months)
            shortage = raw[(scenario_id, shortage_key)].annual_taf(min_months)
            years = sorted(set(delivery) & set(shortage))
            d = np.array([delivery[y] for y in years])
            s = np.array([shortage[y] for y in years])
            percent = 100 * d / (d + s)
            level, shares = share_level(percent, rule_parameters[("CWS_DEL", code)], np.min)
            got = location_results[(scenario_id, "CWS_DEL", code)]
            label = f"{scenario_id} {code}"
            assert got["level"] == level, label
            assert got["n"] == len(years), label
            assert np.allclose(got["shares"], shares, rtol=RTOL), label
            assert np.isclose(got["metric"], percent.min(), rtol=RTOL), label
            levels.add(level)
    assert len(levels) > 1, "the demand units should not all share one level"


def test_fw_delta_uses_and_gw_stor_recomputed_with_numpy(
    module_sql, raw, rule_parameters, location_results
):
    for scenario_id in SCENARIOS:
        em = raw[(scenario_id, "EM_EC_MONTH/SALINITY")]
        jp = raw[(scenario_id, "JP_EC_MONTH/SALINITY")]
        assert np.array_equal(em.month_key, jp.month_key)
        ec = np.fmax(em.values, jp.values)
        level, shares = share_level(ec, rule_parameters[("FW_DELTA_USES", "DELTA")], np.max)
        got = location_results[(scenario_id, "FW_DELTA_USES", "DELTA")]
        assert got["level"] == level and got["n"] == len(ec), scenario_id
        assert np.allclose(got["shares"], shares, rtol=RTOL), scenario_id

    slopes = {}
    for scenario_id in SCENARIOS:
        for code, key in locations_of(module_sql, "GW_STOR"):
            september = raw[(scenario_id, key)].at_water_month(12)
            years = np.array(sorted(september), dtype=float)
            values = np.array([september[int(y)] for y in years])
            slopes[(scenario_id, code)] = float(np.polyfit(years, values, 1)[0])
    for (scenario_id, code), slope in slopes.items():
        params = rule_parameters[("GW_STOR", code)]
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
