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
  as the library's catalog reports it) whose E part is `1MON` or `1Month` (any case).
  Every other record (hourly/daily series, irregular series, paired data, text,
  grids, location records, ...) is skipped and counted by kind in `Scan.skipped`.
- Speed: the catalog is read once per file; each series is then read ONCE, through
  its first block's pathname with a time window spanning all of its blocks, and
  without the time stamp per value the library would otherwise build (two thirds of
  a read's CPU; `_read_window`). Reading through the empty-D logical path instead
  makes the library search the catalog on every call (quadratic: hours for 21,500
  series). Large files are read by two child processes at once, and the structural
  check can run alongside the reading (`scan(path, check="deferred")`); see
  "Speed" below.
- Extent: a series runs from the first value of its first block to the last value
  of its last block, as recorded by the writer in each record's header (the catalog
  returns these dates). This is exactly what the library's own empty-D "retrieve
  all" read returns, so leading months the model wrote as missing are kept (as NaN)
  instead of silently shifting the start. Values are positional: the array has one
  entry per month, gaps (even whole missing blocks) are NaN.
- Months: values are stamped at the END of their period (`31OCT1921 2400`, which
  pydsstools shows as `1 November 1921 00:00`); a value belongs to the month that
  ends at its stamp, so that value gives `start_month = 1921-10-01`. Records whose
  values are stamped anywhere else (DSS 7 can store offsets) are refused, not guessed.
- Missing values: `MISSING_SENTINELS` (-901 and -902 from the DSS 6 era, the DSS 7
  undefined value -3.4028235e38, and 99000 flagged by DWR's post-processor), NaN, and
  values beyond float32's range become NaN and are counted in `missing_count`.
  Values are compared after rounding to float32 (the precision DSS stores). The real
  CalSim II file holds -6.19e38 in two difference variables (arithmetic done on the
  undefined value): not representable as float32 (a float read returns -inf), so
  they count as missing too.
- Exactness: values are retrieved as doubles: float32 records convert to float64
  exactly, double records (type 105, as in the real CalSim II file) keep their full
  precision. pydsstools returns a NumPy VIEW of C memory that is freed with the
  record object, so the values are copied while that object is alive
  (`np.array(fid.read_ts(...).values)` in one expression returns garbage).

What the HEC-DSS C library does with bad input (pydsstools 3.1, measured)
--------------------------------------------------------------------------
- A missing path or an EMPTY file is not an error for it: opening creates a brand-new
  DSS 7 file there (an empty file became 126 KB) and the catalog is simply empty.
- A file truncated at 50 %, 90 % or right after its 800-byte header opens fine and
  returns an EMPTY catalog, silently. Truncated at 99 %, the catalog is complete but
  two thirds of the reads fail; at 99.9 % every read succeeds (only the sort table at
  the end was cut) while `check_file` reports damage. Missing only its last 8 bytes
  (the end-of-file word), it reads completely and `check_file` passes. A text file renamed .dss raises a
  multi-line `DssStatusException`.
- Overwriting 8 to 4,096 bytes past the header of a healthy copy (zeros, 0xFF,
  random bytes, bit flips; 289 seeded trials): 28 segmentation faults (in the
  catalog, in `check_file` or in reads), 19 silently partial catalogs (e.g. 181 of
  1,458 records), 25 Python errors (`UnicodeDecodeError` from pathnames,
  `DssPathException`, a `BaseException` subclass), 9 runs with failed reads, and the
  C library printing diagnostics on the console; 150 read "fine" (possibly wrong
  values). `_get_catalog(sort=True)` on a file written in the same session also
  segfaulted.
- `check_file` (`zcheckFile`) flagged (error count, exception or its own crash) all
  231 trials whose damage was visible to any operation; the other 58 hit unused space
  and read identically. It costs 0.2 s on the 2.7 MB real file, ~7 s on a full-size
  230 MB file (21,500 series x 1,200 months).

How this module protects its caller
-----------------------------------
1. Before the library touches a file (pure Python, cannot crash): it must exist, be a
   regular readable file, start with `ZDSS` and carry a version string (`7-..`,
   `6-..`). For DSS 7 the 100-word header is checked: header size, end-of-header flag
   (-97531), the recorded file size (word 5) against the real size - this catches
   every truncation - and the end-of-file flag (-97532) where the header says the
   file ends.
2. The library's first look (`check_file` and the catalog) runs in a CHILD process
   with a timeout; a segfault, hang or console noise there becomes a one-line
   `DssReadError`. The catalog's record count must equal the header's (catches the
   silently partial catalogs). With `scan(path, check="deferred")`, `check_file`
   runs in a child of its own, started after the header checks and left running
   while the catalog is read and the series are streamed; `iter_series` waits for
   its verdict before it ends and raises `DssReadError` (after the last series,
   instead of returning normally) if the file is damaged. `Scan.await_check()`
   gives the same verdict on demand.
3. `iter_series` also reads in child processes by default (`isolate=True`), so a
   crash or hang on damage that `check_file` misses (DSS 7 has no checksums) still
   cannot take the caller down. Files of 500 series or more are split into
   `workers` (default 2, CPUs permitting) contiguous shares of the catalog order,
   one child each, whose series interleave as they arrive (each share stays in
   catalog order). A bounded queue (and each child's pipe) keeps memory flat. The
   first failure in any child kills the others and raises one `DssReadError`;
   closing the generator early kills them all. `read_series` is the in-process
   primitive.
   Every library exception, including `DssPathException`, becomes `DssReadError`;
   every read is checked for the expected number of values, the one-month interval
   and end-of-month stamps; the file's size and mtime must not have changed since
   `scan`, checked when the iteration starts and again when it ends.
`iter_series` is a generator: if it raises at any point (even after the last series,
for a deferred check), the caller must discard what it received for that file (the
dlt loader does: it loads a file in one transaction). A flipped bit inside a stored
value is undetectable by any reader of this format.

Speed
-----
Measured on a full-size synthetic file (21,500 series x 1,200 months, 221 MB) on a
2-CPU machine, `scan` plus a complete `iter_series` (wall time):

    check=True,       workers=1   26 s   (scan 11 s, of which check_file ~7 s)
    check=True,       workers=2   20 s
    check="deferred", workers=1   18.5 s (scan 3.8 s)
    check="deferred", workers=2   15.5-16.3 s (scan 3.4-3.8 s, reading ~12 s)

Before (one reading child, building time arrays): 46 s, scan 13 s + reading 33 s.
A read now costs ~0.5 ms of a child's CPU per series (1.5 ms before); the caller
spends ~3 s of CPU in all, half of it grouping the catalog's 236,500 records. On 2
CPUs the deferred check competes with the two reading children, so the second child
saves ~3 s, not half the reading time.

Versions
--------
`dss_version` reads the header bytes only. Reading is dispatched through `ENGINES`,
a small registry of engines by major version. Only DSS 7 (pydsstools) is available:
pydsstools and HEC's wheels refuse DSS 6 on Linux. A DSS 6 file is rejected before
pydsstools sees it, with advice to convert it. A DSS 6 engine (a Windows-only
library, a pure-Python reader, ...) can be plugged in with
`register_engine(6, Engine(...))` without touching the rest of the module.

pydsstools is imported only through `ingest.dss.hecdss`, which silences it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import operator
import os
import pickle
import queue
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

try:
    import fcntl
except ImportError:  # not on Windows: pipes keep their default size there
    fcntl = None  # type: ignore[assignment]

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

_CHILD_TIMEOUT_BASE_S = 60.0  # catalog/check child: base + per MB of file
_CHILD_TIMEOUT_PER_MB_S = 0.5
_READ_STALL_TIMEOUT_S = 120.0  # reading child: longest wait for the next series
_FRAME_HEADER = struct.Struct("<Q")  # reading child -> parent: byte length, then a pickle
_MAX_FRAME_BYTES = 1 << 30  # a longer frame means a garbled stream
_PIPE_BYTES = 1 << 20  # reading child's pipe (Linux lets a process ask for up to 1 MB)
_BATCHES_QUEUED_PER_CHILD = 4  # batches received but not yet consumed, per reading child
_BATCH_PAUSE_S = 0.004  # after a small read, let the pipe fill a little (see _pump)
_PARALLEL_MIN_SERIES = 500  # fewer series: one reading child (start-up ~1 s dominates)
_MAX_DEFAULT_WORKERS = 2


class DssReadError(Exception):
    """A DSS file cannot be read completely and correctly.

    `str(error)` is always ONE line naming the file and saying what is wrong and what
    to do: whitespace (including newlines from the C library) is collapsed.
    """

    def __init__(self, message: object) -> None:
        super().__init__(" ".join(str(message).split()))


class CatalogRecord(NamedTuple):
    """One catalog entry: pathname, record type code, days of its first and last value.

    Days are HEC-DSS day numbers (days since 31 Dec 1899, the library's convention; a
    2400 stamp counts in the day it ends).
    """

    pathname: str
    type_code: int
    first_day: int
    last_day: int


@dataclass(frozen=True)
class SeriesRef:
    """One monthly series: its pathname parts (original case) and its block records.

    `block_paths` are the catalog pathnames of the series' records, sorted by block
    date (oldest first); the first one is the handle used to read the whole series.
    `span` holds the days of the first and last value stamps the writer recorded
    (first block's first value, last block's last value). `scan` fills it from the
    catalog; `read_series` looks it up (slowly) when it is None.
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
        """The pathname with an empty D part, e.g. `/CALSIM/S_SHSTA/STORAGE//1MON/L2020A/`."""
        return f"/{self.a}/{self.b}/{self.c}//{self.e}/{self.f}/"


@dataclass
class Scan:
    """What `scan` found in a file: version, record count, monthly series, skipped kinds.

    `skipped` maps a record kind ("daily time series", "paired data", ...) to the number
    of records of that kind; the monthly series' block records plus the skipped
    records add up to `record_count`. `size_bytes` and `mtime_ns` let `iter_series`
    notice a file that changed after it was scanned (or while it was read).
    `deferred_check` is the integrity check still running after
    `scan(path, check="deferred")` (None otherwise): see `await_check`.
    """

    path: Path
    version: int
    record_count: int
    monthly: list[SeriesRef]
    skipped: dict[str, int]
    size_bytes: int = field(default=0, compare=False)
    mtime_ns: int = field(default=0, compare=False)
    deferred_check: Any = field(default=None, compare=False, repr=False)

    @property
    def check_pending(self) -> bool:
        """True while a deferred integrity check has no verdict yet."""
        return self.deferred_check is not None and self.deferred_check.pending

    def await_check(self) -> None:
        """Wait for the deferred integrity check; raise `DssReadError` if it failed.

        A no-op for a scan made with `check=True` (checked up front) or `check=False`.
        `iter_series` calls it before it ends, so a caller that commits only after a
        complete iteration never commits a damaged file; the verdict is remembered.
        """
        if self.deferred_check is not None:
            self.deferred_check.wait()


@dataclass
class Series:
    """One monthly series read from a file.

    `values[i]` belongs to the month `start_month + i` (`start_month` is the first day
    of the first month); NaN where the file holds a missing value; `missing_count`
    counts those.
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

    catalog(path, check) -> list[CatalogRecord] for a file whose header bytes say it
        is of this version; validates the file first (`check` asks for the thorough,
        slower structural check) and raises `DssReadError` for anything wrong.
    open(path) -> handle; read(handle, ref) -> Series; close(handle).
    start_check(path) -> a running structural check with `wait()` (raises
        `DssReadError` if the file is damaged), `cancel()` and `pending`; optional:
        without it `scan(check="deferred")` checks up front.
    """

    name: str
    catalog: Callable[[Path, bool], list[CatalogRecord]]
    open: Callable[[Path], Any]
    read: Callable[[Any, SeriesRef], Series]
    close: Callable[[Any], None]
    start_check: Callable[[Path], Any] | None = None


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

    DSS 6 and DSS 7 files both start with `ZDSS` and carry their version string
    ("6-WC", "7-GS", ...) at byte 16. Raises `DssReadError` for a missing path, a
    directory, an empty, too short or non-DSS file. Never calls the C library.
    """
    path = Path(path)
    size = _stat_regular_file(path).st_size
    if size == 0:
        raise DssReadError(
            f"{path} is empty (0 bytes), not a DSS file: the copy or download probably failed"
        )
    head = _read_bytes(path, 0, 20)
    if head[:4] != b"ZDSS":
        raise DssReadError(
            f"{path} is not a HEC-DSS file (it does not start with the 'ZDSS' signature)"
        )
    if len(head) < 20:
        raise DssReadError(f"{path} is only {size} bytes: too short to be a HEC-DSS file")
    tag = head[16:20]
    if tag[1:2] != b"-" or not tag[:1].isdigit():
        raise DssReadError(f"{path}: the HEC-DSS header has no readable version ({tag!r})")
    return int(tag[:1])


def check_version_supported(path: Path, version: int) -> None:
    """Raise `DssReadError` (saying what to do) for a version no engine reads."""
    _engine_for(path, version)


def check_dss7_header(path: Path) -> tuple[int, int]:
    """The DSS 7 header checks alone (no C library): see `_check_dss7_header`."""
    path = Path(path)
    return _check_dss7_header(path, _stat_regular_file(path).st_size)


def _check_dss7_header(path: Path, size: int) -> tuple[int, int]:
    """Validate a DSS 7 header against the file; return (number of records, aliases).

    Catches every truncation (the header records the file size in words, and the
    word at that address is an end-of-file flag) before the C library sees the file.
    """
    if size < 100 * _WORD:
        raise DssReadError(
            f"{path} is truncated: {size} bytes, less than a DSS 7 header; "
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
            f"{path} is truncated: {size:,} bytes, {expected - size:,} fewer than the "
            f"{expected:,} its header records; copy or download it again"
        )
    (eof_flag,) = struct.unpack("<q", _read_bytes(path, file_words * _WORD, _WORD))
    if eof_flag != _END_OF_FILE_FLAG:
        raise DssReadError(
            f"{path}: damaged DSS 7 file (no end-of-file mark where its header says the "
            "file ends); copy it again or re-run the model"
        )
    return words[_H_NUMBER_RECORDS], words[_H_NUMBER_ALIASES]


# ----------------------------------------------------------------------------------
# Child processes: the C library's first look at a file, and isolated reading
# ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects (a catalog
    of 236,500 records: a third of the time otherwise goes to needless collections)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _library_message(exc: BaseException) -> str:
    """A library exception as one short line (DssStatusException carries a tuple)."""
    args = [a for a in getattr(exc, "args", ()) if isinstance(a, str) and a.strip()]
    text = args[-1] if args else str(exc)
    text = " ".join(text.replace("*****DSS***", "").split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reraise_fatal(exc: BaseException) -> None:
    """Let interpreter-level exits through: only library errors become DssReadError."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


def _child_stdout() -> Any:
    """In a child: keep the real stdout for our data, send fd 1 (C printf) to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out


def _spawn(code: str, path: Path, *args: str) -> subprocess.Popen:
    """Start `python -c code path args` with this package importable; stderr to a temp file."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed when the child is reaped)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    except OSError as exc:
        stderr.close()
        raise DssReadError(f"{path}: cannot start a helper process ({exc})") from None
    proc.stderr_file = stderr  # type: ignore[attr-defined]
    return proc


def _death(proc: subprocess.Popen) -> str:
    """Why a child ended: a signal name or its last stderr line."""
    if proc.returncode is not None and proc.returncode < 0:
        try:
            return f"crashed ({signal.Signals(-proc.returncode).name})"
        except ValueError:
            return f"crashed (signal {-proc.returncode})"
    stderr = proc.stderr_file  # type: ignore[attr-defined]
    stderr.seek(0)
    lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    return f"failed ({lines[-1] if lines else f'exit status {proc.returncode}'})"


def _catalog_with_dates(fid: Any, pattern: str = "") -> tuple[list[str], list[int], list, list]:
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


_CHECK_AND_CATALOG = "1"  # `_catalog_child` modes (its second argument)
_CATALOG_ONLY = "0"
_CHECK_ONLY = "check"


def _catalog_child() -> None:
    """Child entry: `check_file` and/or the dated catalog of a DSS 7 file, pickled on stdout.

    Arguments: the path and a mode, `_CHECK_AND_CATALOG` (the catalog is skipped when
    the check fails), `_CATALOG_ONLY` or `_CHECK_ONLY`.
    """
    out = _child_stdout()
    gc.disable()  # a short-lived process building large lists: collections only cost time
    path, mode = sys.argv[1], sys.argv[2]
    result: dict[str, Any] = {}
    try:
        from ingest.dss.hecdss import open_dss

        fid = open_dss(path, mode="r")
        try:
            if mode in (_CHECK_AND_CATALOG, _CHECK_ONLY):
                try:
                    result["check"] = int(fid.check_file())
                except Exception as exc:
                    result["check_error"] = _library_message(exc)
            failed = "check_error" in result or result.get("check")
            if mode != _CHECK_ONLY and not failed:
                paths, codes, first, last = _catalog_with_dates(fid)
                result.update(paths=paths, codes=codes, first=first, last=last)
        finally:
            fid.close()
    except BaseException as exc:  # DssPathException derives from BaseException
        result["error"] = _library_message(exc)
    out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


def _finish_catalog_child(
    proc: subprocess.Popen, path: Path, wait_s: float | None, timeout_s: float
) -> dict[str, Any]:
    """Collect a `_catalog_child`'s result, waiting at most `wait_s`; always reaps it.

    Raises `DssReadError` when it timed out (`timeout_s` is the limit it was given),
    crashed, could not open the file or when its `check_file` failed.
    """
    try:
        try:
            stdout, _ = proc.communicate(timeout=wait_s)
        except subprocess.TimeoutExpired:
            raise DssReadError(
                f"{path}: the HEC-DSS library did not finish checking the file in "
                f"{timeout_s:.0f} s; the file is probably damaged"
            ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        try:
            with _gc_paused():
                result = pickle.loads(stdout)
            if not isinstance(result, dict):
                raise TypeError("not a result")
        except Exception:  # nothing, or a stream cut short: the child died
            raise DssReadError(
                f"{path} is damaged: the HEC-DSS library {_death(proc)} while checking it; "
                "copy it again or re-run the model"
            ) from None
    finally:
        proc.stderr_file.close()  # type: ignore[attr-defined]
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
    return result


def _reap(proc: subprocess.Popen) -> None:
    """Stop a child (if still running), wait for it and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    proc.stderr_file.close()  # type: ignore[attr-defined]


class _DeferredCheck:
    """`check_file` of one DSS 7 file, running in its own child while the caller goes on.

    Made by `scan(path, check="deferred")`. `wait()` collects the verdict (raising
    `DssReadError` exactly as `scan(check=True)` would: failed, crashed or timed out)
    and remembers it; `cancel()` stops the child, and a later `wait()` then runs the
    check again from the start. The child is also stopped when this object is garbage
    collected or the interpreter exits, so an abandoned `Scan` leaves nothing running.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.timeout_s = _CHILD_TIMEOUT_BASE_S + _CHILD_TIMEOUT_PER_MB_S * size / 1e6
        self._lock = threading.Lock()
        self._verdict: str | None = None  # "" once passed, else the one-line error
        self._proc: subprocess.Popen | None = None
        self._reaper: weakref.finalize | None = None
        self._deadline = 0.0
        self._start()

    def _start(self) -> None:
        code = "from ingest.dss.reader import _catalog_child; _catalog_child()"
        self._proc = _spawn(code, self.path, _CHECK_ONLY)
        self._deadline = time.monotonic() + self.timeout_s
        self._reaper = weakref.finalize(self, _reap, self._proc)

    @property
    def pending(self) -> bool:
        """True until `wait()` has a verdict."""
        return self._verdict is None

    def wait(self) -> None:
        """Block until the check ends; raise `DssReadError` if it found the file damaged."""
        with self._lock:
            if self._verdict is None:
                if self._proc is None:  # cancelled: run it again
                    self._start()
                assert self._proc is not None and self._reaper is not None
                try:
                    # A child that already ended is read to the end, however late the
                    # caller comes back; one still running gets what is left of its time.
                    left = max(self._deadline - time.monotonic(), 0.0)
                    wait_s = None if self._proc.poll() is not None else left
                    _finish_catalog_child(self._proc, self.path, wait_s, self.timeout_s)
                    self._verdict = ""
                except DssReadError as exc:
                    self._verdict = str(exc)
                finally:
                    self._reaper()
                    self._proc = None
        if self._verdict:
            raise DssReadError(self._verdict)

    def cancel(self) -> None:
        """Stop the check if it has no verdict yet (a later `wait()` restarts it)."""
        with self._lock:
            if self._verdict is None and self._reaper is not None:
                self._reaper()
                self._proc = None


def _send_frame(out: Any, frame: tuple) -> None:
    """Write one frame (length, pickle) and flush it: the parent counts what arrived."""
    data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME_HEADER.pack(len(data)) + data)  # one write: one wake-up of the parent
    out.flush()


def _read_child() -> None:
    """Child entry: read the series listed on stdin (pickled), stream them to stdout.

    Frames (each a byte length, then a pickled tuple): ("series", units, data_type,
    start month as a date ordinal, missing_count, values as a bytearray of float64s)
    per series, then ("done",) - or ("error", one-line message) and stop. (Plain types
    unpickle 4x faster than a date and an ndarray.) Each frame is flushed as soon as
    its series is read, so the parent knows which series a crash interrupted. Writing
    blocks while the parent is behind (pipe back-pressure).
    """
    out = _child_stdout()
    path, version = Path(sys.argv[1]), int(sys.argv[2])
    try:
        refs: list[SeriesRef] = pickle.load(sys.stdin.buffer)
        engine = ENGINES[version]
        handle = engine.open(path)
        try:
            for ref in refs:
                s = engine.read(handle, ref)
                values = bytearray(np.ascontiguousarray(s.values, dtype=np.float64))
                start = s.start_month.toordinal()
                _send_frame(out, ("series", s.units, s.data_type, start, s.missing_count, values))
        finally:
            engine.close(handle)
        _send_frame(out, ("done",))
    except DssReadError as exc:
        _send_frame(out, ("error", str(exc)))
    except BaseException as exc:
        _send_frame(out, ("error", f"{path}: reading failed ({_library_message(exc)})"))


class _ReadingChild:
    """One reading child (a contiguous share of the series) and the thread feeding its frames.

    The thread sends the child its `SeriesRef`s, then moves the frames it receives to
    the shared bounded queue as `(self, [frame, ...])`: every complete frame that one
    read of the pipe delivered (batches spare the consumer a thread hand-off per
    series). The last batch ends with the child's "done" or "error" frame, or with
    `None` when the stream broke (the child died or was killed). `waiting_since` is
    when the thread started waiting for the child (None while it waits for room in
    the queue): the watchdog uses it to catch a child that hangs.
    """

    def __init__(self, path: Path, version: int, first: int, refs: list[SeriesRef]) -> None:
        self.first = first  # position of refs[0] in the scan's catalog order
        self.refs = refs
        self.received = 0
        self.stalled = False
        self.waiting_since: float | None = None
        self.thread: threading.Thread | None = None
        code = "from ingest.dss.reader import _read_child; _read_child()"
        self.proc = _spawn(code, path, str(version))

    def start(self, batches: queue.Queue, stop: threading.Event) -> None:
        self.waiting_since = time.monotonic()
        self.thread = threading.Thread(target=self._pump, args=(batches, stop), daemon=True)
        self.thread.start()

    def _pump(self, batches: queue.Queue, stop: threading.Event) -> None:
        try:
            pickle.dump(self.refs, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()  # type: ignore[union-attr]
        except Exception:
            pass  # the child died early: its stream ends at once, reported by the consumer
        stream = self.proc.stdout.raw  # type: ignore[union-attr]  (unbuffered: see below)
        with contextlib.suppress(Exception):  # a bigger pipe smooths bursts (Linux only)
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # type: ignore[union-attr]
        # Read into one reused buffer: `os.read(fd, 1 MB)` would allocate (mmap) 1 MB
        # per call, ~40 us, more than unpickling the series it brings.
        buffer = memoryview(bytearray(_PIPE_BYTES))
        pending = bytearray()
        while not stop.is_set():
            self.waiting_since = time.monotonic()
            try:
                size = stream.readinto(buffer) or 0
            except OSError:
                size = 0
            self.waiting_since = None
            batch = _split_frames(pending, buffer[:size])
            if not size and (not batch or batch[-1] is not None):
                batch.append(None)  # end of stream: the child died or was killed
            if batch:
                while not stop.is_set():
                    try:
                        batches.put((self, batch), timeout=0.25)
                        break
                    except queue.Full:
                        continue
                if batch[-1] is None or batch[-1][0] != "series":
                    return
            if size < len(buffer) // 4:
                # A thread wake-up and hand-off per series costs the caller ~0.1 ms of
                # CPU (context switches): pausing a few ms lets several series queue up
                # in the pipe (a child sends ~2 per ms), which is then read at once.
                time.sleep(_BATCH_PAUSE_S)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        """Reap the (killed) child, join the thread and close the pipes."""
        self.kill()
        self.proc.wait()
        if self.thread is not None:
            self.thread.join(timeout=10.0)
            if self.thread.is_alive():  # cannot happen (its pipe hit EOF); never hang here
                return
        _reap(self.proc)


def _split_frames(pending: bytearray, chunk: bytes | memoryview) -> list:
    """Append `chunk` to `pending`, remove the complete frames from it and return them
    unpickled; a garbled frame ends the list with None (the stream is unusable)."""
    pending += chunk
    frames: list = []
    start = 0
    while len(pending) - start >= _FRAME_HEADER.size:
        (size,) = _FRAME_HEADER.unpack_from(pending, start)
        end = start + _FRAME_HEADER.size + size
        if size > _MAX_FRAME_BYTES:
            frames.append(None)
            break
        if end > len(pending):
            break
        try:
            frame = pickle.loads(pending[start + _FRAME_HEADER.size : end])
            if not isinstance(frame, tuple) or not frame:
                raise TypeError("not a frame")
        except Exception:
            frames.append(None)
            break
        frames.append(frame)
        start = end
    del pending[:start]
    return frames


def _watch_readers(children: list[_ReadingChild], stop: threading.Event) -> None:
    """Kill any reading child that sent nothing for `_READ_STALL_TIMEOUT_S`."""
    while not stop.wait(0.5):
        now = time.monotonic()
        for child in children:
            since = child.waiting_since
            if since is not None and now - since > _READ_STALL_TIMEOUT_S:
                child.stalled = True
                child.kill()


def _reading_failure(path: Path, found: Scan, child: _ReadingChild) -> DssReadError:
    """The error for a reading child whose stream ended before its "done" frame."""
    try:
        child.proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:  # alive but sending garbage
        child.proc.kill()
        child.proc.wait()
    index, total = child.first + child.received, len(found.monthly)
    where = found.monthly[index].logical_path if child.received < len(child.refs) else "the end"
    if child.stalled:
        return DssReadError(
            f"{path}: HEC-DSS stopped responding while reading series {index + 1} of {total} "
            f"({where}); the file is probably damaged"
        )
    return DssReadError(
        f"{path} is damaged: the HEC-DSS library {_death(child.proc)} while reading "
        f"series {index + 1} of {total} ({where})"
    )


def _iter_isolated(path: Path, found: Scan, workers: int) -> Iterator[Series]:
    """Read `found.monthly` in `workers` child processes; yield the series as they arrive.

    Each child reads one contiguous share of the catalog order, in that order; shares
    interleave. The first failure (a child's error, crash or stall) kills every child
    and raises; so does closing the generator. Memory stays bounded: per child, the
    queue holds at most `_BATCHES_QUEUED_PER_CHILD` batches of at most a pipe's worth
    (1 MB, ~100 full-length series), and a child whose pipe is full waits.
    """
    refs = found.monthly
    total = len(refs)
    workers = max(1, min(workers, total))
    batches: queue.Queue = queue.Queue(maxsize=_BATCHES_QUEUED_PER_CHILD * workers)
    stop = threading.Event()
    children: list[_ReadingChild] = []
    try:
        for i in range(workers):
            lo, hi = total * i // workers, total * (i + 1) // workers
            children.append(_ReadingChild(path, found.version, lo, refs[lo:hi]))
        for child in children:
            child.start(batches, stop)
        threading.Thread(target=_watch_readers, args=(children, stop), daemon=True).start()
        running = len(children)
        while running:
            try:
                child, batch = batches.get(timeout=1.0)
            except queue.Empty:
                if any(c.thread is not None and c.thread.is_alive() for c in children):
                    continue
                try:  # every thread has ended: what they queued last is there now
                    child, batch = batches.get_nowait()
                except queue.Empty:
                    raise DssReadError(
                        f"{path}: the reading processes stopped unexpectedly"
                    ) from None
            for frame in batch:
                if frame is None:
                    raise _reading_failure(path, found, child)
                if frame[0] == "series" and child.received < len(child.refs):
                    _, units, data_type, start, missing_count, data = frame
                    ref = refs[child.first + child.received]
                    child.received += 1
                    values = np.frombuffer(data, dtype=np.float64)  # writable: a bytearray
                    month = dt.date.fromordinal(start)
                    yield Series(ref, units, data_type, month, values, missing_count)
                elif frame[0] == "done" and child.received == len(child.refs):
                    running -= 1
                elif frame[0] == "error":
                    raise DssReadError(frame[1])
                else:
                    raise DssReadError(
                        f"{path}: a reading process sent {frame[0]!r} after "
                        f"{child.received} of its {len(child.refs)} series"
                    )
    finally:
        stop.set()
        for child in children:
            child.kill()
        for child in children:
            child.close()


# ----------------------------------------------------------------------------------
# DSS 7 engine (pydsstools)
# ----------------------------------------------------------------------------------


def _julian_day(days: int) -> dt.date | None:
    """A HEC-DSS day number as a date (None when undefined/out of range)."""
    try:
        return _JULIAN_ZERO + dt.timedelta(days=int(days))
    except (OverflowError, ValueError):
        return None


def _dss7_catalog(path: Path, check: bool) -> list[CatalogRecord]:
    """Validate a DSS 7 file and return its catalog (in a child process)."""
    size = _stat_regular_file(path).st_size
    records, aliases = _check_dss7_header(path, size)
    code = "from ingest.dss.reader import _catalog_child; _catalog_child()"
    proc = _spawn(code, path, _CHECK_AND_CATALOG if check else _CATALOG_ONLY)
    timeout = _CHILD_TIMEOUT_BASE_S + _CHILD_TIMEOUT_PER_MB_S * size / 1e6
    result = _finish_catalog_child(proc, path, timeout, timeout)
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


def _dss7_start_check(path: Path) -> _DeferredCheck:
    """Start `check_file` of a DSS 7 file in its own child (after the header checks)."""
    size = _stat_regular_file(path).st_size
    _check_dss7_header(path, size)  # the C library never sees a truncated file
    return _DeferredCheck(path, size)


def _dss7_open(path: Path) -> Any:
    """Open a validated DSS 7 file with pydsstools (quietly)."""
    from ingest.dss.hecdss import open_dss

    try:
        return open_dss(str(path), mode="r")
    except BaseException as exc:
        _reraise_fatal(exc)
        raise DssReadError(
            f"{path}: HEC-DSS cannot open the file ({_library_message(exc)})"
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
    paths, _, first, last = _catalog_with_dates(fid, pattern)
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
        _reraise_fatal(exc)
        raise DssReadError(f"{where}: cannot locate the series ({_library_message(exc)})") from None
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
        _reraise_fatal(exc)
        raise DssReadError(f"{where}: HEC-DSS read failed ({_library_message(exc)})") from None
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
    st = _stat_regular_file(path)
    pending = None
    if check == "deferred":
        if engine.start_check is not None:
            pending = engine.start_check(path)
        check = pending is None
    try:
        catalog = engine.catalog(path, bool(check))
        with _gc_paused():
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
    st = _stat_regular_file(path)
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
            _check_dss7_header(path, st.st_size)
        if found.monthly and isolate and engine is _DSS7:
            count = workers if workers is not None else _default_workers(len(found.monthly))
            yield from _iter_isolated(path, found, count)
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
