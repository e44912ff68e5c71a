"""The errors a user sees: one line each, never a traceback."""

from __future__ import annotations


class IngestError(Exception):
    """An ingest (DSS file or GIS layer) that loaded nothing; the message is one line."""


class DatabaseError(Exception):
    """The embedded database could not be set up; the message is one line."""


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: dlt wraps the real error in step and resource errors."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return exc


def one_line(*errors: BaseException) -> str:
    """The first non-empty line of the first error that has one; else the last
    error's type name."""
    for exc in errors:
        for line in str(exc).splitlines():
            if line.strip():
                return line.strip()
    return type(errors[-1]).__name__


def collapse(text: object) -> str:
    """`text` on one line: every run of white space (newlines too) becomes one space."""
    return " ".join(str(text).split())


def joined(exc: BaseException) -> str:
    """Every line of the error on one line (a database error with its DETAIL)."""
    return collapse(exc) or type(exc).__name__
