"""Tests of the synthetic CalSim3 DV generator (``coeqwal_tools.sample.dss``).

The files are read back with pydsstools itself, not with the project's own reader, so
these tests check the generator against the DSS library. Expected facts (capacities,
dead pools, famous wet and dry years, year-type codes) are written out here from the
domain notes and CDEC, not taken from the generator.
"""

from __future__ import annotations

import csv
import inspect
import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from coeqwal_tools.sample.dss import (
    SAMPLE_SCENARIOS,
    SAMPLE_VARIABLES,
    write_full_size,
    write_samples,
)
from ingest.dss.hecdss import TimeSeriesContainer, open_dss

N_MONTHS = 1200
FIRST_WY = 1922
# Capacity and dead pool (TAF) per reservoir, from COEQWAL's reservoir table.
RESERVOIRS = {
    "SHSTA": (4552, 115),
    "TRNTY": (2448, 105),
    "OROVL": (3537, 850),
    "FOLSM": (975, 115),
    "MELON": (2400, 300),
    "MLRTN": (520, 115),
    "SLUIS_CVP": (1062, 15),
    "SLUIS_SWP": (979, 10),
}
ON_STREAM = ("SHSTA", "TRNTY", "OROVL", "FOLSM", "MELON", "MLRTN")
UNITS_BY_C = {
    "STORAGE": "TAF",
    "STORAGE-LEVEL": "TAF",
    "CHANNEL": "CFS",
    "DELIVERY": "CFS",
    "DELIVERY-SWP": "CFS",
    "DELIVERY-CVP": "CFS",
    "DELIVERY-SHORTAGE": "CFS",
    "DELIVERY-SHORTAGE-SWP": "CFS",
    "DELIVERY-SHORTAGE-CVP": "CFS",
    "DIVERSION": "CFS",
    "GW-PUMPING": "CFS",
    "DEMAND": "CFS",
    "GW-STORAGE": "TAF",
    "FLOW": "CFS",
    "X2-POSITION-PREV": "KM",
    "SALINITY": "UMHOS/CM",
    "WATERYEARTYPE": "NONE",
}
# Series the brief names explicitly (B, C).
REQUIRED = [(f"S_{r}", "STORAGE") for r in RESERVOIRS]
REQUIRED += [(f"S_{r}LEVEL{n}DV", "STORAGE-LEVEL") for r in RESERVOIRS for n in (1, 5)]
REQUIRED += [
    (b, "CHANNEL")
    for b in ("C_KSWCK", "C_SAC041", "C_FTR059", "C_NTOMA", "C_SJR070", "C_CAA003", "C_DMC000")
]
REQUIRED += [("DEL_SWP_PMI", "DELIVERY-SWP"), ("DEL_SWP_PAG", "DELIVERY-SWP")]
REQUIRED += [("SHORT_SWP_PMI", "DELIVERY-SHORTAGE-SWP"), ("SHORT_SWP_PAG", "DELIVERY-SHORTAGE-SWP")]
REQUIRED += [(f"DEL_CVP_{g}", "DELIVERY-CVP") for g in ("PMI_N", "PAG_N", "PMI_S", "PAG_S")]
REQUIRED += [
    (f"SHORT_CVP_{g}", "DELIVERY-SHORTAGE-CVP") for g in ("PMI_N", "PAG_N", "PMI_S", "PAG_S")
]
REQUIRED += [
    ("NDOI", "FLOW"),
    ("X2_PRV_KM", "X2-POSITION-PREV"),
    ("EM_EC_MONTH", "SALINITY"),
    ("JP_EC_MONTH", "SALINITY"),
    ("WYT_SAC_", "WATERYEARTYPE"),
]
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "entities"


def _seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


# The community water system units' series (delivery arcs, shortage, demand) and
# the water budget areas, as the seeds list them: the sample writes every one.
CWS_SERIES = {(r["b_part"], r["c_part"]) for r in _seed("demand_unit_series")}
WBAS = [r["wba_code"] for r in _seed("water_budget_areas")]
# Sacramento Valley year types (CDEC) of some well-known years: 1 Wet ... 5 Critical.
KNOWN_YEAR_TYPES = {1924: 5, 1938: 1, 1977: 5, 1983: 1, 1992: 5, 1998: 1, 2015: 5, 2017: 1}
MISSING = (-901.0, -902.0, 99000.0)


def _read_all(path: Path) -> dict[tuple[str, str], dict]:
    """Every series of a DSS file, keyed by (B, C), with values and metadata."""
    out: dict[tuple[str, str], dict] = {}
    with open_dss(str(path), mode="r") as fid:
        records = fid.path_dict()["ts"]
        blocks: dict[tuple[str, str], list[str]] = {}
        for p in records:
            parts = p.split("/")
            blocks.setdefault((parts[2], parts[3]), []).append(p)
        for (b, c), paths in blocks.items():
            ts = fid.read_ts(f"/CALSIM/{b}/{c}//1MON/L2020A/")
            out[(b, c)] = {
                # Copy: the values are a view on memory the record frees.
                "values": np.array(ts.values, dtype=np.float64),
                "count": ts.count,
                "start": ts.start_time.datetime(),
                "end": ts.end_time.datetime(),
                "units": ts.data_units,
                "type": ts.data_type,
                "records": sorted(paths),
            }
    return out


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    out = tmp_path_factory.mktemp("samples")
    return write_samples(out), out


@pytest.fixture(scope="module")
def data(sample_dir: tuple[list[Path], Path]) -> dict[str, dict[tuple[str, str], dict]]:
    paths, _ = sample_dir
    return {p.name.removesuffix("_DV.dss"): _read_all(p) for p in paths}


def _v(data: dict, scenario: str, b: str, c: str) -> np.ndarray:
    return data[scenario][(b, c)]["values"]


def _months(x: np.ndarray) -> np.ndarray:
    """Reshape 1,200 monthly values to (water year, water month Oct..Sep)."""
    return x.reshape(100, 12)


def _may_year_type(data: dict) -> np.ndarray:
    return _months(_v(data, "s0020", "WYT_SAC_", "WATERYEARTYPE"))[:, 7]


# ----------------------------------------------------------------------------- files


def test_writes_one_dss7_file_per_scenario(sample_dir: tuple[list[Path], Path]) -> None:
    paths, out = sample_dir
    assert [p.name for p in paths] == ["s0020_DV.dss", "s0029_DV.dss", "s0044_DV.dss"]
    assert [s.scenario_id for s in SAMPLE_SCENARIOS] == ["s0020", "s0029", "s0044"]
    for p in paths:
        assert p.parent == out
        head = p.read_bytes()[:64]
        assert head.startswith(b"ZDSS") and b"7-" in head
        with open_dss(str(p), mode="r") as fid:
            assert fid.version == 7


def test_every_named_variable_in_every_scenario(data: dict) -> None:
    declared = {(v.b_part, v.c_part) for v in SAMPLE_VARIABLES}
    assert len(declared) == len(SAMPLE_VARIABLES)
    assert set(REQUIRED) <= declared
    gw = {b for b, c in declared if c == "GW-STORAGE"}
    assert len(WBAS) == 42 and gw == {f"GWSTORAGE_{w}" for w in WBAS}
    # 69 units, 199 rows, 196 distinct series (SCVWD shares SBA036's three)
    assert len(CWS_SERIES) == 196 and declared >= CWS_SERIES
    # the named series are exactly these: nothing else was added or dropped
    assert len(declared) == len(REQUIRED) + 42 + 196 == 286
    for scenario in ("s0020", "s0029", "s0044"):
        assert set(data[scenario]) == declared


def test_time_axis_units_and_blocks(data: dict) -> None:
    for scenario, series in data.items():
        for (b, c), s in series.items():
            where = f"{scenario} {b}/{c}"
            assert s["count"] == N_MONTHS and s["values"].shape == (N_MONTHS,), where
            # First value stamped 31OCT1921 2400 (read back as 1 Nov 1921 00:00).
            assert s["start"] == datetime(1921, 11, 1), where
            assert (s["start"] - timedelta(minutes=1)).month == 10, where
            assert s["end"] == datetime(2021, 10, 1), where
            assert s["type"] == "PER-AVER", where
            assert s["units"] == UNITS_BY_C[c], where
            assert np.all(np.isfinite(s["values"])), where
            assert np.all(np.abs(s["values"]) < 1e30), where
            assert not np.isin(s["values"], MISSING).any(), where
            # pydsstools stores monthly data in decade blocks: 1920s ... 2020s.
            d_parts = [r.split("/")[4] for r in s["records"]]
            assert sorted(d[-4:] for d in d_parts) == [str(y) for y in range(1920, 2030, 10)]
            assert all(
                r.split("/")[1] == "CALSIM" and r.split("/")[6] == "L2020A" for r in s["records"]
            )


def test_monthly_stamps_are_month_ends(sample_dir: tuple[list[Path], Path]) -> None:
    paths, _ = sample_dir
    with open_dss(str(paths[0]), mode="r") as fid:
        ts = fid.read_ts("/CALSIM/S_SHSTA/STORAGE//1MON/L2020A/")
        stamps = [t.datetime() for t in ts.times]
    assert len(stamps) == N_MONTHS
    months = [(t - timedelta(minutes=1)) for t in stamps]
    assert (months[0].year, months[0].month) == (1921, 10)
    assert (months[-1].year, months[-1].month) == (2021, 9)
    assert all(t.day == 1 and t.hour == 0 for t in stamps)


def test_same_values_on_every_write(
    data: dict, tmp_path: Path, sample_dir: tuple[list[Path], Path]
) -> None:
    again = {p.name.removesuffix("_DV.dss"): _read_all(p) for p in write_samples(tmp_path)}
    assert again.keys() == data.keys()
    for scenario, series in data.items():
        assert series.keys() == again[scenario].keys()
        for key, s in series.items():
            np.testing.assert_array_equal(s["values"], again[scenario][key]["values"])


def test_rewrite_replaces_existing_file(tmp_path: Path) -> None:
    stale = tmp_path / "s0020_DV.dss"
    with open_dss(str(stale)) as fid:
        fid.put_ts(
            TimeSeriesContainer(
                "/CALSIM/STALE/CHANNEL//1MON/L2020A/",
                3,
                1,
                values=np.ones(3),
                start_time="31OCT1921 2400",
                data_units="CFS",
                data_type="PER-AVER",
            )
        )
    write_samples(tmp_path)
    write_samples(tmp_path)  # twice: nothing may accumulate
    series = _read_all(stale)
    assert ("STALE", "CHANNEL") not in series
    assert len(series) == len(SAMPLE_VARIABLES)
    assert all(len(s["records"]) == 11 for s in series.values())


# ----------------------------------------------------------------------------- physics


@pytest.mark.parametrize("scenario", ["s0020", "s0029", "s0044"])
def test_storage_within_reservoir_limits(data: dict, scenario: str) -> None:
    for res, (capacity, dead) in RESERVOIRS.items():
        s = _v(data, scenario, f"S_{res}", "STORAGE")
        l1 = _v(data, scenario, f"S_{res}LEVEL1DV", "STORAGE-LEVEL")
        l5 = _v(data, scenario, f"S_{res}LEVEL5DV", "STORAGE-LEVEL")
        assert s.min() >= 0 and s.max() <= capacity + 0.5, res
        np.testing.assert_allclose(l1, dead)
        assert np.all(l1 <= l5) and l5.max() <= capacity + 0.5, res
        # Level 5 is the full conservation pool in summer (Jun-Sep) ...
        np.testing.assert_allclose(_months(l5)[:, 8:], capacity)
        # ... and storage spends most of its time within the allowed range.
        assert np.mean((s >= l1 - 0.5) & (s <= l5 + 0.5)) > 0.95, res
    for res in ON_STREAM:
        l5 = _months(_v(data, scenario, f"S_{res}LEVEL5DV", "STORAGE-LEVEL"))
        assert np.all(l5[:, 2:5] < RESERVOIRS[res][0]), res  # flood space Dec-Feb


def test_storage_seasons_floods_and_droughts(data: dict) -> None:
    shasta = _v(data, "s0020", "S_SHSTA", "STORAGE")
    by_month = _months(shasta).mean(axis=0)
    assert int(np.argmax(by_month)) in (6, 7)  # April or May
    assert int(np.argmin(by_month)) in (0, 1, 11)  # Sep-Nov
    sept = _months(shasta)[:, 11]
    drought = [1977, 1991, 1992, 2014, 2015, 2021]
    wet = [1938, 1983, 1995, 1998, 2006, 2017]
    assert max(sept[y - FIRST_WY] for y in drought) < min(sept[y - FIRST_WY] for y in wet)
    assert sept[1977 - FIRST_WY] < 0.35 * RESERVOIRS["SHSTA"][0]
    flood_months = near_dead_months = total = 0
    for res in ON_STREAM:
        dead = RESERVOIRS[res][1]
        s = _v(data, "s0020", f"S_{res}", "STORAGE")
        l5 = _v(data, "s0020", f"S_{res}LEVEL5DV", "STORAGE-LEVEL")
        flood = s >= l5 - 0.5
        flood_months += flood.sum()
        near_dead_months += (s <= 1.3 * dead).sum()
        total += s.size
        # Flood-pool encroachment happens in wet years, not in critical ones.
        types = np.repeat(_may_year_type(data), 12)
        assert flood[types == 1].mean() > flood[types == 5].mean(), res
    assert 0.02 < flood_months / total < 0.4
    assert 0 < near_dead_months / total < 0.05


def test_flows_and_deliveries_are_non_negative(data: dict) -> None:
    for scenario, series in data.items():
        for (b, c), s in series.items():
            if s["units"] == "CFS":
                assert s["values"].min() >= 0, f"{scenario} {b}/{c}"
    ndoi = _v(data, "s0020", "NDOI", "FLOW")
    assert ndoi.min() > 0 and np.median(ndoi) > 5000
    banks = _v(data, "s0020", "C_CAA003", "CHANNEL")
    jones = _v(data, "s0020", "C_DMC000", "CHANNEL")
    assert banks.max() <= 10_300 and jones.max() <= 4_600  # plant capacities


def test_salinity_crosses_thresholds(data: dict) -> None:
    em = _v(data, "s0020", "EM_EC_MONTH", "SALINITY")
    jp = _v(data, "s0020", "JP_EC_MONTH", "SALINITY")
    for ec in (em, jp):
        assert ec.min() >= 100 and ec.max() <= 4_000
        assert (ec > 900).any() and (ec < 900).mean() > 0.5
        # Saltier in late summer and fall (Aug-Nov) than in winter-spring (Feb-May).
        months = _months(ec)
        assert months[:, [10, 11, 0, 1]].mean() > 2 * months[:, 4:8].mean()
    worst = np.maximum(em, jp)
    assert 0 < (worst > 2500).mean() < 0.2
    # Salty months come with low outflow.
    ndoi = _v(data, "s0020", "NDOI", "FLOW")
    assert np.median(ndoi[worst > 2500]) < np.median(ndoi[worst < 900])


def test_x2_follows_outflow(data: dict) -> None:
    x2 = _v(data, "s0020", "X2_PRV_KM", "X2-POSITION-PREV")
    ndoi = _v(data, "s0020", "NDOI", "FLOW")
    assert x2.min() >= 40 and x2.max() <= 100
    assert x2.min() < 60 and x2.max() > 85
    assert np.corrcoef(x2, np.log(ndoi))[0, 1] < -0.7


def test_year_type_codes(data: dict) -> None:
    for scenario in data:
        wyt = _v(data, scenario, "WYT_SAC_", "WATERYEARTYPE")
        assert np.array_equal(wyt, np.round(wyt)) and set(np.unique(wyt)) == {1, 2, 3, 4, 5}
        months = _months(wyt)
        # Oct-Jan hold one value; the forecast may change Feb-May; Jun-Sep keep May's.
        assert np.all(months[:, 0:4] == months[:, [0]])
        assert np.all(months[:, 8:] == months[:, [7]])
        assert np.any(months[:, 4] != months[:, 7])  # the forecast does move sometimes
    may = _may_year_type(data)
    for year, code in KNOWN_YEAR_TYPES.items():
        assert may[year - FIRST_WY] == code, year
    # Oct-Jan carry the previous year's final type.
    wyt = _months(_v(data, "s0020", "WYT_SAC_", "WATERYEARTYPE"))
    assert np.array_equal(wyt[1:, 0], may[:-1])
    # Every scenario shares the hydrology.
    base = _v(data, "s0020", "WYT_SAC_", "WATERYEARTYPE")
    for scenario in ("s0029", "s0044"):
        np.testing.assert_array_equal(_v(data, scenario, "WYT_SAC_", "WATERYEARTYPE"), base)


def test_wet_years_are_wetter(data: dict) -> None:
    may = _may_year_type(data)
    for b, c in [("NDOI", "FLOW"), ("C_SAC041", "CHANNEL"), ("C_SJR070", "CHANNEL")]:
        annual = _months(_v(data, "s0020", b, c)).mean(axis=1)
        assert annual[may == 1].mean() > 1.5 * annual[may == 5].mean(), b
    # Winter-spring high flows on the Sacramento, summer irrigation deliveries.
    sac = _months(_v(data, "s0020", "C_SAC041", "CHANNEL")).mean(axis=0)
    assert sac[3:6].mean() > sac[0:2].mean()
    ag = _months(_v(data, "s0020", "DEL_CVP_PAG_S", "DELIVERY-CVP")).mean(axis=0)
    assert ag[8:11].mean() > 5 * ag[2:4].mean()


def test_shortages_larger_in_dry_years(data: dict) -> None:
    may = _may_year_type(data)
    shortages = [(b, c) for (b, c) in data["s0020"] if c.startswith("DELIVERY-SHORTAGE")]
    assert len(shortages) >= 10
    for b, c in shortages:
        annual = _months(_v(data, "s0020", b, c)).sum(axis=1)
        assert annual.min() >= 0
        assert annual[may == 5].mean() > annual[may == 1].mean(), b


def test_groundwater_trends(data: dict) -> None:
    slopes = {}
    for (b, c), s in data["s0020"].items():
        if c == "GW-STORAGE":
            g = s["values"]
            assert g.min() > 0, b
            slopes[b] = np.polyfit(np.arange(N_MONTHS) / 12, g, 1)[0]
    assert len(slopes) == 42
    declining = [b for b, slope in slopes.items() if slope < -2.0]  # TAF per year
    assert declining and len(declining) < len(slopes)


def test_community_water_units(data: dict) -> None:
    """Every unit's delivery arcs add up to at most its demand, the shortage is the
    rest, drier years deliver a smaller share, and units differ in reliability."""
    units: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in _seed("demand_unit_series"):
        units[r["du_code"]][r["series_role"]].append((r["b_part"], r["c_part"]))
    assert len(units) == 69
    may = _may_year_type(data)
    worst = {}
    for scenario in ("s0020", "s0029", "s0044"):
        for du, roles in units.items():
            delivery = sum(_months(_v(data, scenario, b, c)) for b, c in roles["delivery"])
            demand = _months(_v(data, scenario, *roles["demand"][0]))
            assert np.all(delivery <= demand * (1 + 1e-6)), (scenario, du)
            if roles["shortage"]:
                shortage = _months(_v(data, scenario, *roles["shortage"][0]))
                np.testing.assert_allclose(delivery + shortage, demand, rtol=1e-5, atol=1e-4)
            met = delivery.sum(axis=1) / demand.sum(axis=1)
            assert met[may == 5].mean() < met[may == 1].mean(), (scenario, du)
            worst[(scenario, du)] = met.min()
    base = np.array([worst[("s0020", du)] for du in units])
    assert base.min() < 0.25 and base.max() > 0.9  # from badly short to fully reliable
    # functional flows deliver less to the units on surface water
    assert np.mean([worst[("s0029", du)] for du in units]) < base.mean()


# ----------------------------------------------------------------------------- scenarios


def _total(data: dict, scenario: str, keys: list[tuple[str, str]]) -> float:
    return float(sum(_v(data, scenario, b, c).mean() for b, c in keys))


def test_shasta_carryover_scenario(data: dict) -> None:
    sept = {s: _months(_v(data, s, "S_SHSTA", "STORAGE"))[:, 11] for s in ("s0020", "s0044")}
    assert sept["s0044"].mean() > 1.05 * sept["s0020"].mean()
    assert np.mean(sept["s0044"] >= sept["s0020"] - 1.0) > 0.9
    north = [("DEL_CVP_PMI_N", "DELIVERY-CVP"), ("DEL_CVP_PAG_N", "DELIVERY-CVP")]
    assert _total(data, "s0044", north) < _total(data, "s0020", north)
    # Other reservoirs are operated as in the baseline.
    np.testing.assert_allclose(
        _v(data, "s0044", "S_OROVL", "STORAGE"), _v(data, "s0020", "S_OROVL", "STORAGE"), rtol=0.05
    )


def test_functional_flows_scenario(data: dict) -> None:
    def spring(s: str, b: str, c: str) -> float:
        return float(_months(_v(data, s, b, c))[:, 4:9].mean())  # Feb-Jun

    for b, c in [("NDOI", "FLOW"), ("C_SAC041", "CHANNEL"), ("C_KSWCK", "CHANNEL")]:
        assert spring("s0029", b, c) > spring("s0020", b, c), b
    exports = [("C_CAA003", "CHANNEL"), ("C_DMC000", "CHANNEL")]
    assert _total(data, "s0029", exports) < 0.9 * _total(data, "s0020", exports)
    deliveries = [(b, c) for (b, c) in data["s0020"] if c in ("DELIVERY-SWP", "DELIVERY-CVP")]
    assert _total(data, "s0029", deliveries) < _total(data, "s0020", deliveries)
    storage = [(f"S_{r}", "STORAGE") for r in RESERVOIRS]
    base, alt = _total(data, "s0020", storage), _total(data, "s0029", storage)
    assert 0.8 * base < alt < base  # somewhat lower


# ----------------------------------------------------------------------------- full size


def test_full_size_small(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    n = 320
    path = write_full_size(tmp_path, n_series=n, progress=lambda d, total: calls.append((d, total)))
    assert path == tmp_path / "full_size_DV.dss"
    series = _read_all(path)
    assert len(series) == n
    named = {(v.b_part, v.c_part) for v in SAMPLE_VARIABLES}
    assert named <= set(series)
    fillers = set(series) - named
    assert len(fillers) == n - 286
    pattern = re.compile(r"(C|S|D|DEL|SHORT)_SYN\d{5}")
    kinds = {"C": "CHANNEL", "S": "STORAGE", "D": "DIVERSION", "DEL": "DELIVERY"}
    kinds["SHORT"] = "DELIVERY-SHORTAGE"
    for b, c in fillers:
        assert pattern.fullmatch(b), b
        assert kinds[b.split("_")[0]] == c
        s = series[(b, c)]
        assert s["count"] == N_MONTHS and s["start"] == datetime(1921, 11, 1)
        assert s["values"].min() >= 0
    assert {c for _, c in fillers} >= {"CHANNEL", "STORAGE", "DELIVERY"}
    assert calls and calls[-1] == (n, n)
    # The named part equals the baseline sample file.
    baseline = _read_all(write_samples(tmp_path / "samples")[0])
    for key in named:
        np.testing.assert_array_equal(series[key]["values"], baseline[key]["values"])


def test_full_size_default_keeps_the_size_of_a_real_calsim3_file() -> None:
    """`coeqwal sample --full-size` pads the named series with fillers to 21,500."""
    assert inspect.signature(write_full_size).parameters["n_series"].default == 21_500
    assert len(SAMPLE_VARIABLES) == 286 < 21_500


def test_full_size_rejects_too_few_series(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_full_size(tmp_path, n_series=len(SAMPLE_VARIABLES) - 1)
