"""Read one GIS layer into WGS84 rows ready to land: the file-parsing half of the GIS ingest.

What a layer becomes:
- every feature, in file order, with its attributes under snake_case names
  (`WaterBudgetArea_ID` -> `water_budget_area_id`);
- its geometry reprojected to EPSG:4326 from whatever CRS the file declares (a
  layer with no CRS, such as a Shapefile without its `.prj`, is refused: guessing
  would put polygons in the wrong place silently);
- invalid geometries repaired with GEOS' structure-preserving `make_valid` (a
  polygon stays a polygon, collapsed parts are dropped), before and after the
  reprojection, and counted;
- written as hex EWKB with SRID 4326 in the text column `geometry_ewkb`; dbt
  staging turns it into a typed PostGIS geometry (a conversion, not parsing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ingest.errors import one_line

TARGET_EPSG = 4326
# Columns the loader adds; an attribute that snake-cases to one of these gets `_attr`.
RESERVED = ("feature_index", "geometry_ewkb", "source_file", "source_sha256", "ingested_at")
SUPPORTED = (".shp", ".gpkg", ".geojson", ".json")


class GisReadError(Exception):
    """A layer that cannot be read or is refused; the message is one line."""


@dataclass
class Layer:
    """One layer read, reprojected and repaired, with what was found on the way."""

    table: pa.Table
    source_crs: str
    features: int
    repaired: int
    empty: int
    geometry_types: dict[str, int]
    columns: dict[str, str]  # original attribute name -> snake_case column


def snake_case(name: str) -> str:
    """`WaterBudgetArea_ID` -> `water_budget_area_id`, `DU_ID` -> `du_id`, `Shape Len` -> `shape_len`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        text = "column"
    if text[0].isdigit():
        text = "c_" + text
    return text


def snake_case_columns(names: list[str]) -> dict[str, str]:
    """Unique snake_case names for the attributes, never clashing with the loader's own."""
    taken = set(RESERVED)
    out: dict[str, str] = {}
    for name in names:
        base = snake_case(name)
        if base in RESERVED:
            base += "_attr"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        out[name] = candidate
    return out


def gpkg_layers(path: Path) -> list[str]:
    import pyogrio

    return [str(row[0]) for row in pyogrio.list_layers(path)]


def _read_frame(path: Path, source: str, gpkg_layer: str | None):
    import geopandas as gpd
    import pyogrio.errors

    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise GisReadError(
            f"{source}: unsupported file type {suffix or '(none)'}; "
            "give a Shapefile (.shp), GeoPackage (.gpkg) or GeoJSON (.geojson)"
        )
    if suffix == ".shp":
        for sidecar in (".shx", ".dbf"):
            if not path.with_suffix(sidecar).exists():
                raise GisReadError(f"{source}: Shapefile without its {sidecar} file")
    layer_arg: dict = {}
    try:
        if suffix == ".gpkg":
            names = gpkg_layers(path)
            if gpkg_layer is None:
                if len(names) != 1:
                    raise GisReadError(
                        f"{source}: GeoPackage holds {len(names)} layers "
                        f"({', '.join(names) or 'none'}); choose one with --gpkg-layer"
                    )
                gpkg_layer = names[0]
            elif gpkg_layer not in names:
                raise GisReadError(
                    f"{source}: no layer {gpkg_layer!r} in the GeoPackage "
                    f"(it holds: {', '.join(names) or 'none'})"
                )
            layer_arg = {"layer": gpkg_layer}
        elif gpkg_layer is not None:
            raise GisReadError(f"{source}: --gpkg-layer applies to GeoPackage files only")
        return gpd.read_file(path, engine="pyogrio", **layer_arg)
    except GisReadError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GisReadError(f"{source}: not a readable GIS layer ({one_line(exc)})") from exc
    except Exception as exc:  # GDAL reports damaged content in many ways
        raise GisReadError(f"{source}: not a readable GIS layer ({one_line(exc)})") from exc


def _repair(geoms):
    """(repaired geometries, mask of the ones that were invalid), for an object array."""
    import shapely

    arr = geoms
    present = ~shapely.is_missing(arr)
    invalid = present & ~shapely.is_valid(arr)
    if invalid.any():
        fixed = shapely.make_valid(arr[invalid], method="structure", keep_collapsed=False)
        arr = arr.copy()
        arr[invalid] = fixed
    return arr, invalid


def read_layer(
    path: Path,
    *,
    source: str,
    sha256: str,
    ingested_at,
    gpkg_layer: str | None = None,
) -> Layer:
    """Read, reproject to EPSG:4326 and repair one layer; refuse it whole on any problem."""
    import numpy as np
    import shapely

    frame = _read_frame(path, source, gpkg_layer)
    if frame.crs is None:
        hint = " (its .prj file is missing)" if path.suffix.lower() == ".shp" else ""
        raise GisReadError(
            f"{source}: the layer has no coordinate reference system{hint}; "
            "nothing loaded (add the CRS to the file, e.g. the Shapefile's .prj)"
        )
    if len(frame) == 0:
        raise GisReadError(f"{source}: the layer has no features, nothing loaded")
    epsg = frame.crs.to_epsg()
    source_crs = f"EPSG:{epsg}" if epsg else frame.crs.to_string()

    geoms, invalid_before = _repair(np.asarray(frame.geometry.values, dtype=object))
    try:
        reprojected = (
            frame.set_geometry(list(geoms), crs=frame.crs).to_crs(epsg=TARGET_EPSG).geometry
        )
    except Exception as exc:
        raise GisReadError(
            f"{source}: cannot reproject from {source_crs} to EPSG:{TARGET_EPSG} ({one_line(exc)})"
        ) from exc
    geoms, invalid_after = _repair(np.asarray(reprojected.values, dtype=object))
    bad = ~shapely.is_missing(geoms) & ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
    if bad.any():
        raise GisReadError(
            f"{source}: {int(bad.sum())} geometries fall outside the valid range of "
            f"EPSG:{TARGET_EPSG} after reprojection from {source_crs}; nothing loaded"
        )
    empty = int(shapely.is_missing(geoms).sum() + shapely.is_empty(geoms).sum())

    attributes = frame.drop(columns=[frame.geometry.name])
    columns = snake_case_columns([str(c) for c in attributes.columns])
    attributes = attributes.rename(columns=columns)
    data: dict[str, pa.Array] = {
        "feature_index": pa.array(np.arange(len(frame), dtype=np.int32)),
    }
    for name in attributes.columns:
        data[name] = _arrow_column(attributes[name])
    with_srid = shapely.set_srid(geoms, TARGET_EPSG)
    data["geometry_ewkb"] = pa.array(
        shapely.to_wkb(with_srid, hex=True, include_srid=True, output_dimension=2),
        type=pa.string(),
    )
    data["source_file"] = pa.array([source] * len(frame), type=pa.string())
    data["source_sha256"] = pa.array([sha256] * len(frame), type=pa.string())
    data["ingested_at"] = pa.array([ingested_at] * len(frame), type=pa.timestamp("us", tz="UTC"))
    types = shapely.get_type_id(geoms)
    names = {
        0: "Point",
        1: "LineString",
        3: "Polygon",
        4: "MultiPoint",
        5: "MultiLineString",
        6: "MultiPolygon",
        7: "GeometryCollection",
    }
    type_counts: dict[str, int] = {}
    for t in types[types >= 0]:
        label = names.get(int(t), str(int(t)))
        type_counts[label] = type_counts.get(label, 0) + 1
    required = {"feature_index", "source_file", "source_sha256", "ingested_at"}
    schema = pa.schema(
        [pa.field(name, arr.type, nullable=name not in required) for name, arr in data.items()]
    )
    return Layer(
        table=pa.table(data, schema=schema),
        source_crs=source_crs,
        features=len(frame),
        repaired=int((invalid_before | invalid_after).sum()),
        empty=empty,
        geometry_types=type_counts,
        columns=columns,
    )


def _arrow_column(series: pd.Series) -> pa.Array:
    """An attribute as Arrow: numbers, booleans and timestamps kept, the rest as text."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return pa.array(series, from_pandas=True)
    if pd.api.types.is_datetime64_any_dtype(series):
        return pa.array(series, from_pandas=True)
    values = [None if pd.isna(v) else str(v) for v in series.astype(object)]
    return pa.array(values, type=pa.string())
