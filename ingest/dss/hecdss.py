"""Quiet access to pydsstools.

pydsstools prints a traceback to stderr when its optional raster dependency
(rasterio) is missing, and the HEC-DSS C library prints a line on every open and
close. Neither is useful to a user of the warehouse, so every module imports
pydsstools through here.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

with contextlib.redirect_stderr(io.StringIO()):
    from pydsstools.core import TimeSeriesContainer  # noqa: F401  (re-exported)
    from pydsstools.heclib.dss import HecDss
    from pydsstools.heclib.logging import Level, get_dss_logger

get_dss_logger().set_level(Level.NONE)


def open_dss(path: str, **kwargs: Any) -> Any:
    """Open a DSS file with the C library's console messages silenced."""
    return HecDss.Open(str(path), **kwargs)
