"""Read the monthly series of a CalSim HEC-DSS file: exactly, or not at all.

`scan(path)` validates a file and lists its monthly series; `iter_series(path, scan)`
yields each of them as a `Series` (float64 values in month order, NaN where the model
wrote a missing value). Every problem raises `DssReadError`, one line naming the file.
README.md in this folder explains what is read, how and why.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest.dss import isolation
from ingest.dss.checks import DssReadError, check_dss7_header, dss_version, stat_regular_file
from ingest.dss.isolation import gc_paused, library_message, reraise_fatal
from ingest.dss.model import CatalogRecord, Engine, Scan, Series, SeriesRef

__all__ = [
    "ENGINES",
    "MISSING_SENTINELS",
    "CatalogRecord",
    "DssReadError",
    "Engine",
    "Scan",
    "Series",
    "SeriesRef",
    "dss_version",
    "iter_series",
    "read_series",
    "register_engine",
    "scan",
]

MISSING_SENTINELS = (-901.0, -902.0, -3.4028235e38, 99000.0)
"""Values that mean "no data": -901/-902 (DSS 6 era), the DSS 7 undefined value
(float32's most negative number) and 99000 (DWR post-processor flag). Compared after
rounding to float32; values beyond float32's range and NaN are missing as well."""

_SENTINELS_F32 = np.array(MISSING_SENTINELS, dtype=np.float32)
_F32_MAX = float(np.finfo(np.float32).max)

_MONTHLY_E = frozenset({"1MON", "1MONTH"})
_MONTHLY_INTERVAL_SECONDS = 2_592_000  # how HEC-DSS encodes a one-month interval
_REGULAR_SERIES_CODES = frozenset({100, 105})  # RTS (floats), RTD (doubles)
_JULIAN_ZERO = dt.date(1899, 12, 31)  # HEC-DSS day 0
_RETRIEVE_WINDOW_NO_TIMES = -2  # ztsRetrieve flag: keep to the window, no time array

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
_D_PART = re.compile(r"^(\d{2})([A-Za-z]{3})(\d{4})$")

_CONVERT_ADVICE = {
    6: (
        "this reader needs version 7: convert it to DSS 7 with HEC-DSSVue (its file "
        "conversion utility, on Windows) or re-run WRIMS with DSS 7 output"
    ),
}

_PARALLEL_MIN_SERIES = 500  # fewer series: one reading child (start-up ~1 s dominates)
_MAX_DEFAULT_WORKERS = 2


# ----------------------------------------------------------------------------------
# DSS 7 engine (pydsstools)
# ----------------------------------------------------------------------------------


def _julian_day(days: int) -> dt.date | None:
    """A HEC-DSS day number as a date (None when undefined/out of range)."""
    try:
        return _JULIAN_ZERO + dt.timedelta(days=int(days))
    except (OverflowError, ValueError):
        return None


def catalog_with_dates(fid: Any, pattern: str = "") -> tuple[list[str], list[int], list, list]:
    """Catalog (pathnames, type codes, first and last value days) of an open DSS 7 file.

    pydsstools' `_get_catalog(include_dates=True)` drops the flag on its way to
    `CatalogStruct.new` (its arguments are forwarded out of position), so the class is
    called directly. sort=True is avoided: it segfaulted on freshly written files.
    """
    probe = fid._get_catalog(pattern, False, 1)  # any one record, to get the class
    if probe is None:
        return [], [], [], []
    cat = type(probe).new(fid, pattern, sort=False, include_dates=True)
    if cat is None:
        return [], [], [], []
    paths, codes = cat.paths(), [int(c) for c in cat.typecodes()]
    first, last = list(cat.start_dates()), list(cat.end_dates())
    if not (len(paths) == len(codes) == len(first) == len(last)):
        raise RuntimeError("the catalog returned no record dates")
    return paths, codes, first, last


def _dss7_catalog(path: Path, check: bool) -> list[CatalogRecord]:
    """Validate a DSS 7 file and return its catalog (in a child process)."""
    size = stat_regular_file(path).st_size
    records, aliases = check_dss7_header(path, size)
    result = isolation.catalog_in_child(path, size, check)
    paths = result["paths"]
    if len(paths) not in (records, records + aliases):
        raise DssReadError(
            f"{path} is damaged: its catalog lists {len(paths):,} records but its header "
            f"records {records:,}; copy it again or re-run the model"
        )
    return [
        CatalogRecord(p, c, a, b)
        for p, c, a, b in zip(paths, result["codes"], result["first"], result["last"], strict=True)
    ]


def _dss7_start_check(path: Path) -> isolation.DeferredCheck:
    """Start `check_file` of a DSS 7 file in its own child (after the header checks)."""
    size = stat_regular_file(path).st_size
    check_dss7_header(path, size)  # the C library never sees a truncated file
    return isolation.DeferredCheck(path, size)


def _dss7_open(path: Path) -> Any:
    """Open a validated DSS 7 file with pydsstools (quietly)."""
    from ingest.dss.hecdss import open_dss

    try:
        return open_dss(str(path), mode="r")
    except BaseException as exc:
        reraise_fatal(exc)
        raise DssReadError(
            f"{path}: HEC-DSS cannot open the file ({library_message(exc)})"
        ) from None


def _dss7_close(fid: Any) -> None:
    """Close a pydsstools handle."""
    fid.close()


@functools.lru_cache(maxsize=4096)
def _parse_d_part(d_part: str) -> dt.date | None:
    """A block D part such as `01Jan1920` as a date (locale-independent), else None."""
    match = _D_PART.match(d_part.strip())
    month = _MONTH_NUMBER.get(match.group(2).upper()) if match else None
    if match is None or month is None:
        return None
    try:
        return dt.date(int(match.group(3)), month, int(match.group(1)))
    except ValueError:
        return None


def _block_date(d_part: str, pathname: str) -> dt.date:
    """Parse a block D part, raising ValueError naming the pathname when it is not a date."""
    day = _parse_d_part(d_part)
    if day is None:
        raise ValueError(f"unexpected block date {d_part!r} in {pathname}")
    return day


def _month_index(day: dt.date) -> int:
    """Months since year 0: differences give month counts."""
    return day.year * 12 + day.month - 1


def _add_months(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `first`'s month."""
    index = _month_index(first) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _hec_date(day: dt.date) -> str:
    """A date as HEC-DSS writes it, e.g. `01JAN1920`."""
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year:04d}"


def _is_month_end(day: dt.date) -> bool:
    """True for the last day of a month (a 2400 stamp there ends that month)."""
    return (day + dt.timedelta(days=1)).day == 1


def _read_window(fid: Any, pathname: str, start_day: str, end_day: str) -> Any:
    """One regular-series read from `start_day 0001` to `end_day 2400`, as doubles.

    Calls pydsstools' low-level `_read_ts_window` (what `read_ts(window=...)` ends in)
    with HEC-format dates: `read_ts` parses its window strings with dateutil, which
    costs ~0.4 ms per call. Its retrieve flag -2 ("adhere to the time window, no time
    array", see `ztsRetrieve`) spares the library building a time stamp per value
    (`ztsRegAddTimes`: two thirds of a read's CPU); values, count, interval and the
    first value's stamp (`start_time` comes from the struct's start date, not from
    the time array) are identical to flag 0's, as the tests check on every series.
    """
    low_level = getattr(fid, "_read_ts_window", None)
    if low_level is None:
        return fid.read_ts(
            pathname, window=(f"{start_day} 0001", f"{end_day} 2400"), value_precision="double"
        )
    return low_level(
        pathname,
        start_day,
        "0001",
        end_day,
        "2400",
        _RETRIEVE_WINDOW_NO_TIMES,
        boolRetrieveDoubles=2,
        boolRetrieveQualityNotes=0,
    )


def _lookup_span(fid: Any, ref: SeriesRef) -> tuple[dt.date, dt.date]:
    """The recorded first/last value days of a series (a catalog search: slow)."""
    pattern = f"/{ref.a}/{ref.b}/{ref.c}/*/{ref.e}/{ref.f}/"
    paths, _, first, last = catalog_with_dates(fid, pattern)
    wanted = set(ref.block_paths)
    days = [(a, b) for p, a, b in zip(paths, first, last, strict=True) if p in wanted]
    if len(days) != len(wanted):
        raise ValueError("its block records are not all in the catalog")
    lo, hi = _julian_day(min(a for a, _ in days)), _julian_day(max(b for _, b in days))
    if lo is None or hi is None:
        raise ValueError("its records carry no valid dates")
    return lo, hi


def read_series(fid: Any, ref: SeriesRef) -> Series:
    """Read one monthly series in a single call, through its first block's pathname.

    The time window runs from the first block's start to the end of the last block's
    decade, so every value of every block comes back; the result is checked (value
    count, one-month interval, end-of-month stamps), cut to the series' recorded span
    and its missing values become NaN. `fid` comes from
    `ingest.dss.hecdss.open_dss(path)`.
    """
    where = f"{getattr(fid, 'filename', 'DSS file')}: {ref.logical_path}"
    try:
        first = _block_date(ref.block_paths[0].split("/")[4], ref.block_paths[0])
        last = _block_date(ref.block_paths[-1].split("/")[4], ref.block_paths[-1])
        span = ref.span if ref.span is not None else _lookup_span(fid, ref)
    except BaseException as exc:
        reraise_fatal(exc)
        raise DssReadError(f"{where}: cannot locate the series ({library_message(exc)})") from None
    window_start = first.replace(day=1)
    window_end = dt.date(last.year + 9, 12, 31)  # monthly blocks hold a decade
    expected = _month_index(window_end) - _month_index(window_start) + 1
    try:
        ts = _read_window(fid, ref.block_paths[0], _hec_date(first), _hec_date(window_end))
        count = int(ts.count or 0)
        # ts.values is a view of C memory owned by `ts`: copy while `ts` is alive.
        raw = np.array(ts.values, dtype=np.float64, copy=True) if count else np.empty(0)
        interval = ts.interval
        start = ts.start_time if count else None  # midnight shown as 00:00 of the next day
        stamp_day = _julian_day(start.julian()) if start is not None else None
        stamp_seconds = start.seconds_since_midnight() if start is not None else None
        units, data_type = str(ts.data_units or ""), str(ts.data_type or "")
        del ts
    except BaseException as exc:
        reraise_fatal(exc)
        raise DssReadError(f"{where}: HEC-DSS read failed ({library_message(exc)})") from None
    if count != expected or len(raw) != count:
        raise DssReadError(
            f"{where}: HEC-DSS returned {count} values for a window of {expected} months"
        )
    if interval != _MONTHLY_INTERVAL_SECONDS:
        raise DssReadError(f"{where}: interval is {interval} s, not one month")
    if stamp_day is None or stamp_day.day != 1 or stamp_seconds != 0:
        raise DssReadError(
            f"{where}: values are stamped at {stamp_day} +{stamp_seconds} s, not at the end of "
            "a month (2400 of its last day); refusing to guess which month they belong to"
        )
    if _add_months(stamp_day, -1) != window_start:
        raise DssReadError(
            f"{where}: first value stamped {stamp_day} 00:00, window starts {window_start}"
        )
    if not (_is_month_end(span[0]) and _is_month_end(span[1])):
        raise DssReadError(f"{where}: recorded span {span[0]}..{span[1]} is not month ends")
    lo = _month_index(span[0]) - _month_index(window_start)
    hi = _month_index(span[1]) - _month_index(window_start) + 1
    if not 0 <= lo < hi <= count:
        raise DssReadError(
            f"{where}: recorded span {span[0]}..{span[1]} lies outside its blocks "
            f"({window_start}..{window_end})"
        )
    values = raw[lo:hi]
    with np.errstate(over="ignore", invalid="ignore"):
        as_f32 = values.astype(np.float32)
        # NaN, inf and beyond float32's range (this includes -3.4028235e38) ...
        missing = ~(np.abs(values) < _F32_MAX)
        for sentinel in _SENTINELS_F32:  # ... and the sentinels, at float32 precision
            missing |= as_f32 == sentinel
    values[missing] = np.nan
    return Series(
        ref=ref,
        units=units,
        data_type=data_type,
        start_month=_add_months(window_start, lo),
        values=values,
        missing_count=int(missing.sum()),
    )


# ----------------------------------------------------------------------------------
# Engines by version
# ----------------------------------------------------------------------------------

_DSS7 = Engine(
    name="pydsstools (HEC-DSS 7)",
    catalog=_dss7_catalog,
    open=_dss7_open,
    read=read_series,
    close=_dss7_close,
    start_check=_dss7_start_check,
)
ENGINES: dict[int, Engine] = {7: _DSS7}


def register_engine(version: int, engine: Engine) -> None:
    """Make `scan`/`iter_series` read files of DSS major `version` with `engine`."""
    ENGINES[version] = engine


def check_version_supported(path: Path, version: int) -> None:
    """Raise `DssReadError` (saying what to do) for a version no engine reads."""
    _engine_for(path, version)


def _engine_for(path: Path, version: int) -> Engine:
    """The engine for `version`, or a `DssReadError` saying what to do."""
    engine = ENGINES.get(version)
    if engine is None:
        advice = _CONVERT_ADVICE.get(
            version, "this reader supports version(s) " + ", ".join(map(str, sorted(ENGINES)))
        )
        raise DssReadError(f"{path} is HEC-DSS version {version}; {advice}")
    return engine


# ----------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------

_KIND_BY_CODE = {
    20: "location",
    101: "time series pattern",
    102: "time series profile",
    106: "time series pattern",
    107: "time series profile",
    110: "irregular time series",
    111: "irregular time series pattern",
    112: "irregular time series profile",
    115: "irregular time series",
    116: "irregular time series pattern",
    117: "irregular time series profile",
    200: "paired data",
    205: "paired data",
    300: "text",
    310: "text table",
    450: "TIN",
    600: "file",
    610: "image",
}
_KIND_BY_INTERVAL = {
    "1DAY": "daily",
    "1HOUR": "hourly",
    "1WEEK": "weekly",
    "1YEAR": "yearly",
    "SEMI-MONTH": "semi-monthly",
    "TRI-MONTH": "tri-monthly",
}


def _record_kind(code: int, e_part: str) -> str:
    """Name the kind of a non-monthly record from its type code (and interval)."""
    if code in _REGULAR_SERIES_CODES:
        word = _KIND_BY_INTERVAL.get(e_part.upper())
        return f"{word} time series" if word else f"regular time series ({e_part})"
    if code in _KIND_BY_CODE:
        return _KIND_BY_CODE[code]
    if 90 <= code <= 99:
        return "array"
    if 400 <= code <= 449:
        return "grid"
    return f"record type {code}"


def scan(path: Path, *, check: bool | Literal["deferred"] = True) -> Scan:
    """Validate a DSS file and list its monthly series, in catalog order.

    Checks the header bytes (version, truncation) in Python, then lets the HEC-DSS
    library read the catalog in a child process, so a damaged file raises
    `DssReadError` instead of crashing the caller; the catalog's record count must
    match the header's. Version 6 files are refused with advice on converting them.

    `check` is the library's structural check (`check_file`, ~7 s on a full-size file):
    - True: done up front, before the catalog (the file is fully validated on return);
    - "deferred": started in its own child process and left running while `scan`
      reads the catalog and returns (~7 s sooner on a full-size file), so reading can
      overlap it. The verdict is awaited by `Scan.await_check()`, which `iter_series`
      calls before it ends: a damaged file raises there, after the last series was
      yielded. Commit nothing from the file before the iteration completed. The
      check child is stopped when the iteration fails or is closed early (a later
      complete iteration runs it again) and when the `Scan` is garbage collected.
      Each deferred scan starts its own check at once: scanning several files up
      front runs their checks side by side. An engine without a separate check
      (`Engine.start_check`) checks up front instead;
    - False: skipped (the header and record-count checks still run).
    """
    path = Path(path)
    if not (isinstance(check, bool) or check == "deferred"):
        raise ValueError(f"check must be True, False or 'deferred', not {check!r}")
    version = dss_version(path)
    engine = _engine_for(path, version)
    st = stat_regular_file(path)
    pending = None
    if check == "deferred":
        if engine.start_check is not None:
            pending = engine.start_check(path)
        check = pending is None
    try:
        catalog = engine.catalog(path, bool(check))
        with gc_paused():
            monthly, skipped = _group_monthly(path, catalog)
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    return Scan(
        path=path,
        version=version,
        record_count=len(catalog),
        monthly=monthly,
        skipped=skipped,
        size_bytes=st.st_size,
        mtime_ns=st.st_mtime_ns,
        deferred_check=pending,
    )


_first_item = operator.itemgetter(0)


def _group_monthly(
    path: Path, catalog: list[CatalogRecord]
) -> tuple[list[SeriesRef], dict[str, int]]:
    """Group the monthly block records into series (catalog order); count the others."""
    groups: dict[tuple[str, str, str, str, str], list[tuple[str, CatalogRecord]]] = {}
    skipped: dict[str, int] = {}
    for record in catalog:
        parts = record.pathname.split("/")
        if len(parts) != 8 or parts[0] or parts[7]:
            raise DssReadError(f"{path}: damaged catalog entry {record.pathname!r}")
        e = parts[5]
        if record.type_code in _REGULAR_SERIES_CODES and e.strip().upper() in _MONTHLY_E:
            key = (parts[1], parts[2], parts[3], e, parts[6])
            group = groups.get(key)
            if group is None:
                groups[key] = group = []
            group.append((parts[4], record))
        else:
            kind = _record_kind(record.type_code, e.strip())
            skipped[kind] = skipped.get(kind, 0) + 1

    monthly = []
    dates: dict[str, dt.date] = {}  # a few distinct block dates (one per decade)
    for (a, b, c, e, f), records in groups.items():
        blocks = []
        for d, r in records:
            day = dates.get(d)
            if day is None:
                try:
                    day = dates[d] = _block_date(d, r.pathname)
                except ValueError as exc:
                    raise DssReadError(f"{path}: damaged catalog ({exc})") from None
            blocks.append((day, r))
        blocks.sort(key=_first_item)
        first = _julian_day(min(r.first_day for _, r in blocks))
        last = _julian_day(max(r.last_day for _, r in blocks))
        if first is None or last is None:
            raise DssReadError(f"{path}: records of /{a}/{b}/{c}//{e}/{f}/ carry no valid dates")
        paths = tuple(r.pathname for _, r in blocks)
        monthly.append(SeriesRef(a, b, c, e, f, paths, (first, last)))
    return monthly, skipped


def _default_workers(series: int) -> int:
    """Reading children when the caller does not say: up to 2 (CPUs permitting), 1 for
    small files, where a child's start-up (~1 s) outweighs what a second one saves."""
    if series < _PARALLEL_MIN_SERIES:
        return 1
    return max(1, min(_MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def _check_unchanged(path: Path, found: Scan, problem: str) -> os.stat_result:
    """Stat the file; raise if its size or mtime differ from what `scan` recorded."""
    st = stat_regular_file(path)
    if found.size_bytes and (st.st_size, st.st_mtime_ns) != (found.size_bytes, found.mtime_ns):
        raise DssReadError(f"{path} {problem}")
    return st


def iter_series(
    path: Path,
    scan: Scan | None = None,
    *,
    isolate: bool = True,
    workers: int | None = None,
) -> Iterator[Series]:
    """Yield every monthly series of the file, each exactly once.

    Pass the `Scan` from `scan(path)` to avoid scanning twice; the file must not have
    changed since (checked at the start and again at the end).

    With `isolate=True` (default) the C library runs in child processes that stream
    the series back: a crash or hang there becomes `DssReadError`, and reading
    overlaps the caller's work. `workers` children (default: 2 where there are 2 CPUs,
    1 for files of fewer than 500 series) each read one contiguous share of the
    catalog order. ORDER: with one child the series come in catalog order; with
    several, each share stays in catalog order but the shares interleave as the
    children deliver (use `series.ref` to know which series it is). When any child
    fails, the others are killed and one `DssReadError` is raised; closing the
    generator early kills them all too. `isolate=False` reads in this process, in
    catalog order (`workers` is then ignored).

    Before it ends normally it waits for a deferred integrity check
    (`scan(path, check="deferred")`) and raises `DssReadError` if that found damage.
    If it raises at any point, discard everything yielded for this file.
    """
    path = Path(path)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise TypeError(f"workers must be an int or None, not {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    found = scan if scan is not None else _scan(path)
    if Path(found.path).resolve() != path.resolve():
        raise DssReadError(f"{path}: the scan given is of another file ({found.path})")
    completed = False
    try:
        engine = _engine_for(path, found.version)
        st = _check_unchanged(path, found, "changed after it was scanned; scan it again")
        if found.version == 7:
            check_dss7_header(path, st.st_size)
        if found.monthly and isolate and engine is _DSS7:
            count = workers if workers is not None else _default_workers(len(found.monthly))
            yield from isolation.iter_in_children(path, found, count)
        elif found.monthly:
            handle = engine.open(path)
            try:
                for ref in found.monthly:
                    yield engine.read(handle, ref)
            finally:
                engine.close(handle)
        found.await_check()
        _check_unchanged(
            path, found, "changed while it was being read; discard what was read, ingest it again"
        )
        completed = True
    finally:
        # Stopped early or failed: the check's verdict is no longer needed now (a later
        # iteration with the same scan runs it again).
        if not completed and found.deferred_check is not None:
            found.deferred_check.cancel()


_scan = scan  # `iter_series` has a parameter named `scan`
