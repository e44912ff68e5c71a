"""Tests for `ingest.dss.reader`: real DSS files read in place, plus tiny files written here.

Expected values come from independent reads (pydsstools through the slow empty-D
pathname, the file header bytes, values written by the test itself), never from the
reader's own output. No database is needed.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import os
import random
import shutil
import struct
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from coeqwal_tools.sample import dss as sample
from ingest.dss import isolation, reader
from ingest.dss.hecdss import TimeSeriesContainer, open_dss

ROOT = Path(__file__).resolve().parents[2]
V7 = "calsim2_postproc_v7.dss"
MIXED = "hec_sample7_mixed_v7.dss"
V6_FILES = ("calsim2_postproc_base_v6.dss", "calsim3_init_v6.dss")
F32_RTOL = 2.0**-23  # one float32 ulp, relative
# The documented missing-value sentinels, spelled out here rather than taken from the reader.
SENTINELS = np.array([-901.0, -902.0, -3.4028235e38, 99000.0], dtype=np.float32)


def _shared_dss_dir() -> Path | None:
    env = os.environ.get("COEQWAL_SHARED_DATA")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    path = base / "dss"
    return path if path.is_dir() else None


@pytest.fixture(scope="module")
def dss_dir() -> Path:
    path = _shared_dss_dir()
    if path is None:
        pytest.skip(
            "real DSS files not found: ../shared/data/dss is absent (set COEQWAL_SHARED_DATA)"
        )
    return path


@pytest.fixture(scope="module")
def v7_scan(dss_dir: Path) -> reader.Scan:
    return reader.scan(dss_dir / V7)


@pytest.fixture(scope="module")
def v7_series(dss_dir: Path, v7_scan: reader.Scan) -> list[reader.Series]:
    return list(reader.iter_series(dss_dir / V7, v7_scan))


def _independent_read(fid, logical_path: str) -> tuple[np.ndarray, dt.datetime]:
    """The slow, simple way: the library's own retrieve-all read of the empty-D path.

    Returns float32 values as float64 with the documented sentinels (and the -inf that
    out-of-float32-range values become) set to NaN, and the first value's timestamp.
    """
    ts = fid.read_ts(logical_path, value_precision="float")
    values = np.array(ts.values, dtype=np.float64)  # copied while `ts` is alive
    first_stamp = next(iter(ts.times)).datetime()
    del ts
    sentinel = np.isin(values.astype(np.float32), SENTINELS)
    values[sentinel | ~np.isfinite(values)] = np.nan
    return values, first_stamp


def _header_words(path: Path) -> tuple[int, ...]:
    with path.open("rb") as handle:
        return struct.unpack("<100q", handle.read(800))


def _assert_one_line_error(exc: pytest.ExceptionInfo, path: Path, *fragments: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and "\r" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message


# --------------------------------------------------------------------------------------
# The real DSS 7 CalSim II file
# --------------------------------------------------------------------------------------


def test_real_v7_file_has_162_monthly_series(dss_dir: Path, v7_scan: reader.Scan) -> None:
    path = dss_dir / V7
    assert reader.dss_version(path) == 7
    assert v7_scan.version == 7
    assert v7_scan.record_count == _header_words(path)[3] == 1458
    assert len(v7_scan.monthly) == 162
    assert sum(len(ref.block_paths) for ref in v7_scan.monthly) == 1458
    assert v7_scan.skipped == {}
    # Original case kept; blocks in chronological order.
    ref = next(r for r in v7_scan.monthly if r.b == "cvp_ibu_check_dts")
    assert (ref.a, ref.c, ref.e, ref.f) == ("CALSIM", "dts-status", "1Month", "2020D09E")
    years = [int(p.split("/")[4][-4:]) for p in ref.block_paths]
    assert years == list(range(1920, 2010, 10))
    assert ref.logical_path == "/CALSIM/cvp_ibu_check_dts/dts-status//1Month/2020D09E/"


def test_real_v7_values_equal_independent_reads(
    dss_dir: Path, v7_scan: reader.Scan, v7_series: list[reader.Series]
) -> None:
    assert [s.ref for s in v7_series] == v7_scan.monthly
    fid = open_dss(str(dss_dir / V7), mode="r")
    try:
        for series in v7_series:
            expected, first_stamp = _independent_read(fid, series.ref.logical_path)
            assert series.values.dtype == np.float64
            assert len(series.values) == len(expected), series.ref.logical_path
            # End-of-period stamp: 2400 on a month's last day == 00:00 on the next 1st.
            assert first_stamp.day == 1 and first_stamp.time() == dt.time(0)
            stamped = (first_stamp - dt.timedelta(days=1)).date().replace(day=1)
            assert series.start_month == stamped, series.ref.logical_path
            np.testing.assert_allclose(
                series.values, expected, rtol=F32_RTOL, atol=0, equal_nan=True
            )
            assert series.missing_count == int(np.isnan(expected).sum())
            assert series.units and series.data_type
    finally:
        fid.close()


def test_real_v7_months_follow_water_years(v7_series: list[reader.Series]) -> None:
    # CalSim II runs water years 1922-2003: October 1921 to September 2003, 984 months.
    for series in v7_series:
        assert series.start_month == dt.date(1921, 10, 1), series.ref.logical_path
        assert len(series.values) == 984, series.ref.logical_path
    assert sum(s.missing_count for s in v7_series) > 0


def test_real_v7_first_month_mapped_by_hand(dss_dir: Path, v7_series: list[reader.Series]) -> None:
    series = next(s for s in v7_series if s.ref.b == "cvp_ibu_check_dts")
    fid = open_dss(str(dss_dir / V7), mode="r")
    try:
        ts = fid.read_ts(series.ref.logical_path, value_precision="double")
        first_value = float(np.array(ts.values)[0])
        first_stamp = next(iter(ts.times)).datetime()
        del ts
    finally:
        fid.close()
    # Stamped 31OCT1921 2400, which pydsstools shows as 1 November 1921 00:00: October.
    assert first_stamp == dt.datetime(1921, 11, 1, 0, 0)
    assert series.start_month == dt.date(1921, 10, 1)
    assert series.values[0] == first_value


def test_real_v7_in_process_read_matches_isolated(
    dss_dir: Path, v7_scan: reader.Scan, v7_series: list[reader.Series]
) -> None:
    direct = list(reader.iter_series(dss_dir / V7, v7_scan, isolate=False))
    assert len(direct) == len(v7_series)
    for a, b in zip(direct, v7_series, strict=True):
        assert (a.ref, a.units, a.data_type, a.start_month) == (
            b.ref,
            b.units,
            b.data_type,
            b.start_month,
        )
        np.testing.assert_array_equal(a.values, b.values)
        assert a.missing_count == b.missing_count


# --------------------------------------------------------------------------------------
# DSS 6 files and the mixed HEC sample
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", V6_FILES)
def test_version_6_files_are_refused_with_advice(
    dss_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = dss_dir / name

    def no_library(*_args: object) -> None:
        raise AssertionError("a version 6 file must not reach the HEC-DSS library")

    monkeypatch.setattr(isolation, "_spawn", no_library)
    monkeypatch.setattr(reader, "_dss7_open", no_library)
    with path.open("rb") as handle:
        head = handle.read(20)
    assert head[:4] == b"ZDSS" and head[16:18] == b"6-"  # independent of the reader
    assert reader.dss_version(path) == 6
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)
    _assert_one_line_error(exc, path, "version 6", "convert", "DSS 7")
    with pytest.raises(reader.DssReadError):
        next(reader.iter_series(path))


def test_mixed_sample_skips_non_monthly_records_by_kind(dss_dir: Path) -> None:
    path = dss_dir / MIXED
    found = reader.scan(path)
    assert found.record_count == _header_words(path)[3] == 597
    monthly_records = sum(len(ref.block_paths) for ref in found.monthly)
    assert monthly_records + sum(found.skipped.values()) == found.record_count

    # Independent classification: the library's record type for each path (zdataType).
    fid = open_dss(str(path), mode="r")
    try:
        by_type = fid.path_dict(sub_type=True)
    finally:
        fid.close()
    expected: Counter[str] = Counter()
    for pathname in by_type["ts-reg"]:
        interval = pathname.split("/")[5].upper()
        if interval in ("1MON", "1MONTH"):
            continue
        expected[{"1DAY": "daily time series", "1HOUR": "hourly time series"}[interval]] += 1
    expected["irregular time series"] += len(by_type["ts-irreg"])
    expected["paired data"] += len(by_type["pd"])
    expected["location"] += len(by_type["location"])
    assert found.skipped == {kind: n for kind, n in expected.items() if n}
    assert found.skipped["paired data"] == 4
    assert found.skipped["location"] == 1

    series = list(reader.iter_series(path, found))
    assert len(series) == len(found.monthly)


# --------------------------------------------------------------------------------------
# Damaged and wrong files: one-line DssReadError, never a crash or a silent result
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", ["header-only", "50%", "90%", "99%", "99.9%", "last-word"])
def test_truncated_copies_are_refused(dss_dir: Path, tmp_path: Path, cut: str) -> None:
    source = (dss_dir / V7).read_bytes()
    size = {
        "header-only": 800,
        "50%": len(source) // 2,
        "90%": int(len(source) * 0.9),
        "99%": int(len(source) * 0.99),
        "99.9%": int(len(source) * 0.999),
        "last-word": len(source) - 8,
    }[cut]
    path = tmp_path / "truncated.dss"
    path.write_bytes(source[:size])
    assert reader.dss_version(path) == 7
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)
    _assert_one_line_error(exc, path, "truncated")
    with pytest.raises(reader.DssReadError):
        list(reader.iter_series(path))
    assert path.stat().st_size == size  # untouched


def test_empty_file_is_refused_and_left_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.dss"
    path.touch()
    for call in (reader.dss_version, reader.scan):
        with pytest.raises(reader.DssReadError) as exc:
            call(path)
        _assert_one_line_error(exc, path, "empty")
    assert path.stat().st_size == 0  # the C library would have made it a new DSS file


def test_text_file_renamed_dss_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.dss"
    path.write_text("CALSIM output, honest\nline two\n")
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)
    _assert_one_line_error(exc, path, "not a HEC-DSS file")


def test_short_file_with_signature_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.dss"
    path.write_bytes(b"ZDSS\0\0\0\0")
    with pytest.raises(reader.DssReadError) as exc:
        reader.dss_version(path)
    _assert_one_line_error(exc, path, "too short")


def test_missing_path_and_directory_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.dss"
    for call in (reader.dss_version, reader.scan):
        with pytest.raises(reader.DssReadError) as exc:
            call(missing)
        _assert_one_line_error(exc, missing, "no such file")
    with pytest.raises(reader.DssReadError):
        list(reader.iter_series(missing))
    assert not missing.exists()  # the C library would have created it
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(tmp_path)
    _assert_one_line_error(exc, tmp_path, "directory")


def _damage_pathname_bins(
    source: Path, dest: Path, fill: str, skip: int = 0, length: int = 4096
) -> None:
    """Overwrite `length` bytes, `skip` bytes into the first pathname bin (header word 24)."""
    data = bytearray(source.read_bytes())
    offset = _header_words(source)[24] * 8 + skip
    if fill == "random":
        rng = random.Random(1)
        data[offset : offset + length] = bytes(rng.getrandbits(8) for _ in range(length))
    else:
        data[offset : offset + length] = bytes(length)
    dest.write_bytes(bytes(data))


@pytest.mark.parametrize("fill", ["random", "zeros"])
def test_damaged_catalog_is_refused_without_crashing(
    dss_dir: Path, tmp_path: Path, fill: str
) -> None:
    # Random bytes there segfault the HEC-DSS library (in check_file and the catalog);
    # zeros make it return an empty catalog silently. Both must end in DssReadError.
    path = tmp_path / f"damaged_{fill}.dss"
    _damage_pathname_bins(dss_dir / V7, path, fill)
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)
    _assert_one_line_error(exc, path, "damaged")


def test_partial_catalog_is_caught_without_check_file(dss_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "damaged.dss"
    _damage_pathname_bins(dss_dir / V7, path, "zeros")
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path, check=False)
    _assert_one_line_error(exc, path, "catalog lists 0 records", "1,458")


def test_file_changed_after_scan_is_refused(dss_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "copy.dss"
    shutil.copyfile(dss_dir / V7, path)
    found = reader.scan(path, check=False)
    os.utime(path, ns=(found.mtime_ns + 10**9, found.mtime_ns + 10**9))
    with pytest.raises(reader.DssReadError) as exc:
        next(reader.iter_series(path, found))
    _assert_one_line_error(exc, path, "changed")


def test_documented_sentinels() -> None:
    np.testing.assert_array_equal(np.float32(reader.MISSING_SENTINELS), SENTINELS)


def _child_doing(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Make the reading child run `code` instead of reading."""
    spawn = isolation._spawn

    def fake(_code: str, path: Path, *args: str):
        return spawn(code, path, *args)

    monkeypatch.setattr(isolation, "_spawn", fake)


def test_crash_while_reading_is_reported_not_propagated(
    tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = reader.scan(tiny_file)
    _child_doing(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(reader.DssReadError) as exc:
        list(reader.iter_series(tiny_file, found))
    _assert_one_line_error(exc, tiny_file, "damaged", "crashed (SIGSEGV)", "series 1 of 4")


def test_hang_while_reading_is_reported(tiny_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = reader.scan(tiny_file)
    monkeypatch.setattr(isolation, "_READ_STALL_TIMEOUT_S", 1.0)
    _child_doing(monkeypatch, "import time; time.sleep(60)")
    with pytest.raises(reader.DssReadError) as exc:
        list(reader.iter_series(tiny_file, found))
    _assert_one_line_error(exc, tiny_file, "stopped responding")


def test_stopping_early_ends_the_reading_child(tiny_file: Path) -> None:
    series = reader.iter_series(tiny_file)
    first = next(series)
    assert first.ref.b in {"ACROSS", "GAP", "SENTINELS", "WYSTART"}
    series.close()  # must not hang or raise


def test_error_message_is_always_one_line() -> None:
    error = reader.DssReadError("a.dss: first line\n*****DSS*** second line\r\n")
    assert str(error) == "a.dss: first line *****DSS*** second line"


# --------------------------------------------------------------------------------------
# Tiny DSS 7 files written here: sentinels, end-of-period stamps, blocks and gaps
# --------------------------------------------------------------------------------------

SENTINEL_VALUES = [10.5, -901.0, -902.0, 99000.0, -3.4028235e38, 2.25, 0.1, 7.0]
SENTINEL_PATH = "/CALSIM/SENTINELS/FLOW//1MON/TEST/"


def _put(fid, pathname: str, values, start: str, units: str = "CFS") -> None:
    data = np.asarray(values, dtype=np.float32)
    fid.put_ts(
        TimeSeriesContainer(
            pathname,
            len(data),
            1,
            values=data,
            start_time=start,
            data_units=units,
            data_type="PER-AVER",
        )
    )


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dss") / "tiny_v7.dss"
    fid = open_dss(str(path))
    try:
        # First value is October 1921, stamped at the end of that month.
        _put(fid, SENTINEL_PATH, SENTINEL_VALUES, "31OCT1921 2400")
        # One value per month across the 1920s/1930s block boundary.
        _put(fid, "/CALSIM/ACROSS/STORAGE//1MON/TEST/", np.arange(1, 121), "31OCT1925 2400", "TAF")
        # Two separate years with a missing decade between them.
        _put(fid, "/CALSIM/GAP/FLOW//1MON/TEST/", np.arange(1, 13), "31JAN1925 2400")
        _put(fid, "/CALSIM/GAP/FLOW//1MON/TEST/", np.arange(101, 113), "31JAN1945 2400")
        # Starts at a water-year boundary from September: stamped 30SEP1922 2400.
        _put(fid, "/CALSIM/WYSTART/FLOW//1MON/TEST/", [9.0, 10.0, 11.0], "30SEP1922 2400")
        # Not monthly: skipped and counted.
        _put(fid, "/CALSIM/DAILY/FLOW//1DAY/TEST/", [1.0, 2.0, 3.0], "01OCT1921 2400")
    finally:
        fid.close()
    return path


@pytest.fixture(scope="module")
def tiny(tiny_file: Path) -> dict[str, reader.Series]:
    return {s.ref.b: s for s in reader.iter_series(tiny_file)}


def test_tiny_file_scan(tiny_file: Path) -> None:
    found = reader.scan(tiny_file)
    assert sorted(ref.b for ref in found.monthly) == ["ACROSS", "GAP", "SENTINELS", "WYSTART"]
    assert found.skipped == {"daily time series": 1}
    blocks = sum(len(ref.block_paths) for ref in found.monthly)
    assert blocks + 1 == found.record_count == _header_words(tiny_file)[3]
    gap = next(ref for ref in found.monthly if ref.b == "GAP")
    assert [p.split("/")[4] for p in gap.block_paths] == ["01Jan1920", "01Jan1940"]
    assert gap.e == "1Month"  # DSS 7 catalog spelling of 1MON, kept as found


def test_sentinels_become_nan_and_are_counted(tiny: dict[str, reader.Series]) -> None:
    series = tiny["SENTINELS"]
    expected = np.array(SENTINEL_VALUES, dtype=np.float32).astype(np.float64)
    expected[1:5] = np.nan  # -901, -902, 99000, -3.4028235e38
    assert series.values.dtype == np.float64
    np.testing.assert_array_equal(series.values, expected)  # exact: float32 -> float64
    assert series.missing_count == 4
    assert series.values[6] == float(np.float32(0.1))
    assert (series.units, series.data_type) == ("CFS", "PER-AVER")


def test_end_of_period_stamps_give_the_month_they_close(
    tiny_file: Path, tiny: dict[str, reader.Series]
) -> None:
    # Written starting 31OCT1921 2400: the first value is October 1921.
    assert tiny["SENTINELS"].start_month == dt.date(1921, 10, 1)
    # Written starting 30SEP1922 2400: September 1922, then October (water year 1923).
    assert tiny["WYSTART"].start_month == dt.date(1922, 9, 1)
    np.testing.assert_array_equal(tiny["WYSTART"].values, [9.0, 10.0, 11.0])
    fid = open_dss(str(tiny_file), mode="r")
    try:
        _, first_stamp = _independent_read(fid, tiny["SENTINELS"].ref.logical_path)
    finally:
        fid.close()
    assert first_stamp == dt.datetime(1921, 11, 1, 0, 0)  # how pydsstools shows 2400


def test_series_across_blocks_is_read_whole(tiny: dict[str, reader.Series]) -> None:
    series = tiny["ACROSS"]
    assert len(series.ref.block_paths) == 2
    assert series.start_month == dt.date(1925, 10, 1)
    np.testing.assert_array_equal(series.values, np.arange(1, 121, dtype=np.float64))
    assert series.missing_count == 0


def test_gaps_inside_a_series_stay_positional(tiny: dict[str, reader.Series]) -> None:
    series = tiny["GAP"]
    assert series.start_month == dt.date(1925, 1, 1)
    assert len(series.values) == 252  # January 1925 .. December 1945
    np.testing.assert_array_equal(series.values[:12], np.arange(1, 13))
    np.testing.assert_array_equal(series.values[-12:], np.arange(101, 113))
    assert np.isnan(series.values[12:-12]).all()
    assert series.missing_count == 252 - 24


def test_tiny_file_matches_independent_reads(
    tiny_file: Path, tiny: dict[str, reader.Series]
) -> None:
    fid = open_dss(str(tiny_file), mode="r")
    try:
        for series in tiny.values():
            expected, _ = _independent_read(fid, series.ref.logical_path)
            np.testing.assert_array_equal(series.values, expected)
    finally:
        fid.close()


def test_read_series_without_span_looks_it_up(
    tiny_file: Path, tiny: dict[str, reader.Series]
) -> None:
    known = tiny["GAP"].ref
    bare = reader.SeriesRef(known.a, known.b, known.c, known.e, known.f, known.block_paths)
    fid = open_dss(str(tiny_file), mode="r")
    try:
        series = reader.read_series(fid, bare)
    finally:
        fid.close()
    assert series.start_month == tiny["GAP"].start_month
    np.testing.assert_array_equal(series.values, tiny["GAP"].values)


def test_version_registry_is_pluggable(tmp_path: Path) -> None:
    # A DSS 6 engine could be plugged in; with none, the error says how to convert.
    assert 6 not in reader.ENGINES and 7 in reader.ENGINES
    path = tmp_path / "old.dss"
    path.write_bytes(b"ZDSS" + bytes(12) + b"6-WC" + bytes(200))
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)
    _assert_one_line_error(exc, path, "version 6")


# --------------------------------------------------------------------------------------
# Parallel reading, reads without time arrays, the deferred integrity check
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory) -> Path:
    """A synthetic CalSim3-like DV file of 1,200 series x 1,200 months (~19 MB)."""
    return sample.write_full_size(tmp_path_factory.mktemp("sample"), n_series=1200)


def _by_ref(series: list[reader.Series]) -> dict[reader.SeriesRef, reader.Series]:
    found = {s.ref: s for s in series}
    assert len(found) == len(series), "a series was yielded twice"
    return found


def _assert_same_series(got: list[reader.Series], expected: list[reader.Series]) -> None:
    """The same series (as a set), each with identical values, months, units and counts."""
    got_by_ref, expected_by_ref = _by_ref(got), _by_ref(expected)
    assert got_by_ref.keys() == expected_by_ref.keys()
    for ref, series in got_by_ref.items():
        other = expected_by_ref[ref]
        assert (series.units, series.data_type, series.start_month, series.missing_count) == (
            other.units,
            other.data_type,
            other.start_month,
            other.missing_count,
        ), ref.logical_path
        assert series.values.dtype == np.float64
        np.testing.assert_array_equal(series.values, other.values)  # exact; NaN where NaN


def _assert_shares_in_catalog_order(
    got: list[reader.Series], found: reader.Scan, workers: int
) -> None:
    """Each child reads a contiguous share of the catalog order and keeps that order."""
    position = {ref: i for i, ref in enumerate(found.monthly)}
    total = len(found.monthly)
    bounds = [total * i // workers for i in range(workers + 1)]
    for lo, hi in itertools.pairwise(bounds):
        share = [position[s.ref] for s in got if lo <= position[s.ref] < hi]
        assert share == list(range(lo, hi))


def _spawn_recorder(monkeypatch: pytest.MonkeyPatch, replace=None) -> list:
    """Record every child process the reader starts.

    `replace(n, code)` may swap the code run by the n-th reading child (1-based).
    """
    spawn = isolation._spawn
    procs: list = []
    reading = [0]

    def fake(code: str, path: Path, *args: str):
        if "_read_child" in code:
            reading[0] += 1
            if replace is not None:
                code = replace(reading[0], code)
        proc = spawn(code, path, *args)
        procs.append(proc)
        return proc

    monkeypatch.setattr(isolation, "_spawn", fake)
    return procs


@pytest.mark.parametrize("workers", [2, 3])
def test_real_v7_parallel_read_equals_one_child(
    dss_dir: Path, v7_scan: reader.Scan, v7_series: list[reader.Series], workers: int
) -> None:
    # v7_series came from one child (162 series: below the parallel threshold).
    assert [s.ref for s in v7_series] == v7_scan.monthly
    got = list(reader.iter_series(dss_dir / V7, v7_scan, workers=workers))
    assert len(got) == 162
    _assert_same_series(got, v7_series)
    _assert_shares_in_catalog_order(got, v7_scan, workers)


def test_sample_file_parallel_read_equals_one_child(sample_file: Path) -> None:
    found = reader.scan(sample_file)
    assert len(found.monthly) == 1200
    one = list(reader.iter_series(sample_file, found, workers=1))
    assert [s.ref for s in one] == found.monthly
    two = list(reader.iter_series(sample_file, found, workers=2))
    _assert_same_series(two, one)
    _assert_shares_in_catalog_order(two, found, 2)
    _assert_same_series(list(reader.iter_series(sample_file, found)), one)  # default
    fid = open_dss(str(sample_file), mode="r")
    try:
        for series in one[::97]:  # spot checks against the library's own read
            expected, _ = _independent_read(fid, series.ref.logical_path)
            np.testing.assert_array_equal(series.values, expected)
            assert series.start_month == dt.date(1921, 10, 1)
    finally:
        fid.close()


def _reads_with_time_arrays(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = reader.scan(path, check=False)
    fast = list(reader.iter_series(path, found, isolate=False))
    monkeypatch.setattr(reader, "_RETRIEVE_WINDOW_NO_TIMES", 0)  # the library's default
    standard = list(reader.iter_series(path, found, isolate=False))
    assert len(fast) == len(found.monthly) > 0
    _assert_same_series(fast, standard)


def test_real_v7_reads_without_time_arrays_equal_standard_reads(
    dss_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reads_with_time_arrays(dss_dir / V7, monkeypatch)


def test_sample_reads_without_time_arrays_equal_standard_reads(
    sample_file: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reads_with_time_arrays(sample_file, monkeypatch)
    monkeypatch.undo()
    _reads_with_time_arrays(tiny_file, monkeypatch)  # gaps, short series, sentinels


def test_default_worker_count() -> None:
    assert reader._default_workers(162) == 1  # small file: one child
    assert reader._default_workers(21_500) == min(2, os.cpu_count() or 1)


def test_bad_arguments_are_refused(tiny_file: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        next(reader.iter_series(tiny_file, workers=0))
    with pytest.raises(ValueError, match="check"):
        reader.scan(tiny_file, check="later")  # type: ignore[arg-type]


@pytest.mark.parametrize("other", ["hangs", "reads"])
def test_crash_in_one_reading_child_stops_them_all(
    tiny_file: Path, sample_file: Path, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    path = tiny_file if other == "hangs" else sample_file
    found = reader.scan(path)
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    hang = "import time; time.sleep(60)"

    def replace(n: int, code: str) -> str:
        if n == 2:
            return crash
        return hang if other == "hangs" else code

    procs = _spawn_recorder(monkeypatch, replace)
    started = time.monotonic()
    with pytest.raises(reader.DssReadError) as exc:
        list(reader.iter_series(path, found, workers=2))
    assert time.monotonic() - started < 30  # the other child did not hold it up
    where = "series 3 of 4" if other == "hangs" else "series 601 of 1200"
    _assert_one_line_error(exc, path, "damaged", "crashed (SIGSEGV)", where)
    assert len(procs) == 2
    assert all(proc.poll() is not None for proc in procs)  # no child left running


def test_closing_early_ends_every_reading_child(
    sample_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = reader.scan(sample_file)
    procs = _spawn_recorder(monkeypatch)
    series = reader.iter_series(sample_file, found, workers=2)
    assert next(series).ref in set(found.monthly)
    series.close()
    assert len(procs) == 2
    assert all(proc.poll() is not None for proc in procs)


def test_file_changed_while_reading_is_refused_at_the_end(dss_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "copy.dss"
    shutil.copyfile(dss_dir / V7, path)
    found = reader.scan(path, check=False)
    series = reader.iter_series(path, found)
    next(series)
    os.utime(path, ns=(found.mtime_ns + 10**9, found.mtime_ns + 10**9))
    with pytest.raises(reader.DssReadError) as exc:
        list(series)
    _assert_one_line_error(exc, path, "changed while it was being read")


def _damage_only_check_file_sees(dss_dir: Path, tmp_path: Path) -> Path:
    """Zero the second word of the first pathname bin: the catalog and every read are
    unaffected (the tests show it), only `check_file` reports the damage."""
    path = tmp_path / "damaged_bin_word.dss"
    _damage_pathname_bins(dss_dir / V7, path, "zeros", skip=8, length=8)
    return path


def test_deferred_check_passes_on_a_healthy_file(
    dss_dir: Path, v7_scan: reader.Scan, v7_series: list[reader.Series]
) -> None:
    found = reader.scan(dss_dir / V7, check="deferred")
    assert found == v7_scan
    got = list(reader.iter_series(dss_dir / V7, found, workers=2))
    assert not found.check_pending
    found.await_check()  # the verdict is remembered: passes at once
    _assert_same_series(got, v7_series)
    v7_scan.await_check()  # checked up front: nothing to wait for


@pytest.mark.parametrize("how", ["one child", "two children", "in process"])
def test_deferred_check_raises_at_the_end_of_reading(
    dss_dir: Path, tmp_path: Path, v7_series: list[reader.Series], how: str
) -> None:
    path = _damage_only_check_file_sees(dss_dir, tmp_path)
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path)  # check=True: refused up front
    _assert_one_line_error(exc, path, "damaged", "integrity check")

    found = reader.scan(path, check="deferred")  # header and record count pass
    assert len(found.monthly) == 162
    kwargs = {
        "one child": {"workers": 1},
        "two children": {"workers": 2},
        "in process": {"isolate": False},
    }[how]
    received = []
    with pytest.raises(reader.DssReadError) as exc:
        for series in reader.iter_series(path, found, **kwargs):
            received.append(series)
    _assert_one_line_error(exc, path, "damaged", "integrity check")
    # Every series came through, identical to the healthy file's: only the check
    # tells, and its verdict ends the iteration instead of a normal return.
    _assert_same_series(received, v7_series)
    assert not found.check_pending
    with pytest.raises(reader.DssReadError):
        found.await_check()


def test_deferred_check_stopped_early_runs_again(
    dss_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _damage_only_check_file_sees(dss_dir, tmp_path)
    procs = _spawn_recorder(monkeypatch)
    found = reader.scan(path, check="deferred")
    series = reader.iter_series(path, found)
    next(series)
    series.close()
    assert all(proc.poll() is not None for proc in procs)  # check child stopped too
    assert found.check_pending
    with pytest.raises(reader.DssReadError) as exc:
        list(reader.iter_series(path, found))  # a complete iteration checks again
    _assert_one_line_error(exc, path, "integrity check")
    assert all(proc.poll() is not None for proc in procs)


def test_deferred_check_stops_when_the_catalog_fails(
    dss_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "damaged.dss"
    _damage_pathname_bins(dss_dir / V7, path, "zeros")
    procs = _spawn_recorder(monkeypatch)
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path, check="deferred")
    _assert_one_line_error(exc, path, "catalog lists 0 records")
    assert len(procs) == 2  # the check and the catalog
    assert all(proc.poll() is not None for proc in procs)


def test_deferred_check_of_a_truncated_file_never_reaches_the_library(
    dss_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "truncated.dss"
    path.write_bytes((dss_dir / V7).read_bytes()[:100_000])
    procs = _spawn_recorder(monkeypatch)
    with pytest.raises(reader.DssReadError) as exc:
        reader.scan(path, check="deferred")
    _assert_one_line_error(exc, path, "truncated")
    assert procs == []


def test_abandoned_deferred_scan_leaves_no_child(
    dss_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    procs = _spawn_recorder(monkeypatch)
    found = reader.scan(dss_dir / V7, check="deferred")
    assert found.monthly
    del found
    gc.collect()
    assert len(procs) == 2
    assert all(proc.poll() is not None for proc in procs)


def test_deferred_check_verdict_is_collected_however_late(dss_dir: Path) -> None:
    found = reader.scan(dss_dir / V7, check="deferred")
    check = found.deferred_check
    deadline = time.monotonic() + 60
    while check._proc.poll() is None and time.monotonic() < deadline:  # let it finish
        time.sleep(0.1)
    check._deadline = time.monotonic() - 1  # the caller comes back after the time limit
    found.await_check()  # the finished check's verdict still counts: it passed
    assert not found.check_pending
