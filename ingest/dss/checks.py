"""Checks of a DSS file that need no HEC-DSS library, and the reader's error type.

Whether a path is a readable regular file, whether it is a HEC-DSS file and of
which version, and whether a DSS 7 header agrees with the file's size (which
catches every truncation). Pure Python: nothing here can crash the process.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from ingest.errors import collapse

__all__ = ["DssReadError", "check_dss7_header", "dss_version", "stat_regular_file"]

# DSS 7 file header (64-bit words), see HEC's dss-file-spec "file-header.md".
_WORD = 8
_H_HEADER_SIZE = 1
_H_NUMBER_RECORDS = 3
_H_NUMBER_ALIASES = 4
_H_FILE_SIZE = 5
_END_OF_HEADER_FLAG = -97531
_END_OF_FILE_FLAG = -97532


class DssReadError(Exception):
    """A DSS file cannot be read completely and correctly.

    `str(error)` is always ONE line naming the file and saying what is wrong and what
    to do: whitespace (including newlines from the C library) is collapsed.
    """

    def __init__(self, message: object) -> None:
        super().__init__(collapse(message))


def stat_regular_file(path: Path) -> os.stat_result:
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
    size = stat_regular_file(path).st_size
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


def check_dss7_header(path: Path, size: int | None = None) -> tuple[int, int]:
    """Validate a DSS 7 header against the file; return (number of records, aliases).

    `size` is the file's size in bytes (taken from the file when None). Catches every
    truncation (the header records the file size in words, and the word at that
    address is an end-of-file flag) before the C library sees the file.
    """
    path = Path(path)
    if size is None:
        size = stat_regular_file(path).st_size
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
