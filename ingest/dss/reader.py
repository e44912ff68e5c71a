"""Read the monthly series of a CalSim HEC-DSS file: exactly, fast, never silently wrong.

What it does
------------
`scan(path)` validates a file and lists its monthly series; `iter_series(path, scan)`
yields every one of them as a `Series` (float64 values in month order, NaN where the
model wrote a missing-value sentinel). Every problem raises `DssReadError`, whose
message is ONE line naming the file and saying what is wrong and what to do.

- A *series* is the group of block records sharing the A, B, C, E and F parts (the D
  part is the block's start date: one record per decade for monthly data).
- *Monthly* means a regular time-series record (type code 100 floats / 105 doubles,
  as the catalog reports it) whose E part is `1MON` or `1Month` (any case). Every
  other record (hourly/daily series, irregular series, paired data, text, grids,
  location records, ...) is skipped and counted by kind in `Scan.skipped`, using the
  record type the library reports, not only the E part.
- Speed: each series is read ONCE, through its first block's pathname with a time
  window spanning all its blocks. Reading through the empty-D logical path makes
  the library search the catalog on every call (quadratic: hours for 21,500
  series). The catalog is read once per file.
- Months: values are stamped at the END of their period (`31OCT1921 2400`, which
  pydsstools shows as `1 November 1921 00:00`); a value belongs to the month that
  ends at its stamp, so the first value above gives `start_month = 1921-10-01`.
  A monthly record stamped anywhere else (DSS 7 can store offsets, e.g. mid-month)
  is refused rather than guessed.
- Length: leading and trailing values that HEC-DSS itself treats as missing
  (-3.4028235e38, -901, -902) are trimmed, exactly like the library's own
  "retrieve all" read; values inside stay positional, so the array has one entry per
  month from the first to the last valid month and gaps (even whole missing blocks)
  are NaN. An all-missing series has zero values and starts at its first block.
- Missing values: `MISSING_SENTINELS` (-901 and -902 from the DSS 6 era, the DSS 7
  undefined value -3.4028235e38, and 99000 flagged by DWR's post-processor) and NaN
  become NaN and are counted in `missing_count`. Values are compared after rounding
  to float32 (the precision DSS stores), so a double-precision record holding
  99000.0001 matches too. Values are retrieved as doubles: float32 records convert
  to float64 exactly, double records (type 105, as in the real CalSim II file) keep
  their full precision.

What the HEC-DSS C library does with bad input (pydsstools 3.1, measured)
--------------------------------------------------------------------------
- A missing path or an EMPTY file is not an error for it: opening creates a brand-new
  DSS 7 file there (the empty file became 126 KB) and the catalog is just empty.
- A file truncated at 50 %, 90 % or right after the 800-byte header opens fine and
  returns an EMPTY catalog, silently. Truncated at 99 %, the catalog is complete but
  two thirds of the reads fail; at 99.9 % every read succeeds (only the catalog's
  sort table was cut) while `check_file` reports the damage. A text file renamed
  .dss raises a multi-line `DssStatusException`.
- Overwriting 8 to 4,096 bytes inside a healthy file (zeros, 0xFF, random bytes, bit
  flips; 140 trials) gave: segmentation faults in the catalog or in `check_file`
  (~5 %), silently partial catalogs (181 of 1,458 records), `UnicodeDecodeError`
  from pathnames, `DssPathException` (a `BaseException` subclass), failed reads, and
  the C library printing diagnostics to the console. `_get_catalog(sort=True)` on a
  file written in the same session also crashed the interpreter.
- `check_file` (`zcheckFile`) flagged every structural corruption above that later
  misbehaved; 7.6 s on a full-size 230 MB file, 0.2 s on the 2.7 MB real file.

How this module protects its caller
-----------------------------------
1. Before the library touches a file (pure Python): it must exist, be a regular
   readable file, start with `ZDSS`, and carry a version string (`7-..` / `6-..`).
   For DSS 7 the 100-word header is checked: header size, end-of-header flag
   (-97531), and the recorded file size (word 5) against the real size - any
   truncation is caught here - plus the end-of-file flag (-97532) where the header
   says the file ends.
2. The library's first look at the file (`check_file` and the catalog) runs in a
   CHILD process with a timeout: a segfault, hang or console noise there becomes a
   one-line `DssReadError`, never a crash of the caller. The catalog's record count
   must equal the header's (catches silently partial catalogs).
3. Reads run in-process (fast) on the validated file; every library exception,
   including `DssPathException`, becomes `DssReadError`, and every read is checked
   for the expected number of values and end-of-month stamps. The file's size and
   mtime are re-checked before reading, in case it changed since `scan`.
   Residual risk: DSS 7 has no checksums, so a flipped bit inside a stored value is
   undetectable by any reader; in the trials no file that passed step 2 crashed a read.
`iter_series` is a generator: if it raises midway, the caller must discard what it
received for that file (the dlt loader does, by loading in one transaction).

Versions
--------
`dss_version` reads the header bytes only. Reading is dispatched through `ENGINES`,
a small registry of engines by major version; only DSS 7 (pydsstools) is available
here, as pydsstools and HEC's wheels refuse DSS 6 on Linux. A DSS 6 file is rejected
before pydsstools sees it, with advice to convert it. A DSS 6 engine (e.g. a
Windows-only library or a pure-Python reader) can be plugged in with
`register_engine(6, Engine(...))` without touching the rest of the module.

pydsstools is imported only through `ingest.dss.hecdss`, which silences it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ENGINES",
    "MISSING_SENTINELS",
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
rounding to float32."""

_F32_UNDEFINED = np.float32(-3.4028235e38)
_SENTINELS_F32 = np.array(MISSING_SENTINELS, dtype=np.float32)
# What HEC-DSS itself treats as missing (zisMissingFloat) and trims at the ends.
_DSS_MISSING_F32 = np.array([-901.0, -902.0, -3.4028235e38], dtype=np.float32)

_MONTHLY_E = frozenset({"1MON", "1MONTH"})
_MONTHLY_INTERVAL_SECONDS = 2_592_000  # how HEC-DSS encodes a one-month interval
_REGULAR_SERIES_CODES = frozenset({100, 105})  # RTS (floats), RTD (doubles)

# DSS 7 file header (64-bit words), see HEC's dss-file-spec "file-header.md".
_WORD = 8
_H_HEADER_SIZE = 1
_H_NUMBER_RECORDS = 3
_H_NUMBER_ALIASES = 4
_H_FILE_SIZE = 5
_END_OF_HEADER_FLAG = -97531
_END_OF_FILE_FLAG = -97532

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
_D_PART = re.compile(r"^(\d{2})([A-Za-z]{3})(\d{4})$")

_CONVERT_ADVICE = {
    6: (
        "this reader needs version 7: convert it to DSS 7 with HEC-DSSVue (its file "
        "conversion utility, on Windows) or re-run WRIMS with DSS 7 output"
    ),
}

_PROBE_TIMEOUT_BASE_S = 60.0
_PROBE_TIMEOUT_PER_MB_S = 0.5


class DssReadError(Exception):
    """A DSS file cannot be read completely and correctly.

    `str(error)` is always ONE line naming the file and saying what is wrong and what
    to do: whitespace (including newlines from the C library) is collapsed.
    """

    def __init__(self, message: object) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class SeriesRef:
    """One monthly series: its pathname parts (original case) and its block records.

    `block_paths` are the catalog pathnames of the series' records, sorted by block
    date (oldest first); the first one is the handle used to read the whole series.
    `span` holds the days of the first and last value stamps the writer recorded for
    the series (first block's first value, last block's last value; filled by `scan`
    from the catalog, looked up by `read_series` when absent).
    """

    a: str
    b: str
    c: str
    e: str
    f: str
    block_paths: tuple[str, ...]
    span: tuple[dt.date, dt.date] | None = None

    @property
    def logical_path(self) -> str:
        """The series' pathname with an empty D part, e.g. `/CALSIM/S_SHSTA/STORAGE//1MON/L2020A/`."""
        return f"/{self.a}/{self.b}/{self.c}//{self.e}/{self.f}/"


@dataclass
class Scan:
    """What `scan` found in a file: its version, record count, monthly series, skipped kinds.

    `skipped` maps a record kind ("daily time series", "paired data", ...) to the number
    of records of that kind that are not monthly series; the monthly block records and
    the skipped records add up to `record_count`. `size_bytes` and `mtime_ns` let
    `iter_series` notice a file that changed after it was scanned.
    """

    path: Path
    version: int
    record_count: int
    monthly: list[SeriesRef]
    skipped: dict[str, int]
    size_bytes: int = field(default=0, compare=False)
    mtime_ns: int = field(default=0, compare=False)


@dataclass
class Series:
    """One monthly series read from a file.

    `values[i]` belongs to the month `start_month + i` (`start_month` is the first day
    of the first month); NaN where the file holds a missing-value sentinel or NaN;
    `missing_count` counts those.
    """

    ref: SeriesRef
    units: str
    data_type: str
    start_month: dt.date
    values: np.ndarray
    missing_count: int


@dataclass(frozen=True)
class Engine:
    """How to read one DSS major version (an entry of `ENGINES`).

    catalog(path, check) -> [(pathname, record type code), ...] for a file whose
        header bytes are known to be of this version; validates the file first
        (`check` asks for the thorough, slower structural check) and raises
        `DssReadError` for anything wrong.
    open(path) -> handle; read(handle, ref) -> Series; close(handle).
    """

    name: str
    catalog: Callable[[Path, bool], list[tuple[str, int]]]
    open: Callable[[Path], Any]
    read: Callable[[Any, SeriesRef], Series]
    close: Callable[[Any], None]


# ----------------------------------------------------------------------------------
# Header checks (pure Python: nothing here can crash the process)
# ----------------------------------------------------------------------------------


def _stat_regular_file(path: Path) -> os.stat_result:
    """Stat `path`, raising `DssReadError` unless it is an existing regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DssReadError(f"{path}: no such file") from None
    except OSError as exc:
        raise DssReadError(f"{path}: cannot access it ({exc.strerror or exc})") from None
    if path.is_dir():
        raise DssReadError(f"{path} is a directory, not a DSS file")
    if not path.is_file():
        raise DssReadError(f"{path} is not a regular file")
    return st


def _read_bytes(path: Path, offset: int, size: int) -> bytes:
    """Read up to `size` bytes at `offset`, turning OS errors into `DssReadError`."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(size)
    except OSError as exc:
        raise DssReadError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def dss_version(path: Path) -> int:
    """Return the HEC-DSS major version (6, 7, ...) recorded in the file's header bytes.

    Both DSS 6 and DSS 7 files start with `ZDSS` and carry their version string
    ("6-WC", "7-GS", ...) at byte 16. Raises `DssReadError` for a missing path, a
    directory, an empty, too short or non-DSS file. Never calls the C library.
    """
    path = Path(path)
    size = _stat_regular_file(path).st_size
    if size == 0:
        raise DssReadError(
            f"{path} is empty (0 bytes), not a DSS file: the copy or download probably failed"
        )
    head = _read_bytes(path, 0, 24)
    if head[:4] != b"ZDSS":
        raise DssReadError(
            f"{path} is not a HEC-DSS file (it does not start with the 'ZDSS' signature)"
        )
    if len(head) < 20:
        raise DssReadError(f"{path} is only {size} bytes: too short to be a HEC-DSS file")
    tag = head[16:20]
    if tag[1:2] != b"-" or not tag[:1].isdigit():
        raise DssReadError(f"{path}: HEC-DSS header has no readable version string ({tag!r})")
    return int(tag[:1])


def _check_dss7_header(path: Path, size: int) -> tuple[int, int]:
    """Validate a DSS 7 header against the file; return (number of records, aliases).

    Catches every truncation (the header records the file size in words, and the
    word at that address is an end-of-file flag) before the C library sees the file.
    """
    if size < 100 * _WORD:
        raise DssReadError(
            f"{path} is truncated: only {size} bytes, less than a DSS 7 header; "
            "copy or download it again"
        )
    words = struct.unpack("<100q", _read_bytes(path, 0, 100 * _WORD))
    header_size = words[_H_HEADER_SIZE]
    if not 50 <= header_size <= 100 or words[header_size - 1] != _END_OF_HEADER_FLAG:
        raise DssReadError(f"{path}: damaged DSS 7 header (no end-of-header mark)")
    file_words = words[_H_FILE_SIZE]
    expected = (file_words + 1) * _WORD
    if file_words <= header_size or size < expected:
        raise DssReadError(
            f"{path} is truncated: {size:,} of the {expected:,} bytes its header records "
            f"({100 * size / max(expected, 1):.1f} %); copy or download it again"
        )
    (eof_flag,) = struct.unpack("<q", _read_bytes(path, file_words * _WORD, _WORD))
    if eof_flag != _END_OF_FILE_FLAG:
        raise DssReadError(
            f"{path}: damaged DSS 7 file (no end-of-file mark where its header says the "
            "file ends); copy it again or re-run the model"
        )
    return words[_H_NUMBER_RECORDS], words[_H_NUMBER_ALIASES]


# ----------------------------------------------------------------------------------
# DSS 7 engine (pydsstools)
# ----------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    """A library exception as one short line (DssStatusException carries a tuple)."""
    args = [a for a in getattr(exc, "args", ()) if isinstance(a, str) and a.strip()]
    text = args[-1] if args else str(exc)
    text = " ".join(text.replace("*****DSS***", "").split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _probe_child() -> None:
    """Child-process entry: check and catalog a DSS 7 file, print JSON on stdout.

    Runs in its own process (see `_dss7_catalog`) so that a crash or a hang of the C
    library on a damaged file cannot take the caller down. The C library's console
    output goes to stderr (fd 1 is redirected) so it cannot corrupt the JSON.
    """
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    path, check = sys.argv[1], sys.argv[2] == "1"
    result: dict[str, Any] = {}
    try:
        from ingest.dss.hecdss import open_dss

        fid = open_dss(path, mode="r")
        try:
            if check:
                try:
                    result["check"] = int(fid.check_file())
                except Exception as exc:
                    result["check_error"] = _one_line(exc)
            if "check_error" not in result and not result.get("check"):
                cat = fid._get_catalog("", False)  # sort=True crashes on some files
                result["paths"] = cat.paths() if cat is not None else []
                result["codes"] = [int(c) for c in cat.typecodes()] if cat is not None else []
        finally:
            fid.close()
    except BaseException as exc:  # DssPathException derives from BaseException
        result["error"] = _one_line(exc)
    json.dump(result, out)
    out.flush()


def _probe_in_child(path: Path, size: int, check: bool) -> dict[str, Any]:
    """Run `_probe_child` on `path` in a fresh interpreter; return its JSON result."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    code = "from ingest.dss.reader import _probe_child; _probe_child()"
    timeout = _PROBE_TIMEOUT_BASE_S + _PROBE_TIMEOUT_PER_MB_S * size / 1e6
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path), "1" if check else "0"],
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DssReadError(
            f"{path}: the HEC-DSS library did not finish checking the file in {timeout:.0f} s; "
            "the file is probably damaged"
        ) from None
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        raise DssReadError(
            f"{path} is damaged: the HEC-DSS library crashed ({name}) while checking it; "
            "copy it again or re-run the model"
        )
    try:
        result = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        raise DssReadError(f"{path}: could not check the file ({detail})") from None
    return result


def _dss7_catalog(path: Path, check: bool) -> list[tuple[str, int]]:
    """Validate a DSS 7 file and return its catalog as (pathname, record type code)."""
    size = _stat_regular_file(path).st_size
    records, aliases = _check_dss7_header(path, size)
    result = _probe_in_child(path, size, check)
    if "error" in result:
        raise DssReadError(f"{path}: HEC-DSS cannot read the file ({result['error']})")
    if "check_error" in result:
        raise DssReadError(
            f"{path} is damaged: the HEC-DSS integrity check failed ({result['check_error']}); "
            "copy it again or re-run the model"
        )
    if result.get("check"):
        raise DssReadError(
            f"{path} is damaged: the HEC-DSS integrity check found {result['check']} "
            "error(s) in its structure; copy it again or re-run the model"
        )
    paths, codes = result.get("paths", []), result.get("codes", [])
    if len(paths) != len(codes) or len(paths) not in (records, records + aliases):
        raise DssReadError(
            f"{path} is damaged: its catalog lists {len(paths):,} records but its header "
            f"records {records:,}; copy it again or re-run the model"
        )
    return list(zip(paths, codes, strict=True))


def _dss7_open(path: Path) -> Any:
    """Open a validated DSS 7 file with pydsstools (quietly)."""
    from ingest.dss.hecdss import open_dss

    try:
        return open_dss(str(path), mode="r")
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DssReadError(f"{path}: HEC-DSS cannot open the file ({_one_line(exc)})") from None


def _dss7_close(fid: Any) -> None:
    """Close a pydsstools handle."""
    fid.close()


def _block_date(d_part: str, pathname: str) -> dt.date:
    """Parse a block D part such as `01Jan1920` (locale-independent)."""
    match = _D_PART.match(d_part.strip())
    month = _MONTH_NUMBER.get(match.group(2).upper()) if match else None
    if match is None or month is None:
        raise ValueError(f"unexpected block date {d_part!r} in {pathname}")
    return dt.date(int(match.group(3)), month, int(match.group(1)))


def _add_months(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `first`'s month."""
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _hec_date(day: dt.date) -> str:
    """A date as HEC-DSS writes it, e.g. `01JAN1920`."""
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year:04d}"


def read_series(fid: Any, ref: SeriesRef) -> Series:
    """Read one monthly series in a single call, through its first block's pathname.

    The time window runs from the first block's start to the end of the last block's
    decade, so every value of every block comes back; the result is checked (value
    count, one-month interval, end-of-month stamps), trimmed of the leading/trailing
    values HEC-DSS treats as missing, and its sentinels become NaN. `fid` comes from
    `ingest.dss.hecdss.open_dss(path)`.
    """
    filename = getattr(fid, "filename", "DSS file")
    where = f"{filename}: {ref.logical_path}"
    try:
        first = _block_date(ref.block_paths[0].split("/")[4], ref.block_paths[0])
        last = _block_date(ref.block_paths[-1].split("/")[4], ref.block_paths[-1])
    except (ValueError, IndexError) as exc:
        raise DssReadError(f"{where}: {exc}") from None
    first_month = first.replace(day=1)
    window_end = dt.date(last.year + 9, 12, 31)
    expected = (window_end.year - first_month.year) * 12 + window_end.month - first_month.month + 1
    try:
        ts = fid.read_ts(
            ref.block_paths[0],
            window=(f"{_hec_date(first)} 0001", f"{_hec_date(window_end)} 2400"),
            value_precision="double",
        )
        count = int(ts.count or 0)
        raw = np.array(ts.values, dtype=np.float64, copy=True) if count else np.empty(0)
        interval = ts.interval
        stamp = ts.start_time.datetime() if count else None
        units, data_type = str(ts.data_units or ""), str(ts.data_type or "")
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DssReadError(f"{where}: HEC-DSS read failed ({_one_line(exc)})") from None
    if count != expected or len(raw) != count:
        raise DssReadError(
            f"{where}: HEC-DSS returned {count} values for a window of {expected} months"
        )
    if interval != _MONTHLY_INTERVAL_SECONDS:
        raise DssReadError(f"{where}: interval is {interval} s, not one month")
    if stamp is None or stamp.day != 1 or stamp.time() != dt.time(0):
        raise DssReadError(
            f"{where}: values are stamped {stamp}, not at the end of a month "
            "(2400 of its last day); refusing to guess which month they belong to"
        )
    stamped_month = _add_months(stamp.date(), -1)
    if stamped_month != first_month:
        raise DssReadError(
            f"{where}: first value is stamped {stamp} but the window starts {first_month}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        as_f32 = raw.astype(np.float32)
    present = ~np.isin(as_f32, _DSS_MISSING_F32)
    kept = np.flatnonzero(present)
    if kept.size == 0:
        values = np.empty(0, dtype=np.float64)
        return Series(ref, units, data_type, first_month, values, 0)
    lo, hi = int(kept[0]), int(kept[-1]) + 1
    values = raw[lo:hi]
    missing = np.isin(as_f32[lo:hi], _SENTINELS_F32) | ~np.isfinite(values)
    missing |= as_f32[lo:hi] <= _F32_UNDEFINED
    values[missing] = np.nan
    return Series(
        ref=ref,
        units=units,
        data_type=data_type,
        start_month=_add_months(first_month, lo),
        values=values,
        missing_count=int(missing.sum()),
    )


# ----------------------------------------------------------------------------------
# Engines by version
# ----------------------------------------------------------------------------------

ENGINES: dict[int, Engine] = {
    7: Engine(
        name="pydsstools (HEC-DSS 7)",
        catalog=_dss7_catalog,
        open=_dss7_open,
        read=read_series,
        close=_dss7_close,
    ),
}


def register_engine(version: int, engine: Engine) -> None:
    """Make `scan`/`iter_series` read files of DSS major `version` with `engine`."""
    ENGINES[version] = engine


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


def scan(path: Path, *, check: bool = True) -> Scan:
    """Validate a DSS file and list its monthly series (in catalog order).

    Checks the header bytes (version, truncation) in Python, then lets the HEC-DSS
    library check the file's structure (`check=True`, ~3 % of a full read's time on a
    full-size file) and read the catalog in a child process, so a damaged file raises
    `DssReadError` instead of crashing the caller. Version 6 files are refused with
    advice on converting them.
    """
    path = Path(path)
    version = dss_version(path)
    engine = _engine_for(path, version)
    st = _stat_regular_file(path)
    catalog = engine.catalog(path, check)

    groups: dict[tuple[str, str, str, str, str], list[tuple[dt.date, str]]] = {}
    skipped: dict[str, int] = {}
    for pathname, code in catalog:
        parts = pathname.split("/")
        if len(parts) != 8 or parts[0] or parts[7]:
            raise DssReadError(f"{path}: damaged catalog entry {pathname!r}")
        _, a, b, c, d, e, f, _ = parts
        if code in _REGULAR_SERIES_CODES and e.strip().upper() in _MONTHLY_E:
            try:
                block = _block_date(d, pathname)
            except ValueError as exc:
                raise DssReadError(f"{path}: {exc}") from None
            groups.setdefault((a, b, c, e, f), []).append((block, pathname))
        else:
            kind = _record_kind(code, e.strip())
            skipped[kind] = skipped.get(kind, 0) + 1

    monthly = []
    for (a, b, c, e, f), blocks in groups.items():
        blocks.sort()
        monthly.append(SeriesRef(a, b, c, e, f, tuple(p for _, p in blocks)))
    return Scan(
        path=path,
        version=version,
        record_count=len(catalog),
        monthly=monthly,
        skipped=skipped,
        size_bytes=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def iter_series(path: Path, scan: Scan | None = None) -> Iterator[Series]:
    """Yield every monthly series of the file, in catalog order, opening it once.

    Pass the `Scan` from `scan(path)` to avoid scanning twice. The file must not have
    changed since it was scanned. If a read fails midway a `DssReadError` is raised:
    discard what was yielded for this file.
    """
    path = Path(path)
    found = scan if scan is not None else _scan(path)
    if Path(found.path) != path:
        raise DssReadError(f"{path}: the scan given is of another file ({found.path})")
    engine = _engine_for(path, found.version)
    st = _stat_regular_file(path)
    if found.size_bytes and (st.st_size, st.st_mtime_ns) != (found.size_bytes, found.mtime_ns):
        raise DssReadError(f"{path} changed after it was scanned; scan it again")
    if found.version == 7:
        _check_dss7_header(path, st.st_size)
    handle = engine.open(path)
    try:
        for ref in found.monthly:
            yield engine.read(handle, ref)
    finally:
        engine.close(handle)


_scan = scan  # `iter_series` has a parameter named `scan`
