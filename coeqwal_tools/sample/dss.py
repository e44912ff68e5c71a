"""Synthetic CalSim3-like decision-variable (DV) files for demos and tests.

Real CalSim3 output is large and not freely redistributable, so the warehouse ships a
deterministic generator of look-alike files instead: HEC-DSS version 7, pathnames
``/CALSIM/<B>/<C>//1MON/L2020A/``, 1,200 monthly values from October 1921 to
September 2021 (water years 1922-2021) stamped at the end of each month, and every
series tagged ``PER-AVER`` as WRIMS does.

The numbers come from a toy water-balance model, not from CalSim. It is driven by the
real Sacramento Valley 40-30-30 index (embedded below) so that wet and dry years,
droughts (1924, 1929-34, 1976-77, 1987-92, 2007-09, 2012-16, 2021) and floods (1983,
1986, 1995, 1997, 2017) fall where users expect them. Reservoirs are simulated by a
monthly mass balance with flood-control space and a carryover rule, river flows and
exports follow from releases, Delta outflow from the Delta balance, and X2 and
salinity from outflow. Three scenarios share the hydrology and differ only through
their operating rules, in the directions the COEQWAL scenario descriptions state.
The model is plausible, not exact: exports follow south-of-Delta deliveries, the San
Luis shares follow a seasonal fill pattern scaled by exports, and a few floors (river
minimum flows, health-and-safety pumping) are imposed rather than balanced.

The tier inputs follow the project's seeds: the groundwater storage
(``GWSTORAGE_<wba>``) of every water budget area of ``water_budget_areas.csv`` and
the delivery arcs, shortage and demand of every community water system demand unit
of ``demand_unit_series.csv`` (each unit with its own drought reliability). The
demand series (``UD_*`` and the like) are written into the DV file too, although
CalSim3 keeps ``UD_*`` in its SV file. :func:`fingerprint` changes with the
generator or those seeds, so files written earlier can be recognised as stale.

Values are reproducible: every random draw comes from ``numpy.random.default_rng``
seeded with a CRC-32 of the scenario and variable (or of the basin for the hydrology
shared by all scenarios). DSS files embed write timestamps, so repeated runs give
identical values, not identical bytes.

pydsstools is imported only through :mod:`ingest.dss.hecdss`, which silences it.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ingest.config import PROJECT_ROOT
from ingest.dss.hecdss import TimeSeriesContainer, open_dss

# ----------------------------------------------------------------------------- constants

A_PART = "CALSIM"
E_PART = "1MON"
F_PART = "L2020A"
DATA_TYPE = "PER-AVER"
FIRST_WATER_YEAR = 1922
N_YEARS = 100
N_MONTHS = 12 * N_YEARS
#: Stamp of the first value: the end of October 1921 (HEC-DSS end-of-period convention).
START_TIME = "31OCT1921 2400"

#: TAF per (CFS x day): 86,400 s / 43,560 ft^2 per acre / 1,000.
_TAF_PER_CFS_DAY = 86_400 / 43_560 / 1_000

# Sacramento Valley water-year index (40-30-30, million acre-feet) for water years
# 1922-2021, copied from the California Data Exchange Center (CDEC) table
# "WSIHIST" (https://cdec.water.ca.gov/reportapp/javareports?name=WSIHIST).
# Year types use the same table's breakpoints: Wet >= 9.2, Above Normal > 7.8,
# Below Normal > 6.5, Dry > 5.4, Critical <= 5.4.
SAC_VALLEY_INDEX: tuple[float, ...] = (
    8.97, 7.06, 3.87, 6.39, 5.75, 9.52, 8.27, 5.22, 5.90, 3.66,  # 1922-1931
    5.48, 4.63, 4.07, 6.98, 7.75, 6.87, 12.62, 5.58, 8.88, 11.47,  # 1932-1941
    11.27, 9.77, 6.35, 6.80, 7.70, 5.61, 7.12, 6.09, 6.62, 9.18,  # 1942-1951
    12.38, 9.55, 8.51, 6.14, 11.38, 7.83, 12.16, 6.75, 6.20, 5.68,  # 1952-1961
    6.65, 9.63, 6.41, 10.15, 7.16, 10.20, 7.24, 11.05, 10.40, 10.37,  # 1962-1971
    7.29, 8.58, 12.99, 9.35, 5.29, 3.11, 8.65, 6.67, 9.04, 6.21,  # 1972-1981
    12.76, 15.29, 10.00, 6.47, 9.96, 5.86, 4.65, 6.13, 4.81, 4.21,  # 1982-1991
    4.06, 8.54, 5.02, 12.89, 10.26, 10.82, 13.31, 9.80, 8.94, 5.76,  # 1992-2001
    6.35, 8.21, 7.51, 8.49, 13.20, 6.19, 5.16, 5.78, 7.08, 10.54,  # 2002-2011
    6.89, 5.83, 4.07, 4.00, 6.71, 14.14, 7.14, 10.34, 6.12, 3.80,  # 2012-2021
)  # fmt: skip
_WYT_BREAKPOINTS = (9.2, 7.8, 6.5, 5.4)  # W / AN / BN / D lower bounds (exclusive below W)
#: Year type of water year 1921 (CDEC: index 9.20, Above Normal), shown Oct-Jan 1921-22.
_WYT_BEFORE_FIRST_YEAR = 2

# Seasonal shapes by water month (Oct ... Sep); normalised where used.
_SHAPE_NORTH = (0.02, 0.04, 0.10, 0.15, 0.17, 0.16, 0.12, 0.10, 0.06, 0.035, 0.025, 0.02)
_SHAPE_AMERICAN = (0.01, 0.03, 0.08, 0.12, 0.14, 0.15, 0.16, 0.16, 0.10, 0.03, 0.01, 0.01)
_SHAPE_SOUTH = (0.01, 0.02, 0.04, 0.06, 0.08, 0.11, 0.17, 0.24, 0.17, 0.06, 0.02, 0.02)
_SHAPE_RELEASE = (0.07, 0.05, 0.05, 0.05, 0.05, 0.06, 0.07, 0.10, 0.13, 0.15, 0.13, 0.09)
_SHAPE_FRIANT = (0.05, 0.03, 0.03, 0.03, 0.04, 0.06, 0.09, 0.13, 0.16, 0.17, 0.13, 0.08)
_SHAPE_MI = (0.085, 0.07, 0.065, 0.06, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.11, 0.10)
_SHAPE_AG = (0.04, 0.01, 0.005, 0.005, 0.02, 0.05, 0.10, 0.15, 0.18, 0.20, 0.16, 0.08)
_SHAPE_EXPORT = (0.095, 0.09, 0.095, 0.095, 0.085, 0.085, 0.05, 0.05, 0.07, 0.10, 0.10, 0.095)
#: Share of the flood reservation required in each water month (Nov-Mar flood season).
_FLOOD_SEASON = (0.0, 0.5, 1.0, 1.0, 1.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
#: Evaporation as a share of storage per water month.
_EVAP = (0.003, 0.001, 0.0005, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.007, 0.008, 0.007, 0.005)
#: San Luis fill pattern: peaks in March-April, lowest in August-September.
_SHAPE_SAN_LUIS = (0.30, 0.40, 0.55, 0.70, 0.85, 0.97, 1.0, 0.90, 0.70, 0.48, 0.30, 0.24)
#: Weight of the actual (vs climatological) rest-of-year inflow in the reservoir forecast.
_FORECAST_SKILL = np.array([0.2, 0.25, 0.3, 0.4, 0.55, 0.7, 0.85, 0.95, 1.0, 1.0, 1.0, 1.0])
#: Minimum combined Banks + Jones pumping (CFS) for health and safety.
_HEALTH_SAFETY_EXPORT = 1500.0
#: In-Delta net consumptive use (CFS) by water month.
_DELTA_CU = (2000, 600, 200, 200, 300, 500, 1500, 2500, 3800, 4500, 4000, 2800)
#: Required Delta outflow (CFS) by water month (rows) and year type 1-5 (columns),
#: a simplification of D-1641 (X2 in Feb-Jun, minimum outflow otherwise).
_NDOI_REQUIRED = (
    (4000, 4000, 4000, 4000, 3000),  # Oct
    (4500, 4500, 4500, 4500, 3500),  # Nov
    (4500, 4500, 4500, 4500, 3500),  # Dec
    (6000, 6000, 4500, 4500, 4500),  # Jan
    (11400, 11400, 7100, 7100, 7100),  # Feb
    (11400, 11400, 7100, 7100, 7100),  # Mar
    (11400, 11400, 7100, 7100, 7100),  # Apr
    (11400, 11400, 7100, 7100, 7100),  # May
    (11400, 9000, 7100, 7100, 7100),  # Jun
    (8000, 8000, 6500, 5000, 4000),  # Jul
    (4000, 4000, 4000, 3500, 3000),  # Aug
    (7500, 6000, 3000, 3000, 3000),  # Sep
)  # fmt: skip


def _rng(*parts: str) -> np.random.Generator:
    """A generator seeded from a stable hash of ``parts`` (same parts, same numbers)."""
    return np.random.default_rng(zlib.crc32("|".join(parts).encode()))


# ----------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class SampleScenario:
    """One synthetic CalSim3 run: a COEQWAL scenario id with its label."""

    scenario_id: str
    label: str
    description: str


@dataclass(frozen=True)
class SampleVariable:
    """One named CalSim output series: DSS B and C parts, units and a kind."""

    b_part: str
    c_part: str
    units: str
    kind: str
    description: str

    @property
    def pathname(self) -> str:
        """The logical DSS pathname (blank D part) of this variable."""
        return dss_pathname(self.b_part, self.c_part)


def dss_pathname(b_part: str, c_part: str) -> str:
    """Logical CalSim pathname ``/CALSIM/<B>/<C>//1MON/L2020A/`` (D part left blank)."""
    return f"/{A_PART}/{b_part}/{c_part}//{E_PART}/{F_PART}/"


SAMPLE_SCENARIOS: tuple[SampleScenario, ...] = (
    SampleScenario(
        "s0020",
        "DCR 2023 + 2020 LU",
        "Baseline: 2023 Delivery Capability Report with historically adjusted "
        "hydroclimate, 2020 LandIQ land use and TUCPs.",
    ),
    SampleScenario(
        "s0029",
        "Functional Flows",
        "Functional-flow requirements on tributaries and the Delta: higher spring river "
        "flows and Delta outflow, lower exports and deliveries, somewhat lower storage.",
    ),
    SampleScenario(
        "s0044",
        "Shasta Carryover +20%",
        "Shasta carryover storage target raised by 20% over s0020; Sacramento River "
        "settlement and north-of-Delta CVP deliveries reduced as needed.",
    ),
)


@dataclass(frozen=True)
class _Reservoir:
    code: str
    name: str
    capacity: float  # TAF
    dead_pool: float  # TAF
    flood_space: float  # TAF reserved at the height of the flood season
    mean_inflow: float  # TAF per year (0 for the off-stream San Luis shares)
    shape: tuple[float, ...]  # seasonal shape of inflow
    annual_release: float  # TAF per year in a full-supply year
    carryover: float  # end-of-September target, TAF
    min_release_cfs: float
    release_shape: tuple[float, ...] = _SHAPE_RELEASE


# Capacities and dead pools from COEQWAL's reservoir table; flows are rough long-term
# averages, enough to give each reservoir a plausible storage pattern.
_RESERVOIRS: tuple[_Reservoir, ...] = (
    _Reservoir("SHSTA", "Shasta", 4552, 115, 1300, 5700, _SHAPE_NORTH, 5350, 2400, 3250),
    _Reservoir("TRNTY", "Trinity", 2448, 105, 350, 1250, _SHAPE_NORTH, 1180, 1300, 300),
    _Reservoir("OROVL", "Oroville", 3537, 850, 750, 4400, _SHAPE_NORTH, 4150, 1900, 1200),
    _Reservoir("FOLSM", "Folsom", 975, 115, 400, 2700, _SHAPE_AMERICAN, 2450, 560, 250),
    _Reservoir("MELON", "New Melones", 2400, 300, 450, 1100, _SHAPE_SOUTH, 1020, 1300, 200),
    _Reservoir(
        "MLRTN", "Millerton", 520, 115, 170, 1800, _SHAPE_SOUTH, 1650, 300, 100, _SHAPE_FRIANT
    ),
    _Reservoir("SLUIS_CVP", "San Luis (CVP share)", 1062, 15, 0, 0, _SHAPE_SAN_LUIS, 0, 0, 0),
    _Reservoir("SLUIS_SWP", "San Luis (SWP share)", 979, 10, 0, 0, _SHAPE_SAN_LUIS, 0, 0, 0),
)
_RES_BY_CODE = {r.code: r for r in _RESERVOIRS}


@dataclass(frozen=True)
class _Delivery:
    b_part: str
    short_b_part: str
    c_part: str
    short_c_part: str
    description: str
    annual_demand: float  # TAF
    shape: tuple[float, ...]
    # allocation = lo + (hi - lo) * (index - index_lo) / (index_hi - index_lo), clipped
    alloc_lo: float
    alloc_hi: float
    index_lo: float
    index_hi: float
    storage_code: str  # reservoir whose start-of-year storage nudges the allocation
    group: str  # "swp", "cvp_n", "cvp_s"


_DELIVERIES: tuple[_Delivery, ...] = (
    _Delivery("DEL_SWP_PMI", "SHORT_SWP_PMI", "DELIVERY-SWP", "DELIVERY-SHORTAGE-SWP",
              "SWP municipal and industrial (Table A) delivery",
              2900, _SHAPE_MI, 0.10, 1.0, 4.0, 11.0, "OROVL", "swp"),
    _Delivery("DEL_SWP_PAG", "SHORT_SWP_PAG", "DELIVERY-SWP", "DELIVERY-SHORTAGE-SWP",
              "SWP agricultural (Table A) delivery",
              1150, _SHAPE_AG, 0.05, 1.0, 4.0, 11.0, "OROVL", "swp"),
    _Delivery("DEL_CVP_PMI_N", "SHORT_CVP_PMI_N", "DELIVERY-CVP", "DELIVERY-SHORTAGE-CVP",
              "CVP municipal and industrial delivery north of the Delta",
              220, _SHAPE_MI, 0.55, 1.0, 4.5, 8.5, "SHSTA", "cvp_n"),
    _Delivery("DEL_CVP_PAG_N", "SHORT_CVP_PAG_N", "DELIVERY-CVP", "DELIVERY-SHORTAGE-CVP",
              "CVP agricultural service-contract delivery north of the Delta",
              400, _SHAPE_AG, 0.0, 1.0, 4.5, 9.5, "SHSTA", "cvp_n"),
    _Delivery("DEL_CVP_PMI_S", "SHORT_CVP_PMI_S", "DELIVERY-CVP", "DELIVERY-SHORTAGE-CVP",
              "CVP municipal and industrial delivery south of the Delta",
              160, _SHAPE_MI, 0.25, 1.0, 4.5, 10.0, "SHSTA", "cvp_s"),
    _Delivery("DEL_CVP_PAG_S", "SHORT_CVP_PAG_S", "DELIVERY-CVP", "DELIVERY-SHORTAGE-CVP",
              "CVP agricultural service-contract delivery south of the Delta",
              1950, _SHAPE_AG, 0.0, 1.0, 5.0, 12.0, "SHSTA", "cvp_s"),
)  # fmt: skip


#: The entity seeds the generator reads (the series it writes follow them).
_SEED_INPUTS = ("demand_unit_series", "water_budget_areas")


def _read_seed(name: str) -> list[dict[str, str]]:
    """Rows of one entity seed (``seeds/entities/<name>.csv``), as dicts of text."""
    with open(PROJECT_ROOT / "seeds" / "entities" / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def fingerprint() -> str:
    """SHA-256 of this generator's source and the seeds it reads: files written by a
    generator with another fingerprint are stale and must be written again."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in _SEED_INPUTS:
        digest.update((PROJECT_ROOT / "seeds" / "entities" / f"{name}.csv").read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class _CwsUnit:
    """A community water system demand unit and its CalSim3 series (B, C)."""

    du_code: str
    deliveries: tuple[tuple[str, str], ...]  # arcs, summed
    shortage: tuple[str, str] | None
    demand: tuple[str, str] | None

    @property
    def supply(self) -> str:
        """``groundwater`` (GP_ pumping), ``swp`` (SWP contractor) or ``surface``."""
        arcs = [b for b, _ in self.deliveries]
        if all(b.startswith("GP_") for b in arcs):
            return "groundwater"
        if any(b.endswith("_PMI") or b.startswith("DEL_SWP_") for b in arcs):
            return "swp"
        return "surface"

    @property
    def is_sacramento_valley(self) -> bool:
        """A unit of a Sacramento Valley water budget area (02 ... 26S)."""
        prefix = self.du_code.split("_")[0].rstrip("NS")
        return prefix.isdigit() and int(prefix) <= 26


def _cws_units() -> tuple[_CwsUnit, ...]:
    """The demand units of ``demand_unit_series`` (COEQWAL's community water system
    units that have CalSim3 series), in the seed's order."""
    rows: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for r in _read_seed("demand_unit_series"):
        rows.setdefault(r["du_code"], {}).setdefault(r["series_role"], []).append(
            (r["b_part"], r["c_part"])
        )
    return tuple(
        _CwsUnit(
            du,
            tuple(roles["delivery"]),
            roles.get("shortage", [None])[0],
            roles.get("demand", [None])[0],
        )
        for du, roles in rows.items()
    )


#: Community water system demand units (CWS_DEL): every series of the seed.
_CWS_UNITS: tuple[_CwsUnit, ...] = _cws_units()
#: The unit that writes each series (the first that names it).
_CWS_BY_SERIES: dict[tuple[str, str], _CwsUnit] = {}
for _unit in _CWS_UNITS:
    for _key in (*_unit.deliveries, _unit.shortage, _unit.demand):
        if _key is not None:
            _CWS_BY_SERIES.setdefault(_key, _unit)


@dataclass(frozen=True)
class _Aquifer:
    wba: str
    base: float  # TAF at the start of the run
    trend: float  # TAF per year, long-term
    wet_response: float  # TAF per unit of index anomaly per year
    delivery_sensitivity: float  # extra decline (TAF/yr) per 10% delivery cut


# Water budget areas (WaterBudgetArea_ID from the DWR water budget areas layer): four
# written out, the others drawn once from a generator seeded with the area's code,
# with a long-term trend typical of the area's region (mostly stable in the
# Sacramento Valley, declining in the San Joaquin Valley, steeply in the Tulare Lake
# region).
_AQUIFERS_SET: dict[str, _Aquifer] = {
    "02": _Aquifer("02", 6_500, 1.5, 6.0, 1.0),
    "07N": _Aquifer("07N", 12_000, -6.0, 12.0, 3.0),
    "13": _Aquifer("13", 9_000, -1.0, 10.0, 2.0),
    "17N": _Aquifer("17N", 15_000, -18.0, 25.0, 8.0),
}
#: Trend range (TAF per year) by hydrologic region.
_GW_TRENDS = {"SAC": (-8.0, 0.5), "SJR": (-20.0, -2.0), "TULARE": (-40.0, -12.0)}


def _aquifer(wba: str, region: str) -> _Aquifer:
    if wba in _AQUIFERS_SET:
        return _AQUIFERS_SET[wba]
    rng = _rng("hydrology", "aquifer", wba)
    low, high = _GW_TRENDS.get(region, (-0.4, 0.6))
    base = float(rng.uniform(3_000, 20_000))
    trend = float(rng.uniform(low, high))
    return _Aquifer(wba, base, trend, float(rng.uniform(4.0, 20.0)), float(rng.uniform(0.5, 4.0)))


_AQUIFERS: tuple[_Aquifer, ...] = tuple(
    _aquifer(r["wba_code"], r["hydrologic_region"]) for r in _read_seed("water_budget_areas")
)


def _sample_variables() -> tuple[SampleVariable, ...]:
    out: list[SampleVariable] = []
    for r in _RESERVOIRS:
        out.append(SampleVariable(f"S_{r.code}", "STORAGE", "TAF", "storage", f"{r.name} storage"))
    for r in _RESERVOIRS:
        out.append(
            SampleVariable(
                f"S_{r.code}LEVEL1DV",
                "STORAGE-LEVEL",
                "TAF",
                "storage_level",
                f"{r.name} level 1 (dead pool)",
            )
        )
        out.append(
            SampleVariable(
                f"S_{r.code}LEVEL5DV",
                "STORAGE-LEVEL",
                "TAF",
                "storage_level",
                f"{r.name} level 5 (top of conservation / flood pool)",
            )
        )
    flows = (
        ("C_KSWCK", "Sacramento River below Keswick"),
        ("C_SAC041", "Sacramento River at Freeport (river mile 41)"),
        ("C_FTR059", "Feather River below Thermalito"),
        ("C_NTOMA", "American River below Nimbus"),
        ("C_SJR070", "San Joaquin River near Vernalis"),
    )
    for b, desc in flows:
        out.append(SampleVariable(b, "CHANNEL", "CFS", "flow", desc))
    out.append(SampleVariable("C_CAA003", "CHANNEL", "CFS", "export", "Banks Pumping Plant"))
    out.append(SampleVariable("C_DMC000", "CHANNEL", "CFS", "export", "Jones Pumping Plant"))
    for d in _DELIVERIES:
        out.append(SampleVariable(d.b_part, d.c_part, "CFS", "delivery", d.description))
    for d in _DELIVERIES:
        out.append(
            SampleVariable(
                d.short_b_part, d.short_c_part, "CFS", "shortage", f"Shortage: {d.description}"
            )
        )
    written = {(v.b_part, v.c_part) for v in out}
    for u in _CWS_UNITS:
        roles = [("delivery", key) for key in u.deliveries]
        roles += [
            (role, key) for role, key in (("shortage", u.shortage), ("demand", u.demand)) if key
        ]
        for role, key in roles:
            if key not in written:  # SCVWD and SBA036 share their series
                written.add(key)
                text = f"Community water system demand unit {u.du_code}: {role}"
                out.append(SampleVariable(key[0], key[1], "CFS", f"cws_{role}", text))
    for a in _AQUIFERS:
        out.append(
            SampleVariable(
                f"GWSTORAGE_{a.wba}",
                "GW-STORAGE",
                "TAF",
                "groundwater_storage",
                f"Groundwater storage, water budget area {a.wba}",
            )
        )
    out += [
        SampleVariable("NDOI", "FLOW", "CFS", "delta_outflow", "Net Delta outflow index"),
        SampleVariable("X2_PRV_KM", "X2-POSITION-PREV", "KM", "x2", "X2 position (km)"),
        SampleVariable("EM_EC_MONTH", "SALINITY", "UMHOS/CM", "salinity", "EC at Emmaton"),
        SampleVariable("JP_EC_MONTH", "SALINITY", "UMHOS/CM", "salinity", "EC at Jersey Point"),
        SampleVariable(
            "WYT_SAC_",
            "WATERYEARTYPE",
            "NONE",
            "year_type",
            "Sacramento Valley year type (1 Wet ... 5 Critical), forecast Feb-May",
        ),
    ]
    return tuple(out)


SAMPLE_VARIABLES: tuple[SampleVariable, ...] = _sample_variables()


# ----------------------------------------------------------------------------- calendar


def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Water-year index (0-99), water month (0 = Oct) and days of each of the 1,200 months."""
    month_idx = np.arange(N_MONTHS)
    wy = month_idx // 12
    wm = month_idx % 12
    days = np.empty(N_MONTHS)
    for i in range(N_MONTHS):
        cal_month = (wm[i] + 9) % 12 + 1
        year = FIRST_WATER_YEAR + wy[i] - (1 if cal_month >= 10 else 0)
        days[i] = calendar.monthrange(year, cal_month)[1]
    return wy, wm, days


_WY, _WM, _DAYS = _calendar()
_INDEX = np.asarray(SAC_VALLEY_INDEX)
_INDEX_MEAN = float(_INDEX.mean())


def _taf_to_cfs(taf: np.ndarray) -> np.ndarray:
    return taf / (_DAYS * _TAF_PER_CFS_DAY)


def _cfs_to_taf(cfs: np.ndarray) -> np.ndarray:
    return cfs * _DAYS * _TAF_PER_CFS_DAY


def _monthly(pattern: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Repeat a 12-value water-month pattern over the 1,200 months."""
    return np.asarray(pattern, dtype=float)[_WM]


def _year_type(index: np.ndarray | float) -> np.ndarray:
    """Sacramento Valley year-type code (1 Wet ... 5 Critical) of a 40-30-30 index value."""
    w, an, bn, d = _WYT_BREAKPOINTS
    x = np.asarray(index, dtype=float)
    return np.select([x >= w, x > an, x > bn, x > d], [1, 2, 3, 4], default=5)


def _wetness(exponent: float) -> np.ndarray:
    """Per-year runoff multiplier with mean 1: index relative to its mean, sharpened."""
    w = (_INDEX / _INDEX_MEAN) ** exponent
    return w / w.mean()


def _basin_inflow(basin: str, mean_annual: float, shape: tuple[float, ...]) -> np.ndarray:
    """Monthly unimpaired inflow (TAF) for a basin: shared by all scenarios."""
    rng = _rng("hydrology", basin)
    annual = mean_annual * _wetness(1.5) * rng.lognormal(0.0, 0.12, N_YEARS)
    weights = np.asarray(shape)[_WM] * rng.lognormal(0.0, 0.35, N_MONTHS)
    weights = weights.reshape(N_YEARS, 12)
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights * annual[:, None]).ravel()


# ----------------------------------------------------------------------------- the model


class _ScenarioModel:
    """Toy operations model for one scenario; series are computed on request.

    Only a few driving arrays of 1,200 values (reservoir storage and release, Delta
    flows) are cached; every output series is built from them when asked for.
    """

    def __init__(self, scenario_id: str) -> None:
        if scenario_id not in {s.scenario_id for s in SAMPLE_SCENARIOS}:
            raise ValueError(f"unknown sample scenario {scenario_id!r}")
        self.scenario_id = scenario_id
        self.functional_flows = scenario_id == "s0029"
        self.shasta_carryover = scenario_id == "s0044"
        self._cws: dict[str, dict[tuple[str, str], np.ndarray]] = {}

    # -- small helpers ------------------------------------------------------------------

    def _jitter(self, name: str, sigma: float, size: int = N_MONTHS) -> np.ndarray:
        """Scenario-specific multiplicative noise (mean about 1)."""
        return _rng(self.scenario_id, name).lognormal(0.0, sigma, size)

    # -- year types and allocations -----------------------------------------------------

    @cached_property
    def wyt(self) -> np.ndarray:
        """WYT_SAC_ as the model sees it: a forecast that firms up from February to May.

        October-January carry the previous year's final type; February-April use a
        forecast of the index with shrinking error; May onward the final type.
        """
        rng = _rng("hydrology", "wyt-forecast")
        errors = rng.normal(0.0, 1.0, (N_YEARS, 3)) * np.array([1.4, 0.9, 0.45])
        final = _year_type(_INDEX)
        out = np.empty((N_YEARS, 12))
        previous = np.concatenate(([_WYT_BEFORE_FIRST_YEAR], final[:-1]))
        out[:, 0:4] = previous[:, None]
        for k in range(3):  # Feb, Mar, Apr
            out[:, 4 + k] = _year_type(_INDEX + errors[:, k])
        out[:, 7:] = final[:, None]
        return out.ravel()

    def _allocation(self, d: _Delivery) -> np.ndarray:
        """Share of demand delivered each water year (100 values)."""
        frac = (_INDEX - d.index_lo) / (d.index_hi - d.index_lo)
        alloc = d.alloc_lo + (d.alloc_hi - d.alloc_lo) * np.clip(frac, 0.0, 1.0)
        res = _RES_BY_CODE[d.storage_code]
        start = self.start_of_year_storage(d.storage_code)
        alloc = alloc + 0.15 * (start / res.capacity - 0.55)
        alloc = alloc * _rng("hydrology", "alloc", d.b_part).lognormal(0.0, 0.04, N_YEARS)
        if self.functional_flows and d.group in ("swp", "cvp_s", "cvp_n"):
            # Less water to export and to divert: relatively larger cuts in dry years.
            alloc = alloc * (0.80 + 0.08 * np.clip(frac, 0.0, 1.0))
        if self.shasta_carryover and d.group == "cvp_n" and d.storage_code == "SHSTA":
            alloc = alloc * np.where(_INDEX < 9.2, 0.90, 0.97)
        return np.clip(alloc, min(d.alloc_lo, 0.02), 1.0)

    def delivery_and_shortage(self, d: _Delivery) -> tuple[np.ndarray, np.ndarray]:
        """Monthly delivery and shortage (CFS) for one contract group or demand unit."""
        demand_y = d.annual_demand * (1.0 + 0.05 * (_INDEX_MEAN - _INDEX) / _INDEX_MEAN)
        demand = demand_y[_WY] * _monthly(d.shape) / sum(d.shape)
        demand = demand * _rng("hydrology", "demand", d.b_part).lognormal(0.0, 0.05, N_MONTHS)
        alloc = self._allocation(d)[_WY]
        alloc = np.clip(alloc * self._jitter(d.b_part, 0.01), 0.0, 1.0)
        demand_cfs = _taf_to_cfs(demand)
        delivery = demand_cfs * alloc
        return delivery, demand_cfs - delivery

    def cws_unit_series(self, u: _CwsUnit) -> dict[tuple[str, str], np.ndarray]:
        """Monthly series (CFS) of one community water system demand unit: each delivery
        arc, the shortage and the demand, whichever the unit has.

        Demand follows a municipal pattern, a little higher in dry years. The share
        delivered falls from 1 in wet years to a floor in the driest ones; floor and
        breakpoints are drawn per unit (so units range from fully reliable to badly
        short in droughts), the functional-flows scenario cuts surface supplies and
        the Shasta-carryover one trims Sacramento Valley surface supplies in
        non-wet years. Delivery never exceeds demand; shortage = demand - delivery.
        """
        if u.du_code in self._cws:
            return self._cws[u.du_code]
        rng = _rng("hydrology", "cws", u.du_code)
        annual_demand = float(10 ** rng.uniform(0.7, 2.5))  # 5-300 TAF
        floor = float(rng.choice([0.97, 0.9, 0.75, 0.55, 0.35, 0.15]))
        if u.supply == "groundwater":
            floor = float(rng.uniform(0.9, 0.99))
        index_lo = float(rng.uniform(3.5, 6.0))
        index_hi = index_lo + float(rng.uniform(1.5, 3.0))
        frac = np.clip((_INDEX - index_lo) / (index_hi - index_lo), 0.0, 1.0)
        alloc = floor + (1.0 - floor) * frac
        alloc = alloc * np.minimum(rng.lognormal(0.0, 0.03, N_YEARS), 1.0)
        if self.functional_flows and u.supply != "groundwater":
            alloc = alloc * (0.85 + 0.12 * frac)
        if self.shasta_carryover and u.supply == "surface" and u.is_sacramento_valley:
            alloc = alloc * np.where(_INDEX < 9.2, 0.95, 0.99)
        alloc = np.clip(alloc * self._jitter(f"cws|{u.du_code}", 0.01, N_YEARS), 0.0, 1.0)
        if len(u.deliveries) > 1:
            # float32 arcs could add up to a hair above the demand at 100 %
            alloc = np.minimum(alloc, 0.999)
        demand_y = annual_demand * (1.0 + 0.05 * (_INDEX_MEAN - _INDEX) / _INDEX_MEAN)
        demand = demand_y[_WY] * _monthly(_SHAPE_MI) / sum(_SHAPE_MI)
        demand = _taf_to_cfs(demand * rng.lognormal(0.0, 0.05, N_MONTHS))
        delivery = demand * alloc[_WY]
        out: dict[tuple[str, str], np.ndarray] = {}
        weights = rng.dirichlet(np.full(len(u.deliveries), 4.0))
        shares = weights[:, None] * rng.lognormal(0.0, 0.1, (len(u.deliveries), N_MONTHS))
        shares = shares / shares.sum(axis=0)
        for key, share in zip(u.deliveries, shares, strict=True):
            out[key] = delivery * share if len(u.deliveries) > 1 else delivery
        if u.shortage:
            out[u.shortage] = demand - delivery
        if u.demand:
            out[u.demand] = demand
        self._cws[u.du_code] = out
        return out

    # -- reservoirs ---------------------------------------------------------------------

    def level5(self, code: str) -> np.ndarray:
        """Top of conservation pool (TAF): capacity minus the flood reservation."""
        r = _RES_BY_CODE[code]
        return r.capacity - r.flood_space * _monthly(_FLOOD_SEASON)

    @cached_property
    def _reservoirs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Storage and release per reservoir, after Delta-support releases.

        A first pass operates each reservoir for its own demands. Where the Delta
        would then fall short of its outflow requirement (dry summers and falls),
        Shasta and Oroville release the shortfall in a second pass, as coordinated
        CVP/SWP operations do.
        """
        first = {r.code: self._simulate(r) for r in _RESERVOIRS if r.mean_inflow > 0}
        flows = self._river_flows({code: rel for code, (_, rel) in first.items()})
        needed = self.ndoi_required + _monthly(_DELTA_CU) + _HEALTH_SAFETY_EXPORT
        shortfall = np.maximum(needed - flows["delta_inflow"], 0.0)
        support = _cfs_to_taf(shortfall) / 2  # shared by Shasta and Oroville
        return first | {
            code: self._simulate(_RES_BY_CODE[code], support) for code in ("SHSTA", "OROVL")
        }

    def storage(self, code: str) -> np.ndarray:
        """End-of-month storage (TAF)."""
        if code.startswith("SLUIS"):
            return self._san_luis(code)
        return self._reservoirs[code][0]

    def release(self, code: str) -> np.ndarray:
        """Monthly release including flood spills (TAF)."""
        return self._reservoirs[code][1]

    def start_of_year_storage(self, code: str) -> np.ndarray:
        """Storage at the start of each water year (end of the previous September)."""
        s = self.storage(code)[11::12]
        r = _RES_BY_CODE[code]
        return np.concatenate(([0.6 * r.capacity], s[:-1]))

    def _simulate(
        self, r: _Reservoir, extra: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Monthly mass balance with a carryover rule, flood space and a dead-pool floor.

        Releases are re-planned every month from a forecast of the rest of the year's
        inflow that blends climatology with the actual flow, sharper as spring nears,
        so dry years are over-forecast early (drawing storage down) and wet years
        under-forecast. ``extra`` (TAF) is released on top, for the Delta.
        """
        inflow = _basin_inflow(r.code, r.mean_inflow, r.shape)
        extra = np.zeros(N_MONTHS) if extra is None else extra
        annual_inflow = inflow.reshape(N_YEARS, 12).sum(axis=1)
        level5 = self.level5(r.code)
        min_release = _cfs_to_taf(np.full(N_MONTHS, r.min_release_cfs))
        shape = np.asarray(r.release_shape) / sum(r.release_shape)
        # The carryover target varies a little from year to year (same in all scenarios).
        carryover = r.carryover * _rng("hydrology", "carryover", r.code).lognormal(0, 0.08, N_YEARS)
        demand = r.annual_release
        spring_pulse = np.zeros(12)
        if self.shasta_carryover and r.code == "SHSTA":
            carryover *= 1.2
            demand *= 0.96  # settlement contractors cut to hold the extra carryover
        if self.functional_flows:
            carryover *= 0.95
            spring_pulse[4:9] = np.array([0.01, 0.015, 0.015, 0.01, 0.01])  # Feb-Jun
        storage = np.empty(N_MONTHS)
        release = np.empty(N_MONTHS)
        s = 0.6 * r.capacity
        remaining_share = np.cumsum(shape[::-1])[::-1]  # share of the year's demand still due
        by_year = inflow.reshape(N_YEARS, 12)
        remaining = np.cumsum(by_year[:, ::-1], axis=1)[:, ::-1]
        forecast = _FORECAST_SKILL * remaining + (1 - _FORECAST_SKILL) * remaining.mean(axis=0)
        for y in range(N_YEARS):
            for k in range(12):
                m = 12 * y + k
                # Re-plan every month: release what the rest of the year should bring in
                # above the carryover target, within limits.
                due = demand * remaining_share[k]
                factor = float(np.clip((s + forecast[y, k] - carryover[y]) / due, 0.3, 1.0))
                rel = max(demand * shape[k] * factor, min_release[m]) + extra[m]
                rel += spring_pulse[k] * annual_inflow[y]
                new = s + inflow[m] - rel - _EVAP[k] * s
                if new < r.dead_pool:  # cut releases to hold the dead pool
                    rel = max(rel - (r.dead_pool - new), 0.0)
                    new = s + inflow[m] - rel - _EVAP[k] * s
                if new > level5[m]:  # flood release
                    rel += new - level5[m]
                    new = level5[m]
                s = max(new, 0.0)
                storage[m] = s
                release[m] = rel
        return storage, release

    def _san_luis(self, code: str) -> np.ndarray:
        """San Luis shares: fill in winter from exports, draw down in summer."""
        r = _RES_BY_CODE[code]
        plant = "C_CAA003" if code.endswith("SWP") else "C_DMC000"
        annual = _cfs_to_taf(self.exports[plant]).reshape(N_YEARS, 12).sum(axis=1)
        nominal = 3000.0 if code.endswith("SWP") else 2600.0
        fill = np.clip(0.15 + 0.85 * annual / nominal, 0.1, 1.0)
        level = fill[_WY] * _monthly(_SHAPE_SAN_LUIS) * self._jitter(code, 0.04)
        return np.clip(r.dead_pool + (r.capacity - r.dead_pool) * level, 0.0, r.capacity)

    # -- rivers -------------------------------------------------------------------------

    def _sv_diversions(self) -> np.ndarray:
        """Sacramento Valley settlement-contractor diversions (TAF)."""
        annual = np.where(_INDEX <= 5.4, 0.75, 1.0) * 1800.0
        if self.shasta_carryover:
            annual = annual * np.where(_INDEX < 9.2, 0.92, 0.98)
        return annual[_WY] * _monthly(_SHAPE_AG)

    @cached_property
    def flows(self) -> dict[str, np.ndarray]:
        """River flows (CFS) below the major reservoirs and into the Delta."""
        return self._river_flows({code: self.release(code) for code in self._reservoirs})

    def _river_flows(self, release: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """River flows (CFS) for given reservoir releases (TAF)."""
        keswick = release["SHSTA"] + 0.55 * release["TRNTY"]
        feather_div = 900.0 * np.minimum(_wetness(0.5), 1.2)[_WY] * _monthly(_SHAPE_AG)
        feather = np.maximum(release["OROVL"] - feather_div, _cfs_to_taf(600.0))
        american = np.maximum(release["FOLSM"] - 250.0 * _monthly(_SHAPE_MI), _cfs_to_taf(250.0))
        accretion = _basin_inflow("sacramento-accretions", 4200.0, _SHAPE_NORTH)
        sac_total = keswick + feather + american + accretion - self._sv_diversions()
        sac_total = np.maximum(_taf_to_cfs(sac_total), 4000.0)  # minimum flow at Freeport
        # Above ~70,000 cfs most of the excess spills into the Yolo Bypass.
        sac_river = np.where(sac_total > 70_000, 70_000 + 0.2 * (sac_total - 70_000), sac_total)
        tributaries = _basin_inflow("tuolumne-merced", 2400.0, _SHAPE_SOUTH)
        tributaries = 0.5 * tributaries + 0.5 * tributaries.mean()  # regulated upstream
        friant = _RES_BY_CODE["MLRTN"]  # most of Millerton's release leaves by canal
        canals = friant.annual_release * _monthly(friant.release_shape) / sum(friant.release_shape)
        millerton_spill = np.maximum(release["MLRTN"] - canals, 0.0)
        sjr = 0.75 * release["MELON"] + 0.9 * millerton_spill + tributaries
        sjr = np.maximum(_taf_to_cfs(sjr), 500.0)
        east = _taf_to_cfs(_basin_inflow("eastside", 1000.0, _SHAPE_AMERICAN))
        return {
            "C_KSWCK": _taf_to_cfs(keswick),
            "C_SAC041": sac_river,
            "C_FTR059": _taf_to_cfs(feather),
            "C_NTOMA": _taf_to_cfs(american),
            "C_SJR070": sjr,
            "delta_inflow": sac_total + sjr + east,
        }

    # -- Delta --------------------------------------------------------------------------

    @cached_property
    def ndoi_required(self) -> np.ndarray:
        """Required Delta outflow (CFS) for each month, by the forecast year type."""
        table = np.asarray(_NDOI_REQUIRED, dtype=float)
        req = table[_WM, self.wyt.astype(int) - 1]
        spring = (_WM >= 4) & (_WM <= 8)
        if self.functional_flows:
            req = np.where(spring, req * 1.25, req)
        else:  # TUCPs relax Delta outflow in critical years
            req = np.where((self.wyt == 5) & (_WM >= 4), req * 0.7, req)
        return req

    @cached_property
    def exports(self) -> dict[str, np.ndarray]:
        """Banks and Jones pumping (CFS) limited by capacity, spring rules and outflow."""
        swp = sum(self.delivery_and_shortage(d)[0] for d in _DELIVERIES if d.group == "swp")
        cvp = sum(self.delivery_and_shortage(d)[0] for d in _DELIVERIES if d.group == "cvp_s")
        swp_annual = _cfs_to_taf(swp).reshape(N_YEARS, 12).sum(axis=1) * 1.10  # + Article 21
        exchange = np.where(_INDEX <= 5.4, 0.75, 1.0) * 1100.0  # exchange contractors, refuges
        cvp_annual = _cfs_to_taf(cvp).reshape(N_YEARS, 12).sum(axis=1) * 1.05 + exchange
        shape = _monthly(_SHAPE_EXPORT) / sum(_SHAPE_EXPORT)
        banks = _taf_to_cfs(swp_annual[_WY] * shape) * self._jitter("C_CAA003", 0.05)
        jones = _taf_to_cfs(cvp_annual[_WY] * shape) * self._jitter("C_DMC000", 0.05)
        winter = (_WM >= 2) & (_WM <= 5)  # Dec-Mar: extra Banks capacity from Vernalis flow
        sjr = self.flows["C_SJR070"]
        banks = np.minimum(banks, 6680.0 + np.where(winter, np.minimum(sjr / 3, 3620.0), 0.0))
        jones = np.minimum(jones, 4600.0)
        total = banks + jones
        limit = np.full(N_MONTHS, np.inf)
        spring_ie = (_WM == 6) | (_WM == 7)  # Apr-May: San Joaquin inflow-to-export ratio
        limit = np.where(spring_ie, np.maximum(1500.0, sjr), limit)
        if self.functional_flows:
            limit = np.where((_WM >= 2) & (_WM <= 8), np.minimum(limit, 5000.0), limit)
        net_inflow = self.flows["delta_inflow"] - _monthly(_DELTA_CU)
        available = net_inflow - self.ndoi_required
        # Health-and-safety pumping continues below the requirement, but never takes
        # outflow under 2,000 cfs.
        health_safety = np.minimum(
            np.minimum(_HEALTH_SAFETY_EXPORT, total), np.maximum(net_inflow - 2000.0, 0.0)
        )
        allowed = np.maximum(np.minimum(limit, available), health_safety)
        scale = np.clip(allowed / np.maximum(total, 1e-9), 0.0, 1.0)
        banks, jones = banks * scale, jones * scale
        ndoi = net_inflow - banks - jones
        return {"C_CAA003": banks, "C_DMC000": jones, "NDOI": np.maximum(ndoi, 500.0)}

    @cached_property
    def x2(self) -> np.ndarray:
        """X2 (km) from the monthly Kimmerer-Monismith relation with one-month memory."""
        ndoi = self.exports["NDOI"]
        out = np.empty(N_MONTHS)
        prev = 75.0
        for m in range(N_MONTHS):
            prev = float(np.clip(122.2 + 0.3278 * prev - 17.65 * np.log10(ndoi[m]), 45, 100))
            out[m] = prev
        return out

    def salinity(self, station: str) -> np.ndarray:
        """Monthly EC (uS/cm) from antecedent outflow, saturating near ocean-mix levels."""
        ndoi = self.exports["NDOI"]
        effective = np.empty(N_MONTHS)
        q = ndoi[0]
        for m in range(N_MONTHS):
            q = 0.65 * ndoi[m] + 0.35 * q
            effective[m] = q
        half = 5870.0 if station == "EM" else 4900.0
        ratio = (half / effective) ** 3.6
        ec = 150.0 + 3050.0 * ratio / (1.0 + ratio)
        return ec * _rng("hydrology", f"{station}_EC").lognormal(0.0, 0.06, N_MONTHS)

    # -- groundwater --------------------------------------------------------------------

    def groundwater(self, a: _Aquifer) -> np.ndarray:
        """Groundwater storage (TAF): long-term trend, wet-year recharge, summer pumping."""
        rng = _rng("hydrology", "gw", a.wba)
        anomaly = (_INDEX - _INDEX_MEAN)[_WY] / 12.0
        seasonal = np.asarray([1, 2, 2, 2, 2, 1, 0, -1, -2, -3, -3, -1], dtype=float)
        seasonal = (seasonal - seasonal.mean())[_WM] * abs(a.wet_response) * 0.15
        change = a.trend / 12.0 + a.wet_response * anomaly + seasonal
        change = change + rng.normal(0.0, abs(a.wet_response) * 0.05, N_MONTHS)
        if self.functional_flows:  # lower surface deliveries, more pumping
            change = change - a.delivery_sensitivity * 1.5 / 12.0
        if self.shasta_carryover and a.wba in ("02", "07N"):
            change = change - a.delivery_sensitivity * 0.5 / 12.0
        return np.maximum(a.base + np.cumsum(change), 0.0)

    # -- dispatch -----------------------------------------------------------------------

    def series(self, v: SampleVariable) -> np.ndarray:
        """Values (1,200 floats) of one named variable in this scenario."""
        b = v.b_part
        if v.kind == "storage":
            return self.storage(b.removeprefix("S_"))
        if v.kind == "storage_level":
            code = b.removeprefix("S_")[: -len("LEVEL1DV")]
            if b.endswith("LEVEL1DV"):
                return np.full(N_MONTHS, _RES_BY_CODE[code].dead_pool, dtype=float)
            return self.level5(code)
        if v.kind == "flow":
            return self.flows[b]
        if v.kind in ("export", "delta_outflow"):
            return self.exports[b]
        if v.kind in ("delivery", "shortage"):
            for d in _DELIVERIES:
                if b in (d.b_part, d.short_b_part):
                    delivery, shortage = self.delivery_and_shortage(d)
                    return delivery if b == d.b_part else shortage
        if v.kind.startswith("cws_"):
            key = (v.b_part, v.c_part)
            return self.cws_unit_series(_CWS_BY_SERIES[key])[key]
        if v.kind == "groundwater_storage":
            wba = b.removeprefix("GWSTORAGE_")
            return self.groundwater(next(a for a in _AQUIFERS if a.wba == wba))
        if v.kind == "x2":
            return self.x2
        if v.kind == "salinity":
            return self.salinity(b[:2])
        if v.kind == "year_type":
            return self.wyt
        raise KeyError(f"no generator for {v.b_part}/{v.c_part}")


# ----------------------------------------------------------------------------- filler


_FILLER_KINDS: tuple[tuple[str, str, str], ...] = (
    ("C_SYN", "CHANNEL", "CFS"),
    ("C_SYN", "CHANNEL", "CFS"),
    ("C_SYN", "CHANNEL", "CFS"),
    ("D_SYN", "DIVERSION", "CFS"),
    ("DEL_SYN", "DELIVERY", "CFS"),
    ("C_SYN", "CHANNEL", "CFS"),
    ("S_SYN", "STORAGE", "TAF"),
    ("D_SYN", "DIVERSION", "CFS"),
    ("DEL_SYN", "DELIVERY", "CFS"),
    ("SHORT_SYN", "DELIVERY-SHORTAGE", "CFS"),
)


def filler_variable(i: int) -> SampleVariable:
    """The ``i``-th (1-based) filler series of the full-size file: name, kind and units."""
    prefix, c_part, units = _FILLER_KINDS[i % len(_FILLER_KINDS)]
    return SampleVariable(f"{prefix}{i:05d}", c_part, units, "filler", "synthetic filler series")


def _filler_values(v: SampleVariable) -> np.ndarray:
    """Plausible values for one filler series, shaped by the shared hydrology."""
    rng = _rng("filler", v.b_part)
    wet = _wetness(1.2)[_WY]
    if v.c_part == "STORAGE":
        capacity = 10 ** rng.uniform(1.0, 3.3)
        season = _monthly(_SHAPE_SAN_LUIS) - 0.6
        frac = 0.55 + 0.25 * season + 0.2 * (wet - 1.0) + rng.normal(0, 0.03, N_MONTHS)
        return capacity * np.clip(frac, 0.02, 1.0)
    if v.c_part == "CHANNEL":
        shape = (_SHAPE_NORTH, _SHAPE_AMERICAN, _SHAPE_SOUTH)[int(rng.integers(3))]
        scale = 10 ** rng.uniform(1.0, 4.0)
        return scale * 12 * _monthly(shape) * wet * rng.lognormal(0, 0.3, N_MONTHS)
    scale = 10 ** rng.uniform(0.5, 3.0)
    shape = _monthly(_SHAPE_AG if rng.random() < 0.6 else _SHAPE_MI) * 12
    alloc = np.clip(0.2 + 0.8 * (_INDEX - 4.0) / 7.0, 0.05, 1.0)[_WY]
    noise = rng.lognormal(0, 0.08, N_MONTHS)
    if v.c_part == "DELIVERY-SHORTAGE":
        return scale * shape * (1.0 - alloc) * noise
    if v.c_part == "DELIVERY":
        return scale * shape * alloc * noise
    return scale * shape * np.sqrt(alloc) * noise  # diversions


# ----------------------------------------------------------------------------- writing


def _write(fid: Any, v: SampleVariable, values: np.ndarray) -> None:
    """Store one monthly series; pydsstools splits it into decade blocks itself."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape != (N_MONTHS,) or not np.all(np.isfinite(values)):
        raise ValueError(f"{v.pathname}: expected {N_MONTHS} finite values")
    tsc = TimeSeriesContainer(
        v.pathname,
        N_MONTHS,
        1,  # any positive interval means "regular"; the E part sets the real one
        values=values,
        start_time=START_TIME,
        data_units=v.units,
        data_type=DATA_TYPE,
    )
    fid.put_ts(tsc)


def _fresh(path: Path) -> Path:
    """Remove an existing file: DSS would otherwise merge new records into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


def iter_sample_series(scenario_id: str) -> Iterator[tuple[SampleVariable, np.ndarray]]:
    """Yield ``(variable, values)`` for every named variable of one sample scenario."""
    model = _ScenarioModel(scenario_id)
    for v in SAMPLE_VARIABLES:
        yield v, model.series(v)


def write_samples(out_dir: Path) -> list[Path]:
    """Write one ``<scenario_id>_DV.dss`` per sample scenario into ``out_dir``.

    Existing files of the same name are replaced. Returns the paths written, in the
    order of :data:`SAMPLE_SCENARIOS`.
    """
    out_dir = Path(out_dir)
    paths: list[Path] = []
    for scenario in SAMPLE_SCENARIOS:
        path = _fresh(out_dir / f"{scenario.scenario_id}_DV.dss")
        with open_dss(str(path)) as fid:
            for v, values in iter_sample_series(scenario.scenario_id):
                _write(fid, v, values)
        paths.append(path)
    return paths


def write_full_size(
    out_dir: Path,
    n_series: int = 21_500,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``full_size_DV.dss``: a DV file as large as a real CalSim3 output.

    It holds the baseline's named variables followed by filler series (``C_SYN<NNNNN>``,
    ``S_SYN...``, ``DEL_SYN...`` and others), ``n_series`` in all, each generated and
    written one at a time so memory stays flat. ``progress(done, total)`` is called
    about every 500 series and once at the end. Used to test ingest at real scale.
    """
    named = len(SAMPLE_VARIABLES)
    if n_series < named:
        raise ValueError(f"n_series must be at least {named} (the named sample variables)")
    path = _fresh(Path(out_dir) / "full_size_DV.dss")
    done = 0
    with open_dss(str(path)) as fid:
        for v, values in iter_sample_series(SAMPLE_SCENARIOS[0].scenario_id):
            _write(fid, v, values)
            done += 1
        for i in range(1, n_series - named + 1):
            v = filler_variable(i)
            _write(fid, v, _filler_values(v))
            done += 1
            if progress is not None and done % 500 == 0 and done != n_series:
                progress(done, n_series)
    if progress is not None:
        progress(done, n_series)
    return path
