"""The values the DSS reader works with: catalog entries, series, a file's scan and
the interface of an engine that reads one DSS major version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["CatalogRecord", "Engine", "Scan", "Series", "SeriesRef"]


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
