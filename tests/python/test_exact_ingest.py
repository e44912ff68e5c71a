"""Bit-exact ingest: every value the warehouse serves is the file's value, bit for bit.

For every monthly series of every real DSS 7 file in ../shared/data/dss and of a
file crafted here with the edge cases (denormals, -0, 2^-46, float32 values inside
a double series, ±float32 max, huge doubles, the missing-value sentinels), the
files are loaded with the real CLI, built with dbt up to `marts.fct_series_values`,
and the values of the raw arrays, of staging and of the mart are compared with an
independent pydsstools read of the file at EXACT equality of their bit patterns.

The expected side never uses the loader's code: it opens the files with
`pydsstools.heclib.dss.HecDss.Open`, reads each series whole (empty D part) as
doubles, and applies the missing-value rule as the README documents it
(-901, -902, -3.4028235e38 and 99000 compared at float32; NaN, ±inf and
|v| >= float32 max are missing).

pydsstools' writer stores 32-bit floats only (`TimeSeriesContainer` casts the
values to float32 and calls `zstructTsNewRegFloats`). The crafted file's double
records are written through the same HEC-DSS C library that pydsstools bundles
(`zstructTsNewRegDoubles` + `ztsStore`, called with ctypes), so the 64-bit path
is covered by a crafted file as well as by the real CalSim II file.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest

from tests.python.conftest import (
    TEST_DATABASE,
    coeqwal,
    fresh_database,
    shared_data_dir,
    sql_runner,
)

with contextlib.redirect_stderr(io.StringIO()):  # pydsstools warns that rasterio is absent
    from pydsstools._lib import core_heclib
    from pydsstools.core import TimeSeriesContainer
    from pydsstools.heclib.dss import HecDss
    from pydsstools.heclib.logging import Level, get_dss_logger

get_dss_logger().set_level(Level.NONE)

pytestmark = pytest.mark.db

DATABASE = f"{TEST_DATABASE}_exact"  # a database of this module's own
ENV = {"COEQWAL_DATABASE": DATABASE}
F32_MAX = float(np.finfo(np.float32).max)  # 3.4028234663852886e38
SENTINELS_F32 = np.array([-901.0, -902.0, -3.4028235e38, 99000.0], dtype=np.float32)
# Scenario ids from the scenarios seed, one per loaded file.
SCENARIO_IDS = ["s0020", "s0021", "s0023", "s0024", "s0025", "s0026", "s0027"]
CRAFTED_SCENARIO = "s0029"
START = "31OCT1921 2400"  # end of the first month: the series start in October 1921
MONTHS = 120  # ten water years, two decade blocks

_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.strtof.restype = ctypes.c_float
_LIBC.strtof.argtypes = [ctypes.c_char_p, ctypes.c_void_p]


def strtof(text: str) -> np.float32:
    """C's strtof: decimal to the nearest float32 in one rounding (what `real` uses)."""
    return np.float32(_LIBC.strtof(text.encode(), None))


def bits64(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


def bits32(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)


def real_dss7_files() -> list[Path]:
    """Every DSS 7 file of the reference data, found by its header (`ZDSS`, `7-`)."""
    folder = shared_data_dir()
    if folder is None:
        return []
    found = []
    for path in sorted((folder / "dss").glob("*.dss")):
        with path.open("rb") as fh:
            head = fh.read(20)
        if head[:4] == b"ZDSS" and head[16:18] == b"7-":
            found.append(path)
    return found


# --- the independent side -------------------------------------------------------------


def missing_mask(values: np.ndarray) -> np.ndarray:
    """The README's rule: sentinels compared at float32; NaN, inf, |v| >= float32 max."""
    with np.errstate(over="ignore", invalid="ignore"):
        as32 = values.astype(np.float32)
        beyond = ~(np.abs(values) < F32_MAX)
    return beyond | np.isin(as32, SENTINELS_F32)


def expected_precision(values: np.ndarray, missing: np.ndarray) -> str:
    """float32 when every value that is not missing is exactly a 32-bit float."""
    kept = values[~missing]
    return "float32" if np.array_equal(bits64(kept.astype(np.float32)), bits64(kept)) else "float64"


def pydss_monthly(path: Path) -> dict[str, dict]:
    """Every monthly series of the file, keyed `B/C` in upper case, read whole as doubles.

    Time-series records (pydsstools' `path_dict()['ts']`) whose E part is 1MON or
    1Month; each read through its logical path (empty D part: the library's own
    "retrieve all"), `value_precision="double"`. A value stamped at the end of a
    month (24:00, shown as 00:00 of the next day) belongs to that month.
    """
    out: dict[str, dict] = {}
    fid = HecDss.Open(str(path), mode="r")
    try:
        records = fid.path_dict()["ts"]
        logical = sorted(
            {
                "/".join(p.split("/")[:4]) + "//" + "/".join(p.split("/")[5:])
                for p in records
                if p.split("/")[5].upper() in ("1MON", "1MONTH")
            }
        )
        for lp in logical:
            ts = fid.read_ts(lp, value_precision="double")
            values = np.array(ts.values, dtype=np.float64, copy=True)
            first_stamp = ts.start_time.datetime()
            native = fid.read_ts(lp, value_precision="native")
            stored = np.asarray(native.values).dtype
            del ts, native
            assert first_stamp.time() == dt.time(0), lp  # 24:00 of a month's last day
            month = (first_stamp - dt.timedelta(days=1)).date().replace(day=1)
            missing = missing_mask(values)
            key = (lp.split("/")[2] + "/" + lp.split("/")[3]).upper()
            assert key not in out, f"{path.name}: two series share {key}"
            out[key] = {
                "path": lp,
                "start_month": month,
                "values": values,
                "missing": missing,
                "precision": expected_precision(values, missing),
                "stored": str(stored),
            }
    finally:
        fid.close()
    return out


# --- the crafted file -----------------------------------------------------------------

F32_BELOW_MAX = float(np.nextafter(np.float32(F32_MAX), np.float32(0)))  # 3.4028232635611926e38
F32_MIN_DENORMAL = float(np.float32(1e-45))  # 1.401298464324817e-45
F32_MAX_DENORMAL = float(np.float32(1.1754942e-38))  # 1.1754942106924411e-38

# A double record that needs 64 bits: doubles mixed with values that fit a float32.
MIXED64 = [
    5e-324,  # smallest float64 denormal
    -5e-324,
    2.225073858507201e-308,  # largest float64 denormal
    2.2250738585072014e-308,  # smallest float64 normal
    2.0**-46,  # fits a float32
    5 * 2.0**-48,  # 1.7763568394002505e-14, fits a float32
    2.0**-38,  # 3.637978807091713e-12, fits a float32
    F32_MIN_DENORMAL,  # a float32 denormal inside a double series
    -F32_MAX_DENORMAL,
    0.1,
    float(np.float32(0.1)),  # 0.10000000149011612, fits a float32
    1 / 3,
    2454.2605,
    float(np.float32(2454.2605)),  # 2454.260498046875
    -0.0,
    0.0,
    F32_BELOW_MAX,  # the largest float32 below its max: kept
    -F32_BELOW_MAX,
    3.4e38,  # a double below float32 max: kept
    3.4028234e38,  # below float32 max, rounds to it as a float32: kept (not a sentinel)
    -3.40282346e38,  # below float32 max, rounds to -3.4028235e38 as a float32: missing
    F32_MAX,  # float32 max: missing (|v| >= float32 max)
    -F32_MAX,  # the DSS 7 undefined value: missing
    -3.4028235e38,  # the sentinel as a double (beyond float32 max): missing
    1e300,  # a float64-large value: missing
    -1.7976931348623157e308,  # -float64 max: missing
    1.7976931348623157e308,
    2.0**53 + 2,  # 9007199254740994: an integer no float32 holds
    1e22,
    -901.0,  # sentinels: missing
    -902.0,
    99000.0,
    -901.0000000001,  # -901 at float32: missing
    99000.001,  # 99000 at float32: missing
    -901.01,  # not a sentinel: kept
    float("nan"),  # missing
    float("inf"),
    float("-inf"),
]
# A double record whose kept values all fit a float32 (staging reads it through `real`);
# its only 64-bit values are missing ones.
FITS32 = [
    F32_MIN_DENORMAL,
    -F32_MIN_DENORMAL,
    F32_MAX_DENORMAL,
    float(np.float32(0.1)),
    2.0**-46,
    5 * 2.0**-48,
    2.0**-38,
    -0.0,
    F32_BELOW_MAX,
    -F32_BELOW_MAX,
    float(np.float32(2454.2605)),
    -901.0000000001,  # needs 64 bits, but missing (-901 at float32)
    1e300,  # needs 64 bits, but missing
    -902.0,
    float("nan"),
]
# A float record, written with pydsstools' own writer.
FLOAT32 = [
    1e-45,
    -1e-45,
    1.1754942e-38,  # largest float32 denormal
    1.17549435e-38,  # smallest float32 normal
    F32_BELOW_MAX,
    -F32_BELOW_MAX,
    F32_MAX,  # missing
    -F32_MAX,  # missing (the DSS 7 undefined value)
    -0.0,
    0.0,
    2.0**-46,
    2454.2605,
    0.1,
    -901.0,
    -902.0,
    99000.0,
    float("nan"),
    float("inf"),
    float("-inf"),
]
CRAFTED = {  # B/C: (values, record, precision the loader must give, by hand)
    "MIXED64/FLOW": (MIXED64, "double", "float64"),
    "FITS32/FLOW": (FITS32, "double", "float32"),
    "FLOAT32/STORAGE": (FLOAT32, "float", "float32"),
}


def _heclib() -> ctypes.CDLL:
    lib = ctypes.CDLL(core_heclib.__file__)
    ptr = ctypes.POINTER(ctypes.c_longlong)
    lib.zopen7.argtypes = [ptr, ctypes.c_char_p]
    lib.zclose.argtypes = [ptr]
    lib.zstructTsNewRegDoubles.restype = ctypes.c_void_p
    lib.zstructTsNewRegDoubles.argtypes = [
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_double),
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
    ]
    lib.ztsStore.argtypes = [ptr, ctypes.c_void_p, ctypes.c_int]
    lib.zstructFree.argtypes = [ctypes.c_void_p]
    return lib


def write_crafted(path: Path) -> None:
    """Three monthly series of MONTHS values (each list repeated), from October 1921."""
    lib = _heclib()
    ifltab = (ctypes.c_longlong * 250)()
    assert lib.zopen7(ifltab, str(path).encode()) == 0
    try:
        for key, (values, record, _) in CRAFTED.items():
            if record != "double":
                continue
            b, c = key.split("/")
            data = np.ascontiguousarray(np.resize(np.array(values, dtype=np.float64), MONTHS))
            tss = lib.zstructTsNewRegDoubles(
                f"/CRAFTED/{b}/{c}//1MON/EXACT/".encode(),
                data.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                MONTHS,
                START.split()[0].encode(),
                START.split()[1].encode(),
                b"CFS",
                b"PER-AVER",
            )
            assert tss
            try:
                assert lib.ztsStore(ifltab, tss, 0) == 0
            finally:
                lib.zstructFree(tss)
    finally:
        lib.zclose(ifltab)
    fid = HecDss.Open(str(path))
    try:
        for key, (values, record, _) in CRAFTED.items():
            if record != "float":
                continue
            b, c = key.split("/")
            data = np.resize(np.array(values, dtype=np.float32), MONTHS)
            fid.put_ts(
                TimeSeriesContainer(
                    f"/CRAFTED/{b}/{c}//1MON/EXACT/",
                    MONTHS,
                    1,
                    values=data,
                    start_time=START,
                    data_units="TAF",
                    data_type="PER-AVER",
                )
            )
    finally:
        fid.close()


# --- the warehouse side ---------------------------------------------------------------


@pytest.fixture(scope="module")
def db(test_db):
    """A database of this module's own, fresh: no seeds until the build."""
    return fresh_database(test_db, DATABASE)


@pytest.fixture(scope="module")
def q(db):
    return sql_runner(db.url())


@pytest.fixture(scope="module")
def crafted_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exact") / "crafted_DV.dss"
    write_crafted(path)
    return path


@pytest.fixture(scope="module")
def built(db, crafted_file):
    """Every real DSS 7 file and the crafted file ingested with the CLI, then built
    with dbt up to marts.fct_series_values. Returns {scenario: (file, expected)}."""
    files = real_dss7_files()  # none when ../shared/data is absent: the crafted file only
    assert len(files) <= len(SCENARIO_IDS)
    loaded = {}
    for scenario_id, path in zip(SCENARIO_IDS, files, strict=False):
        expected = pydss_monthly(path)
        proc = coeqwal("ingest", "dss", "--scenario", scenario_id, str(path), env=ENV,
                       check=False)  # fmt: skip
        if expected:
            assert proc.returncode == 0, proc.stderr
            assert f"{len(expected):,} series" in proc.stdout
        else:  # a file without monthly series loads nothing, and says so
            assert proc.returncode != 0 and "no regular monthly" in proc.stderr
        loaded[scenario_id] = (path, expected)
    expected = pydss_monthly(crafted_file)
    coeqwal("ingest", "dss", "--scenario", CRAFTED_SCENARIO, str(crafted_file), env=ENV)
    loaded[CRAFTED_SCENARIO] = (crafted_file, expected)
    # dbt build of the seeds and models fct_series_values reads, and of their tests
    # (cautious: not the tests that also need models outside the selection)
    from ingest.build import run_dbt

    code = run_dbt(
        ["build", "--select", "+fct_series_values", "--indirect-selection", "cautious"],
        db=db,
        quiet=True,
    )
    assert code == 0
    return loaded


def served(q, scenario_id: str) -> dict[str, dict]:
    """The raw arrays, staging and the mart's values of every series of a scenario
    (a `real` widened exactly to double precision, as Python reads only doubles)."""
    out: dict[str, dict] = {}
    for key, precision, f4, f8 in q(
        "select upper(b_part) || '/' || upper(c_part), value_precision, "
        "monthly_values_f4::double precision[], monthly_values_f8 "
        "from raw_dss.dss_series where scenario_id = %s",
        (scenario_id,),
    ):
        out[key] = {"raw_precision": precision, "raw_f4": f4, "raw_f8": f8}
    for key, precision, values, f4, f8 in q(
        "select series_key, value_precision, monthly_values, "
        "monthly_values_f4::double precision[], monthly_values_f8 "
        "from staging.stg_dss__series where scenario_id = %s",
        (scenario_id,),
    ):
        out[key].update(stg_precision=precision, stg=values, stg_f4=f4, stg_f8=f8)
    for key, start, count, missing, values in q(
        "select variable_key, start_month, month_count, missing_count, monthly_values "
        "from marts.fct_series_values where scenario_id = %s",
        (scenario_id,),
    ):
        out[key].update(start_month=start, month_count=count, missing_count=missing, mart=values)
    return out


def assert_same_bits(label: str, got: list | None, want: dict) -> int:
    """NULL exactly where the file's value is missing, every other value bit-identical.
    Returns the number of values compared."""
    values, missing = want["values"], want["missing"]
    assert got is not None and len(got) == len(values), label
    nulls = np.array([v is None for v in got])
    bad = np.flatnonzero(nulls != missing)
    assert bad.size == 0, (
        f"{label}: NULL where not missing (or not NULL where missing) at {bad[:5]}"
    )
    got64 = np.array([0.0 if v is None else v for v in got], dtype=np.float64)
    differ = np.flatnonzero(bits64(got64) != bits64(values))
    differ = differ[~missing[differ]]
    assert differ.size == 0, f"{label}: " + ", ".join(
        f"[{i}] file {values[i]!r} warehouse {got64[i]!r}" for i in differ[:5]
    )
    return len(values)


def compare_scenario(q, scenario_id: str, expected: dict[str, dict]) -> int:
    """Every series of the scenario against the independent read; returns values compared."""
    got = served(q, scenario_id)
    assert set(got) == set(expected)
    compared = 0
    for key, want in expected.items():
        row, label = got[key], f"{scenario_id} {want['path']}"
        precision = want["precision"]
        assert row["raw_precision"] == row["stg_precision"] == precision, label
        assert row["start_month"] == want["start_month"], label
        assert row["month_count"] == len(want["values"]), label
        assert row["missing_count"] == int(want["missing"].sum()), label
        assert_same_bits(f"{label} staging", row["stg"], want)
        if precision == "float32":
            assert row["raw_f8"] is None, label
            assert_same_bits(f"{label} raw real[]", row["raw_f4"], want)
            assert all(v is None or float(np.float32(v)) == v for v in row["raw_f4"]), label
            assert row["stg_f8"] is None, label
            assert_same_bits(f"{label} staging real[]", row["stg_f4"], want)
        else:
            assert row["raw_f4"] is None, label
            assert_same_bits(f"{label} raw float8[]", row["raw_f8"], want)
            assert row["stg_f4"] is None, label
            assert_same_bits(f"{label} staging float8[]", row["stg_f8"], want)
        compared += assert_same_bits(f"{label} fct_series_values", row["mart"], want)
    return compared


def real_loaded(built) -> dict:
    real = {s: v for s, v in built.items() if s != CRAFTED_SCENARIO}
    if not real:
        pytest.skip("no DSS 7 file in ../shared/data/dss (set COEQWAL_SHARED_DATA)")
    return real


def test_real_dss7_files_are_served_bit_exact(built, q, record_property):
    real = real_loaded(built)
    total = kept = 0
    for scenario_id, (path, expected) in real.items():
        n = compare_scenario(q, scenario_id, expected)
        k = sum(int((~e["missing"]).sum()) for e in expected.values())
        f64 = sum(e["precision"] == "float64" for e in expected.values())
        print(f"{path.name}: {len(expected)} monthly series ({f64} need 64 bits), "
              f"{n:,} values compared bit for bit ({k:,} non-missing)")  # fmt: skip
        total, kept = total + n, kept + k
    record_property("values_compared", total)
    record_property("non_missing_values_compared", kept)
    print(f"real DSS 7 files: {total:,} values compared ({kept:,} non-missing), all bit-exact")
    calsim2 = next(e for _, (p, e) in real.items() if p.name == "calsim2_postproc_v7.dss")
    # The CalSim II post-processed file stores doubles; 50 of its series need 64 bits.
    assert sum(e["precision"] == "float64" for e in calsim2.values()) == 50
    assert {e["stored"] for e in calsim2.values()} == {"float64"}
    assert total >= 162 * 984


def test_reported_values_keep_their_doubles(built, q):
    """Two values the float32 shortcut used to change, by name: the file's doubles
    5 x 2^-48 and 2^-38, written here as their shortest round-trip decimals by hand
    (the float32 decimals 1.7763568e-14 and 3.637979e-12 read back as other doubles)."""
    scenario_id, expected = next(
        (s, e) for s, (p, e) in real_loaded(built).items() if p.name == "calsim2_postproc_v7.dss"
    )
    for key, value, count in [
        ("CVP_COA_DIFF_DTS/DTS-TEMP", 1.7763568394002505e-14, 1),
        ("FRSA_MB_DTS/UNDEFINED", 3.637978807091713e-12, 3),
    ]:
        assert value in (5 * 2.0**-48, 2.0**-38)
        at = np.flatnonzero(bits64(expected[key]["values"]) == bits64([value])[0])
        assert len(at) == count, key
        mart = q(
            "select monthly_values from marts.fct_series_values "
            "where scenario_id = %s and variable_key = %s",
            (scenario_id, key),
        )[0][0]
        assert [bits64([mart[i]])[0] for i in at] == [bits64([value])[0]] * count, key
        raw = q(
            "select monthly_values_f8 from raw_dss.dss_series "
            "where scenario_id = %s and upper(b_part) || '/' || upper(c_part) = %s",
            (scenario_id, key),
        )[0][0]
        assert [bits64([raw[i]])[0] for i in at] == [bits64([value])[0]] * count, key


def test_crafted_edge_cases_are_served_bit_exact(built, q, record_property):
    _, expected = built[CRAFTED_SCENARIO]
    assert set(expected) == set(CRAFTED)
    for key, (values, record, precision) in CRAFTED.items():
        want = expected[key]
        # the file really holds what was written: doubles bit for bit, floats widened
        written = np.resize(np.array(values, dtype=np.float64), MONTHS)
        if record == "float":
            written = np.resize(np.array(values, dtype=np.float32), MONTHS).astype(np.float64)
        assert want["stored"] == ("float64" if record == "double" else "float32"), key
        finite = np.isfinite(written)
        assert np.array_equal(bits64(want["values"][finite]), bits64(written[finite])), key
        assert want["precision"] == precision, key  # the independent rule agrees with the hand
    n = compare_scenario(q, CRAFTED_SCENARIO, expected)
    record_property("crafted_values_compared", n)
    print(f"crafted file: {n:,} values compared bit for bit")
    literal = q(
        "select monthly_values_f8::text from raw_dss.dss_series where scenario_id = %s "
        "and b_part = 'MIXED64'",
        (CRAFTED_SCENARIO,),
    )[0][0]
    tokens = literal.strip("{}").split(",")
    # by hand: the shortest round-trip decimals of the doubles the raw array holds,
    # -0 kept, denormals kept
    assert tokens[:9] == [
        "5e-324",
        "-5e-324",
        "2.225073858507201e-308",
        "2.2250738585072014e-308",
        "1.4210854715202004e-14",
        "1.7763568394002505e-14",
        "3.637978807091713e-12",
        "1.401298464324817e-45",
        "-1.1754942106924411e-38",
    ]
    assert tokens[10] == "0.10000000149011612" and tokens[14] == "-0"
    mart = q(
        "select monthly_values from marts.fct_series_values where scenario_id = %s "
        "and variable_key = 'FITS32/FLOW'",
        (CRAFTED_SCENARIO,),
    )[0][0]
    assert str(mart[7]) == "-0.0" and mart[0] == F32_MIN_DENORMAL


def test_cfs_to_taf_factor_is_the_exact_double(built, q):
    """TAF per CFS-day = 86400 s/day / 43560 ft3/acre-ft / 1000 acre-ft/TAF = 240/121000:
    the seed, the series model and the marts carry the double nearest to it, typed
    double precision (within 1e-15 of the true ratio, and bit-equal to the double
    Python computes from the definition)."""
    from fractions import Fraction

    factor = 86400 / 43560 / 1000
    true = Fraction(86400, 43560 * 1000)
    rows = q(
        "select 'seeds.units', taf_per_cfs_day, pg_typeof(taf_per_cfs_day)::text "
        "from seeds.units where unit_code = 'CFS' "
        "union all select 'int_series_classified', taf_per_cfs_day, "
        "pg_typeof(taf_per_cfs_day)::text from intermediate.int_series_classified "
        "where scenario_id = %(s)s and variable_key = 'MIXED64/FLOW' "
        "union all select 'fct_series_values_compact', taf_per_cfs_day, "
        "pg_typeof(taf_per_cfs_day)::text from marts.fct_series_values_compact "
        "where scenario_id = %(s)s and variable_key = 'FITS32/FLOW' "
        "union all select 'fct_series_values', taf_per_cfs_day, "
        "pg_typeof(taf_per_cfs_day)::text from marts.fct_series_values "
        "where scenario_id = %(s)s and unit_code = 'CFS'",
        {"s": CRAFTED_SCENARIO},
    )
    assert [r[0] for r in rows] == [
        "seeds.units",
        "int_series_classified",
        "fct_series_values_compact",
        "fct_series_values",
        "fct_series_values",
    ]
    for where, value, type_ in rows:
        assert type_ == "double precision", where
        assert abs(Fraction(value) - true) / true <= Fraction(1, 10**15), (where, value)
        assert bits64([value])[0] == bits64([factor])[0], (where, value)
    assert q(
        "select taf_per_cfs_day from marts.fct_series_values "
        "where scenario_id = %s and variable_key = 'FLOAT32/STORAGE'",
        (CRAFTED_SCENARIO,),
    ) == [(None,)]  # storage (TAF) is never converted


# --- the formatter alone --------------------------------------------------------------


def _parse(literal: str, precision: str) -> tuple[np.ndarray, np.ndarray]:
    tokens = literal.strip("{}").split(",")
    nulls = np.array([t == "NULL" for t in tokens])
    if precision == "float32":
        parsed = np.array([strtof(t) if t != "NULL" else 0 for t in tokens], dtype=np.float32)
        return parsed.astype(np.float64), nulls
    return np.array([float(t) if t != "NULL" else 0.0 for t in tokens]), nulls


def test_values_literals_read_back_to_the_same_bits():
    from ingest.dss.pipeline import values_literals

    rng = np.random.default_rng(46)
    f32 = np.array(
        [2454.2605, 1e-45, -1e-45, 1.1754942e-38, -0.0, 0.0, F32_BELOW_MAX, 2.0**-46, 0.1, np.nan],
        dtype=np.float32,
    ).astype(np.float64)
    f64 = np.array(
        [5e-324, -5e-324, 2.225073858507201e-308, 2.0**-46, 5 * 2.0**-48, 2.0**-38, 0.1,
         float(np.float32(0.1)), -0.0, 1.7976931348623157e308, -1.7976931348623157e308,
         F32_MIN_DENORMAL, 1 / 3, np.nan, 2454.2605]
    )  # fmt: skip
    # random bit patterns: every exponent, denormals included (NaN/inf dropped)
    r64 = rng.integers(0, 2**64, size=20_000, dtype=np.uint64).view(np.float64)
    r64 = r64[np.isfinite(r64)]
    r32 = rng.integers(0, 2**32, size=20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    r32 = r32[np.isfinite(r32)].astype(np.float64)
    series = [f32, f64, r64, r32]
    precisions = ["float32", "float64", "float64", "float32"]
    literals = values_literals(series, precisions).to_pylist()
    for values, precision, literal in zip(series, precisions, literals, strict=True):
        parsed, nulls = _parse(literal, precision)
        assert np.array_equal(nulls, np.isnan(values))
        kept = ~nulls
        assert np.array_equal(bits64(parsed[kept]), bits64(values[kept])), precision
    # one series at a time gives the same literals as the mixed batch
    alone = [
        values_literals([s], [p]).to_pylist()[0] for s, p in zip(series, precisions, strict=True)
    ]
    assert alone == literals
    tokens32 = literals[0].strip("{}").split(",")
    assert tokens32[0] == "2454.2605" and tokens32[4] == "-0" and tokens32[-1] == "NULL"
    tokens64 = literals[1].strip("{}").split(",")
    # a value that fits a float32 inside a float64 series keeps its double's decimal
    assert tokens64[4] == "1.7763568394002505e-14" and tokens64[7] == "0.10000000149011612"
    assert tokens64[0] == "5e-324" and tokens64[8] == "-0"
    assert values_literals([], []).to_pylist() == []
    assert values_literals([np.empty(0), np.array([1.0])], ["float32", "float64"]).to_pylist() == [
        "{}",
        "{1}",
    ]


def test_values_literals_refuses_a_wrong_precision():
    from ingest.dss.pipeline import values_literals

    with pytest.raises(ValueError, match="not a 32-bit float"):
        values_literals([np.array([0.1])], ["float32"])
    with pytest.raises(ValueError, match="precisions"):
        values_literals([np.array([1.0])], [])
