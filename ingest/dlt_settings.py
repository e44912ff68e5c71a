"""dlt's settings for every loader of this package, set in one place.

dlt reads its configuration from environment variables (among other
providers); the loaders call `configure()` before running a pipeline, so the
settings do not depend on the working directory a command runs from.
"""

from __future__ import annotations

import os

SETTINGS = {
    # dlt gzips its intermediate files by default: 23 of the 26 s of normalising
    # a full-size DSS file were zlib. The files are local and deleted after a run.
    "DATA_WRITER__DISABLE_COMPRESSION": "true",
    # A `replace` load (GIS layers) truncates and refills in one transaction
    # (dlt's default truncates first, outside it).
    "DESTINATION__REPLACE_STRATEGY": "insert-from-staging",
}


def configure() -> None:
    """Set SETTINGS for this process (idempotent)."""
    os.environ.update(SETTINGS)


def quiet_logs() -> None:
    """Silence dlt's own logging (the `coeqwal` command calls this first).

    dlt logs a failed job's traceback to stderr before raising it; the command
    reports the error itself, in one line. A RUNTIME__LOG_LEVEL already set wins.
    """
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
