"""Every published statistic, checked row by row against an independent numpy
oracle at a relative tolerance of 1e-12, on real CalSim output.

Data each check uses
--------------------
- **Real** (`real` dataset, a database of its own, `<COEQWAL_TEST_DATABASE>_real`):
  `../shared/data/dss/calsim2_postproc_v7.dss` (real CalSim II output: 162
  monthly series of 984 months, every record stored as doubles, some series
  needing all 64 bits, DSS 7 undefined values and -6.19e38 overflows) loaded as
  the baseline s0020, and a **perturbed copy** of it loaded as s0029 (whose
  baseline in seeds/scenarios/scenarios.csv is s0020). The copy is written here
  in `tmp_path`: 990 months from March 1922 (so water years 1922 and 2004 are
  incomplete), each month the real file's value of the same calendar month in
  its first eight water years (1922-1929: the file holds zeros after 1929 for
  most series) times a seeded random factor in [0.5, 1.5]; a series whose
  values are all 32-bit floats is written as floats with pydsstools (as
  coeqwal_tools/sample/dss.py does), any other as doubles through HEC-DSS's own
  `ztsStore` in the library pydsstools ships (pydsstools' Python writer
  stores floats only). Missing values stay missing, and the copy adds -901,
  -902, 99000, a double that rounds to 99000 at float32, NaN and inf.
  Both go through the real CLI (`coeqwal ingest dss`, one `coeqwal build`).
- **Synthetic** (`synthetic` dataset: the session's sample warehouse, s0020
  baseline, s0029 and s0044): the bundled sample DV files (1,200 months,
  float32), which carry the series the real file lacks: reservoir storage and
  pool levels, deliveries and shortages, Delta outflow, X2 and salinity, and
  the model's own year type WYT_SAC_.

Every check runs on both datasets (parametrized); a family whose series a
dataset lacks must have no rows there (the real CalSim II file has no reservoir,
delivery, Delta or WYT_SAC_ series: its B parts are post-processor variables
such as `d419_swp_dts`), so `fct_reservoir_statistics`, `fct_delivery_annual`,
`fct_delivery_statistics`, `fct_delta_statistics`, `fct_outcome_comparisons`
and the `model` year-type source are checked with values on the synthetic
data, and checked empty on the real data.

The independent path
--------------------
The DSS files are read here with pydsstools (empty-D-part reads, values as
doubles), not through ingest.dss.reader nor the warehouse's raw table. The
calendar and missing-value rules are applied here: a value stamped at the end
of a month (31OCT1921 24:00) belongs to that month (October 1921, water month
1 of water year 1922); -901, -902, -3.4028235e38 and 99000 compared at float32,
NaN, inf and |v| >= float32's largest value are missing. Statistics follow
numpy's definitions: mean, `np.std(ddof=1)`, CV guarded by `cv_mean_guard`,
`np.percentile` (linear) for min/q10...q90/max and `np.percentile(x, 100 - X,
method="weibull")` for the value exceeded X % of the time, by water month 1-12,
over all months and over annual values (flows: water-year volumes in TAF,
CFS x days x 86400/43560/1000 by definition, not the units seed; other series:
the mean of the months; complete years only). Where numpy's floating-point
evaluation is itself not good to 1e-12 (the sd of equal values, a percentile
position that is exactly an order statistic), the oracle computes the same
definition exactly and holds numpy to it (see `statistics`). Parameters are
read from the seed CSV files (seeds/statistics, seeds/outcomes,
seeds/entities); the year types from the official CDEC table in
../shared/data/reference and the model's May WYT_SAC_.

Every row of every mart is compared (and the sets of keys must be equal):
`fct_series_statistics`, `fct_year_type_statistics`, `fct_annual_values`,
`api.annual_values`, `fct_series_comparisons`, `fct_year_type_comparisons`,
`api.compare_scenarios` (called as PostgREST does, as web_anon, both ways
round, for every series), `fct_reservoir_statistics`, `fct_delivery_annual`,
`fct_delivery_statistics`, `fct_delta_statistics`, `fct_outcome_comparisons`.
Numbers agree when |actual - expected| <= 1e-12 |expected|; an expected value
of exactly 0 must be exactly 0. The one absolute floor is for differences with
the baseline (see `difference_agrees`): they must be the warehouse's own
value - baseline bit for bit, and within 1e-12 of the operands' magnitude of
numpy's. Each test prints how many values it compared (`pytest -s`) and
records it as a property.
"""

from __future__ import annotations

import calendar
import csv
import ctypes
import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ingest.build import target_path
from ingest.dss.hecdss import TimeSeriesContainer, open_dss
from tests.python.conftest import ROOT, TEST_DATABASE, coeqwal, sql_runner
from tests.python.test_api import Pgrst

pytestmark = [pytest.mark.db, pytest.mark.slow]

RTOL = 1e-12
#: One CFS for one day in thousand acre-feet, by definition (not the units seed).
TAF_PER_CFS_DAY = 86_400 / 43_560 / 1_000
SENTINELS_F32 = np.array([-901.0, -902.0, -3.4028235e38, 99000.0], dtype=np.float32)
F32_MAX = float(np.finfo(np.float32).max)
SEEDS = ROOT / "seeds"

REAL_DATABASE = f"{TEST_DATABASE}_real"  # a database of its own: s0020 is real there
REAL_FILE = Path("dss") / "calsim2_postproc_v7.dss"
BASELINE, ALTERNATIVE = "s0020", "s0029"
ALT_START = (1922, 3)  # first month of the perturbed copy: March 1922 (mid water year)
ALT_MONTHS = 990  # to August 2004 (mid water year)
RECYCLED_MONTHS = 96  # the real file's first eight water years, October 1921 - September 1929
SEED = 20261202
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
PERIODS = ("all", "annual", *[str(m) for m in range(1, 13)])


# ----------------------------------------------------------------------------- reading DSS files


@dataclass
class Series:
    """One monthly series read from a DSS file, with its calendar."""

    key: str  # B/C in upper case, the warehouse's variable_key
    units: str
    first_month: tuple[int, int]  # (calendar year, month) of the first value
    raw: np.ndarray  # the file's values (float64)
    is_flow: bool = False
    values: np.ndarray = field(init=False)  # NaN where missing
    calendar_year: np.ndarray = field(init=False)
    calendar_month: np.ndarray = field(init=False)
    water_year: np.ndarray = field(init=False)
    water_month: np.ndarray = field(init=False)
    days: np.ndarray = field(init=False)
    _annual: dict | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.values = np.where(missing_mask(self.raw), np.nan, self.raw)
        year, month = self.first_month
        index = year * 12 + (month - 1) + np.arange(len(self.raw))
        self.calendar_year, self.calendar_month = index // 12, index % 12 + 1
        self.water_year = self.calendar_year + (self.calendar_month >= 10)
        self.water_month = (self.calendar_month + 2) % 12 + 1
        self.days = np.array(
            [
                calendar.monthrange(int(y), int(m))[1]
                for y, m in zip(index // 12, index % 12 + 1, strict=True)
            ]
        )

    def annual_rows(self) -> dict[int, dict]:
        """fct_annual_values' columns per water year spanned by the series."""
        if self._annual is None:
            self._annual = self._annual_rows()
        return self._annual

    def _annual_rows(self) -> dict[int, dict]:
        out = {}
        for wy in np.unique(self.water_year):
            sel = self.water_year == wy
            vals, wm = self.values[sel], self.water_month[sel]
            present = ~np.isnan(vals)
            n = int(present.sum())
            volume = None
            if self.is_flow and n:
                # each month's volume as the warehouse computes it (CFS x days x
                # factor), summed exactly
                volume = math.fsum((vals * self.days[sel] * TAF_PER_CFS_DAY)[present])
            out[int(wy)] = {
                "month_count": n,
                "total_taf": volume if n == 12 else None,
                "months_sum_taf": volume,
                "mean_value": exact_mean(vals[present]) if n else None,
                "min_value": float(np.min(vals[present])) if n else None,
                "max_value": float(np.max(vals[present])) if n else None,
                "apr_value": month_value(vals, wm, 7),
                "sep_value": month_value(vals, wm, 12),
                "is_complete_year": n == 12,
            }
        return out

    def annual_values(self, min_months: int) -> dict[int, float | None]:
        """The annual value of each water year (None when not counted)."""
        out: dict[int, float | None] = {}
        for wy, row in self.annual_rows().items():
            value = row["months_sum_taf"] if self.is_flow else row["mean_value"]
            out[wy] = value if row["month_count"] >= min_months else None
        return out


def month_value(values: np.ndarray, water_months: np.ndarray, water_month: int) -> float | None:
    picked = values[water_months == water_month]
    return float(picked[0]) if len(picked) and not np.isnan(picked[0]) else None


def missing_mask(values: np.ndarray) -> np.ndarray:
    """The documented missing-value rule, applied here independently."""
    with np.errstate(over="ignore", invalid="ignore"):
        as32 = values.astype(np.float32)
        return (
            np.isnan(values)
            | np.isinf(values)
            | (np.abs(values) >= F32_MAX)
            | np.isin(as32, SENTINELS_F32)
        )


def stamp_month(stamp) -> tuple[int, int]:
    """The month a value stamped at `stamp` closes: 31OCT1921 24:00 (which pydsstools
    shows as 1 November 1921 00:00) closes October 1921."""
    moment = stamp.datetime()
    closed = moment - timedelta(seconds=1)
    assert (moment.day, moment.hour, moment.minute, moment.second) == (1, 0, 0, 0), stamp
    return closed.year, closed.month


def read_dss(path: Path, flows: set[str]) -> dict[str, Series]:
    """Every monthly series of a file, read whole with pydsstools (empty D part)."""
    with open_dss(str(path)) as fid:
        records = fid.search_path("")
        logical = sorted(
            {
                "/".join([*p.split("/")[:4], "", *p.split("/")[5:]])
                for p in records
                if p.split("/")[5].upper() in ("1MON", "1MONTH")
            }
        )
        out = {}
        for pathname in logical:
            _, _a, b, c, _d, _e, _f, _ = pathname.split("/")
            ts = fid.read_ts(pathname, value_precision="double")
            raw = np.array(ts.values, dtype=np.float64, copy=True)
            months = [stamp_month(t) for t in ts.times]
            units = str(ts.data_units).upper()
            del ts
            index = [y * 12 + m for y, m in months]
            assert index == list(range(index[0], index[0] + len(raw))), pathname
            key = f"{b.upper()}/{c.upper()}"
            out[key] = Series(key, units, months[0], raw, is_flow=units in flows)
    return out


def record_type_codes(path: Path) -> Counter:
    """Record type codes of a file's records (100 floats, 105 doubles)."""
    with open_dss(str(path)) as fid:
        return Counter(fid._record_type_code(p) for p in fid.search_path(""))


# ----------------------------------------------------------------------------- the perturbed copy


def fits_float32(values: np.ndarray) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):
        widened = values.astype(np.float32).astype(np.float64)
    return bool(np.all((widened == values) | np.isnan(values)))


class HecLibrary:
    """HEC-DSS's C API in the library pydsstools ships, for what its Python layer
    cannot do: store a regular series of doubles (TimeSeriesContainer keeps
    float32 only). zopen7 / zstructTsNewRegDoubles / ztsStore / zclose."""

    def __init__(self) -> None:
        # the compiled module that defines pydsstools' classes holds the library
        lib = ctypes.CDLL(sys.modules[TimeSeriesContainer.__module__].__file__)
        ifltab = ctypes.POINTER(ctypes.c_longlong)
        lib.zopen7.argtypes, lib.zopen7.restype = [ifltab, ctypes.c_char_p], ctypes.c_int
        lib.zstructTsNewRegDoubles.argtypes = [
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_double),
            ctypes.c_int,
            *[ctypes.c_char_p] * 4,
        ]
        lib.zstructTsNewRegDoubles.restype = ctypes.c_void_p
        lib.ztsStore.argtypes, lib.ztsStore.restype = (
            [ifltab, ctypes.c_void_p, ctypes.c_int],
            ctypes.c_int,
        )
        lib.zstructFree.argtypes, lib.zstructFree.restype = [ctypes.c_void_p], None
        lib.zclose.argtypes, lib.zclose.restype = [ifltab], ctypes.c_int
        self.lib = lib

    def write_doubles(self, path: Path, series: list[tuple[str, np.ndarray, str, str]]) -> None:
        """Store (pathname, values, units, start 'DDMONYYYY') series of doubles, 2400 stamps."""
        ifltab = (ctypes.c_longlong * 250)()
        assert self.lib.zopen7(ifltab, str(path).encode()) == 0
        try:
            for pathname, values, units, start in series:
                values = np.ascontiguousarray(values, dtype=np.float64)
                tss = self.lib.zstructTsNewRegDoubles(
                    pathname.encode(),
                    values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                    len(values),
                    start.encode(),
                    b"2400",
                    units.encode(),
                    b"PER-AVER",
                )
                try:
                    assert self.lib.ztsStore(ifltab, tss, 0) == 0, pathname
                finally:
                    self.lib.zstructFree(tss)
        finally:
            self.lib.zclose(ifltab)


def write_perturbed_copy(real_path: Path, out: Path) -> dict[str, str]:
    """The alternative's DSS 7 file (see the module docstring). Returns, per
    pathname, the missing values injected."""
    rng = np.random.default_rng(SEED)
    year, month = ALT_START
    last_day = calendar.monthrange(year, month)[1]
    start = f"{last_day:02d}{MONTH_NAMES[month - 1]}{year}"
    offset = (year * 12 + month - 1) - (1921 * 12 + 9)  # months after October 1921
    source = (offset + np.arange(ALT_MONTHS)) % RECYCLED_MONTHS
    floats, doubles, injected = [], [], {}
    with open_dss(str(real_path)) as fid:
        logical = sorted(
            {"/".join([*p.split("/")[:4], "", *p.split("/")[5:]]) for p in fid.search_path("")}
        )
        for pathname in logical:
            ts = fid.read_ts(pathname, value_precision="double")
            real = np.array(ts.values, dtype=np.float64, copy=True)
            units = str(ts.data_units)
            del ts
            recycled = real[source]
            factor = rng.uniform(0.5, 1.5, ALT_MONTHS)
            keep = missing_mask(recycled)
            perturbed = np.where(keep, recycled, recycled * factor)
            if fits_float32(real):
                floats.append((pathname, perturbed.astype(np.float32), units))
            else:
                doubles.append((pathname, perturbed, units, start))
    # Missing values the real file lacks, in a float and in a double flow series.
    f_path, f_values, _ = next(s for s in floats if s[2].upper() == "CFS")
    f_values[[7, 8, 9, 10, 11]] = [-901.0, -902.0, 99000.0, np.nan, np.inf]
    injected[f_path] = "-901, -902, 99000, NaN, inf"
    d_path, d_values, *_ = next(s for s in doubles if s[2].upper() == "CFS")
    d_values[[30, 31, 32]] = [99000.001, -902.0, 1e39]
    injected[d_path] = "99000.001 (99000 at float32), -902, 1e39"
    with open_dss(str(out)) as fid:
        for pathname, values, units in floats:
            fid.put_ts(
                TimeSeriesContainer(
                    pathname,
                    ALT_MONTHS,
                    1,
                    values=values,
                    start_time=f"{start} 2400",
                    data_units=units,
                    data_type="PER-AVER",
                )
            )
    HecLibrary().write_doubles(out, doubles)
    return injected


# ----------------------------------------------------------------------------- seeds (CSV)


def seed_rows(relative: str) -> list[dict[str, str]]:
    with (SEEDS / relative).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Parameters:
    levels: list[tuple[str, Fraction, bool]]  # (statistic_code, percent, is_exceedance)
    guard: float
    min_months: int
    shortage_threshold: float

    @property
    def codes(self) -> list[str]:
        return ["mean", "sd", "cv", *[code for code, _, _ in self.levels]]


def parameters() -> Parameters:
    params = {
        r["parameter_code"]: float(r["value"])
        for r in seed_rows("statistics/statistics_parameters.csv")
    }
    assert params["plotting_position_a"] == 0, "the numpy oracle implements Weibull (a = 0)"
    levels = []
    for r in sorted(
        seed_rows("outcomes/statistic_types.csv"), key=lambda r: int(r["display_order"])
    ):
        if r["exceedance_pct"]:
            levels.append((r["statistic_code"], Fraction(r["exceedance_pct"]), True))
        elif r["percentile"]:
            levels.append((r["statistic_code"], Fraction(r["percentile"]), False))
    return Parameters(
        levels,
        params["cv_mean_guard"],
        int(params["annual_min_months"]),
        params["shortage_year_threshold_taf"],
    )


def flow_units() -> set[str]:
    return {r["unit_code"] for r in seed_rows("units/units.csv") if r["is_flow"] == "true"}


def cdec_year_types(shared_data: Path) -> dict[int, tuple[str, str]]:
    """{water year: (Sacramento Valley type, San Joaquin Valley type)} from CDEC's table."""
    out = {}
    for line in (shared_data / "reference" / "cdec_water_year_types.txt").read_text().splitlines():
        cols = line.split()
        if len(cols) == 11 and cols[0].isdigit():
            out[int(cols[0])] = (cols[5], cols[10])
    return out


# ----------------------------------------------------------------------------- the numpy oracle


def exact_moments(x: np.ndarray) -> tuple[float, float | None]:
    """Mean and sample standard deviation of float64 values computed exactly
    (integers over a common power of two) and rounded once. numpy's (and
    PostgreSQL's) floating-point sums are not exact: 100 equal annual means of
    838.3333333333334 have a sample sd of exactly 0, where np.std gives 2.3e-13."""
    ratios = [v.as_integer_ratio() for v in x.tolist()]
    scale = max(d for _, d in ratios)
    ints = [p * (scale // d) for p, d in ratios]
    n = len(ints)
    s1 = sum(ints)
    mean = float(Fraction(s1, n * scale))
    if n < 2:
        return mean, None
    spread = n * sum(i * i for i in ints) - s1 * s1  # n (n - 1) variance x scale^2
    return mean, sqrt_of(spread, n * (n - 1) * scale * scale)


def sqrt_of(num: int, den: int) -> float:
    """sqrt(num / den) to 64 significant bits, then rounded to a float."""
    if num == 0:
        return 0.0
    shift = max(0, 128 - (num.bit_length() - den.bit_length()))
    shift += shift % 2
    return float(Fraction(math.isqrt((num << shift) // den), 1 << (shift // 2)))


def exact_mean(values) -> float:
    return exact_moments(np.asarray(values, dtype=np.float64))[0]


def at_position(ordered: np.ndarray, position: Fraction) -> float:
    """The value at a 0-based fractional position of ascending values, clamped to
    [0, n - 1], interpolated as numpy's `_lerp` does (a + (b - a) t, or
    b - (b - a)(1 - t) when t >= 0.5)."""
    last = len(ordered) - 1
    if position <= 0 or position >= last:
        return float(ordered[0] if position <= 0 else ordered[last])
    k = math.floor(position)
    a, b, t = ordered[k], ordered[k + 1], float(position - k)
    return float(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)


def statistics(values: np.ndarray, params: Parameters) -> dict[str, float | None]:
    """Every statistic of one group (NaN ignored), numpy's way, decided exactly.

    The definitions are numpy's: np.mean, np.std(ddof=1), np.percentile
    (linear: position p (n - 1)) and np.percentile(x, 100 - X,
    method="weibull") (position (1 - X) (n + 1) - 1). numpy evaluates them in
    binary floating point, which is not always good to 1e-12: the sd of 100
    equal values comes out 2.3e-13 instead of 0, and a position that is exactly
    a whole number (the statistic IS an order statistic) can land 1e-14 beside
    it, reading (next - this) x 1e-14 off it (2.07e-12 for an exc10 that is
    exactly 0). So the mean and sd are computed exactly (exact_moments) and the
    positions as fractions, rounding once; numpy's own results are asserted to
    agree with these to within its rounding (1e-12 of the group's largest
    magnitude), so the oracle cannot drift from numpy's definitions."""
    x = values[~np.isnan(values)]
    if len(x) == 0:
        return dict.fromkeys(params.codes)
    mean, sd = exact_moments(x)
    scale = float(np.max(np.abs(x)))
    assert abs(float(np.mean(x)) - mean) <= 1e-12 * scale, (np.mean(x), mean)
    if sd is not None:
        assert abs(float(np.std(x, ddof=1)) - sd) <= 1e-12 * scale, (np.std(x, ddof=1), sd)
    out: dict[str, float | None] = {
        "mean": mean,
        "sd": sd,
        "cv": sd / mean if sd is not None and abs(mean) >= params.guard else None,
    }
    ordered = np.sort(x)
    n = len(x)
    linear = [(c, p) for c, p, e in params.levels if not e]
    weibull = [(c, p) for c, p, e in params.levels if e]
    by_numpy = dict(
        zip([c for c, _ in linear], np.percentile(x, [float(p) for _, p in linear]), strict=True)
    )
    exceeded = np.percentile(x, [float(100 - p) for _, p in weibull], method="weibull")
    by_numpy |= dict(zip([c for c, _ in weibull], exceeded, strict=True))
    for code, percent in linear:
        out[code] = at_position(ordered, percent / 100 * (n - 1))
    for code, percent in weibull:
        out[code] = at_position(ordered, (100 - percent) / 100 * (n + 1) - 1)
    spread = float(ordered[-1] - ordered[0])
    for code, value in by_numpy.items():
        assert abs(value - out[code]) <= 1e-12 * spread, (code, value, out[code])
    return out


def group_rows(
    keys: tuple, unit: str, values: np.ndarray, missing: int, params: Parameters
) -> dict:
    """Long rows {(*keys, statistic): (value_unit, value, value_count, missing_count)}."""
    n = int(np.count_nonzero(~np.isnan(values)))
    return {
        (*keys, code): ("NONE" if code == "cv" else unit, value, n, missing)
        for code, value in statistics(values, params).items()
    }


def annual_unit(s: Series) -> str:
    return "TAF" if s.is_flow else s.units


def expected_series_statistics(data: Dataset) -> dict:
    if "series_statistics" not in data.cache:
        data.cache["series_statistics"] = _series_statistics(data)
    return data.cache["series_statistics"]


def _series_statistics(data: Dataset) -> dict:
    out = {}
    for scenario, series in data.series.items():
        for key, s in series.items():
            nan = np.isnan(s.values)
            out |= group_rows(
                (scenario, key, "all"), s.units, s.values, int(nan.sum()), data.params
            )
            for wm in range(1, 13):
                sel = s.water_month == wm
                out |= group_rows(
                    (scenario, key, str(wm)),
                    s.units,
                    s.values[sel],
                    int(nan[sel].sum()),
                    data.params,
                )
            annual = s.annual_values(data.params.min_months)
            yearly = np.array([np.nan if v is None else v for v in annual.values()])
            out |= group_rows(
                (scenario, key, "annual"),
                annual_unit(s),
                yearly,
                int(np.isnan(yearly).sum()),
                data.params,
            )
    return out


def year_types_of(data: Dataset, scenario: str) -> dict[str, dict[int, int]]:
    """{source: {water year: code}}: CDEC's table for every scenario; the model's
    WYT_SAC_ in May (rounded, 1-5) where the scenario has it."""
    types = {"cdec": {wy: data.type_codes[sac] for wy, (sac, _) in data.cdec.items()}}
    wyt = data.series[scenario].get("WYT_SAC_/WATERYEARTYPE")
    if wyt is not None:
        may = (wyt.calendar_month == 5) & ~np.isnan(wyt.values)
        model = {
            int(wy): int(np.round(v))
            for wy, v in zip(wyt.water_year[may], wyt.values[may], strict=True)
        }
        types["model"] = {wy: code for wy, code in model.items() if 1 <= code <= 5}
    return types


def expected_year_type_statistics(data: Dataset) -> dict:
    if "year_type_statistics" not in data.cache:
        data.cache["year_type_statistics"] = _year_type_statistics(data)
    return data.cache["year_type_statistics"]


def _year_type_statistics(data: Dataset) -> dict:
    out = {}
    for scenario, series in data.series.items():
        for source, types in year_types_of(data, scenario).items():
            for key, s in series.items():
                month_types = np.array([types.get(int(wy), 0) for wy in s.water_year])
                annual = s.annual_values(data.params.min_months)
                for code in sorted(set(month_types) - {0}):
                    sel = month_types == code
                    out |= group_rows(
                        (scenario, key, source, int(code), "all"),
                        s.units,
                        s.values[sel],
                        int(np.isnan(s.values[sel]).sum()),
                        data.params,
                    )
                for code in sorted({types[wy] for wy in annual if wy in types}):
                    yearly = np.array(
                        [
                            np.nan if v is None else v
                            for wy, v in annual.items()
                            if types.get(wy) == code
                        ]
                    )
                    out |= group_rows(
                        (scenario, key, source, int(code), "annual"),
                        annual_unit(s),
                        yearly,
                        int(np.isnan(yearly).sum()),
                        data.params,
                    )
    return out


def compared(current: float | None, baseline: float | None) -> tuple:
    """(value, baseline_value, difference, percent_difference) as the marts define them."""
    difference = None if current is None or baseline is None else current - baseline
    percent = None
    if difference is not None and baseline != 0:
        percent = 100 * difference / abs(baseline)
    return current, baseline, difference, percent


def expected_comparisons(data: Dataset, statistics_rows: dict, n_keys: int) -> dict:
    """Comparison rows of each alternative with its baseline, for keys in both.
    `n_keys`: the key columns after the scenario (statistic code excluded)."""
    by_scenario = defaultdict(dict)
    for key, (unit, value, _, _) in statistics_rows.items():
        by_scenario[key[0]][key[1:]] = (unit, value)
    out = {}
    for scenario, baseline in data.baselines.items():
        if baseline is None or baseline not in data.series:
            continue
        for rest, (unit, value) in by_scenario[scenario].items():
            if rest in by_scenario[baseline]:
                base = by_scenario[baseline][rest][1]
                out[(scenario, *rest)] = (baseline, unit, *compared(value, base))
    assert all(len(k) == n_keys + 2 for k in out)
    return out


# ----------------------------------------------------------------------------- datasets


@dataclass
class Dataset:
    name: str
    url: str
    files: dict[str, Path]
    baselines: dict[str, str | None]
    params: Parameters
    cdec: dict[int, tuple[str, str]]
    type_codes: dict[str, int]
    series: dict[str, dict[str, Series]] = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def sql(self, query: str, params=None):
        return sql_runner(self.url)(query, params)


def scenario_baselines() -> dict[str, str | None]:
    return {
        r["scenario_id"]: r["baseline_scenario_id"] or None
        for r in seed_rows("scenarios/scenarios.csv")
    }


def make_dataset(name: str, url: str, files: dict[str, Path], shared_data: Path) -> Dataset:
    baselines = scenario_baselines()
    codes = {
        r["year_type_abbrev"]: int(r["year_type_code"])
        for r in seed_rows("water_years/water_year_type_codes.csv")
    }
    data = Dataset(
        name,
        url,
        files,
        {s: baselines[s] for s in files},
        parameters(),
        cdec_year_types(shared_data),
        codes,
    )
    flows = flow_units()
    data.series = {s: read_dss(path, flows) for s, path in files.items()}
    return data


#: The models whose rows are checked here (and what creates /rpc/compare_scenarios).
CHECKED_MODELS = (
    "fct_series_values_compact",
    "fct_annual_values_compact",
    "fct_annual_values",
    "fct_series_statistics_compact",
    "fct_series_statistics",
    "fct_year_type_statistics_compact",
    "fct_year_type_statistics",
    "fct_series_comparisons_compact",
    "fct_series_comparisons",
    "fct_year_type_comparisons_compact",
    "fct_year_type_comparisons",
    "fct_reservoir_statistics",
    "fct_delivery_annual",
    "fct_delivery_statistics",
    "fct_delta_statistics",
    "fct_outcome_comparisons",
    "api_annual_values",
    "api_comparisons",
)


def build_marts(env: dict, select: bool = False) -> dict:
    """`coeqwal build` (or, `select`, only what the checked models need); every
    checked model must have been built by it. The checks here depend on those
    models alone, so another node failing (the build then exits 1, e.g. a tier
    test that real CalSim II output, which has no tier series, cannot pass) is
    printed and kept in the dataset's notes, not hidden, and does not stop them."""
    args = ["build"]
    if select:
        args += ["--select", " ".join(f"+{m}" for m in CHECKED_MODELS)]
    proc = coeqwal(*args, env=env, check=False)
    results = json.loads((target_path() / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    unbuilt = [m for m in CHECKED_MODELS if status.get(f"model.coeqwal.{m}") != "success"]
    assert not unbuilt, f"not built: {unbuilt}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    failed = sorted(uid for uid, st in status.items() if st in ("error", "fail"))
    if failed:
        print(f"\ncoeqwal {' '.join(args)[:60]} exited {proc.returncode}; failed nodes: {failed}")
    return {"exit_status": proc.returncode, "failed_nodes": failed}


@pytest.fixture(scope="module")
def real(test_db, shared_data, tmp_path_factory) -> Dataset:
    """The real file as s0020 and its perturbed copy as s0029, in a database of
    their own, through the CLI: two ingests and ONE build."""
    from coeqwal_tools import localdb

    baselines = scenario_baselines()
    assert baselines[BASELINE] is None and baselines[ALTERNATIVE] == BASELINE
    real_path = shared_data / REAL_FILE
    alt_path = tmp_path_factory.mktemp("real") / f"{ALTERNATIVE}_perturbed_DV.dss"
    injected = write_perturbed_copy(real_path, alt_path)
    url = test_db.with_database(REAL_DATABASE)
    localdb.drop_database(url)
    localdb.ensure_database(url)
    env = {"COEQWAL_DATABASE": REAL_DATABASE}
    for scenario, path in ((BASELINE, real_path), (ALTERNATIVE, alt_path)):
        coeqwal("ingest", "dss", "--scenario", scenario, str(path), env=env)
    data_notes = {"build": build_marts(env)}
    data = make_dataset(
        "real", url.url(), {BASELINE: real_path, ALTERNATIVE: alt_path}, shared_data
    )
    data.notes |= data_notes | {"injected": injected}
    return data


@pytest.fixture(scope="module")
def synthetic(warehouse, test_db, shared_data) -> Dataset:
    """The session's sample warehouse, its statistics brought up to date first
    (other modules may have re-ingested a scenario since the last build)."""
    notes = build_marts({}, select=True)
    data = make_dataset("synthetic", test_db.url(), dict(warehouse), shared_data)
    data.notes |= notes
    return data


@pytest.fixture(params=["real", "synthetic"])
def dataset(request) -> Dataset:
    return request.getfixturevalue(request.param)


# ----------------------------------------------------------------------------- comparing


def agree(actual, expected) -> bool:
    """Relative 1e-12; exactly 0 when 0 is expected; NULL when None is expected."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool | str | int) and not isinstance(expected, float):
        return actual == expected
    if expected == 0:
        return actual == 0
    return abs(actual - expected) <= RTOL * abs(expected)


def difference_agrees(percent: bool, got: dict, expected: dict, names: tuple) -> bool:
    """A difference (or percent difference) of a comparison row.

    1. Exactly the warehouse's own arithmetic on the row's own value and
       baseline (both checked at 1e-12 against numpy in the same row):
       value - baseline, and 100 x that / |baseline| (NULL when the baseline
       is 0), bit for bit.
    2. Against numpy's difference at 1e-12 of the OPERANDS' magnitude,
       1e-12 (|value| + |baseline|), and 100 x that / |baseline| for the
       percent. This is the only absolute floor of the module, and it is
       forced by arithmetic: two numbers each known to 1e-12 have a
       difference known to 1e-12 of their sum, not of the difference itself,
       which can be arbitrarily smaller (a sd of 0.2985 in both scenarios up
       to 4e-6: their difference differs in its 11th digit between two exact
       computations of the operands a few ulps apart). The exact zero
       difference of two equal values is covered by 1.
    """
    value, baseline, difference, pct = names
    v, b = got[value], got[baseline]
    own = None if v is None or b is None else v - b
    if percent:
        own = None if own is None or b == 0 else 100 * own / abs(b)
    actual = got[pct if percent else difference]
    if actual != own and not (actual is None and own is None):
        return False
    want = expected[pct if percent else difference]
    if want is None or actual is None:
        return want is None and actual is None
    ev, eb = expected[value], expected[baseline]
    bound = RTOL * (abs(ev) + abs(eb))
    if percent:
        bound = 100 * bound / abs(eb)
    return abs(actual - want) <= bound


class Report:
    """Counts the values compared and collects every disagreement."""

    def __init__(self, family: str, dataset: str):
        self.family, self.dataset = family, dataset
        self.values = 0
        self.rows = 0
        self.failures: list[str] = []

    def rows_match(
        self,
        got: dict,
        expected: dict,
        columns: list[str],
        comparison: tuple[str, str, str, str] | None = None,
    ) -> None:
        """Every row of `expected` in `got` and no other, every column agreeing.
        `comparison` names the (value, baseline, difference, percent) columns of
        a comparison row: see `difference_agrees`."""
        missing = sorted(set(expected) - set(got), key=str)
        extra = sorted(set(got) - set(expected), key=str)
        for key in missing[:10]:
            self.failures.append(f"missing row {key}: expected {expected[key]}")
        for key in extra[:10]:
            self.failures.append(f"unexpected row {key}: {got[key]}")
        if missing or extra:
            self.failures.append(f"{len(missing)} rows missing, {len(extra)} unexpected")
        for key in sorted(set(got) & set(expected), key=str):
            self.rows += 1
            row = dict(zip(columns, got[key], strict=True))
            wanted = dict(zip(columns, expected[key], strict=True))
            for column in columns:
                self.values += 1
                actual, want = row[column], wanted[column]
                if comparison and column in comparison[2:]:
                    ok = difference_agrees(column == comparison[3], row, wanted, comparison)
                else:
                    ok = agree(actual, want)
                if not ok:
                    self.failures.append(f"{key} {column}: warehouse {actual!r}, numpy {want!r}")

    def finish(self, record_property) -> None:
        line = f"{self.family} ({self.dataset}): {self.values} values compared in {self.rows} rows"
        print("\n" + line)
        record_property(f"{self.family}_{self.dataset}", line)
        shown = "\n".join(self.failures[:40])
        assert not self.failures, f"{line}; {len(self.failures)} disagreements:\n{shown}"


# ----------------------------------------------------------------------------- the data itself


def test_the_data_is_what_the_checks_claim(dataset):
    """Real: 162 series, doubles in both files, float and double records in the
    copy, incomplete years, every kind of missing value; synthetic: the series
    the outcome marts need."""
    keys = {s: set(series) for s, series in dataset.series.items()}
    print(f"\n{dataset.name}: {sorted(keys)}, {dataset.notes}")
    if dataset.name == "real":
        assert len(keys[BASELINE]) == len(keys[ALTERNATIVE]) == 162
        assert record_type_codes(dataset.files[BASELINE]) == Counter({105: 1458})
        assert set(record_type_codes(dataset.files[ALTERNATIVE])) == {100, 105}
        alt = dataset.series[ALTERNATIVE]
        assert {s.first_month for s in alt.values()} == {ALT_START}
        assert {len(s.raw) for s in alt.values()} == {ALT_MONTHS}
        base = dataset.series[BASELINE]
        assert {s.first_month for s in base.values()} == {(1921, 10)}
        assert sum(not fits_float32(s.raw[~np.isnan(s.raw)]) for s in base.values()) > 50
        raw = np.concatenate([s.raw for s in [*base.values(), *alt.values()]])
        with np.errstate(over="ignore", invalid="ignore"):
            kinds = {
                "DSS 7 undefined": np.any(raw.astype(np.float32) == np.float32(-3.4028235e38)),
                "beyond float32": np.any(np.isfinite(raw) & (np.abs(raw) > F32_MAX)),
                "-901": np.any(raw == -901),
                "-902": np.any(raw == -902),
                "99000": np.any(raw == 99000),
                "99000 at float32": np.any((raw != 99000) & (raw.astype(np.float32) == 99000)),
                "NaN": np.any(np.isnan(raw)),
                "inf": np.any(np.isinf(raw)),
            }
        assert all(kinds.values()), kinds
        wanted = {"WYT_SAC_/WATERYEARTYPE", "S_SHSTA/STORAGE", "NDOI/FLOW"}
        assert not wanted & keys[BASELINE], "the real file has none of the outcome series"
    else:
        for s in keys.values():
            assert {
                "WYT_SAC_/WATERYEARTYPE",
                "S_SHSTA/STORAGE",
                "S_SHSTALEVEL5DV/STORAGE-LEVEL",
                "DEL_SWP_PMI/DELIVERY-SWP",
                "SHORT_SWP_PMI/DELIVERY-SHORTAGE-SWP",
                "NDOI/FLOW",
                "X2_PRV_KM/X2-POSITION-PREV",
                "EM_EC_MONTH/SALINITY",
            } <= s


# ----------------------------------------------------------------------------- general statistics


STATISTICS_COLUMNS = ["value_unit", "value", "value_count", "missing_count"]


def rows_by_key(rows, n_keys: int) -> dict:
    """{key columns: other columns}; a key twice is a failure, not a silent overwrite."""
    out = {tuple(r[:n_keys]): tuple(r[n_keys:]) for r in rows}
    assert len(out) == len(rows), f"{len(rows) - len(out)} duplicate keys"
    return out


def check_every_row(dataset, record_property, mart, keys, columns, expected, compared=None):
    """Every row of marts.`mart` against `expected` ({key values: column values})."""
    got = rows_by_key(
        dataset.sql(f"select {', '.join([*keys, *columns])} from marts.{mart}"), len(keys)
    )
    report = Report(mart, dataset.name)
    if compared is None:
        report.rows_match(got, expected, columns)
    else:
        report.rows_match(got, expected, columns, compared)
    report.finish(record_property)


def test_series_statistics_every_row(dataset, record_property):
    check_every_row(
        dataset,
        record_property,
        "fct_series_statistics",
        ["scenario_id", "variable_key", "period", "statistic_code"],
        STATISTICS_COLUMNS,
        expected_series_statistics(dataset),
    )


def test_year_type_statistics_every_row(dataset, record_property):
    expected = expected_year_type_statistics(dataset)
    sources = {k[2] for k in expected}
    assert sources == ({"cdec"} if dataset.name == "real" else {"cdec", "model"})
    got = rows_by_key(
        dataset.sql(
            "select scenario_id, variable_key, year_type_source, year_type_code, period,"
            " statistic_code, value_unit, value, value_count, missing_count"
            " from marts.fct_year_type_statistics"
        ),
        6,
    )
    report = Report("fct_year_type_statistics", dataset.name)
    report.rows_match(got, expected, STATISTICS_COLUMNS)
    report.finish(record_property)


# ----------------------------------------------------------------------------- annual values


ANNUAL_COLUMNS = [
    "month_count",
    "total_taf",
    "months_sum_taf",
    "mean_value",
    "min_value",
    "max_value",
    "apr_value",
    "sep_value",
    "is_complete_year",
]


#: Annual values that are one monthly value of the file each.
MONTH_VALUE_COLUMNS = ["min_value", "max_value", "apr_value", "sep_value"]


def expected_annual_values(data: Dataset) -> dict:
    out = {}
    for scenario, series in data.series.items():
        for key, s in series.items():
            for wy, row in s.annual_rows().items():
                out[(scenario, key, wy)] = tuple(row[c] for c in ANNUAL_COLUMNS)
    return out


def test_annual_values_every_row_mart_and_api(dataset, record_property):
    """fct_annual_values, and /annual_values as web_anon (with CDEC's year types);
    total_taf is NULL for an incomplete water year."""
    expected = expected_annual_values(dataset)
    if dataset.name == "real":
        assert any(v[0] < 12 and v[2] is not None for v in expected.values())  # partial flows
    got = rows_by_key(
        dataset.sql(
            "select scenario_id, variable_key, water_year, "
            + ", ".join(ANNUAL_COLUMNS)
            + " from marts.fct_annual_values"
        ),
        3,
    )
    report = Report("fct_annual_values", dataset.name)
    report.rows_match(got, expected, ANNUAL_COLUMNS)
    # The min, max, April and September values are values of the file: stored
    # as `real` for a float32 series, they must come back exactly, not to 1e-12.
    for key in sorted(set(got) & set(expected), key=str):
        for column in MONTH_VALUE_COLUMNS:
            at = ANNUAL_COLUMNS.index(column)
            if got[key][at] != expected[key][at]:
                report.failures.append(
                    f"{key} {column}: warehouse {got[key][at]!r}, file {expected[key][at]!r}"
                    " (not exact)"
                )
    report.finish(record_property)

    api_columns = ["sac_year_type_abbrev", "sjv_year_type_abbrev", *ANNUAL_COLUMNS]
    api_columns.remove("months_sum_taf")  # not served
    api_expected = {}
    for (scenario, key, wy), row in expected.items():
        cols = dict(zip(ANNUAL_COLUMNS, row, strict=True))
        sac, sjv = dataset.cdec.get(wy, (None, None))
        api_expected[(scenario, key, wy)] = (sac, sjv, *[cols[c] for c in api_columns[2:]])
    api = Pgrst(dataset.url)
    api_got = {}
    try:
        for scenario, series in dataset.series.items():
            for key in series:
                body = api.get(
                    "annual_values",
                    f"scenario_id=eq.{scenario}&variable_key=eq.{key}&order=water_year",
                )
                for r in body:
                    api_got[(r["scenario_id"], r["variable_key"], r["water_year"])] = tuple(
                        r[c] for c in api_columns
                    )
    finally:
        api.close()
    report = Report("api.annual_values", dataset.name)
    report.rows_match(api_got, api_expected, api_columns)
    report.finish(record_property)


def test_annual_values_compact_stores_month_values_at_the_file_precision(dataset):
    """fct_annual_values_compact keeps each series' min, max, April and
    September values as `real[]` exactly when every value of the series is a
    32-bit float (decided here from the file), else as `double precision[]`:
    one array per measure, one element per water year the series spans, from
    the water year of its first month; volumes for flows only."""
    rows = dataset.sql(
        "select scenario_id, variable_key, start_water_year, cardinality(month_counts), "
        "cardinality(months_sums_taf), "
        + ", ".join(
            f"cardinality({m}_values_f4), cardinality({m}_values_f8)"
            for m in ("min", "max", "apr", "sep")
        )
        + " from marts.fct_annual_values_compact"
    )
    got = rows_by_key(rows, 2)
    expected = {}
    for scenario, series in dataset.series.items():
        for key, s in series.items():
            years = s.annual_rows()
            n = len(years)
            f32 = fits_float32(s.values[~np.isnan(s.values)])
            extremes = (n, None) if f32 else (None, n)
            expected[(scenario, key)] = (
                min(years),
                n,
                n if s.is_flow else None,
                *extremes * 4,
            )
    assert set(got) == set(expected)
    differing = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not differing, list(differing.items())[:10]
    kinds = Counter(v[3] is not None for v in expected.values())
    if dataset.name == "real":
        assert kinds[True] > 0 and kinds[False] >= 50, kinds  # both precisions stored
    print(f"\nfct_annual_values_compact ({dataset.name}): {len(got)} series, {dict(kinds)} float32")


# ----------------------------------------------------------------------------- comparisons


COMPARED = ("value", "baseline_value", "difference", "percent_difference")
COMPARISON_COLUMNS = [
    "baseline_scenario_id",
    "value_unit",
    "value",
    "baseline_value",
    "difference",
    "percent_difference",
]


def test_series_comparisons_every_row(dataset, record_property):
    expected = expected_comparisons(dataset, expected_series_statistics(dataset), 2)
    assert expected, "an alternative and its baseline are loaded"
    check_every_row(
        dataset,
        record_property,
        "fct_series_comparisons",
        ["scenario_id", "variable_key", "period", "statistic_code"],
        COMPARISON_COLUMNS,
        expected,
        COMPARED,
    )


def test_year_type_comparisons_every_row(dataset, record_property):
    keys = ["scenario_id", "variable_key", "year_type_source", "year_type_code", "period"]
    check_every_row(
        dataset,
        record_property,
        "fct_year_type_comparisons",
        [*keys, "statistic_code"],
        COMPARISON_COLUMNS,
        expected_comparisons(dataset, expected_year_type_statistics(dataset), 4),
        COMPARED,
    )


def test_compare_scenarios_every_series_both_ways(dataset, record_property):
    """/rpc/compare_scenarios as web_anon for every series and every ordered pair
    of loaded scenarios: value_b - value_a and its percent of |value_a| (NULL
    when value_a is 0), periods all, annual, 1-12 and statistics in display order."""
    stats = expected_series_statistics(dataset)
    params = dataset.params
    report = Report("api.compare_scenarios", dataset.name)
    api = Pgrst(dataset.url)
    columns = ["value_unit", "value_a", "value_b", "difference", "percent_difference"]
    try:
        scenarios = sorted(dataset.series)
        for a in scenarios:
            for b in scenarios:
                if a == b:
                    continue
                for key in sorted(set(dataset.series[a]) & set(dataset.series[b])):
                    expected_order = [
                        (p, c)
                        for p in PERIODS
                        for c in params.codes
                        if (a, key, p, c) in stats and (b, key, p, c) in stats
                    ]
                    body = api.rpc(
                        "compare_scenarios", {"scenario_a": a, "scenario_b": b, "variable_key": key}
                    )
                    got_order = [(r["period"], r["statistic_code"]) for r in body]
                    if got_order != expected_order:
                        report.failures.append(
                            f"{a} {b} {key}: rows {got_order[:5]}... not {expected_order[:5]}..."
                        )
                    got = {
                        (a, b, key, r["period"], r["statistic_code"]): tuple(r[c] for c in columns)
                        for r in body
                    }
                    expected = {}
                    for p, c in expected_order:
                        unit, va, _, _ = stats[(a, key, p, c)]
                        vb = stats[(b, key, p, c)][1]
                        _, _, difference, _ = compared(vb, va)
                        percent = (
                            None if difference is None or va == 0 else 100 * difference / abs(va)
                        )
                        expected[(a, b, key, p, c)] = (unit, va, vb, difference, percent)
                    report.rows_match(
                        got,
                        expected,
                        columns,
                        ("value_b", "value_a", "difference", "percent_difference"),
                    )
    finally:
        api.close()
    report.finish(record_property)


# ----------------------------------------------------------------------------- reservoirs


def aligned(a: Series, b: Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two series on their common months: (values a, values b, water months, water years)."""
    ia = a.calendar_year * 12 + a.calendar_month
    ib = b.calendar_year * 12 + b.calendar_month
    _, pa, pb = np.intersect1d(ia, ib, return_indices=True)
    return a.values[pa], b.values[pb], a.water_month[pa], a.water_year[pa]


def share_rows(
    keys: tuple, flags: np.ndarray, water_months: np.ndarray, statistic: str, basis: str
) -> dict:
    """Shares (0-1) of true flags among known ones (NaN = unknown), by water month
    and over all months; a period without a known flag has no row."""
    out = {}
    for period, sel in [("all", np.ones(len(flags), bool))] + [
        (str(m), water_months == m) for m in range(1, 13)
    ]:
        known = flags[sel][~np.isnan(flags[sel])]
        if len(known):
            out[(*keys, period, statistic)] = (
                "FRACTION",
                basis,
                float(np.sum(known == 1)) / len(known),
                len(known),
            )
    return out


def compare_flags(left: np.ndarray, right: np.ndarray | float, op) -> np.ndarray:
    """1.0 / 0.0 where both sides are known, NaN otherwise."""
    right = np.broadcast_to(np.asarray(right, dtype=float), left.shape)
    known = ~np.isnan(left) & ~np.isnan(right)
    out = np.full(left.shape, np.nan)
    out[known] = op(left[known], right[known]).astype(float)
    return out


def expected_reservoir_statistics(data: Dataset, series_stats: dict) -> dict:
    reservoirs = seed_rows("entities/reservoirs.csv")
    releases = seed_rows("statistics/reservoir_flood_releases.csv")
    out = {}
    for scenario, series in data.series.items():
        for r in reservoirs:
            code, storage_key = r["reservoir_code"], f"{r['storage_b_part']}/STORAGE"
            storage = series.get(storage_key)
            if storage is None:
                continue
            capacity = float(r["capacity_taf"]) if r["capacity_taf"] else None
            for p in (*PERIODS[2:], "all"):
                for c in data.params.codes:
                    unit, value, n, _ = series_stats[(scenario, storage_key, p, c)]
                    out[(scenario, code, "storage", p, c)] = (unit, storage_key, value, n)
                    if capacity and capacity > 0:
                        pct = value if c == "cv" or value is None else value * 100 / capacity
                        out[(scenario, code, "storage_pct_capacity", p, c)] = (
                            "NONE" if c == "cv" else "PERCENT",
                            "capacity_taf",
                            pct,
                            n,
                        )
            flood_key = (
                f"{r['flood_pool_level_b_part']}/STORAGE-LEVEL"
                if r["flood_pool_level_b_part"]
                else None
            )
            if flood_key in series:
                s, level, wm, _ = aligned(storage, series[flood_key])
                flags = compare_flags(s, level, np.greater_equal)
                out |= share_rows(
                    (scenario, code, "flood_pool"), flags, wm, "probability", flood_key
                )
            dead_key = (
                f"{r['dead_pool_level_b_part']}/STORAGE-LEVEL"
                if r["dead_pool_level_b_part"]
                else None
            )
            if dead_key in series:
                s, level, wm, _ = aligned(storage, series[dead_key])
                flags = compare_flags(s, level, np.less_equal)
                out |= share_rows((scenario, code, "dead_pool"), flags, wm, "probability", dead_key)
            elif r["dead_pool_taf"]:
                flags = compare_flags(storage.values, float(r["dead_pool_taf"]), np.less_equal)
                out |= share_rows(
                    (scenario, code, "dead_pool"),
                    flags,
                    storage.water_month,
                    "probability",
                    "dead_pool_taf",
                )
        for r in releases:
            key = f"{r['b_part']}/{r['c_part']}"
            release = series.get(key)
            if release is None:
                continue
            flags = compare_flags(release.values, float(r["spill_threshold_cfs"]), np.greater)
            keys = (scenario, r["reservoir_code"], "spill")
            out |= share_rows(keys, flags, release.water_month, "frequency", key)
            years = []
            for wy in np.unique(release.water_year):
                known = flags[release.water_year == wy]
                known = known[~np.isnan(known)]
                if len(known):
                    years.append(float(np.any(known == 1)))
            if years:
                out[(*keys, "annual", "frequency")] = (
                    "FRACTION",
                    key,
                    float(np.sum(years)) / len(years),
                    len(years),
                )
    return out


def test_reservoir_statistics_every_row(dataset, record_property):
    expected = expected_reservoir_statistics(dataset, expected_series_statistics(dataset))
    assert bool(expected) == (dataset.name == "synthetic")
    check_every_row(
        dataset,
        record_property,
        "fct_reservoir_statistics",
        ["scenario_id", "reservoir_code", "metric_code", "period", "statistic_code"],
        ["value_unit", "basis", "value", "value_count"],
        expected,
    )


# ----------------------------------------------------------------------------- deliveries


def deliveries() -> list[tuple[str, str, dict[str, list[str]]]]:
    """(delivery_code, delivery_type, {series role: variable keys}) from the seeds:
    an aggregate's delivery and shortage series, a demand unit's delivery arcs,
    shortage and demand series (seeds/entities/demand_unit_series.csv)."""
    out = []
    for r in seed_rows("entities/delivery_aggregates.csv"):
        roles = {
            "delivery": [f"{r['delivery_b_part']}/{r['delivery_c_part']}"],
            "shortage": [f"{r['shortage_b_part']}/{r['shortage_c_part']}"],
        }
        out.append((r["aggregate_code"], "delivery_aggregate", roles))
    units: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in seed_rows("entities/demand_unit_series.csv"):
        units[r["du_code"]][r["series_role"]].append(f"{r['b_part']}/{r['c_part']}")
    out += [(code, "demand_unit", dict(roles)) for code, roles in units.items()]
    return out


DELIVERY_ANNUAL_COLUMNS = [
    "delivery_type",
    "delivery_taf",
    "shortage_taf",
    "demand_taf",
    "demand_basis",
    "percent_demand_met",
    "is_shortage_year",
    "is_complete_year",
]


def role_year(
    series: dict[str, Series], keys: list[str], wy: int
) -> tuple[float | None, int] | None:
    """A role's (volume, month count) in a water year: the sum of its series'
    volumes (the delivery arcs of a demand unit) and their smallest month count
    when every series of the role has the year, (None, 0) when only some have
    it, None when none has it."""
    rows = [series[k].annual_rows().get(wy) for k in keys if k in series]
    rows = [r for r in rows if r is not None]
    if not rows:
        return None
    if len(rows) < len(keys):
        return None, 0
    volumes = [r["months_sum_taf"] for r in rows if r["months_sum_taf"] is not None]
    return (math.fsum(volumes) if volumes else None), min(r["month_count"] for r in rows)


def expected_delivery_annual(data: Dataset) -> dict:
    out = {}
    threshold, min_months = data.params.shortage_threshold, data.params.min_months
    for scenario, series in data.series.items():
        for code, kind, roles in deliveries():
            keys = [k for ks in roles.values() for k in ks if k in series]
            years = sorted({int(wy) for k in keys for wy in np.unique(series[k].water_year)})
            has_demand = any(k in series for k in roles.get("demand", []))
            for wy in years:
                got = {role: role_year(series, ks, wy) for role, ks in roles.items()}
                if all(v is None for v in got.values()):
                    continue
                volume = {role: v[0] if v else None for role, v in got.items()}
                months = {role: v[1] if v else 0 for role, v in got.items()}
                d, s = volume.get("delivery"), volume.get("shortage")
                if has_demand:
                    demand, demand_months = volume.get("demand"), months.get("demand", 0)
                else:
                    demand = d + s if d is not None and s is not None else None
                    demand_months = months.get("shortage", 0)
                out[(scenario, code, wy)] = (
                    kind,
                    d,
                    s,
                    demand,
                    "demand_series" if has_demand else "delivery_plus_shortage",
                    100 * d / demand if demand and d is not None else None,
                    None if s is None else s > threshold,
                    months.get("delivery", 0) >= min_months and demand_months >= min_months,
                )
    return out


def expected_delivery_statistics(annual: dict) -> dict:
    """Per scenario and delivery, over its complete years (value_count: years used)."""
    years = defaultdict(list)
    for (scenario, code, _wy), row in annual.items():
        row = dict(zip(DELIVERY_ANNUAL_COLUMNS, row, strict=True))
        if row["is_complete_year"]:
            years[(scenario, code)].append(row)
    out = {}
    for (scenario, code), rows in years.items():

        def known(column: str, rows=rows) -> list[float]:
            return [r[column] for r in rows if r[column] is not None]

        def mean(column: str) -> float | None:
            return exact_mean(known(column)) if known(column) else None

        n = len(rows)
        s, demand = mean("shortage_taf"), mean("demand_taf")
        percents = known("percent_demand_met")
        metrics = {
            ("delivery", "mean"): ("TAF", mean("delivery_taf"), n),
            ("shortage", "mean"): ("TAF", s, n),
            ("demand", "mean"): ("TAF", demand, n),
            ("delivery", "reliability"): (
                "FRACTION",
                1 - s / demand if demand and s is not None else None,
                n,
            ),
            ("shortage", "shortage_years"): (
                "COUNT",
                float(sum(r["is_shortage_year"] is True for r in rows)),
                n,
            ),
            ("percent_demand_met", "mean"): ("PERCENT", mean("percent_demand_met"), len(percents)),
            ("percent_demand_met", "min"): (
                "PERCENT",
                min(percents) if percents else None,
                len(percents),
            ),
        }
        for (metric, statistic), (unit, value, count) in metrics.items():
            out[(scenario, code, metric, "annual", statistic)] = (
                rows[0]["delivery_type"],
                unit,
                value,
                count,
            )
    return out


def test_delivery_annual_and_statistics_every_row(dataset, record_property):
    annual = expected_delivery_annual(dataset)
    assert bool(annual) == (dataset.name == "synthetic")
    got = rows_by_key(
        dataset.sql(
            "select scenario_id, delivery_code, water_year, "
            + ", ".join(DELIVERY_ANNUAL_COLUMNS)
            + " from marts.fct_delivery_annual"
        ),
        3,
    )
    report = Report("fct_delivery_annual", dataset.name)
    report.rows_match(got, annual, DELIVERY_ANNUAL_COLUMNS)
    report.finish(record_property)

    expected = expected_delivery_statistics(annual)
    got = rows_by_key(
        dataset.sql(
            "select scenario_id, delivery_code, metric_code, period, statistic_code,"
            " delivery_type, value_unit, value, value_count from marts.fct_delivery_statistics"
        ),
        5,
    )
    report = Report("fct_delivery_statistics", dataset.name)
    report.rows_match(got, expected, ["delivery_type", "value_unit", "value", "value_count"])
    report.finish(record_property)


# ----------------------------------------------------------------------------- the Delta


def expected_delta_statistics(data: Dataset, series_stats: dict) -> dict:
    delta = seed_rows("statistics/delta_series.csv")
    thresholds = seed_rows("statistics/salinity_thresholds.csv")
    seasons = defaultdict(list)
    for r in seed_rows("statistics/x2_seasons.csv"):
        seasons[r["season_code"]].append(int(r["calendar_month"]))
    out = {}
    for scenario, series in data.series.items():
        for d in delta:
            key = f"{d['b_part']}/{d['c_part']}"
            s = series.get(key)
            if s is None:
                continue
            code = d["series_code"]
            if d["role"] == "outflow":
                for p in PERIODS:
                    for c in data.params.codes:
                        unit, value, n, _ = series_stats[(scenario, key, p, c)]
                        out[(scenario, code, "outflow", p, c)] = (unit, value, n)
            elif d["role"] == "x2":
                for season, months in seasons.items():
                    sel = np.isin(s.calendar_month, months)
                    if sel.any():
                        known = s.values[sel][~np.isnan(s.values[sel])]
                        mean = exact_mean(known) if len(known) else None
                        out[(scenario, code, "x2_position", season, "mean")] = (
                            d["unit_code"],
                            mean,
                            len(known),
                        )
            elif d["role"] == "salinity":
                known = s.values[~np.isnan(s.values)]
                for t in thresholds:
                    if t["series_code"] == code:
                        share = (
                            float(np.sum(known > float(t["threshold_umhos_cm"]))) / len(known)
                            if len(known)
                            else None
                        )
                        statistic = f"share_above_{t['threshold_umhos_cm']}"
                        out[(scenario, code, "salinity", "all", statistic)] = (
                            "FRACTION",
                            share,
                            len(known),
                        )
    return out


def test_delta_statistics_every_row(dataset, record_property):
    expected = expected_delta_statistics(dataset, expected_series_statistics(dataset))
    assert bool(expected) == (dataset.name == "synthetic")
    check_every_row(
        dataset,
        record_property,
        "fct_delta_statistics",
        ["scenario_id", "series_code", "metric_code", "period", "statistic_code"],
        ["value_unit", "value", "value_count"],
        expected,
    )


# ----------------------------------------------------------------------------- outcome comparisons


def test_outcome_comparisons_every_row(dataset, record_property):
    series_stats = expected_series_statistics(dataset)
    outcomes = {}
    for key, row in expected_reservoir_statistics(dataset, series_stats).items():
        outcomes[(key[0], "reservoir", *key[1:])] = (row[0], row[2])
    for key, row in expected_delivery_statistics(expected_delivery_annual(dataset)).items():
        outcomes[(key[0], "delivery", *key[1:])] = (row[1], row[2])
    for key, row in expected_delta_statistics(dataset, series_stats).items():
        outcomes[(key[0], "delta", *key[1:])] = (row[0], row[1])
    expected = {}
    for (scenario, *rest), (unit, value) in outcomes.items():
        baseline = dataset.baselines[scenario]
        if baseline and (baseline, *rest) in outcomes:
            base = outcomes[(baseline, *rest)][1]
            expected[(scenario, *rest)] = (baseline, unit, *compared(value, base))
    assert bool(expected) == (dataset.name == "synthetic")
    keys = ["scenario_id", "family", "subject_code", "metric_code", "period", "statistic_code"]
    check_every_row(
        dataset,
        record_property,
        "fct_outcome_comparisons",
        keys,
        COMPARISON_COLUMNS,
        expected,
        COMPARED,
    )
